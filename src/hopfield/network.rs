//! `hebb hopfield store` and `recall`: a network saved in a run folder (`network.json` with the
//! settings and sources, `weights.npy`, `patterns.npy`, and `overlaps.png`, the heatmap of the
//! stored patterns' pairwise overlaps), and recall of a cue — an image file or a mixture of
//! stored patterns — reporting the attractor it reaches.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use image::RgbImage;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::dynamics::{Attractor, Recall, attractor, recall_async_ordered};
use super::rules::Rule;
use super::schedule::Schedule;
use super::{Binarise, Patterns, image_file_pattern, image_pattern, neurons, overlap_matrix};
use crate::config::{ColorMode, FolderConfig, FolderLayout, GridOrder, MnistConfig, SheetConfig};
use crate::data::{ImageSet, Part, folder, mnist, sheet};
use crate::progress::Progress;
use crate::render::{self, item_image};
use crate::run::RunFolder;
use crate::run::npy::{read_npy_f32, write_npy_f32};

/// Where the stored patterns come from.
#[derive(Debug, Clone)]
pub(crate) enum PatternSource {
    Folder {
        root: PathBuf,
        limit: usize,
    },
    /// A sprite sheet of `tile`-px sprites with a `border`-px transparent border (0 keeps all).
    Sheet {
        path: PathBuf,
        tile: u32,
        border: u32,
        limit: usize,
    },
    Mnist {
        images: PathBuf,
        limit: usize,
    },
    Random {
        count: usize,
        seed: u64,
    },
}

/// What `network.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NetworkInfo {
    pub side: u32,
    pub rule: Rule,
    pub binarise: Binarise,
    /// One description per stored pattern.
    pub sources: Vec<String>,
}

/// A stored network, read back.
pub(crate) struct Network {
    pub info: NetworkInfo,
    pub patterns: Patterns,
    pub weights: Vec<f32>,
}

fn patterns_of(images: &ImageSet, side: u32, binarise: Binarise) -> Vec<f32> {
    (0..images.len()).flat_map(|i| image_pattern(&item_image(images, i), side, binarise)).collect()
}

/// Builds the patterns of a source.
pub(crate) fn load_patterns(source: &PatternSource, side: u32, binarise: Binarise) -> Result<(Patterns, Vec<String>)> {
    let n = neurons(side)?;
    let (states, sources): (Vec<f32>, Vec<String>) = match source {
        PatternSource::Folder { root, limit } => {
            let config = FolderConfig {
                root: root.clone(),
                layout: FolderLayout::Classes,
                limit: *limit,
                per_class: 0,
                seed: 0,
                names: None,
            };
            let images = folder::load(&config, side as usize, ColorMode::Rgba, Part::All, Progress::Hidden)?;
            (patterns_of(&images, side, binarise), images.items.iter().map(|i| i.source.clone()).collect())
        }
        PatternSource::Sheet { path, tile, border, limit } => {
            let config = SheetConfig {
                path: path.clone(),
                tile_size: *tile,
                border: *border,
                order: GridOrder::RowMajor,
                max_sprites: *limit,
                skip_empty: true,
                labels: None,
                label_column: String::new(),
                name_column: None,
                column_key: String::new(),
                row_key: String::new(),
                include: Default::default(),
            };
            let images = sheet::load_with_keys(&config, side as usize, ColorMode::Rgba, "--tile and --border")?;
            (patterns_of(&images, side, binarise), images.items.iter().map(|i| i.source.clone()).collect())
        }
        PatternSource::Mnist { images, limit } => {
            let config = MnistConfig { images: images.clone(), labels: None, limit: *limit };
            let set = mnist::load(&config, side as usize, ColorMode::Grey)?;
            (patterns_of(&set, side, binarise), set.items.iter().map(|i| i.source.clone()).collect())
        }
        PatternSource::Random { count, seed } => {
            let p = Patterns::random(*count, n, *seed);
            (p.states, (0..*count).map(|i| format!("random #{i} (seed {seed})")).collect())
        }
    };
    let count = sources.len();
    Ok((Patterns::new(count, n, states)?, sources))
}

