//! The fused Hebbian update of the shared lateral weights: `W + clamp(η·AᵀA, -1, 1)`, the sum of
//! |ΔW| and the sum of the new W² (the logged norm) in one pass over W, never writing ΔW out.
//!
//! - On wgpu, `shaders/hebbian_update.wgsl` computes ΔW tile by tile in workgroup memory.
//! - On the CPU (flex), [`symmetric_update`] computes AᵀA block by block with `gemm`, only the
//!   blocks on and above the diagonal (AᵀA is symmetric: half the multiply-adds), and applies
//!   each block and its mirror image to W while the block is still in cache. The per-channel
//!   rule runs through it too, one W per channel ([`per_channel_update`]).
//!
//! Both are twins of the plain tensor path in [`super::lateral`]; the tests compare them.

use anyhow::{Result, anyhow};
use burn::backend::wgpu::CubeDim;
use burn::backend::{Flex, Wgpu};
use burn::cubecl::CubeCount;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use crate::compute::device::is_wgpu;
use crate::compute::matmul::{self, View};
use crate::compute::wgsl;

/// Side of the square tile one workgroup computes (the shader's `TILE`).
const TILE: usize = 16;

/// Side of the square blocks of AᵀA the CPU path computes at once (64 KiB each).
const CPU_BLOCK: usize = 256;

/// What one fused update returns: the new weights, Σ|ΔW| and Σ W_new², each as a tensor.
pub(crate) type Fused = (Tensor<2>, Tensor<1>, Tensor<1>);

/// `W + clamp(scale · AᵀA, -1, 1)`, the sum of |clamp(scale · AᵀA, -1, 1)| and the sum of the
/// squares of the result, for `A` of shape `[rows, n]` and `W` of shape `[n, n]`: the WGSL kernel
/// on a wgpu device, the blocked CPU kernel on the CPU. An error if the kernel cannot run.
pub(crate) fn shared_update(activations: Tensor<2>, weights: Tensor<2>, scale: f32) -> Result<Fused> {
    if is_wgpu(&activations.device()) {
        shared_update_wgpu(activations, weights, scale)
    } else {
        let rows = activations.dims()[0];
        symmetric_update_flex(activations, weights, rows, scale)
    }
}

fn shared_update_wgpu(activations: Tensor<2>, weights: Tensor<2>, scale: f32) -> Result<Fused> {
    let [rows, n] = activations.dims();
    let activations = wgsl::wgpu_input(activations, &wgsl::HEBBIAN_UPDATE)?;
    let weights = wgsl::wgpu_input(weights, &wgsl::HEBBIAN_UPDATE)?;
    let client = activations.client.clone();
    let tiles = n.div_ceil(TILE);
    let weights_out = wgsl::empty_f32(&activations, vec![n, n]);
    let partial = wgsl::empty_f32(&activations, vec![tiles * tiles, 2]);
    let info = [rows as u32, n as u32, scale.to_bits()];
    let info = client.create_from_slice(bytemuck::cast_slice(&info));

    wgsl::launch(
        &activations,
        wgsl::HEBBIAN_UPDATE,
        CubeDim::new_2d(TILE as u32, TILE as u32),
        CubeCount::Static(tiles as u32, tiles as u32, 1),
        vec![
            activations.handle.clone().binding(),
            weights.handle.binding(),
            weights_out.handle.clone().binding(),
            partial.handle.clone().binding(),
            info.binding(),
        ],
    );
    let weights_out = Tensor::<2>::from_primitive::<Wgpu>(weights_out);
    let sums = Tensor::<2>::from_primitive::<Wgpu>(partial).sum_dim(0).reshape([2]);
    Ok((weights_out, sums.clone().slice([0..1]), sums.slice([1..2])))
}

/// The per-channel rule on the CPU: [`symmetric_update`] over the stack of channels, each
/// channel's `B x N` activations against its own W, scale η/B. `None` on wgpu, which runs it as
/// batched tensor ops.
pub(crate) fn per_channel_update(
    activations: Tensor<3>,
    weights: Tensor<3>,
    lr: f64,
) -> Option<Result<(Tensor<3>, Tensor<1>, Tensor<1>)>> {
    if is_wgpu(&activations.device()) {
        return None;
    }
    let batch = activations.dims()[0];
    // [B, C, N] -> [C, B, N]: each channel's rows next to each other.
    Some(symmetric_update_flex(activations.swap_dims(0, 1), weights, batch, (lr / batch as f64) as f32))
}

