//! Approximate nearest neighbours for large sets on the CPU, where the exact search's N²·D
//! multiply-adds dominate: NN-descent (Dong, Moses and Li, 2011; the method umap-learn uses) on a
//! reduced copy of the features, then each item's candidates re-ranked by their exact cosine
//! similarity in the full dimension.
//!
//! - The reduced copy is the centred features projected onto an approximate principal subspace
//!   of [`REDUCED_DIM`] axes: one step of subspace iteration from a seeded Gaussian start, three
//!   products with the `N x D` matrix and no `D x D` covariance.
//! - NN-descent keeps each item's [`CANDIDATES`] nearest items found so far (squared distance in
//!   the reduced space), starting from random ones. Each round joins every item's new
//!   candidates with each other and with its old ones, in both directions (an item is also a
//!   candidate of the items that list it), and it stops once fewer than
//!   [`SETTLED_SHARE`] of all entries changed, or after [`MAX_ROUNDS`].
//! - A seed reproduces the result exactly, on any number of threads: every random choice is a
//!   hash of (seed, round, item), a list keeps the best candidates by (distance, index), which
//!   does not depend on the order threads offer them in, and a round's changes are counted from
//!   the lists it leaves, not from the offers.

use std::sync::Mutex;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use rayon::prelude::*;

use super::Neighbours;
use crate::compute::features::Features;
use crate::compute::hash::{below, pcg, pcg3};
use crate::compute::linalg::{
    centred_product, column_means, dot_f32 as dot, squared_distance, standard_normal, subspace_step,
};
use crate::progress::Progress;

/// Axes of the reduced copy NN-descent searches in.
pub(crate) const REDUCED_DIM: usize = 128;

/// Candidates NN-descent keeps per item, and re-ranks in the full dimension.
pub(crate) const CANDIDATES: usize = 30;

/// Most NN-descent rounds.
pub(crate) const MAX_ROUNDS: usize = 15;

/// A round that changes fewer than this share of all list entries ends the search.
const SETTLED_SHARE: f64 = 0.001;

/// One entry of an item's candidate list.
#[derive(Debug, Clone, Copy)]
struct Entry {
    distance: f32,
    id: u32,
    /// Not yet joined with the item's other candidates.
    fresh: bool,
    /// The round that put it in the list (0: the random start).
    round: u16,
}

impl Entry {
    /// The order lists keep: nearer first, then the lower index.
    fn before(&self, distance: f32, id: u32) -> bool {
        self.distance.total_cmp(&distance).then(self.id.cmp(&id)).is_lt()
    }
}

/// Every item's `k` most similar items by cosine similarity, itself included (as the exact
/// [`super::exact::search_all`] returns them, most similar first), found approximately; and the
/// reduced copy the search ran in (centred rows on [`REDUCED_DIM`] axes near the top principal
/// ones), which holds the features' first principal components too.
pub(crate) fn search_all(features: &Features, k: usize, seed: u64, progress: Progress) -> (Neighbours, Features) {
    let n = features.rows;
    // One bar over the three steps: the reduced copy, the rounds (at most), the re-ranking.
    let bar = progress.bar(MAX_ROUNDS as u64 + 2, "neighbours (NN-descent)");
    let reduced = reduce(features, REDUCED_DIM.min(features.dim), seed);
    bar.inc(1);
    let width = CANDIDATES.max(k).min(n - 1);
    let lists = descend(&reduced, n, width, seed, || bar.inc(1));
    let ranked = rerank(features, &lists, k);
    bar.finish_and_clear();
    let axes = REDUCED_DIM.min(features.dim);
    (ranked, Features { rows: n, dim: axes, values: reduced })
}

/// The centred rows projected onto `axes` orthonormal directions near the top principal ones:
/// `V = orth(Xcᵀ Xc Ω)` for a seeded Gaussian `Ω`, then `Xc V`, `n x axes`.
fn reduce(features: &Features, axes: usize, seed: u64) -> Vec<f32> {
    let (n, d, x) = (features.rows, features.dim, &features.values[..]);
    let mean = column_means(x, n, d);
    let gaussian = |i: usize| {
        let (a, b) = (pcg3(seed as u32, 1, i as u32), pcg3(seed as u32, 2, i as u32));
        standard_normal((a as f64 + 1.0) / (u32::MAX as f64 + 2.0), b as f64 / u32::MAX as f64) as f32
    };
    let mut basis: Vec<f32> = (0..d * axes).map(gaussian).collect();
    subspace_step(x, n, d, &mean, &mut basis, axes);
    centred_product(x, n, d, &mean, &basis, axes)
}

