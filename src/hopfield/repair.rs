//! The self-repairing picture: stores one image (and optionally others), corrupts it and lets
//! the network recall it, keeping every state of the recall for the pictures
//! (`hebb hopfield repair` writes them: [`crate::commands::hopfield`]).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::Tensor;
use serde::Serialize;

use super::dynamics::{
    Attractor, Dynamics, Recall, attractor, energy, recall_async_ordered, recall_dense, recall_sync,
    relax_random_neurons,
};
use super::params::RepairParams;
use super::rules::{Rule, learn};
use super::schedule::Schedule;
use super::{Patterns, accuracy, corrupt, image_file_pattern, neurons, overlap};
use crate::compute::device::{ComputeDevice, read_f32};

/// One repair: the stored picture, its corrupted cue and the recall from it.
pub(crate) struct Repair {
    pub stored: usize,
    pub neurons: usize,
    /// The first image's pattern, the cue made from it, and the recall from the cue.
    pub original: Vec<f32>,
    pub cue: Vec<f32>,
    pub recall: Recall,
    pub landed_on: Attractor,
}

impl Repair {
    /// The report of this repair, written to `run_dir`.
    pub(crate) fn report(&self, settings: &RepairParams, run_dir: &Path) -> RepairReport {
        let (original, state) = (&self.original, &self.recall.state);
        RepairReport {
            run_dir: run_dir.to_path_buf(),
            stored: self.stored,
            neurons: self.neurons,
            rule: settings.rule,
            dynamics: settings.dynamics,
            iterations: self.recall.iterations,
            accuracy_before: accuracy(original, &self.cue),
            accuracy_after: accuracy(original, state),
            overlap_before: overlap(original, &self.cue),
            overlap_after: overlap(original, state),
            energy_before: self.recall.energies[0],
            energy_after: *self.recall.energies.last().unwrap_or(&self.recall.energies[0]),
            landed_on: self.landed_on.to_string(),
        }
    }
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

/// Stores the images, corrupts the first and recalls it.
pub(crate) fn repair(settings: &RepairParams, device: &ComputeDevice) -> Result<Repair> {
    settings.check()?;
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
    Ok(Repair {
        stored: patterns.count,
        neurons: n,
        original: original.to_vec(),
        cue,
        landed_on: attractor(&patterns, &recall.state),
        recall,
    })
}
