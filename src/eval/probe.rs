//! The linear probe: a ridge-regression classifier fitted in closed form on the training part of
//! the seeded stratified split ([`crate::data::split`]) and scored on its test part, so hebb's
//! figures compare with the literature's linear-probe accuracies.
//!
//! Targets are one-hot class indicators; a constant feature gives every class a bias. The system
//! is solved in whichever form is smaller: primal (XᵀX + λI) W = XᵀT when the training part has
//! more items than dimensions, dual (XXᵀ + λI) A = T with W = XᵀA otherwise (the same W). λ is
//! picked from a small grid relative to the mean diagonal by fitting on 80% of the training part
//! and scoring on the rest, then the probe is refitted on the whole training part.

use crate::compute::features::Features;
use crate::compute::linalg::cholesky_solve;
use crate::compute::matmul::{View, product};
use crate::data::split;

/// λ candidates, as multiples of the mean diagonal of the system's matrix.
const RIDGE_GRID: [f64; 3] = [1e-3, 1e-2, 1e-1];

/// Test accuracy of the probe on `test`, trained on `train`.
pub(crate) fn accuracy(features: &Features, labels: &[usize], train: &[usize], test: &[usize], seed: u64) -> f64 {
    if train.is_empty() || test.is_empty() {
        return 0.0;
    }
    let classes = labels.iter().copied().max().map_or(1, |m| m + 1);
    // λ from a split of the training part itself.
    let train_groups: Vec<usize> = train.iter().map(|&i| labels[i]).collect();
    let (inner_train, validation) = split::stratified(&train_groups, seed ^ 0x5eed);
    let inner_train: Vec<usize> = inner_train.iter().map(|&i| train[i]).collect();
    let validation: Vec<usize> = validation.iter().map(|&i| train[i]).collect();
    let ridge = if validation.is_empty() {
        RIDGE_GRID[1]
    } else {
        // One system for the whole grid: λ only changes its diagonal.
        let inner = RidgeSystem::new(features, labels, classes, &inner_train);
        let mut best = (f64::MIN, RIDGE_GRID[1]);
        for &ridge in &RIDGE_GRID {
            let score = inner.solve(ridge).score(features, labels, &validation);
            if score > best.0 {
                best = (score, ridge);
            }
        }
        best.1
    };
    RidgeSystem::new(features, labels, classes, train).solve(ridge).score(features, labels, test)
}

/// A fitted probe: `dim + 1` (bias) rows of `classes` weights.
struct Probe {
    weights: Vec<f32>,
    classes: usize,
}

impl Probe {
    fn score(&self, features: &Features, labels: &[usize], items: &[usize]) -> f64 {
        let x = rows_with_bias(features, items);
        let dim = features.dim + 1;
        let mut out = vec![0.0f32; items.len() * self.classes];
        product(
            items.len(),
            self.classes,
            dim,
            View::rows(&x, dim),
            View::rows(&self.weights, self.classes),
            &mut out,
            true,
        );
        let correct = out
            .chunks(self.classes)
            .zip(items)
            .filter(|(scores, item)| {
                let best = scores.iter().enumerate().fold(0, |b, (c, &s)| if s > scores[b] { c } else { b });
                best == labels[**item]
            })
            .count();
        correct as f64 / items.len() as f64
    }
}

/// The rows at `items` with a constant 1 appended to each.
fn rows_with_bias(features: &Features, items: &[usize]) -> Vec<f32> {
    let mut x = Vec::with_capacity(items.len() * (features.dim + 1));
    for &i in items {
        x.extend_from_slice(features.row(i));
        x.push(1.0);
    }
    x
}

/// The ridge probe's normal equations on one set of items, before λ is added to the diagonal:
/// primal (XᵀX, XᵀT) when there are more items than dimensions, dual (XXᵀ, T) otherwise.
struct RidgeSystem {
    /// The items' rows with the bias column, `n x dim`, kept for the dual form's W = XᵀA (empty
    /// in the primal form).
    x: Vec<f32>,
    n: usize,
    dim: usize,
    classes: usize,
    primal: bool,
    gram: Vec<f64>,
    mean_diagonal: f64,
    rhs: Vec<f64>,
}

