//! K-Means on the full-dimensional features (as the seed does, not on the 2-D map).
//!
//! linfa-clustering supplies the seeded k-means++ start and the algorithm's definition: its
//! Lloyd iteration ("m_k-means": the old centroid counts as one more member of its cluster),
//! its stopping rule (the Frobenius norm of the centroid change below 1e-4, or `max_iter`
//! iterations) and its tie rule (the lower cluster index). After linfa's first iteration, hebb
//! runs the same iteration on the run's device as matrix products (squared distances as
//! `|x|² - 2x·c + |c|²`, centroid sums as `onehotᵀ X`), which is what makes 100,000 x 4,608 items
//! practical. A full linfa fit from the same seed is the twin it is tested against; the two
//! agree up to float rounding (a distance from a matrix product can break a near-tie the other
//! way than linfa's direct sum; `hebb bench map` reports the share of items that agree).
//!
//! linfa speaks ndarray 0.16 while the rest of hebb speaks 0.17: the conversion happens here
//! and nowhere else.

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Int, Tensor, TensorData};
use linfa::DatasetBase;
use linfa::prelude::Fit;
use linfa_clustering::KMeans;
use ndarray016::ArrayView2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::device::read_f32;

/// linfa's default convergence tolerance on the centroid change.
const TOLERANCE: f32 = 1e-4;

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

/// A cluster index for each of the `rows` rows of `values` (row-major, `dim` wide), computed on
/// `device`. With fewer rows than clusters asked for, the count is reduced to the row count.
/// With `n_runs` > 1, run r starts from seed `seed + r` and the lowest inertia wins.
pub fn kmeans(values: &[f32], rows: usize, dim: usize, config: &ClusterConfig, device: &Device) -> Result<Vec<usize>> {
    let k = config.n_clusters.min(rows);
    if k < 1 {
        bail!("K-Means needs at least one item");
    }
    let dataset = linfa_dataset(values, rows, dim)?;
    let points = Points::upload(values, rows, dim, device);
    let mut best: Option<Clustering> = None;
    for run in 0..config.n_runs as u64 {
        let first = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(config.seed.wrapping_add(run)))
            .n_runs(1)
            .max_n_iterations(1)
            .fit(&dataset)
            .map_err(|e| anyhow::anyhow!("K-Means failed: {e}"))?;
        let start: Vec<f32> = first.centroids().iter().copied().collect();
        let clustering = points.lloyd(start, k, config.max_iter.saturating_sub(1))?;
        if best.as_ref().is_none_or(|b| clustering.inertia < b.inertia) {
            best = Some(clustering);
        }
    }
    Ok(best.expect("n_runs is at least 1").labels)
}

/// The features as a linfa data set, borrowed (no copy of what may be gigabytes).
fn linfa_dataset(values: &[f32], rows: usize, dim: usize) -> Result<DatasetBase<ArrayView2<'_, f32>, ndarray016::Array1<()>>> {
    let records = ArrayView2::from_shape((rows, dim), values).context("feature matrix has the wrong shape")?;
    Ok(DatasetBase::from(records))
}

/// Final assignment of one K-Means run.
struct Clustering {
    labels: Vec<usize>,
    /// Sum of squared distances to the assigned centroids.
    inertia: f64,
}

/// The points on the device, with their squared norms.
struct Points {
    x: Tensor<2>,
    squared_norms: Tensor<2>,
    rows: usize,
    dim: usize,
}

impl Points {
    fn upload(values: &[f32], rows: usize, dim: usize, device: &Device) -> Points {
        let x: Tensor<2> = Tensor::from_data(TensorData::new(values.to_vec(), [rows, dim]), device);
        let squared_norms = x.clone().powi_scalar(2).sum_dim(1);
        Points { x, squared_norms, rows, dim }
    }

    /// `rows x k` squared distances to the centroids (clamped at 0 against rounding).
    fn squared_distances(&self, centroids: &Tensor<2>) -> Tensor<2> {
        let centroid_norms = centroids.clone().powi_scalar(2).sum_dim(1).transpose();
        let cross = self.x.clone().matmul(centroids.clone().transpose());
        (self.squared_norms.clone() - cross * 2.0 + centroid_norms).clamp_min(0.0)
    }

    /// linfa's Lloyd iteration from `start` (`k x dim`, row-major) for at most `iterations`
    /// steps, then the assignment to the final centroids.
    fn lloyd(&self, start: Vec<f32>, k: usize, iterations: u64) -> Result<Clustering> {
        let device = self.x.device();
        let mut centroids: Tensor<2> = Tensor::from_data(TensorData::new(start, [k, self.dim]), &device);
        for _ in 0..iterations {
            let nearest: Tensor<1, Int> = self.squared_distances(&centroids).argmin(1).reshape([self.rows]);
            let members: Tensor<2> = nearest.one_hot::<2>(k).float(); // rows x k
            let sums = members.clone().transpose().matmul(self.x.clone()); // k x dim
            let counts = members.sum_dim(0).transpose(); // k x 1
            let next = (centroids.clone() + sums) / (counts + 1.0);
            let change = read_f32((next.clone() - centroids).powi_scalar(2).sum(), "K-Means centroids")?[0].sqrt();
            centroids = next;
            if change < TOLERANCE {
                break;
            }
        }
        let distances = self.squared_distances(&centroids);
        let inertia = read_f32(distances.clone().min_dim(1).sum(), "K-Means inertia")?[0] as f64;
        let nearest = distances.argmin(1).reshape([self.rows]);
        let labels = crate::device::read_indices(nearest, "K-Means labels")?;
        Ok(Clustering { labels: labels.into_iter().map(|i| i as usize).collect(), inertia })
    }
}