/// Offers `id` at `distance` to a list of at most `width` entries; true if it went in.
fn offer(list: &mut Vec<Entry>, width: usize, id: u32, distance: f32, round: u16) -> bool {
    if list.len() >= width && list[width - 1].before(distance, id) {
        return false;
    }
    if list.iter().any(|e| e.id == id) {
        return false;
    }
    let at = list.partition_point(|e| e.before(distance, id));
    list.insert(at, Entry { distance, id, fresh: true, round });
    list.truncate(width);
    true
}

/// The candidate lists the join threads share: each behind its own lock, with its worst kept
/// distance readable without one, so that the many offers a list would refuse never wait.
struct SharedLists {
    width: usize,
    lists: Vec<Mutex<Vec<Entry>>>,
    /// Bits of each list's worst kept distance (infinite while it is not full). It only falls.
    worst: Vec<AtomicU32>,
}

impl SharedLists {
    fn new(lists: Vec<Vec<Entry>>, width: usize) -> Self {
        let worst = lists.iter().map(|l| AtomicU32::new(Self::worst_of(l, width).to_bits())).collect();
        Self { width, lists: lists.into_iter().map(Mutex::new).collect(), worst }
    }

    fn worst_of(list: &[Entry], width: usize) -> f32 {
        if list.len() >= width { list[width - 1].distance } else { f32::INFINITY }
    }

    /// [`offer`] to list `to`. An offer farther than the list's worst is refused without the
    /// lock; one at exactly that distance still goes through, for the tie rule.
    fn offer(&self, to: u32, id: u32, distance: f32, round: u16) {
        let to = to as usize;
        if distance > f32::from_bits(self.worst[to].load(Relaxed)) {
            return;
        }
        let mut list = lock(&self.lists[to]);
        if offer(&mut list, self.width, id, distance, round) {
            self.worst[to].store(Self::worst_of(&list, self.width).to_bits(), Relaxed);
        }
    }
}

/// NN-descent over the `n` reduced rows: each item's `width` nearest others, nearest first.
fn descend(reduced: &[f32], n: usize, width: usize, seed: u64, on_round: impl Fn()) -> Vec<Vec<Entry>> {
    let dim = reduced.len() / n.max(1);
    let row = |i: u32| &reduced[i as usize * dim..(i as usize + 1) * dim];
    let seed = seed as u32;
    // The random start: `width` distinct others per item.
    let start: Vec<Vec<Entry>> = (0..n)
        .into_par_iter()
        .map(|v| {
            let mut list = Vec::with_capacity(width + 1);
            let mut draw = 0u32;
            while list.len() < width {
                let id = below(pcg3(seed, v as u32, draw), n as u32);
                draw += 1;
                if id as usize != v {
                    offer(&mut list, width, id, squared_distance(row(v as u32), row(id)), 0);
                }
            }
            list
        })
        .collect();
    let shared = SharedLists::new(start, width);
    for round in 1..=MAX_ROUNDS as u16 {
        let (fresh, old) = candidates(&shared.lists, width, seed, round);
        (0..n).into_par_iter().for_each(|v| {
            let (fresh, old) = (&fresh[v], &old[v]);
            for (i, &a) in fresh.iter().enumerate() {
                for &b in fresh[i + 1..].iter().chain(old.iter().filter(|&&b| b != a)) {
                    let d = squared_distance(row(a), row(b));
                    shared.offer(a, b, d, round);
                    shared.offer(b, a, d, round);
                }
            }
        });
        let changed: usize =
            shared.lists.par_iter().map(|list| lock(list).iter().filter(|e| e.round == round).count()).sum();
        on_round();
        if (changed as f64) < SETTLED_SHARE * (n * width) as f64 {
            break;
        }
    }
    shared.lists.into_iter().map(|list| list.into_inner().unwrap_or_else(|e| e.into_inner())).collect()
}

fn lock(list: &Mutex<Vec<Entry>>) -> std::sync::MutexGuard<'_, Vec<Entry>> {
    list.lock().unwrap_or_else(|e| e.into_inner())
}

