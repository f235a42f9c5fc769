//! `bench map` times the post-encoding stages on a finished run's features (neighbours, PCA,
//! fuzzy graph, layout, K-Means) and lays the same graph out a second time with umap-rs 0.4.5's
//! own optimiser (same start, same epochs) as the baseline for ours; K-Means is also run as
//! linfa's own CPU fit from the same seed, the baseline for hebb's device iteration.
//!

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;

use super::timed;
use crate::compute::device::{ComputeDevice, is_wgpu};
use crate::compute::features::Features;
use crate::compute::memory;
use crate::config::TOP_K;
use crate::config::{ClusterConfig, ColorMode, DataConfig, EncodeConfig, MapConfig};
use crate::data::{ImageSet, Item};
use crate::map::pipeline::{self, Layout, MapRequest, Timings};
use crate::map::{self, cluster};
use crate::neighbours;
use crate::progress::Progress;
use crate::render::MapData;
use crate::render::html::TILES_FOLDER;
use crate::render::{self, browser, canvas};
use crate::run::reader::load_run_images;
use crate::run::{MAP_HTML_FILE, Run, RunFolder, check_replaceable};

/// Post-encoding benchmark input: features, the settings of the stages, and where the images
/// the renders paste come from.
pub(crate) struct MapInput {
    pub features: Features,
    pub config: EncodeConfig,
    pub images: RenderImages,
    /// Where the features came from, for the table's title.
    pub source: String,
}

/// The images the renders paste, loaded or made only when the renders run: the timed stages
/// never read them, so they are not in memory when the stages' peak is taken.
pub(crate) enum RenderImages {
    /// A finished run's data set at the side the pictures need ([`render::pictures_data`]), loaded
    /// again if it still holds the run's items.
    Run { data: Box<DataConfig>, items: Vec<Item> },
    /// A 16 x 16 tile per synthetic item, coloured by its cluster.
    Synthetic { rows: usize },
}

impl RenderImages {
    /// The images, or `None` (with a note) when a run's data set no longer loads.
    fn load(&self) -> Result<Option<ImageSet>> {
        match self {
            RenderImages::Run { data, items } => match load_run_images(data, items, Progress::Hidden) {
                Ok(images) => Ok(Some(images)),
                Err(e) => {
                    log::info!("note: renders are not timed: {e:#}");
                    Ok(None)
                }
            },
            RenderImages::Synthetic { rows } => {
                use rayon::prelude::*;
                let plane = 16 * 16;
                let mut pixels = vec![0u8; rows * 4 * plane];
                pixels.par_chunks_mut(4 * plane).enumerate().for_each(|(row, tile)| {
                    let [r, g, b] = render::group_colour(row % SYNTHETIC_CENTRES);
                    tile.chunks_mut(plane).zip([r, g, b, 255]).for_each(|(channel, value)| channel.fill(value));
                });
                let items = (0..*rows)
                    .map(|row| Item {
                        source: format!("synthetic#{row}"),
                        label: Some(format!("centre {}", row % SYNTHETIC_CENTRES)),
                        name: None,
                    })
                    .collect();
                Ok(Some(ImageSet::from_pixels(16, ColorMode::Rgba, items, pixels, Vec::new())?))
            }
        }
    }
}

/// Clusters of the synthetic features.
const SYNTHETIC_CENTRES: usize = 50;

impl MapInput {
    /// A finished run's features and config; its images when the renders run.
    pub(crate) fn from_run(run: Run) -> MapInput {
        let data = render::pictures_data(&run.config.data, run.items.len(), &run.config.render);
        let images = RenderImages::Run { data: Box::new(data), items: run.items };
        MapInput { source: run.dir.display().to_string(), features: run.features, config: run.config, images }
    }

