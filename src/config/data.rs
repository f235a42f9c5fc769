//! The `[data]` table of a run's config: where the images come from (one of `[data.sheet]`,
//! `[data.folder]`, `[data.mnist]`, `[data.cifar]`, `[data.stl10]`) and how they are brought to
//! one size and colour mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::DEFAULT_SEED;

/// The `[data]` table as written: where the images come from and how they are brought to one
/// size. Exactly one of the source tables `[data.sheet]`, `[data.folder]`, `[data.mnist]`,
/// `[data.cifar]`, `[data.stl10]` is given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataTable {
    /// Side, in pixels, that every image is resized to before encoding.
    #[serde(default = "default_image_size")]
    pub image_size: u32,
    /// Colour channels the encoder sees; unset picks the source's natural choice
    /// (`rgba` for sprite sheets, `rgb` for folders, `grey` for MNIST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<ColorMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<SheetConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnist: Option<MnistConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar: Option<CifarConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stl10: Option<Stl10Config>,
}

/// The data a run reads, resolved from its [`DataTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    /// Side, in pixels, that every image is resized to before encoding.
    pub image_size: u32,
    /// The colour channels the encoder sees: the configured ones, or the source's natural ones.
    pub color: ColorMode,
    pub source: DataSource,
}

/// The one image source a config names.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// A grid of equally sized tiles in one image.
    Sheet(SheetConfig),
    /// `root/<class>/**/*.{png,jpg,...}`; the label is the first-level folder name.
    Folder(FolderConfig),
    /// MNIST's IDX files (raw or gzip-compressed).
    Mnist(MnistConfig),
    /// CIFAR-10 or CIFAR-100, binary version.
    Cifar(CifarConfig),
    /// STL-10, binary version.
    Stl10(Stl10Config),
}

impl DataTable {
    /// The table resolved: an error unless exactly one source table is present.
    pub(super) fn resolve(self) -> Result<DataConfig> {
        const TABLES: &str = "`[data.sheet]`, `[data.folder]`, `[data.mnist]`, `[data.cifar]`, `[data.stl10]`";
        let mut sources: Vec<DataSource> = [
            self.sheet.map(DataSource::Sheet),
            self.folder.map(DataSource::Folder),
            self.mnist.map(DataSource::Mnist),
            self.cifar.map(DataSource::Cifar),
            self.stl10.map(DataSource::Stl10),
        ]
        .into_iter()
        .flatten()
        .collect();
        let source = match sources.len() {
            0 => bail!("table `data`: expected one source table, one of {TABLES}, found none"),
            1 => sources.remove(0),
            _ => bail!("table `data`: expected exactly one of {TABLES}, found several"),
        };
        if let DataSource::Cifar(cifar) = &source
            && cifar.split == Split::Unlabeled
        {
            bail!("key `data.cifar.split`: CIFAR has no unlabeled split; expected \"train\" or \"test\"");
        }
        let natural = match source {
            DataSource::Sheet(_) => ColorMode::Rgba,
            DataSource::Folder(_) | DataSource::Cifar(_) | DataSource::Stl10(_) => ColorMode::Rgb,
            DataSource::Mnist(_) => ColorMode::Grey,
        };
        Ok(DataConfig { image_size: self.image_size, color: self.color.unwrap_or(natural), source })
    }
}

impl DataConfig {
    /// The files and folders the images (and labels) are read from, each with the key that names
    /// it.
    pub(crate) fn inputs(&self) -> Vec<(&'static str, &Path)> {
        let (first, second) = match &self.source {
            DataSource::Sheet(sheet) => {
                (("data.sheet.path", sheet.path.as_path()), sheet.labels.as_deref().map(|l| ("data.sheet.labels", l)))
            }
            DataSource::Folder(folder) => (("data.folder.root", folder.root.as_path()), None),
            DataSource::Mnist(mnist) => (
                ("data.mnist.images", mnist.images.as_path()),
                mnist.labels.as_deref().map(|l| ("data.mnist.labels", l)),
            ),
            DataSource::Cifar(cifar) => (("data.cifar.path", cifar.path.as_path()), None),
            DataSource::Stl10(stl10) => (("data.stl10.path", stl10.path.as_path()), None),
        };
        std::iter::once(first).chain(second).collect()
    }

    /// Whether every item gets a label: a sheet or MNIST with its label file, a folder (its
    /// class folders name them), CIFAR, or STL-10 but for its unlabeled split.
    pub(crate) fn labelled(&self) -> bool {
        match &self.source {
            DataSource::Sheet(sheet) => sheet.labels.is_some(),
            DataSource::Folder(_) => true,
            DataSource::Mnist(mnist) => mnist.labels.is_some(),
            DataSource::Cifar(_) => true,
            DataSource::Stl10(stl10) => stl10.split != Split::Unlabeled,
        }
    }

