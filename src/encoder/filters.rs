//! Conv filters learned by soft winner-take-all Hebbian plasticity (SoftHebb: Journé, Garcia
//! Rodriguez, Guo, Moraitis, "Hebbian deep learning without feedback", ICLR 2023), as pure tensor
//! functions that run on every backend (flex on the CPU is the twin of wgpu).
//!
//! For a batch of input patches x (rows of `[P, D]`, D = in_channels · 3 · 3) and filters w_k
//! (rows of `[K, D]`):
//! - pre-activations u = x wᵀ;
//! - a soft competition between the filters at each patch, y = softmax(u / τ), where every
//!   filter but the patch's winner takes −y (anti-Hebbian), as in SoftHebb;
//! - the Oja-like update Δw_k = Σ_p y_pk (x_p − u_pk w_k) = (yᵀx)_k − (Σ_p y_pk u_pk) w_k, summed
//!   over the patches, then scaled so that its largest element is 1;
//! - then, by the [`FilterRule`]:
//!   - `softhebb` (the paper's): each filter moves by its own rate η_k = η · √|‖w_k‖ − 1|, which
//!     shrinks as ‖w_k‖ nears 1, the norm the rule converges to;
//!   - `projected`: every filter moves by η (which the caller lowers step by step) and is put
//!     back on the unit sphere, before and after the step. Learning never stalls on the norm, so
//!     the filters' directions settle in the few hundred steps a small set gives; the caller
//!     restarts filters that stopped winning with [`revive_idle`].
//!
//! The reference learner, `kmeans`, takes no soft competition: mini-batch spherical k-means
//! (Coates & Ng 2011, 2012; Sculley 2010). Each patch goes to the filter whose unit direction it
//! projects on most, and a filter is the running sum of the patches it won, each weighted by its
//! projection s = max(u, 0): w_k ← w_k + Σ_p s_pk x_p. The sum's direction is the filter (the
//! caller puts the rows on the unit sphere when the layer is done, [`unit_rows`]); its norm is how
//! much data it has absorbed, so every batch moves a filter less than the one before, as in
//! Sculley's per-centre rate 1/n.
//!
//! [`FilterLearner`] is one layer's filter learning as the training loop drives it, step by
//! step: the rule with its rate schedule and temperature, the patches' whitening and contrast
//! normalisation, the restart of idle filters, and the checks when the layer is done.

use anyhow::{Result, bail};
use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, TensorData};

use super::HebbianLayer;
use crate::compute::device::read_f32;
use crate::compute::hash::{below, pcg3};
use crate::config::{FilterRule, TrainingConfig};

/// Steps between two checks for filters that won no patch since the last (the `projected` and
/// `kmeans` rules), which then restart as patches ([`revive_idle`]).
const REVIVE_EVERY: usize = 25;

/// ε of the patches' contrast normalisation (`training.filter_contrast`), against a patch's
/// variance: inputs are standardised to unit variance per channel, so a patch of texture has a
/// variance near 1 and a flat one near 0, which ε keeps small.
const CONTRAST_EPSILON: f64 = 0.1;

/// One layer's filter learning over its `steps` steps, as `[training]` sets it.
pub(crate) struct FilterLearner {
    rule: FilterRule,
    /// The layer's η ([`TrainingConfig::filter_lr_of`]); `projected` lowers it linearly to 0.
    lr: f64,
    /// `training.filter_lr`, named in the error when the filters diverge.
    configured_lr: f64,
    temperature: f64,
    contrast: Option<f64>,
    steps: usize,
    seed: u64,
    /// The patches each filter won since the last check for idle filters.
    wins_since_check: Option<Tensor<2>>,
}

impl FilterLearner {
    /// The learning of layer `layer` (from 0) over `steps` steps.
    pub(crate) fn for_layer(config: &TrainingConfig, layer: usize, steps: usize) -> Self {
        FilterLearner {
            rule: config.filter_rule,
            lr: config.filter_lr_of(layer),
            configured_lr: config.filter_lr,
            temperature: config.temperature_of(layer),
            contrast: config.filter_contrast.then_some(CONTRAST_EPSILON),
            steps,
            seed: config.seed,
            wins_since_check: None,
        }
    }

