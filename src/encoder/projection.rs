//! The features' partial whitening (`features.whiten_axes`, `features.whiten_power`): the pooled
//! feature rows are centred on the training sample's mean, and along each of the sample's first
//! `k` principal axes the deviation σ_i is shrunk towards the k-th's, to σ_i · (σ_k / σ_i)^p
//! (p = 0.5 by default: half way; 1 gives all `k` axes σ_k, full whitening of the top). Every
//! other direction is left as it is, so nothing is dropped: the features keep their width `D`,
//! and a few dominant axes (brightness, how much of the tile is drawn) no longer decide every
//! cosine similarity alone. As a map: `x ↦ c + A diag(g) Aᵀ c`, `c = x − mean`, `A` the `D x k`
//! unit axes and `g_i = (σ_k / σ_i)^p − 1`.
//!
//! The axes are found on the host by subspace iteration with a Rayleigh-Ritz step: a seeded
//! `D x (k + OVERSAMPLE)` basis is multiplied by the centred sample's `Xcᵀ Xc` [`ITERATIONS`]
//! times (no `D x D` covariance is formed), then the small projected problem is solved exactly
//! ([`crate::compute::linalg::symmetric_eigen`]). Axes the sample cannot fill (fewer rows than
//! axes) and axes with no variance are zero columns with a zero gain; σ_k is then the smallest
//! variance that was found.

use rayon::prelude::*;

use crate::compute::linalg::{column_means, orthonormalise_columns, subspace_step, symmetric_eigen};
use crate::compute::matmul::{self, View};
use crate::compute::rng::seeded;
use rand::RngExt;

/// Extra basis vectors carried through the iteration, so that the last of the `k` kept axes
/// converge as well as the first.
const OVERSAMPLE: usize = 16;

/// Multiplications by `Xcᵀ Xc`: the spectra of pooled conv features fall off fast, and the
/// Rayleigh-Ritz step sorts the axes out within the converged subspace.
const ITERATIONS: usize = 6;

/// An axis whose variance is below this share of the largest one counts as empty.
const EMPTY_AXIS_SHARE: f64 = 1e-9;

/// A fitted whitening: `x ↦ c + A diag(gains) Aᵀ c` with `c = x − mean`; `axes` is `A`, row-major
/// `dim x k`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FittedProjection {
    pub mean: Vec<f32>,
    pub axes: Vec<f32>,
    pub gains: Vec<f32>,
    /// Each kept axis's variance over the sample (0 for an empty axis), largest first.
    pub variances: Vec<f64>,
    /// The sample's total variance, the sum over all `dim` values.
    pub total_variance: f64,
}

