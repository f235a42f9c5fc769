//! The settings of the Hopfield experiments, each checked before any work (`check`): the command
//! line fills them in, [`crate::commands::hopfield`] runs them.

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::dynamics::Dynamics;
use super::rules::Rule;
use super::{Binarise, Corruption, Patterns, check_memory, neurons};

/// Everything one repair needs.
#[derive(Debug, Clone)]
pub(crate) struct RepairParams {
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
}

impl RepairParams {
    pub(crate) fn check(&self) -> Result<()> {
        let n = neurons(self.side)?;
        check_memory("--side", n, (self.images.len() + self.max_iterations + 2) as f64 * n as f64)?;
        if self.max_iterations == 0 {
            bail!("--max-iterations: expected at least 1");
        }
        if !(self.temperature.0 >= 0.0 && self.temperature.1 >= 0.0) {
            bail!("--temperature and --final-temperature: expected values of at least 0");
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            bail!("--beta: expected a positive number, got {}", self.beta);
        }
        Ok(())
    }
}

/// The capacity experiment's settings ([`super::capacity::run`]).
#[derive(Debug, Clone)]
pub(crate) struct CapacityParams {
    pub neurons: usize,
    /// Where the stored patterns come from: random, or a pool (e.g. MNIST digits) of which the
    /// first P are stored at each load.
    pub pool: Option<Patterns>,
    pub rules: Vec<Rule>,
    pub loads: Vec<f64>,
    pub noise: f64,
    pub trials: usize,
    pub threshold: f32,
    pub dynamics: Dynamics,
    pub max_iterations: usize,
    pub seed: u64,
}

impl CapacityParams {
    pub(crate) fn check(&self) -> Result<()> {
        if self.neurons < 2 || self.trials == 0 || self.loads.is_empty() || self.rules.is_empty() {
            bail!("capacity: need at least 2 neurons, 1 trial, 1 load and 1 rule");
        }
        if !matches!(self.dynamics, Dynamics::Sync | Dynamics::Async) {
            bail!("capacity recalls with --dynamics sync or async");
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            bail!("--threshold: expected a value in [0, 1], got {}", self.threshold);
        }
        if let Some(bad) = self.loads.iter().find(|&&load| !(load.is_finite() && load > 0.0)) {
            bail!("--loads: expected positive loads, got {bad}");
        }
        // The largest load's patterns and cues, and the sweep orders of asynchronous recall.
        let n = self.neurons as f64;
        let patterns = self.loads.iter().fold(1.0f64, |most, &load| most.max((load * n).round()));
        let states = patterns * n * (1.0 + 2.0 * self.trials as f64) + self.max_iterations as f64 * n;
        check_memory("--neurons, --loads and --trials", self.neurons, states)?;
        Ok(())
    }
}

/// The recall table's settings ([`super::table::run`]): networks storing the first example of
/// the digits 0..k, for k = 1..`max_digits`, recall a noisy 0 after each sweep count.
#[derive(Debug, Clone)]
pub(crate) struct TableParams {
    /// MNIST IDX images and their labels.
    pub images: PathBuf,
    pub labels: PathBuf,
    pub side: u32,
    pub max_digits: usize,
    pub sweeps: Vec<usize>,
    pub seed: u64,
}

impl TableParams {
    pub(crate) fn check(&self) -> Result<()> {
        if !(1..=10).contains(&self.max_digits) {
            bail!("--max-digits: expected 1 to 10, got {}", self.max_digits);
        }
        if self.sweeps.is_empty() || self.sweeps.contains(&0) {
            bail!("--sweeps: expected positive sweep counts");
        }
        let n = neurons(self.side)?;
        // The sweep orders of the longest recall, and the noisy cues.
        let most_sweeps = self.sweeps.iter().copied().max().unwrap_or(1) as f64;
        check_memory("--sweeps and --side", n, (most_sweeps + 20.0) * n as f64)?;
        Ok(())
    }
}
