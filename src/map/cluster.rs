//! K-Means on the full-dimensional features (as the seed does, not on the 2-D map), on the run's
//! device.
//!
//! The algorithm is linfa-clustering's, and linfa is its reference: Lloyd's iteration in linfa's
//! "m_k-means" form (the old centroid counts as one more member of its cluster), linfa's stopping
//! rule (the Frobenius norm of the centroid change below 1e-4, or `max_iter` iterations) and tie
//! rule (the lower cluster index), from a seeded k-means++ start computed on the device, one
//! pass over the points per centre. (linfa's own k-means++ recomputes the distances to every
//! centre chosen so far in each round: k²/2 passes, which at 100,000 x 4,608 items costs more
//! than all the rest.) Squared distances are `|x|² - 2x·c + |c|²` with `x·c` from a matrix
//! product. On wgpu each iteration is tensor ops (centroid sums as `onehotᵀ X`); on the CPU it is
//! Lloyd's iteration with Hamerly's bounds (`HostPoints::lloyd`): the same assignments, but a row
//! is read again only when its bounds cannot settle its cluster. For large sets the map stage
//! hands over NN-descent's reduced copy, and each run's start is K-Means on that copy, lifted to
//! the full dimension as its clusters' means ([`kmeans_reporting`]). The reference is linfa's
//! own fit from the same start; they agree up to float rounding (a distance from a matrix product
//! can break a near-tie the other way than linfa's direct sum; `hebb bench map` reports the share
//! of items that agree).
//!
//! linfa speaks ndarray 0.16 while the rest of hebb speaks 0.17: the conversion happens here
//! and nowhere else.

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Int, Tensor, TensorData};
use linfa::DatasetBase;
use linfa::prelude::Fit;
use linfa_clustering::KMeans;
use ndarray016::ArrayView2;
use rand::Rng;
use rand_xoshiro06::rand_core::SeedableRng;
use rayon::prelude::*;

use crate::compute::device::{is_wgpu, read_f32};
use crate::compute::features::Features;
use crate::compute::linalg::{dot_f32 as dot, squared_distance};
use crate::compute::matmul::{self, View};
use crate::compute::rng::seeded;
use crate::config::ClusterConfig;

/// linfa's default convergence tolerance on the centroid change.
const TOLERANCE: f32 = 1e-4;

/// A cluster index for each of the `rows` rows of `values` (row-major, `dim` wide), computed on
/// `device`. With fewer rows than clusters asked for, the count is reduced to the row count.
/// With `n_runs` > 1, run r starts from seed `seed + r` and the lowest inertia wins.
pub fn kmeans(values: &[f32], rows: usize, dim: usize, config: &ClusterConfig, device: &Device) -> Result<Vec<usize>> {
    Ok(kmeans_reporting(values, rows, dim, None, config, device, &|_| {})?.labels)
}

/// Units of work [`kmeans_reporting`] reports for `config`: per run, one per k-means++ centre
/// and one per Lloyd iteration it may take, twice over with a coarse copy (a run that settles
/// early reports the rest at once, so the total is an upper bound that the end always reaches).
pub(crate) fn kmeans_work(config: &ClusterConfig, coarse: bool) -> u64 {
    let passes = if coarse { 2 } else { 1 };
    config.n_runs as u64 * (config.n_clusters as u64 + passes * config.max_iter)
}

/// The winning run of [`kmeans_reporting`].
pub(crate) struct KmeansFit {
    /// Each row's cluster.
    pub labels: Vec<usize>,
    /// The centroids its Lloyd iteration in the full dimension started from (`k x dim`).
    pub start: Vec<f32>,
}