/// [`symmetric_update`] on CPU tensors: `activations` a stack of `rows x n` matrices, `weights`
/// the matching stack of `n x n` ones, updated in place when the caller hands over the only
/// reference to them (as training does), else in a copy; the new weights keep their shape.
fn symmetric_update_flex<const D: usize>(
    activations: Tensor<D>,
    weights: Tensor<D>,
    rows: usize,
    scale: f32,
) -> Result<(Tensor<D>, Tensor<1>, Tensor<1>)> {
    let (device, n) = (weights.device(), weights.dims()[D - 1]);
    let not_cpu = || anyhow!("the CPU's Hebbian update: an input is not an f32 CPU tensor");
    let activations = activations.try_into_primitive::<Flex>().map_err(|_| not_cpu())?.to_contiguous();
    let activations = activations.as_slice::<f32>().ok_or_else(not_cpu)?;
    let mut weights = weights.try_into_primitive::<Flex>().map_err(|_| not_cpu())?;
    if weights.dtype() != DType::F32 {
        return Err(not_cpu());
    }
    // Only a tensor that covers its whole buffer can be updated through it; another becomes one.
    if weights.layout().contiguous_offsets() != Some((0, weights.storage::<f32>().len())) {
        weights = weights.to_contiguous();
    }
    // Copy-on-write: a copy only when some other tensor still shares these weights.
    let sums = symmetric_update(activations, rows, n, weights.storage_mut::<f32>(), scale);
    Ok((
        Tensor::<D>::from_primitive::<Flex>(weights),
        scalar(sums.delta_abs, &device),
        scalar(sums.updated_squares, &device),
    ))
}

/// A one-element tensor.
fn scalar(value: f64, device: &burn::tensor::Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(vec![value as f32], [1]), device)
}

/// The weights, shared by the block tasks, each of which reads and writes only its own two
/// blocks.
struct BlockWriter(*mut f32);
// SAFETY: tasks touch disjoint elements (block (I, J) and its mirror (J, I), I ≤ J, are each
// touched by one task only) and the buffer outlives the parallel loop.
unsafe impl Send for BlockWriter {}
unsafe impl Sync for BlockWriter {}

impl BlockWriter {
    /// The `len` weights from `start` on.
    ///
    /// # Safety
    /// `start + len` ≤ the buffer's length, and no other task touches any of these weights while
    /// the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn run(&self, start: usize, len: usize) -> &mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// The two sums [`symmetric_update`] reduces on the way.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct UpdateSums {
    /// Σ|ΔW| after clamping.
    pub delta_abs: f64,
    /// Σ W_new², the square of the logged norm.
    pub updated_squares: f64,
}

impl UpdateSums {
    fn add(self, other: UpdateSums) -> UpdateSums {
        UpdateSums {
            delta_abs: self.delta_abs + other.delta_abs,
            updated_squares: self.updated_squares + other.updated_squares,
        }
    }
}

/// Lanes of the running sums in [`apply_run`]: independent accumulators in chunks the compiler
/// vectorises, so the loop is not one chain of dependent additions.
const LANES: usize = 16;

/// `weights[t] += clamp(scale · product[t], -1, 1)` over one contiguous run, with Σ|ΔW| and
/// Σ of the new weights' squares.
#[inline(always)]
fn apply_run(weights: &mut [f32], product: &[f32], scale: f32) -> UpdateSums {
    let (mut magnitudes, mut squares) = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut add = |lane: usize, w: &mut f32, p: f32| {
        let delta = (scale * p).clamp(-1.0, 1.0);
        *w += delta;
        magnitudes[lane] += delta.abs();
        squares[lane] += *w * *w;
    };
    let whole = weights.len() / LANES * LANES;
    let (product, product_rest) = product[..weights.len()].split_at(whole);
    let (weights, weights_rest) = weights.split_at_mut(whole);
    for (w, p) in weights.chunks_exact_mut(LANES).zip(product.chunks_exact(LANES)) {
        for lane in 0..LANES {
            add(lane, &mut w[lane], p[lane]);
        }
    }
    for (lane, (w, p)) in weights_rest.iter_mut().zip(product_rest).enumerate() {
        add(lane, w, *p);
    }
    let total = |lanes: [f32; LANES]| lanes.iter().map(|&v| v as f64).sum();
    UpdateSums { delta_abs: total(magnitudes), updated_squares: total(squares) }
}

/// `out` (`cols x rows`, row-major) = the transpose of `matrix` (`rows x cols`), in square
/// tiles so that neither side's accesses stride across the whole block.
fn transpose(matrix: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    const TILE: usize = 16;
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0..(j0 + TILE).min(cols) {
                    out[j * rows + i] = matrix[i * cols + j];
                }
            }
        }
    }
}

