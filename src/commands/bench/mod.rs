//! `hebb bench`: figures printed as a table, each compared with a baseline measured in the same
//! run on the same device (throughput of encode, map and hopfield; the quality suite's scores
//! against random filters and pixels); one file per command, and the timing helpers they share.

pub(crate) mod encode;
pub(crate) mod folder;
pub(crate) mod hopfield;
pub(crate) mod map;
pub(crate) mod quality;
pub(crate) mod suite;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
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

/// Refuses a report's output path that holds something hebb did not write (a JSON file whose
/// `format` is not `format`), and makes its folder, before any work; `example` names the file
/// kind ("quality.json").
pub(crate) fn check_report_output(path: &Path, format: &str, example: &str) -> Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("--output {}: cannot create its folder {}", path.display(), folder.display()))?;
    }
    if path.is_dir() {
        bail!("--output {}: is a folder; give a file name such as {example}", path.display());
    }
    if path.exists() {
        let ours = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|json| json.get("format").and_then(|f| f.as_str()) == Some(format));
        if !ours {
            bail!(
                "--output {}: exists and is not a {example} that hebb wrote; choose another path or remove it",
                path.display()
            );
        }
    }
    Ok(())
}
