//! The initial 2-D layout for UMAP: the features' first two principal components, found by
//! block power iteration (the `N x D` feature matrix is multiplied on the run's device; no
//! `D x D` covariance is formed).

use anyhow::Result;
use burn::tensor::{Device, Tensor, TensorData};

use crate::device::read_f32;
use crate::features::Features;

const ITERATIONS: usize = 40;

/// Coordinates of every row on the first two principal axes.
pub fn principal_components(features: &Features, device: &Device) -> Result<Vec<[f32; 2]>> {
    let (n, d) = (features.rows, features.dim);
    let x: Tensor<2> = Tensor::from_data(TensorData::new(features.values.clone(), [n, d]), device);
    let centred = x.clone() - x.mean_dim(0);
    // A fixed, deterministic start: two independent patterns over the feature axis.
    let mut basis: Vec<f32> = (0..d).flat_map(|i| [1.0 + (i % 7) as f32, ((i * 13) % 11) as f32 - 5.0]).collect();
    orthonormalise(&mut basis);
    for _ in 0..ITERATIONS {
        let v: Tensor<2> = Tensor::from_data(TensorData::new(basis.clone(), [d, 2]), device);
        let next = centred.clone().transpose().matmul(centred.clone().matmul(v));
        basis = read(next)?;
        orthonormalise(&mut basis);
    }
    let v: Tensor<2> = Tensor::from_data(TensorData::new(basis, [d, 2]), device);
    let projected = read(centred.matmul(v))?;
    Ok(projected.chunks(2).map(|p| [p[0], p[1]]).collect())
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
        let pcs = principal_components(&features, &Device::flex()).unwrap();
        // First component is (up to sign) the centred feature 2.
        let sign = pcs[0][0].signum() * -1.0;
        for (i, p) in pcs.iter().enumerate() {
            let expected = sign * (i as f32 - 25.0 + 0.5) * (1.0 + 0.0001f32).sqrt();
            assert!((p[0] - expected).abs() < 0.05, "row {i}: {} vs {expected}", p[0]);
        }
    }
}
