//! The `[map]` (UMAP) and `[clusters]` (K-Means) tables of a run's config.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::DEFAULT_SEED;
use crate::choice::choice;

/// UMAP settings, with umap-learn's names and defaults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MapConfig {
    pub n_neighbors: usize,
    pub min_dist: f32,
    pub spread: f32,
    /// Optimisation epochs; 0 picks umap-learn's default (500 up to 10,000 items, else 200).
    pub epochs: usize,
    pub learning_rate: f32,
    pub negative_sample_rate: usize,
    pub repulsion_strength: f32,
    pub seed: u64,
    /// On the CPU, run the layout on all threads without locks (faster, not reproducible);
    /// off, the edges run in order and a seed reproduces the map exactly.
    pub parallel: bool,
    /// How each item's neighbours are found.
    pub neighbours: NeighbourSearch,
}

choice! {
    /// How the map finds each item's nearest neighbours.
    #[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
    #[serde(rename_all = "kebab-case")]
    pub enum NeighbourSearch {
        /// Exact on a GPU and for small sets, approximate on the CPU past a measured size.
        #[default]
        Auto = "auto",
        /// Every item against every item (blocked matrix products).
        Exact = "exact",
        /// NN-descent on a reduced copy, re-ranked exactly (CPU).
        Approximate = "approximate",
    }
}

impl Default for MapConfig {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            min_dist: 0.1,
            spread: 1.0,
            epochs: 0,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            seed: DEFAULT_SEED,
            parallel: false,
            neighbours: NeighbourSearch::default(),
        }
    }
}

impl MapConfig {
    /// Checks the values, naming the key (under the `map` table).
    pub(crate) fn validate(&self) -> Result<()> {
        if self.n_neighbors < 2 {
            bail!("key `map.n_neighbors`: expected at least 2, got {}", self.n_neighbors);
        }
        if !(self.spread > 0.0 && self.spread.is_finite()) {
            bail!("key `map.spread`: expected a positive number, got {}", self.spread);
        }
        if !(self.min_dist >= 0.0 && self.min_dist <= self.spread) {
            bail!("key `map.min_dist`: expected a value in [0, spread = {}], got {}", self.spread, self.min_dist);
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            bail!("key `map.learning_rate`: expected a positive number, got {}", self.learning_rate);
        }
        if !(self.repulsion_strength >= 0.0 && self.repulsion_strength.is_finite()) {
            bail!("key `map.repulsion_strength`: expected a non-negative number, got {}", self.repulsion_strength);
        }
        Ok(())
    }

    /// Epochs in effect for `n` items.
    pub(crate) fn epochs_for(&self, n: usize) -> usize {
        match self.epochs {
            0 if n <= 10_000 => 500,
            0 => 200,
            e => e,
        }
    }
}

/// K-Means settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub n_clusters: usize,
    pub max_iter: u64,
    /// Restarts from different seeds; the best inertia wins.
    pub n_runs: usize,
    pub seed: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { n_clusters: 10, max_iter: 300, n_runs: 1, seed: DEFAULT_SEED }
    }
}

impl ClusterConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        for (key, value) in
            [("n_clusters", self.n_clusters), ("n_runs", self.n_runs), ("max_iter", self.max_iter as usize)]
        {
            if value == 0 {
                bail!("key `clusters.{key}`: expected a positive value, got 0");
            }
        }
        Ok(())
    }
}
