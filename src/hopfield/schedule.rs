//! The plan of an asynchronous recall, which the CPU recall and the WGSL sweep kernel both follow.

use crate::compute::rng::seeded;
use rand::seq::SliceRandom;

/// The plan of an asynchronous recall, shared by the CPU and the GPU: the neuron order of each
/// sweep (seeded shuffles), the temperature (linear from `t_start` to `t_end` over the sweeps;
/// 0 is the deterministic rule, above 0 Metropolis), and the seed of Metropolis' coin flips.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub n: usize,
    /// `sweeps x n` neuron indices.
    pub orders: Vec<u32>,
    pub t_start: f32,
    pub t_end: f32,
    pub seed: u32,
}

impl Schedule {
    pub fn new(n: usize, max_sweeps: usize, seed: u64, t_start: f32, t_end: f32) -> Self {
        let mut rng = seeded(seed);
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut orders = Vec::with_capacity(n * max_sweeps);
        for _ in 0..max_sweeps {
            order.shuffle(&mut rng);
            orders.extend_from_slice(&order);
        }
        Self { n, orders, t_start, t_end, seed: seed as u32 }
    }

    /// Deterministic (T = 0) recall.
    pub fn zero_temperature(n: usize, max_sweeps: usize, seed: u64) -> Self {
        Self::new(n, max_sweeps, seed, 0.0, 0.0)
    }

    pub(crate) fn sweeps(&self) -> usize {
        self.orders.len() / self.n.max(1)
    }

    /// The temperature of sweep `sweep` (computed as the WGSL kernel does).
    pub(crate) fn temperature(&self, sweep: usize) -> f32 {
        let sweeps = self.sweeps();
        if sweeps > 1 {
            self.t_start + (self.t_end - self.t_start) * sweep as f32 / (sweeps - 1) as f32
        } else {
            self.t_start
        }
    }
}
