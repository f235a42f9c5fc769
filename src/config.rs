//! Run configuration: the TOML schema of `hebb encode`, its defaults, and validation.
//!
//! A config file is parsed strictly (unknown keys are rejected, naming the key), then
//! [`EncodeConfig::validate`] checks every value before any work starts, so that an error names
//! the key and what was expected. Defaults are written once, on the fields.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

pub use crate::cluster::ClusterConfig;
pub use crate::map::MapConfig;
pub use crate::render::RenderConfig;

/// The configuration that `hebb encode` runs without `--config`: the embedded Twemoji sheet.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../configs/emoji.toml");

/// Everything one `hebb encode` run needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EncodeConfig {
    /// Run name: the run folder is `<output_dir>/<name>`.
    pub name: String,
    /// Folder that holds run folders.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    pub data: DataConfig,
    #[serde(default)]
    pub encoder: EncoderConfig,
    #[serde(default)]
    pub training: TrainingConfig,
    #[serde(default)]
    pub map: MapConfig,
    #[serde(default)]
    pub clusters: ClusterConfig,
    #[serde(default)]
    pub render: RenderConfig,
}

/// Where the images come from and how they are brought to one size. Exactly one of the source
/// tables `[data.sheet]`, `[data.folder]`, `[data.mnist]` is given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
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
}

/// The one image source a [`DataConfig`] names.
#[derive(Debug, Clone, Copy)]
pub enum DataSource<'a> {
    /// A grid of equally sized tiles in one image.
    Sheet(&'a SheetConfig),
    /// `root/<class>/**/*.{png,jpg,...}`; the label is the first-level folder name.
    Folder(&'a FolderConfig),
    /// MNIST's IDX files (raw or gzip-compressed).
    Mnist(&'a MnistConfig),
}

impl DataConfig {
    /// The configured source; an error unless exactly one source table is present.
    pub fn source(&self) -> Result<DataSource<'_>> {
        match (&self.sheet, &self.folder, &self.mnist) {
            (Some(sheet), None, None) => Ok(DataSource::Sheet(sheet)),
            (None, Some(folder), None) => Ok(DataSource::Folder(folder)),
            (None, None, Some(mnist)) => Ok(DataSource::Mnist(mnist)),
            (None, None, None) => bail!(
                "table `data`: expected one source table, `[data.sheet]`, `[data.folder]` or `[data.mnist]`, found none"
            ),
            _ => bail!(
                "table `data`: expected exactly one of `[data.sheet]`, `[data.folder]`, `[data.mnist]`, found several"
            ),
        }
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
    /// CSV column holding the cell's column index.
    #[serde(default = "default_column_key")]
    pub column_key: String,
    /// CSV column holding the cell's row index.
    #[serde(default = "default_row_key")]
    pub row_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    pub root: PathBuf,
    /// Keep at most this many images in all (0 keeps all).
    #[serde(default)]
    pub limit: usize,
    /// Keep at most this many images per class (0 keeps all).
    #[serde(default)]
    pub per_class: usize,
    /// Seed of the sampling used by `limit` and `per_class`.
    #[serde(default = "default_seed")]
    pub seed: u64,
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
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Grey => 1,
            ColorMode::Rgb => 3,
            ColorMode::Rgba => 4,
        }
    }
}

/// How the lateral weights of a layer are shaped and learned.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LateralMode {
    /// The seed's rule: one N x N matrix shared by all channels, ΔW = η · mean over channels of
    /// the sum over the batch of a aᵀ.
    #[default]
    Shared,
    /// One N x N matrix per channel, ΔW_c = η · mean over the batch of a_c a_cᵀ.
    PerChannel,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EncoderConfig {
    /// Output channels of the four stride-2 conv layers.
    #[serde(default = "default_channels")]
    pub channels: Vec<usize>,
    #[serde(default)]
    pub lateral: LateralMode,
    /// Seed of the conv weights' random init.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self { channels: default_channels(), lateral: LateralMode::default(), seed: default_seed() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Hebbian learning rate η.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Seed of the shuffling.
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_true")]
    pub shuffle: bool,
    /// Print one line of layer statistics every this many steps.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            lr: default_lr(),
            seed: default_seed(),
            shuffle: true,
            log_every: default_log_every(),
        }
    }
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("outputs")
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
    42
}
fn default_channels() -> Vec<usize> {
    vec![16, 32, 64, 128]
}
fn default_epochs() -> usize {
    1
}
fn default_batch_size() -> usize {
    8
}
fn default_lr() -> f64 {
    0.001
}
fn default_log_every() -> usize {
    25
}

impl EncodeConfig {
    /// Parses and validates a config; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let config: EncodeConfig =
            toml::from_str(text).with_context(|| format!("invalid config {origin}"))?;
        config.validate().with_context(|| format!("invalid config {origin}"))?;
        Ok(config)
    }

    /// Reads a config file, or the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Self::from_toml(DEFAULT_CONFIG_TOML, "(embedded default configs/emoji.toml)"),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                Self::from_toml(&text, &path.display().to_string())
            }
        }
    }

    /// Checks every value, naming the key of the first one that is out of range.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty()
            || self.name.contains(['/', '\\'])
            || self.name == "."
            || self.name == ".."
        {
            bail!("key `name`: expected a non-empty folder name without slashes, got {:?}", self.name);
        }
        positive("data.image_size", self.data.image_size as usize)?;
        if self.data.image_size < 16 {
            bail!(
                "key `data.image_size`: expected at least 16 (four stride-2 layers), got {}",
                self.data.image_size
            );
        }
        if let DataSource::Sheet(sheet) = self.data.source()? {
            positive("data.sheet.tile_size", sheet.tile_size as usize)?;
        }
        if self.encoder.channels.len() != 4 {
            bail!(
                "key `encoder.channels`: expected 4 layer widths, got {}",
                self.encoder.channels.len()
            );
        }
        for &c in &self.encoder.channels {
            positive("encoder.channels", c)?;
        }
        positive("training.epochs", self.training.epochs)?;
        positive("training.batch_size", self.training.batch_size)?;
        positive("training.log_every", self.training.log_every)?;
        if !(self.training.lr.is_finite() && self.training.lr > 0.0) {
            bail!("key `training.lr`: expected a positive number, got {}", self.training.lr);
        }
        self.map.validate()?;
        self.clusters.validate()?;
        self.render.validate()?;
        Ok(())
    }

    /// The colour mode in effect: the configured one, or the source's natural one.
    pub fn color(&self) -> ColorMode {
        self.data.color.unwrap_or(match self.data.source() {
            Ok(DataSource::Sheet(_)) => ColorMode::Rgba,
            Ok(DataSource::Folder(_)) => ColorMode::Rgb,
            Ok(DataSource::Mnist(_)) | Err(_) => ColorMode::Grey,
        })
    }

    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).context("cannot serialise the resolved config")
    }
}

fn positive(key: &str, value: usize) -> Result<()> {
    if value == 0 {
        bail!("key `{key}`: expected a positive value, got 0");
    }
    Ok(())
}
