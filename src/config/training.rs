//! The `[training]` table of a run's config: the filters' and the lateral path's Hebbian
//! learning, its schedule and seed.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::{DEFAULT_SEED, FilterRule, positive};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Epochs of the lateral path's Hebbian learning (all layers at once).
    pub epochs: usize,
    pub batch_size: usize,
    /// Hebbian learning rate η of the lateral path.
    pub lr: f64,
    /// Epochs of filter learning per layer (`encoder.filters = "hebbian"`), layer by layer.
    pub filter_epochs: usize,
    /// Each filter-learning step learns from one in this many of the batch's patches, a
    /// different one each step in turn (1: all of them). The update is scaled to a fixed size
    /// every step, so fewer patches per step make a step cheaper, not smaller.
    pub filter_patch_stride: usize,
    /// Each learning layer sees at least this many images (0: no minimum). A set too small for
    /// it in `filter_epochs` epochs learns for a whole multiple of them, each step from that
    /// multiple's share of the patches (the stride multiplied), so that small sets get more
    /// steps at about the same cost ([`TrainingConfig::filter_schedule`]).
    pub filter_min_images: usize,
    /// Each learning layer learns from at most this many images' worth of patches (0: no
    /// limit): `filter_epochs` epochs of a larger set stop once that many images have passed
    /// (counting the share of patches each step takes). The default takes a set of 10,000
    /// images whole, the largest the quality suite measures, and trains a larger one for the
    /// same cost ([`TrainingConfig::filter_schedule`]).
    pub filter_max_images: usize,
    /// Memory, in MB, that filter learning may use to keep a learning layer's input for all
    /// training images across its epochs, instead of running every batch through the layers
    /// below at every step (0: never kept); kept only when the machine has that much available.
    pub keep_input_mb: usize,
    /// How many layers, from the first, learn their filters (`encoder.filters = "hebbian"`; 0 =
    /// all); the layers above keep their seeded random filters.
    pub filter_layers: usize,
    /// How the filters move: `softhebb`, `projected` or the reference `kmeans` ([`FilterRule`]).
    pub filter_rule: FilterRule,
    /// Filters learn from brightness- and contrast-normalised patches: each patch's mean removed
    /// and divided by its deviation (Coates & Ng 2011), so that they learn shapes rather than
    /// how bright a patch is; the conv still sees the layer's input as it is.
    pub filter_contrast: bool,
    /// Learning rate η of the filters: the start of the linear decay (`projected`), or the factor
    /// of √|‖w‖ − 1| (`softhebb`).
    pub filter_lr: f64,
    /// Each layer's filter η is the one below's times this factor ([`TrainingConfig::filter_lr_of`]):
    /// below 1, upper layers move less from their start (1: one η for all).
    pub filter_lr_growth: f64,
    /// Temperature τ of the first layer's soft competition y = softmax(u / τ) between its
    /// filters.
    pub temperature: f64,
    /// Each layer's τ is the one below's times this factor ([`TrainingConfig::temperature_of`]):
    /// deeper layers' patches are longer, so their pre-activations larger and, at one τ, their
    /// competition all but winner-take-all (1: one τ for all; docs/results.md measures √8).
    pub temperature_growth: f64,
    /// Images whose statistics standardise a layer's input (`encoder.standardise`; 0 = all).
    pub statistics_sample: usize,
    /// Train on the training part of `hebb eval`'s first seeded 80/20 split only, so that the
    /// probe's test images were never seen by the encoder; `hebb eval` then scores the probe on that
    /// split alone (needs labels).
    pub holdout: bool,
    /// Train on a seeded sample of this many items (0 = all of them, or all of the holdout's
    /// training part); features are still extracted for every item.
    pub sample: usize,
    /// Seed of the shuffling (and of the holdout split).
    pub seed: u64,
    pub shuffle: bool,
    /// Print one line of layer statistics every this many steps.
    pub log_every: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 16,
            lr: 0.001,
            filter_epochs: 3,
            filter_patch_stride: 1,
            filter_min_images: 50_000,
            filter_max_images: 30_000,
            keep_input_mb: 1024,
            filter_layers: 2,
            filter_rule: FilterRule::default(),
            filter_contrast: false,
            filter_lr: 0.05,
            filter_lr_growth: 1.0,
            temperature: 1.0,
            temperature_growth: 1.0,
            statistics_sample: 4096,
            holdout: false,
            sample: 0,
            seed: DEFAULT_SEED,
            shuffle: true,
            log_every: 25,
        }
    }
}