/// Each item's candidates to join this round: the fresh entries of its list (marked joined
/// now) and the old ones, each with the items that list it added (reverse lists), every list
/// capped at `width` by a seeded priority. Returns (fresh, old) per item, without duplicates.
fn candidates(lists: &[Mutex<Vec<Entry>>], width: usize, seed: u32, round: u16) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let n = lists.len();
    let priority = |v: usize, id: u32| pcg3(seed ^ pcg(round as u32), v as u32, id);
    let mut fresh: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut old: Vec<Vec<u32>> = vec![Vec::new(); n];
    // Each entry goes into its own item's list and, reversed, into the list of the item it names,
    // in one pass (the order of the pushes does not matter: `tidy` sorts).
    for (v, list) in lists.iter().enumerate() {
        let mut list = lock(list);
        for entry in list.iter_mut() {
            let side = if entry.fresh { &mut fresh } else { &mut old };
            entry.fresh = false;
            side[v].push(entry.id);
            side[entry.id as usize].push(v as u32);
        }
    }
    let tidy = |(v, ids): (usize, &mut Vec<u32>)| {
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > width {
            ids.sort_by_key(|&id| (priority(v, id), id));
            ids.truncate(width);
            ids.sort_unstable();
        }
    };
    fresh.par_iter_mut().enumerate().for_each(tidy);
    old.par_iter_mut().enumerate().for_each(tidy);
    old.par_iter_mut().zip(&fresh).for_each(|(old, fresh)| old.retain(|id| fresh.binary_search(id).is_err()));
    (fresh, old)
}

