//! `hebb eval`: how well a finished run's embedding agrees with its data set's labels, next to
//! the random-filter and pixel baselines ([`crate::eval`]).

use anyhow::{Context, Result, bail};

use crate::compute::device::ComputeDevice;
use crate::data::label_groups;
use crate::eval::{EvalOptions, Scores, evaluate_features};
use crate::run::Run;

/// Evaluates a run and its two baselines.
pub(crate) fn evaluate(run: &Run, device: &ComputeDevice, options: EvalOptions, quiet: bool) -> Result<Vec<Scores>> {
    if !run.items.iter().any(|i| i.label.is_some()) {
        bail!("run {} has no labels to evaluate against", run.dir.display());
    }
    let (labels, _) = label_groups(&run.items);
    let images = run.load_images(quiet)?;
    evaluate_features(&run.config, &images, &labels, &run.features, device, options, quiet)
        .with_context(|| format!("run {}", run.dir.display()))
}
