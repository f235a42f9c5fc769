//! Run configuration: the TOML schema of `hebb encode`, its defaults, and validation.
//!
//! A config file is parsed strictly into a [`ConfigFile`] (unknown keys are rejected, naming the
//! key; defaults are written once, on the types), then [`ConfigFile::validate`] checks every value
//! before any work starts, so that an error names the key and what was expected, and resolves it
//! into the [`EncodeConfig`] every stage reads: the one data source, the colour mode in effect.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::compute::memory;

mod map;
mod render;

pub use map::{ClusterConfig, MapConfig, NeighbourSearch};
pub use render::{CanvasLayout, RenderConfig};

/// The configuration that `hebb encode` runs without `--config`: the embedded Twemoji sheet.
pub(crate) const DEFAULT_CONFIG_TOML: &str = include_str!("../../configs/emoji.toml");

/// A run's config: as written in a file ([`ConfigFile`]), or checked and resolved
/// ([`EncodeConfig`]); the two differ only in their data table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config<Data> {
    /// Run name: the run folder is `<output_dir>/<name>`.
    pub name: String,
    /// Folder that holds run folders.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    pub data: Data,
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

/// A config file as parsed, before [`ConfigFile::validate`].
pub type ConfigFile = Config<DataTable>;

/// Everything one `hebb encode` run needs, checked and resolved.
pub type EncodeConfig = Config<DataConfig>;

/// The `[data]` table as written: where the images come from and how they are brought to one
/// size. Exactly one of the source tables `[data.sheet]`, `[data.folder]`, `[data.mnist]` is given.
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
}

impl DataTable {
    /// The table resolved: an error unless exactly one source table is present.
    fn resolve(self) -> Result<DataConfig> {
        let source = match (self.sheet, self.folder, self.mnist) {
            (Some(sheet), None, None) => DataSource::Sheet(sheet),
            (None, Some(folder), None) => DataSource::Folder(folder),
            (None, None, Some(mnist)) => DataSource::Mnist(mnist),
            (None, None, None) => bail!(
                "table `data`: expected one source table, `[data.sheet]`, `[data.folder]` or `[data.mnist]`, found none"
            ),
            _ => bail!(
                "table `data`: expected exactly one of `[data.sheet]`, `[data.folder]`, `[data.mnist]`, found several"
            ),
        };
        let natural = match source {
            DataSource::Sheet(_) => ColorMode::Rgba,
            DataSource::Folder(_) => ColorMode::Rgb,
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
        };
        std::iter::once(first).chain(second).collect()
    }

    /// Whether every item gets a label: a sheet or MNIST with its label file, or a folder (its
    /// class folders name them).
    pub(crate) fn labelled(&self) -> bool {
        match &self.source {
            DataSource::Sheet(sheet) => sheet.labels.is_some(),
            DataSource::Folder(_) => true,
            DataSource::Mnist(mnist) => mnist.labels.is_some(),
        }
    }