/// The `k` most similar of each item's candidates and itself, by exact cosine similarity in the
/// full dimension; ties to the lower index.
fn rerank(features: &Features, lists: &[Vec<Entry>], k: usize) -> Neighbours {
    let (d, x) = (features.dim, &features.values);
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let ranked: Vec<Vec<(f32, u32)>> = lists
        .par_iter()
        .enumerate()
        .map(|(v, list)| {
            let mut scored: Vec<(f32, u32)> = std::iter::once(v as u32)
                .chain(list.iter().map(|e| e.id))
                .map(|id| (dot(row(v), row(id as usize)), id))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.truncate(k);
            scored
        })
        .collect();
    let mut out = Neighbours {
        k,
        indices: Vec::with_capacity(lists.len() * k),
        similarities: Vec::with_capacity(lists.len() * k),
    };
    for row in ranked {
        for (similarity, id) in row {
            out.indices.push(id);
            out.similarities.push(similarity);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::exact;
    use burn::tensor::Device;

    /// `n` unit rows in `dim` dimensions near a curved 3-D manifold: a seeded random point of
    /// a torus-like surface mapped through fixed random mixes, plus a little noise.
    fn manifold_features(n: usize, dim: usize) -> Features {
        let unit = |a: u32, b: u32, c: u32| pcg3(a, b, c) as f32 / u32::MAX as f32;
        let mut values = Vec::with_capacity(n * dim);
        for i in 0..n as u32 {
            let tau = std::f32::consts::TAU;
            let (s, t, r) = (unit(1, i, 0) * tau, unit(2, i, 0) * tau, unit(3, i, 0));
            let latent = [s.cos(), s.sin(), t.cos() * (1.0 + r), t.sin() * (1.0 + r), r];
            let row: Vec<f32> = (0..dim as u32)
                .map(|j| {
                    let mix: f32 = latent.iter().enumerate().map(|(l, v)| v * (unit(4, j, l as u32) - 0.5)).sum();
                    mix + 0.01 * (unit(5, i, j) - 0.5)
                })
                .collect();
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            values.extend(row.iter().map(|v| v / norm));
        }
        Features { rows: n, dim, values }
    }

    /// `n` unit rows in `dim` dimensions: `clusters` centres, each with a `patch`-dimensional
    /// patch of its own (seeded latent coordinates times the cluster's seeded basis), plus a
    /// little noise. The patches together span far more directions than the reduced copy keeps.
    fn patchy_features(n: usize, dim: usize, clusters: usize, patch: usize) -> Features {
        let unit = |a: u32, b: usize, c: usize| pcg3(a, b as u32, c as u32) as f32 / u32::MAX as f32 - 0.5;
        let mut values = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = i % clusters;
            let mut row: Vec<f32> = (0..dim).map(|j| unit(1, c, j) + 0.05 * unit(2, i, j)).collect();
            for l in 0..patch {
                let z = unit(3, i, l);
                row.iter_mut().enumerate().for_each(|(j, v)| *v += z * unit(4, c * patch + l, j));
            }
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            values.extend(row.iter().map(|v| v / norm));
        }
        Features { rows: n, dim, values }
    }

    fn recall(found: &Neighbours, exact: &Neighbours) -> f64 {
        let hits: usize = (0..exact.len())
            .map(|row| exact.row(row).0.iter().filter(|id| found.row(row).0.contains(id)).count())
            .sum();
        hits as f64 / exact.indices.len() as f64
    }

    #[test]
    fn finds_nearly_all_exact_neighbours_and_itself_first() {
        let features = manifold_features(3000, 96);
        let exact = exact::search_all(&features, 15, &Device::flex(), Progress::Hidden).unwrap();
        let (found, _) = search_all(&features, 15, 7, Progress::Hidden);
        assert_eq!((found.k, found.len()), (15, 3000));
        let recall = recall(&found, &exact);
        assert!(recall >= 0.95, "recall@15 {recall}");
        assert!((0..found.len()).all(|row| found.row(row).0[0] as usize == row), "each item's first is itself");
        for row in 0..found.len() {
            let (ids, sims) = found.row(row);
            for (id, sim) in ids.iter().zip(sims) {
                let want = dot(features.row(row), features.row(*id as usize));
                assert_eq!(*sim, want, "similarities are the exact ones");
            }
            assert!(sims.windows(2).all(|w| w[0] >= w[1]), "most similar first");
        }
    }

    #[test]
    fn finds_the_neighbours_of_clusters_on_many_independent_patches() {
        // 12 centres and 12 x 12 patch axes: 156 directions, far more than 64 axes hold (a
        // 64-axis copy found 97.8% here).
        let features = patchy_features(6000, 512, 12, 12);
        let exact = exact::search_all(&features, 15, &Device::flex(), Progress::Hidden).unwrap();
        let (found, _) = search_all(&features, 15, 7, Progress::Hidden);
        let recall = recall(&found, &exact);
        assert!(recall >= 0.99, "recall@15 {recall}");
    }

    #[test]
    fn a_seed_gives_the_same_neighbours_on_any_number_of_threads() {
        let features = manifold_features(1500, 40);
        let (many, _) = search_all(&features, 10, 3, Progress::Hidden);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| search_all(&features, 10, 3, Progress::Hidden).0);
        assert!(many == one, "one thread and many found different neighbours");
        assert!(many == search_all(&features, 10, 3, Progress::Hidden).0, "two runs with one seed differ");
    }

    #[test]
    fn the_reduced_copy_keeps_the_distances_of_low_rank_data() {
        // Rows in a 5-D subspace of 40 dimensions: 8 axes hold all of their variance, so the
        // projection keeps every pairwise distance.
        let features = manifold_features(400, 40);
        let reduced = reduce(&features, 8, 1);
        for (a, b) in [(0, 1), (5, 300), (17, 399)] {
            let full: f32 = squared_distance(features.row(a), features.row(b));
            let near = squared_distance(&reduced[a * 8..(a + 1) * 8], &reduced[b * 8..(b + 1) * 8]);
            assert!((full - near).abs() < 1e-3 + 1e-2 * full, "{a}-{b}: {full} vs {near}");
        }
    }

    #[test]
    fn the_reduced_copy_has_the_features_principal_components() {
        // What the map's PCA start reads from the reduced copy instead of the features.
        use crate::map::pca::principal_components;
        let features = manifold_features(400, 100);
        let (_, reduced) = search_all(&features, 10, 1, Progress::Hidden);
        let cpu = burn::tensor::Device::flex();
        let full = principal_components(&features, &cpu, Progress::Hidden).unwrap();
        let near = principal_components(&reduced, &cpu, Progress::Hidden).unwrap();
        // The same plane up to a rotation or reflection (the top two variances may be equal):
        // every pairwise distance on it is kept.
        let apart =
            |p: &[[f32; 2]], a: usize, b: usize| ((p[a][0] - p[b][0]).powi(2) + (p[a][1] - p[b][1]).powi(2)).sqrt();
        let spread = (0..400).map(|i| apart(&full, 0, i)).fold(0.0f32, f32::max);
        for (a, b) in [(0, 1), (5, 300), (17, 399), (100, 200)] {
            let (f, n) = (apart(&full, a, b), apart(&near, a, b));
            assert!((f - n).abs() < 1e-2 * spread, "{a}-{b}: {f} against {n} (spread {spread})");
        }
    }
}