impl RidgeSystem {
    fn new(features: &Features, labels: &[usize], classes: usize, items: &[usize]) -> RidgeSystem {
        let (n, dim) = (items.len(), features.dim + 1);
        let x = rows_with_bias(features, items);
        let primal = n > dim;
        let size = if primal { dim } else { n };
        let mut gram32 = vec![0.0f32; size * size];
        if primal {
            product(dim, dim, n, View::transposed(&x, dim), View::rows(&x, dim), &mut gram32, true);
        } else {
            product(n, n, dim, View::rows(&x, dim), View::transposed(&x, dim), &mut gram32, true);
        }
        let gram: Vec<f64> = gram32.iter().map(|&v| v as f64).collect();
        let mean_diagonal = (0..size).map(|i| gram[i * size + i]).sum::<f64>() / size as f64;
        let mut rhs = vec![0.0f64; size * classes];
        for (row, &item) in items.iter().enumerate() {
            let c = labels[item];
            if primal {
                // Xᵀ T, dim x classes.
                for d in 0..dim {
                    rhs[d * classes + c] += x[row * dim + d] as f64;
                }
            } else {
                rhs[row * classes + c] = 1.0;
            }
        }
        let x = if primal { Vec::new() } else { x };
        RidgeSystem { x, n, dim, classes, primal, gram, mean_diagonal, rhs }
    }

    /// The probe with λ = `ridge` × the mean diagonal.
    fn solve(&self, ridge: f64) -> Probe {
        let size = if self.primal { self.dim } else { self.n };
        let shift = ridge * self.mean_diagonal.max(1e-12);
        let solution = cholesky_solve(&self.gram, size, shift, self.rhs.clone(), self.classes);
        let weights = if self.primal {
            solution.iter().map(|&v| v as f32).collect()
        } else {
            // W = Xᵀ A.
            let a: Vec<f32> = solution.iter().map(|&v| v as f32).collect();
            let mut w = vec![0.0f32; self.dim * self.classes];
            product(
                self.dim,
                self.classes,
                self.n,
                View::transposed(&self.x, self.dim),
                View::rows(&a, self.classes),
                &mut w,
                true,
            );
            w
        };
        Probe { weights, classes: self.classes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` unit vectors in `dim` dimensions, class c's items spread around its own direction.
    fn separable(rows: usize, dim: usize, classes: usize) -> (Features, Vec<usize>) {
        let mut values = Vec::with_capacity(rows * dim);
        let mut labels = Vec::new();
        let mut state = 12345u64;
        for r in 0..rows {
            let class = r % classes;
            labels.push(class);
            let start = values.len();
            for d in 0..dim {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                values.push(noise + if d % classes == class { 1.0 } else { 0.0 });
            }
            let norm = values[start..].iter().map(|v| v * v).sum::<f32>().sqrt();
            values[start..].iter_mut().for_each(|v| *v /= norm);
        }
        (Features { rows, dim, values }, labels)
    }

    #[test]
    fn probe_separates_a_linearly_separable_set_in_both_forms() {
        // More items than dimensions (primal), then fewer (dual).
        for (rows, dim) in [(600, 12), (150, 400)] {
            let (features, labels) = separable(rows, dim, 3);
            let (train, test) = split::stratified(&labels, 1);
            let accuracy = accuracy(&features, &labels, &train, &test, 1);
            assert!(accuracy >= 0.99, "{rows} x {dim}: {accuracy}");
        }
        // Labels that have nothing to do with the features: near chance.
        let (features, _) = separable(600, 12, 3);
        let shuffled: Vec<usize> = (0..600).map(|i| (i * 7 / 3 + i / 5) % 2).collect();
        let (train, test) = split::stratified(&shuffled, 1);
        let chance = accuracy(&features, &shuffled, &train, &test, 1);
        assert!(chance < 0.75, "{chance}");
    }
}
