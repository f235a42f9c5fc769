//! K-Means on the full-dimensional features (as the seed does, not on the 2-D map), through
//! linfa-clustering. linfa speaks ndarray 0.16 while the rest of hebb speaks 0.17: the
//! conversion happens here and nowhere else.

use anyhow::{Context, Result, bail};
use linfa::prelude::{Fit, Predict};
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use ndarray016::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

/// K-Means settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    #[serde(default = "default_n_clusters")]
    pub n_clusters: usize,
    #[serde(default = "default_max_iter")]
    pub max_iter: u64,
    /// Restarts from different seeds; the best inertia wins.
    #[serde(default = "default_n_runs")]
    pub n_runs: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { n_clusters: default_n_clusters(), max_iter: default_max_iter(), n_runs: default_n_runs(), seed: default_seed() }
    }
}

fn default_n_clusters() -> usize {
    10
}
fn default_max_iter() -> u64 {
    300
}
fn default_n_runs() -> usize {
    1
}
fn default_seed() -> u64 {
    42
}

impl ClusterConfig {
    pub fn validate(&self) -> Result<()> {
        for (key, value) in [("n_clusters", self.n_clusters), ("n_runs", self.n_runs), ("max_iter", self.max_iter as usize)] {
            if value == 0 {
                bail!("key `clusters.{key}`: expected a positive value, got 0");
            }
        }
        Ok(())
    }
}

/// A cluster index for each of the `rows` rows of `values` (row-major, `dim` wide). With fewer
/// distinct rows than clusters asked for, the count is reduced to what the data supports.
pub fn kmeans(values: &[f32], rows: usize, dim: usize, config: &ClusterConfig) -> Result<Vec<usize>> {
    let k = config.n_clusters.min(rows);
    if k < 1 {
        bail!("K-Means needs at least one item");
    }
    let records = Array2::from_shape_vec((rows, dim), values.to_vec()).context("feature matrix has the wrong shape")?;
    let dataset = DatasetBase::from(records);
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(config.seed))
        .n_runs(config.n_runs)
        .max_n_iterations(config.max_iter)
        .fit(&dataset)
        .map_err(|e| anyhow::anyhow!("K-Means failed: {e}"))?;
    let labels = model.predict(&dataset);
    Ok(labels.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_groups_reproducibly() {
        let mut values = Vec::new();
        for i in 0..20 {
            let offset = if i < 10 { 0.0 } else { 10.0 };
            values.extend([offset + (i % 3) as f32 * 0.1, offset - (i % 4) as f32 * 0.1]);
        }
        let config = ClusterConfig { n_clusters: 2, ..Default::default() };
        let labels = kmeans(&values, 20, 2, &config).unwrap();
        assert!(labels[..10].iter().all(|&l| l == labels[0]));
        assert!(labels[10..].iter().all(|&l| l == labels[10]));
        assert_ne!(labels[0], labels[10]);
        assert_eq!(labels, kmeans(&values, 20, 2, &config).unwrap());
    }
}
