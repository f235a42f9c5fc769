//! NN-descent's reduced copy ([`super::approximate`]): the centred features on [`REDUCED_DIM`]
//! axes near the top principal ones, one byte a value.
//!
//! - The axes: one step of subspace iteration from a seeded Gaussian start (three products with
//!   the `N x D` features, no `D x D` covariance), then turned to the principal axes of the
//!   projected rows (the eigenvectors of their `REDUCED_DIM`² covariance), in order of variance.
//! - Each value is stored as a multiple of its axis' step, six standard deviations of the axis
//!   over 127, rounded, values further out clipped: a quarter of the memory of f32 values, and
//!   a row is two cache lines instead of eight. Distances come from the codes and the steps;
//!   their error is far below the spread of near neighbours' distances, and the candidates they
//!   find are re-ranked exactly in the full dimension.
//! - Every pass over the features runs in blocks of rows, so nothing `N x REDUCED_DIM` in f32
//!   exists at once. [`Projection::coarse`] gives the map the top axes in f32 afterwards.

use rayon::prelude::*;

use crate::compute::features::Features;
use crate::compute::hash::pcg3;
use crate::compute::linalg::{centred_product, column_means, standard_normal, subspace_step, symmetric_eigen};
use crate::compute::matmul::{self, View};

/// Axes of the reduced copy NN-descent searches in.
pub(crate) const REDUCED_DIM: usize = 128;

/// Rows per block of a pass over the features.
const BLOCK_ROWS: usize = 16384;

/// Standard deviations of an axis that its codes span each way.
const SPAN: f32 = 6.0;

/// The largest code.
const MAX_CODE: f32 = 127.0;

/// The reduced copy: codes row by row, each axis' step, and the projection that made it.
pub(crate) struct ReducedCopy {
    pub(crate) rows: usize,
    pub(crate) dim: usize,
    codes: Vec<i8>,
    /// Each axis' step squared: a code difference's weight in a squared distance.
    weights: Vec<f32>,
    projection: Projection,
}

/// The features' column means and the `D x dim` axes (row-major), principal ones first.
pub(crate) struct Projection {
    mean: Vec<f32>,
    axes: Vec<f32>,
    dim: usize,
}

impl ReducedCopy {
    /// The reduced copy of `features` on `dim` axes, the Gaussian start seeded by `seed`.
    pub(crate) fn new(features: &Features, dim: usize, seed: u64) -> ReducedCopy {
        let (n, d, x) = (features.rows, features.dim, &features.values[..]);
        let mean = column_means(x, n, d);
        let gaussian = |i: usize| {
            let (a, b) = (pcg3(seed as u32, 1, i as u32), pcg3(seed as u32, 2, i as u32));
            standard_normal((a as f64 + 1.0) / (u32::MAX as f64 + 2.0), b as f64 / u32::MAX as f64) as f32
        };
        let mut basis: Vec<f32> = (0..d * dim).map(gaussian).collect();
        subspace_step(x, n, d, &mean, &mut basis, dim);
        // The projected rows' covariance (times n), block by block, and its eigenvectors.
        let mut covariance = vec![0.0f64; dim * dim];
        let mut block_covariance = vec![0.0f32; dim * dim];
        for block in x.chunks(BLOCK_ROWS * d) {
            let rows = block.len() / d;
            let scores = centred_product(block, rows, d, &mean, &basis, dim);
            let (scores, view) = (&scores, View::rows(&scores, dim));
            matmul::product(dim, dim, rows, View::transposed(scores, dim), view, &mut block_covariance, true);
            covariance.iter_mut().zip(&block_covariance).for_each(|(c, &b)| *c += b as f64);
        }
        let (values, vectors) = symmetric_eigen(&covariance, dim);
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        // axes = basis · (the eigenvectors, largest eigenvalue first).
        let turn: Vec<f32> = (0..dim)
            .flat_map(|i| order.iter().map(move |&c| (i, c)))
            .map(|(i, c)| vectors[i * dim + c] as f32)
            .collect();
        let mut axes = vec![0.0f32; d * dim];
        matmul::product(d, dim, dim, View::rows(&basis, dim), View::rows(&turn, dim), &mut axes, true);
        let steps: Vec<f32> = order
            .iter()
            .map(|&c| {
                let deviation = (values[c].max(0.0) / n.max(1) as f64).sqrt() as f32;
                if deviation > 0.0 { SPAN * deviation / MAX_CODE } else { 1.0 }
            })
            .collect();
        let mut codes = vec![0i8; n * dim];
        for (block, out) in x.chunks(BLOCK_ROWS * d).zip(codes.chunks_mut(BLOCK_ROWS * dim)) {
            let scores = centred_product(block, block.len() / d, d, &mean, &axes, dim);
            out.par_chunks_mut(dim).zip(scores.par_chunks(dim)).for_each(|(codes, row)| {
                for ((code, &value), &step) in codes.iter_mut().zip(row).zip(&steps) {
                    *code = (value / step).round().clamp(-MAX_CODE, MAX_CODE) as i8;
                }
            });
        }
        let weights = steps.iter().map(|s| s * s).collect();
        ReducedCopy { rows: n, dim, codes, weights, projection: Projection { mean, axes, dim } }
    }