/// [`kmeans`], calling `progress` with each finished part of [`kmeans_work`].
///
/// With `coarse`, the same rows on fewer axes (NN-descent's reduced copy), each run first
/// clusters the coarse copy (k-means++ and Lloyd's iteration to convergence, passes over a
/// thirty-sixth of the data at 4,608 dimensions) and starts the full-dimensional iteration from
/// the means of those clusters: a start near the end, from which the full iteration, whose
/// bounds then settle most rows, takes a few passes instead of dozens.
pub(crate) fn kmeans_reporting(
    values: &[f32],
    rows: usize,
    dim: usize,
    coarse: Option<&Features>,
    config: &ClusterConfig,
    device: &Device,
    progress: &dyn Fn(u64),
) -> Result<KmeansFit> {
    let k = cluster_count(config, rows)?;
    let engine = Engine::new(values, rows, dim, device)?;
    let coarse_engine = match coarse {
        Some(copy) if copy.rows == rows => Some(Engine::new(&copy.values, copy.rows, copy.dim, device)?),
        Some(copy) => bail!("K-Means' coarse copy has {} rows for {rows} points", copy.rows),
        None => None,
    };
    let mut best: Option<(Clustering, Vec<f32>)> = None;
    for run in 0..config.n_runs as u64 {
        let seed = config.seed.wrapping_add(run);
        let start = match &coarse_engine {
            None => engine.kmeans_plus_plus(k, seed)?,
            Some(coarse_engine) => {
                let coarse_start = coarse_engine.kmeans_plus_plus(k, seed)?;
                let found = coarse_engine.lloyd(coarse_start, config.max_iter, &|| progress(1))?;
                progress(config.max_iter.saturating_sub(found.iterations));
                member_means(values, dim, &found.labels, k)
            }
        };
        progress(config.n_clusters as u64);
        let clustering = engine.lloyd(start.clone(), config.max_iter, &|| progress(1))?;
        progress(config.max_iter.saturating_sub(clustering.iterations));
        if best.as_ref().is_none_or(|(b, _)| clustering.inertia < b.inertia) {
            best = Some((clustering, start));
        }
    }
    let (clustering, start) = best.expect("n_runs is at least 1");
    Ok(KmeansFit { labels: clustering.labels, start })
}

/// The mean of each cluster's rows (`k x dim`); a cluster without rows takes the first row.
fn member_means(values: &[f32], dim: usize, labels: &[usize], k: usize) -> Vec<f32> {
    let chunk_rows = labels.len().div_ceil(CPU_CHUNKS).max(256);
    let partial: Vec<(Vec<f32>, Vec<f32>)> = values
        .par_chunks(chunk_rows * dim)
        .zip(labels.par_chunks(chunk_rows))
        .map(|(block, chunk_labels)| {
            let (mut sums, mut counts) = (vec![0.0f32; k * dim], vec![0.0f32; k]);
            for (row, &label) in block.chunks(dim).zip(chunk_labels) {
                add_member(&mut sums, &mut counts, label, row);
            }
            (sums, counts)
        })
        .collect();
    let (mut sums, counts) = chunk_totals(&partial, k, dim);
    for (c, (centroid, &count)) in sums.chunks_mut(dim).zip(&counts).enumerate() {
        if count > 0.0 {
            centroid.iter_mut().for_each(|v| *v /= count);
        } else {
            log::debug!("K-Means: coarse cluster {c} has no rows; it starts on the first row");
            centroid.copy_from_slice(&values[..dim]);
        }
    }
    sums
}

/// The sum of squared distances from each row to its cluster's mean: what K-Means minimises,
/// to compare two clusterings of the same rows.
pub(crate) fn inertia(values: &[f32], dim: usize, labels: &[usize]) -> f64 {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let means = member_means(values, dim, labels, k);
    values
        .par_chunks(dim)
        .zip(labels.par_iter())
        .map(|(row, &label)| squared_distance(row, &means[label * dim..(label + 1) * dim]) as f64)
        .sum()
}

/// The seeded k-means++ start that [`kmeans`] uses for `seed` (`k x dim`, row-major).
pub fn initial_centroids(
    values: &[f32],
    rows: usize,
    dim: usize,
    config: &ClusterConfig,
    device: &Device,
) -> Result<Vec<f32>> {
    let k = cluster_count(config, rows)?;
    Engine::new(values, rows, dim, device)?.kmeans_plus_plus(k, config.seed)
}

