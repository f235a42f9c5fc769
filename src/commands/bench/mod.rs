//! `hebb bench`: figures printed as a table, each compared with a baseline measured in the same
//! run on the same device (throughput of encode, map and hopfield; the quality suite's scores
//! against random filters and pixels); one file per command, and the timing helpers they share.

pub(crate) mod encode;
pub(crate) mod hopfield;
pub(crate) mod map;
pub(crate) mod quality;

use std::time::Instant;

use anyhow::Result;
use burn::tensor::Tensor;

use crate::compute::device::read_f32;

/// Forces queued device work to finish by reading one value of `t`.
pub(crate) fn wait_for<const D: usize>(t: Tensor<D>) -> Result<()> {
    read_f32(t.flatten::<1>(0, D - 1).slice([0..1]), "a benchmark result").map(|_| ())
}

/// Seconds per call of `f`, after one warm-up call, over `repeats` calls.
pub(crate) fn time_per_call<const D: usize>(repeats: usize, mut f: impl FnMut() -> Result<Tensor<D>>) -> Result<f64> {
    wait_for(f()?)?;
    let started = Instant::now();
    let mut last = None;
    for _ in 0..repeats {
        last = Some(f()?);
    }
    if let Some(t) = last {
        wait_for(t)?;
    }
    Ok(started.elapsed().as_secs_f64() / repeats as f64)
}

/// Seconds taken by `f`, and its result.
pub(crate) fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let started = Instant::now();
    let out = f()?;
    Ok((out, started.elapsed().as_secs_f64()))
}