/// CPU kernel: `W += clamp(scale · AᵀA, -1, 1)`, in place, for each of a stack of matrices — `A`
/// row-major `rows x n` (stacked: `count x rows x n`) and `W` row-major `n x n` (stacked:
/// `count x n x n`) — returning Σ|clamp(scale · AᵀA, -1, 1)| and Σ of the new weights' squares
/// over the whole stack. Each block of AᵀA on or above the diagonal is computed once and applied
/// at both of its places (row by row in each), so ΔW is exactly symmetric. The sums add the
/// blocks' partial sums in a fixed order (reproducible).
pub(crate) fn symmetric_update(
    activations: &[f32],
    rows: usize,
    n: usize,
    weights: &mut [f32],
    scale: f32,
) -> UpdateSums {
    let count = if n == 0 { 0 } else { weights.len() / (n * n) };
    assert_eq!(weights.len(), count * n * n, "weights must be a stack of n x n matrices");
    assert_eq!(activations.len(), count * rows * n, "activations must be a stack of rows x n matrices");
    let blocks = n.div_ceil(CPU_BLOCK);
    let tasks: Vec<(usize, usize, usize)> =
        (0..count).flat_map(|m| (0..blocks).flat_map(move |i| (i..blocks).map(move |j| (m, i, j)))).collect();
    let shared = BlockWriter(weights.as_mut_ptr());
    let shared = &shared;
    let partial_sums: Vec<UpdateSums> = tasks
        .par_iter()
        .map_init(
            || (vec![0.0f32; CPU_BLOCK * CPU_BLOCK], vec![0.0f32; CPU_BLOCK * CPU_BLOCK]),
            |(product, mirror), &(m, bi, bj)| {
                let (i0, j0) = (bi * CPU_BLOCK, bj * CPU_BLOCK);
                let (height, width) = (CPU_BLOCK.min(n - i0), CPU_BLOCK.min(n - j0));
                let (a, base) = (&activations[m * rows * n..(m + 1) * rows * n], m * n * n);
                // product[i][j] = Σ_r A[r][i0 + i] · A[r][j0 + j], row-major height x width.
                matmul::product(
                    height,
                    width,
                    rows,
                    View::transposed(&a[i0..], n),
                    View::rows(&a[j0..], n),
                    product,
                    false,
                );
                let mut sums = UpdateSums::default();
                // Block (bi, bj), row by row; a diagonal block from its diagonal on.
                for i in 0..height {
                    let first = if bi == bj { i } else { 0 };
                    // SAFETY: the run lies in row i0 + i of block (bi, bj) of matrix m, which only
                    // this task touches.
                    let run = unsafe { shared.run(base + (i0 + i) * n + j0 + first, width - first) };
                    sums = sums.add(apply_run(run, &product[i * width + first..(i + 1) * width], scale));
                }
                // Its mirror (bj, bi), row by row from the transposed product; a diagonal block
                // only below its diagonal.
                transpose(&product[..height * width], height, width, mirror);
                for j in 0..width {
                    let len = if bi == bj { j } else { height };
                    // SAFETY: the run lies in row j0 + j of block (bj, bi) of matrix m, which only
                    // this task touches (on a diagonal block, left of where the first loop began).
                    let run = unsafe { shared.run(base + (j0 + j) * n + i0, len) };
                    sums = sums.add(apply_run(run, &mirror[j * height..j * height + len], scale));
                }
                sums
            },
        )
        .collect();
    partial_sums.into_iter().fold(UpdateSums::default(), UpdateSums::add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::hash::pcg;

    /// The blocked kernel against a direct triple loop, with n not a multiple of the block and
    /// a scale large enough that the clamp binds on some entries and not on others.
    #[test]
    fn blocked_symmetric_update_matches_the_direct_formula() {
        let (rows, n) = (5, 2 * CPU_BLOCK + 13);
        let value = |i: usize| (pcg(i as u32) % 2001) as f32 / 1000.0 - 1.0;
        let activations: Vec<f32> = (0..rows * n).map(value).collect();
        let weights: Vec<f32> = (0..n * n).map(|i| value(i + 7)).collect();
        let scale = 0.6;
        let mut updated = weights.clone();
        let sums = symmetric_update(&activations, rows, n, &mut updated, scale);
        let (mut want_sum, mut want_squares, mut clamped) = (0.0f64, 0.0f64, 0);
        for i in 0..n {
            for j in 0..n {
                let dot: f32 = (0..rows).map(|r| activations[r * n + i] * activations[r * n + j]).sum();
                let raw = scale * dot;
                clamped += (raw.abs() > 1.0) as usize;
                let delta = raw.clamp(-1.0, 1.0);
                want_sum += delta.abs() as f64;
                let got = updated[i * n + j];
                assert!((got - (weights[i * n + j] + delta)).abs() < 1e-5, "({i}, {j}): {got}");
                want_squares += (weights[i * n + j] + delta).powi(2) as f64;
            }
        }
        assert!(clamped > 0 && clamped < n * n / 2, "{clamped} clamped entries");
        assert!((sums.delta_abs - want_sum).abs() < 1e-6 * want_sum, "{sums:?} vs {want_sum}");
        assert!((sums.updated_squares - want_squares).abs() < 1e-6 * want_squares, "{sums:?} vs {want_squares}");
        // From W = 0 the update is ΔW itself, exactly symmetric.
        let mut delta = vec![0.0; n * n];
        symmetric_update(&activations, rows, n, &mut delta, scale);
        assert!((0..n).all(|i| (0..n).all(|j| delta[i * n + j] == delta[j * n + i])));
    }
}
