//! Recall dynamics at zero temperature.
//!
//! - Synchronous: every state of every probe at once, s <- sgn(W s), as one matrix product per
//!   step over the whole batch of probes (on the device).
//! - Asynchronous: one neuron at a time, in a fresh seeded random order each sweep, until a sweep
//!   changes nothing. The energy E = -½ sᵀWs never increases under it (W symmetric, zero
//!   diagonal). At a temperature T > 0 the same sweeps run Metropolis' rule, with T annealed
//!   linearly over the sweeps.
//!
//! A local field of exactly 0 leaves the state as it is.

use crate::compute::rng::SeededRng;
use anyhow::Result;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use serde::Serialize;

use crate::choice::choice;

use super::schedule::Schedule;
use super::{Patterns, overlap};
use crate::compute::device::read_f32;
use crate::compute::hash::pcg3;

choice! {
    /// How the network recalls.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "kebab-case")]
    pub(crate) enum Dynamics {
        /// One neuron at a time in a seeded random order.
        Async = "async",
        /// All neurons at once.
        Sync = "sync",
        /// Dense (modern) Hopfield retrieval, s <- Ξᵀ softmax(β Ξ s): the rule is not used.
        Dense = "dense",
        /// The notebooks' variant: a random neuron per update, until `--patience` quiet updates or `--max-iterations` x N.
        RandomNeuron = "random-neuron",
    }
}

/// Where a recall ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attractor {
    Pattern(usize),
    Negative(usize),
    Spurious,
}

impl std::fmt::Display for Attractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attractor::Pattern(k) => write!(f, "pattern {k}"),
            Attractor::Negative(k) => write!(f, "negative of pattern {k}"),
            Attractor::Spurious => write!(f, "spurious"),
        }
    }
}

/// Which stored pattern (or its negative) a state is, if any (overlap of at least 0.95).
pub(crate) fn attractor(patterns: &Patterns, state: &[f32]) -> Attractor {
    let best = (0..patterns.count)
        .map(|k| (k, overlap(patterns.pattern(k), state)))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    match best {
        Some((k, m)) if m >= 0.95 => Attractor::Pattern(k),
        Some((k, m)) if m <= -0.95 => Attractor::Negative(k),
        _ => Attractor::Spurious,
    }
}

/// The new state for a local field `h` and the current state `s`.
fn threshold(h: f32, s: f32) -> f32 {
    if h > 0.0 {
        1.0
    } else if h < 0.0 {
        -1.0
    } else {
        s
    }
}

/// Local fields h = W s in f64, kept up to date as single states flip (W symmetric: column i is
/// row i). In f64 the sums of f32 weights are exact for any practical N, so an update costs O(1)
/// unless it flips a state (O(N)), and a field of exactly 0 stays exactly 0.
struct Fields {
    h: Vec<f64>,
}

impl Fields {
    fn new(weights: &[f32], state: &[f32]) -> Self {
        let n = state.len();
        let h = (0..n)
            .map(|i| weights[i * n..(i + 1) * n].iter().zip(state).map(|(&w, &s)| w as f64 * s as f64).sum())
            .collect();
        Self { h }
    }

    /// Records that state `i` changed by `delta` (±2).
    fn flip(&mut self, weights: &[f32], i: usize, delta: f32) {
        let n = self.h.len();
        for (h, &w) in self.h.iter_mut().zip(&weights[i * n..(i + 1) * n]) {
            *h += w as f64 * delta as f64;
        }
    }

    /// E = -½ Σ s_i h_i.
    fn energy(&self, state: &[f32]) -> f32 {
        (-0.5 * self.h.iter().zip(state).map(|(h, &s)| h * s as f64).sum::<f64>()) as f32
    }
}

/// Energy E = -½ sᵀWs of one state, with W row-major `n x n`.
pub(crate) fn energy(weights: &[f32], state: &[f32]) -> f32 {
    let n = state.len();
    let mut e = 0.0f64;
    for i in 0..n {
        let row = &weights[i * n..(i + 1) * n];
        let h: f32 = row.iter().zip(state).map(|(w, s)| w * s).sum();
        e += (h * state[i]) as f64;
    }
    (-0.5 * e) as f32
}

/// The outcome of one recall.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recall {
    pub state: Vec<f32>,
    /// Sweeps (asynchronous) or steps (synchronous) run.
    pub iterations: usize,
    /// Energy before the first iteration and after each one.
    pub energies: Vec<f32>,
    /// Snapshots of the state, the first being the cue, when recording was asked for.
    pub frames: Vec<Vec<f32>>,
}