    /// The table that resolves to this, every value written out.
    fn to_table(&self) -> DataTable {
        let mut table =
            DataTable { image_size: self.image_size, color: Some(self.color), sheet: None, folder: None, mnist: None };
        match &self.source {
            DataSource::Sheet(sheet) => table.sheet = Some(sheet.clone()),
            DataSource::Folder(folder) => table.folder = Some(folder.clone()),
            DataSource::Mnist(mnist) => table.mnist = Some(mnist.clone()),
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
    /// One C x C matrix M of anti-Hebbian inhibition between channels, y = a − M a at each
    /// position, ΔM = η · the off-diagonal part of the batch's mean Σ y yᵀ (Földiák 1990): channels
    /// that fire together learn to inhibit each other until their outputs decorrelate.
    Decorrelate,
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

/// How learned filters move (`encoder.filters = "hebbian"`): both take SoftHebb's update.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FilterRule {
    /// Filters kept at unit norm (projected back after every step) with a rate that falls
    /// linearly to 0 over each layer's steps, so they settle within the steps a small set has;
    /// filters that win nothing for a while restart as patches of the data.
    #[default]
    Projected,
    /// SoftHebb's own: filters start at norm 25 and each moves at η · √|‖w‖ − 1|, so learning
    /// slows as the norm nears 1 (the paper trains thousands of steps per layer).
    Softhebb,
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
    /// Partial whitening: along the training sample's first `whiten_axes` principal axes, each
    /// deviation σ_i is shrunk towards the last one's, to σ_i · (σ_k / σ_i)^`whiten_power`; the
    /// other directions are kept (0: no whitening).
    pub whiten_axes: usize,
    /// 0 leaves the axes as they are, 1 gives them all the k-th's deviation.
    pub whiten_power: f64,
}

impl Default for FeaturesConfig {
    fn default() -> Self {
        Self { layers: FeatureLayers::default(), grid: 4, whiten_axes: 0, whiten_power: 0.5 }
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
    /// Each filter-learning step learns from one in this many of the batch's patches, a
    /// different one each step in turn (1: all of them). The update is scaled to a fixed size
    /// every step, so fewer patches per step make a step cheaper, not smaller.
    pub filter_patch_stride: usize,
    /// Each learning layer sees at least this many images (0: no minimum). A set too small for
    /// it in `filter_epochs` epochs learns for a whole multiple of them, each step from that
    /// multiple's share of the patches (the stride multiplied), so that small sets get more
    /// steps at about the same cost ([`TrainingConfig::filter_schedule`]).
    pub filter_min_images: usize,
    /// How many layers, from the first, learn their filters (`encoder.filters = "hebbian"`; 0 =
    /// all); the layers above keep their seeded random filters.
    pub filter_layers: usize,
    /// How the filters move: `projected` or `softhebb` ([`FilterRule`]).
    pub filter_rule: FilterRule,
    /// Filters learn from brightness- and contrast-normalised patches: each patch's mean removed
    /// and divided by its deviation (Coates & Ng 2011), so that they learn shapes rather than
    /// how bright a patch is; the conv still sees the layer's input as it is.
    pub filter_contrast: bool,
    /// Learning rate η of the filters: the start of the linear decay (`projected`), or the factor
    /// of √|‖w‖ − 1| (`softhebb`).
    pub filter_lr: f64,
    /// Temperature τ of the first layer's soft competition y = softmax(u / τ) between its
    /// filters.
    pub temperature: f64,
    /// Each layer's τ is the one below's times this factor ([`TrainingConfig::temperature_of`]):
    /// deeper layers' patches are longer, so their pre-activations larger and, at one τ, their
    /// competition all but winner-take-all (1: one τ for all; docs/results.md measures √8).
    pub temperature_growth: f64,
    /// Images whose statistics standardise a layer's input (`encoder.standardise`; 0 = all).
    pub statistics_sample: usize,
    /// Train on the training part of `hebb eval`'s first seeded 80/20 split only, so that the
    /// probe's test images were never seen by the encoder; `hebb eval` then scores the probe on that
    /// split alone (needs labels).
    pub holdout: bool,
    /// Train on a seeded sample of this many items (0 = all of them, or all of the holdout's
    /// training part); features are still extracted for every item.
    pub sample: usize,
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
            filter_epochs: 3,
            filter_patch_stride: 1,
            filter_min_images: 10_000,
            filter_layers: 2,
            filter_rule: FilterRule::default(),
            filter_contrast: false,
            filter_lr: 0.05,
            temperature: 1.0,
            temperature_growth: 1.0,
            statistics_sample: 4096,
            holdout: false,
            sample: 0,
            seed: DEFAULT_SEED,
            shuffle: true,
            log_every: 25,
        }
    }
}

impl TrainingConfig {
    /// Epochs and patch stride of each learning layer's filter learning on `images` images:
    /// `filter_epochs` and `filter_patch_stride`, both multiplied by the smallest whole factor
    /// that takes `filter_epochs` x factor epochs to `filter_min_images` images.
    pub(crate) fn filter_schedule(&self, images: usize) -> (usize, usize) {
        let epochs_needed = self.filter_min_images.div_ceil(images.max(1));
        let factor = epochs_needed.div_ceil(self.filter_epochs.max(1)).max(1);
        (self.filter_epochs.saturating_mul(factor), self.filter_patch_stride.saturating_mul(factor))
    }

