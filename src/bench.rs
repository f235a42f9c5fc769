//! `hebb bench`: throughput figures printed as a table, each compared with a baseline measured
//! in the same run on the same device.
//!
//! `bench hopfield` times recall with a dense W against the low-rank Hebbian path (same
//! patterns, same probes), Storkey learning, a small capacity experiment, and one synchronous
//! sweep with a dense W against the device's own rates for reading W and for fp32 GEMM.
//!
//! `bench map` times the post-encoding stages on a finished run's features (neighbours, PCA,
//! fuzzy graph, layout, K-Means) and lays the same graph out a second time with umap-rs 0.4.5's
//! own optimiser (same start, same epochs) as the baseline for ours; K-Means is also run as
//! linfa's own CPU fit from the same seed, the baseline for hebb's device iteration.
//!
//! `bench encode` times training and extraction in images per second, and the Hebbian update
//! two ways: as the seed wrote it (one N x N outer-product matrix per channel, materialised as
//! `[C, N, N]`, then averaged) and as hebb computes it (one GEMM of the `(B·C) x N` activations
//! with themselves). The two give the same ΔW. Timing both at every layer's shape gives the
//! derived training rate with the seed's form: the measured pass plus, per step, the
//! difference.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::tensor::{Device, Distribution, Tensor};

use crate::config::{EncodeConfig, FilterMode, LateralMode};
use crate::data;
use crate::device::{ComputeDevice, is_wgpu};
use crate::encode::new_encoder;
use crate::encoder::lateral::{hebbian_delta, update_weights, update_weights_unfused};
use crate::encoder::output_side;
use crate::features;
use crate::train::{self, batch_tensor};

/// The seed's update: `einsum("bni,bnj->nij")` (per-channel outer products summed over the
/// batch), then the mean over channels, times η.
pub fn seed_literal_delta(activations: Tensor<3>, lr: f64) -> Tensor<3> {
    let per_channel = activations.swap_dims(0, 1); // [C, B, N]
    let outer = per_channel.clone().swap_dims(1, 2).matmul(per_channel); // [C, N, N]
    outer.mean_dim(0) * lr
}

/// Forces queued device work to finish by reading one value of `t`.
fn wait_for<const D: usize>(t: Tensor<D>) -> Result<()> {
    crate::device::read_f32(t.flatten::<1>(0, D - 1).slice([0..1]), "a benchmark result")
        .map(|_| ())
}

/// Seconds per call of `f`, after one warm-up call, over `repeats` calls.
fn time_per_call<const D: usize>(repeats: usize, mut f: impl FnMut() -> Tensor<D>) -> Result<f64> {
    wait_for(f())?;
    let started = Instant::now();
    let mut last = None;
    for _ in 0..repeats {
        last = Some(f());
    }
    if let Some(t) = last {
        wait_for(t)?;
    }
    Ok(started.elapsed().as_secs_f64() / repeats as f64)
}

/// The seed's sprite set (the unit of issue 2's epoch-time target at 96 px).
const SEED_SPRITES: usize = 1911;