/// Metropolis' uniform number in [0, 1) for one update: a hash of where it happens, so that the
/// GPU kernel draws the very same numbers.
pub(crate) fn metropolis_uniform(seed: u32, probe: u32, sweep: u32, step: u32, n: u32) -> f32 {
    let x = pcg3(seed, probe, sweep.wrapping_mul(n).wrapping_add(step));
    (x >> 8) as f32 / 16_777_216.0
}

/// Asynchronous recall of probe number `probe_index` of a batch under `schedule` (W symmetric).
pub(crate) fn recall_async_ordered(
    weights: &[f32],
    probe: &[f32],
    probe_index: usize,
    schedule: &Schedule,
    frames_per_sweep: usize,
) -> Recall {
    let n = probe.len();
    let mut state = probe.to_vec();
    let mut fields = Fields::new(weights, &state);
    let mut energies = vec![fields.energy(&state)];
    let mut frames = if frames_per_sweep > 0 { vec![state.clone()] } else { Vec::new() };
    let every = if frames_per_sweep > 0 { n.div_ceil(frames_per_sweep) } else { usize::MAX };
    let mut iterations = 0;
    for (sweep, order) in schedule.orders.chunks(n).enumerate() {
        iterations += 1;
        let temperature = schedule.temperature(sweep);
        let mut changed = false;
        for (step, &i) in order.iter().enumerate() {
            let i = i as usize;
            let h = fields.h[i] as f32;
            let next = if temperature > 0.0 {
                let delta = 2.0 * state[i] * h;
                let u = metropolis_uniform(schedule.seed, probe_index as u32, sweep as u32, step as u32, n as u32);
                if delta <= 0.0 || u < (-delta / temperature).exp() { -state[i] } else { state[i] }
            } else {
                threshold(h, state[i])
            };
            if next != state[i] {
                fields.flip(weights, i, next - state[i]);
                state[i] = next;
                changed = true;
            }
            if (step + 1) % every == 0 {
                frames.push(state.clone());
            }
        }
        energies.push(fields.energy(&state));
        if !changed {
            break;
        }
    }
    Recall { state, iterations, energies, frames }
}

/// The notebooks' asynchronous variant: a random neuron per update (with replacement), stopping
/// after `patience` updates in a row that change nothing or after `budget` updates (W symmetric).
pub(crate) fn relax_random_neurons(
    weights: &[f32],
    mut state: Vec<f32>,
    budget: usize,
    patience: usize,
    rng: &mut SeededRng,
) -> Vec<f32> {
    use rand::RngExt;
    let n = state.len();
    let mut fields = Fields::new(weights, &state);
    let mut unchanged = 0;
    for _ in 0..budget {
        let i = rng.random_range(0..n);
        let next = threshold(fields.h[i] as f32, state[i]);
        if next != state[i] {
            fields.flip(weights, i, next - state[i]);
            state[i] = next;
            unchanged = 0;
        } else {
            unchanged += 1;
            if unchanged > patience {
                break;
            }
        }
    }
    state
}

/// Asynchronous recall of a batch of probes (`batch x n`) under one schedule: on wgpu one
/// workgroup per probe (`shaders/hopfield_async_sweep.wgsl`), on the CPU the probes in
/// parallel. Returns the final states and each probe's sweeps.
pub fn recall_async_batch(weights: &Tensor<2>, probes: &[f32], schedule: &Schedule) -> Result<(Vec<f32>, Vec<usize>)> {
    if let Some(result) = super::sweep_kernel::recall(weights, probes, schedule) {
        return result;
    }
    let w = read_f32(weights.clone(), "the weights")?;
    let recalls: Vec<Recall> = probes
        .par_chunks(schedule.n)
        .enumerate()
        .map(|(index, probe)| recall_async_ordered(&w, probe, index, schedule, 0))
        .collect();
    let sweeps = recalls.iter().map(|r| r.iterations).collect();
    Ok((recalls.into_iter().flat_map(|r| r.state).collect(), sweeps))
}

/// Synchronous recall of a batch of probes (`probes` row-major, `batch x n`) with a dense W on
/// its device, for at most `max_steps` steps or until no probe changes. Returns the final
/// states and the steps run.
pub fn recall_sync(weights: &Tensor<2>, probes: &[f32], n: usize, max_steps: usize) -> Result<(Vec<f32>, usize)> {
    recall_sync_with(|states| dense_sync_step(weights, states), &weights.device(), probes, n, max_steps)
}

