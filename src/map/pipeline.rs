//! The map stage in one call, as `encode`, `eval` and `bench` all run it: the cosine neighbours
//! of every item, then (unless skipped) the PCA start, UMAP's fuzzy graph and our layout, and
//! K-Means on the features. Every step is timed.

use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;
use umap_rs::LearnedManifold;

use super::cluster;
use super::{fuzzy_graph, lay_out, pca};
use crate::compute::features::Features;
use crate::config::{ClusterConfig, MapConfig, TOP_K};
use crate::neighbours::{self, Neighbours};
use crate::progress;

/// Neighbours searched per item (itself included): UMAP's `n_neighbors`, and at least enough
/// for the [`TOP_K`] others, never more than the items.
pub(crate) fn search_width(config: &MapConfig, rows: usize) -> usize {
    config.n_neighbors.max(TOP_K + 1).min(rows)
}

/// The 2-D map and what it was built from.
pub struct Layout {
    /// PCA's start positions.
    pub initial: Vec<[f32; 2]>,
    /// UMAP's fuzzy graph over the neighbours.
    pub manifold: LearnedManifold,
    /// The laid-out map, one position per item.
    pub coords: Vec<[f32; 2]>,
}

/// Everything the map stage computes.
pub struct MapStage {
    /// Each item's [`search_width`] nearest neighbours, itself first.
    pub with_self: Neighbours,
    /// Absent when the layout was skipped.
    pub layout: Option<Layout>,
    /// K-Means cluster of every item, on the features.
    pub clusters: Vec<usize>,
    /// (step, seconds) in order: neighbours, pca, graph, layout, kmeans.
    pub timings: Vec<(&'static str, f64)>,
}

impl MapStage {
    /// Seconds spent in the named steps.
    pub(crate) fn seconds(&self, steps: &[&str]) -> f64 {
        self.timings.iter().filter(|(step, _)| steps.contains(step)).map(|(_, s)| s).sum()
    }
}

/// Runs the map stage on `features`; the layout only when `with_layout`.
pub fn run(
    features: &Features,
    map: &MapConfig,
    clusters: &ClusterConfig,
    device: &Device,
    with_layout: bool,
    quiet: bool,
) -> Result<MapStage> {
    let mut timings = Vec::new();
    let mut timed = |step: &'static str, started: Instant| timings.push((step, started.elapsed().as_secs_f64()));
    let started = Instant::now();
    let (with_self, reduced) =
        neighbours::search_all_for_map(features, search_width(map, features.rows), map, device, quiet)?;
    timed("neighbours", started);
    let layout = if with_layout {
        let started = Instant::now();
        // NN-descent's reduced copy spans axes near the top principal ones: its first two
        // principal components are the features' own, for a fraction of the passes.
        let initial = pca::principal_components(reduced.as_ref().unwrap_or(features), device, quiet)?;
        timed("pca", started);
        let started = Instant::now();
        let manifold = fuzzy_graph(&with_self, map, quiet)?;
        timed("graph", started);
        let started = Instant::now();
        let coords = lay_out(&manifold, initial.clone(), map, device, quiet)?;
        timed("layout", started);
        Some(Layout { initial, manifold, coords })
    } else {
        None
    };
    let started = Instant::now();
    let bar = progress::bar(cluster::kmeans_work(clusters), "k-means", quiet);
    let clusters =
        cluster::kmeans_reporting(&features.values, features.rows, features.dim, clusters, device, &|done| {
            bar.inc(done)
        })?;
    bar.finish_and_clear();
    timed("kmeans", started);
    Ok(MapStage { with_self, layout, clusters, timings })
}