/// Where the iterations run: tensor ops on wgpu, plain parallel loops over the host's copy on
/// the CPU (no second copy of the points, no tensor temporaries).
enum Engine<'a> {
    Device(Box<Points>, &'a [f32]),
    Cpu(HostPoints<'a>),
}

impl<'a> Engine<'a> {
    fn new(values: &'a [f32], rows: usize, dim: usize, device: &Device) -> Result<Engine<'a>> {
        if dim == 0 || values.len() != rows * dim {
            bail!("K-Means needs {rows} rows of at least one value each, got {} values of width {dim}", values.len());
        }
        Ok(if is_wgpu(device) {
            Engine::Device(Box::new(Points::upload(values, rows, dim, device)), values)
        } else {
            Engine::Cpu(HostPoints::new(values, dim))
        })
    }

    fn kmeans_plus_plus(&self, k: usize, seed: u64) -> Result<Vec<f32>> {
        match self {
            Engine::Device(points, values) => {
                let mut nearest: Option<Tensor<2>> = None;
                kmeans_plus_plus(values, points.dim, k, seed, |centre| {
                    let newest =
                        Tensor::from_data(TensorData::new(centre.to_vec(), [1, points.dim]), &points.x.device());
                    let to_newest = points.squared_distances(&newest);
                    let distances = match nearest.take() {
                        Some(so_far) => so_far.min_pair(to_newest),
                        None => to_newest,
                    };
                    nearest = Some(distances.clone());
                    read_f32(distances, "K-Means distances")
                })
            }
            Engine::Cpu(points) => {
                let mut nearest: Vec<f32> = Vec::new();
                kmeans_plus_plus(points.values, points.dim, k, seed, |centre| {
                    let to_newest = points.squared_distances(centre, 1);
                    if nearest.is_empty() {
                        nearest = to_newest;
                    } else {
                        nearest.iter_mut().zip(to_newest).for_each(|(so_far, d)| *so_far = so_far.min(d));
                    }
                    Ok(nearest.clone())
                })
            }
        }
    }

    fn lloyd(&self, start: Vec<f32>, iterations: u64, on_iteration: &dyn Fn()) -> Result<Clustering> {
        match self {
            Engine::Device(points, _) => points.lloyd(start, iterations, on_iteration),
            Engine::Cpu(points) => Ok(points.lloyd(start, iterations, on_iteration)),
        }
    }
}

/// k-means++ (Arthur and Vassilvitskii 2007), seeded: the first centre uniformly at random,
/// each next one with probability proportional to the squared distance to its nearest centre
/// so far. `add_centre` takes the newest centre and returns every point's squared distance to
/// its nearest centre so far (one pass over the points per centre).
fn kmeans_plus_plus(
    values: &[f32],
    dim: usize,
    k: usize,
    seed: u64,
    mut add_centre: impl FnMut(&[f32]) -> Result<Vec<f32>>,
) -> Result<Vec<f32>> {
    let rows = values.len() / dim;
    let mut rng = seeded(seed);
    let row = |i: usize| &values[i * dim..(i + 1) * dim];
    let mut chosen = vec![(rng.next_u64() % rows as u64) as usize];
    while chosen.len() < k {
        let weights = add_centre(row(*chosen.last().expect("one centre is chosen")))?;
        let total: f64 = weights.iter().map(|&w| w as f64).sum();
        let next = if total > 0.0 {
            // A uniform draw in [0, total) and the first point whose running sum passes it.
            let target = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut running = 0.0;
            weights.iter().position(|&w| {
                running += w as f64;
                running > target
            })
        } else {
            None
        };
        // Every point sits on a centre already: any unchosen point will do.
        let next = next.or_else(|| (0..rows).find(|i| !chosen.contains(i))).unwrap_or(0);
        chosen.push(next);
    }
    Ok(chosen.into_iter().flat_map(row).copied().collect())
}

fn cluster_count(config: &ClusterConfig, rows: usize) -> Result<usize> {
    let k = config.n_clusters.min(rows);
    if k < 1 {
        bail!("K-Means needs at least one item");
    }
    if k < config.n_clusters {
        log::warn!("clusters.n_clusters is {} but there are {rows} items; making {rows} clusters", config.n_clusters);
    }
    Ok(k)
}

fn linfa_dataset(
    values: &[f32],
    rows: usize,
    dim: usize,
) -> Result<DatasetBase<ArrayView2<'_, f32>, ndarray016::Array1<()>>> {
    let records = ArrayView2::from_shape((rows, dim), values).context("feature matrix has the wrong shape")?;
    Ok(DatasetBase::from(records))
}

/// Final assignment of one K-Means run.
struct Clustering {
    labels: Vec<usize>,
    /// Sum of squared distances to the assigned centroids.
    inertia: f64,
    /// Lloyd iterations it took.
    iterations: u64,
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
    fn lloyd(&self, start: Vec<f32>, iterations: u64, on_iteration: &dyn Fn()) -> Result<Clustering> {
        let device = self.x.device();
        let k = start.len() / self.dim;
        let mut centroids: Tensor<2> = Tensor::from_data(TensorData::new(start, [k, self.dim]), &device);
        let mut done = 0;
        while done < iterations {
            done += 1;
            on_iteration();
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
        let labels = crate::compute::device::read_indices(nearest, "K-Means labels")?;
        Ok(Clustering { labels: labels.into_iter().map(|i| i as usize).collect(), inertia, iterations: done })
    }
}

/// Most row chunks one CPU pass splits the points into (each holds its own cluster sums).
const CPU_CHUNKS: usize = 64;

/// The points on the host, with their squared norms, for the CPU engine.
struct HostPoints<'a> {
    values: &'a [f32],
    dim: usize,
    squared_norms: Vec<f32>,
    /// Rows per chunk of a pass.
    chunk_rows: usize,
}

impl<'a> HostPoints<'a> {
    fn new(values: &'a [f32], dim: usize) -> HostPoints<'a> {
        let rows = values.len() / dim;
        let squared_norms = values.par_chunks(dim).map(|row| row.iter().map(|v| v * v).sum()).collect();
        HostPoints { values, dim, squared_norms, chunk_rows: rows.div_ceil(CPU_CHUNKS).max(256) }
    }

    /// Squared distances of the rows of chunk `chunk` (`block`) to `centroids` (`k x dim`),
    /// `rows x k`, as on the device: `|x|² - 2x·c + |c|²` clamped at 0.
    fn chunk_distances(&self, chunk: usize, block: &[f32], centroids: &[f32], k: usize) -> Vec<f32> {
        let (dim, height) = (self.dim, block.len() / self.dim);
        let centroid_norms: Vec<f32> = centroids.chunks(dim).map(|c| c.iter().map(|v| v * v).sum()).collect();
        let mut distances = vec![0.0f32; height * k];
        matmul::product(
            height,
            k,
            dim,
            View::rows(block, dim),
            View::transposed(centroids, dim),
            &mut distances,
            false,
        );
        for (r, row) in distances.chunks_mut(k).enumerate() {
            let norm = self.squared_norms[chunk * self.chunk_rows + r];
            for (d, c_norm) in row.iter_mut().zip(&centroid_norms) {
                *d = (norm - 2.0 * *d + c_norm).max(0.0);
            }
        }
        distances
    }

    /// Every row's squared distance to each of the `k` centroids, `rows x k`.
    fn squared_distances(&self, centroids: &[f32], k: usize) -> Vec<f32> {
        self.values
            .par_chunks(self.chunk_rows * self.dim)
            .enumerate()
            .flat_map_iter(|(chunk, block)| self.chunk_distances(chunk, block, centroids, k))
            .collect()
    }

    /// [`Points::lloyd`] on the CPU with Hamerly's bounds (Hamerly 2010, "Making k-means even
    /// faster"): the same assignments, iteration for iteration, without reading most rows after
    /// the first iterations. Each row keeps an upper bound on the distance to its centroid and a
    /// lower bound on the distance to every other; after the centroids move by p_j, the bounds
    /// move by p_a and max p_j, and a row is looked at again only when its upper bound passes the
    /// larger of its lower bound and half its centroid's distance to the nearest other centroid.
    /// The cluster sums follow the rows that change cluster. The rows go in fixed chunks, in
    /// parallel; chunk results are added in chunk order, so the result does not depend on the
    /// thread count. The last assignment and the inertia come from one exact pass.
    fn lloyd(&self, start: Vec<f32>, iterations: u64, on_iteration: &dyn Fn()) -> Clustering {
        let (dim, k) = (self.dim, start.len() / self.dim);
        let rows = self.values.len() / dim;
        let mut centroids = start;
        let mut bounds = vec![Bounds::default(); rows];
        let (mut sums, mut counts) = self.assign_all(&centroids, k, &mut bounds);
        let mut done = 0;
        while done < iterations {
            done += 1;
            on_iteration();
            // linfa's m_k-means: the old centroid counts as one more member.
            let mut next = centroids.clone();
            next.iter_mut().zip(&sums).for_each(|(n, s)| *n += s);
            for (centroid, count) in next.chunks_mut(dim).zip(&counts) {
                centroid.iter_mut().for_each(|v| *v /= count + 1.0);
            }
            let moved: Vec<f32> = next
                .chunks(dim)
                .zip(centroids.chunks(dim))
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>())
                .collect();
            let change = moved.iter().sum::<f32>().sqrt();
            centroids = next;
            if change < TOLERANCE || done == iterations {
                break;
            }
            let moved: Vec<f32> = moved.into_iter().map(f32::sqrt).collect();
            self.reassign(&centroids, &moved, &mut bounds, &mut sums, &mut counts);
        }
        let nearest = |distances: &[f32]| -> (usize, f32) {
            distances
                .iter()
                .enumerate()
                .fold((0, f32::INFINITY), |best, (c, &d)| if d < best.1 { (c, d) } else { best })
        };
        let assigned: Vec<(usize, f32)> = self.squared_distances(&centroids, k).chunks(k).map(nearest).collect();
        Clustering {
            iterations: done,
            inertia: assigned.iter().map(|&(_, d)| d as f64).sum(),
            labels: assigned.into_iter().map(|(label, _)| label).collect(),
        }
    }

    /// The rows in this engine's chunks, in parallel: each chunk's index, its rows and their
    /// bounds.
    fn chunks_with<'b>(
        &'b self,
        bounds: &'b mut [Bounds],
    ) -> impl IndexedParallelIterator<Item = (usize, (&'b [f32], &'b mut [Bounds]))> {
        self.values.par_chunks(self.chunk_rows * self.dim).zip(bounds.par_chunks_mut(self.chunk_rows)).enumerate()
    }

    /// Every row's nearest centroid and exact bounds, and the clusters' sums and counts.
    fn assign_all(&self, centroids: &[f32], k: usize, bounds: &mut [Bounds]) -> (Vec<f32>, Vec<f32>) {
        let dim = self.dim;
        let partial: Vec<(Vec<f32>, Vec<f32>)> = self
            .chunks_with(bounds)
            .map(|(chunk, (block, chunk_bounds))| {
                let (mut sums, mut counts) = (vec![0.0f32; k * dim], vec![0.0f32; k]);
                let distances = self.chunk_distances(chunk, block, centroids, k);
                for ((row_distances, row), bound) in distances.chunks(k).zip(block.chunks(dim)).zip(chunk_bounds) {
                    *bound = Bounds::nearest_two(row_distances);
                    add_member(&mut sums, &mut counts, bound.label as usize, row);
                }
                (sums, counts)
            })
            .collect();
        chunk_totals(&partial, k, dim)
    }

    /// After the centroids moved by `moved` (each one's distance): the bounds moved with them,
    /// the rows whose bounds no longer settle their cluster measured again, and the sums and
    /// counts updated for the rows that changed cluster.
    fn reassign(&self, centroids: &[f32], moved: &[f32], bounds: &mut [Bounds], sums: &mut [f32], counts: &mut [f32]) {
        let (dim, k) = (self.dim, moved.len());
        let centroid = |c: usize| &centroids[c * dim..(c + 1) * dim];
        let centroid_norms: Vec<f32> = centroids.chunks(dim).map(|c| dot(c, c)).collect();
        // Half the distance from each centroid to its nearest other one: a row closer than that
        // to its own centroid cannot be nearer another.
        let half_gap: Vec<f32> = (0..k)
            .map(|a| {
                (0..k)
                    .filter(|&b| b != a)
                    .map(|b| squared_distance(centroid(a), centroid(b)).sqrt())
                    .fold(f32::INFINITY, f32::min)
                    / 2.0
            })
            .collect();
        // The most any other centroid moved, for each row's cluster: the largest move, or the
        // second largest for the cluster that made it.
        let (first, second) = moved.iter().enumerate().fold(((0, 0.0f32), 0.0f32), |((at, top), next), (c, &m)| {
            if m > top { ((c, m), top) } else { ((at, top), next.max(m)) }
        });
        let others_moved = |a: usize| if a == first.0 { second } else { first.1 };
        let partial: Vec<(Vec<f32>, Vec<f32>)> = self
            .chunks_with(bounds)
            .map(|(chunk, (block, chunk_bounds))| {
                let (mut sums, mut counts) = (Vec::new(), vec![0.0f32; k]);
                for (r, (row, bound)) in block.chunks(dim).zip(chunk_bounds.iter_mut()).enumerate() {
                    let a = bound.label as usize;
                    bound.upper += moved[a];
                    bound.lower -= others_moved(a);
                    let settled = bound.lower.max(half_gap[a]);
                    if bound.upper <= settled {
                        continue;
                    }
                    let norm = self.squared_norms[chunk * self.chunk_rows + r];
                    let distance_to = |c: usize| (norm - 2.0 * dot(row, centroid(c)) + centroid_norms[c]).max(0.0);
                    bound.upper = distance_to(a).sqrt();
                    if bound.upper <= settled {
                        continue;
                    }
                    let distances: Vec<f32> = (0..k).map(distance_to).collect();
                    *bound = Bounds::nearest_two(&distances);
                    let b = bound.label as usize;
                    if b != a {
                        if sums.is_empty() {
                            sums = vec![0.0f32; k * dim];
                        }
                        counts[a] -= 1.0;
                        sums[a * dim..(a + 1) * dim].iter_mut().zip(row).for_each(|(s, v)| *s -= v);
                        add_member(&mut sums, &mut counts, b, row);
                    }
                }
                (sums, counts)
            })
            .collect();
        add_chunk_totals(&partial, sums, counts);
    }
}

