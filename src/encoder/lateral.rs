//! The Hebbian lateral path, as pure tensor functions: the update ΔW from a batch of
//! activations, the lateral response with its inhibition, and the three statistics the seed logs.
//!
//! Activations arrive as `[batch, channels, positions]`. Lateral weights are `[1, N, N]` in the
//! shared (seed) mode and `[channels, N, N]` in the per-channel mode, both between positions. The
//! decorrelating mode's are `[1, C, C]`, between channels: anti-Hebbian inhibition that learns to
//! take from each channel what it shares with the others (Földiák 1990), [`decorrelated`] and
//! [`decorrelation_update`]. The same functions run on
//! every backend: flex on the CPU is the twin of wgpu on the GPU.

use anyhow::Result;
use burn::tensor::Tensor;

use super::fused;
use crate::config::LateralMode;

/// ΔW before clamping.
///
/// - `Shared` (the seed's code): ΔW = η · (1/C) Σ_b Σ_c a_bc a_bcᵀ — summed over the batch,
///   averaged over channels; one GEMM of the `(B·C) x N` activation matrix with itself.
/// - `PerChannel`: ΔW_c = η · (1/B) Σ_b a_bc a_bcᵀ — averaged over the batch; one batched GEMM.
pub(crate) fn hebbian_delta(activations: Tensor<3>, mode: LateralMode, lr: f64) -> Tensor<3> {
    let [batch, channels, positions] = activations.dims();
    match mode {
        // A layer without a lateral path between positions never asks for this update
        // (the decorrelating one learns by `decorrelation_update`).
        LateralMode::Shared | LateralMode::None | LateralMode::Decorrelate => {
            let rows = activations.reshape([batch * channels, positions]);
            let outer = rows.clone().transpose().matmul(rows);
            (outer * (lr / channels as f64)).reshape([1, positions, positions])
        }
        LateralMode::PerChannel => {
            let per_channel = activations.swap_dims(0, 1); // [C, B, N]
            let outer = per_channel.clone().swap_dims(1, 2).matmul(per_channel);
            outer * (lr / batch as f64)
        }
    }
}

/// The lateral response `a · W` with its spatial mean subtracted (the inhibition).
pub(crate) fn lateral_response(activations: Tensor<3>, weights: Tensor<3>) -> Tensor<3> {
    let [batch, channels, positions] = activations.dims();
    let response = if weights.dims()[0] == 1 {
        let shared = weights.reshape([positions, positions]);
        activations.reshape([batch * channels, positions]).matmul(shared).reshape([batch, channels, positions])
    } else {
        activations.swap_dims(0, 1).matmul(weights).swap_dims(0, 1)
    };
    let mean = response.clone().mean_dim(2);
    response - mean
}

/// The channels after the decorrelating lateral inhibition M (`[1, C, C]`, zero diagonal):
/// y = a − M a at every position of every image.
pub(crate) fn decorrelated(activations: Tensor<3>, weights: Tensor<3>) -> Tensor<3> {
    let [batch, channels, positions] = activations.dims();
    let inhibition = weights.reshape([channels, channels]);
    let columns = activations.clone().swap_dims(0, 1).reshape([channels, batch * positions]);
    let inhibited = inhibition.matmul(columns).reshape([channels, batch, positions]).swap_dims(0, 1);
    activations - inhibited
}

/// One anti-Hebbian step on the decorrelating weights M (`[1, C, C]`): with y = a − M a, each
/// pair of channels' co-activity, summed over the positions and averaged over the batch,
/// (1/B) Σ_b y_b y_bᵀ, off its diagonal, times η (clamped to [−1, 1]) is added to M, so that
/// channels that fire together inhibit each other more until their outputs no longer correlate.
pub(crate) fn decorrelation_update(activations: Tensor<3>, weights: Tensor<3>, lr: f64) -> WeightUpdate {
    let [batch, channels, positions] = activations.dims();
    let outputs = decorrelated(activations, weights.clone());
    let columns = outputs.swap_dims(0, 1).reshape([channels, batch * positions]);
    let coactivity = columns.clone().matmul(columns.transpose()) / batch as f64;
    let device = coactivity.device();
    let off_diagonal = Tensor::<2>::ones([channels, channels], &device) - Tensor::<2>::eye(channels, &device);
    let delta = (coactivity * off_diagonal * lr).clamp(-1.0, 1.0).reshape([1, channels, channels]);
    let delta_mean_abs = delta.clone().abs().mean();
    let weights = weights + delta;
    let norm = weights.clone().square().sum().sqrt();
    WeightUpdate { weights, delta_mean_abs, norm }
}