    /// `rows` unit-norm features of `dim` values in [`SYNTHETIC_CENTRES`] seeded clusters, with
    /// 16 x 16 tiles coloured by cluster as their images, under the embedded default's settings.
    /// Like real image features, each cluster has a low intrinsic dimension: an item is its
    /// cluster's centre plus a point of an 8-dimensional patch (seeded latent coordinates times
    /// the cluster's own seeded basis) plus a little independent noise in every dimension, so
    /// that an item's nearest neighbours are the items nearest in the latent patch. (With only
    /// independent noise around the centres, every item of a cluster would be about as far as
    /// every other, and which 15 are "nearest" would be arbitrary.)
    pub(crate) fn synthetic(rows: usize, dim: usize, seed: u64) -> Result<MapInput> {
        use crate::compute::hash::pcg3;
        use rayon::prelude::*;
        // The features, and the copies the map stage makes of them at most.
        memory::check("--synthetic and --dim", 3.0 * rows as f64 * dim as f64 * 4.0)?;
        let latent = 8;
        let seed = seed as u32;
        let uniform = |a: usize, b: usize, c: u32| pcg3(seed ^ c, a as u32, b as u32) as f32 / u32::MAX as f32 - 0.5;
        // Each cluster's basis, `latent x dim`, one after another.
        let bases: Vec<f32> =
            (0..SYNTHETIC_CENTRES * latent).flat_map(|axis| (0..dim).map(move |j| uniform(axis, j, 3))).collect();
        let mut values = vec![0f32; rows * dim];
        values.par_chunks_mut(dim).enumerate().for_each(|(row, out)| {
            let centre = row % SYNTHETIC_CENTRES;
            for (j, v) in out.iter_mut().enumerate() {
                *v = uniform(centre, j, 1) + 0.05 * uniform(row, j, 4);
            }
            for l in 0..latent {
                let z = uniform(row, l, 2);
                let axis = &bases[(centre * latent + l) * dim..][..dim];
                out.iter_mut().zip(axis).for_each(|(v, a)| *v += z * a);
            }
            let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            out.iter_mut().for_each(|v| *v /= norm);
        });
        let config = EncodeConfig::load(None)?;
        let features = Features { rows, dim, values };
        let images = RenderImages::Synthetic { rows };
        Ok(MapInput { features, config, images, source: format!("synthetic data (seed {seed})") })
    }
}

