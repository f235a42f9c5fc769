//! Feature extraction: every image through the trained encoder, in batches, into one
//! row-major `N x D` matrix of L2-normalised rows; and [`embed`], training then extraction, as
//! `hebb encode`, `hebb eval`'s baseline and the quality suite run them.

use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;

use crate::compute::device::read_f32;
use crate::compute::features::Features;
use crate::config::EncodeConfig;
use crate::data::ImageSet;
use crate::encoder::HebbianEncoder;
use crate::encoder::train::{TrainingLog, trained_encoder};
use crate::progress::Progress;

/// An encoder trained on a set, and the set's features under it.
pub(crate) struct Embedding {
    pub encoder: HebbianEncoder,
    pub log: TrainingLog,
    pub features: Features,
    /// Seconds spent training, then extracting.
    pub train_seconds: f64,
    pub extract_seconds: f64,
}

/// The encoder `config` describes, trained on its training items of `images`
/// ([`trained_encoder`]), and the features of every image of `images` under it.
pub(crate) fn embed(
    config: &EncodeConfig,
    images: &ImageSet,
    device: &Device,
    progress: Progress,
) -> Result<Embedding> {
    let started = Instant::now();
    let (encoder, log) = trained_encoder(config, images, device, progress)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let features = extract(&encoder, images, config.training.batch_size, device, progress)?;
    Ok(Embedding { encoder, log, features, train_seconds, extract_seconds: started.elapsed().as_secs_f64() })
}

/// Encodes every image of `images`, `batch_size` at a time.
pub(crate) fn extract(
    encoder: &HebbianEncoder,
    images: &ImageSet,
    batch_size: usize,
    device: &Device,
    progress: Progress,
) -> Result<Features> {
    let indices: Vec<usize> = (0..images.len()).collect();
    let bar = progress.bar(images.len() as u64, "extracting");
    let mut values = Vec::new();
    let mut dim = 0;
    for batch in indices.chunks(batch_size) {
        // A short last batch is padded with repeats of its first image, so that every product
        // has the same shape: the CPU's matrix product may sum in another order for another
        // shape, and a row's features then depend on where the batches fall (shards).
        let padded: Vec<usize> = batch.iter().copied().chain(std::iter::repeat(batch[0])).take(batch_size).collect();
        let features = encoder.features(images.batch_tensor(&padded, device)).slice([0..batch.len()]);
        dim = features.dims()[1];
        let batch_values = read_f32(features, "features")?;
        if values.is_empty() {
            // The whole matrix's size is known from the first batch: one allocation, so that
            // the vector never doubles (a doubling copies it: old and new both resident).
            values.reserve_exact(images.len() * dim);
        }
        values.extend(batch_values);
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let features = Features { rows: images.len(), dim, values };
    features.check_usable()?;
    Ok(features)
}