/// One Hebbian step's result.
pub struct WeightUpdate {
    /// `W + clamp(ΔW, -1, 1)`.
    pub weights: Tensor<3>,
    /// Mean |ΔW| after clamping.
    pub delta_mean_abs: Tensor<1>,
    /// ‖W‖_F after the update.
    pub norm: Tensor<1>,
}

/// One Hebbian step on the lateral weights, fused ([`fused`]) where a kernel exists: the shared
/// rule as a WGSL kernel on wgpu, both rules as the blocked symmetric kernel on the CPU; the
/// per-channel rule on wgpu as the tensor ops of [`update_weights_unfused`].
pub fn update_weights(activations: Tensor<3>, weights: Tensor<3>, mode: LateralMode, lr: f64) -> Result<WeightUpdate> {
    let [batch, channels, positions] = activations.dims();
    if mode == LateralMode::Shared {
        let rows = activations.reshape([batch * channels, positions]);
        let shared = weights.reshape([positions, positions]);
        let (updated, delta_sum, squares) = fused::shared_update(rows, shared, (lr / channels as f64) as f32)?;
        return Ok(WeightUpdate {
            weights: updated.reshape([1, positions, positions]),
            delta_mean_abs: delta_sum / (positions * positions) as f64,
            norm: squares.sqrt(),
        });
    }
    if let Some(fused) = fused::per_channel_update(activations.clone(), weights.clone(), lr) {
        let (weights, delta_sum, squares) = fused?;
        let delta_mean_abs = delta_sum / (channels * positions * positions) as f64;
        return Ok(WeightUpdate { weights, delta_mean_abs, norm: squares.sqrt() });
    }
    Ok(update_weights_unfused(activations, weights, mode, lr))
}

/// [`update_weights`] as plain tensor ops on any backend: ΔW ([`hebbian_delta`]) materialised,
/// clamped, added. The reference the fused kernels are tested and benchmarked against.
pub(crate) fn update_weights_unfused(
    activations: Tensor<3>,
    weights: Tensor<3>,
    mode: LateralMode,
    lr: f64,
) -> WeightUpdate {
    let delta = hebbian_delta(activations, mode, lr).clamp(-1.0, 1.0);
    let delta_mean_abs = delta.clone().abs().mean();
    let weights = weights + delta;
    let norm = weights.clone().square().sum().sqrt();
    WeightUpdate { weights, delta_mean_abs, norm }
}

