//! Orthonormal columns by Cholesky QR, for the subspace iterations that find principal axes
//! (the features' whitening, NN-descent's reduced copy): the Gram matrix as one matrix product, its
//! Cholesky factor R in f64, then `Q = B R⁻¹` as another product, twice over (the second pass
//! repairs the first's loss of orthogonality). Two products instead of Gram-Schmidt's column by
//! column passes, so hundreds of columns of thousands of values take milliseconds.

use crate::compute::matmul::{self, View};

/// Orthonormalises the `width` columns of a row-major `dim x width` matrix in place, keeping the
/// span of the first j columns for every j. A column that depends on the ones before it becomes
/// zero.
pub(crate) fn orthonormalise_columns(matrix: &mut [f32], dim: usize, width: usize) {
    for _pass in 0..2 {
        let mut gram = vec![0.0f32; width * width];
        let view = View::rows(matrix, width);
        matmul::product(width, width, dim, View::transposed(matrix, width), view, &mut gram, true);
        let inverse = inverse_cholesky_factor(&gram, width);
        let mut orthonormal = vec![0.0f32; dim * width];
        matmul::product(
            dim,
            width,
            width,
            View::rows(matrix, width),
            View::rows(&inverse, width),
            &mut orthonormal,
            true,
        );
        matrix.copy_from_slice(&orthonormal);
    }
}

/// `R⁻¹` (row-major, upper triangular) for the Cholesky factor `RᵀR = gram` of a Gram matrix.
/// A column whose pivot is negligible against its own squared norm depends on the columns before
/// it: its row and column of `R⁻¹` are zero, and it is left out of the factor.
fn inverse_cholesky_factor(gram: &[f32], width: usize) -> Vec<f32> {
    let g = |i: usize, j: usize| gram[i * width + j] as f64;
    let mut r = vec![0.0f64; width * width];
    let mut kept = vec![false; width];
    for j in 0..width {
        let pivot = g(j, j) - (0..j).map(|i| r[i * width + j].powi(2)).sum::<f64>();
        let negligible = pivot.is_nan() || pivot <= 1e-6 * g(j, j).max(f64::MIN_POSITIVE);
        if negligible {
            continue;
        }
        kept[j] = true;
        let rjj = pivot.sqrt();
        r[j * width + j] = rjj;
        for k in j + 1..width {
            let dot: f64 = (0..j).map(|i| r[i * width + j] * r[i * width + k]).sum();
            r[j * width + k] = (g(j, k) - dot) / rjj;
        }
    }
    // Back substitution, one column of R⁻¹ at a time, over the kept indices only.
    let mut inverse = vec![0.0f32; width * width];
    for column in (0..width).filter(|&c| kept[c]) {
        let mut x = vec![0.0f64; width];
        x[column] = 1.0 / r[column * width + column];
        for row in (0..column).rev().filter(|&i| kept[i]) {
            let sum: f64 = (row + 1..=column).filter(|&k| kept[k]).map(|k| r[row * width + k] * x[k]).sum();
            x[row] = -sum / r[row * width + row];
        }
        (0..width).for_each(|row| inverse[row * width + column] = x[row] as f32);
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::rng::seeded;
    use rand::RngExt;

    #[test]
    fn cholesky_qr_orthonormalises_and_zeroes_dependent_columns() {
        let (dim, width) = (50, 6);
        let mut rng = seeded(5);
        let mut matrix: Vec<f32> = (0..dim * width).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        for i in 0..dim {
            matrix[i * width + 3] = matrix[i * width] - 2.0 * matrix[i * width + 1];
        }
        orthonormalise_columns(&mut matrix, dim, width);
        for a in 0..width {
            for b in 0..width {
                let dot: f32 = (0..dim).map(|i| matrix[i * width + a] * matrix[i * width + b]).sum();
                let want = if a == b && a != 3 { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "columns {a}, {b}: {dot}");
            }
        }
    }
}