/// One synchronous update of `states` (`probes x n`) with a dense, symmetric W: on wgpu with a
/// few probes the WGSL kernel that reads W once for all of them
/// (`shaders/hopfield_sync_step.wgsl`), otherwise a matrix product then [`sync_update`].
pub(crate) fn dense_sync_step(weights: &Tensor<2>, states: Tensor<2>) -> Result<Tensor<2>> {
    match super::sync_kernel::step(weights, &states) {
        Some(next) => next,
        None => Ok(sync_update(states.clone().matmul(weights.clone()), states)),
    }
}

/// Synchronous recall under the Hebbian rule without forming W (for P ≪ N): the local fields
/// of states S are S Ξᵀ Ξ / N − (P/N) S, exactly W's with its diagonal removed. `patterns` is the
/// `P x N` pattern matrix on the device.
pub(crate) fn recall_sync_low_rank(
    patterns: &Tensor<2>,
    probes: &[f32],
    max_steps: usize,
) -> Result<(Vec<f32>, usize)> {
    let [count, n] = patterns.dims();
    let scale = 1.0 / n as f64;
    let self_weight = count as f64 / n as f64;
    let transposed = patterns.clone().transpose();
    recall_sync_with(
        |states| {
            let fields = states.clone().matmul(transposed.clone()).matmul(patterns.clone()) * scale
                - states.clone() * self_weight;
            Ok(sync_update(fields, states))
        },
        &patterns.device(),
        probes,
        n,
        max_steps,
    )
}

/// One synchronous update of `states` from their local `fields`: s <- sign(h), keeping the old
/// state where the field is exactly 0.
pub(crate) fn sync_update(fields: Tensor<2>, states: Tensor<2>) -> Tensor<2> {
    let signs = fields.sign();
    signs.clone() + (signs.abs() * -1.0 + 1.0) * states
}

/// The synchronous loop over any way of computing the next states.
fn recall_sync_with(
    step: impl Fn(Tensor<2>) -> Result<Tensor<2>>,
    device: &burn::tensor::Device,
    probes: &[f32],
    n: usize,
    max_steps: usize,
) -> Result<(Vec<f32>, usize)> {
    let batch = probes.len() / n;
    let mut states: Tensor<2> = Tensor::from_data(TensorData::new(probes.to_vec(), [batch, n]), device);
    let mut steps = 0;
    while steps < max_steps {
        steps += 1;
        let next = step(states.clone())?;
        let changed = read_f32((next.clone() - states).abs().sum(), "states")?[0];
        states = next;
        if changed == 0.0 {
            break;
        }
    }
    let values = read_f32(states, "states")?;
    Ok((values, steps))
}

