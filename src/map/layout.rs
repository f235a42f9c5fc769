//! UMAP's layout optimisation, seeded: stochastic gradient descent on the fuzzy graph's edges
//! with negative sampling, following umap-learn's `optimize_layout_euclidean` (edge schedule by
//! weight, linearly decaying learning rate, gradients clipped to ±4, both ends of an edge moved),
//! but for one step: an edge's negative samples all push its head from where the pull left it
//! and their pushes are added together, instead of each waiting for the one before (1.7x faster
//! on the CPU, measured with the map's quality in docs/benchmarks.md). Negative samples come from a counter-based hash of (sample, seed ^ epoch,
//! edge) ([`crate::compute::hash`]; its inner part is computed once per edge), so the CPU path with the
//! edges in order reproduces a map exactly for a seed, and the lock-free paths — on all CPU
//! threads (`map.parallel`) or in the GPU kernel (`shaders/umap_layout_epoch.wgsl`, all edges at
//! once) — draw the same samples. umap-rs 0.4.5's own optimiser is not used: its attractive and
//! repulsive gradients divide by `a·d^(2b)·d² + 1` instead of `a·d^(2b) + 1`, and its negative
//! samples come from an unseeded generator. Because the samples are a hash, the points an edge
//! a few places ahead will read are known early and fetched into the cache while the current
//! edge runs: on a million points, whose positions outgrow the CPU's own cache, that halved the
//! layout's time (docs/benchmarks.md), without changing a bit of its result.

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use rayon::prelude::*;

use crate::compute::hash::{below, pcg, pcg3};
use crate::compute::prefetch::prefetch;

/// Largest step one coordinate takes from one gradient (umap-learn's `clip`).
const CLIP: f32 = 4.0;

/// The curve `1 / (1 + a·d^(2b))` and the SGD settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LayoutParams {
    pub a: f32,
    pub b: f32,
    /// Weight of the repulsive term (umap-learn's `repulsion_strength`, γ).
    pub repulsion_strength: f32,
    pub learning_rate: f32,
    pub negative_sample_rate: usize,
    pub epochs: usize,
    pub seed: u64,
}

/// The graph's edges as the layout samples them: by head, each with its tail and period.
pub(crate) struct Edges {
    /// Where each head's edges start, one more than there are points: the edges are stored by
    /// head, in order, and a head is not stored with each of them.
    starts: Vec<usize>,
    pub tail: Vec<u32>,
    /// Epochs between an edge's samples: the largest weight over the edge's (umap-learn's
    /// `epochs_per_sample`).
    pub per_sample: Vec<f32>,
}

impl Edges {
    /// The edges of a weighted graph of `n` points, its `(head, tail, weight)` entries as
    /// `entries` lists them (by head, in order), less those too weak to be sampled once in
    /// `epochs` (umap-learn: weight < max / epochs). The arrays are allocated once, at their final
    /// length (a million items' graph has some 20 million entries).
    pub(crate) fn sampled<I: Iterator<Item = (u32, u32, f32)>>(
        entries: impl Fn() -> I,
        n: usize,
        epochs: usize,
    ) -> Self {
        let max = entries().map(|(_, _, weight)| weight).fold(0.0f32, f32::max);
        let threshold = max / epochs.max(1) as f32;
        let kept = |&(_, _, weight): &(u32, u32, f32)| weight > 0.0 && weight >= threshold;
        let count = entries().filter(kept).count();
        let mut edges = Edges {
            starts: Vec::with_capacity(n + 1),
            tail: Vec::with_capacity(count),
            per_sample: Vec::with_capacity(count),
        };
        for (head, tail, weight) in entries().filter(kept) {
            assert!(head as usize >= edges.starts.len().saturating_sub(1), "graph entries come by head, in order");
            while edges.starts.len() <= head as usize {
                edges.starts.push(edges.tail.len());
            }
            edges.tail.push(tail);
            edges.per_sample.push(max / weight);
        }
        while edges.starts.len() <= n {
            edges.starts.push(edges.tail.len());
        }
        edges
    }

    pub(crate) fn len(&self) -> usize {
        self.tail.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tail.is_empty()
    }

    /// The head of edge `e`.
    fn head_of(&self, e: usize) -> usize {
        self.starts.partition_point(|&start| start <= e) - 1
    }

