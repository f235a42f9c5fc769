//! `hebb encode`: data -> encoder training -> features -> neighbours -> UMAP map and K-Means
//! clusters -> pictures -> run folder, with per-stage timings in a summary.
//!
//! The same pipeline as three commands, so that a batch scheduler can spread extraction, the part
//! that grows with the data set, over many processes and machines:
//! - `hebb train`: loads the data set, trains the encoder and writes a run folder holding the
//!   resolved config, the encoder and the training log and charts;
//! - `hebb embed --shard I/N`: the features of the I-th of N contiguous parts of the data set,
//!   written as one shard of the run ([`crate::run::shards`]); any number of processes may run
//!   shards at once, and a re-run replaces its shard;
//! - `hebb map`: merges the shards in order and runs neighbours, map, clusters and pictures,
//!   finishing the run folder exactly as `hebb encode` does.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;

use crate::compute::device::{RunContext, read_f32};
use crate::compute::features::Features;
use crate::config::TOP_K;
use crate::config::{DataConfig, DataSource, EncodeConfig, RenderConfig};
use crate::data::ImageSet;
use crate::encoder::HebbianEncoder;
use crate::encoder::features;
use crate::encoder::train::{self, TrainingLog};
use crate::map::pipeline::{self, MapRequest};
use crate::neighbours;
use crate::progress::Progress;
use crate::render::{GridRow, MapData};
use crate::run::items::{items_csv, map_csv, read_items_csv, skipped_csv};
use crate::run::npy::{read_npy_f32, write_npy_f32};
use crate::run::shards::{self, Shard};
use crate::run::{
    CONFIG_FILE, ENCODER_FILE, FEATURES_FILE, FILTERS_FILE, ITEMS_FILE, MAP_FILE, NEIGHBOURS_FILE, RunFolder, RunLock,
    SKIPPED_FILE, SUMMARY_FILE, TRAINED_FILES, TRAINING_CHART_FILE, TRAINING_LOG_FILE, check_replaceable,
};
use crate::{data, render};

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EncodeSummary {
    pub run_dir: PathBuf,
    pub device: String,
    pub items: usize,
    pub skipped: usize,
    pub feature_dim: usize,
    pub training_steps: usize,
    /// Share of the sprite canvas's 50-px cells that the images touch.
    pub canvas_coverage: f64,
    /// (stage, seconds) in pipeline order.
    pub stages: Vec<(String, f64)>,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl EncodeSummary {
    /// A short table for the terminal.
    pub(crate) fn table(&self) -> String {
        let mut out = format!(
            "run folder   {}\ndevice       {}\nitems        {} ({} skipped)\nfeatures     {} x {}\nsteps        {}\ncanvas       {:.0}% of its 50-px cells covered\n",
            self.run_dir.display(),
            self.device,
            self.items,
            self.skipped,
            self.items,
            self.feature_dim,
            self.training_steps,
            self.canvas_coverage * 100.0,
        );
        for (stage, seconds) in &self.stages {
            out.push_str(&format!("{stage:<12} {seconds:>8.2} s\n"));
        }
        out.push_str(&format!("files        {}", self.files.join(", ")));
        out
    }
}

/// Times pipeline stages.
pub(crate) struct Stopwatch {
    stages: Vec<(String, f64)>,
    started: Instant,
}

impl Stopwatch {
    pub(crate) fn new() -> Self {
        Self { stages: Vec::new(), started: Instant::now() }
    }

    /// Records a stage timed elsewhere; the next lap starts now.
    fn add(&mut self, stage: &str, seconds: f64) {
        self.stages.push((stage.to_string(), seconds));
        self.started = Instant::now();
    }

    pub(crate) fn lap(&mut self, stage: &str) {
        self.stages.push((stage.to_string(), self.started.elapsed().as_secs_f64()));
        self.started = Instant::now();
    }
}

/// A seeded sample of `count` distinct items.
fn sample_items(len: usize, count: usize, seed: u64) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut crate::compute::rng::seeded(seed));
    order.truncate(count.min(len));
    order
}

