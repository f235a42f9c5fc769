//! `hebb hopfield repair`: the self-repairing picture. Stores one image (and optionally others),
//! corrupts it, lets the network recall it, and writes a strip (original | corrupted | recalled)
//! and an animated GIF of the recall into a run folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::Tensor;
use image::codecs::gif::GifEncoder;
use image::{Delay, Frame, GrayImage, RgbaImage, imageops::FilterType};
use serde::Serialize;

use super::dynamics::{
    Dynamics, Recall, attractor, energy, recall_async_ordered, recall_dense, recall_sync, relax_random_neurons,
};
use super::rules::{Rule, learn};
use super::schedule::Schedule;
use super::{
    Binarise, Corruption, Patterns, accuracy, corrupt, image_file_pattern, neurons, overlap, pattern_image,
    pattern_silhouette,
};
use crate::compute::device::{ComputeDevice, read_f32};
use crate::run::RunFolder;

/// Everything one repair needs.
#[derive(Debug, Clone)]
pub(crate) struct RepairSettings {
    /// The image to repair, then any others to store beside it.
    pub images: Vec<PathBuf>,
    pub side: u32,
    pub binarise: Binarise,
    pub corruption: Corruption,
    pub rule: Rule,
    pub dynamics: Dynamics,
    pub max_iterations: usize,
    /// Inverse temperature of dense retrieval.
    pub beta: f64,
    /// Temperature of asynchronous recall at the first and the last sweep (0, 0: deterministic).
    pub temperature: (f32, f32),
    /// Unchanged updates in a row that end a random-neuron recall.
    pub patience: usize,
    pub seed: u64,
    pub run_dir: PathBuf,
}

/// What a repair reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RepairReport {
    pub run_dir: PathBuf,
    pub stored: usize,
    pub neurons: usize,
    pub rule: Rule,
    pub dynamics: Dynamics,
    pub iterations: usize,
    pub accuracy_before: f32,
    pub accuracy_after: f32,
    pub overlap_before: f32,
    pub overlap_after: f32,
    pub energy_before: f32,
    pub energy_after: f32,
    /// "pattern k", "negative of pattern k", or "spurious".
    pub landed_on: String,
}

impl RepairReport {
    pub(crate) fn table(&self) -> String {
        format!(
            "run folder   {}\nnetwork      {} neurons, {} stored, {} rule, {} recall ({} iterations)\n\
             accuracy     {:.4} -> {:.4}\noverlap      {:.4} -> {:.4}\nenergy       {:.2} -> {:.2}\nlanded on    {}",
            self.run_dir.display(),
            self.neurons,
            self.stored,
            self.rule,
            self.dynamics,
            self.iterations,
            self.accuracy_before,
            self.accuracy_after,
            self.overlap_before,
            self.overlap_after,
            self.energy_before,
            self.energy_after,
            self.landed_on
        )
    }
}

fn sync_recall(weights: &Tensor<2>, w: &[f32], cue: &[f32], max_steps: usize) -> Result<Recall> {
    let mut state = cue.to_vec();
    let mut frames = vec![state.clone()];
    let mut energies = vec![energy(w, &state)];
    let mut iterations = 0;
    while iterations < max_steps {
        let (next, _) = recall_sync(weights, &state, cue.len(), 1)?;
        iterations += 1;
        let done = next == state;
        state = next;
        frames.push(state.clone());
        energies.push(energy(w, &state));
        if done {
            break;
        }
    }
    Ok(Recall { state, iterations, energies, frames })
}

fn upscale(picture: &GrayImage, side: u32) -> RgbaImage {
    let rgba = image::DynamicImage::ImageLuma8(picture.clone()).to_rgba8();
    image::imageops::resize(&rgba, side, side, FilterType::Nearest)
}

