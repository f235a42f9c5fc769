//! The fused Hebbian update of the shared lateral weights: `W + clamp(η·AᵀA, -1, 1)`, the sum of
//! |ΔW| and the sum of the new W² (the logged norm) in one pass over W, never writing ΔW out.
//!
//! - On wgpu, `shaders/hebbian_update.wgsl` computes ΔW tile by tile in workgroup memory.
//! - On the CPU (flex), [`symmetric_update`] computes AᵀA block by block with `gemm`, only the
//!   blocks on and above the diagonal (AᵀA is symmetric: half the multiply-adds), and applies
//!   each block and its mirror image to W while the block is still in cache.
//!
//! Both are twins of the plain tensor path in [`super::lateral`]; the tests compare them.

use burn::backend::wgpu::{CubeDim, CubeTensor, SourceKernel, into_contiguous};
use burn::backend::{Flex, Wgpu};
use burn::cubecl::CubeCount;
use burn::cubecl::server::KernelArguments;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use crate::device::is_wgpu;
use crate::matmul::{self, View};
use crate::wgsl;

/// Side of the square tile one workgroup computes (the shader's `TILE`).
const TILE: usize = 16;

/// Side of the square blocks of AᵀA the CPU path computes at once (64 KiB each).
const CPU_BLOCK: usize = 128;

/// What one fused update returns: the new weights, Σ|ΔW| and Σ W_new², each as a tensor.
pub type Fused = (Tensor<2>, Tensor<1>, Tensor<1>);

/// `W + clamp(scale · AᵀA, -1, 1)`, the sum of |clamp(scale · AᵀA, -1, 1)| and the sum of the
/// squares of the result, for `A` of shape `[rows, n]` and `W` of shape `[n, n]`, on a wgpu or
/// flex device. `None` on any other device (the caller then runs the tensor ops).
pub fn shared_update(activations: Tensor<2>, weights: Tensor<2>, scale: f32) -> Option<Fused> {
    if is_wgpu(&activations.device()) {
        shared_update_wgpu(activations, weights, scale)
    } else {
        shared_update_flex(activations, weights, scale)
    }
}

fn shared_update_wgpu(activations: Tensor<2>, weights: Tensor<2>, scale: f32) -> Option<Fused> {
    let [rows, n] = activations.dims();
    let activations: CubeTensor = into_contiguous(activations.try_into_primitive::<Wgpu>().ok()?);
    let weights: CubeTensor = into_contiguous(weights.try_into_primitive::<Wgpu>().ok()?);
    let client = activations.client.clone();
    let tiles = n.div_ceil(TILE);
    let weights_out = wgsl::empty_f32(&activations, vec![n, n]);
    let partial = wgsl::empty_f32(&activations, vec![tiles * tiles, 2]);
    let info = [rows as u32, n as u32, scale.to_bits()];
    let info = client.create_from_slice(bytemuck::cast_slice(&info));

    let cube_dim = CubeDim::new_2d(TILE as u32, TILE as u32);
    client.launch(
        Box::new(SourceKernel::new(wgsl::HEBBIAN_UPDATE, cube_dim)),
        CubeCount::Static(tiles as u32, tiles as u32, 1),
        KernelArguments::new().with_buffers(vec![
            activations.handle.binding(),
            weights.handle.binding(),
            weights_out.handle.clone().binding(),
            partial.handle.clone().binding(),
            info.binding(),
        ]),
    );
    let weights_out = Tensor::<2>::from_primitive::<Wgpu>(weights_out);
    let sums = Tensor::<2>::from_primitive::<Wgpu>(partial).sum_dim(0).reshape([2]);
    Some((weights_out, sums.clone().slice([0..1]), sums.slice([1..2])))
}

fn shared_update_flex(activations: Tensor<2>, weights: Tensor<2>, scale: f32) -> Option<Fused> {
    let device = activations.device();
    let [rows, n] = activations.dims();
    let activations = activations.try_into_primitive::<Flex>().ok()?.to_contiguous();
    let weights = weights.try_into_primitive::<Flex>().ok()?.to_contiguous();
    let (activations, weights) = (activations.as_slice::<f32>()?, weights.as_slice::<f32>()?);
    let mut updated = vec![0.0f32; n * n];
    let sums = symmetric_update(activations, rows, n, weights, &mut updated, scale);
    let scalar = |value: f64| Tensor::from_data(TensorData::new(vec![value as f32], [1]), &device);
    Some((Tensor::from_data(TensorData::new(updated, [n, n]), &device), scalar(sums.delta_abs), scalar(sums.updated_squares)))
}

