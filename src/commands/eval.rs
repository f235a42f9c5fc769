//! `hebb eval`: how well a finished run's embedding agrees with its data set's labels, next to
//! the random-filter and pixel baselines ([`crate::eval`]); with `--test-split`, also scored the
//! way papers report (the probe fitted on the run's training split, scored on the test split).

use anyhow::{Context, Result, bail};

use crate::compute::device::RunContext;
use crate::compute::features::Features;
use crate::config::DataConfig;
use crate::data::{self, ImageSet, Item, label_groups};
use crate::encoder::{HebbianEncoder, features};
use crate::eval::{EvalOptions, Scores, TestSplit, evaluate_features};
use crate::run::{ENCODER_FILE, Run};

/// Evaluates a run and its two baselines, on the data set's test split too when `test_split`
/// ([`data::probe_splits_of`]): the probe is fitted on the training split (the run's items, or
/// STL-10's labelled `train` after a run on `unlabeled`, encoded with the run's encoder).
pub(crate) fn evaluate(run: &Run, context: &RunContext, options: EvalOptions, test_split: bool) -> Result<Vec<Scores>> {
    let progress = context.progress;
    let splits = match test_split {
        true => Some(data::probe_splits_of(&run.config.data).with_context(|| {
            format!(
                "--test-split: run {} was not trained on a split hebb knows the test split of (CIFAR or STL-10 with \
                 split = \"train\", STL-10's \"unlabeled\", MNIST's train-images file with its t10k- files beside it)",
                run.dir.display()
            )
        })?),
        false => None,
    };
    let own_items = splits.as_ref().is_none_or(|(train, _)| *train == run.config.data);
    if own_items && !run.items.iter().any(|i| i.label.is_some()) {
        bail!("run {} has no labels to evaluate against", run.dir.display());
    }
    let encoder = match &splits {
        Some(_) => Some(HebbianEncoder::load(&run.config, &run.dir.join(ENCODER_FILE), context.device())?),
        None => None,
    };
    let batch_size = run.config.training.batch_size;
    let encoded = |config: &DataConfig, what: &str| -> Result<(ImageSet, Features)> {
        let images = data::load(config, progress).with_context(|| format!("--test-split: the {what} split"))?;
        let encoder = encoder.as_ref().expect("the encoder is loaded with the splits");
        let features = features::extract(encoder, &images, batch_size, context.device(), progress)?;
        Ok((images, features))
    };
    let (images, train_features) = match &splits {
        Some((train, _)) if !own_items => {
            let (images, features) = encoded(train, "training")?;
            (images, Some(features))
        }
        _ => (run.load_images(progress)?, None),
    };
    let features = train_features.as_ref().unwrap_or(&run.features);
    let (labels, test) = match &splits {
        Some((_, test)) => {
            let (test_images, test_features) = encoded(test, "test")?;
            // One numbering of the labels for both splits.
            let both: Vec<Item> = images.items.iter().chain(&test_images.items).cloned().collect();
            let mut labels = label_groups(&both).0;
            let test_labels = labels.split_off(images.items.len());
            (labels, Some(TestSplit { images: test_images, labels: test_labels, features: test_features }))
        }
        None => (label_groups(&images.items).0, None),
    };
    evaluate_features(&run.config, &images, &labels, features, test.as_ref(), context, options)
        .with_context(|| format!("run {}", run.dir.display()))
}