/// Runs one repair and writes its run folder.
pub fn run(settings: &RepairSettings, device: &ComputeDevice) -> Result<RepairReport> {
    let n = neurons(settings.side)?;
    let mut states = Vec::with_capacity(settings.images.len() * n);
    for path in &settings.images {
        states.extend(image_file_pattern(path, settings.side, settings.binarise)?);
    }
    let patterns = Patterns::new(settings.images.len(), n, states)?;
    let weights = learn(settings.rule, &patterns, &device.device)?;
    let w = read_f32(weights.clone(), "the weights")?;
    let original = patterns.pattern(0);
    let cue = corrupt(original, settings.side as usize, settings.corruption, settings.seed)?;
    let recall = match settings.dynamics {
        Dynamics::Async => {
            let schedule = Schedule::new(
                n,
                settings.max_iterations,
                settings.seed,
                settings.temperature.0,
                settings.temperature.1,
            );
            recall_async_ordered(&w, &cue, 0, &schedule, 10)
        }
        Dynamics::Sync => sync_recall(&weights, &w, &cue, settings.max_iterations)?,
        Dynamics::RandomNeuron => {
            let mut rng = crate::compute::rng::seeded(settings.seed);
            let state = relax_random_neurons(&w, cue.clone(), settings.max_iterations * n, settings.patience, &mut rng);
            let energies = vec![energy(&w, &cue), energy(&w, &state)];
            Recall { frames: vec![cue.clone(), state.clone()], state, iterations: 1, energies }
        }
        Dynamics::Dense => {
            let state =
                recall_dense(&patterns.to_tensor(&device.device), &cue, settings.beta, settings.max_iterations)?;
            let energies = vec![energy(&w, &cue), energy(&w, &state)];
            Recall { frames: vec![cue.clone(), state.clone()], state, iterations: settings.max_iterations, energies }
        }
    };

    let shown = (settings.side * (256 / settings.side).max(1)).max(settings.side);
    let folder = RunFolder::create(&settings.run_dir)?;
    let gap = 8;
    let mut strip = RgbaImage::from_pixel(3 * shown + 4 * gap, shown + 2 * gap, image::Rgba([128, 128, 128, 255]));
    for (i, state) in [original, &cue, &recall.state].into_iter().enumerate() {
        let panel = upscale(&pattern_image(state, settings.side), shown);
        image::imageops::overlay(&mut strip, &panel, (gap + i as u32 * (shown + gap)) as i64, gap as i64);
    }
    strip.save_with_format(folder.path("strip.png"), image::ImageFormat::Png).context("cannot write strip.png")?;
    let recalled = if settings.binarise == Binarise::Alpha {
        pattern_silhouette(&recall.state, settings.side)
    } else {
        image::DynamicImage::ImageLuma8(pattern_image(&recall.state, settings.side)).to_rgba8()
    };
    recalled
        .save_with_format(folder.path("recalled.png"), image::ImageFormat::Png)
        .context("cannot write recalled.png")?;
    let gif = std::fs::File::create(folder.path("recall.gif")).context("cannot create recall.gif")?;
    let mut encoder = GifEncoder::new(gif);
    encoder.set_repeat(image::codecs::gif::Repeat::Infinite).context("cannot write recall.gif")?;
    let frames = recall.frames.iter().map(|state| {
        Frame::from_parts(
            upscale(&pattern_image(state, settings.side), shown),
            0,
            0,
            Delay::from_numer_denom_ms(120, 1),
        )
    });
    encoder.encode_frames(frames).context("cannot write recall.gif")?;
    drop(encoder);

    let report = RepairReport {
        run_dir: settings.run_dir.clone(),
        stored: patterns.count,
        neurons: n,
        rule: settings.rule,
        dynamics: settings.dynamics,
        iterations: recall.iterations,
        accuracy_before: accuracy(original, &cue),
        accuracy_after: accuracy(original, &recall.state),
        overlap_before: overlap(original, &cue),
        overlap_after: overlap(original, &recall.state),
        energy_before: recall.energies[0],
        energy_after: *recall.energies.last().unwrap_or(&recall.energies[0]),
        landed_on: attractor(&patterns, &recall.state).to_string(),
    };
    folder.write("summary.json", serde_json::to_string_pretty(&report)?)?;
    folder.commit()?;
    Ok(report)
}
