//! The `[features]` table of a run's config: how a feature vector is read off the encoder's maps.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

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

impl FeaturesConfig {
    pub(super) fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.whiten_power) {
            bail!("key `features.whiten_power`: expected a number from 0 to 1, got {}", self.whiten_power);
        }
        Ok(())
    }
}
