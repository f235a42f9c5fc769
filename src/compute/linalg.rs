//! The linear algebra every stage shares, on the host: one Cholesky factorisation, and on it
//! orthonormal columns by Cholesky QR and a solver for symmetric systems; one step of subspace
//! iteration towards the top principal axes (the map's PCA start, the neighbour search's reduced
//! copy and the features' whitening all iterate with it); the eigen-decomposition of small
//! symmetric matrices, column means, and the Gaussian sampler (Box-Muller).
//!
//! Cholesky QR: the Gram matrix as one matrix product, its Cholesky factor R in f64, then
//! `Q = B R⁻¹` as another product, twice over (the second pass repairs the first's loss of
//! orthogonality). Two products instead of Gram-Schmidt's column by column passes, so hundreds
//! of columns of thousands of values take milliseconds.

use rayon::prelude::*;

use crate::compute::matmul::{self, View};

/// Rows per group of [`column_means`]' parallel sums (a group of 4,608-wide rows stays in L2).
const MEAN_BLOCK_ROWS: usize = 32;

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

/// `R⁻¹` (row-major, upper triangular) for the Cholesky factor `RᵀR = gram` of a Gram matrix
/// (`R = Lᵀ`, [`cholesky_factor`] with dependent columns left out: their row and column of `R⁻¹`
/// are zero).
fn inverse_cholesky_factor(gram: &[f32], width: usize) -> Vec<f32> {
    let gram: Vec<f64> = gram.iter().map(|&v| v as f64).collect();
    let l = cholesky_factor(&gram, width, 0.0, Pivots::LeaveOutDependent);
    let kept: Vec<bool> = (0..width).map(|j| l[j][j] > 0.0).collect();
    // Back substitution on R = Lᵀ (R_ik = L_ki), one column of R⁻¹ at a time, over the kept
    // indices only.
    let mut inverse = vec![0.0f32; width * width];
    for column in (0..width).filter(|&c| kept[c]) {
        let mut x = vec![0.0f64; width];
        x[column] = 1.0 / l[column][column];
        for row in (0..column).rev().filter(|&i| kept[i]) {
            let sum: f64 = (row + 1..=column).filter(|&k| kept[k]).map(|k| l[k][row] * x[k]).sum();
            x[row] = -sum / l[row][row];
        }
        (0..width).for_each(|row| inverse[row * width + column] = x[row] as f32);
    }
    inverse
}

/// Column means of `n` rows of length `d`, from per-group f64 sums added in order (the same
/// result on any number of threads).
pub(crate) fn column_means(x: &[f32], n: usize, d: usize) -> Vec<f32> {
    let group = n.div_ceil(64).max(MEAN_BLOCK_ROWS) * d;
    let mut mean = vec![0.0f64; d];
    for sums in x.par_chunks(group).map(|rows| column_sums(rows, d)).collect::<Vec<_>>() {
        mean.iter_mut().zip(sums).for_each(|(m, s)| *m += s);
    }
    mean.iter().map(|s| (s / n.max(1) as f64) as f32).collect()
}

fn column_sums(rows: &[f32], d: usize) -> Vec<f64> {
    let mut sums = vec![0.0f64; d];
    for row in rows.chunks(d) {
        sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
    }
    sums
}

/// `(X − 1 μᵀ) B` for row-major `X` (`n x d`), column means `μ` and `B` (`d x width`): the
/// centred rows' product without a centred copy of `X`.
pub(crate) fn centred_product(x: &[f32], n: usize, d: usize, mean: &[f32], b: &[f32], width: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n * width];
    matmul::product(n, width, d, View::rows(x, d), View::rows(b, width), &mut out, true);
    let shift: Vec<f32> =
        (0..width).map(|a| (0..d).map(|j| mean[j] as f64 * b[j * width + a] as f64).sum::<f64>() as f32).collect();
    out.par_chunks_mut(width).for_each(|row| row.iter_mut().zip(&shift).for_each(|(v, s)| *v -= s));
    out
}

/// Rows per block of [`subspace_step`]: the scores it holds at once are one block's.
const SUBSPACE_BLOCK_ROWS: usize = 16384;