/// Heatmap of a `count x count` overlap matrix, from -1 (blue) through 0 (white) to 1 (red).
pub(crate) fn overlap_heatmap(overlaps: &[f32], count: usize) -> Result<RgbImage> {
    let size = 800u32;
    render::plot(size, size, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("pairwise overlap ξa·ξb / N", (render::FONT, 22))
            .margin(16)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0..count, 0..count)
            .map_err(render::plot_error)?;
        chart.configure_mesh().disable_mesh().label_style((render::FONT, 13)).draw().map_err(render::plot_error)?;
        let colour = |m: f32| {
            let t = m.clamp(-1.0, 1.0);
            let fade = |c: f32| (255.0 * (1.0 - t.abs()) + c * t.abs()) as u8;
            if t >= 0.0 {
                RGBColor(fade(200.0), fade(30.0), fade(30.0))
            } else {
                RGBColor(fade(30.0), fade(60.0), fade(200.0))
            }
        };
        chart
            .draw_series((0..count * count).map(|k| {
                let (a, b) = (k / count, k % count);
                Rectangle::new([(b, a), (b + 1, a + 1)], colour(overlaps[k]).filled())
            }))
            .map_err(render::plot_error)?;
        Ok(())
    })
}

/// Saves a learned network in a new run folder at `run_dir`: `network.json`, `weights.npy`,
/// `patterns.npy` and the patterns' overlaps as `overlaps.png` ([`Network::open`] reads it back).
pub(crate) fn save(info: &NetworkInfo, patterns: &Patterns, weights: &[f32], run_dir: &Path) -> Result<()> {
    let folder = RunFolder::create(run_dir)?;
    folder.write("network.json", serde_json::to_string_pretty(info)?)?;
    write_npy_f32(&folder.path("weights.npy"), patterns.len, patterns.len, weights)?;
    write_npy_f32(&folder.path("patterns.npy"), patterns.count, patterns.len, &patterns.states)?;
    render::save_png(&overlap_heatmap(&overlap_matrix(patterns), patterns.count)?, &folder.path("overlaps.png"))?;
    folder.commit()?;
    Ok(())
}

impl Network {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("network folder {} does not exist (run `hebb hopfield store` first)", dir.display());
        }
        let path = dir.join("network.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let info: NetworkInfo =
            serde_json::from_str(&text).with_context(|| format!("{} is not a network description", path.display()))?;
        let (count, n, states) = read_npy_f32(&dir.join("patterns.npy"))?;
        let (rows, cols, weights) = read_npy_f32(&dir.join("weights.npy"))?;
        let neurons = info.side as u64 * info.side as u64;
        if n as u64 != neurons || count != info.sources.len() {
            bail!(
                "{} holds {count} patterns of {n} states, but {} describes {} patterns of {neurons} neurons \
                 (side {}); store the network again",
                dir.join("patterns.npy").display(),
                path.display(),
                info.sources.len(),
                info.side
            );
        }
        if (rows, cols) != (n, n) {
            bail!(
                "{} is {rows} x {cols}, but the network has {n} neurons ({}); store the network again",
                dir.join("weights.npy").display(),
                path.display()
            );
        }
        if let Some(at) = weights.iter().position(|w| !w.is_finite()) {
            bail!(
                "{}: weight ({}, {}) is {} (not a finite number); store the network again",
                dir.join("weights.npy").display(),
                at / n,
                at % n,
                weights[at]
            );
        }
        if let Some(at) = states.iter().position(|&s| s != 1.0 && s != -1.0) {
            bail!(
                "{}: pattern {} holds {} where every state is +1 or -1",
                dir.join("patterns.npy").display(),
                at / n,
                states[at]
            );
        }
        Ok(Self { info, patterns: Patterns::new(count, n, states)?, weights })
    }

    /// The sign of the average of the stored patterns `indices` (ties to +1): a mixture state.
    pub(crate) fn mixture(&self, indices: &[usize]) -> Result<Vec<f32>> {
        if indices.is_empty() {
            bail!("--mix: name at least one stored pattern");
        }
        if let Some(bad) = indices.iter().find(|&&i| i >= self.patterns.count) {
            bail!("--mix: pattern {bad} does not exist; the network stores 0..{}", self.patterns.count - 1);
        }
        Ok((0..self.patterns.len)
            .map(|j| if indices.iter().map(|&i| self.patterns.pattern(i)[j]).sum::<f32>() >= 0.0 { 1.0 } else { -1.0 })
            .collect())
    }

    /// The cue an image file gives.
    pub(crate) fn cue_from_image(&self, path: &Path) -> Result<Vec<f32>> {
        image_file_pattern(path, self.info.side, self.info.binarise)
    }

    /// Asynchronous recall of a cue; returns the recall and the attractor it reached.
    pub(crate) fn recall(&self, cue: &[f32], max_sweeps: usize, seed: u64) -> (Recall, Attractor) {
        let schedule = Schedule::zero_temperature(cue.len(), max_sweeps, seed);
        let recall = recall_async_ordered(&self.weights, cue, 0, &schedule, 0);
        let reached = attractor(&self.patterns, &recall.state);
        (recall, reached)
    }
}