    /// Step `step` (from 1) on `layer`'s filters from `patches` of its input (rows of
    /// [`super::patches::PaddedInput::patches`]), whitened first when the layer whitens, then
    /// contrast-normalised when asked. Returns the statistics `[mean u², mean |Δw|,
    /// mean |‖w‖ − 1|, share of filters winning somewhere]`.
    pub(crate) fn step(&mut self, layer: &mut HebbianLayer, patches: Tensor<2>, step: usize) -> Tensor<1> {
        let patches = layer.whitened(patches);
        let patches = match self.contrast {
            Some(epsilon) => contrast_normalised(patches, epsilon),
            None => patches,
        };
        let lr = match self.rule {
            FilterRule::Projected => self.lr * (1.0 - (step - 1) as f64 / self.steps as f64),
            FilterRule::Softhebb | FilterRule::Kmeans => self.lr,
        };
        let update = update_filters(patches.clone(), layer.flat_filters(), lr, self.temperature, self.rule);
        layer.set_flat_filters(update.weights);
        if self.rule != FilterRule::Softhebb {
            let since = self.wins_since_check.take().map_or(update.wins.clone(), |earlier| earlier + update.wins);
            if step.is_multiple_of(REVIVE_EVERY) && step < self.steps {
                layer.set_flat_filters(revive_idle(layer.flat_filters(), since, patches, self.seed, step));
            } else {
                self.wins_since_check = Some(since);
            }
        }
        update.statistics
    }

    /// Ends layer `index`'s learning (`kmeans`' running sums onto the unit sphere) and checks
    /// that every filter value is finite.
    pub(crate) fn finish(self, layer: &mut HebbianLayer, index: usize) -> Result<()> {
        if self.rule == FilterRule::Kmeans {
            layer.set_flat_filters(unit_rows(layer.flat_filters()));
        }
        let filters = read_f32(layer.filters(), "filters")?;
        if let Some(value) = filters.iter().find(|v| !v.is_finite()) {
            bail!(
                "layer {}'s filters hold {value} after learning: key `training.filter_lr` ({}) is probably too large",
                index + 1,
                self.configured_lr
            );
        }
        Ok(())
    }
}

/// The signed soft competition: softmax(u / τ) over the filters (dim 1 of `[P, K]`), negated for
/// every filter but each row's winner (the largest u; ties all win).
pub(crate) fn soft_competition(pre_activations: Tensor<2>, temperature: f64) -> Tensor<2> {
    let soft = softmax(pre_activations.clone() / temperature, 1);
    let winners = pre_activations.clone().greater_equal(pre_activations.max_dim(1));
    soft.clone().neg().mask_where(winners, soft)
}

/// One step's result.
pub struct FilterUpdate {
    /// The updated filters, `[K, D]`.
    pub weights: Tensor<2>,
    /// `[mean u², mean |η_k Δw_k|, mean |‖w_k‖ − 1| after the step, share of filters that won
    /// at least one patch]`.
    pub statistics: Tensor<1>,
    /// Patches each filter won, `[1, K]`.
    pub wins: Tensor<2>,
}

/// One step of `rule` on `weights` (`[K, D]`) from `patches` (`[P, D]`).
pub fn update_filters(
    patches: Tensor<2>,
    weights: Tensor<2>,
    lr: f64,
    temperature: f64,
    rule: FilterRule,
) -> FilterUpdate {
    match rule {
        FilterRule::Softhebb => softhebb_step(patches, weights, lr, temperature, false),
        FilterRule::Projected => softhebb_step(patches, weights, lr, temperature, true),
        FilterRule::Kmeans => kmeans_step(patches, weights),
    }
}

