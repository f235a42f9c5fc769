//! The 2-D map of a collection: UMAP over the cosine kNN graph, with umap-rs building the fuzzy
//! graph and curve parameters and our own seeded optimiser ([`layout`]) laying it out from a PCA
//! start ([`pca`]).

pub mod cluster;

pub(crate) mod layout;
pub(crate) mod layout_kernel;
pub(crate) mod pca;
pub mod pipeline;

use anyhow::{Result, bail};
use burn::tensor::Device;
use umap_rs::{GraphParams, LearnedManifold, ManifoldParams, Umap, UmapConfig};

use crate::compute::features::Features;
use crate::config::MapConfig;
use crate::neighbours::Neighbours;
use crate::progress::Progress;
use layout::{Edges, LayoutParams};

/// umap-rs's fuzzy graph over the kNN graph `with_self` (each item's neighbours including
/// itself, at least `n_neighbors` wide; it is narrowed to that, and to fewer than the items).
pub(crate) fn fuzzy_graph(with_self: &Neighbours, config: &MapConfig, progress: Progress) -> Result<LearnedManifold> {
    let n = with_self.len();
    if n < 3 {
        bail!("a map needs at least 3 items, got {n}");
    }
    // umap-rs needs more items than neighbours (it panics otherwise).
    let k = config.n_neighbors.min(with_self.k).min(n - 1);
    if k < config.n_neighbors && progress.is_shown() {
        log::info!("note: map.n_neighbors {} reduced to {k} for {n} items", config.n_neighbors);
    }
    // The neighbours' indices are read in place when umap-rs takes all of them (a million items'
    // are 60 MB); their distances are computed.
    let narrowed = (k < with_self.k).then(|| ndarray::Array2::from_shape_fn((n, k), |(i, j)| with_self.row(i).0[j]));
    let knn_indices = match &narrowed {
        Some(narrowed) => narrowed.view(),
        None => ndarray::ArrayView2::from_shape((n, k), with_self.indices.as_slice())?,
    };
    let knn_dists = ndarray::Array2::from_shape_fn((n, k), |(i, j)| (1.0 - with_self.row(i).1[j]).max(0.0));
    let no_data = ndarray::Array2::<f32>::zeros((n, 0));
    Ok(Umap::new(umap_config(config, k)).learn_manifold(no_data.view(), knn_indices, knn_dists.view()))
}

/// umap-rs's settings for our config with `k` neighbours.
pub(crate) fn umap_config(config: &MapConfig, k: usize) -> UmapConfig {
    UmapConfig {
        n_components: 2,
        manifold: ManifoldParams { min_dist: config.min_dist, spread: config.spread, ..Default::default() },
        graph: GraphParams { n_neighbors: k, ..Default::default() },
        ..Default::default()
    }
}

/// The fuzzy graph as the layout samples it: its edges of `n` items' layout
/// ([`Edges::sampled`]) and its curve's (a, b).
pub(crate) struct LayoutGraph {
    edges: Edges,
    curve: (f32, f32),
}

impl LayoutGraph {
    pub(crate) fn new(manifold: &LearnedManifold, config: &MapConfig, n: usize) -> LayoutGraph {
        let graph = manifold.graph();
        let entries = || {
            graph.outer_iterator().enumerate().flat_map(|(row, vector)| {
                let (columns, weights) = vector.into_raw_storage();
                columns.iter().zip(weights).map(move |(&column, &weight)| (row as u32, column, weight))
            })
        };
        LayoutGraph { edges: Edges::sampled(entries, n, config.epochs_for(n)), curve: manifold.curve_params() }
    }
}

/// Lays the fuzzy graph out in 2-D from `initial` with our seeded optimiser ([`lay_out_graph`]).
pub(crate) fn lay_out(
    manifold: &LearnedManifold,
    initial: Vec<[f32; 2]>,
    config: &MapConfig,
    device: &Device,
    progress: Progress,
) -> Result<Vec<[f32; 2]>> {
    let graph = LayoutGraph::new(manifold, config, initial.len());
    lay_out_graph(&graph, initial, config, device, progress)
}

/// Lays a [`LayoutGraph`] out in 2-D from `initial` with our seeded optimiser.
/// On a wgpu device every edge of an epoch runs in parallel (not bit-for-bit reproducible); on
/// the CPU the edges run in order and a seed reproduces the map exactly, unless `map.parallel`
/// makes them run lock-free on every thread (by default from
/// [`crate::config::map::LOCK_FREE_FROM`] items).
pub(crate) fn lay_out_graph(
    graph: &LayoutGraph,
    initial: Vec<[f32; 2]>,
    config: &MapConfig,
    device: &Device,
    progress: Progress,
) -> Result<Vec<[f32; 2]>> {
    let (edges, (a, b), n) = (&graph.edges, graph.curve, initial.len());
    let epochs = config.epochs_for(n);
    let params = LayoutParams {
        a,
        b,
        repulsion_strength: config.repulsion_strength,
        learning_rate: config.learning_rate,
        negative_sample_rate: config.negative_sample_rate,
        epochs,
        seed: config.seed,
    };
    let mut embedding = initial;
    layout::normalise_initial(&mut embedding);
    let bar = progress.bar(epochs as u64, "umap");
    match layout_kernel::optimise(&mut embedding, edges, &params, device, |_| bar.inc(1)) {
        Some(result) => result?,
        None => layout::optimise(&mut embedding, edges, &params, config.parallel.lock_free(n), |_| bar.inc(1)),
    }
    bar.finish_and_clear();
    if embedding.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
        bail!(
            "the map has non-finite coordinates: check `map.spread`, `map.min_dist`, `map.learning_rate` and \
             `map.repulsion_strength` (or the features are degenerate)"
        );
    }
    Ok(embedding)
}

/// Trustworthiness of a 2-D layout against the features (scikit-learn's definition, Euclidean
/// in both spaces): 1 when every point's `k` nearest on the map are also near in feature space.
pub fn trustworthiness(features: &Features, map: &[[f32; 2]], k: usize) -> f32 {
    let n = features.rows;
    let feature_dist =
        |i: usize, j: usize| -> f32 { features.row(i).iter().zip(features.row(j)).map(|(a, b)| (a - b).powi(2)).sum() };
    let map_dist = |i: usize, j: usize| -> f32 { (map[i][0] - map[j][0]).powi(2) + (map[i][1] - map[j][1]).powi(2) };
    let mut penalty = 0.0f64;
    for i in 0..n {
        let mut by_feature: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        by_feature.sort_by(|&x, &y| feature_dist(i, x).total_cmp(&feature_dist(i, y)));
        let mut rank = vec![0usize; n];
        for (r, &j) in by_feature.iter().enumerate() {
            rank[j] = r + 1;
        }
        let mut by_map: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        by_map.sort_by(|&x, &y| map_dist(i, x).total_cmp(&map_dist(i, y)));
        for &j in &by_map[..k] {
            if rank[j] > k {
                penalty += (rank[j] - k) as f64;
            }
        }
    }
    let (n, k) = (n as f64, k as f64);
    (1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty) as f32
}
