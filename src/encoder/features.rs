//! Feature extraction: every image through the trained encoder, in batches, into one
//! row-major `N x D` matrix of L2-normalised rows.

use anyhow::{Result, bail};
use burn::tensor::Device;

use crate::compute::device::read_f32;
use crate::data::ImageSet;
use crate::encoder::HebbianEncoder;
use crate::progress;

/// Row-major `rows x dim` features.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub rows: usize,
    pub dim: usize,
    pub values: Vec<f32>,
}

impl Features {
    pub(crate) fn row(&self, index: usize) -> &[f32] {
        &self.values[index * self.dim..(index + 1) * self.dim]
    }
}

/// Encodes every image of `images`, `batch_size` at a time.
pub(crate) fn extract(
    encoder: &HebbianEncoder,
    images: &ImageSet,
    batch_size: usize,
    device: &Device,
    quiet: bool,
) -> Result<Features> {
    let indices: Vec<usize> = (0..images.len()).collect();
    let bar = progress::bar(images.len() as u64, "extracting", quiet);
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

impl Features {
    /// Refuses features no stage can use: a value that is not finite, or every row zero (each
    /// image encoded to nothing), naming the settings that usually cause them.
    pub(crate) fn check_usable(&self) -> Result<()> {
        if let Some(at) = self.values.iter().position(|v| !v.is_finite()) {
            bail!(
                "the features of item {} hold {} (not a finite number): a learning rate (`training.filter_lr`, \
                 `training.lr`) is probably too large",
                at / self.dim.max(1),
                self.values[at]
            );
        }
        if self.rows > 0 && self.values.iter().all(|&v| v == 0.0) {
            bail!(
                "every image's features are zero: the encoder's responses vanished (a learning rate such as \
                 `training.filter_lr` is probably too large)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_that_no_stage_can_use_are_refused_by_cause() {
        let features = |values: Vec<f32>| Features { rows: 2, dim: 2, values };
        assert!(features(vec![0.6, 0.8, 0.0, 0.0]).check_usable().is_ok(), "one blank row is allowed");
        let err = features(vec![0.6, 0.8, f32::NAN, 0.0]).check_usable().unwrap_err().to_string();
        assert!(err.contains("item 1 hold NaN") && err.contains("training.filter_lr"), "{err}");
        let err = features(vec![0.0; 4]).check_usable().unwrap_err().to_string();
        assert!(err.contains("every image's features are zero"), "{err}");
    }
}