/// Fits the whitening of the first `k` principal axes of the `rows x dim` row-major `sample`
/// (centred in place) at `power`. `seed` draws the starting basis.
pub(crate) fn fit(sample: Vec<f32>, rows: usize, dim: usize, k: usize, power: f64, seed: u64) -> FittedProjection {
    assert_eq!(sample.len(), rows * dim, "projection sample: {} values for {rows} x {dim}", sample.len());
    let mean = column_means(&sample, rows, dim);
    let mut centred = sample;
    centred.par_chunks_mut(dim).for_each(|row| row.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m));
    let total_variance = centred.par_iter().map(|&v| v as f64 * v as f64).sum::<f64>() / rows.max(1) as f64;
    let width = (k + OVERSAMPLE).min(dim).min(rows.max(1));
    let mut rng = seeded(seed);
    let mut basis: Vec<f32> = (0..dim * width).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    orthonormalise_columns(&mut basis, dim, width);
    // The sample is centred already: the iteration's mean is zero.
    let zero_mean = vec![0.0f32; dim];
    for _ in 0..ITERATIONS {
        subspace_step(&centred, rows, dim, &zero_mean, &mut basis, width);
    }
    // Rayleigh-Ritz: the covariance restricted to the basis, `width x width`, solved exactly.
    let mut scores = vec![0.0f32; rows * width];
    matmul::product(rows, width, dim, View::rows(&centred, dim), View::rows(&basis, width), &mut scores, true);
    let mut small = vec![0.0f32; width * width];
    matmul::product(width, width, rows, View::transposed(&scores, width), View::rows(&scores, width), &mut small, true);
    let n = rows.max(1) as f64;
    let small: Vec<f64> = small.iter().map(|&v| v as f64 / n).collect();
    let (values, vectors) = symmetric_eigen(&small, width);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let largest = values.iter().cloned().fold(0.0f64, f64::max);
    let mut axes = vec![0.0f32; dim * k];
    let mut variances = vec![0.0f64; k];
    for (column, &which) in order.iter().take(k).enumerate() {
        let variance = values[which];
        if variance.is_nan() || variance <= EMPTY_AXIS_SHARE * largest || variance <= 0.0 {
            continue;
        }
        variances[column] = variance;
        // axis = basis · eigenvector, a unit vector of the feature space.
        let rotation: Vec<f64> = (0..width).map(|j| vectors[j * width + which]).collect();
        axes.par_chunks_mut(k).zip(basis.par_chunks(width)).for_each(|(out, basis_row)| {
            out[column] = basis_row.iter().zip(&rotation).map(|(&b, &r)| b as f64 * r).sum::<f64>() as f32;
        });
    }
    let floor = variances.iter().cloned().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    let gains =
        variances.iter().map(|&v| if v > 0.0 { ((floor / v).powf(power / 2.0) - 1.0) as f32 } else { 0.0 }).collect();
    FittedProjection { mean, axes, gains, variances, total_variance }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` points whose coordinates along the unit axes `e_0 .. e_{dim-1}`, turned by a fixed
    /// rotation in the (0, 1) plane, have standard deviations `deviations` (seeded, centred on
    /// `offset`).
    fn stretched(rows: usize, deviations: &[f32], offset: f32) -> Vec<f32> {
        let dim = deviations.len();
        let mut rng = seeded(7);
        let (c, s) = (0.6f32, 0.8f32);
        let mut values = Vec::with_capacity(rows * dim);
        for _ in 0..rows {
            let raw: Vec<f32> = deviations.iter().map(|d| d * 3f32.sqrt() * rng.random_range(-1.0f32..1.0)).collect();
            let mut row = raw.clone();
            row[0] = c * raw[0] - s * raw[1];
            row[1] = s * raw[0] + c * raw[1];
            values.extend(row.iter().map(|v| v + offset));
        }
        values
    }

    /// `row` whitened: `c + A diag(g) Aᵀ c`, `c = row − mean`.
    fn whiten(fitted: &FittedProjection, row: &[f32]) -> Vec<f32> {
        let (dim, k) = (row.len(), fitted.gains.len());
        let c: Vec<f32> = row.iter().zip(&fitted.mean).map(|(x, m)| x - m).collect();
        let along: Vec<f32> = (0..k).map(|j| (0..dim).map(|i| c[i] * fitted.axes[i * k + j]).sum()).collect();
        (0..dim)
            .map(|i| c[i] + (0..k).map(|j| fitted.axes[i * k + j] * fitted.gains[j] * along[j]).sum::<f32>())
            .collect()
    }

    /// The deviation of `rows` along the unit direction `direction`.
    fn deviation_along(rows: &[Vec<f32>], direction: &[f32]) -> f32 {
        let squares: f32 = rows.iter().map(|r| r.iter().zip(direction).map(|(a, b)| a * b).sum::<f32>().powi(2)).sum();
        (squares / rows.len() as f32).sqrt()
    }

    #[test]
    fn shrinks_the_top_axes_towards_the_last_one_kept() {
        let deviations = [4.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.05, 0.02];
        let rows = 4000;
        let sample = stretched(rows, &deviations, 3.0);
        let fitted = fit(sample.clone(), rows, 8, 3, 0.5, 1);
        assert!(fitted.mean.iter().all(|m| (m - 3.0).abs() < 0.2), "mean {:?}", fitted.mean);
        // The first axis is the rotated e_0 = (0.6, 0.8, 0, ...), the second the rotated e_1.
        let axis = |j: usize| -> Vec<f32> { (0..8).map(|i| fitted.axes[i * 3 + j]).collect() };
        let (first, second) = (axis(0), axis(1));
        assert!((first[0].abs() - 0.6).abs() < 0.02 && (first[1].abs() - 0.8).abs() < 0.02, "{first:?}");
        assert!((second[0].abs() - 0.8).abs() < 0.02 && (second[1].abs() - 0.6).abs() < 0.02, "{second:?}");
        for (got, want) in fitted.variances.iter().zip([16.0, 4.0, 1.0]) {
            assert!((got / want - 1.0).abs() < 0.08, "variances {:?}", fitted.variances);
        }
        // At power 0.5 the deviations 4, 2, 1 of the kept axes become 4·(1/4)^0.5 = 2, 2·(1/2)^0.5
        // = √2 and 1; the other directions keep theirs.
        let whitened: Vec<Vec<f32>> = sample.chunks(8).map(|row| whiten(&fitted, row)).collect();
        let unit = |i: usize| -> Vec<f32> { (0..8).map(|j| f32::from(u8::from(i == j))).collect() };
        let directions = [vec![0.6, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], vec![-0.8, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
        for (direction, want) in
            directions.iter().chain([unit(2), unit(3), unit(4)].iter()).zip([2.0, 2f32.sqrt(), 1.0, 0.5, 0.25])
        {
            let got = deviation_along(&whitened, direction);
            assert!((got / want - 1.0).abs() < 0.06, "along {direction:?}: deviation {got}, expected {want}");
        }
        // Power 1 gives all three kept axes the third's deviation.
        let full = fit(sample.clone(), rows, 8, 3, 1.0, 1);
        let whitened: Vec<Vec<f32>> = sample.chunks(8).map(|row| whiten(&full, row)).collect();
        for direction in directions.iter().chain([unit(2)].iter()) {
            let got = deviation_along(&whitened, direction);
            assert!((got - 1.0).abs() < 0.06, "along {direction:?}: deviation {got}, expected 1");
        }
    }

    #[test]
    fn axes_a_small_sample_cannot_fill_are_left_alone() {
        // Three rows span at most two directions around their mean: of five axes, three are empty.
        let sample = vec![1.0, 0.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0, 1.0];
        let fitted = fit(sample, 3, 4, 5, 0.5, 3);
        assert_eq!(fitted.axes.len(), 4 * 5);
        assert!(fitted.axes.iter().chain(&fitted.gains).all(|v| v.is_finite()));
        let filled = fitted.variances.iter().filter(|&&v| v > 0.0).count();
        assert_eq!(filled, 2, "variances {:?}", fitted.variances);
        assert!(fitted.gains[0] < 0.0, "the larger axis shrinks towards the smaller: {:?}", fitted.gains);
        assert_eq!(fitted.gains[1], 0.0, "the smallest kept axis is the floor");
        for j in 2..5 {
            assert_eq!(fitted.gains[j], 0.0);
            assert!((0..4).all(|i| fitted.axes[i * 5 + j] == 0.0), "axis {j} is empty");
        }
    }
}