    /// τ of layer `layer`'s (from 0) soft competition: `temperature` x
    /// `temperature_growth`^`layer`.
    pub(crate) fn temperature_of(&self, layer: usize) -> f64 {
        self.temperature * self.temperature_growth.powi(i32::try_from(layer).unwrap_or(i32::MAX))
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

impl ConfigFile {
    /// Parses a config file's text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).with_context(|| format!("invalid config {origin}"))
    }

    /// Reads a config file, or the embedded default when `path` is `None`; returns it with the
    /// name errors give it.
    pub fn read(path: Option<&Path>) -> Result<(Self, String)> {
        let (text, origin) = match path {
            None => (DEFAULT_CONFIG_TOML.to_string(), "(embedded default configs/emoji.toml)".to_string()),
            Some(path) => (
                std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?,
                path.display().to_string(),
            ),
        };
        Ok((Self::parse(&text, &origin)?, origin))
    }

    /// Checks every value, naming the key of the first one that is out of range, and resolves
    /// the data source and colour mode.
    pub fn validate(self) -> Result<EncodeConfig> {
        check_folder_name("key `name`", &self.name)?;
        positive("data.image_size", self.data.image_size as usize)?;
        if self.data.image_size < 16 {
            bail!("key `data.image_size`: expected at least 16 (four stride-2 layers), got {}", self.data.image_size);
        }
        let data = self.data.resolve()?;
        if let DataSource::Sheet(sheet) = &data.source {
            positive("data.sheet.tile_size", sheet.tile_size as usize)?;
            if !sheet.include.is_empty() && sheet.labels.is_none() {
                bail!("key `data.sheet.include`: filters rows of the label file, and `data.sheet.labels` is not set");
            }
        }
        if self.encoder.channels.len() != 4 {
            bail!("key `encoder.channels`: expected 4 layer widths, got {}", self.encoder.channels.len());
        }
        for &c in &self.encoder.channels {
            positive("encoder.channels", c)?;
        }
        if self.training.filter_layers > self.encoder.channels.len() {
            bail!(
                "key `training.filter_layers`: expected 0 (all) to {} (the encoder's layers), got {}",
                self.encoder.channels.len(),
                self.training.filter_layers
            );
        }
        positive("training.epochs", self.training.epochs)?;
        positive("training.batch_size", self.training.batch_size)?;
        positive("training.log_every", self.training.log_every)?;
        positive("training.filter_epochs", self.training.filter_epochs)?;
        positive("training.filter_patch_stride", self.training.filter_patch_stride)?;
        for (key, value) in [
            ("training.lr", self.training.lr),
            ("training.filter_lr", self.training.filter_lr),
            ("training.temperature", self.training.temperature),
            ("training.temperature_growth", self.training.temperature_growth),
        ] {
            if !(value.is_finite() && value > 0.0) {
                bail!("key `{key}`: expected a positive number, got {value}");
            }
        }
        if !(0.0..=1.0).contains(&self.features.whiten_power) {
            bail!("key `features.whiten_power`: expected a number from 0 to 1, got {}", self.features.whiten_power);
        }
        self.map.validate()?;
        self.clusters.validate()?;
        self.render.validate()?;
        Ok(Config {
            name: self.name,
            output_dir: self.output_dir,
            data,
            encoder: self.encoder,
            features: self.features,
            training: self.training,
            map: self.map,
            clusters: self.clusters,
            render: self.render,
        })
    }
}

impl EncodeConfig {
    /// Parses and validates a config; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        ConfigFile::parse(text, origin)?.validate().with_context(|| format!("invalid config {origin}"))
    }

