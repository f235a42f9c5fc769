//! Run configuration: the TOML schema of `hebb encode`, its defaults, and validation.
//!
//! A config file is parsed strictly into a [`ConfigFile`] (unknown keys are rejected, naming the
//! key; defaults are written once, on the types), then [`ConfigFile::validate`] checks every value
//! before any work starts, so that an error names the key and what was expected, and resolves it
//! into the [`EncodeConfig`] every stage reads: the one data source, the colour mode in effect.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::compute::memory;

mod data;
mod encoder;
mod features;
pub(crate) mod map;
mod render;
mod training;

pub use data::{
    CifarConfig, CifarLabels, ColorMode, DataSource, FolderConfig, FolderLayout, GridOrder, MnistConfig, SheetConfig,
    Split, Stl10Config,
};
pub(crate) use data::{DataConfig, DataTable};
pub use encoder::{Activation, EncoderConfig, FilterMode, FilterRule, LateralMode, Normalise};
pub(crate) use features::FeatureLayers;
pub use features::FeaturesConfig;
pub(crate) use map::NeighbourSearch;
pub use map::{ClusterConfig, LayoutThreads, MapConfig};
pub(crate) use render::{CanvasLayout, RenderConfig};
pub use training::TrainingConfig;

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
pub(crate) type ConfigFile = Config<DataTable>;

/// Everything one `hebb encode` run needs, checked and resolved.
pub type EncodeConfig = Config<DataConfig>;

/// The largest config file hebb reads: 16 MiB, far beyond any real one.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Neighbours per item in the neighbour grid, in `query`'s default answer and in `eval`'s vote.
pub(crate) const TOP_K: usize = 5;

/// The seed every seeded stage starts from unless its config says otherwise.
pub(crate) const DEFAULT_SEED: u64 = 42;

fn default_output_dir() -> PathBuf {
    PathBuf::from("outputs")
}

impl ConfigFile {
    /// Parses a config file's text; `origin` names the file in errors.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            // One line: where, then what (toml's own message draws the line under a caret).
            let place = e.span().map_or(String::new(), |span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                let source = text.lines().nth(line - 1).unwrap_or("").trim();
                format!(" line {line}, column {column} (`{source}`)")
            });
            anyhow::anyhow!("invalid config {origin}{place}: {}", e.message().trim().replace('\n', " "))
        })
    }

    /// Reads a config file, or the embedded default when `path` is `None`; returns it with the
    /// name errors give it.
    pub(crate) fn read(path: Option<&Path>) -> Result<(Self, String)> {
        let (text, origin) = match path {
            None => (DEFAULT_CONFIG_TOML.to_string(), "(embedded default configs/emoji.toml)".to_string()),
            Some(path) => {
                let bytes = memory::read_file(path, MAX_CONFIG_BYTES)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("config file {}: expected UTF-8 text (TOML)", path.display()))?;
                (text, path.display().to_string())
            }
        };
        Ok((Self::parse(&text, &origin)?, origin))
    }

    /// Checks every value, naming the key of the first one that is out of range, and resolves
    /// the data source and colour mode.
    pub(crate) fn validate(self) -> Result<EncodeConfig> {
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
        self.encoder.validate()?;
        self.training.validate(self.encoder.channels.len())?;
        self.features.validate()?;
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
        for (layer, pair) in layers.windows(2).enumerate() {
            let ((c_in, s_in), (c_out, s_out)) = (pair[0], pair[1]);
            let taps = self.encoder.kernel_sizes.get(layer).map_or(9.0, |&k| (k * k) as f64);
            weights += c_in * c_out * taps * 4.0;
            weights += match self.encoder.lateral {
                _ if !self.encoder.has_lateral(layer) => 0.0,
                LateralMode::None => 0.0,
                LateralMode::Shared => positions(s_out).powi(2) * 4.0,
                LateralMode::PerChannel => c_out * positions(s_out).powi(2) * 4.0,
                LateralMode::Decorrelate => c_out * c_out * 4.0,
            };
            // The input, the patches the filters learn from, and a few outputs alive at once.
            let per_image = c_in * positions(s_in) + taps * c_in * positions(s_out) + 3.0 * c_out * positions(s_out);
            batch_peak = batch_peak.max(self.training.batch_size as f64 * per_image * 4.0);
        }
        memory::check("key `encoder.channels`", weights)?;
        memory::check(
            "keys `data.image_size`, `encoder.channels` and `training.batch_size` (one batch through the encoder)",
            batch_peak + weights,
        )?;
        memory::check("key `render.canvas_size`", 3.0 * (self.render.canvas_size as f64).powi(2) * 4.0)?;
        // The neighbour grid: a row per query of the query and its neighbours, RGBA then RGB.
        let cell = f64::from(self.render.cell_size);
        let grid = (TOP_K as f64 + 1.0) * (cell + 8.0) * self.render.neighbour_rows as f64 * (cell + 30.0);
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

pub(super) fn positive(key: &str, value: usize) -> Result<()> {
    if value == 0 {
        bail!("key `{key}`: expected a positive value, got 0");
    }
    Ok(())
}
