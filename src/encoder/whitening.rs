//! ZCA whitening of the first layer's 3x3 input patches (Coates & Ng, "An analysis of
//! single-layer networks in unsupervised feature learning", 2011): from the patches' mean μ and
//! covariance Σ = U Λ Uᵀ, the transform Z = U (Λ + εI)^(-1/2) Uᵀ decorrelates the patch values and
//! gives them unit variance, so the filters' competition is not won by the directions that merely
//! vary most (brightness, alpha). ε, a share of the mean eigenvalue, keeps noise directions from
//! being blown up. The patches are at most 4 channels x 9 = 36 values, so the eigenvectors come
//! from a cyclic Jacobi iteration in f64 on the host
//! ([`crate::compute::linalg::symmetric_eigen`]).

use crate::compute::linalg::symmetric_eigen;

/// ε as a share of the mean eigenvalue of the covariance.
pub(crate) const EPSILON_SHARE: f64 = 0.1;

/// The symmetric `dim x dim` ZCA matrix (row-major) for a covariance (row-major, symmetric).
pub(crate) fn zca_matrix(covariance: &[f64], dim: usize) -> Vec<f32> {
    let (values, vectors) = symmetric_eigen(covariance, dim);
    let mean = values.iter().sum::<f64>() / dim as f64;
    let epsilon = EPSILON_SHARE * mean.max(1e-12);
    let scales: Vec<f64> = values.iter().map(|&l| 1.0 / (l.max(0.0) + epsilon).sqrt()).collect();
    let mut z = vec![0.0f32; dim * dim];
    for i in 0..dim {
        for j in 0..dim {
            let v: f64 = (0..dim).map(|k| vectors[i * dim + k] * scales[k] * vectors[j * dim + k]).sum();
            z[i * dim + j] = v as f32;
        }
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_decomposition_rebuilds_the_matrix() {
        let m = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        let (values, vectors) = symmetric_eigen(&m, 3);
        for i in 0..3 {
            for j in 0..3 {
                let rebuilt: f64 = (0..3).map(|k| vectors[i * 3 + k] * values[k] * vectors[j * 3 + k]).sum();
                assert!((rebuilt - m[i * 3 + j]).abs() < 1e-10, "{i},{j}: {rebuilt}");
            }
        }
        // [[2, 0], [0, 3]] has eigenvalues 2 and 3.
        let (values, _) = symmetric_eigen(&[2.0, 0.0, 0.0, 3.0], 2);
        assert_eq!(values, vec![2.0, 3.0]);
    }

    #[test]
    fn zca_whitens_a_correlated_covariance() {
        // Z Σ Z = U diag(λ / (λ + ε)) Uᵀ: the identity but for ε's shrinkage of each eigenvalue.
        let cov = [2.0, 1.2, 1.2, 1.0];
        let z = zca_matrix(&cov, 2);
        let z: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        let product = |a: &[f64], b: &[f64]| -> Vec<f64> {
            (0..4).map(|at| (0..2).map(|k| a[(at / 2) * 2 + k] * b[k * 2 + at % 2]).sum()).collect()
        };
        let whitened = product(&product(&z, &cov), &z);
        let (values, _) = symmetric_eigen(&cov, 2);
        let epsilon = EPSILON_SHARE * (values[0] + values[1]) / 2.0;
        let mut want: Vec<f64> = values.iter().map(|&l| l / (l + epsilon)).collect();
        let (mut got, _) = symmetric_eigen(&whitened, 2);
        want.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
        // Without ε (the strong direction's factor is near 1) the variances would all be 1.
        assert!(want[1] > 0.9, "{want:?}");
        assert!((z[1] - z[2]).abs() < 1e-6, "Z is symmetric: {z:?}");
    }
}
