//! The initial 2-D layout for UMAP: the features' first two principal components, found by
//! block power iteration; no `D x D` covariance is formed. On wgpu the centred `N x D` matrix is
//! multiplied as tensors (two products per iteration); on the CPU (`host_iteration`) each
//! iteration is one parallel pass over the rows, with the centring folded in:
//! `Xcᵀ Xc v = Xᵀ (X v - 1 μᵀv)` because the centred columns sum to zero. Both stop once the basis
//! stops moving, or after [`ITERATIONS`].

use anyhow::Result;
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use crate::compute::device::{is_wgpu, read_f32};
use crate::compute::features::Features;
use crate::compute::linalg::column_means;
use crate::compute::matmul::{self, View};
use crate::progress::Progress;

/// Most power iterations.
pub(crate) const ITERATIONS: usize = 40;

/// The iteration stops when no basis value moves by more than this.
const SETTLED: f32 = 1e-6;

/// Rows per product in the CPU pass (a block of 4,608-wide rows stays in L2).
const HOST_BLOCK_ROWS: usize = 32;

/// Coordinates of every row on the first two principal axes, with a progress bar over the
/// iterations (its length is [`ITERATIONS`], the most there can be) when `progress` is shown.
pub(crate) fn principal_components(features: &Features, device: &Device, progress: Progress) -> Result<Vec<[f32; 2]>> {
    let bar = progress.bar(ITERATIONS as u64, "pca");
    let tick = || bar.inc(1);
    let result = if is_wgpu(device) {
        principal_components_tensor(features, device, tick)
    } else {
        Ok(principal_components_host(features, tick))
    };
    bar.finish_and_clear();
    result
}

/// A fixed, deterministic start: two independent patterns over the feature axis, `d x 2`.
fn start(d: usize) -> Vec<f32> {
    let mut basis: Vec<f32> = (0..d).flat_map(|i| [1.0 + (i % 7) as f32, ((i * 13) % 11) as f32 - 5.0]).collect();
    orthonormalise(&mut basis);
    basis
}

/// Orthonormalises `next` into `basis` and says whether the basis has settled.
fn settle(basis: &mut Vec<f32>, mut next: Vec<f32>) -> bool {
    orthonormalise(&mut next);
    let moved = basis.iter().zip(&next).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    *basis = next;
    moved <= SETTLED
}

/// The power iteration as tensor ops on `device`.
fn principal_components_tensor(features: &Features, device: &Device, on_iteration: impl Fn()) -> Result<Vec<[f32; 2]>> {
    let (n, d) = (features.rows, features.dim);
    let x: Tensor<2> = Tensor::from_data(TensorData::new(features.values.clone(), [n, d]), device);
    let centred = x.clone() - x.mean_dim(0);
    let mut basis = start(d);
    for _ in 0..ITERATIONS {
        let v: Tensor<2> = Tensor::from_data(TensorData::new(basis.clone(), [d, 2]), device);
        let next = read(centred.clone().transpose().matmul(centred.clone().matmul(v)))?;
        on_iteration();
        if settle(&mut basis, next) {
            break;
        }
    }
    let v: Tensor<2> = Tensor::from_data(TensorData::new(basis, [d, 2]), device);
    let projected = read(centred.matmul(v))?;
    Ok(projected.chunks(2).map(|p| [p[0], p[1]]).collect())
}

/// The power iteration on the host, one pass over the rows per iteration.
fn principal_components_host(features: &Features, on_iteration: impl Fn()) -> Vec<[f32; 2]> {
    let (n, d) = (features.rows, features.dim);
    if n == 0 || d == 0 {
        return vec![[0.0, 0.0]; n];
    }
    let group = n.div_ceil(64).max(HOST_BLOCK_ROWS) * d;
    let mean = column_means(&features.values, n, d);
    let mut basis = start(d);
    for _ in 0..ITERATIONS {
        let mut next = vec![0.0f32; d * 2];
        for part in
            features.values.par_chunks(group).map(|rows| host_iteration(rows, d, &mean, &basis)).collect::<Vec<_>>()
        {
            next.iter_mut().zip(part).for_each(|(a, b)| *a += b);
        }
        on_iteration();
        if settle(&mut basis, next) {
            break;
        }
    }
    let shift = project(&mean, &basis);
    features
        .values
        .par_chunks(d)
        .map(|row| {
            let p = project(row, &basis);
            [p[0] - shift[0], p[1] - shift[1]]
        })
        .collect()
}