/// One step of subspace iteration towards the top principal axes of the rows of `x` (`n x d`,
/// column means `mean`): `basis ← orth(Xcᵀ Xc basis)` for a `d x width` basis, `Xc = X − 1 μᵀ`,
/// with the centring folded into the products (`Xcᵀ v = Xᵀ v − μ 1ᵀv`). The rows go in blocks
/// of [`SUBSPACE_BLOCK_ROWS`], added up in order (the same result on any number of threads).
pub(crate) fn subspace_step(x: &[f32], n: usize, d: usize, mean: &[f32], basis: &mut [f32], width: usize) {
    let mut next = vec![0.0f32; d * width];
    let mut block_next = vec![0.0f32; d * width];
    let mut sums = vec![0.0f64; width];
    for block in x[..n * d].chunks(SUBSPACE_BLOCK_ROWS * d) {
        let rows = block.len() / d;
        let scores = centred_product(block, rows, d, mean, basis, width);
        matmul::product(d, width, rows, View::transposed(block, d), View::rows(&scores, width), &mut block_next, true);
        next.iter_mut().zip(&block_next).for_each(|(v, b)| *v += b);
        for row in scores.chunks(width) {
            sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
        }
    }
    for ((row, m), out) in next.chunks(width).zip(mean).zip(basis.chunks_mut(width)) {
        for ((b, &v), s) in out.iter_mut().zip(row).zip(&sums) {
            *b = v - (*m as f64 * s) as f32;
        }
    }
    orthonormalise_columns(basis, d, width);
}

/// Columns of L computed together: each row's prefix is then read once per block rather than once
/// per column, so that the factorisation works from cache instead of memory.
const CHOLESKY_BLOCK: usize = 64;

/// What [`cholesky_factor`] does with a pivot that is not positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pivots {
    /// Every pivot is at least 1e-300 (the caller's shift makes the matrix positive definite; this
    /// only keeps rounding from taking a square root of a negative number).
    Clamp,
    /// A column whose pivot is negligible against its own diagonal value depends on the columns
    /// before it: its column of L is zero (Cholesky QR then leaves it out).
    LeaveOutDependent,
}

/// The Cholesky factor of `a + shift I` for a symmetric `size x size` matrix `a` (row-major):
/// `a + shift I = L Lᵀ`, as rows of L (each row's part right of the diagonal is zero).
/// Left-looking, L_ij = (a_ij − L_i,<j · L_j,<j) / L_jj, a block of columns at a time, the rows
/// below the block in parallel.
fn cholesky_factor(a: &[f64], size: usize, shift: f64, pivots: Pivots) -> Vec<Vec<f64>> {
    let mut rows: Vec<Vec<f64>> = a
        .chunks(size)
        .enumerate()
        .map(|(i, r)| {
            let mut row = r.to_vec();
            row[i] += shift;
            row[i + 1..].iter_mut().for_each(|v| *v = 0.0);
            row
        })
        .collect();
    let entry = |value: f64, pivot: f64| if pivot > 0.0 { value / pivot } else { 0.0 };
    for start in (0..size).step_by(CHOLESKY_BLOCK) {
        let end = (start + CHOLESKY_BLOCK).min(size);
        // The block's own rows, one column after the other.
        for j in start..end {
            let (above, below) = rows.split_at_mut(j);
            let pivot_row = &mut below[0];
            for (k, row_k) in above.iter().enumerate().skip(start) {
                pivot_row[k] = entry(pivot_row[k] - dot(&pivot_row[..k], &row_k[..k]), row_k[k]);
            }
            let diagonal = pivot_row[j];
            let pivot = diagonal - dot(&pivot_row[..j], &pivot_row[..j]);
            pivot_row[j] = match pivots {
                Pivots::Clamp => pivot.max(1e-300).sqrt(),
                Pivots::LeaveOutDependent if pivot.is_nan() || pivot <= 1e-6 * diagonal.max(f64::MIN_POSITIVE) => 0.0,
                Pivots::LeaveOutDependent => pivot.sqrt(),
            };
        }
        // Every row below it, the block's columns in order.
        let (done, rest) = rows.split_at_mut(end);
        let block = &done[start..end];
        rest.par_iter_mut().for_each(|row| {
            for (offset, pivot_row) in block.iter().enumerate() {
                let j = start + offset;
                row[j] = entry(row[j] - dot(&row[..j], &pivot_row[..j]), pivot_row[j]);
            }
        });
    }
    rows
}

/// Solves `(a + shift I) x = b` for a symmetric `size x size` matrix `a` (row-major) that the
/// shift makes positive definite, and `columns` right-hand sides, by Cholesky
/// ([`cholesky_factor`]), then two triangular solves.
pub(crate) fn cholesky_solve(a: &[f64], size: usize, shift: f64, b: Vec<f64>, columns: usize) -> Vec<f64> {
    let rows = cholesky_factor(a, size, shift, Pivots::Clamp);
    // L y = b, then Lᵀ x = y, all right-hand sides at once, row by row.
    let mut x = b;
    for i in 0..size {
        let (solved, current) = x.split_at_mut(i * columns);
        let current = &mut current[..columns];
        for (k, &l) in rows[i][..i].iter().enumerate() {
            current.iter_mut().zip(&solved[k * columns..(k + 1) * columns]).for_each(|(v, &y)| *v -= l * y);
        }
        current.iter_mut().for_each(|v| *v /= rows[i][i]);
    }
    for i in (0..size).rev() {
        let (earlier, current) = x.split_at_mut(i * columns);
        let current = &mut current[..columns];
        current.iter_mut().for_each(|v| *v /= rows[i][i]);
        for (k, &l) in rows[i][..i].iter().enumerate() {
            earlier[k * columns..(k + 1) * columns].iter_mut().zip(&*current).for_each(|(v, &y)| *v -= l * y);
        }
    }
    x
}

