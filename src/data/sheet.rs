//! Sprite sheets: a grid of equally sized RGBA tiles in one image, with an optional transparent
//! border around each tile and optional labels from a CSV keyed by cell column and row.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use image::RgbaImage;

use super::pixels::{decode_file, read_input, to_planar};
use super::{ImageSet, Item};
use crate::config::{ColorMode, GridOrder, SheetConfig};

/// The grid of a sheet: cell pitch and the number of columns and rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SheetGrid {
    pub tile: u32,
    pub border: u32,
    pub columns: u32,
    pub rows: u32,
}

impl SheetGrid {
    /// Fits the geometry to a sheet of `width x height` pixels; an error naming `keys` (the
    /// settings of tile and border, e.g. "`data.sheet.tile_size` and `data.sheet.border`") when it
    /// does not divide the sheet into whole cells.
    pub(crate) fn fit(width: u32, height: u32, tile: u32, border: u32, path: &Path, keys: &str) -> Result<Self> {
        let Some(pitch) = border.checked_mul(2).and_then(|b| b.checked_add(tile)) else {
            bail!(
                "sprite sheet {}: tile size {tile} + 2 x border {border} is too large a cell; check {keys}",
                path.display()
            );
        };
        if !width.is_multiple_of(pitch) || !height.is_multiple_of(pitch) || width < pitch || height < pitch {
            bail!(
                "sprite sheet {} is {width} x {height} px, which is not a whole number of {pitch}-px cells \
                 (tile size {tile} + 2 x border {border}); check {keys}",
                path.display()
            );
        }
        Ok(Self { tile, border, columns: width / pitch, rows: height / pitch })
    }

    pub(crate) fn pitch(&self) -> u32 {
        self.tile + 2 * self.border
    }

    /// Cells (column, row) in the requested order.
    pub(crate) fn cells(&self, order: GridOrder) -> Vec<(u32, u32)> {
        let mut cells = Vec::with_capacity((self.columns * self.rows) as usize);
        match order {
            GridOrder::RowMajor => {
                for row in 0..self.rows {
                    for column in 0..self.columns {
                        cells.push((column, row));
                    }
                }
            }
            GridOrder::ColumnMajor => {
                for column in 0..self.columns {
                    for row in 0..self.rows {
                        cells.push((column, row));
                    }
                }
            }
        }
        cells
    }

    /// The tile at (column, row), without its border.
    pub(crate) fn tile_image(&self, sheet: &RgbaImage, column: u32, row: u32) -> RgbaImage {
        let x = column * self.pitch() + self.border;
        let y = row * self.pitch() + self.border;
        image::imageops::crop_imm(sheet, x, y, self.tile, self.tile).to_image()
    }
}

/// Loads the sprites of a sheet that `[data.sheet]` describes.
pub fn load(config: &SheetConfig, side: usize, color: ColorMode) -> Result<ImageSet> {
    load_with_keys(config, side, color, "`data.sheet.tile_size` and `data.sheet.border`")
}

/// [`load`] for a sheet given otherwise (command-line flags): a grid that does not fit names
/// `keys`, the settings of tile and border ([`SheetGrid::fit`]).
pub(crate) fn load_with_keys(config: &SheetConfig, side: usize, color: ColorMode, keys: &str) -> Result<ImageSet> {
    let sheet = decode_file(&config.path)?;
    let grid = SheetGrid::fit(sheet.width(), sheet.height(), config.tile_size, config.border, &config.path, keys)?;
    let labels = match &config.labels {
        Some(path) => Some(read_labels(path, config, &grid)?),
        None => None,
    };
    let name = config.path.display().to_string();
    let mut images = Vec::new();
    for (column, row) in grid.cells(config.order) {
        if config.max_sprites > 0 && images.len() >= config.max_sprites {
            break;
        }
        let tile = grid.tile_image(&sheet, column, row);
        if config.skip_empty && tile.pixels().all(|p| p[3] == 0) {
            continue;
        }
        let (label, own_name) = match &labels {
            Some(rows) => match rows.get(&(column, row)) {
                Some(LabelRow { label, name, included: true }) => (Some(label.clone()), name.clone()),
                Some(LabelRow { included: false, .. }) => continue,
                None if !config.include.is_empty() => continue,
                None => (None, None),
            },
            None => (None, None),
        };
        let item = Item { source: format!("{name}#{column},{row}"), label, name: own_name };
        images.push((item, to_planar(tile, side, color)));
    }
    if images.is_empty() && !config.include.is_empty() {
        bail!("sprite sheet {name}: no non-empty tile's label row matches `data.sheet.include`");
    }
    if images.is_empty() {
        bail!("sprite sheet {name} has no non-empty tile");
    }
    Ok(ImageSet::new(side, color, images, Vec::new())?.with_source_side(grid.tile as usize))
}

/// One cell's row of the label file.
struct LabelRow {
    label: String,
    /// The cell's name (`data.sheet.name_column`), when the file gives one.
    name: Option<String>,
    /// Whether the row matches `data.sheet.include`.
    included: bool,
}

/// Reads a label CSV into a map from (column, row) to the cell's label row.
/// Every row must name a cell of `grid`, and the file must have at least one row.
fn read_labels(path: &Path, config: &SheetConfig, grid: &SheetGrid) -> Result<HashMap<(u32, u32), LabelRow>> {
    let bytes = read_input(path)?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().with_context(|| format!("cannot read the header of {}", path.display()))?.clone();
    let find = |key: &str, config_key: &str| -> Result<usize> {
        headers.iter().position(|h| h == key).with_context(|| {
            format!(
                "label file {} has no column `{key}` (set by `data.sheet.{config_key}`); its columns are: {}",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let column_at = find(&config.column_key, "column_key")?;
    let row_at = find(&config.row_key, "row_key")?;
    let label_at = find(&config.label_column, "label_column")?;
    let name_at = config.name_column.as_deref().map(|column| find(column, "name_column")).transpose()?;
    let filters: Vec<(usize, &str)> = config
        .include
        .iter()
        .map(|(column, value)| Ok((find(column, "include")?, value.as_str())))
        .collect::<Result<_>>()?;
    let mut labels = HashMap::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: malformed CSV record {}", path.display(), line + 2))?;
        let number = |at: usize| -> Result<u32> {
            let text = record.get(at).unwrap_or("");
            text.trim()
                .parse()
                .with_context(|| format!("{} line {}: expected a cell index, got {text:?}", path.display(), line + 2))
        };
        let label = record.get(label_at).unwrap_or("").to_string();
        let name = name_at.and_then(|at| record.get(at)).filter(|n| !n.is_empty()).map(str::to_string);
        let included = filters.iter().all(|&(at, value)| record.get(at) == Some(value));
        let cell = (number(column_at)?, number(row_at)?);
        if cell.0 >= grid.columns || cell.1 >= grid.rows {
            bail!(
                "{} line {}: cell ({}, {}) is outside the sheet, which has {} x {} cells (columns 0..{}, rows 0..{})",
                path.display(),
                line + 2,
                cell.0,
                cell.1,
                grid.columns,
                grid.rows,
                grid.columns - 1,
                grid.rows - 1
            );
        }
        if labels.insert(cell, LabelRow { label, name, included }).is_some() {
            bail!(
                "{} line {}: cell ({}, {}) is labelled twice; each cell may have one row",
                path.display(),
                line + 2,
                cell.0,
                cell.1
            );
        }
    }
    if labels.is_empty() {
        bail!("label file {} has a header but no rows; give one row per labelled cell", path.display());
    }
    Ok(labels)
}
