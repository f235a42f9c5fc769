//! `hebb encode`: data -> encoder training -> features -> neighbours -> UMAP map and K-Means
//! clusters -> pictures -> run folder, with per-stage timings in a summary.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use serde::Serialize;

use crate::compute::device::{ComputeDevice, read_f32};
use crate::config::EncodeConfig;
use crate::encoder::HebbianEncoder;
use crate::encoder::{features, train};
use crate::map::knn;
use crate::map::pipeline::{self, TOP_K};
use crate::run::items::{items_csv, map_csv};
use crate::run::npy::write_npy_f32;
use crate::run::{
    CONFIG_FILE, ENCODER_FILE, FEATURES_FILE, FILTERS_FILE, ITEMS_FILE, MAP_FILE, NEIGHBOURS_FILE, RunFolder,
    SUMMARY_FILE, TRAINING_CHART_FILE, TRAINING_LOG_FILE,
};
use crate::{data, progress, render};

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
struct Stopwatch {
    stages: Vec<(String, f64)>,
    started: Instant,
}

impl Stopwatch {
    fn new() -> Self {
        Self { stages: Vec::new(), started: Instant::now() }
    }

    /// Records a stage timed elsewhere; the next lap starts now.
    fn add(&mut self, stage: &str, seconds: f64) {
        self.stages.push((stage.to_string(), seconds));
        self.started = Instant::now();
    }

    fn lap(&mut self, stage: &str) {
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

/// Runs the whole `encode` pipeline for a validated config.
pub fn run(config: &EncodeConfig, device: &ComputeDevice, quiet: bool) -> Result<EncodeSummary> {
    config.check_memory()?;
    let mut clock = Stopwatch::new();
    // Created first, so that an output folder that cannot be written fails before any work.
    let folder = RunFolder::create(&config.run_dir())?;
    let images = data::load(&config.data, quiet)?;
    if images.len() < 3 {
        bail!("the data set has {} usable image(s); a run needs at least 3", images.len());
    }
    clock.lap("load");
    if !quiet {
        log::info!(
            "loaded {} images ({}x{} {:?}){}",
            images.len(),
            images.side,
            images.side,
            images.color,
            if images.skipped > 0 { format!(", {} skipped", images.skipped) } else { String::new() },
        );
    }

    let mut encoder = HebbianEncoder::for_config(config, &device.device);
    let items = train::training_items(&config.training, &images.items)?;
    let log = train::train(&mut encoder, &images, &items, &config.training, &config.encoder, &device.device, quiet)?;
    clock.lap("train");
    let features = features::extract(&encoder, &images, config.training.batch_size, &device.device, quiet)?;
    clock.lap("extract");

    let stage = pipeline::run(&features, &config.map, &config.clusters, &device.device, true, quiet)?;
    clock.add("neighbours", stage.seconds(&["neighbours"]));
    clock.add("umap", stage.seconds(&["pca", "graph", "layout"]));
    clock.add("kmeans", stage.seconds(&["kmeans"]));
    let neighbours = knn::drop_self(&stage.with_self.truncate(TOP_K + 1));
    let coords = stage.layout.expect("the layout was asked for").coords;
    let clusters = stage.clusters;

    let spinner = progress::spinner("rendering", quiet);
    let render_config = &config.render;
    let pictures =
        render::save_map_pictures(&folder, &config.name, &images, &coords, &clusters, &neighbours, render_config)?;
    let mut files = pictures.files;
    let queries = sample_items(images.len(), render_config.neighbour_rows, render_config.seed);
    let rows: Vec<(usize, Vec<(usize, f32)>)> = queries
        .iter()
        .map(|&q| {
            let (ids, sims) = neighbours.row(q);
            (q, ids.iter().zip(sims).map(|(&i, &s)| (i as usize, s)).collect())
        })
        .collect();
    render::save_png(&render::neighbour_grid(&images, &rows, render_config.cell_size)?, &folder.path(NEIGHBOURS_FILE))?;
    render::save_png(&render::training_chart(&log)?, &folder.path(TRAINING_CHART_FILE))?;
    let filters = encoder.layer(0).filters();
    let [count, channels, _, _] = filters.dims();
    let filters = read_f32(filters, "filters")?;
    render::save_png(&render::filter_grid(&filters, count, channels), &folder.path(FILTERS_FILE))?;
    files.extend([NEIGHBOURS_FILE, TRAINING_CHART_FILE, FILTERS_FILE]);
    spinner.finish_and_clear();
    clock.lap("render");

    folder.write(CONFIG_FILE, config.to_toml()?)?;
    write_npy_f32(&folder.path(FEATURES_FILE), features.rows, features.dim, &features.values)?;
    folder.write(ITEMS_FILE, items_csv(&images.items)?)?;
    folder.write(MAP_FILE, map_csv(&coords, &clusters, &images.items)?)?;
    folder.write(TRAINING_LOG_FILE, log.to_csv())?;
    let encoder_path = folder.path(ENCODER_FILE);
    encoder
        .save_file(&encoder_path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot save the encoder to {}", encoder_path.display()))?;
    files.extend([CONFIG_FILE, FEATURES_FILE, ITEMS_FILE, MAP_FILE, TRAINING_LOG_FILE, ENCODER_FILE, SUMMARY_FILE]);
    clock.lap("write");
    let summary = EncodeSummary {
        run_dir: config.run_dir(),
        device: device.description.clone(),
        items: images.len(),
        skipped: images.skipped,
        feature_dim: features.dim,
        training_steps: log.steps(),
        canvas_coverage: pictures.coverage,
        stages: clock.stages,
        files: files.into_iter().map(String::from).collect(),
    };
    folder.write(SUMMARY_FILE, serde_json::to_string_pretty(&summary)?)?;
    folder.commit()?;
    Ok(summary)
}