/// One SoftHebb step: the paper's rate per filter, or, `projected`, the plain rate with the
/// filters on the unit sphere before and after.
fn softhebb_step(patches: Tensor<2>, weights: Tensor<2>, lr: f64, temperature: f64, projected: bool) -> FilterUpdate {
    let [filters, _] = weights.dims();
    let weights = if projected { unit_rows(weights) } else { weights };
    let pre = patches.clone().matmul(weights.clone().transpose()); // [P, K]
    let signed = soft_competition(pre.clone(), temperature);
    let hebbian = signed.clone().transpose().matmul(patches); // [K, D]
    let decay = (signed * pre.clone()).sum_dim(0).transpose(); // [K, 1]
    let delta = hebbian - decay * weights.clone();
    let delta = delta.clone() / delta.abs().max().clamp_min(1e-30).unsqueeze::<2>();
    let step = if projected {
        delta * lr
    } else {
        delta * (norms(weights.clone()).sub_scalar(1.0).abs().add_scalar(1e-10).sqrt() * lr)
    };
    let updated = weights + step.clone();
    let updated = if projected { unit_rows(updated) } else { updated };
    let wins = pre.clone().greater_equal(pre.clone().max_dim(1)).float().sum_dim(0); // [1, K]
    let statistics = Tensor::cat(
        vec![
            pre.square().mean(),
            step.abs().mean(),
            norms(updated.clone()).sub_scalar(1.0).abs().mean(),
            wins.clone().clamp_max(1.0).sum() / filters as f64,
        ],
        0,
    );
    FilterUpdate { weights: updated, statistics, wins }
}

/// One step of mini-batch spherical k-means (the module's `kmeans`): every patch adds itself,
/// scaled by its projection on the winner's unit direction (clamped at 0), to the filter it is
/// nearest to in angle. The statistics are taken on the unit directions: mean u², the mean
/// change of a direction's elements, 0 for the norm gap (the applied filters are unit rows) and
/// the share of filters that won.
fn kmeans_step(patches: Tensor<2>, weights: Tensor<2>) -> FilterUpdate {
    let [filters, _] = weights.dims();
    let directions = unit_rows(weights.clone());
    let pre = patches.clone().matmul(directions.clone().transpose()); // [P, K]
    let winners = pre.clone().greater_equal(pre.clone().max_dim(1));
    let assigned = pre.clone().clamp_min(0.0).mask_fill(winners.clone().bool_not(), 0.0);
    let updated = weights + assigned.transpose().matmul(patches);
    let wins = winners.float().sum_dim(0); // [1, K]
    let statistics = Tensor::cat(
        vec![
            pre.square().mean(),
            (unit_rows(updated.clone()) - directions).abs().mean(),
            Tensor::zeros([1], &updated.device()),
            wins.clone().clamp_max(1.0).sum() / filters as f64,
        ],
        0,
    );
    FilterUpdate { weights: updated, statistics, wins }
}

/// Filters that won no patch (`wins`, `[1, K]`, summed over some steps) restart as the
/// unit-norm patch of `patches` (`[P, D]`) that a hash of (`seed`, `step`, filter) picks; the
/// others stay. A filter the competition has pushed away from all data is lost capacity; as a
/// patch it is back among the data, where the rule can move it again (k-means' restart of an
/// empty cluster).
pub(crate) fn revive_idle(
    weights: Tensor<2>,
    wins: Tensor<2>,
    patches: Tensor<2>,
    seed: u64,
    step: usize,
) -> Tensor<2> {
    let [filters, dim] = weights.dims();
    let count = patches.dims()[0] as u32;
    let picks: Vec<i64> =
        (0..filters).map(|f| i64::from(below(pcg3(seed as u32, step as u32, f as u32), count))).collect();
    let picks = Tensor::<1, Int>::from_data(TensorData::new(picks, [filters]), &weights.device());
    let replacement = unit_rows(patches.select(0, picks));
    let idle = wins.transpose().lower_equal_elem(0.0).expand([filters, dim]);
    weights.mask_where(idle, replacement)
}