/// Runs the whole `encode` pipeline for a validated config: the three stages `hebb train`,
/// `hebb embed` and `hebb map` run one at a time, in one process, on the whole data set.
/// The checks `encode` and `train` make before any work, alone (`--dry-run`): the memory the
/// settings need, that the inputs exist, and that the run folder may be written (apart from the
/// inputs, and replacing nothing hebb did not write). Returns the run folder's path.
pub(crate) fn check(config: &EncodeConfig) -> Result<PathBuf> {
    config.check_memory()?;
    config.check_output_apart()?;
    for (key, path) in config.data.inputs() {
        if !path.exists() && data::embedded::file(path).is_none() {
            bail!("key `{key}`: {} does not exist", path.display());
        }
    }
    let run_dir = config.run_dir();
    check_replaceable(&run_dir)?;
    Ok(run_dir)
}

pub(crate) fn run(config: &EncodeConfig, context: &RunContext) -> Result<EncodeSummary> {
    check(config)?;
    let mut clock = Stopwatch::new();
    // Created first, so that an output folder that cannot be written fails before any work.
    let folder = RunFolder::create(&config.run_dir())?;
    let images = data::load_usable(&config.data, context.progress)?;
    clock.lap("load");
    let embedding = features::embed(config, &images, context.device(), context.progress)?;
    let writing = Instant::now();
    write_trained(&folder, config, &embedding.encoder, &embedding.log)?;
    clock.add("train", embedding.train_seconds + writing.elapsed().as_secs_f64());
    clock.add("extract", embedding.extract_seconds);
    map_stage(folder, config, &images, &embedding.features, embedding.log.steps(), context, clock)
}