/// Runs the post-encoding benchmark and returns the printed table.
/// The renders go to a temporary folder that is removed, or into `keep_renders`.
pub(crate) fn run(input: &MapInput, device: &ComputeDevice, keep_renders: Option<&Path>) -> Result<String> {
    if let Some(path) = keep_renders {
        check_replaceable(path).context("--keep-renders")?;
    }
    let features = &input.features;
    let config = &input.config;
    let dev = &device.device;
    let request =
        MapRequest { features, map: &config.map, clusters: &config.clusters, device: dev, progress: Progress::Hidden };
    let output = pipeline::run(&request)?;
    // Read before the baselines, which hold their own copies.
    let peak = memory::peak_resident();
    let Timings { neighbours: knn_s, pca: pca_s, graph: graph_s, layout: ours_s, kmeans: kmeans_s } = output.timings;
    let width = output.with_self.k;
    let Layout { initial, coords } = output.layout;
    // The fuzzy graph again (the stage drops it once the layout has its edges), for the
    // baselines' layouts.
    let manifold = map::fuzzy_graph(&output.with_self, &config.map, Progress::Hidden)?;
    let ours_clusters = output.clusters;
    let epochs = config.map.epochs_for(features.rows);
    // On the CPU, the other layout mode too: edges in order (reproducible) or lock-free threads.
    let other_mode =
        MapConfig { parallel: (!config.map.parallel.lock_free(features.rows)).into(), ..config.map.clone() };
    let other_mode_s = if is_wgpu(dev) {
        None
    } else {
        Some(timed(|| map::lay_out(&manifold, initial.clone(), &other_mode, dev, Progress::Hidden))?.1)
    };
    let (_, theirs_s) = timed(|| {
        let start = ndarray::Array2::from_shape_vec((initial.len(), 2), initial.iter().flatten().copied().collect())?;
        let k = config.map.n_neighbors.min(width).min(features.rows - 1);
        let mut optimiser = umap_rs::Optimizer::new(
            manifold.clone(),
            start,
            epochs,
            &map::umap_config(&config.map, k),
            umap_rs::MetricType::Euclidean,
        );
        optimiser.step_epochs(epochs, &umap_rs::EuclideanMetric);
        Ok(())
    })?;
    let one_run = ClusterConfig { n_runs: 1, ..config.clusters.clone() };
    let (linfa_clusters, linfa_s) =
        timed(|| cluster::kmeans_linfa(&features.values, features.rows, features.dim, &one_run, None))?;
    // The twin: linfa from the start of hebb's full-dimensional iteration. Cluster numbers
    // correspond, so agreement is a plain match rate.
    let start = &output.cluster_start;
    let twin = cluster::kmeans_linfa(&features.values, features.rows, features.dim, &one_run, Some(start))?;
    let agreement = ours_clusters.iter().zip(&twin).filter(|(a, b)| a == b).count() as f64 / features.rows as f64;
    let inertia_ratio = cluster::inertia(&features.values, features.dim, &ours_clusters)
        / cluster::inertia(&features.values, features.dim, &linfa_clusters);
    // The grid layout's assignment of every item to its own cell, on its own (it is part of the renders too).
    let (columns, rows) = canvas::grid_shape(features.rows);
    let (_, grid_s) = timed(|| Ok(canvas::grid_cells(&coords, columns, rows)))?;
    let mut page = None;
    let images = input.images.load()?;
    let render_s = match &images {
        Some(images) => {
            // Rendered into a run folder that is committed only to keep the renders: dropping
            // it removes the files.
            let folder = RunFolder::create(keep_renders.unwrap_or(&std::env::temp_dir().join("hebb-bench-map")))?;
            let neighbours = neighbours::top_neighbours(&output.with_self, TOP_K);
            let title = &input.source;
            let (_, seconds) = timed(|| {
                let map = MapData { images, coords: &coords, clusters: &ours_clusters, neighbours: &neighbours };
                render::save_map_pictures(&folder, title, &map, &config.render, &|| {})
            })?;
            if config.render.html {
                page = Some(page_figures(&folder.path(MAP_HTML_FILE), &folder.path(TILES_FOLDER))?);
            }
            if keep_renders.is_some() {
                log::info!("kept the renders in {}", folder.commit()?.display());
            }
            Some(seconds)
        }
        None => None,
    };
    let mut table = format!(
        "bench map: {} x {} features from {}, on {}\n",
        features.rows, features.dim, input.source, device.description
    );
    let approximate = neighbours::is_approximate(config.map.neighbours, features.rows, features.dim, dev);
    let search = if approximate { "NN-descent, re-ranked exactly" } else { "exact" };
    let mut stages = vec![
        (format!("neighbours ({search}, cosine top-{width})"), knn_s),
        ("PCA start".to_string(), pca_s),
        ("fuzzy graph (umap-rs)".to_string(), graph_s),
        (format!("layout, hebb ({epochs} epochs{})", layout_mode(&config.map, features.rows, dev)), ours_s),
        (format!("layout, umap-rs 0.4.5 optimiser ({epochs} epochs, baseline)"), theirs_s),
        (
            format!(
                "K-Means, hebb on the device (k = {}, {} run(s))",
                config.clusters.n_clusters, config.clusters.n_runs
            ),
            kmeans_s,
        ),
        ("K-Means, linfa's own fit and k-means++ (1 run, baseline)".to_string(), linfa_s),
    ];
    if let Some(seconds) = other_mode_s {
        stages.insert(
            4,
            (format!("layout, hebb ({epochs} epochs{})", layout_mode(&other_mode, features.rows, dev)), seconds),
        );
    }
    if let Some(seconds) = render_s {
        stages.push(("renders (canvas, clusters, scatter charts, map.html)".to_string(), seconds));
    }
    stages.push((format!("grid layout: {} items into {columns} x {rows} cells", features.rows), grid_s));
    let check = if approximate { Some(recall_against_exact(features, &output.with_self, dev)?) } else { None };
    if let Some(check) = &check {
        stages.insert(1, (format!("  exact search for {} sampled items", check.queries), check.seconds));
        let all_s = check.seconds * features.rows as f64 / check.queries as f64;
        stages.insert(2, ("  exact search for all items (scaled from the sample)".to_string(), all_s));
    }
    for (stage, seconds) in stages {
        table.push_str(&format!("{stage:<60} {seconds:>10.2} s\n"));
    }
    if let Some(check) = &check {
        table.push_str(&format!(
            "{:<60} {:>10.4}\n",
            format!("recall@{width} of NN-descent against the exact search ({} items)", check.queries),
            check.recall
        ));
    }
    table.push_str(&format!("{:<60} {:>10.2} x\n", "layout time, hebb / umap-rs", ours_s / theirs_s));
    table.push_str(&format!("{:<60} {:>10.3} x\n", "K-Means time, hebb / linfa", kmeans_s / linfa_s));
    // Lower is better: above 1, linfa's own fit found tighter clusters than hebb's.
    table.push_str(&format!("{:<60} {:>10.4} x\n", "K-Means inertia, hebb / linfa's own fit", inertia_ratio));
    let runs = if config.clusters.n_runs == 1 {
        String::new()
    } else {
        format!(" (hebb: best of {} runs)", config.clusters.n_runs)
    };
    table.push_str(&format!(
        "{:<60} {:>10.2} %\n",
        format!("items in the same cluster as linfa from hebb's start{runs}"),
        agreement * 100.0
    ));
    if let Some(peak) = peak {
        let ratio = peak as f64 / (features.values.len() * size_of::<f32>()) as f64;
        table.push_str(&format!(
            "{:<60} {:>10} ({ratio:.2} x the features)\n",
            "peak resident memory up to the end of hebb's stages",
            memory::human(peak as f64)
        ));
    }
    if let Some(page) = &page {
        table.push_str(page);
    }
    let total = knn_s + pca_s + graph_s + ours_s + kmeans_s + render_s.unwrap_or(0.0);
    let with_renders = if render_s.is_some() { "with" } else { "without" };
    table.push_str(&format!(
        "{:<60} {:>10.2} s\n",
        format!("post-encoding total (hebb, {with_renders} renders)"),
        total
    ));
    Ok(table)
}

