//! The initial 2-D layout for UMAP: the features' first two principal components, found by
//! subspace iteration on a two-column basis; no `D x D` covariance is formed. On the CPU each
//! iteration is [`subspace_step`], the one shared with the neighbour search's reduced
//! copy and the features' whitening; on wgpu the centred `N x D` matrix is multiplied as tensors
//! on the device (two products per iteration). Both stop once the basis stops moving, or after
//! [`ITERATIONS`].

use anyhow::Result;
use burn::tensor::{Device, Tensor, TensorData};

use crate::compute::device::{is_wgpu, read_f32};
use crate::compute::features::Features;
use crate::compute::linalg::{centred_product, column_means, orthonormalise_columns, subspace_step};
use crate::progress::Progress;

/// Most power iterations.
pub(crate) const ITERATIONS: usize = 40;

/// The iteration stops when no basis value moves by more than this.
const SETTLED: f32 = 1e-6;

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
    orthonormalise_columns(&mut basis, d, 2);
    basis
}

/// Whether the basis settled: no value moved by more than [`SETTLED`] from `before`.
fn settled(before: &[f32], basis: &[f32]) -> bool {
    before.iter().zip(basis).all(|(a, b)| (a - b).abs() <= SETTLED)
}

/// The iteration as tensor ops on `device`.
fn principal_components_tensor(features: &Features, device: &Device, on_iteration: impl Fn()) -> Result<Vec<[f32; 2]>> {
    let (n, d) = (features.rows, features.dim);
    let x: Tensor<2> = Tensor::from_data(TensorData::new(features.values.clone(), [n, d]), device);
    let centred = x.clone() - x.mean_dim(0);
    let mut basis = start(d);
    for _ in 0..ITERATIONS {
        let v: Tensor<2> = Tensor::from_data(TensorData::new(basis.clone(), [d, 2]), device);
        let mut next = read(centred.clone().transpose().matmul(centred.clone().matmul(v)))?;
        orthonormalise_columns(&mut next, d, 2);
        on_iteration();
        let done = settled(&basis, &next);
        basis = next;
        if done {
            break;
        }
    }
    let v: Tensor<2> = Tensor::from_data(TensorData::new(basis, [d, 2]), device);
    let projected = read(centred.matmul(v))?;
    Ok(projected.chunks(2).map(|p| [p[0], p[1]]).collect())
}

/// The iteration on the host, by [`subspace_step`].
fn principal_components_host(features: &Features, on_iteration: impl Fn()) -> Vec<[f32; 2]> {
    let (n, d) = (features.rows, features.dim);
    if n == 0 || d == 0 {
        return vec![[0.0, 0.0]; n];
    }
    let x = &features.values;
    let mean = column_means(x, n, d);
    let mut basis = start(d);
    for _ in 0..ITERATIONS {
        let before = basis.clone();
        subspace_step(x, n, d, &mean, &mut basis, 2);
        on_iteration();
        if settled(&before, &basis) {
            break;
        }
    }
    centred_product(x, n, d, &mean, &basis, 2).chunks(2).map(|p| [p[0], p[1]]).collect()
}

fn read(t: Tensor<2>) -> Result<Vec<f32>> {
    read_f32(t, "PCA values")
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
        // 300 rows x 37 features with a clear two-axis structure.
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
