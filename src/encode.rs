//! `hebb encode`: data -> encoder training -> features -> neighbours -> UMAP map and K-Means
//! clusters -> pictures -> run folder, with per-stage timings in a summary.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use serde::Serialize;

use crate::config::EncodeConfig;
use crate::data::ImageSet;
use crate::device::ComputeDevice;
use crate::encoder::HebbianEncoder;
use crate::render::RenderConfig;
use crate::run_folder::{RunFolder, items_csv, npy_f32};
use crate::{cluster, data, features, knn, map, progress, render, train};

/// File names inside a run folder.
pub const CONFIG_FILE: &str = "config.toml";
pub const FEATURES_FILE: &str = "features.npy";
pub const ITEMS_FILE: &str = "items.csv";
pub const TRAINING_LOG_FILE: &str = "training_log.csv";
pub const ENCODER_FILE: &str = "encoder.bpk";
pub const SUMMARY_FILE: &str = "summary.json";
pub const MAP_FILE: &str = "map.csv";
pub const CANVAS_FILE: &str = "canvas.png";
pub const CLUSTERS_FILE: &str = "clusters.png";
pub const MAP_CLUSTERS_FILE: &str = "map_clusters.png";
pub const MAP_LABELS_FILE: &str = "map_labels.png";
pub const NEIGHBOURS_FILE: &str = "neighbours.png";
pub const TRAINING_CHART_FILE: &str = "training.png";
pub const FILTERS_FILE: &str = "filters.png";