/// Runs the encode benchmark and returns the printed table.
pub fn encode(config: &EncodeConfig, device: &ComputeDevice, images: usize) -> Result<String> {
    if images == 0 {
        bail!("--images: expected a positive number of images");
    }
    let mut set = data::load(&config.data, config.color(), true)?;
    set.truncate(images);
    let n = set.len();
    let batch = config.training.batch_size;
    let dev = &device.device;
    let mut rows = Vec::new();
    let mut shared_train_seconds = 0.0;

    for mode in [LateralMode::Shared, LateralMode::PerChannel] {
        let mut mode_config = config.clone();
        mode_config.encoder.lateral = mode;
        let mut encoder = new_encoder(&mode_config, dev);
        let order: Vec<usize> = (0..n).collect();
        // Warm-up step (kernel compilation), then one timed pass over the images.
        wait_for(encoder.train_step(
            batch_tensor(&set, &order[..batch.min(n)], dev),
            config.training.lr,
        ))?;
        let started = Instant::now();
        let mut last = None;
        for chunk in order.chunks(batch) {
            last = Some(encoder.train_step(batch_tensor(&set, chunk, dev), config.training.lr));
        }
        if let Some(t) = last {
            wait_for(t)?;
        }
        let train_seconds = started.elapsed().as_secs_f64();
        if mode == LateralMode::Shared {
            shared_train_seconds = train_seconds;
        }
        rows.push((
            format!("train, lateral = {mode:?}"),
            n as f64 / train_seconds,
            "images/s",
        ));
        rows.push((
            format!("  one epoch of {SEED_SPRITES} images at that rate"),
            SEED_SPRITES as f64 * train_seconds / n as f64,
            "s",
        ));
    }

    // SoftHebb filter learning, every layer in turn for one epoch (with the statistics passes
    // when the config standardises), then extraction with the learned filters.
    let mut filter_config = config.clone();
    filter_config.encoder.filters = FilterMode::Hebbian;
    filter_config.encoder.lateral = LateralMode::None;
    filter_config.training.filter_epochs = 1;
    let mut encoder = new_encoder(&filter_config, dev);
    let order: Vec<usize> = (0..n).collect();
    let started = Instant::now();
    train::train(
        &mut encoder,
        &set,
        &order,
        &filter_config.training,
        &filter_config.encoder,
        dev,
        true,
    )?;
    rows.push((
        "learn filters (SoftHebb), all layers".to_string(),
        n as f64 / started.elapsed().as_secs_f64(),
        "images/s",
    ));
    let started = Instant::now();
    features::extract(&encoder, &set, batch, dev, true)?;
    rows.push((
        "extract".to_string(),
        n as f64 / started.elapsed().as_secs_f64(),
        "images/s",
    ));

    let lr = config.training.lr;
    let repeats = 5;
    // Every layer's dW both ways, at its own shape: what a step would cost with the seed's form.
    // Layer 1 (the largest) is also reported on its own, with hebb's full W update.
    let mut layer_1 = None;
    let mut extra_per_step = 0.0;
    let mut side = config.data.image_size as usize;
    for &channels in &config.encoder.channels {
        side = output_side(side);
        let positions = side * side;
        let activations = random_activations([batch, channels, positions], dev);
        let seed_s = time_per_call(repeats, || seed_literal_delta(activations.clone(), lr))?;
        let ours_s = time_per_call(repeats, || {
            hebbian_delta(activations.clone(), LateralMode::Shared, lr)
        })?;
        extra_per_step += seed_s - ours_s;
        if layer_1.is_none() {
            let weights = Tensor::<3>::zeros([1, positions, positions], dev);
            let full_s = time_per_call(repeats, || {
                update_weights(
                    activations.clone(),
                    weights.clone(),
                    LateralMode::Shared,
                    lr,
                )
                .weights
            })?;
            let unfused_s = time_per_call(repeats, || {
                update_weights_unfused(
                    activations.clone(),
                    weights.clone(),
                    LateralMode::Shared,
                    lr,
                )
                .weights
            })?;
            layer_1 = Some((channels, positions, seed_s, ours_s, full_s, unfused_s));
        }
    }
    let (channels, positions, seed_seconds, ours_seconds, full_seconds, unfused_seconds) =
        layer_1.expect("the encoder has layers");
    let full_name = if is_wgpu(dev) {
        "fused WGSL kernel"
    } else {
        "fused blocked symmetric kernel"
    };
    rows.push((
        format!("layer-1 dW, seed's [C,N,N] form (C={channels}, N={positions})"),
        seed_seconds * 1e3,
        "ms/step",
    ));
    rows.push((
        "layer-1 dW, one GEMM (hebb)".to_string(),
        ours_seconds * 1e3,
        "ms/step",
    ));
    rows.push((
        "layer-1 full W update, tensor ops: GEMM, clamp, add, norm".to_string(),
        unfused_seconds * 1e3,
        "ms/step",
    ));
    rows.push((
        format!("layer-1 full W update, {full_name} (hebb)"),
        full_seconds * 1e3,
        "ms/step",
    ));
    let steps = n.div_ceil(batch) as f64;
    let seed_form_seconds = shared_train_seconds + steps * extra_per_step;
    rows.push((
        "train, shared, every layer's dW in the seed's form (derived)".to_string(),
        n as f64 / seed_form_seconds,
        "images/s",
    ));

    let mut table = format!(
        "bench encode: {n} images of {0}x{0}, batch {batch}, on {1}\n",
        set.side, device.description
    );
    for (name, value, unit) in &rows {
        table.push_str(&format!("{name:<60} {value:>12.2} {unit}\n"));
    }
    table.push_str(&format!(
        "{:<60} {:>12.2} x\n",
        "dW speed-up, seed form / one GEMM",
        seed_seconds / ours_seconds
    ));
    table.push_str(&format!(
        "{:<60} {:>12.2} x\n",
        "W update speed-up, tensor ops / fused",
        unfused_seconds / full_seconds
    ));
    table.push_str(&format!(
        "{:<60} {:>12.2} x\n",
        "training speed-up, hebb / seed's dW form",
        seed_form_seconds / shared_train_seconds
    ));
    Ok(table)
}