    /// The table that resolves to this, every value written out.
    pub(super) fn to_table(&self) -> DataTable {
        let mut table = DataTable {
            image_size: self.image_size,
            color: Some(self.color),
            sheet: None,
            folder: None,
            mnist: None,
            cifar: None,
            stl10: None,
        };
        match &self.source {
            DataSource::Sheet(sheet) => table.sheet = Some(sheet.clone()),
            DataSource::Folder(folder) => table.folder = Some(folder.clone()),
            DataSource::Mnist(mnist) => table.mnist = Some(mnist.clone()),
            DataSource::Cifar(cifar) => table.cifar = Some(cifar.clone()),
            DataSource::Stl10(stl10) => table.stl10 = Some(stl10.clone()),
        }
        table
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SheetConfig {
    pub path: PathBuf,
    /// Side of one sprite, in pixels of the sheet.
    pub tile_size: u32,
    /// Transparent border around every tile: the cell pitch is `tile_size + 2 * border`.
    #[serde(default)]
    pub border: u32,
    /// Order in which cells become items.
    #[serde(default)]
    pub order: GridOrder,
    /// Keep at most this many sprites (0 keeps all).
    #[serde(default)]
    pub max_sprites: usize,
    /// Skip tiles whose every pixel is fully transparent.
    #[serde(default = "default_true")]
    pub skip_empty: bool,
    /// Optional CSV of labels keyed by cell column and row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// CSV column holding the label.
    #[serde(default = "default_label_column")]
    pub label_column: String,
    /// CSV column holding each cell's name, shown and searched on the map (none: the cell's
    /// position in the sheet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_column: Option<String>,
    /// CSV column holding the cell's column index.
    #[serde(default = "default_column_key")]
    pub column_key: String,
    /// CSV column holding the cell's row index.
    #[serde(default = "default_row_key")]
    pub row_key: String,
    /// Load only the cells whose label row has these values, e.g. `{ is_skin_variant = "0" }`
    /// (needs `labels`; every column named must exist).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub include: BTreeMap<String, String>,
}

/// How an image folder's files are laid out and labelled.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FolderLayout {
    /// `root/<class>/**/*.png`: the label is the first-level folder (Tiny ImageNet's `train/`).
    #[default]
    Classes,
    /// Tiny ImageNet's `val/`: `root/images/*.JPEG`, labelled by `root/val_annotations.txt`
    /// (`file<TAB>class<TAB>box`, one line per image).
    TinyimagenetVal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    pub root: PathBuf,
    /// How the files are laid out and where their labels come from.
    #[serde(default)]
    pub layout: FolderLayout,
    /// Keep at most this many images in all (0 keeps all).
    #[serde(default)]
    pub limit: usize,
    /// Keep at most this many images per class (0 keeps all).
    #[serde(default)]
    pub per_class: usize,
    /// Seed of the sampling used by `limit` and `per_class`.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// A file of `id<TAB>name, other names` lines (Tiny ImageNet's `words.txt`) that turns class
    /// folder names into their first name ("n01443537" -> "goldfish"). Without it, a `words.txt`
    /// beside the root's folder is used when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MnistConfig {
    /// IDX image file (`*-images-idx3-ubyte`, optionally `.gz`).
    pub images: PathBuf,
    /// IDX label file (`*-labels-idx1-ubyte`, optionally `.gz`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// Keep the first this many images (0 keeps all).
    #[serde(default)]
    pub limit: usize,
}

/// `[data.cifar]`: CIFAR-10 or CIFAR-100, binary version, told apart by their files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CifarConfig {
    /// The unpacked folder (`cifar-10-batches-bin` or `cifar-100-binary`).
    pub path: PathBuf,
    /// `train` or `test`.
    #[serde(default)]
    pub split: Split,
    /// CIFAR-100's labels: its 100 `fine` classes or 20 `coarse` superclasses.
    #[serde(default)]
    pub labels: CifarLabels,
    /// Keep the first this many images (0 keeps all).
    #[serde(default)]
    pub limit: usize,
}

/// `[data.stl10]`: STL-10, binary version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stl10Config {
    /// The unpacked folder (`stl10_binary`).
    pub path: PathBuf,
    /// `train`, `test` or `unlabeled` (100,000 images without labels).
    #[serde(default)]
    pub split: Split,
    /// Keep the first this many images (0 keeps all).
    #[serde(default)]
    pub limit: usize,
}

/// A data set's split.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    #[default]
    Train,
    Test,
    Unlabeled,
}

/// Which of CIFAR-100's labels an item gets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum CifarLabels {
    #[default]
    Fine,
    Coarse,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GridOrder {
    #[default]
    RowMajor,
    ColumnMajor,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    Grey,
    Rgb,
    Rgba,
}

impl ColorMode {
    pub(crate) fn channels(self) -> usize {
        match self {
            ColorMode::Grey => 1,
            ColorMode::Rgb => 3,
            ColorMode::Rgba => 4,
        }
    }
}

fn default_image_size() -> u32 {
    96
}
fn default_true() -> bool {
    true
}
fn default_label_column() -> String {
    "category".into()
}
fn default_column_key() -> String {
    "sheet_x".into()
}
fn default_row_key() -> String {
    "sheet_y".into()
}
fn default_seed() -> u64 {
    DEFAULT_SEED
}