/// The seed's per-step numbers: energy E[|a|²] (mean squared activation), delta (mean |ΔW|,
/// after clamping) and norm ‖W‖_F (after the update), as a 3-element tensor.
pub(crate) fn step_statistics(activations: Tensor<3>, update: &WeightUpdate) -> Tensor<1> {
    let energy = activations.square().mean();
    Tensor::cat(vec![energy, update.delta_mean_abs.clone(), update.norm.clone()], 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn tensor3(values: Vec<f32>, shape: [usize; 3]) -> Tensor<3> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "got {got:?}, want {want:?}");
        }
    }

    // Batch of 2, 2 channels, 2 positions:
    //   b0: c0 = [1, 2], c1 = [0, 1];  b1: c0 = [3, 0], c1 = [1, 1].
    fn example() -> Tensor<3> {
        tensor3(vec![1., 2., 0., 1., 3., 0., 1., 1.], [2, 2, 2])
    }

    #[test]
    fn shared_delta_sums_batch_and_averages_channels() {
        // Σ outer products: [1,2]:[[1,2],[2,4]] + [0,1]:[[0,0],[0,1]] + [3,0]:[[9,0],[0,0]]
        // + [1,1]:[[1,1],[1,1]] = [[11,3],[3,6]]; times lr 0.5 / C 2.
        let delta = hebbian_delta(example(), LateralMode::Shared, 0.5);
        assert_eq!(delta.dims(), [1, 2, 2]);
        assert_close(&values(delta), &[2.75, 0.75, 0.75, 1.5]);
    }

    #[test]
    fn per_channel_delta_averages_the_batch() {
        // c0: [[1,2],[2,4]] + [[9,0],[0,0]] = [[10,2],[2,4]]; c1: [[0,0],[0,1]] + [[1,1],[1,1]]
        // = [[1,1],[1,2]]; times lr 0.5 / B 2.
        let delta = hebbian_delta(example(), LateralMode::PerChannel, 0.5);
        assert_eq!(delta.dims(), [2, 2, 2]);
        assert_close(&values(delta), &[2.5, 0.5, 0.5, 1.0, 0.25, 0.25, 0.25, 0.5]);
    }

    #[test]
    fn response_subtracts_its_spatial_mean() {
        // Shared W = [[1,2],[3,4]]: a·W for a = [1,2] is [7,10], mean 8.5 -> [-1.5, 1.5].
        let shared = tensor3(vec![1., 2., 3., 4.], [1, 2, 2]);
        let response = values(lateral_response(example(), shared));
        // rows: [1,2]->[7,10]; [0,1]->[3,4]; [3,0]->[3,6]; [1,1]->[4,6]
        assert_close(&response, &[-1.5, 1.5, -0.5, 0.5, -1.5, 1.5, -1.0, 1.0]);
        // Per channel: c0 uses [[1,0],[0,1]] (identity), c1 uses [[0,1],[1,0]] (swap).
        let per_channel = tensor3(vec![1., 0., 0., 1., 0., 1., 1., 0.], [2, 2, 2]);
        let response = values(lateral_response(example(), per_channel));
        // b0c0 [1,2] -> [-0.5,0.5]; b0c1 [0,1] -> [1,0] -> [0.5,-0.5];
        // b1c0 [3,0] -> [1.5,-1.5]; b1c1 [1,1] -> [1,1] -> [0,0].
        assert_close(&response, &[-0.5, 0.5, 0.5, -0.5, 1.5, -1.5, 0.0, 0.0]);
    }

    #[test]
    fn decorrelation_inhibits_channels_that_fire_together() {
        // One image, channels c0 = [1, 2], c1 = [0, 1]; M = 0: y = a, Σ y yᵀ = [[5, 2], [2, 1]];
        // off the diagonal, times η 0.5: M = [[0, 1], [1, 0]], |ΔM| mean 0.5, ‖M‖ √2.
        let a = tensor3(vec![1., 2., 0., 1.], [1, 2, 2]);
        let update = decorrelation_update(a.clone(), tensor3(vec![0.0; 4], [1, 2, 2]), 0.5);
        assert_close(&values(update.weights.clone()), &[0.0, 1.0, 1.0, 0.0]);
        assert_close(
            &[update.delta_mean_abs.into_scalar::<f32>(), update.norm.into_scalar::<f32>()],
            &[0.5, 2f32.sqrt()],
        );
        // With that M, y0 = a0 − a1 = [1, 1] and y1 = a1 − a0 = [−1, −1]; per image of a batch.
        let batch = tensor3(vec![1., 2., 0., 1., 3., 0., 1., 1.], [2, 2, 2]);
        assert_close(&values(decorrelated(batch, update.weights)), &[1., 1., -1., -1., 2., -1., -2., 1.]);
    }

    #[test]
    fn decorrelation_learns_to_remove_a_shared_signal() {
        // Two channels that share most of their signal: after learning, their outputs' correlation
        // is far below the inputs'.
        let mut seed = 11u64;
        let mut uniform = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let batch = |uniform: &mut dyn FnMut() -> f32| {
            let mut values = Vec::new();
            for _ in 0..8 {
                let shared: Vec<f32> = (0..16).map(|_| uniform()).collect();
                for _ in 0..2 {
                    values.extend(shared.iter().map(|s| s + 0.3 * uniform()));
                }
            }
            tensor3(values, [8, 2, 16])
        };
        let correlation = |y: Tensor<3>| {
            let v = values(y.swap_dims(0, 1).reshape([2, 128]).reshape([1, 2, 128]));
            let (x, z) = v.split_at(128);
            let dot = |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(a, b)| a * b).sum::<f32>();
            dot(x, z) / (dot(x, x) * dot(z, z)).sqrt()
        };
        let mut weights = tensor3(vec![0.0; 4], [1, 2, 2]);
        let probe = batch(&mut uniform);
        let before = correlation(decorrelated(probe.clone(), weights.clone()));
        for _ in 0..300 {
            weights = decorrelation_update(batch(&mut uniform), weights, 0.01).weights;
        }
        let after = correlation(decorrelated(probe, weights));
        assert!(before > 0.8 && after.abs() < 0.2, "correlation {before} -> {after}");
    }

    #[test]
    fn fused_cpu_update_matches_the_tensor_ops() {
        // 3 x 5 rows over 300 positions (three blocks of the CPU kernel), some entries clamped.
        let (batch, channels, n) = (3, 5, 300);
        let value = |i: usize| ((i * 7919) % 211) as f32 / 105.0 - 1.0;
        let activations = tensor3((0..batch * channels * n).map(value).collect(), [batch, channels, n]);
        let weights = tensor3((0..n * n).map(|i| value(i + 3) * 0.1).collect(), [1, n, n]);
        let fused = update_weights(activations.clone(), weights.clone(), LateralMode::Shared, 0.4).unwrap();
        let plain = update_weights_unfused(activations.clone(), weights, LateralMode::Shared, 0.4);
        let scalar = |t: Tensor<1>| t.into_scalar::<f32>();
        let (fused_delta, plain_delta) = (scalar(fused.delta_mean_abs), scalar(plain.delta_mean_abs));
        assert!((fused_delta - plain_delta).abs() <= 1e-5 * plain_delta, "{fused_delta} vs {plain_delta}");
        assert!(plain_delta < 0.99, "the clamp should not bind everywhere");
        let (fused_norm, plain_norm) = (scalar(fused.norm), scalar(plain.norm));
        assert!((fused_norm - plain_norm).abs() <= 1e-5 * plain_norm, "{fused_norm} vs {plain_norm}");
        for (f, p) in values(fused.weights).iter().zip(values(plain.weights)) {
            assert!((f - p).abs() < 1e-5, "{f} vs {p}");
        }
        // The per-channel rule through the same kernel, one W per channel.
        let weights = tensor3((0..channels * n * n).map(|i| value(i + 5) * 0.1).collect(), [channels, n, n]);
        let fused = update_weights(activations.clone(), weights.clone(), LateralMode::PerChannel, 0.9).unwrap();
        let plain = update_weights_unfused(activations, weights, LateralMode::PerChannel, 0.9);
        let (fused_delta, plain_delta) = (scalar(fused.delta_mean_abs), scalar(plain.delta_mean_abs));
        assert!((fused_delta - plain_delta).abs() <= 1e-5 * plain_delta, "{fused_delta} vs {plain_delta}");
        let (fused_norm, plain_norm) = (scalar(fused.norm), scalar(plain.norm));
        assert!((fused_norm - plain_norm).abs() <= 1e-5 * plain_norm, "{fused_norm} vs {plain_norm}");
        for (f, p) in values(fused.weights).iter().zip(values(plain.weights)) {
            assert!((f - p).abs() < 1e-5, "{f} vs {p}");
        }
    }

    #[test]
    fn clamped_update_and_statistics_match_hand_computed_values() {
        // W = [[0, 0.5], [0.5, 0]], a = the example, lr 0.5, shared: ΔW = [[2.75, 0.75],
        // [0.75, 1.5]] clamps to [[1, 0.75], [0.75, 1]]; mean |ΔW| = 0.875.
        let weights = tensor3(vec![0.0, 0.5, 0.5, 0.0], [1, 2, 2]);
        let update = update_weights(example(), weights, LateralMode::Shared, 0.5).unwrap();
        assert_close(&values(update.weights.clone()), &[1.0, 1.25, 1.25, 1.0]);
        let stats: Vec<f32> = step_statistics(example(), &update).into_data().try_into_vec::<f32>().unwrap();
        // energy: (1+4+0+1+9+0+1+1)/8 = 17/8; norm: sqrt(1 + 1.5625 * 2 + 1) = sqrt(5.125).
        assert_close(&stats, &[2.125, 0.875, 5.125f32.sqrt()]);
    }
}
