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
    /// Whether the CPU layout runs on all threads without locks (faster, not reproducible) or
    /// with the edges in order (a seed reproduces the map exactly).
    pub parallel: LayoutThreads,
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

/// Items from which `map.parallel = "auto"` runs the CPU layout lock-free: below, a seed
/// reproduces the map exactly; from here on, where the ordered layout takes minutes, it runs
/// on every thread (on MNIST's 60,000 digits the maps' kNN-10 label accuracy was the same in
/// both modes, docs/benchmarks.md).
pub(crate) const LOCK_FREE_FROM: usize = 100_000;

/// `map.parallel`: `true`, `false` or `"auto"` (lock-free from [`LOCK_FREE_FROM`] items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayoutThreads {
    #[default]
    Auto,
    /// `true`: lock-free on every thread.
    LockFree,
    /// `false`: the edges in order, on one thread.
    InOrder,
}

impl LayoutThreads {
    /// Whether the layout of `n` items runs lock-free.
    pub(crate) fn lock_free(self, n: usize) -> bool {
        match self {
            LayoutThreads::Auto => n >= LOCK_FREE_FROM,
            LayoutThreads::LockFree => true,
            LayoutThreads::InOrder => false,
        }
    }
}

impl From<bool> for LayoutThreads {
    fn from(lock_free: bool) -> Self {
        if lock_free { LayoutThreads::LockFree } else { LayoutThreads::InOrder }
    }
}

impl Serialize for LayoutThreads {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            LayoutThreads::Auto => serializer.serialize_str("auto"),
            LayoutThreads::LockFree => serializer.serialize_bool(true),
            LayoutThreads::InOrder => serializer.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for LayoutThreads {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Flag(bool),
            Word(String),
        }
        match Written::deserialize(deserializer) {
            Ok(Written::Flag(flag)) => Ok(flag.into()),
            Ok(Written::Word(word)) if word == "auto" => Ok(LayoutThreads::Auto),
            Ok(Written::Word(word)) => {
                Err(serde::de::Error::custom(format!("expected true, false or \"auto\", got \"{word}\"")))
            }
            Err(_) => Err(serde::de::Error::custom("expected true, false or \"auto\"")),
        }
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
            parallel: LayoutThreads::Auto,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_runs_the_layout_lock_free_from_its_threshold_on() {
        assert!(!LayoutThreads::Auto.lock_free(LOCK_FREE_FROM - 1));
        assert!(LayoutThreads::Auto.lock_free(LOCK_FREE_FROM));
        assert!(LayoutThreads::LockFree.lock_free(10));
        assert!(!LayoutThreads::InOrder.lock_free(10_000_000));
    }
}
