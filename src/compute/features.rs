//! The features every stage after the encoder works on: a row-major `N x D` matrix of f32, one
//! row per item (L2-normalised when they come from the encoder), and the check that a stage can
//! use them.

use anyhow::{Result, bail};

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
