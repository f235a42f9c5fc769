//! The `[encoder]` table of a run's config: the conv encoder's shape, its filters, activation,
//! normalisation and lateral path.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::{DEFAULT_SEED, positive};

/// How the lateral weights of a layer are shaped and learned.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LateralMode {
    /// No lateral path: a layer's output is its normalised activation.
    #[default]
    None,
    /// The seed's rule: one N x N matrix shared by all channels, ΔW = η · mean over channels of
    /// the sum over the batch of a aᵀ.
    Shared,
    /// One N x N matrix per channel, ΔW_c = η · mean over the batch of a_c a_cᵀ.
    PerChannel,
    /// One C x C matrix M of anti-Hebbian inhibition between channels, y = a − M a at each
    /// position, ΔM = η · the off-diagonal part of the batch's mean Σ y yᵀ (Földiák 1990): channels
    /// that fire together learn to inhibit each other until their outputs decorrelate.
    Decorrelate,
}

/// Where the conv filters come from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FilterMode {
    /// The seed's: seeded uniform init in ±1/√fan_in, never learned.
    Random,
    /// Learned layer by layer by soft winner-take-all Hebbian plasticity (SoftHebb).
    #[default]
    Hebbian,
}

/// How learned filters move (`encoder.filters = "hebbian"`): both take SoftHebb's update.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FilterRule {
    /// Filters kept at unit norm (projected back after every step) with a rate that falls
    /// linearly to 0 over each layer's steps, so they settle within the steps a small set has;
    /// filters that win nothing for a while restart as patches of the data.
    Projected,
    /// SoftHebb's own: filters start at norm 25 and each moves at η · √|‖w‖ − 1|, so learning
    /// slows as the norm nears 1 (the paper trains thousands of steps per layer). The default:
    /// with `training.filter_min_images` = 50,000 it leads random filters on the quality suite
    /// where `projected` does not (docs/results.md).
    #[default]
    Softhebb,
    /// The reference learner: mini-batch spherical k-means on the patches (Coates & Ng 2011),
    /// each filter the direction of the patches it won; `training.filter_lr` and the temperature
    /// are not used.
    Kmeans,
}

/// The non-linearity after each conv.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// relu(u).
    Relu,
    /// relu(u − mean over channels of u) (Coates & Ng's "triangle"; SoftHebb's activation).
    #[default]
    Triangle,
}

/// How each layer's activations are normalised.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Normalise {
    /// The seed's: L2 normalisation of each channel over its spatial positions.
    #[default]
    Spatial,
    /// L2 normalisation across channels at each position (keeps the channels' relative strength).
    Channels,
    /// None.
    None,
}

/// The largest kernel side `encoder.kernel_sizes` takes.
const MAX_KERNEL: usize = 7;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EncoderConfig {
    /// Output channels of the four stride-2 conv layers.
    pub channels: Vec<usize>,
    /// Kernel side of each of the four layers: odd, 1 to 7 (padding side / 2, so every layer still
    /// halves its input).
    pub kernel_sizes: Vec<usize>,
    pub filters: FilterMode,
    pub activation: Activation,
    pub normalise: Normalise,
    /// Standardise each layer's input channels with the training set's mean and deviation
    /// (SoftHebb's non-affine batch normalisation, with population statistics).
    pub standardise: bool,
    /// ZCA-whiten the first layer's 3x3 input patches with the training set's statistics (Coates
    /// & Ng 2011); the first layer then skips the per-channel standardisation.
    pub whiten: bool,
    pub lateral: LateralMode,
    /// How many layers, from the first, have the lateral path (0: all of them); the layers above
    /// output their normalised activations as they are.
    pub lateral_layers: usize,
    /// Seed of the conv weights' random init.
    pub seed: u64,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            channels: vec![32, 64, 128, 256],
            kernel_sizes: vec![3; 4],
            filters: FilterMode::default(),
            activation: Activation::default(),
            normalise: Normalise::default(),
            standardise: true,
            whiten: false,
            lateral: LateralMode::default(),
            lateral_layers: 0,
            seed: DEFAULT_SEED,
        }
    }
}

impl EncoderConfig {
    /// Whether layer `layer` (from 0) has the lateral path.
    pub(crate) fn has_lateral(&self, layer: usize) -> bool {
        self.lateral != LateralMode::None && (self.lateral_layers == 0 || layer < self.lateral_layers)
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.channels.len() != 4 {
            bail!("key `encoder.channels`: expected 4 layer widths, got {}", self.channels.len());
        }
        for &c in &self.channels {
            positive("encoder.channels", c)?;
        }
        if self.kernel_sizes.len() != self.channels.len() {
            bail!("key `encoder.kernel_sizes`: expected 4 kernel sides, got {}", self.kernel_sizes.len());
        }
        if let Some(&side) = self.kernel_sizes.iter().find(|&&k| k % 2 == 0 || !(1..=MAX_KERNEL).contains(&k)) {
            bail!("key `encoder.kernel_sizes`: expected odd kernel sides from 1 to {MAX_KERNEL}, got {side}");
        }
        if self.lateral_layers > self.channels.len() {
            bail!(
                "key `encoder.lateral_layers`: expected 0 (all) to {} (the encoder's layers), got {}",
                self.channels.len(),
                self.lateral_layers
            );
        }
        Ok(())
    }
}