fn random_activations(shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::random(shape, Distribution::Uniform(0.0, 1.0), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_form_and_gemm_form_agree() {
        let device = Device::flex();
        let activations = random_activations([3, 4, 10], &device);
        let seed: Vec<f32> = seed_literal_delta(activations.clone(), 0.01)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let ours: Vec<f32> = hebbian_delta(activations, LateralMode::Shared, 0.01)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        for (a, b) in seed.iter().zip(&ours) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }
}

/// Seconds taken by `f`, and its result.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let started = Instant::now();
    let out = f()?;
    Ok((out, started.elapsed().as_secs_f64()))
}

/// Post-encoding benchmark input: features, the settings of the stages, and (when available)
/// the images the renders paste.
pub struct MapInput {
    pub features: crate::features::Features,
    pub config: EncodeConfig,
    pub images: Option<crate::data::ImageSet>,
    /// Where the features came from, for the table's title.
    pub source: String,
}

impl MapInput {
    /// A finished run's features and config; its images when its data set still loads.
    pub fn from_run(run: crate::query::Run) -> MapInput {
        let images = match data::load(&run.config.data, run.config.color(), true) {
            Ok(images) if images.len() == run.features.rows => Some(images),
            Ok(_) => {
                eprintln!("note: the run's data set changed since the run; renders are not timed");
                None
            }
            Err(e) => {
                eprintln!("note: renders are not timed: {e:#}");
                None
            }
        };
        MapInput {
            source: run.dir.display().to_string(),
            features: run.features,
            config: run.config,
            images,
        }
    }

    /// `rows` unit-norm features of `dim` values around 50 seeded random centres, with
    /// 16 x 16 tiles coloured by centre as their images, under the embedded default's settings.
    pub fn synthetic(rows: usize, dim: usize, seed: u64) -> Result<MapInput> {
        use crate::data::{ImageSet, Item};
        use crate::hash::pcg3;
        use rayon::prelude::*;
        if rows < 2 || dim == 0 {
            bail!("--synthetic needs at least 2 rows and --dim at least 1, got {rows} x {dim}");
        }
        let centres = 50;
        let seed = seed as u32;
        let uniform = |a: usize, b: usize, c: u32| {
            pcg3(seed ^ c, a as u32, b as u32) as f32 / u32::MAX as f32 - 0.5
        };
        let mut values = vec![0f32; rows * dim];
        values
            .par_chunks_mut(dim)
            .enumerate()
            .for_each(|(row, out)| {
                let centre = row % centres;
                for (j, v) in out.iter_mut().enumerate() {
                    *v = uniform(centre, j, 1) + 0.6 * uniform(row, j, 2);
                }
                let norm = out
                    .iter()
                    .map(|v| v * v)
                    .sum::<f32>()
                    .sqrt()
                    .max(f32::MIN_POSITIVE);
                out.iter_mut().for_each(|v| *v /= norm);
            });
        let config = EncodeConfig::load(None)?;
        let side = 16;
        let tiles = (0..rows).map(|row| {
            let [r, g, b] = crate::render::group_colour(row % centres);
            let image = [r, g, b, 255]
                .iter()
                .flat_map(|&c| std::iter::repeat_n(c, side * side))
                .collect();
            (
                Item {
                    source: format!("synthetic#{row}"),
                    label: Some(format!("centre {}", row % centres)),
                },
                image,
            )
        });
        let images = ImageSet::new(side, crate::config::ColorMode::Rgba, tiles.collect(), 0)?;
        let features = crate::features::Features { rows, dim, values };
        Ok(MapInput {
            features,
            config,
            images: Some(images),
            source: format!("synthetic data (seed {seed})"),
        })
    }
}

