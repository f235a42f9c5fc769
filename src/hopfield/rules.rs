//! Learning rules: the weight matrix W (N x N, symmetric, zero diagonal) that stores a set of
//! ±1 patterns. Each is a few matrix products on the device.
//!
//! - Hebbian: W = (1/N) Σ ξξᵀ.
//! - Storkey (1997), incremental, local-field form: for each pattern, with h = Wξ,
//!   ΔW = (1/N)(ξξᵀ − ξhᵀ − hξᵀ + 2W) — the matrix form of
//!   Δw_ij = (1/N)(ξ_i ξ_j − ξ_i h_ji − h_ij ξ_j), h_ij = Σ_{k≠i,j} w_ik ξ_k, when w_ii = 0.
//! - Pseudo-inverse (projection): W = Ξᵀ(ΞΞᵀ)⁻¹Ξ.
//! - Daydreaming (the seed notebook's algorithm): from the Hebbian W, repeatedly relax a random
//!   state to a fixed point σ under the current W and set W += (ξξᵀ − σσᵀ)/(τN) for a random
//!   stored ξ (zero diagonal, symmetric), with W scaled to unit RMS after each epoch. It runs on
//!   the CPU: each step depends on the last.

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};

use crate::compute::rng::seeded;
use rand::RngExt;

use super::Patterns;
use super::dynamics::relax_random_neurons;
use crate::choice::choice;
use crate::compute::device::read_f32;

choice! {
    /// How the patterns become the weights W.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum Rule {
        /// W = (1/N) Σ ξ ξᵀ, zero diagonal.
        Hebbian = "hebbian",
        /// Storkey's incremental rule (1997), with the local-field corrections.
        Storkey = "storkey",
        /// The projection rule W = Ξᵀ (Ξ Ξᵀ)⁻¹ Ξ: every stored pattern is a fixed point.
        PseudoInverse = "pseudo-inverse",
        /// Hebbian, then unlearning of the states the network relaxes to (the seed notebook's settings).
        Daydreaming = "daydreaming",
    }
}

/// Daydreaming's settings (defaults: the seed notebook's capacity experiment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DaydreamSettings {
    pub tau: f32,
    pub epochs: usize,
    pub steps_per_epoch: usize,
    /// Most single-neuron updates of one relaxation.
    pub relax_steps: usize,
    /// A relaxation stops after this many updates in a row that change nothing.
    pub patience: usize,
    pub seed: u64,
}

impl Default for DaydreamSettings {
    fn default() -> Self {
        Self { tau: 50.0, epochs: 10, steps_per_epoch: 50, relax_steps: 5_000, patience: 500, seed: 0 }
    }
}

/// Daydreaming from the Hebbian weights; see the module notes.
pub(crate) fn daydream(patterns: &Patterns, settings: &DaydreamSettings, device: &Device) -> Result<Tensor<2>> {
    let n = patterns.len;
    let mut w = read_f32(learn(Rule::Hebbian, patterns, device)?, "the weights")?;
    let mut rng = seeded(settings.seed);
    let scale = 1.0 / (settings.tau * n as f32);
    for _ in 0..settings.epochs {
        for _ in 0..settings.steps_per_epoch {
            let xi = patterns.pattern(rng.random_range(0..patterns.count));
            let start: Vec<f32> = (0..n).map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 }).collect();
            let sigma = relax_random_neurons(&w, start, settings.relax_steps, settings.patience, &mut rng);
            for i in 0..n {
                for j in 0..n {
                    w[i * n + j] += (xi[i] * xi[j] - sigma[i] * sigma[j]) * scale;
                }
                w[i * n + i] = 0.0;
            }
        }
        let rms = (w.iter().map(|v| (v * v) as f64).sum::<f64>() / w.len() as f64).sqrt() as f32;
        if rms > 0.0 {
            w.iter_mut().for_each(|v| *v /= rms);
        }
    }
    Ok(Tensor::from_data(TensorData::new(w, [n, n]), device))
}

fn zero_diagonal(w: Tensor<2>) -> Tensor<2> {
    let n = w.dims()[0];
    let identity = Tensor::<2>::eye(n, &w.device());
    w.clone() - w * identity
}

/// The weights that store `patterns` under `rule`.
pub fn learn(rule: Rule, patterns: &Patterns, device: &Device) -> Result<Tensor<2>> {
    if patterns.count == 0 {
        bail!("no patterns to store");
    }
    let n = patterns.len as f64;
    let xi = patterns.to_tensor(device);
    Ok(match rule {
        Rule::Hebbian => zero_diagonal(xi.clone().transpose().matmul(xi) / n),
        Rule::Storkey => {
            let mut w = Tensor::<2>::zeros([patterns.len, patterns.len], device);
            for p in 0..patterns.count {
                let x: Tensor<2> =
                    Tensor::from_data(TensorData::new(patterns.pattern(p).to_vec(), [patterns.len, 1]), device);
                let h = w.clone().matmul(x.clone());
                let outer = x.clone().matmul(x.clone().transpose());
                let cross = x.clone().matmul(h.clone().transpose()) + h.matmul(x.transpose());
                w = zero_diagonal(w.clone() + (outer - cross + w * 2.0) / n);
            }
            w
        }
        Rule::Daydreaming => daydream(patterns, &DaydreamSettings::default(), device)?,
        Rule::PseudoInverse if patterns.count > patterns.len => bail!(
            "the pseudo-inverse rule stores at most as many patterns as neurons: {} patterns of {} neurons",
            patterns.count,
            patterns.len
        ),
        Rule::PseudoInverse => {
            let gram = xi.clone().matmul(xi.clone().transpose());
            let values = read_f32(gram, "the pattern overlaps")?;
            let inverse = invert(&values.iter().map(|&v| v as f64).collect::<Vec<_>>(), patterns.count)?;
            let inverse: Tensor<2> = Tensor::from_data(
                TensorData::new(
                    inverse.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                    [patterns.count, patterns.count],
                ),
                device,
            );
            zero_diagonal(xi.clone().transpose().matmul(inverse).matmul(xi))
        }
    })
}

