//! The CSV tables of a run folder, one serde row type each: `items.csv` (index, source, label)
//! and `map.csv` (index, map position, cluster, label, source). An empty label is no label.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::{Item, Skipped};

/// One row of `items.csv`.
#[derive(Serialize, Deserialize)]
struct ItemRow {
    index: usize,
    source: String,
    label: String,
    /// Absent from the files of runs before names.
    #[serde(default)]
    name: String,
}

/// One row of `map.csv`.
#[derive(Serialize)]
struct MapRow<'a> {
    index: usize,
    x: f32,
    y: f32,
    cluster: usize,
    label: &'a str,
    source: &'a str,
}

/// The map's part of one row of `map.csv`, as read back.
#[derive(Deserialize)]
struct MapPoint {
    x: f32,
    y: f32,
    cluster: usize,
}

/// Reads `map.csv` back: every item's map position and cluster.
pub(crate) fn read_map_csv(path: &Path) -> Result<(Vec<[f32; 2]>, Vec<usize>)> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (mut coords, mut clusters) = (Vec::new(), Vec::new());
    for (line, row) in reader.deserialize::<MapPoint>().enumerate() {
        let row = row.with_context(|| format!("{} line {}: malformed record", path.display(), line + 2))?;
        if !(row.x.is_finite() && row.y.is_finite()) {
            anyhow::bail!("{} line {}: the map position is not finite", path.display(), line + 2);
        }
        coords.push([row.x, row.y]);
        clusters.push(row.cluster);
    }
    // K-Means makes fewer clusters than items: an id past that is not one hebb wrote.
    if let Some(line) = clusters.iter().position(|&c| c >= clusters.len()) {
        anyhow::bail!(
            "{} line {}: cluster {} is not below the number of items ({})",
            path.display(),
            line + 2,
            clusters[line],
            clusters.len()
        );
    }
    Ok((coords, clusters))
}

/// Reads `items.csv` back.
pub(crate) fn read_items_csv(path: &Path) -> Result<Vec<Item>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (line, row) in reader.deserialize::<ItemRow>().enumerate() {
        let row = row.with_context(|| format!("{} line {}: malformed record", path.display(), line + 2))?;
        let (label, name) = (Some(row.label).filter(|l| !l.is_empty()), Some(row.name).filter(|n| !n.is_empty()));
        items.push(Item { source: row.source, label, name });
    }
    Ok(items)
}

/// `index,source,label,name` for every item (an empty name: the item has none of its own).
pub(crate) fn items_csv(items: &[Item]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for (index, item) in items.iter().enumerate() {
        let label = item.label.clone().unwrap_or_default();
        let name = item.name.clone().unwrap_or_default();
        writer.serialize(ItemRow { index, source: item.source.clone(), label, name })?;
    }
    writer.into_inner().context("cannot write items.csv")
}

/// `source,reason` for every file left out of the data set.
pub(crate) fn skipped_csv(skipped: &[Skipped]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for file in skipped {
        writer.serialize(file)?;
    }
    Ok(writer.into_inner()?)
}

/// `index,x,y,cluster,label,source` for every item.
pub(crate) fn map_csv(coords: &[[f32; 2]], clusters: &[usize], items: &[Item]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for (index, item) in items.iter().enumerate() {
        let [x, y] = coords[index];
        let (label, source) = (item.label.as_deref().unwrap_or(""), item.source.as_str());
        writer.serialize(MapRow { index, x, y, cluster: clusters[index], label, source })?;
    }
    writer.into_inner().context("cannot write map.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_csv_reads_back_and_empty_labels_are_none() {
        let items = vec![
            Item { source: "sheet.png#0,0".into(), label: Some("cat, grinning".into()), name: Some("cat".into()) },
            Item { source: "b.png".into(), label: None, name: None },
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("items.csv");
        std::fs::write(&path, items_csv(&items).unwrap()).unwrap();
        assert_eq!(read_items_csv(&path).unwrap(), items);
        let text = String::from_utf8(map_csv(&[[0.5, -1.0], [2.0, 3.25]], &[1, 0], &items).unwrap()).unwrap();
        assert_eq!(text.lines().next(), Some("index,x,y,cluster,label,source"));
        assert_eq!(text.lines().nth(2), Some("1,2.0,3.25,0,,b.png"));
        let map = dir.path().join("map.csv");
        std::fs::write(&map, text).unwrap();
        assert_eq!(read_map_csv(&map).unwrap(), (vec![[0.5, -1.0], [2.0, 3.25]], vec![1, 0]));
        // A cluster id no K-Means of these items can give is refused by line, not allocated for.
        let text = String::from_utf8(map_csv(&[[0.5, -1.0], [2.0, 3.25]], &[1, 4294967295], &items).unwrap()).unwrap();
        std::fs::write(&map, text).unwrap();
        let err = read_map_csv(&map).unwrap_err().to_string();
        assert!(err.contains("line 3: cluster 4294967295 is not below the number of items (2)"), "{err}");
    }
}
