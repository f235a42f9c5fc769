//! Run configuration: the TOML schema of `hebb encode`, its defaults, and validation.
//!
//! A config file is parsed strictly (unknown keys are rejected, naming the key), then
//! [`EncodeConfig::validate`] checks every value before any work starts, so that an error names
//! the key and what was expected. Defaults are written once, on the fields.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

mod map;
mod render;

pub use map::{ClusterConfig, MapConfig};
pub use render::RenderConfig;

/// The configuration that `hebb encode` runs without `--config`: the embedded Twemoji sheet.
pub(crate) const DEFAULT_CONFIG_TOML: &str = include_str!("../../configs/emoji.toml");

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
    pub features: FeaturesConfig,
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
    /// No lateral path: a layer's output is its normalised activation.
    #[default]
    None,
    /// The seed's rule: one N x N matrix shared by all channels, ΔW = η · mean over channels of
    /// the sum over the batch of a aᵀ.
    Shared,
    /// One N x N matrix per channel, ΔW_c = η · mean over the batch of a_c a_cᵀ.
    PerChannel,
}

/// Where the conv filters come from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FilterMode {
    /// The seed's: seeded uniform init in ±1/√fan_in, never learned.
    Random,
    /// Learned layer by layer by soft winner-take-all Hebbian plasticity (SoftHebb).
    #[default]
    Hebbian,
}

/// The non-linearity after each conv.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// relu(u).
    Relu,
    /// relu(u − mean over channels of u) (Coates & Ng's "triangle"; SoftHebb's activation).
    #[default]
    Triangle,
}

/// How each layer's activations are normalised.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Normalise {
    /// The seed's: L2 normalisation of each channel over its spatial positions.
    #[default]
    Spatial,
    /// L2 normalisation across channels at each position (keeps the channels' relative strength).
    Channels,
    /// None.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EncoderConfig {
    /// Output channels of the four stride-2 conv layers.
    pub channels: Vec<usize>,
    pub filters: FilterMode,
    pub activation: Activation,
    pub normalise: Normalise,
    /// Standardise each layer's input channels with the training set's mean and deviation
    /// (SoftHebb's non-affine batch normalisation, with population statistics).
    pub standardise: bool,
    /// ZCA-whiten the first layer's 3x3 input patches with the training set's statistics (Coates
    /// & Ng 2011); the first layer then skips the per-channel standardisation.
    pub whiten: bool,
    pub lateral: LateralMode,
    /// Seed of the conv weights' random init.
    pub seed: u64,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            channels: vec![32, 64, 128, 256],
            filters: FilterMode::default(),
            activation: Activation::default(),
            normalise: Normalise::default(),
            standardise: true,
            whiten: false,
            lateral: LateralMode::default(),
            seed: DEFAULT_SEED,
        }
    }
}

/// Which layers' maps make a feature vector.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureLayers {
    /// The last layer's map.
    Last,
    /// Every layer's map, each pooled and L2-normalised on its own, then concatenated.
    #[default]
    All,
}

/// How a feature vector is read off the encoder's maps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesConfig {
    pub layers: FeatureLayers,
    /// Average-pool each map to `grid x grid` positions before flattening (0 keeps every
    /// position; a map already at or below the grid is kept as it is).
    pub grid: usize,
}

impl Default for FeaturesConfig {
    fn default() -> Self {
        Self { layers: FeatureLayers::default(), grid: 4 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Epochs of the lateral path's Hebbian learning (all layers at once).
    pub epochs: usize,
    pub batch_size: usize,
    /// Hebbian learning rate η of the lateral path.
    pub lr: f64,
    /// Epochs of filter learning per layer (`encoder.filters = "hebbian"`), layer by layer.
    pub filter_epochs: usize,
    /// Initial SoftHebb learning rate of the filters; each filter's rate is this times
    /// √|‖w‖ − 1|, so it shrinks as the filter's norm nears 1.
    pub filter_lr: f64,
    /// Temperature τ of the soft competition y = softmax(u / τ) between a layer's filters.
    pub temperature: f64,
    /// Images whose statistics standardise a layer's input (`encoder.standardise`; 0 = all).
    pub statistics_sample: usize,
    /// Train on the training part of `hebb eval`'s seeded 80/20 split only, so that the probe's
    /// test images were never seen by the encoder (needs labels).
    pub holdout: bool,
    /// Seed of the shuffling (and of the holdout split).
    pub seed: u64,
    pub shuffle: bool,
    /// Print one line of layer statistics every this many steps.
    pub log_every: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 16,
            lr: 0.001,
            filter_epochs: 1,
            filter_lr: 0.05,
            temperature: 1.0,
            statistics_sample: 4096,
            holdout: false,
            seed: DEFAULT_SEED,
            shuffle: true,
            log_every: 25,
        }
    }
}

/// The seed every seeded stage starts from unless its config says otherwise.
pub(crate) const DEFAULT_SEED: u64 = 42;

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
    DEFAULT_SEED
}

impl EncodeConfig {
    /// Parses and validates a config; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let config: EncodeConfig = toml::from_str(text).with_context(|| format!("invalid config {origin}"))?;
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
    pub(crate) fn validate(&self) -> Result<()> {
        check_folder_name("key `name`", &self.name)?;
        positive("data.image_size", self.data.image_size as usize)?;
        if self.data.image_size < 16 {
            bail!("key `data.image_size`: expected at least 16 (four stride-2 layers), got {}", self.data.image_size);
        }
        if let DataSource::Sheet(sheet) = self.data.source()? {
            positive("data.sheet.tile_size", sheet.tile_size as usize)?;
        }
        if self.encoder.channels.len() != 4 {
            bail!("key `encoder.channels`: expected 4 layer widths, got {}", self.encoder.channels.len());
        }
        for &c in &self.encoder.channels {
            positive("encoder.channels", c)?;
        }
        positive("training.epochs", self.training.epochs)?;
        positive("training.batch_size", self.training.batch_size)?;
        positive("training.log_every", self.training.log_every)?;
        positive("training.filter_epochs", self.training.filter_epochs)?;
        for (key, value) in [
            ("training.lr", self.training.lr),
            ("training.filter_lr", self.training.filter_lr),
            ("training.temperature", self.training.temperature),
        ] {
            if !(value.is_finite() && value > 0.0) {
                bail!("key `{key}`: expected a positive number, got {value}");
            }
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

    pub(crate) fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).context("cannot serialise the resolved config")
    }
}

/// A run folder's name must be one path component; `what` names the key or option in the error.
pub(crate) fn check_folder_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        bail!("{what}: expected a non-empty folder name without slashes, got {name:?}");
    }
    Ok(())
}

fn positive(key: &str, value: usize) -> Result<()> {
    if value == 0 {
        bail!("key `{key}`: expected a positive value, got 0");
    }
    Ok(())
}