/// Items whose exact neighbours check an approximate search.
const RECALL_QUERIES: usize = 1000;

/// An approximate search checked against the exact one on a sample of items.
struct RecallCheck {
    queries: usize,
    /// Mean share of each sampled item's exact top-k that the approximate search found.
    recall: f64,
    /// The exact search's time for the sampled items.
    seconds: f64,
}

/// Checks `found` (every item's top k, itself included) against the exact search for
/// [`RECALL_QUERIES`] items spread evenly over the set.
fn recall_against_exact(features: &Features, found: &neighbours::Neighbours, device: &Device) -> Result<RecallCheck> {
    let queries: Vec<usize> = {
        let count = RECALL_QUERIES.min(features.rows);
        (0..count).map(|i| i * features.rows / count).collect()
    };
    let values: Vec<f32> = queries.iter().flat_map(|&q| features.row(q).iter().copied()).collect();
    let (exact, seconds) = timed(|| neighbours::exact::search(&values, features, found.k, device, Progress::Hidden))?;
    let mut hits = 0;
    for (row, &q) in queries.iter().enumerate() {
        let (want, _) = exact.row(row);
        let (got, _) = found.row(q);
        hits += want.iter().filter(|id| got.contains(id)).count();
    }
    Ok(RecallCheck { queries: queries.len(), recall: hits as f64 / (queries.len() * found.k) as f64, seconds })
}

/// How the layout runs on `device`, for a row name.
fn layout_mode(config: &MapConfig, items: usize, device: &Device) -> &'static str {
    match (is_wgpu(device), config.parallel.lock_free(items)) {
        (true, _) => "",
        (false, false) => ", CPU, edges in order",
        (false, true) => ", CPU, lock-free threads",
    }
}

/// The map page's weight, and, when Chromium is on the PATH, its self-test in headless Chromium
/// (software WebGL): the load time (navigation to ready), the self-test's time, whether every
/// check passed, and the median frame time over the whole map and at the closest zoom.
fn page_figures(page: &Path, tiles: &Path) -> Result<String> {
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let tile_bytes: u64 =
        std::fs::read_dir(tiles).map_or(0, |entries| entries.flatten().map(|e| size(&e.path())).sum());
    let mut lines = format!(
        "{:<60} {:>10}\n",
        "map.html, and its tiles in map/",
        format!("{} + {}", memory::human(size(page) as f64), memory::human(tile_bytes as f64))
    );
    let Some(browser) = browser::chromium() else {
        lines.push_str("map.html self-test: not run (chromium is not on the PATH)\n");
        return Ok(lines);
    };
    let profile = std::env::temp_dir().join(format!("hebb-chromium-{}", std::process::id()));
    let report = browser::self_test(&browser, &profile, page, "&frames=1");
    let _ = std::fs::remove_dir_all(&profile);
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            lines.push_str(&format!("map.html self-test: did not run ({e:#})\n"));
            return Ok(lines);
        }
    };
    let failed: Vec<&str> = report
        .as_object()
        .into_iter()
        .flatten()
        // `tiled` says how the page loads, not whether a check passed.
        .filter(|(key, value)| *value == false && key.as_str() != "tiled")
        .map(|(key, _)| key.as_str())
        .collect();
    let errors = report["errors"].as_array().map_or(0, Vec::len);
    let seconds = |key: &str| report[key].as_f64().unwrap_or(f64::NAN) / 1000.0;
    lines.push_str(&format!(
        "{:<60} {:>10.2} s\n",
        "map.html load in headless Chromium (to ready)",
        seconds("load_ms")
    ));
    lines.push_str(&format!(
        "{:<60} {:>10.2} s\n",
        format!(
            "map.html self-test ({} items, {})",
            report["count"],
            if failed.is_empty() && errors == 0 {
                "every check passed".to_string()
            } else {
                format!("failed: {failed:?}, {errors} console error(s)")
            }
        ),
        seconds("selftest_ms")
    ));
    let frame = |key: &str| report["frame_ms"][key].as_f64().unwrap_or(f64::NAN);
    lines.push_str(&format!(
        "{:<60} {:>10}\n",
        "map.html frame, whole map / closest zoom (software WebGL)",
        format!("{:.1} / {:.1} ms", frame("whole"), frame("closest"))
    ));
    Ok(lines)
}