/// Adds `row` to the sums and the count of cluster `label`.
fn add_member(sums: &mut [f32], counts: &mut [f32], label: usize, row: &[f32]) {
    counts[label] += 1.0;
    sums[label * row.len()..(label + 1) * row.len()].iter_mut().zip(row).for_each(|(s, v)| *s += v);
}

/// The `k` clusters' sums (`k x dim`) and counts over all chunks ([`add_chunk_totals`]).
fn chunk_totals(partial: &[(Vec<f32>, Vec<f32>)], k: usize, dim: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut sums, mut counts) = (vec![0.0f32; k * dim], vec![0.0f32; k]);
    add_chunk_totals(partial, &mut sums, &mut counts);
    (sums, counts)
}

/// Adds each chunk's cluster sums and counts to `sums` and `counts`, in chunk order (an empty
/// chunk sum adds nothing).
fn add_chunk_totals(partial: &[(Vec<f32>, Vec<f32>)], sums: &mut [f32], counts: &mut [f32]) {
    for (chunk_sums, chunk_counts) in partial {
        sums.iter_mut().zip(chunk_sums).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(chunk_counts).for_each(|(a, b)| *a += b);
    }
}

/// A row's cluster and Hamerly's bounds: no more than `upper` from its centroid, no less than
/// `lower` from any other (Euclidean distances).
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    label: u32,
    upper: f32,
    lower: f32,
}