    /// Row `i`'s codes.
    fn row(&self, i: u32) -> &[i8] {
        &self.codes[i as usize * self.dim..(i as usize + 1) * self.dim]
    }

    /// The squared distance between rows `a` and `b` in the reduced space: with AVX2 where the
    /// CPU has it (the widening of bytes to floats is one instruction there, several without).
    pub(crate) fn squared_distance(&self, a: u32, b: u32) -> f32 {
        let (a, b) = (self.row(a), self.row(b));
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { weighted_distance_avx2(a, b, &self.weights) };
        }
        weighted_distance(a, b, &self.weights)
    }

    /// The direction from row `b` to row `a`, as [`Self::projection`] reads it.
    pub(crate) fn direction(&self, a: u32, b: u32) -> Vec<f32> {
        let (a, b) = (self.row(a), self.row(b));
        (0..self.dim).map(|j| self.weights[j] * (a[j] as f32 - b[j] as f32)).collect()
    }

    /// Row `i` projected on a [`Self::direction`] (the dot product of the rows' values).
    pub(crate) fn projection(&self, i: u32, direction: &[f32]) -> f32 {
        let row = self.row(i);
        let mut lanes = [0.0f32; LANES];
        let whole = self.dim / LANES * LANES;
        for (x, w) in row[..whole].chunks_exact(LANES).zip(direction.chunks_exact(LANES)) {
            for lane in 0..LANES {
                lanes[lane] += x[lane] as f32 * w[lane];
            }
        }
        let tail: f32 = (whole..self.dim).map(|j| row[j] as f32 * direction[j]).sum();
        lanes.iter().sum::<f32>() + tail
    }

    /// Reorders the rows ([`super::tree_order::permute_rows`]).
    pub(crate) fn permute(&mut self, order: &[u32]) {
        super::tree_order::permute_rows(&mut self.codes, self.dim, order);
    }

    /// The projection, the codes dropped.
    pub(crate) fn into_projection(self) -> Projection {
        self.projection
    }
}

impl Projection {
    /// The features on the first `axes` (principal) axes, in f32, block by block: what the
    /// map's PCA start and K-Means' start read.
    pub(crate) fn coarse(&self, features: &Features, axes: usize) -> Features {
        let (d, axes) = (features.dim, axes.min(self.dim));
        let first: Vec<f32> = self.axes.chunks(self.dim).flat_map(|row| row[..axes].to_vec()).collect();
        let mut values = Vec::with_capacity(features.rows * axes);
        for block in features.values.chunks(BLOCK_ROWS * d) {
            values.extend(centred_product(block, block.len() / d, d, &self.mean, &first, axes));
        }
        Features { rows: features.rows, dim: axes, values }
    }
}