/// Runs the post-encoding benchmark and returns the printed table.
pub fn map(input: &MapInput, device: &ComputeDevice) -> Result<String> {
    use crate::{cluster, knn, map};
    let features = &input.features;
    let config = &input.config;
    let dev = &device.device;
    let width = config.map.n_neighbors.max(6).min(features.rows);
    let (with_self, knn_s) = timed(|| knn::search_all(features, width, dev, true))?;
    let (initial, pca_s) = timed(|| map::pca::principal_components(features, dev))?;
    let (manifold, graph_s) = timed(|| map::fuzzy_graph(&with_self, &config.map, true))?;
    let (coords, ours_s) =
        timed(|| map::lay_out(&manifold, initial.clone(), &config.map, dev, true))?;
    let epochs = config.map.epochs_for(features.rows);
    // On the CPU, the other layout mode too: edges in order (reproducible) or lock-free threads.
    let other_mode = map::MapConfig {
        parallel: !config.map.parallel,
        ..config.map.clone()
    };
    let other_mode_s = if is_wgpu(dev) {
        None
    } else {
        Some(timed(|| map::lay_out(&manifold, initial.clone(), &other_mode, dev, true))?.1)
    };
    let (_, theirs_s) = timed(|| {
        let start = ndarray::Array2::from_shape_vec(
            (initial.len(), 2),
            initial.iter().flatten().copied().collect(),
        )?;
        let k = config
            .map
            .n_neighbors
            .min(with_self.k)
            .min(features.rows - 1);
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
    let (ours_clusters, kmeans_s) = timed(|| {
        cluster::kmeans(
            &features.values,
            features.rows,
            features.dim,
            &config.clusters,
            dev,
        )
    })?;
    let one_run = cluster::ClusterConfig {
        n_runs: 1,
        ..config.clusters.clone()
    };
    let (_, linfa_s) = timed(|| {
        cluster::kmeans_linfa(
            &features.values,
            features.rows,
            features.dim,
            &one_run,
            None,
        )
    })?;
    // The twin: linfa from hebb's start (run 0's). Cluster numbers correspond, so agreement is a
    // plain match rate.
    let start =
        cluster::initial_centroids(&features.values, features.rows, features.dim, &one_run, dev)?;
    let twin = cluster::kmeans_linfa(
        &features.values,
        features.rows,
        features.dim,
        &one_run,
        Some(&start),
    )?;
    let agreement = ours_clusters
        .iter()
        .zip(&twin)
        .filter(|(a, b)| a == b)
        .count() as f64
        / features.rows as f64;
    let render_s = match &input.images {
        Some(images) => {
            // Rendered into a run folder that is never committed: dropping it removes the files.
            let folder =
                crate::run_folder::RunFolder::create(&std::env::temp_dir().join("hebb-bench-map"))?;
            Some(
                timed(|| {
                    crate::encode::render_map(
                        &folder,
                        images,
                        &coords,
                        &ours_clusters,
                        &config.render,
                    )
                })?
                .1,
            )
        }
        None => None,
    };
    let mut table = format!(
        "bench map: {} x {} features from {}, on {}\n",
        features.rows, features.dim, input.source, device.description
    );
    let mut stages = vec![
        (format!("neighbours (exact cosine top-{width})"), knn_s),
        ("PCA start".to_string(), pca_s),
        ("fuzzy graph (umap-rs)".to_string(), graph_s),
        (
            format!(
                "layout, hebb ({epochs} epochs{})",
                layout_mode(&config.map, dev)
            ),
            ours_s,
        ),
        (
            format!("layout, umap-rs 0.4.5 optimiser ({epochs} epochs, baseline)"),
            theirs_s,
        ),
        (
            format!(
                "K-Means, hebb on the device (k = {}, {} run(s))",
                config.clusters.n_clusters, config.clusters.n_runs
            ),
            kmeans_s,
        ),
        (
            "K-Means, linfa's own fit and k-means++ (1 run, baseline)".to_string(),
            linfa_s,
        ),
    ];
    if let Some(seconds) = other_mode_s {
        stages.insert(
            4,
            (
                format!(
                    "layout, hebb ({epochs} epochs{})",
                    layout_mode(&other_mode, dev)
                ),
                seconds,
            ),
        );
    }
    if let Some(seconds) = render_s {
        stages.push((
            "renders (canvas, clusters, scatter charts)".to_string(),
            seconds,
        ));
    }
    for (stage, seconds) in stages {
        table.push_str(&format!("{stage:<60} {seconds:>10.2} s\n"));
    }
    table.push_str(&format!(
        "{:<60} {:>10.2} x\n",
        "layout time, hebb / umap-rs",
        ours_s / theirs_s
    ));
    table.push_str(&format!(
        "{:<60} {:>10.2} x\n",
        "K-Means time, hebb / linfa",
        kmeans_s / linfa_s
    ));
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
    let total = knn_s + pca_s + graph_s + ours_s + kmeans_s + render_s.unwrap_or(0.0);
    let with_renders = if render_s.is_some() {
        "with"
    } else {
        "without"
    };
    table.push_str(&format!(
        "{:<60} {:>10.2} s\n",
        format!("post-encoding total (hebb, {with_renders} renders)"),
        total
    ));
    Ok(table)
}

/// How the layout runs on `device`, for a row name.
fn layout_mode(config: &crate::map::MapConfig, device: &Device) -> &'static str {
    match (is_wgpu(device), config.parallel) {
        (true, _) => "",
        (false, false) => ", CPU, edges in order",
        (false, true) => ", CPU, lock-free threads",
    }
}

/// One synchronous sweep with a dense `n x n` W (Hebbian, P = 5), for one probe and for 1,000,
/// each against a baseline measured here on the same device: for one probe, reading W once (a
/// sum over all of W, the memory-bound floor of a matrix-vector product); for 1,000 probes, the
/// device's fp32 matrix-product rate on a square 4096 GEMM. Rows: (name, value, unit).
fn dense_sweep_rows(n: usize, device: &Device) -> Result<Vec<(String, f64, &'static str)>> {
    use crate::hopfield::Patterns;
    use crate::hopfield::dynamics::{dense_sync_step, sync_update};
    use crate::hopfield::rules::{Rule, learn};
    if n < 2 {
        bail!("--dense-neurons: expected at least 2 neurons, got {n}");
    }
    let weights = learn(Rule::Hebbian, &Patterns::random(5, n, 4), device)?;
    let repeats = 5;
    let read_s = time_per_call(repeats, || weights.clone().sum())?;
    let w_bytes = (n * n * 4) as f64;
    let mut rows = vec![
        (
            format!("read W once (sum of all N² entries), N = {n}"),
            read_s * 1e3,
            "ms",
        ),
        ("  read rate".to_string(), w_bytes / read_s / 1e9, "GB/s"),
    ];
    let probes_of = |count: usize| {
        Tensor::<2>::random([count, n], Distribution::Uniform(-1.0, 1.0), device).sign()
    };
    let sweep = |probes: usize| {
        let states = probes_of(probes);
        time_per_call(repeats, || dense_sync_step(&weights, states.clone()))
    };
    let one_s = sweep(1)?;
    rows.push((
        format!("sync sweep, 1 probe, dense W, N = {n}"),
        one_s * 1e3,
        "ms",
    ));
    rows.push((
        "  1-probe sweep / read W once (target <= 2 on a GPU)".to_string(),
        one_s / read_s,
        "x",
    ));
    if is_wgpu(device) {
        // The same update as a matrix product, which is what the WGSL kernel replaces here.
        let states = probes_of(1);
        let product_s = time_per_call(repeats, || {
            sync_update(states.clone().matmul(weights.clone()), states.clone())
        })?;
        rows.push((
            "  1-probe sweep as a matrix product (baseline)".to_string(),
            product_s * 1e3,
            "ms",
        ));
    }
    let side = 4096;
    let a = Tensor::<2>::random([side, side], Distribution::Uniform(-1.0, 1.0), device);
    let gemm_s = time_per_call(repeats, || a.clone().matmul(a.clone()))?;
    let gemm_rate = 2.0 * (side as f64).powi(3) / gemm_s;
    rows.push((
        format!("fp32 GEMM {side} x {side} x {side} (rate baseline)"),
        gemm_rate / 1e9,
        "GFLOP/s",
    ));
    let probes = 1000;
    let batch_s = sweep(probes)?;
    let flops = 2.0 * probes as f64 * (n as f64).powi(2);
    rows.push((
        format!("sync sweep, {probes} probes, dense W, N = {n}"),
        batch_s * 1e3,
        "ms",
    ));
    rows.push(("  sweep rate".to_string(), flops / batch_s / 1e9, "GFLOP/s"));
    rows.push((
        format!("  {probes}-probe sweep / time at GEMM rate (target <= 3 on a GPU)"),
        batch_s / (flops / gemm_rate),
        "x",
    ));
    Ok(rows)
}

/// Runs the Hopfield benchmark and returns the printed table.
pub fn hopfield(device: &ComputeDevice, dense_neurons: usize) -> Result<String> {
    use crate::hopfield::capacity::{self, CapacitySettings};
    use crate::hopfield::dynamics::{recall_sync, recall_sync_low_rank};
    use crate::hopfield::repair::Dynamics;
    use crate::hopfield::rules::{Rule, learn};
    use crate::hopfield::{Patterns, flip_fraction};

    let dev = &device.device;
    let mut rows: Vec<(String, f64)> = Vec::new();
    let (n, p) = (10_000, 5);
    let patterns = Patterns::random(p, n, 1);
    let (weights, learn_s) = timed(|| learn(Rule::Hebbian, &patterns, dev))?;
    rows.push((format!("Hebbian W, N = {n}, P = {p}"), learn_s));
    let xi = patterns.to_tensor(dev);
    for probes in [1usize, 1000] {
        let mut cues = Vec::with_capacity(probes * n);
        for i in 0..probes {
            cues.extend(flip_fraction(patterns.pattern(i % p), 0.2, i as u64)?);
        }
        // Warm-up, then one timed synchronous recall each way, to a fixed point (at most 20 steps).
        recall_sync(&weights, &cues, n, 1)?;
        recall_sync_low_rank(&xi, &cues, 1)?;
        let ((_, dense_steps), dense_s) = timed(|| recall_sync(&weights, &cues, n, 20))?;
        let ((_, low_rank_steps), low_rank_s) = timed(|| recall_sync_low_rank(&xi, &cues, 20))?;
        rows.push((
            format!("sync recall, {probes} probe(s), dense W ({dense_steps} steps)"),
            dense_s,
        ));
        rows.push((
            format!("sync recall, {probes} probe(s), low-rank, no W ({low_rank_steps} steps)"),
            low_rank_s,
        ));
        rows.push((
            format!("  dense / low-rank, {probes} probe(s) (ratio)"),
            dense_s / low_rank_s,
        ));
    }
    let storkey_patterns = Patterns::random(3, 4096, 2);
    let (_, storkey_s) = timed(|| learn(Rule::Storkey, &storkey_patterns, dev).and_then(wait_for))?;
    rows.push(("Storkey W, N = 4096, P = 3".to_string(), storkey_s));
    // The seed notebook's capacity experiment: N = 400, Hebbian and daydreaming, 10 loads,
    // 5 noisy cues (30%) per pattern, 90% overlap, asynchronous recall.
    let settings = CapacitySettings {
        neurons: 400,
        pool: None,
        rules: vec![Rule::Hebbian, Rule::Daydreaming],
        loads: (1..=10).map(|i| i as f64 * 0.02).collect(),
        noise: 0.3,
        trials: 5,
        threshold: 0.9,
        dynamics: Dynamics::Async,
        max_iterations: 30,
        seed: 3,
    };
    let (_, capacity_s) = timed(|| capacity::run(&settings, device))?;
    rows.push((
        "capacity, N = 400, 10 loads, Hebbian + daydreaming, 5 trials".to_string(),
        capacity_s,
    ));

    let mut table = format!("bench hopfield on {}\n", device.description);
    for (name, value) in rows {
        let unit = if name.contains("ratio") { "x" } else { "s" };
        table.push_str(&format!("{name:<60} {value:>10.4} {unit}\n"));
    }
    for (name, value, unit) in dense_sweep_rows(dense_neurons, dev)? {
        table.push_str(&format!("{name:<60} {value:>10.4} {unit}\n"));
    }
    Ok(table)
}