/// Dense (modern) Hopfield retrieval (Ramsauer et al. 2020): s <- Ξᵀ softmax(β Ξ s), `steps`
/// times, for a batch of probes; returns the signs of the final states. With a large β it
/// retrieves strongly correlated patterns that the classical rules merge.
pub(crate) fn recall_dense(patterns: &Tensor<2>, probes: &[f32], beta: f64, steps: usize) -> Result<Vec<f32>> {
    let [_, n] = patterns.dims();
    let batch = probes.len() / n;
    let mut states: Tensor<2> = Tensor::from_data(TensorData::new(probes.to_vec(), [batch, n]), &patterns.device());
    for _ in 0..steps.max(1) {
        let attention = burn::tensor::activation::softmax(states.matmul(patterns.clone().transpose()) * beta, 1);
        states = attention.matmul(patterns.clone());
    }
    let signs = states.sign();
    let values = read_f32(signs, "states")?;
    Ok(values.into_iter().map(|v| if v < 0.0 { -1.0 } else { 1.0 }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hopfield::rules::{Rule, learn};
    use crate::hopfield::{Patterns, flip_fraction, hamming};
    use burn::tensor::Device;

    fn weights(rule: Rule, patterns: &Patterns) -> (Tensor<2>, Vec<f32>) {
        let w = learn(rule, patterns, &Device::flex()).unwrap();
        let values = w.clone().into_data().try_into_vec::<f32>().unwrap();
        (w, values)
    }

    /// Asynchronous recall of one probe in a fresh seeded order each sweep at T = 0;
    /// `frames_per_sweep` > 0 records that many snapshots a sweep.
    fn recall_async(weights: &[f32], probe: &[f32], max_sweeps: usize, seed: u64, frames_per_sweep: usize) -> Recall {
        recall_async_ordered(
            weights,
            probe,
            0,
            &Schedule::zero_temperature(probe.len(), max_sweeps, seed),
            frames_per_sweep,
        )
    }

    #[test]
    fn energy_never_increases_under_asynchronous_updates() {
        let p = Patterns::random(20, 100, 3);
        let (_, w) = weights(Rule::Hebbian, &p);
        let cue = flip_fraction(p.pattern(0), 0.4, 1).unwrap();
        let recall = recall_async(&w, &cue, 50, 7, 0);
        for pair in recall.energies.windows(2) {
            assert!(pair[1] <= pair[0] + 1e-4, "{:?}", recall.energies);
        }
    }

    #[test]
    fn stored_patterns_and_their_negatives_are_fixed_points_at_low_load() {
        // P = 0.05 N.
        let p = Patterns::random(10, 200, 8);
        for rule in [Rule::Hebbian, Rule::Storkey, Rule::PseudoInverse] {
            let (w_tensor, w) = weights(rule, &p);
            for k in 0..p.count {
                let pattern = p.pattern(k);
                let negative: Vec<f32> = pattern.iter().map(|s| -s).collect();
                for probe in [pattern.to_vec(), negative] {
                    let recall = recall_async(&w, &probe, 5, 1, 0);
                    assert_eq!(recall.state, probe, "{rule:?} pattern {k}");
                    assert_eq!(recall.iterations, 1);
                    let (sync, _) = recall_sync(&w_tensor, &probe, p.len, 5).unwrap();
                    assert_eq!(sync, probe, "{rule:?} pattern {k}, synchronous");
                }
            }
        }
    }

    #[test]
    fn low_rank_hebbian_recall_equals_the_dense_one() {
        let p = Patterns::random(6, 256, 12);
        let (w, _) = weights(Rule::Hebbian, &p);
        let xi = p.to_tensor(&Device::flex());
        let mut probes = Vec::new();
        for k in 0..8 {
            probes.extend(flip_fraction(p.pattern(k % 6), 0.3, 40 + k as u64).unwrap());
        }
        let dense = recall_sync(&w, &probes, p.len, 20).unwrap();
        let low_rank = recall_sync_low_rank(&xi, &probes, 20).unwrap();
        assert_eq!(dense, low_rank);
    }

    #[test]
    fn dense_retrieval_separates_correlated_patterns_the_hebbian_rule_merges() {
        // Three patterns that agree on 90% of their states.
        let n = 200;
        let base = Patterns::random(1, n, 3);
        let mut states = Vec::new();
        for k in 0..3u64 {
            states.extend(flip_fraction(base.pattern(0), 0.1, 100 + k).unwrap());
        }
        let p = Patterns::new(3, n, states).unwrap();
        let cue = flip_fraction(p.pattern(1), 0.05, 7).unwrap();
        let (w, _) = weights(Rule::Hebbian, &p);
        let (hebbian, _) = recall_sync(&w, &cue, n, 20).unwrap();
        assert_ne!(hebbian, p.pattern(1), "the classical rule falls into the mixture");
        let xi = p.to_tensor(&Device::flex());
        let dense = recall_dense(&xi, &cue, 1.0, 3).unwrap();
        assert_eq!(dense, p.pattern(1));
    }

    #[test]
    fn metropolis_melts_memories_when_hot_and_recalls_when_annealed() {
        let p = Patterns::random(5, 300, 21);
        let (w, _) = weights(Rule::Hebbian, &p);
        let cue = flip_fraction(p.pattern(2), 0.2, 5).unwrap();
        let hot = recall_async_batch(&w, &cue, &Schedule::new(300, 10, 1, 5.0, 5.0)).unwrap().0;
        assert!(crate::hopfield::overlap(p.pattern(2), &hot).abs() < 0.5, "at T = 5 the memory melts");
        let annealed = recall_async_batch(&w, &cue, &Schedule::new(300, 15, 1, 0.3, 0.0)).unwrap().0;
        assert_eq!(annealed, p.pattern(2), "annealed to T = 0 it recalls");
        assert_eq!(annealed, recall_async_batch(&w, &cue, &Schedule::new(300, 15, 1, 0.3, 0.0)).unwrap().0, "seeded");
    }

    #[test]
    fn noisy_cues_are_repaired_in_batch() {
        let p = Patterns::random(5, 400, 2);
        let (w_tensor, w) = weights(Rule::Hebbian, &p);
        let mut probes = Vec::new();
        for k in 0..p.count {
            probes.extend(flip_fraction(p.pattern(k), 0.2, k as u64).unwrap());
        }
        let (states, _) = recall_sync(&w_tensor, &probes, p.len, 20).unwrap();
        for k in 0..p.count {
            assert_eq!(hamming(&states[k * p.len..(k + 1) * p.len], p.pattern(k)), 0);
            let single = recall_async(&w, &probes[k * p.len..(k + 1) * p.len], 20, 3, 0);
            assert_eq!(single.state, p.pattern(k));
        }
    }
}