impl TrainingConfig {
    /// Checks every value; `layers` is the encoder's number of layers.
    pub(super) fn validate(&self, layers: usize) -> Result<()> {
        if self.filter_layers > layers {
            bail!(
                "key `training.filter_layers`: expected 0 (all) to {} (the encoder's layers), got {}",
                layers,
                self.filter_layers
            );
        }
        positive("training.epochs", self.epochs)?;
        positive("training.batch_size", self.batch_size)?;
        positive("training.log_every", self.log_every)?;
        positive("training.filter_epochs", self.filter_epochs)?;
        positive("training.filter_patch_stride", self.filter_patch_stride)?;
        for (key, value) in [
            ("training.lr", self.lr),
            ("training.filter_lr", self.filter_lr),
            ("training.filter_lr_growth", self.filter_lr_growth),
            ("training.temperature", self.temperature),
            ("training.temperature_growth", self.temperature_growth),
        ] {
            if !(value.is_finite() && value > 0.0) {
                bail!("key `{key}`: expected a positive number, got {value}");
            }
        }
        Ok(())
    }

    /// Each learning layer's filter learning on `images` training images: `filter_epochs` and
    /// `filter_patch_stride`, both multiplied by the smallest whole factor that takes
    /// `filter_epochs` x factor epochs to `filter_min_images` images; its steps stop once
    /// `filter_max_images` images' worth of patches have passed.
    pub(crate) fn filter_schedule(&self, images: usize) -> FilterSchedule {
        let epochs_needed = self.filter_min_images.div_ceil(images.max(1));
        let factor = epochs_needed.div_ceil(self.filter_epochs.max(1)).max(1);
        let epochs = self.filter_epochs.saturating_mul(factor);
        let patch_stride = self.filter_patch_stride.saturating_mul(factor);
        let all_steps = images.div_ceil(self.batch_size.max(1)).saturating_mul(epochs);
        let steps = match self.filter_max_images {
            0 => all_steps,
            most => all_steps.min(most.saturating_mul(patch_stride).div_ceil(self.batch_size.max(1))),
        };
        FilterSchedule { epochs, patch_stride, steps, cut_short: steps < all_steps }
    }

    /// τ of layer `layer`'s (from 0) soft competition: `temperature` x
    /// `temperature_growth`^`layer`.
    pub(crate) fn temperature_of(&self, layer: usize) -> f64 {
        self.temperature * self.temperature_growth.powi(i32::try_from(layer).unwrap_or(i32::MAX))
    }

    /// η of layer `layer`'s (from 0) filters: `filter_lr` x `filter_lr_growth`^`layer`.
    pub(crate) fn filter_lr_of(&self, layer: usize) -> f64 {
        self.filter_lr * self.filter_lr_growth.powi(i32::try_from(layer).unwrap_or(i32::MAX))
    }
}

/// How each learning layer's filters learn on a training set ([`TrainingConfig::filter_schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FilterSchedule {
    /// Epochs over the training set (the last one cut short when `steps` ends first).
    pub epochs: usize,
    /// Each step learns from one in this many of the batch's patches.
    pub patch_stride: usize,
    /// Steps per layer, a batch each.
    pub steps: usize,
    /// Whether `filter_max_images` ends the steps before the epochs are done.
    pub cut_short: bool,
}
