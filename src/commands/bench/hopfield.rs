//! `bench hopfield` times recall with a dense W against the low-rank Hebbian path (same
//! patterns, same probes), Storkey learning, a small capacity experiment, and one synchronous
//! sweep with a dense W against the device's own rates for reading W and for fp32 GEMM.
//!

use anyhow::Result;
use burn::tensor::{Device, Distribution, Tensor};

use super::{time_per_call, timed, wait_for};
use crate::compute::device::{ComputeDevice, is_wgpu};
use crate::hopfield::capacity;
use crate::hopfield::dynamics::{Dynamics, dense_sync_step, recall_sync, recall_sync_low_rank, sync_update};
use crate::hopfield::params::CapacityParams;
use crate::hopfield::rules::{Rule, learn};
use crate::hopfield::{self, Patterns, flip_fraction};

/// One synchronous sweep with a dense `n x n` W (Hebbian, P = 5), for one probe and for 1,000,
/// each against a baseline measured here on the same device: for one probe, reading W once (a
/// sum over all of W, the memory-bound floor of a matrix-vector product); for 1,000 probes, the
/// device's fp32 matrix-product rate on a square 4096 GEMM. Rows: (name, value, unit).
fn dense_sweep_rows(n: usize, device: &Device) -> Result<Vec<(String, f64, &'static str)>> {
    let weights = learn(Rule::Hebbian, &Patterns::random(5, n, 4), device)?;
    let repeats = 5;
    let read_s = time_per_call(repeats, || Ok(weights.clone().sum()))?;
    let w_bytes = (n * n * 4) as f64;
    let mut rows = vec![
        (format!("read W once (sum of all N² entries), N = {n}"), read_s * 1e3, "ms"),
        ("  read rate".to_string(), w_bytes / read_s / 1e9, "GB/s"),
    ];
    let probes_of = |count: usize| Tensor::<2>::random([count, n], Distribution::Uniform(-1.0, 1.0), device).sign();
    let sweep = |probes: usize| {
        let states = probes_of(probes);
        time_per_call(repeats, || dense_sync_step(&weights, states.clone()))
    };
    let one_s = sweep(1)?;
    rows.push((format!("sync sweep, 1 probe, dense W, N = {n}"), one_s * 1e3, "ms"));
    rows.push(("  1-probe sweep / read W once (target <= 2 on a GPU)".to_string(), one_s / read_s, "x"));
    if is_wgpu(device) {
        // The same update as a matrix product, which is what the WGSL kernel replaces here.
        let states = probes_of(1);
        let product_s =
            time_per_call(repeats, || Ok(sync_update(states.clone().matmul(weights.clone()), states.clone())))?;
        rows.push(("  1-probe sweep as a matrix product (baseline)".to_string(), product_s * 1e3, "ms"));
    }
    let side = 4096;
    let a = Tensor::<2>::random([side, side], Distribution::Uniform(-1.0, 1.0), device);
    let gemm_s = time_per_call(repeats, || Ok(a.clone().matmul(a.clone())))?;
    let gemm_rate = 2.0 * (side as f64).powi(3) / gemm_s;
    rows.push((format!("fp32 GEMM {side} x {side} x {side} (rate baseline)"), gemm_rate / 1e9, "GFLOP/s"));
    let probes = 1000;
    let batch_s = sweep(probes)?;
    let flops = 2.0 * probes as f64 * (n as f64).powi(2);
    rows.push((format!("sync sweep, {probes} probes, dense W, N = {n}"), batch_s * 1e3, "ms"));
    rows.push(("  sweep rate".to_string(), flops / batch_s / 1e9, "GFLOP/s"));
    rows.push((
        format!("  {probes}-probe sweep / time at GEMM rate (target <= 3 on a GPU)"),
        batch_s / (flops / gemm_rate),
        "x",
    ));
    Ok(rows)
}

/// Runs the Hopfield benchmark and returns the printed table.
pub(crate) fn run(device: &ComputeDevice, dense_neurons: usize) -> Result<String> {
    // W, and 1,000 probes of the dense sweep with their results.
    hopfield::check_memory("--dense-neurons", dense_neurons, 2000.0 * dense_neurons as f64)?;
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
        rows.push((format!("sync recall, {probes} probe(s), dense W ({dense_steps} steps)"), dense_s));
        rows.push((format!("sync recall, {probes} probe(s), low-rank, no W ({low_rank_steps} steps)"), low_rank_s));
        rows.push((format!("  dense / low-rank, {probes} probe(s) (ratio)"), dense_s / low_rank_s));
    }
    let storkey_patterns = Patterns::random(3, 4096, 2);
    let (_, storkey_s) = timed(|| learn(Rule::Storkey, &storkey_patterns, dev).and_then(wait_for))?;
    rows.push(("Storkey W, N = 4096, P = 3".to_string(), storkey_s));
    // The seed notebook's capacity experiment: N = 400, Hebbian and daydreaming, 10 loads,
    // 5 noisy cues (30%) per pattern, 90% overlap, asynchronous recall.
    let settings = CapacityParams {
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
    rows.push(("capacity, N = 400, 10 loads, Hebbian + daydreaming, 5 trials".to_string(), capacity_s));

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