/// The reference: linfa's own full fit and prediction from the same seed (one run). It is the
/// twin the device iteration is tested against and the baseline `hebb bench map` times.
pub fn kmeans_linfa(values: &[f32], rows: usize, dim: usize, config: &ClusterConfig) -> Result<Vec<usize>> {
    use linfa::prelude::Predict;
    let dataset = linfa_dataset(values, rows, dim)?;
    let model = KMeans::params_with_rng(config.n_clusters.min(rows), Xoshiro256Plus::seed_from_u64(config.seed))
        .n_runs(1)
        .max_n_iterations(config.max_iter)
        .fit(&dataset)
        .map_err(|e| anyhow::anyhow!("K-Means failed: {e}"))?;
    Ok(model.predict(&dataset).iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::pcg;

    #[test]
    fn separates_two_groups_reproducibly() {
        let mut values = Vec::new();
        for i in 0..20 {
            let offset = if i < 10 { 0.0 } else { 10.0 };
            values.extend([offset + (i % 3) as f32 * 0.1, offset - (i % 4) as f32 * 0.1]);
        }
        let config = ClusterConfig { n_clusters: 2, ..Default::default() };
        let device = Device::flex();
        let labels = kmeans(&values, 20, 2, &config, &device).unwrap();
        assert!(labels[..10].iter().all(|&l| l == labels[0]));
        assert!(labels[10..].iter().all(|&l| l == labels[10]));
        assert_ne!(labels[0], labels[10]);
        assert_eq!(labels, kmeans(&values, 20, 2, &config, &device).unwrap());
    }

    /// Overlapping blobs, so that Lloyd takes many iterations and the stopping rule matters.
    fn blobs(rows: usize, dim: usize, centres: usize) -> Vec<f32> {
        let mut values = Vec::with_capacity(rows * dim);
        for row in 0..rows {
            let centre = row % centres;
            for j in 0..dim {
                let noise = (pcg((row * dim + j) as u32) % 10_000) as f32 / 10_000.0 - 0.5;
                values.push(((centre * 7 + j * 3) % 5) as f32 * 0.4 + noise * 1.5);
            }
        }
        values
    }

    #[test]
    fn device_iteration_matches_linfa_from_the_same_seed() {
        let (rows, dim) = (400, 6);
        let values = blobs(rows, dim, 5);
        let mut by_iterations = Vec::new();
        for (max_iter, seed) in [(1, 42), (2, 42), (4, 7), (300, 42), (300, 9)] {
            let config = ClusterConfig { n_clusters: 5, max_iter, seed, ..Default::default() };
            let ours = kmeans(&values, rows, dim, &config, &Device::flex()).unwrap();
            let theirs = kmeans_linfa(&values, rows, dim, &config).unwrap();
            assert_eq!(ours, theirs, "max_iter {max_iter}, seed {seed}");
            by_iterations.push(ours);
        }
        // The data is hard enough that further iterations change the assignment.
        assert_ne!(by_iterations[0], by_iterations[3]);
    }

    #[test]
    fn more_runs_never_raise_the_inertia() {
        let (rows, dim) = (300, 4);
        let values = blobs(rows, dim, 6);
        let inertia = |labels: &[usize]| -> f64 {
            let k = labels.iter().max().unwrap() + 1;
            let mut sums = vec![0f64; k * dim];
            let mut counts = vec![0f64; k];
            for (row, &l) in labels.iter().enumerate() {
                counts[l] += 1.0;
                for j in 0..dim {
                    sums[l * dim + j] += values[row * dim + j] as f64;
                }
            }
            (0..rows)
                .map(|row| (0..dim).map(|j| (values[row * dim + j] as f64 - sums[labels[row] * dim + j] / counts[labels[row]]).powi(2)).sum::<f64>())
                .sum()
        };
        let one = ClusterConfig { n_clusters: 6, n_runs: 1, ..Default::default() };
        let five = ClusterConfig { n_runs: 5, ..one.clone() };
        let device = Device::flex();
        let single = inertia(&kmeans(&values, rows, dim, &one, &device).unwrap());
        let best = inertia(&kmeans(&values, rows, dim, &five, &device).unwrap());
        assert!(best <= single + 1e-9, "{best} > {single}");
    }
}