    /// Reads and validates a config file, or the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let (file, origin) = ConfigFile::read(path)?;
        file.validate().with_context(|| format!("invalid config {origin}"))
    }

    /// Refuses settings whose working set cannot fit in the memory available, naming the key:
    /// the encoder's weights (with the lateral matrices), one batch through the encoder, and the
    /// canvases.
    pub(crate) fn check_memory(&self) -> Result<()> {
        let channels = self.data.color.channels() as f64;
        let mut layers = vec![(channels, self.data.image_size as f64)];
        for &c in &self.encoder.channels {
            let (_, side) = layers[layers.len() - 1];
            layers.push((c as f64, ((side - 1.0) / 2.0).floor() + 1.0));
        }
        let positions = |side: f64| side * side;
        let mut weights = 0.0;
        let mut batch_peak: f64 = 0.0;
        for pair in layers.windows(2) {
            let ((c_in, s_in), (c_out, s_out)) = (pair[0], pair[1]);
            weights += c_in * c_out * 9.0 * 4.0;
            weights += match self.encoder.lateral {
                LateralMode::None => 0.0,
                LateralMode::Shared => positions(s_out).powi(2) * 4.0,
                LateralMode::PerChannel => c_out * positions(s_out).powi(2) * 4.0,
                LateralMode::Decorrelate => c_out * c_out * 4.0,
            };
            // The input, the patches the filters learn from, and a few outputs alive at once.
            let per_image = c_in * positions(s_in) + 9.0 * c_in * positions(s_out) + 3.0 * c_out * positions(s_out);
            batch_peak = batch_peak.max(self.training.batch_size as f64 * per_image * 4.0);
        }
        memory::check("key `encoder.channels`", weights)?;
        memory::check("key `data.image_size` (one batch through the encoder)", batch_peak + weights)?;
        memory::check("key `render.canvas_size`", 3.0 * (self.render.canvas_size as f64).powi(2) * 4.0)?;
        // The neighbour grid: a row per query of the query and its neighbours, RGBA then RGB.
        let cell = f64::from(self.render.cell_size);
        let grid = (crate::map::pipeline::TOP_K as f64 + 1.0)
            * (cell + 8.0)
            * self.render.neighbour_rows as f64
            * (cell + 30.0);
        memory::check("keys `render.cell_size` and `render.neighbour_rows` (the neighbour grid)", grid * 7.0)
    }

    pub(crate) fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }

    /// Refuses a run folder that holds one of the run's inputs (a re-run would replace it) or
    /// that lies inside the image folder (its pictures would join the data set), naming the key.
    pub(crate) fn check_output_apart(&self) -> Result<()> {
        let run_dir = resolved(&self.run_dir());
        let inputs = self.data.inputs();
        for (key, input) in inputs {
            let input = resolved(input);
            if input.starts_with(&run_dir) {
                bail!(
                    "key `{key}`: {} is inside the run folder {}, which the run replaces; choose another `name` or `output_dir`",
                    input.display(),
                    run_dir.display()
                );
            }
            if key == "data.folder.root" && run_dir.starts_with(&input) {
                bail!(
                    "key `output_dir`: the run folder {} is inside the image folder {} (`{key}`), whose images it would join; choose an `output_dir` outside it",
                    run_dir.display(),
                    input.display()
                );
            }
        }
        Ok(())
    }

    /// The resolved config as TOML, every default written out.
    pub fn to_toml(&self) -> Result<String> {
        let file = Config {
            name: self.name.clone(),
            output_dir: self.output_dir.clone(),
            data: self.data.to_table(),
            encoder: self.encoder.clone(),
            features: self.features.clone(),
            training: self.training.clone(),
            map: self.map.clone(),
            clusters: self.clusters.clone(),
            render: self.render.clone(),
        };
        toml::to_string_pretty(&file).context("cannot serialise the resolved config")
    }
}

/// `path` made absolute with its links resolved, as far as it exists (the rest appended as given),
/// so that two spellings of one place compare equal.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
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