    /// The head of edge `e`, from the head of an edge at or before it (a cursor that only moves
    /// forward, as the edges are run).
    #[inline]
    fn head_after(&self, e: usize, mut head: usize) -> usize {
        while self.starts[head + 1] <= e {
            head += 1;
        }
        head
    }

    /// Every edge's head, for a device that runs the edges in any order.
    pub(crate) fn heads(&self) -> Vec<u32> {
        self.starts.windows(2).enumerate().flat_map(|(head, run)| (run[0]..run[1]).map(move |_| head as u32)).collect()
    }
}

/// d(log-likelihood)/d(distance²) factor of the attractive force along an edge:
/// `-2ab·d^(2(b-1)) / (a·d^(2b) + 1)` with `d^(2b)` = `dist_sq^b` (0 when the points coincide).
pub(crate) fn attractive_coefficient(dist_sq: f32, a: f32, b: f32) -> f32 {
    if dist_sq > 0.0 {
        let power = dist_sq.powf(b);
        -2.0 * a * b * (power / dist_sq) / (a * power + 1.0)
    } else {
        0.0
    }
}

/// The repulsive factor for a negative sample: `2γb / ((0.001 + d²)(a·d^(2b) + 1))`.
pub(crate) fn repulsive_coefficient(dist_sq: f32, a: f32, b: f32, gamma: f32) -> f32 {
    if dist_sq > 0.0 { 2.0 * gamma * b / ((0.001 + dist_sq) * (a * dist_sq.powf(b) + 1.0)) } else { 0.0 }
}

/// Rescales each coordinate into [0, 10] (umap-learn does this to the initial layout). A
/// coordinate with no spread is laid out by index instead, so identical inputs still give
/// finite, distinct positions.
pub(crate) fn normalise_initial(embedding: &mut [[f32; 2]]) {
    let n = embedding.len();
    for d in 0..2 {
        let (lo, hi) =
            embedding.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| (lo.min(p[d]), hi.max(p[d])));
        let range = hi - lo;
        for (i, p) in embedding.iter_mut().enumerate() {
            p[d] = if range > 0.0 && range.is_finite() {
                10.0 * (p[d] - lo) / range
            } else {
                10.0 * i as f32 / n.max(2) as f32 - 1.0
            };
        }
    }
}

/// Points the optimiser reads and moves.
trait Positions {
    /// How many points there are.
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> [f32; 2];
    fn set(&mut self, i: usize, p: [f32; 2]);
    /// Where point `i` is, for [`prefetch`].
    fn address(&self, i: usize) -> *const u8;
}

/// The map itself, moved by one thread: every step sees every earlier one.
struct InOrder<'a>(&'a mut [[f32; 2]]);

impl Positions for InOrder<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn get(&self, i: usize) -> [f32; 2] {
        self.0[i]
    }
    fn set(&mut self, i: usize, p: [f32; 2]) {
        self.0[i] = p;
    }
    fn address(&self, i: usize) -> *const u8 {
        self.0.as_ptr().wrapping_add(i).cast()
    }
}

/// The map shared by several threads without locks (umap-learn's parallel mode): each
/// coordinate's bits in an atomic, read and written with relaxed ordering, so a step may miss a
/// concurrent one's move.
#[derive(Clone, Copy)]
struct LockFree<'a>(&'a [AtomicU32]);

impl Positions for LockFree<'_> {
    fn len(&self) -> usize {
        self.0.len() / 2
    }
    fn get(&self, i: usize) -> [f32; 2] {
        [f32::from_bits(self.0[2 * i].load(Relaxed)), f32::from_bits(self.0[2 * i + 1].load(Relaxed))]
    }
    fn set(&mut self, i: usize, p: [f32; 2]) {
        self.0[2 * i].store(p[0].to_bits(), Relaxed);
        self.0[2 * i + 1].store(p[1].to_bits(), Relaxed);
    }
    fn address(&self, i: usize) -> *const u8 {
        self.0.as_ptr().wrapping_add(2 * i).cast()
    }
}

/// When each edge is next due for a positive and for negative samples. An edge's period for
/// negative samples is its period for positive ones over the negative sample rate, computed where
/// it is needed ([`run_edges`]) rather than stored: a million items' layout has some
/// 20 million edges.
struct Schedule {
    negative_rate: f32,
    next_sample: Vec<f32>,
    next_negative: Vec<f32>,
}