/// Neighbours per item in the grid and in `query`'s default answer.
pub const TOP_K: usize = 5;

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeSummary {
    pub run_dir: PathBuf,
    pub device: String,
    pub items: usize,
    pub skipped: usize,
    pub feature_dim: usize,
    pub training_steps: usize,
    /// (stage, seconds) in pipeline order.
    pub stages: Vec<(String, f64)>,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl EncodeSummary {
    /// A short table for the terminal.
    pub fn table(&self) -> String {
        let mut out = format!(
            "run folder   {}\ndevice       {}\nitems        {} ({} skipped)\nfeatures     {} x {}\nsteps        {}\n",
            self.run_dir.display(),
            self.device,
            self.items,
            self.skipped,
            self.items,
            self.feature_dim,
            self.training_steps,
        );
        for (stage, seconds) in &self.stages {
            out.push_str(&format!("{stage:<12} {seconds:>8.2} s\n"));
        }
        out.push_str(&format!("files        {}", self.files.join(", ")));
        out
    }
}

/// Builds the encoder a config describes, before training.
pub fn new_encoder(config: &EncodeConfig, device: &burn::tensor::Device) -> HebbianEncoder {
    HebbianEncoder::new(
        config.color().channels(),
        config.data.image_size as usize,
        &config.encoder,
        config.features.clone(),
        device,
    )
}

/// The items the encoder trains on: all of them, or with `training.holdout` the training part of
/// the seeded stratified split that `hebb eval`'s probe tests on.
pub fn training_items(config: &EncodeConfig, items: &[data::Item]) -> Result<Vec<usize>> {
    if !config.training.holdout {
        return Ok((0..items.len()).collect());
    }
    if !items.iter().any(|i| i.label.is_some()) {
        bail!(
            "key `training.holdout`: the split it holds out is stratified by label, and the data set has no labels"
        );
    }
    let (groups, _) = label_groups(items);
    Ok(data::split::stratified(&groups, config.training.seed).0)
}

/// Times pipeline stages.
struct Stopwatch {
    stages: Vec<(String, f64)>,
    started: Instant,
}

impl Stopwatch {
    fn new() -> Self {
        Self {
            stages: Vec::new(),
            started: Instant::now(),
        }
    }

    fn lap(&mut self, stage: &str) {
        self.stages
            .push((stage.to_string(), self.started.elapsed().as_secs_f64()));
        self.started = Instant::now();
    }
}

/// Group index of every item's label (sorted label names; unlabelled items form "(none)").
pub fn label_groups(items: &[data::Item]) -> (Vec<usize>, Vec<String>) {
    let names: Vec<String> = items
        .iter()
        .map(|i| i.label.clone().unwrap_or_else(|| "(none)".into()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = items
        .iter()
        .map(|i| {
            let name = i.label.clone().unwrap_or_else(|| "(none)".into());
            names.binary_search(&name).unwrap_or(0)
        })
        .collect();
    (groups, names)
}

/// A seeded sample of `count` distinct items.
fn sample_items(len: usize, count: usize, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    order.truncate(count.min(len));
    order
}

/// Runs the whole `encode` pipeline for a validated config.
pub fn run(config: &EncodeConfig, device: &ComputeDevice, quiet: bool) -> Result<EncodeSummary> {
    let mut clock = Stopwatch::new();
    let images = data::load(&config.data, config.color(), quiet)?;
    if images.len() < 3 {
        bail!(
            "the data set has {} usable image(s); a run needs at least 3",
            images.len()
        );
    }
    clock.lap("load");
    if !quiet {
        eprintln!(
            "loaded {} images ({}x{} {:?}){}",
            images.len(),
            images.side,
            images.side,
            images.color,
            if images.skipped > 0 {
                format!(", {} skipped", images.skipped)
            } else {
                String::new()
            },
        );
    }

    let mut encoder = new_encoder(config, &device.device);
    let items = training_items(config, &images.items)?;
    let log = train::train(
        &mut encoder,
        &images,
        &items,
        &config.training,
        &config.encoder,
        &device.device,
        quiet,
    )?;
    clock.lap("train");
    let features = features::extract(
        &encoder,
        &images,
        config.training.batch_size,
        &device.device,
        quiet,
    )?;
    clock.lap("extract");

    let width = (config.map.n_neighbors.max(TOP_K + 1)).min(features.rows);
    let with_self = knn::search_all(&features, width, &device.device, quiet)?;
    let neighbours = knn::drop_self(&with_self.truncate(TOP_K + 1));
    clock.lap("neighbours");
    let spinner = progress::spinner("pca", quiet);
    let initial = map::pca::principal_components(&features, &device.device)?;
    spinner.finish_and_clear();
    let coords = map::project(&with_self, initial, &config.map, &device.device, quiet)?;
    clock.lap("umap");
    let spinner = progress::spinner("k-means", quiet);
    let clusters = cluster::kmeans(
        &features.values,
        features.rows,
        features.dim,
        &config.clusters,
        &device.device,
    )?;
    spinner.finish_and_clear();
    clock.lap("kmeans");

    let folder = RunFolder::create(&config.run_dir())?;
    let spinner = progress::spinner("rendering", quiet);
    let render_config = &config.render;
    let mut files = render_map(&folder, &images, &coords, &clusters, render_config)?;
    let queries = sample_items(
        images.len(),
        render_config.neighbour_rows,
        render_config.seed,
    );
    let rows: Vec<(usize, Vec<(usize, f32)>)> = queries
        .iter()
        .map(|&q| {
            let (ids, sims) = neighbours.row(q);
            (
                q,
                ids.iter()
                    .zip(sims)
                    .map(|(&i, &s)| (i as usize, s))
                    .collect(),
            )
        })
        .collect();
    render::save_png(
        &render::neighbour_grid(&images, &rows, render_config.cell_size)?,
        &folder.path(NEIGHBOURS_FILE),
    )?;
    render::save_png(
        &render::training_chart(&log)?,
        &folder.path(TRAINING_CHART_FILE),
    )?;
    let filters = encoder.layer(0).filters();
    let [count, channels, _, _] = filters.dims();
    let filters = crate::device::read_f32(filters, "filters")?;
    render::save_png(
        &render::filter_grid(&filters, count, channels),
        &folder.path(FILTERS_FILE),
    )?;
    files.extend([NEIGHBOURS_FILE, TRAINING_CHART_FILE, FILTERS_FILE]);
    spinner.finish_and_clear();
    clock.lap("render");

    folder.write(CONFIG_FILE, config.to_toml()?)?;
    folder.write(
        FEATURES_FILE,
        npy_f32(features.rows, features.dim, &features.values),
    )?;
    folder.write(ITEMS_FILE, items_csv(&images.items)?)?;
    folder.write(MAP_FILE, map_csv(&coords, &clusters, &images.items)?)?;
    folder.write(TRAINING_LOG_FILE, log.to_csv())?;
    let encoder_path = folder.path(ENCODER_FILE);
    encoder
        .save_file(&encoder_path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot save the encoder to {}", encoder_path.display()))?;
    files.extend([
        CONFIG_FILE,
        FEATURES_FILE,
        ITEMS_FILE,
        MAP_FILE,
        TRAINING_LOG_FILE,
        ENCODER_FILE,
        SUMMARY_FILE,
    ]);
    clock.lap("write");
    let summary = EncodeSummary {
        run_dir: config.run_dir(),
        device: device.description.clone(),
        items: images.len(),
        skipped: images.skipped,
        feature_dim: features.dim,
        training_steps: log.steps(),
        stages: clock.stages,
        files: files.into_iter().map(String::from).collect(),
    };
    folder.write(SUMMARY_FILE, serde_json::to_string_pretty(&summary)?)?;
    folder.commit()?;
    Ok(summary)
}

/// The pictures of the map: the sprite canvas, the same framed by cluster with a legend, and
/// the scatter charts by cluster and (when there are labels) by label. Returns the file names.
pub fn render_map(
    folder: &RunFolder,
    images: &ImageSet,
    coords: &[[f32; 2]],
    clusters: &[usize],
    render_config: &RenderConfig,
) -> Result<Vec<&'static str>> {
    let (plain, framed) = render::sprite_canvases(images, coords, render_config, clusters);
    render::save_png(&plain, &folder.path(CANVAS_FILE))?;
    let n_clusters = clusters.iter().copied().max().unwrap_or(0) + 1;
    let cluster_names: Vec<String> = (0..n_clusters)
        .map(|c| {
            format!(
                "cluster {c} ({})",
                clusters.iter().filter(|&&x| x == c).count()
            )
        })
        .collect();
    render::save_png(
        &render::add_legend(&framed, &cluster_names)?,
        &folder.path(CLUSTERS_FILE),
    )?;
    let mut files = vec![CANVAS_FILE, CLUSTERS_FILE];
    render::save_png(
        &render::scatter_chart(
            coords,
            clusters,
            &cluster_names,
            "UMAP map, K-Means clusters",
            1200,
        )?,
        &folder.path(MAP_CLUSTERS_FILE),
    )?;
    files.push(MAP_CLUSTERS_FILE);
    if images.has_labels() {
        let (labels, label_names) = label_groups(&images.items);
        render::save_png(
            &render::scatter_chart(coords, &labels, &label_names, "UMAP map, labels", 1200)?,
            &folder.path(MAP_LABELS_FILE),
        )?;
        files.push(MAP_LABELS_FILE);
    }
    Ok(files)
}

/// `index,x,y,cluster,label,source` for every item.
fn map_csv(coords: &[[f32; 2]], clusters: &[usize], items: &[data::Item]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["index", "x", "y", "cluster", "label", "source"])?;
    for (i, item) in items.iter().enumerate() {
        writer.write_record([
            i.to_string(),
            coords[i][0].to_string(),
            coords[i][1].to_string(),
            clusters[i].to_string(),
            item.label.clone().unwrap_or_default(),
            item.source.clone(),
        ])?;
    }
    writer.into_inner().context("cannot write map.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_trains_on_the_split_s_training_part_and_needs_labels() {
        let mut config = EncodeConfig::load(None).unwrap();
        let items: Vec<data::Item> = (0..50)
            .map(|i| data::Item {
                source: format!("s#{i}"),
                label: Some(format!("c{}", i % 5)),
            })
            .collect();
        assert_eq!(training_items(&config, &items).unwrap().len(), 50);
        config.training.holdout = true;
        let train = training_items(&config, &items).unwrap();
        let (groups, _) = label_groups(&items);
        assert_eq!(
            train,
            data::split::stratified(&groups, config.training.seed).0
        );
        assert_eq!(train.len(), 40);
        let unlabelled: Vec<data::Item> = items
            .iter()
            .map(|i| data::Item {
                label: None,
                ..i.clone()
            })
            .collect();
        let error = training_items(&config, &unlabelled)
            .unwrap_err()
            .to_string();
        assert!(error.contains("training.holdout"), "{error}");
    }
}