/// Inverse of a `p x p` matrix by Gauss-Jordan elimination with partial pivoting, in f64.
fn invert(matrix: &[f64], p: usize) -> Result<Vec<f64>> {
    let mut a = matrix.to_vec();
    let mut inv: Vec<f64> = (0..p * p).map(|i| if i / p == i % p { 1.0 } else { 0.0 }).collect();
    for col in 0..p {
        let pivot = (col..p).max_by(|&x, &y| a[x * p + col].abs().total_cmp(&a[y * p + col].abs())).unwrap_or(col);
        if a[pivot * p + col].abs() < 1e-9 {
            bail!(
                "the patterns are linearly dependent (a pattern repeats, or one is the negative of another); the pseudo-inverse rule cannot store them"
            );
        }
        for k in 0..p {
            a.swap(col * p + k, pivot * p + k);
            inv.swap(col * p + k, pivot * p + k);
        }
        let d = a[col * p + col];
        for k in 0..p {
            a[col * p + k] /= d;
            inv[col * p + k] /= d;
        }
        for row in 0..p {
            if row != col {
                let f = a[row * p + col];
                for k in 0..p {
                    a[row * p + k] -= f * a[col * p + k];
                    inv[row * p + k] -= f * inv[col * p + k];
                }
            }
        }
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(w: Tensor<2>) -> Vec<f32> {
        w.into_data().try_into_vec::<f32>().unwrap()
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn hebbian_matches_the_sum_of_outer_products() {
        let p = Patterns::random(3, 7, 4);
        let w = read(learn(Rule::Hebbian, &p, &Device::flex()).unwrap());
        for i in 0..7 {
            for j in 0..7 {
                let expected =
                    if i == j { 0.0 } else { (0..3).map(|k| p.pattern(k)[i] * p.pattern(k)[j]).sum::<f32>() / 7.0 };
                assert!((w[i * 7 + j] - expected).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn storkey_matches_the_element_wise_rule() {
        let (count, n) = (3, 6);
        let p = Patterns::random(count, n, 11);
        let mut w = vec![0f64; n * n];
        for k in 0..count {
            let x = p.pattern(k);
            let local = |w: &[f64], i: usize, j: usize| -> f64 {
                (0..n).filter(|&m| m != i && m != j).map(|m| w[i * n + m] * x[m] as f64).sum()
            };
            let mut next = w.clone();
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        let (xi, xj) = (x[i] as f64, x[j] as f64);
                        next[i * n + j] += (xi * xj - xi * local(&w, j, i) - local(&w, i, j) * xj) / n as f64;
                    }
                }
            }
            w = next;
        }
        let expected: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        assert_close(&read(learn(Rule::Storkey, &p, &Device::flex()).unwrap()), &expected);
    }

    #[test]
    fn daydreaming_stays_symmetric_with_zero_diagonal_and_unit_rms() {
        let p = Patterns::random(4, 30, 6);
        let settings =
            DaydreamSettings { epochs: 2, steps_per_epoch: 5, relax_steps: 500, patience: 60, ..Default::default() };
        let w = read(daydream(&p, &settings, &Device::flex()).unwrap());
        let n = 30;
        for i in 0..n {
            assert_eq!(w[i * n + i], 0.0);
            for j in 0..n {
                assert!((w[i * n + j] - w[j * n + i]).abs() < 1e-6);
            }
        }
        let rms = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
        assert!((rms - 1.0).abs() < 1e-4);
        assert_eq!(w, read(daydream(&p, &settings, &Device::flex()).unwrap()), "seeded");
    }

    #[test]
    fn pseudo_inverse_refuses_more_patterns_than_neurons_by_saying_so() {
        let err = learn(Rule::PseudoInverse, &Patterns::random(12, 10, 1), &Device::flex()).unwrap_err().to_string();
        assert!(err.contains("at most as many patterns as neurons") && err.contains("12 patterns of 10"), "{err}");
    }

    #[test]
    fn pseudo_inverse_projects_onto_the_patterns() {
        let p = Patterns::random(3, 8, 5);
        let w = read(learn(Rule::PseudoInverse, &p, &Device::flex()).unwrap());
        // Brute force: P = Ξᵀ(ΞΞᵀ)⁻¹Ξ satisfies P ξ = ξ; with the diagonal removed,
        // (W ξ)_i = ξ_i - P_ii ξ_i.
        let n = 8;
        let mut full = vec![0f64; n * n];
        let gram: Vec<f64> =
            (0..9).map(|k| (0..n).map(|i| (p.pattern(k / 3)[i] * p.pattern(k % 3)[i]) as f64).sum()).collect();
        let inv = invert(&gram, 3).unwrap();
        for i in 0..n {
            for j in 0..n {
                full[i * n + j] = (0..3)
                    .flat_map(|a| (0..3).map(move |b| (a, b)))
                    .map(|(a, b)| p.pattern(a)[i] as f64 * inv[a * 3 + b] * p.pattern(b)[j] as f64)
                    .sum();
            }
        }
        for i in 0..n {
            for j in 0..n {
                let expected = if i == j { 0.0 } else { full[i * n + j] as f32 };
                assert!((w[i * n + j] - expected).abs() < 1e-5);
            }
        }
        let twice = Patterns::new(2, 4, vec![1., -1., 1., 1., 1., -1., 1., 1.]).unwrap();
        assert!(learn(Rule::PseudoInverse, &twice, &Device::flex()).is_err());
    }
}