/// Independent accumulators in the sums, so that they vectorise.
const LANES: usize = 16;

/// Σ weight · (a − b)² over the codes of two rows.
#[inline(always)]
fn weighted_distance(a: &[i8], b: &[i8], weights: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let whole = a.len() / LANES * LANES;
    let term = |w: f32, x: i8, y: i8| {
        let d = (x as i16 - y as i16) as f32;
        w * d * d
    };
    let rows = a[..whole].chunks_exact(LANES).zip(b[..whole].chunks_exact(LANES));
    for ((x, y), w) in rows.zip(weights.chunks_exact(LANES)) {
        for lane in 0..LANES {
            lanes[lane] += term(w[lane], x[lane], y[lane]);
        }
    }
    let tail: f32 = (whole..a.len()).map(|j| term(weights[j], a[j], b[j])).sum();
    lanes.iter().sum::<f32>() + tail
}

/// [`weighted_distance`] compiled for AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn weighted_distance_avx2(a: &[i8], b: &[i8], weights: &[f32]) -> f32 {
    weighted_distance(a, b, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::linalg::squared_distance;

    /// `n` rows in a 5-D subspace of `dim` dimensions (seeded latent coordinates times a seeded
    /// basis): 8 axes hold all of their variance.
    fn low_rank(n: usize, dim: usize) -> Features {
        let unit = |a: u32, b: usize, c: usize| pcg3(a, b as u32, c as u32) as f32 / u32::MAX as f32 - 0.5;
        let values = (0..n)
            .flat_map(|i| (0..dim).map(move |j| (0..5).map(|l| unit(1, i, l) * unit(2, l, j) * (l + 1) as f32).sum()))
            .collect();
        Features { rows: n, dim, values }
    }

    #[test]
    fn the_codes_keep_the_distances_of_low_rank_data() {
        let features = low_rank(400, 40);
        let reduced = ReducedCopy::new(&features, 8, 1);
        // Each code is within half a step of its value, so a difference is within a step on each
        // axis; the five axes that hold the data bound the error of a distance.
        let bound: f32 = reduced.weights[..5].iter().sum::<f32>().sqrt();
        let step = reduced.weights[0].sqrt();
        let spread = squared_distance(features.row(0), features.row(1)).sqrt();
        assert!(step < 0.1 * spread, "a step {step} against a distance {spread}");
        for (a, b) in [(0, 1), (5, 300), (17, 399), (100, 101)] {
            let full = squared_distance(features.row(a), features.row(b)).sqrt();
            let near = reduced.squared_distance(a as u32, b as u32).sqrt();
            assert!((full - near).abs() <= bound, "{a}-{b}: {full} vs {near} (bound {bound})");
        }
    }

    #[test]
    fn the_axes_come_in_order_of_variance_and_the_coarse_copy_is_exact() {
        let features = low_rank(500, 30);
        let reduced = ReducedCopy::new(&features, 8, 3);
        // Latent l is scaled by l + 1: the variances of the principal axes fall, and the three
        // axes past the fifth hold nothing.
        let coarse = reduced.into_projection().coarse(&features, 6);
        let variance = |axis: usize| coarse.values.iter().skip(axis).step_by(6).map(|v| v * v).sum::<f32>();
        assert!((0..4).all(|a| variance(a) > variance(a + 1)), "{:?}", (0..6).map(variance).collect::<Vec<_>>());
        assert!(variance(5) < 1e-6 * variance(0));
        // Distances in the first five axes are the features' own (nothing is quantised here).
        for (a, b) in [(0, 1), (7, 499)] {
            let full = squared_distance(features.row(a), features.row(b));
            let near = squared_distance(coarse.row(a), coarse.row(b));
            assert!((full - near).abs() < 1e-3 * full, "{a}-{b}: {full} vs {near}");
        }
    }
}
