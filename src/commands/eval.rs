//! `hebb eval`: how well a finished run's embedding agrees with its data set's labels, next to
//! the random-filter and pixel baselines ([`crate::eval`]); with `--test-split`, also scored the
//! way papers report (the probe fitted on the run's training split, scored on the test split).

use anyhow::{Context, Result, bail};

use crate::compute::device::ComputeDevice;
use crate::data::{self, Item, label_groups};
use crate::encoder::{HebbianEncoder, features};
use crate::eval::{EvalOptions, Scores, TestSplit, evaluate_features};
use crate::run::{ENCODER_FILE, Run};

/// Evaluates a run and its two baselines, on the data set's test split too when `test_split`.
pub(crate) fn evaluate(
    run: &Run,
    device: &ComputeDevice,
    options: EvalOptions,
    test_split: bool,
    quiet: bool,
) -> Result<Vec<Scores>> {
    if !run.items.iter().any(|i| i.label.is_some()) {
        bail!("run {} has no labels to evaluate against", run.dir.display());
    }
    let test_config = match test_split {
        true => Some(data::test_split_of(&run.config.data).with_context(|| {
            format!(
                "--test-split: run {} was not trained on a training split hebb knows the test split of (CIFAR or \
                 STL-10 with split = \"train\", MNIST's train-images file with its t10k- files beside it)",
                run.dir.display()
            )
        })?),
        false => None,
    };
    let images = run.load_images(quiet)?;
    let test = match test_config {
        Some(config) => {
            let test_images = data::load(&config, quiet).context("--test-split: the test split")?;
            let encoder = HebbianEncoder::load(&run.config, &run.dir.join(ENCODER_FILE), &device.device)?;
            let batch_size = run.config.training.batch_size;
            let features = features::extract(&encoder, &test_images, batch_size, &device.device, quiet)?;
            Some((test_images, features))
        }
        None => None,
    };
    let (labels, test) = match test {
        Some((test_images, features)) => {
            // One numbering of the labels for both splits.
            let both: Vec<Item> = run.items.iter().chain(&test_images.items).cloned().collect();
            let mut labels = label_groups(&both).0;
            let test_labels = labels.split_off(run.items.len());
            (labels, Some(TestSplit { images: test_images, labels: test_labels, features }))
        }
        None => (label_groups(&run.items).0, None),
    };
    evaluate_features(&run.config, &images, &labels, &run.features, test.as_ref(), device, options, quiet)
        .with_context(|| format!("run {}", run.dir.display()))
}
