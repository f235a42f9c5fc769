//! The CSV tables of a run folder: `items.csv` (index, source, label) and `map.csv` (index,
//! map position, cluster, label, source).

use std::path::Path;

use anyhow::{Context, Result};

use crate::data::Item;

/// Reads `items.csv` back.
pub(crate) fn read_items_csv(path: &Path) -> Result<Vec<Item>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} line {}: malformed record", path.display(), line + 2))?;
        let label = record.get(2).unwrap_or("");
        items.push(Item {
            source: record.get(1).unwrap_or("").to_string(),
            label: if label.is_empty() { None } else { Some(label.to_string()) },
        });
    }
    Ok(items)
}

/// `index,source,label` for every item.
pub(crate) fn items_csv(items: &[Item]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["index", "source", "label"])?;
    for (i, item) in items.iter().enumerate() {
        writer.write_record([i.to_string().as_str(), &item.source, item.label.as_deref().unwrap_or("")])?;
    }
    writer.into_inner().context("cannot write items.csv")
}

/// `index,x,y,cluster,label,source` for every item.
pub(crate) fn map_csv(coords: &[[f32; 2]], clusters: &[usize], items: &[Item]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["index", "x", "y", "cluster", "label", "source"])?;
    for (i, item) in items.iter().enumerate() {
        writer.write_record([
            i.to_string(),
            coords[i][0].to_string(),
            coords[i][1].to_string(),
            clusters[i].to_string(),
            item.label.clone().unwrap_or_default(),
            item.source.clone(),
        ])?;
    }
    writer.into_inner().context("cannot write map.csv")
}