/// `row · basis` for a `d x 2` basis.
fn project(row: &[f32], basis: &[f32]) -> [f32; 2] {
    row.iter().zip(basis.chunks(2)).fold([0.0, 0.0], |[a, b], (&x, v)| [a + x * v[0], b + x * v[1]])
}

/// One group of rows' share of `Xcᵀ Xc v` (`d x 2`): in blocks of rows, `s = X v - μᵀv` and
/// `Xᵀ s`, both as matrix products while the block is in cache.
fn host_iteration(rows: &[f32], d: usize, mean: &[f32], basis: &[f32]) -> Vec<f32> {
    let shift = project(mean, basis);
    let mut share = vec![0.0f32; d * 2];
    let mut block_share = vec![0.0f32; d * 2];
    let mut scores = vec![0.0f32; HOST_BLOCK_ROWS * 2];
    for block in rows.chunks(HOST_BLOCK_ROWS * d) {
        let height = block.len() / d;
        matmul::product(height, 2, d, View::rows(block, d), View::rows(basis, 2), &mut scores, false);
        for pair in scores[..height * 2].chunks_mut(2) {
            pair[0] -= shift[0];
            pair[1] -= shift[1];
        }
        matmul::product(d, 2, height, View::transposed(block, d), View::rows(&scores, 2), &mut block_share, false);
        share.iter_mut().zip(&block_share).for_each(|(a, b)| *a += b);
    }
    share
}

fn read(t: Tensor<2>) -> Result<Vec<f32>> {
    read_f32(t, "PCA values")
}

/// Gram-Schmidt on the two columns of a row-major `d x 2` matrix. A column that vanishes is
/// replaced by a unit axis, so degenerate (constant) features still give a basis.
fn orthonormalise(basis: &mut [f32]) {
    let d = basis.len() / 2;
    let norm = |basis: &[f32], c: usize| (0..d).map(|i| basis[2 * i + c].powi(2)).sum::<f32>().sqrt();
    let n0 = norm(basis, 0);
    for i in 0..d {
        basis[2 * i] = if n0 > 1e-20 { basis[2 * i] / n0 } else { (i == 0) as u8 as f32 };
    }
    let dot: f32 = (0..d).map(|i| basis[2 * i] * basis[2 * i + 1]).sum();
    for i in 0..d {
        basis[2 * i + 1] -= dot * basis[2 * i];
    }
    let n1 = norm(basis, 1);
    for i in 0..d {
        basis[2 * i + 1] = if n1 > 1e-20 { basis[2 * i + 1] / n1 } else { (i == 1 % d) as u8 as f32 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_dominant_axes() {
        // Points spread widely along feature 2 and narrowly along feature 0.
        let mut values = Vec::new();
        for i in 0..50 {
            let t = i as f32 - 25.0;
            values.extend([0.1 * (i % 5) as f32, 0.0, t, 0.01 * t]);
        }
        let features = Features { rows: 50, dim: 4, values };
        let pcs = principal_components(&features, &Device::flex(), Progress::Hidden).unwrap();
        // First component is (up to sign) the centred feature 2.
        let sign = -pcs[0][0].signum();
        for (i, p) in pcs.iter().enumerate() {
            let expected = sign * (i as f32 - 25.0 + 0.5) * (1.0 + 0.0001f32).sqrt();
            assert!((p[0] - expected).abs() < 0.05, "row {i}: {} vs {expected}", p[0]);
        }
    }

    #[test]
    fn host_pass_matches_the_tensor_ops() {
        // 300 rows (several blocks, uneven groups) x 37 features with a clear two-axis structure.
        let (rows, dim) = (300, 37);
        let values: Vec<f32> = (0..rows * dim)
            .map(|i| {
                let (r, j) = ((i / dim) as f32, (i % dim) as f32);
                (r * 0.37).sin() * (1.0 + j * 0.1) + (r * 0.11).cos() * (j * 0.3).sin() * 0.5 + 0.2
            })
            .collect();
        let features = Features { rows, dim, values };
        let host = principal_components_host(&features, || ());
        let tensor = principal_components_tensor(&features, &Device::flex(), || ()).unwrap();
        for (h, t) in host.iter().zip(&tensor) {
            assert!((h[0] - t[0]).abs() < 1e-3 && (h[1] - t[1]).abs() < 1e-3, "{h:?} vs {t:?}");
        }
        assert!(host.iter().map(|p| p[0].abs()).fold(0.0, f32::max) > 1.0, "a degenerate test");
    }
}