impl Bounds {
    /// From a row's squared distances to every centroid: the nearest (the lower index on a tie)
    /// and the exact distances to it and to the second nearest.
    fn nearest_two(squared: &[f32]) -> Bounds {
        let (mut best, mut first, mut second) = (0, f32::INFINITY, f32::INFINITY);
        for (c, &d) in squared.iter().enumerate() {
            if d < first {
                (best, first, second) = (c, d, first);
            } else if d < second {
                second = d;
            }
        }
        Bounds { label: best as u32, upper: first.sqrt(), lower: second.sqrt() }
    }
}

/// The reference: linfa's own fit and prediction (one run), from `start` (`k x dim`,
/// row-major) when given, else from linfa's own k-means++ with the config's seed. From
/// [`initial_centroids`] it is the CPU twin of [`kmeans`]; from its own start it is the
/// baseline `hebb bench map` times.
pub fn kmeans_linfa(
    values: &[f32],
    rows: usize,
    dim: usize,
    config: &ClusterConfig,
    start: Option<&[f32]>,
) -> Result<Vec<usize>> {
    use linfa::prelude::Predict;
    use linfa_clustering::KMeansInit;
    let k = cluster_count(config, rows)?;
    let dataset = linfa_dataset(values, rows, dim)?;
    let mut params = KMeans::params_with_rng(k, rand_xoshiro06::Xoshiro256Plus::seed_from_u64(config.seed))
        .n_runs(1)
        .max_n_iterations(config.max_iter);
    if let Some(start) = start {
        let centroids = ndarray016::Array2::from_shape_vec((k, dim), start.to_vec())
            .context("start centroids have the wrong shape")?;
        params = params.init_method(KMeansInit::Precomputed(centroids));
    }
    let model = params.fit(&dataset).map_err(|e| anyhow::anyhow!("K-Means failed: {e}"))?;
    Ok(model.predict(&dataset).iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::hash::pcg;

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

    #[test]
    fn progress_ends_at_the_announced_work() {
        let values = blobs(300, 4, 3);
        let config = ClusterConfig { n_clusters: 3, n_runs: 2, ..Default::default() };
        let coarse = Features { rows: 300, dim: 2, values: values.chunks(4).flat_map(|r| [r[0], r[1]]).collect() };
        for copy in [None, Some(&coarse)] {
            let (reported, calls) = (std::sync::atomic::AtomicU64::new(0), std::sync::atomic::AtomicU64::new(0));
            let fit = kmeans_reporting(&values, 300, 4, copy, &config, &Device::flex(), &|done| {
                reported.fetch_add(done, std::sync::atomic::Ordering::Relaxed);
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .unwrap();
            assert_eq!(reported.into_inner(), kmeans_work(&config, copy.is_some()));
            // Per run: the start, at least one Lloyd iteration, and the rest of max_iter at once.
            assert!(calls.into_inner() >= 2 * 3, "the progress moved during the runs, not only at the end");
            if copy.is_none() {
                assert_eq!(fit.labels, kmeans(&values, 300, 4, &config, &Device::flex()).unwrap());
            }
        }
    }

    #[test]
    fn a_coarse_copy_starts_the_full_iteration_from_its_clusters_means() {
        // Five overlapping blobs in 12 dimensions; the coarse copy is their first 3 coordinates,
        // enough to tell the blobs apart roughly.
        let (rows, dim) = (600, 12);
        let values = blobs(rows, dim, 5);
        let coarse = Features { rows, dim: 3, values: values.chunks(dim).flat_map(|r| r[..3].to_vec()).collect() };
        let config = ClusterConfig { n_clusters: 5, ..Default::default() };
        let device = Device::flex();
        let fit = kmeans_reporting(&values, rows, dim, Some(&coarse), &config, &device, &|_| {}).unwrap();
        // The start is the full-dimensional mean of each cluster K-Means finds on the copy alone.
        let on_copy = kmeans(&coarse.values, rows, 3, &config, &device).unwrap();
        assert_eq!(fit.start, member_means(&values, dim, &on_copy, 5));
        // And the result is Lloyd's iteration from that start: linfa from it agrees.
        let twin = kmeans_linfa(&values, rows, dim, &config, Some(&fit.start)).unwrap();
        assert_eq!(fit.labels, twin);
        // The blobs are found as well as from k-means++ in the full dimension: every blob's rows
        // mostly share one cluster.
        for blob in 0..5 {
            let mut counts = [0usize; 5];
            (blob..rows).step_by(5).for_each(|row| counts[fit.labels[row]] += 1);
            assert!(*counts.iter().max().unwrap() >= 100, "blob {blob}: {counts:?}");
        }
        // A copy of other rows is refused.
        let short = Features { rows: 10, dim: 3, values: vec![0.0; 30] };
        assert!(kmeans_reporting(&values, rows, dim, Some(&short), &config, &device, &|_| {}).is_err());
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
    fn device_iteration_matches_linfa_from_the_same_start() {
        let (rows, dim) = (400, 6);
        let values = blobs(rows, dim, 5);
        let device = Device::flex();
        let mut by_iterations = Vec::new();
        for (max_iter, seed) in [(1, 42), (2, 42), (4, 7), (300, 42), (300, 9)] {
            let config = ClusterConfig { n_clusters: 5, max_iter, seed, ..Default::default() };
            let start = initial_centroids(&values, rows, dim, &config, &device).unwrap();
            let ours = kmeans(&values, rows, dim, &config, &device).unwrap();
            let theirs = kmeans_linfa(&values, rows, dim, &config, Some(&start)).unwrap();
            assert_eq!(ours, theirs, "max_iter {max_iter}, seed {seed}");
            by_iterations.push(ours);
        }
        // The data is hard enough that further iterations change the assignment.
        assert_ne!(by_iterations[0], by_iterations[3]);
    }

    #[test]
    fn bounded_iteration_on_the_host_matches_plain_lloyd_iteration_for_iteration() {
        // Hamerly's bounds skip rows, never change an assignment: the host engine and the plain
        // tensor iteration (on flex) agree on labels, iterations and inertia from the same starts,
        // at every iteration limit. 37 dimensions: the dot product's lanes and its tail.
        let (rows, dim) = (900, 37);
        let values = blobs(rows, dim, 7);
        let device = Device::flex();
        let (host, plain) = (HostPoints::new(&values, dim), Points::upload(&values, rows, dim, &device));
        for (max_iter, seed) in [(1, 1), (3, 2), (300, 3), (300, 4), (300, 5)] {
            let config = ClusterConfig { n_clusters: 7, max_iter, seed, ..Default::default() };
            let start = initial_centroids(&values, rows, dim, &config, &device).unwrap();
            let bounded = host.lloyd(start.clone(), max_iter, &|| {});
            let lloyd = plain.lloyd(start, max_iter, &|| {}).unwrap();
            assert_eq!(bounded.labels, lloyd.labels, "max_iter {max_iter}, seed {seed}");
            assert_eq!(bounded.iterations, lloyd.iterations, "max_iter {max_iter}, seed {seed}");
            assert!((bounded.inertia - lloyd.inertia).abs() <= 1e-4 * lloyd.inertia, "seed {seed}");
            assert!(
                max_iter < 300 || lloyd.iterations > 5,
                "the bounds are tried over many iterations: {}",
                lloyd.iterations
            );
        }
    }

    #[test]
    fn kmeans_plus_plus_is_seeded_and_spreads_over_separated_groups() {
        // Four tight, far-apart groups of 25: k-means++ puts one centre in each, whatever the seed.
        let dim = 3;
        let values: Vec<f32> = (0..100)
            .flat_map(|i| {
                let group = (i % 4) as f32 * 100.0;
                [group + (i % 5) as f32 * 0.01, -group, (i % 3) as f32 * 0.01]
            })
            .collect();
        let device = Device::flex();
        for seed in [1, 2, 3] {
            let config = ClusterConfig { n_clusters: 4, seed, ..Default::default() };
            let start = initial_centroids(&values, 100, dim, &config, &device).unwrap();
            let mut groups: Vec<i32> = start.chunks(dim).map(|c| (c[0] / 100.0).round() as i32).collect();
            groups.sort();
            assert_eq!(groups, vec![0, 1, 2, 3], "seed {seed}");
            assert_eq!(start, initial_centroids(&values, 100, dim, &config, &device).unwrap());
        }
        // Identical points: the start still has k distinct rows to take.
        let same = vec![1.0f32; 10 * dim];
        let config = ClusterConfig { n_clusters: 3, ..Default::default() };
        assert_eq!(kmeans(&same, 10, dim, &config, &device).unwrap().len(), 10);
    }

    #[test]
    fn more_runs_never_raise_the_inertia() {
        let (rows, dim) = (300, 4);
        let values = blobs(rows, dim, 6);
        // The inertia by hand: rows 0 and 2 around their mean 1, row 10 alone.
        assert_eq!(inertia(&[0.0, 0.0, 2.0, 0.0, 10.0, 0.0], 2, &[0, 0, 1]), 2.0);
        let inertia = |labels: &[usize]| inertia(&values, dim, labels);
        let one = ClusterConfig { n_clusters: 6, n_runs: 1, ..Default::default() };
        let five = ClusterConfig { n_runs: 5, ..one.clone() };
        let device = Device::flex();
        let single = inertia(&kmeans(&values, rows, dim, &one, &device).unwrap());
        let best = inertia(&kmeans(&values, rows, dim, &five, &device).unwrap());
        assert!(best <= single + 1e-9, "{best} > {single}");
    }
}