/// Writes [`TRAINED_FILES`] of an encoder trained for `config` into `folder`: the config, the
/// encoder, the training log and charts.
fn write_trained(folder: &RunFolder, config: &EncodeConfig, encoder: &HebbianEncoder, log: &TrainingLog) -> Result<()> {
    folder.write(CONFIG_FILE, config.to_toml()?)?;
    folder.write(TRAINING_LOG_FILE, log.to_csv())?;
    render::save_png(&render::training_chart(log)?, &folder.path(TRAINING_CHART_FILE))?;
    let filters = encoder.layer(0).filters();
    let [count, channels, kernel, _] = filters.dims();
    let filters = read_f32(filters, "filters")?;
    render::save_png(&render::filter_grid(&filters, count, channels, kernel)?, &folder.path(FILTERS_FILE))?;
    let encoder_path = folder.path(ENCODER_FILE);
    encoder
        .clone()
        .save_file(&encoder_path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot save the encoder to {}", encoder_path.display()))
}

/// Neighbours, map, clusters and pictures of `features`, written with the features and items
/// into `folder` (which already holds [`TRAINED_FILES`]), which is then committed.
fn map_stage(
    folder: RunFolder,
    config: &EncodeConfig,
    images: &ImageSet,
    features: &Features,
    training_steps: usize,
    context: &RunContext,
    mut clock: Stopwatch,
) -> Result<EncodeSummary> {
    let request = MapRequest {
        features,
        map: &config.map,
        clusters: &config.clusters,
        device: context.device(),
        progress: context.progress,
    };
    let output = pipeline::run(&request)?;
    clock.add("neighbours", output.timings.neighbours);
    clock.add("umap", output.timings.umap());
    clock.add("kmeans", output.timings.kmeans);
    let neighbours = neighbours::top_neighbours(&output.with_self, TOP_K);
    let coords = output.layout.coords;
    let clusters = output.clusters;

    let render_config = &config.render;
    // The map's pictures, then the neighbour grid.
    let bar = context.progress.bar(render::map_picture_count(images, render_config) + 1, "rendering");
    let map = MapData { images, coords: &coords, clusters: &clusters, neighbours: &neighbours };
    let pictures = render::save_map_pictures(&folder, &config.name, &map, render_config, &|| bar.inc(1))?;
    let mut files = pictures.files;
    let (grid_images, rows) = neighbour_grid_items(images, &config.data, &neighbours, render_config)?;
    let grid = render::neighbour_grid(&grid_images, &rows, render_config.cell_size)?;
    render::save_png(&grid, &folder.path(NEIGHBOURS_FILE))?;
    files.push(NEIGHBOURS_FILE);
    bar.finish_and_clear();
    clock.lap("render");

    write_npy_f32(&folder.path(FEATURES_FILE), features.rows, features.dim, &features.values)?;
    folder.write(ITEMS_FILE, items_csv(&images.items)?)?;
    folder.write(MAP_FILE, map_csv(&coords, &clusters, &images.items)?)?;
    files.extend(TRAINED_FILES);
    files.extend([FEATURES_FILE, ITEMS_FILE, MAP_FILE, SUMMARY_FILE]);
    if !images.skipped.is_empty() {
        folder.write(SKIPPED_FILE, skipped_csv(&images.skipped)?)?;
        files.push(SKIPPED_FILE);
    }
    clock.lap("write");
    let summary = EncodeSummary {
        run_dir: config.run_dir(),
        device: context.compute.description.clone(),
        items: images.len(),
        skipped: images.skipped.len(),
        feature_dim: features.dim,
        training_steps,
        canvas_coverage: pictures.coverage,
        stages: clock.stages,
        files: files.into_iter().map(String::from).collect(),
    };
    folder.write(SUMMARY_FILE, serde_json::to_string_pretty(&summary)?)?;
    folder.commit()?;
    Ok(summary)
}

/// The neighbour grid's items, `render.neighbour_rows` seeded queries and their neighbours, as
/// a set of their own at `data.image_size` (copied from `images` when they are at that size, else
/// loaded again), and the grid's rows (query, [(neighbour, similarity)]) indexing that set.
fn neighbour_grid_items(
    images: &ImageSet,
    data: &DataConfig,
    neighbours: &neighbours::Neighbours,
    render_config: &RenderConfig,
) -> Result<(ImageSet, Vec<GridRow>)> {
    let mut shown: Vec<usize> = Vec::new();
    let mut places = std::collections::HashMap::new();
    let mut place = |item: usize| {
        *places.entry(item).or_insert_with(|| {
            shown.push(item);
            shown.len() - 1
        })
    };
    let rows: Vec<GridRow> = sample_items(images.len(), render_config.neighbour_rows, render_config.seed)
        .into_iter()
        .map(|q| {
            let (ids, sims) = neighbours.row(q);
            (place(q), ids.iter().zip(sims).map(|(&i, &s)| (place(i as usize), s)).collect())
        })
        .collect();
    let set = if images.side == data.image_size as usize {
        images.select(&shown)
    } else {
        data::load_items(data, &images.items, &shown, Progress::Hidden)?
    };
    Ok((set, rows))
}

/// `hebb train`: the encoder of a new run folder, which it returns.
pub(crate) fn train(config: &EncodeConfig, context: &RunContext) -> Result<PathBuf> {
    check(config)?;
    let folder = RunFolder::create(&config.run_dir())?;
    let (images, items) = training_set(config, context.progress)?;
    let mut encoder = HebbianEncoder::for_config(config, context.device());
    let (training, encoder_config) = (&config.training, &config.encoder);
    let log =
        train::train(&mut encoder, &images, &items, training, encoder_config, context.device(), context.progress)?;
    write_trained(&folder, config, &encoder, &log)?;
    folder.commit()
}

/// The images `hebb train` learns from and their positions in that set. From an image folder
/// with `training.sample` or `training.holdout` only the chosen images are held at
/// `data.image_size`: every file is first decoded at 1 px, to learn which ones load (the split
/// and the sample are drawn among those, as `hebb encode` draws them), so that a million-image
/// set trains in the memory of its sample, on the same images in the same order as `hebb
/// encode`. The other sources fit in memory whole and are loaded once.
fn training_set(config: &EncodeConfig, progress: Progress) -> Result<(ImageSet, Vec<usize>)> {
    let part_only = config.training.sample > 0 || config.training.holdout;
    if !part_only || !matches!(config.data.source, DataSource::Folder(_)) {
        let images = data::load_usable(&config.data, progress)?;
        let items = train::training_items(&config.training, &images.items)?;
        return Ok((images, items));
    }
    let usable = data::load(&DataConfig { image_size: 1, ..config.data.clone() }, progress)?;
    data::check_usable(&usable, Progress::Hidden)?;
    let chosen = train::training_items(&config.training, &usable.items)?;
    let images = data::load_items(&config.data, &usable.items, &chosen, progress)?;
    if progress.is_shown() {
        let side = config.data.image_size;
        log::info!("training on {} of {} usable images, loaded at {side} x {side} px", images.len(), usable.len());
    }
    Ok((images, (0..chosen.len()).collect()))
}

/// The config of a trained run folder.
fn trained_config(run_dir: &Path) -> Result<EncodeConfig> {
    if !run_dir.join(ENCODER_FILE).is_file() {
        bail!("{} holds no trained encoder ({ENCODER_FILE}); run `hebb train` first", run_dir.display());
    }
    EncodeConfig::load(Some(&run_dir.join(CONFIG_FILE)))
}

/// The config and encoder of a trained run folder.
fn open_trained(run_dir: &Path, device: &Device) -> Result<(EncodeConfig, HebbianEncoder)> {
    let config = trained_config(run_dir)?;
    let encoder = HebbianEncoder::load(&config, &run_dir.join(ENCODER_FILE), device)?;
    Ok((config, encoder))
}

/// `hebb embed`: writes one shard of the run's features; returns (items, its features file).
pub(crate) fn embed(run_dir: &Path, shard: Shard, context: &RunContext) -> Result<(usize, PathBuf)> {
    let (config, encoder) = open_trained(run_dir, context.device())?;
    let _writing = RunLock::shared(run_dir)?;
    let images = data::load_part(&config.data, shard.part(), context.progress)?;
    let features = if images.is_empty() {
        Features { rows: 0, dim: 0, values: Vec::new() }
    } else {
        features::extract(&encoder, &images, config.training.batch_size, context.device(), context.progress)?
    };
    shard.write(run_dir, &images.items, &features)?;
    Ok((images.len(), shard.features_path(run_dir)))
}

/// `hebb map`: the run's features (its shards merged in order, or the features file of a run
/// already mapped) through the map stage; the finished folder replaces the run's.
pub(crate) fn map(run_dir: &Path, context: &RunContext) -> Result<EncodeSummary> {
    let mut clock = Stopwatch::new();
    let config = trained_config(run_dir)?;
    // Held until the new folder has replaced this one: no shard is written meanwhile.
    let _replacing = RunLock::exclusive(run_dir)?;
    let (items, features) = match shards::merge(run_dir)? {
        Some(merged) => merged,
        None if run_dir.join(FEATURES_FILE).is_file() => {
            let (rows, dim, values) = read_npy_f32(&run_dir.join(FEATURES_FILE))?;
            (read_items_csv(&run_dir.join(ITEMS_FILE))?, Features { rows, dim, values })
        }
        None => bail!("{} has no feature shards; run `hebb embed --run {0} --shard I/N` first", run_dir.display()),
    };
    // At the side the map's pictures need: a million images at `data.image_size` would not fit.
    let images =
        data::load_usable(&render::pictures_data(&config.data, items.len(), &config.render), context.progress)?;
    if images.items != items {
        bail!(
            "the run's shards hold {} items that differ from the data set's {} (the data changed since `hebb embed`?)",
            items.len(),
            images.len()
        );
    }
    clock.lap("load");
    let log_path = run_dir.join(TRAINING_LOG_FILE);
    let log = std::fs::read_to_string(&log_path).with_context(|| format!("cannot read {}", log_path.display()))?;
    let steps = TrainingLog::from_csv(&log).with_context(|| format!("{} is not a training log", log_path.display()))?;
    let folder = RunFolder::update(run_dir, &TRAINED_FILES)?;
    map_stage(folder, &config, &images, &features, steps.steps(), context, clock)
}