/// a · b for f32 rows, in eight lanes ([`sum_in_lanes`]).
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    sum_in_lanes(a, b, |x, y| x * y)
}

/// |a − b|² for f32 rows, in eight lanes ([`sum_in_lanes`]).
pub(crate) fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    sum_in_lanes(a, b, |x, y| (x - y) * (x - y))
}

/// `Σ term(a_i, b_i)` in eight independent lanes, so that it vectorises (a plain running sum
/// of floats may not be reordered, and stays one lane).
#[inline(always)]
fn sum_in_lanes(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(&x, &y)| term(x, y)).sum();
    for (x, y) in a8.zip(b8) {
        for lane in 0..8 {
            lanes[lane] += term(x[lane], y[lane]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Dot product with four running sums (so the compiler can keep them in vector lanes).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a4.zip(b4) {
        for l in 0..4 {
            sums[l] += x[l] * y[l];
        }
    }
    sums.iter().sum::<f64>() + tail
}

/// Eigenvalues and eigenvectors (the columns of a row-major `dim x dim` matrix) of a symmetric
/// matrix, by cyclic Jacobi rotations until the off-diagonal part is negligible.
pub(crate) fn symmetric_eigen(matrix: &[f64], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0.0f64; dim * dim];
    for i in 0..dim {
        v[i * dim + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    for _sweep in 0..100 {
        let off: f64 = (0..dim)
            .flat_map(|i| (0..dim).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * dim + j].powi(2))
            .sum();
        if off.sqrt() <= 1e-14 * scale {
            break;
        }
        for p in 0..dim {
            for q in p + 1..dim {
                let apq = a[p * dim + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * dim + q] - a[p * dim + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..dim {
                    let (akp, akq) = (a[k * dim + p], a[k * dim + q]);
                    a[k * dim + p] = c * akp - s * akq;
                    a[k * dim + q] = s * akp + c * akq;
                }
                for k in 0..dim {
                    let (apk, aqk) = (a[p * dim + k], a[q * dim + k]);
                    a[p * dim + k] = c * apk - s * aqk;
                    a[q * dim + k] = s * apk + c * aqk;
                }
                for k in 0..dim {
                    let (vkp, vkq) = (v[k * dim + p], v[k * dim + q]);
                    v[k * dim + p] = c * vkp - s * vkq;
                    v[k * dim + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..dim).map(|i| a[i * dim + i]).collect(), v)
}

/// A standard normal value from two uniform values, `u1` in (0, 1] and `u2` in [0, 1)
/// (Box-Muller).
pub(crate) fn standard_normal(u1: f64, u2: f64) -> f64 {
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::rng::seeded;
    use rand::RngExt;

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4, 2], [2, 3]] x = [[2, 8], [1, 7]]: x = [[0.5, 1.25], [0, 1.5]].
        let x = cholesky_solve(&[4.0, 2.0, 2.0, 3.0], 2, 0.0, vec![2.0, 8.0, 1.0, 7.0], 2);
        for (got, want) in x.iter().zip([0.5, 1.25, 0.0, 1.5]) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
    }

    #[test]
    fn blocked_cholesky_solves_a_system_larger_than_its_block() {
        // a = MᵀM + I for a seeded M, 150 x 150 (two full blocks and a partial one), 3 right-hand sides.
        let size = 150;
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let m: Vec<f64> = (0..size * size).map(|_| next()).collect();
        let mut a = vec![0.0f64; size * size];
        for i in 0..size {
            for j in 0..size {
                a[i * size + j] = (0..size).map(|k| m[k * size + i] * m[k * size + j]).sum::<f64>();
            }
            a[i * size + i] += 1.0;
        }
        let b: Vec<f64> = (0..size * 3).map(|_| next()).collect();
        let x = cholesky_solve(&a, size, 0.0, b.clone(), 3);
        for i in 0..size {
            for c in 0..3 {
                let ax: f64 = (0..size).map(|k| a[i * size + k] * x[k * 3 + c]).sum();
                assert!((ax - b[i * 3 + c]).abs() < 1e-9, "row {i}, column {c}: {ax} against {}", b[i * 3 + c]);
            }
        }
    }

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