/// Each patch (row of `[P, D]`) with its own mean removed and divided by its own deviation,
/// √(variance + `epsilon`) (Coates & Ng 2011's brightness and contrast normalisation): filters
/// then learn the patches' shapes, not how bright or how contrasted they are. `epsilon` keeps a
/// flat patch (a single colour, the transparent background) near zero instead of blowing its
/// noise up to full contrast.
pub(crate) fn contrast_normalised(patches: Tensor<2>, epsilon: f64) -> Tensor<2> {
    let centred = patches.clone() - patches.mean_dim(1);
    let deviation = centred.clone().square().mean_dim(1).add_scalar(epsilon).sqrt();
    centred / deviation
}

/// Every row scaled to unit norm (a zero row stays zero).
pub(crate) fn unit_rows(weights: Tensor<2>) -> Tensor<2> {
    weights.clone() / norms(weights).clamp_min(1e-12)
}

/// ‖w_k‖ of every row, `[K, 1]`.
pub(crate) fn norms(weights: Tensor<2>) -> Tensor<2> {
    weights.square().sum_dim(1).sqrt()
}

/// SoftHebb's initial filters, `count x fan_in` values: normal with standard deviation
/// `radius / √fan_in`, so that every filter starts far from unit norm (norm ≈ radius) and learns
/// fast at first.
pub(crate) fn initial_filters(count: usize, fan_in: usize, radius: f32, mut normal: impl FnMut() -> f32) -> Vec<f32> {
    let scale = radius / (fan_in as f32).sqrt();
    (0..count * fan_in).map(|_| normal() * scale).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn matrix(values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f32], tolerance: f32) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < tolerance, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn competition_is_a_tempered_softmax_with_anti_hebbian_losers() {
        // u = [ln 3, 0] at τ = 1: softmax [0.75, 0.25]; filter 0 wins, filter 1 takes −0.25.
        // At τ = 0.5: softmax of [2 ln 3, 0] = [0.9, 0.1].
        let u = matrix(vec![3f32.ln(), 0.0, 0.0, 1.0], [2, 2]);
        let e = std::f32::consts::E;
        assert_close(&values(soft_competition(u.clone(), 1.0)), &[0.75, -0.25, -1.0 / (1.0 + e), e / (1.0 + e)], 1e-6);
        assert_close(
            &values(soft_competition(u, 0.5)),
            &[0.9, -0.1, -1.0 / (1.0 + e * e), e * e / (1.0 + e * e)],
            1e-6,
        );
    }

    #[test]
    fn update_matches_a_hand_computed_step_with_two_filters() {
        // One patch x = [1, 0]; filters w0 = [2, 0] (norm 2), w1 = [0, 1] (norm 1).
        // u = [2, 0]; τ = 1: softmax = [e²/(e²+1), 1/(e²+1)] = [s, 1 − s]; w0 wins: y = [s, −(1 − s)].
        // Δw0 = s (x − 2 w0) = s [−3, 0]; Δw1 = −(1 − s)(x − 0 · w1) = −(1 − s) [1, 0].
        // Scaled by max |Δ| = 3 s: Δw0 = [−1, 0], Δw1 = [−(1 − s)/(3 s), 0].
        // Rates: η √|2 − 1| = η for w0, η √1e-10 ≈ 1e-5 η for w1.
        let s = {
            let e2 = std::f32::consts::E.powi(2);
            e2 / (e2 + 1.0)
        };
        let lr = 0.5;
        let update = update_filters(
            matrix(vec![1.0, 0.0], [1, 2]),
            matrix(vec![2.0, 0.0, 0.0, 1.0], [2, 2]),
            lr,
            1.0,
            FilterRule::Softhebb,
        );
        let w1_step = -(1.0 - s) / (3.0 * s) * lr as f32 * 1e-5;
        assert_close(&values(update.weights), &[2.0 - 0.5, 0.0, w1_step, 1.0], 1e-6);
        // mean |step| = (0.5 + |w1_step|) / 4; norm gaps: |1.5 − 1| and |√(1 + w1_step²) − 1| ≈ 0;
        // winners: filter 0 only; mean u² = (4 + 0) / 2.
        let stats = values(update.statistics);
        assert_close(&stats, &[2.0, (0.5 + w1_step.abs()) / 4.0, 0.25, 0.5], 1e-6);
    }

    #[test]
    fn projected_step_matches_a_hand_computed_one() {
        // x = [1, 0]; w0 = [2, 0] is first put on the unit sphere, [1, 0]; w1 = [0, 1].
        // u = [1, 0]; τ = 1: softmax = [s, 1 − s], s = e/(e+1); w0 wins: y = [s, −(1 − s)].
        // Δw0 = s (x − 1 · w0) = 0; Δw1 = −(1 − s)(x − 0 · w1) = −(1 − s) [1, 0], scaled by its
        // max to [−1, 0]. At η = 0.5: w1 = [−0.5, 1], back on the sphere [−0.5, 1] / √1.25.
        let update = update_filters(
            matrix(vec![1.0, 0.0], [1, 2]),
            matrix(vec![2.0, 0.0, 0.0, 1.0], [2, 2]),
            0.5,
            1.0,
            FilterRule::Projected,
        );
        let root = 1.25f32.sqrt();
        assert_close(&values(update.weights), &[1.0, 0.0, -0.5 / root, 1.0 / root], 1e-6);
        // mean u² = (1 + 0) / 2; mean |step| = 0.5 / 4; every norm is 1; only filter 0 wins.
        assert_close(&values(update.statistics), &[0.5, 0.125, 0.0, 0.5], 1e-6);
    }

    #[test]
    fn kmeans_step_adds_each_patch_to_its_nearest_direction_weighted_by_its_projection() {
        // Filters w0 = [2, 0] (direction [1, 0]) and w1 = [0, 1]. Patches: [1, 0] goes to w0 with
        // s = 1; [0.6, 0.8] to w1 with s = 0.8; [-1, 0] projects on [-1, 0]: w1 wins (0 > -1) but
        // adds nothing (s clamped at 0). w0 = [3, 0]; w1 = [0, 1] + 0.8 [0.6, 0.8] = [0.48, 1.64].
        let update = update_filters(
            matrix(vec![1.0, 0.0, 0.6, 0.8, -1.0, 0.0], [3, 2]),
            matrix(vec![2.0, 0.0, 0.0, 1.0], [2, 2]),
            0.5,
            1.0,
            FilterRule::Kmeans,
        );
        assert_close(&values(update.weights), &[3.0, 0.0, 0.48, 1.64], 1e-6);
        assert_eq!(values(update.wins), vec![1.0, 2.0]);
        // mean u² = (1 + 0 + 0.36 + 0.64 + 1 + 0) / 6; w1's direction moves from [0, 1] to
        // [0.48, 1.64] / √2.92: (0.2809 + 0.0403) / 4 per element; no norm gap; both filters won.
        let moved = (0.48 / 2.92f32.sqrt() + (1.0 - 1.64 / 2.92f32.sqrt())) / 4.0;
        assert_close(&values(update.statistics), &[0.5, moved, 0.0, 1.0], 1e-6);
    }

    #[test]
    fn kmeans_filters_find_the_directions_patches_cluster_around() {
        // Patches near three orthogonal directions of R⁴ (noise ±0.1), three filters from a seeded
        // normal start: after 50 batches each direction has a filter within 10° of it.
        let mut seed = 11u64;
        let mut uniform = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let centres = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
        let mut weights = matrix((0..12).map(|_| uniform() * 5.0).collect(), [3, 4]);
        for batch in 0..50 {
            let rows: Vec<f32> = (0..30).flat_map(|p| centres[(p + batch) % 3].map(|c| c + 0.1 * uniform())).collect();
            let patches = matrix(rows, [30, 4]);
            let update = update_filters(patches.clone(), weights, 0.0, 1.0, FilterRule::Kmeans);
            weights = revive_idle(update.weights, update.wins, patches, 3, batch);
        }
        let directions = values(unit_rows(weights));
        for centre in centres {
            let best = directions
                .chunks(4)
                .map(|d| d.iter().zip(centre).map(|(a, b)| a * b).sum::<f32>())
                .fold(f32::MIN, f32::max);
            assert!(
                best > 10f32.to_radians().cos(),
                "direction {centre:?}: best cosine {best}, filters {directions:?}"
            );
        }
    }

    #[test]
    fn contrast_normalisation_centres_each_patch_and_scales_it_by_its_deviation() {
        // [1, 3]: mean 2, deviation √(1 + ε); [5, 5]: flat, stays 0; [0, 4] at ε = 0: [-1, 1].
        let patches = matrix(vec![1.0, 3.0, 5.0, 5.0, 0.0, 4.0], [3, 2]);
        let d = (1.0f32 + 0.5).sqrt();
        assert_close(
            &values(contrast_normalised(patches.clone(), 0.5)),
            &[-1.0 / d, 1.0 / d, 0.0, 0.0, -2.0 / 4.5f32.sqrt(), 2.0 / 4.5f32.sqrt()],
            1e-6,
        );
        assert_close(&values(contrast_normalised(patches.slice([2..3]), 0.0)), &[-1.0, 1.0], 1e-6);
    }

    #[test]
    fn idle_filters_restart_as_hash_picked_patches_and_the_others_stay() {
        // Filters 0 and 2 won patches, filter 1 none: only filter 1 changes, to the unit-norm
        // version of the patch that pcg3(seed, step, 1) picks, the same on every call.
        let weights = matrix(vec![1.0, 0.0, -1.0, 0.0, 0.6, 0.8], [3, 2]);
        let wins = matrix(vec![3.0, 0.0, 1.0], [1, 3]);
        let patches = matrix(vec![2.0, 0.0, 0.0, 3.0, 3.0, 4.0], [3, 2]);
        let revived = values(revive_idle(weights.clone(), wins.clone(), patches.clone(), 7, 25));
        let pick = below(pcg3(7, 25, 1), 3) as usize;
        let unit = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]][pick];
        assert_close(&revived, &[1.0, 0.0, unit[0], unit[1], 0.6, 0.8], 1e-6);
        assert_eq!(revived, values(revive_idle(weights, wins, patches, 7, 25)));
        // More filters than patches: every pick stays in range.
        let one = matrix(vec![0.0, 2.0], [1, 2]);
        let none_won = matrix(vec![0.0, 0.0, 0.0], [1, 3]);
        let all = values(revive_idle(matrix(vec![1.0; 6], [3, 2]), none_won, one, 1, 1));
        assert_close(&all, &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 1e-6);
    }

    #[test]
    fn filters_converge_towards_unit_norm() {
        // Random patches, filters started at norm ≈ 5: after a few hundred steps every filter that
        // wins is near norm 1.
        let mut seed = 7u64;
        let mut uniform = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let (filters, dim, patches) = (4, 6, 64);
        let mut weights = matrix((0..filters * dim).map(|_| uniform() * 2.0).collect(), [filters, dim]);
        let start: Vec<f32> = values(norms(weights.clone()));
        assert!(start.iter().all(|&n| n > 2.0), "{start:?}");
        for _ in 0..400 {
            let batch = matrix((0..patches * dim).map(|_| uniform()).collect(), [patches, dim]);
            weights = update_filters(batch, weights, 0.1, 1.0, FilterRule::Softhebb).weights;
        }
        let end: Vec<f32> = values(norms(weights));
        for n in end {
            assert!((n - 1.0).abs() < 0.1, "norm {n} after learning");
        }
    }
}