impl Schedule {
    /// umap-learn's: an edge of weight w is sampled every max/w epochs, and negative samples
    /// come `negative_sample_rate` times as often.
    fn new(edges: &Edges, params: &LayoutParams) -> Schedule {
        let negative_rate = params.negative_sample_rate.max(1) as f32;
        let next_negative = edges.per_sample.iter().map(|e| e / negative_rate).collect();
        Schedule { next_sample: edges.per_sample.clone(), next_negative, negative_rate }
    }
}

/// How many edges ahead of the one being run [`run_edges`] fetches points into the cache.
const PREFETCH_AHEAD: usize = 16;

/// Edges one parallel task takes per epoch.
const EDGES_PER_TASK: usize = 1024;

/// Optimises `embedding` in place over `params.epochs` epochs; `on_epoch` is called after each.
/// With `parallel` false the edges run in order on one thread and a seed reproduces the map bit
/// for bit; with `parallel` true they run on all threads without locks, like umap-learn's
/// parallel mode and the GPU kernel: the same samples and steps, faster, not reproducible.
pub(crate) fn optimise(
    embedding: &mut [[f32; 2]],
    edges: &Edges,
    params: &LayoutParams,
    parallel: bool,
    mut on_epoch: impl FnMut(usize),
) {
    let n = embedding.len();
    if n < 2 || edges.is_empty() {
        return;
    }
    let mut schedule = Schedule::new(edges, params);
    if !parallel {
        let mut positions = InOrder(embedding);
        for epoch in 0..params.epochs {
            let Schedule { negative_rate, next_sample, next_negative } = &mut schedule;
            run_edges(
                &mut positions,
                edges,
                0,
                (&edges.per_sample, *negative_rate),
                (next_sample, next_negative),
                epoch,
                params,
            );
            on_epoch(epoch);
        }
        return;
    }
    let shared: Vec<AtomicU32> = embedding.iter().flatten().map(|v| AtomicU32::new(v.to_bits())).collect();
    let Schedule { negative_rate, next_sample, next_negative } = &mut schedule;
    let negative_rate = *negative_rate;
    for epoch in 0..params.epochs {
        next_sample
            .par_chunks_mut(EDGES_PER_TASK)
            .zip(next_negative.par_chunks_mut(EDGES_PER_TASK))
            .enumerate()
            .for_each(|(task, (next_sample, next_negative))| {
                let first = task * EDGES_PER_TASK;
                let fixed = (&edges.per_sample[first..], negative_rate);
                run_edges(&mut LockFree(&shared), edges, first, fixed, (next_sample, next_negative), epoch, params);
            });
        on_epoch(epoch);
    }
    for (point, xy) in embedding.iter_mut().zip(shared.chunks(2)) {
        *point = [f32::from_bits(xy[0].load(Relaxed)), f32::from_bits(xy[1].load(Relaxed))];
    }
}

/// One epoch's steps for the edges from `first` on (as many as `next.0` holds): each edge due
/// pulls its ends together, then pushes its head away from its negative samples.
fn run_edges(
    positions: &mut impl Positions,
    edges: &Edges,
    first: usize,
    (per_sample, negative_rate): (&[f32], f32),
    (next_sample, next_negative): (&mut [f32], &mut [f32]),
    epoch: usize,
    params: &LayoutParams,
) {
    let n = positions.len();
    let (a, b, gamma) = (params.a, params.b, params.repulsion_strength);
    let alpha = params.learning_rate * (1.0 - epoch as f32 / params.epochs as f32);
    let now = epoch as f32;
    let round = params.seed as u32 ^ pcg(epoch as u32);
    let len = next_sample.len();
    let mut head = edges.head_of(first);
    for local in 0..len {
        // The points of the edge due a few places ahead are fetched into the cache now: they are
        // all but random among a large map's points, and the wait for them dominates the step.
        let ahead = local + PREFETCH_AHEAD;
        if ahead < len && next_sample[ahead] <= now {
            let e = first + ahead;
            prefetch(positions.address(edges.tail[e] as usize));
            for p in 0..due_negatives(now, next_negative[ahead], per_sample[ahead] / negative_rate) {
                prefetch(positions.address(negative_sample(p, round, e, n)));
            }
        }
        let (next_sample, next_negative) = (&mut next_sample[local], &mut next_negative[local]);
        if *next_sample > now {
            continue;
        }
        let e = first + local;
        head = edges.head_after(e, head);
        let j = head;
        let k = edges.tail[e] as usize;
        let (current, other) = (positions.get(j), positions.get(k));
        let coefficient = attractive_coefficient(squared_distance(current, other), a, b);
        let (mut moved, mut pulled) = (current, other);
        for d in 0..2 {
            let grad = (coefficient * (current[d] - other[d])).clamp(-CLIP, CLIP);
            moved[d] += grad * alpha;
            pulled[d] -= grad * alpha;
        }
        positions.set(j, moved);
        positions.set(k, pulled);
        *next_sample += per_sample[local];

        let per_negative = per_sample[local] / negative_rate;
        let negatives = due_negatives(now, *next_negative, per_negative);
        // The negative samples all push the head from where the pull left it, and the pushes
        // are added at the end: no sample waits on the one before it (a chain of `powf`s), so
        // the CPU computes them side by side.
        let current = moved;
        let mut push = [0.0f32; 2];
        for p in 0..negatives {
            let k = negative_sample(p, round, e, n);
            if k == j {
                continue;
            }
            let other = positions.get(k);
            let coefficient = repulsive_coefficient(squared_distance(current, other), a, b, gamma);
            if coefficient > 0.0 {
                for d in 0..2 {
                    push[d] += (coefficient * (current[d] - other[d])).clamp(-CLIP, CLIP) * alpha;
                }
            }
        }
        positions.set(j, [current[0] + push[0], current[1] + push[1]]);
        *next_negative += negatives as f32 * per_negative;
    }
}