/// The output buffer, shared by the block tasks, each of which writes only its own two blocks.
struct BlockWriter(*mut f32);
// SAFETY: tasks write disjoint elements (block (I, J) and its mirror (J, I), I ≤ J, are each
// written by one task only) and the buffer outlives the parallel loop.
unsafe impl Send for BlockWriter {}
unsafe impl Sync for BlockWriter {}

/// The two sums [`symmetric_update`] reduces on the way.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateSums {
    /// Σ|ΔW| after clamping.
    pub delta_abs: f64,
    /// Σ W_new², the square of the logged norm.
    pub updated_squares: f64,
}

/// CPU kernel: `updated = weights + clamp(scale · AᵀA, -1, 1)` for `A` row-major `rows x n` and
/// `weights`/`updated` row-major `n x n`; returns Σ|clamp(scale · AᵀA, -1, 1)| and Σ updated².
/// Each block of AᵀA on or above the diagonal is computed once and applied at both of its places,
/// so ΔW is exactly symmetric. The sums add the blocks' partial sums in a fixed order
/// (reproducible).
pub fn symmetric_update(activations: &[f32], rows: usize, n: usize, weights: &[f32], updated: &mut [f32], scale: f32) -> UpdateSums {
    assert_eq!(activations.len(), rows * n, "activations must be rows x n");
    assert!(weights.len() == n * n && updated.len() == n * n, "weights must be n x n");
    let blocks = n.div_ceil(CPU_BLOCK);
    let pairs: Vec<(usize, usize)> = (0..blocks).flat_map(|i| (i..blocks).map(move |j| (i, j))).collect();
    let out = BlockWriter(updated.as_mut_ptr());
    let out = &out;
    let partial_sums: Vec<UpdateSums> = pairs
        .par_iter()
        .map_init(
            || vec![0.0f32; CPU_BLOCK * CPU_BLOCK],
            |product, &(bi, bj)| {
                let (i0, j0) = (bi * CPU_BLOCK, bj * CPU_BLOCK);
                let (height, width) = (CPU_BLOCK.min(n - i0), CPU_BLOCK.min(n - j0));
                // product[i][j] = Σ_r A[r][i0 + i] · A[r][j0 + j], row-major height x width.
                let (columns_i, columns_j) = (View::transposed(&activations[i0..], n), View::rows(&activations[j0..], n));
                matmul::product(height, width, rows, columns_i, columns_j, product, false);
                let mut sums = UpdateSums::default();
                for i in 0..height {
                    // On a diagonal block only the upper triangle is read: its mirror is the lower one.
                    let first = if bi == bj { i } else { 0 };
                    for j in first..width {
                        let delta = (scale * product[i * width + j]).clamp(-1.0, 1.0);
                        let (upper, lower) = ((i0 + i) * n + j0 + j, (j0 + j) * n + i0 + i);
                        let (new_upper, new_lower) = (weights[upper] + delta, weights[lower] + delta);
                        // SAFETY: (upper, lower) lie in blocks (bi, bj) and (bj, bi), which only
                        // this task writes; both are < n * n.
                        unsafe {
                            *out.0.add(upper) = new_upper;
                            *out.0.add(lower) = new_lower;
                        }
                        let (delta, new_upper, new_lower) = (delta.abs() as f64, new_upper as f64, new_lower as f64);
                        if upper == lower {
                            sums.delta_abs += delta;
                            sums.updated_squares += new_upper * new_upper;
                        } else {
                            sums.delta_abs += 2.0 * delta;
                            sums.updated_squares += new_upper * new_upper + new_lower * new_lower;
                        }
                    }
                }
                sums
            },
        )
        .collect();
    partial_sums.iter().fold(UpdateSums::default(), |total, part| UpdateSums {
        delta_abs: total.delta_abs + part.delta_abs,
        updated_squares: total.updated_squares + part.updated_squares,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::pcg;

    /// The blocked kernel against a direct triple loop, with n not a multiple of the block and
    /// a scale large enough that the clamp binds on some entries and not on others.
    #[test]
    fn blocked_symmetric_update_matches_the_direct_formula() {
        let (rows, n) = (5, 2 * CPU_BLOCK + 13);
        let value = |i: usize| (pcg(i as u32) % 2001) as f32 / 1000.0 - 1.0;
        let activations: Vec<f32> = (0..rows * n).map(value).collect();
        let weights: Vec<f32> = (0..n * n).map(|i| value(i + 7)).collect();
        let scale = 0.6;
        let mut updated = vec![f32::NAN; n * n];
        let sums = symmetric_update(&activations, rows, n, &weights, &mut updated, scale);
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
        let mut delta = vec![f32::NAN; n * n];
        symmetric_update(&activations, rows, n, &vec![0.0; n * n], &mut delta, scale);
        assert!((0..n).all(|i| (0..n).all(|j| delta[i * n + j] == delta[j * n + i])));
    }
}
