//! The map stage in one call, as `encode`, `eval` and `bench` all run it: the cosine neighbours
//! of every item, the PCA start, K-Means on the features, UMAP's fuzzy graph and our layout
//! ([`run`]); or the neighbours and K-Means alone, without a map ([`run_unmapped`]). Every step
//! is timed.

use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;

use super::cluster;
use super::{LayoutGraph, fuzzy_graph, lay_out_graph, pca};
use crate::compute::features::Features;
use crate::compute::memory;
use crate::config::{ClusterConfig, MapConfig, TOP_K};
use crate::neighbours::{self, Neighbours};
use crate::progress::Progress;

/// Neighbours searched per item (itself included): UMAP's `n_neighbors`, and at least enough
/// for the [`TOP_K`] others, never more than the items.
pub(crate) fn search_width(config: &MapConfig, rows: usize) -> usize {
    config.n_neighbors.max(TOP_K + 1).min(rows)
}

/// What the map stage runs on, and how.
pub struct MapRequest<'a> {
    pub features: &'a Features,
    pub map: &'a MapConfig,
    pub clusters: &'a ClusterConfig,
    pub device: &'a Device,
    pub progress: Progress,
}

/// The 2-D map and where it started. (UMAP's fuzzy graph is dropped once the layout has its
/// edges: [`crate::map::fuzzy_graph`] makes it again from the neighbours.)
pub struct Layout {
    /// PCA's start positions.
    pub initial: Vec<[f32; 2]>,
    /// The laid-out map, one position per item.
    pub coords: Vec<[f32; 2]>,
}

/// Seconds each step of the stage took (0 for a step that did not run).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub neighbours: f64,
    pub pca: f64,
    pub graph: f64,
    pub layout: f64,
    pub kmeans: f64,
}

impl Timings {
    /// The map's own steps: the PCA start, the graph and the layout.
    pub(crate) fn umap(&self) -> f64 {
        self.pca + self.graph + self.layout
    }
}

/// Everything the map stage computes.
pub struct MapOutput {
    /// Each item's [`search_width`] nearest neighbours, itself first.
    pub with_self: Neighbours,
    pub layout: Layout,
    /// K-Means cluster of every item, on the features.
    pub clusters: Vec<usize>,
    /// The centroids K-Means' full-dimensional iteration started from (`k x dim`).
    pub cluster_start: Vec<f32>,
    pub timings: Timings,
}

/// The neighbours and clusters of every item, without a map.
pub(crate) struct Unmapped {
    /// Each item's [`search_width`] nearest neighbours, itself first.
    pub with_self: Neighbours,
    /// K-Means cluster of every item, on the features.
    pub clusters: Vec<usize>,
}

/// `step()`, with its seconds added to `seconds`.
fn timed<T>(seconds: &mut f64, step: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    let result = step();
    *seconds += started.elapsed().as_secs_f64();
    result
}

/// Runs the whole map stage: neighbours, the map, clusters. K-Means runs before the graph and
/// the layout, so that NN-descent's reduced copy, which both the PCA start and K-Means' start
/// are read from, is freed before them.
pub fn run(request: &MapRequest) -> Result<MapOutput> {
    let MapRequest { features, map, device, progress, .. } = *request;
    let mut timings = Timings::default();
    let (with_self, reduced) = timed(&mut timings.neighbours, || nearest(request))?;
    // NN-descent's reduced copy spans axes near the top principal ones: its first two principal
    // components are the features' own, for a fraction of the passes.
    let initial =
        timed(&mut timings.pca, || pca::principal_components(reduced.as_ref().unwrap_or(features), device, progress))?;
    let fit = timed(&mut timings.kmeans, || clusters(request, reduced.as_ref()))?;
    drop(reduced);
    // Only the layout's edges are kept through the layout, not the graph they come from.
    let graph = timed(&mut timings.graph, || {
        let manifold = fuzzy_graph(&with_self, map, progress)?;
        Ok(LayoutGraph::new(&manifold, map, features.rows))
    })?;
    memory::release_freed();
    let coords = timed(&mut timings.layout, || lay_out_graph(&graph, initial.clone(), map, device, progress))?;
    let layout = Layout { initial, coords };
    Ok(MapOutput { with_self, layout, clusters: fit.labels, cluster_start: fit.start, timings })
}

/// Runs the stage without the map: neighbours and clusters.
pub(crate) fn run_unmapped(request: &MapRequest) -> Result<Unmapped> {
    let (with_self, reduced) = nearest(request)?;
    let clusters = clusters(request, reduced.as_ref())?.labels;
    Ok(Unmapped { with_self, clusters })
}

/// Every item's [`search_width`] nearest neighbours, and NN-descent's reduced copy when it searched.
fn nearest(request: &MapRequest) -> Result<(Neighbours, Option<Features>)> {
    let MapRequest { features, map, device, progress, .. } = *request;
    neighbours::search_all_for_map(features, search_width(map, features.rows), map, device, progress)
}

/// K-Means on the features, started from NN-descent's reduced copy when there is one, with a
/// progress bar.
fn clusters(request: &MapRequest, reduced: Option<&Features>) -> Result<cluster::KmeansFit> {
    let MapRequest { features, clusters, device, progress, .. } = *request;
    let bar = progress.bar(cluster::kmeans_work(clusters, reduced.is_some()), "k-means");
    let (values, rows, dim) = (&features.values, features.rows, features.dim);
    let found = cluster::kmeans_reporting(values, rows, dim, reduced, clusters, device, &|done| bar.inc(done))?;
    bar.finish_and_clear();
    Ok(found)
}