/// Negative samples an edge is due this epoch (`now`).
fn due_negatives(now: f32, next_negative: f32, per_negative: f32) -> usize {
    ((now - next_negative) / per_negative).max(0.0) as usize
}

/// The `p`-th negative sample of edge `e` in the epoch whose hash is `round`, among `n` points.
fn negative_sample(p: usize, round: u32, e: usize, n: usize) -> usize {
    below(pcg3(p as u32, round, e as u32), n as u32) as usize
}

fn squared_distance(p: [f32; 2], q: [f32; 2]) -> f32 {
    (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_follow_umap_learn_formulas() {
        // a = 1.577, b = 0.895 (umap-learn's fit for min_dist 0.1, spread 1), d² = 2.
        let (a, b) = (1.577f32, 0.895f32);
        let d2 = 2.0f32;
        let attract = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0);
        assert!((attractive_coefficient(d2, a, b) - attract).abs() < 1e-6);
        // By hand: 2^-0.105 = 0.92980, 2^0.895 = 1.85964; -2·1.577·0.895·0.92980 / (1.577·1.85964 + 1)
        assert!((attractive_coefficient(d2, a, b) - (-2.62459 / 3.93265)).abs() < 1e-4);
        // Not umap-rs's defective denominator a·d^(2b)·d² + 1.
        let defective = -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) * d2 + 1.0);
        assert!((attractive_coefficient(d2, a, b) - defective).abs() > 0.1);
        // Repulsion: 2·1·0.895 / ((0.001 + 2)(1.577·1.85964 + 1)) = 1.79 / (2.001 · 3.93265)
        assert!((repulsive_coefficient(d2, a, b, 1.0) - 1.79 / (2.001 * 3.93265)).abs() < 1e-4);
        assert_eq!(attractive_coefficient(0.0, a, b), 0.0);
        assert_eq!(repulsive_coefficient(0.0, a, b, 1.0), 0.0);
    }

    #[test]
    fn pruning_keeps_edges_sampled_at_least_once() {
        let entries = [(0, 1, 1.0), (0, 2, 0.25), (1, 2, 0.001), (3, 0, 0.5), (3, 1, 1.0)];
        let pruned = Edges::sampled(|| entries.into_iter(), 5, 100);
        assert_eq!(pruned.heads(), vec![0, 0, 3, 3], "point 1's only edge is pruned; 2 and 4 have none");
        assert_eq!(pruned.tail, vec![1, 2, 0, 1]);
        assert_eq!(pruned.per_sample, vec![1.0, 4.0, 2.0, 1.0]);
        let heads: Vec<usize> = (0..4).map(|e| pruned.head_of(e)).collect();
        assert_eq!(heads, vec![0, 0, 3, 3]);
        assert_eq!((pruned.head_after(2, 0), pruned.head_after(3, 3)), (3, 3));
    }

    #[test]
    fn identical_points_get_finite_distinct_coordinates() {
        let mut points = vec![[3.0f32, 3.0]; 4];
        normalise_initial(&mut points);
        assert!(points.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        assert_ne!(points[0], points[1]);
    }
}
