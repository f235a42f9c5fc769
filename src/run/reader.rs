//! A finished run folder read back: its config, features and items, checked against each other.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::items::read_items_csv;
use super::npy::read_npy_f32;
use super::{CONFIG_FILE, FEATURES_FILE, ITEMS_FILE};
use crate::compute::features::Features;
use crate::config::{DataConfig, EncodeConfig};
use crate::data::{ImageSet, Item};
use crate::progress::Progress;

/// A finished run, read back from its folder.
pub(crate) struct Run {
    pub dir: PathBuf,
    pub config: EncodeConfig,
    pub features: Features,
    pub items: Vec<Item>,
}

impl Run {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("run folder {} does not exist (run `hebb encode` first)", dir.display());
        }
        let config = EncodeConfig::load(Some(&dir.join(CONFIG_FILE)))?;
        let (rows, dim, values) = read_npy_f32(&dir.join(FEATURES_FILE))?;
        let items = read_items_csv(&dir.join(ITEMS_FILE))?;
        if items.len() != rows {
            bail!("{} lists {} items but {} has {rows} rows", ITEMS_FILE, items.len(), FEATURES_FILE);
        }
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            bail!("{} row {} holds a value that is not finite ({})", FEATURES_FILE, at / dim.max(1), values[at]);
        }
        Ok(Self { dir: dir.to_path_buf(), config, features: Features { rows, dim, values }, items })
    }

    /// Loads the run's data set again, checking that it still holds the run's items.
    pub(crate) fn load_images(&self, progress: Progress) -> Result<ImageSet> {
        load_run_images(&self.config.data, &self.items, progress)
    }
}

/// Loads a run's data set (`data`) again, checking that it still holds the run's `items`.
pub(crate) fn load_run_images(data: &DataConfig, items: &[Item], progress: Progress) -> Result<ImageSet> {
    let images = crate::data::load(data, progress)?;
    if images.items.iter().map(|i| &i.source).ne(items.iter().map(|i| &i.source)) {
        bail!("the data set has changed since the run; its items no longer match the run's {ITEMS_FILE}");
    }
    Ok(images)
}
