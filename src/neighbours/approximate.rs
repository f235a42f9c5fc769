//! Approximate nearest neighbours for large sets on the CPU, where the exact search's N²·D
//! multiply-adds dominate: NN-descent (Dong, Moses and Li, 2011; the method umap-learn uses) on a
//! reduced copy of the features, then each item's candidates re-ranked by their exact cosine
//! similarity in the full dimension.
//!
//! - The reduced copy ([`ReducedCopy`]) is the centred features on [`REDUCED_DIM`] axes near the
//!   top principal ones, one byte a value.
//! - The search runs with the items renumbered in [`tree_order`], so that an item's candidates
//!   sit near it in memory (the rows and lists a join touches stay in cache: 1.6x at a million
//!   items), and it starts each item's list from the [`START_WINDOW`] items around it in that
//!   order and random others.
//! - NN-descent keeps each item's [`CANDIDATES`] nearest items found so far (squared distance in
//!   the reduced space, [`CandidateLists`]). Each round joins every item's new candidates with
//!   each other and with its old ones, in both directions (an item is also a candidate of the
//!   items that list it), and it stops once fewer than [`SETTLED_SHARE`] of all entries
//!   changed, or after [`MAX_ROUNDS`].
//! - A seed reproduces the result exactly, on any number of threads: the order and every random
//!   choice are hashes of (seed, node or round, item), a list keeps the best candidates by
//!   (distance, index), which does not depend on the order threads offer them in, and a
//!   round's changes are counted from the lists it leaves, not from the offers.

use std::ops::Range;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use rayon::prelude::*;

use super::Neighbours;
use super::candidate_lists::{CandidateLists, Key, MAX_ROUND};
use super::reduced_copy::{REDUCED_DIM, ReducedCopy};
use super::tree_order::{permute_rows, positions, tree_order};
use crate::compute::features::Features;
use crate::compute::hash::{below, pcg, pcg3};
use crate::compute::linalg::dot_f32 as dot;
use crate::progress::Progress;

pub(crate) use super::candidate_lists::MAX_ITEMS;

/// Axes of the f32 copy that comes back with the neighbours, for the map's PCA start and
/// K-Means' start: the reduced copy's first (principal) ones.
pub(crate) const COARSE_DIM: usize = 64;

/// Candidates NN-descent keeps per item, and re-ranks in the full dimension.
pub(crate) const CANDIDATES: usize = 30;

/// Items around each item in tree order that start its list (the rest are random: a start of
/// neighbours in the order alone gets stuck in the tree's cells).
const START_WINDOW: usize = CANDIDATES / 2;

/// Most NN-descent rounds.
const MAX_ROUNDS: u16 = 15;
const _: () = assert!(MAX_ROUNDS <= MAX_ROUND);

/// A round that changes fewer than this share of all list entries ends the search.
const SETTLED_SHARE: f64 = 0.001;

/// Every item's `k` most similar items by cosine similarity, itself included (as the exact
/// [`super::exact::search_all`] returns them, most similar first), found approximately; and the
/// features on the reduced copy's first [`COARSE_DIM`] axes, in f32 (centred rows, near the top
/// principal ones, which hold the features' first principal components too). At most
/// [`MAX_ITEMS`] items.
pub(crate) fn search_all(features: &Features, k: usize, seed: u64, progress: Progress) -> (Neighbours, Features) {
    let n = features.rows;
    assert!(n <= MAX_ITEMS, "NN-descent takes at most {MAX_ITEMS} items");
    // One bar over the three steps: the reduced copy, the rounds (at most), the re-ranking.
    let bar = progress.bar(MAX_ROUNDS as u64 + 2, "neighbours (NN-descent)");
    let mut reduced = ReducedCopy::new(features, REDUCED_DIM.min(features.dim), seed);
    bar.inc(1);
    // The search runs on the rows in tree order, in place.
    let order = tree_order(&reduced, seed as u32);
    let position = positions(&order);
    reduced.permute(&order);
    let width = CANDIDATES.max(k).min(n - 1);
    let lists = descend(&reduced, width, seed as u32, || bar.inc(1));
    let projection = reduced.into_projection();
    let ranked = rerank(features, &lists, &order, &position, k);
    drop(lists);
    let coarse = projection.coarse(features, COARSE_DIM);
    bar.finish_and_clear();
    (ranked, coarse)
}

/// NN-descent over the reduced rows (in tree order): each item's `width` nearest others. A round
/// gathers and joins the candidates of [`JOIN_BLOCK`] items at a time.
fn descend(reduced: &ReducedCopy, width: usize, seed: u32, on_round: impl Fn()) -> CandidateLists {
    let n = reduced.rows;
    let distance = |a: u32, b: u32| reduced.squared_distance(a, b);
    let lists = CandidateLists::empty(n, width);
    if width == 0 {
        return lists;
    }
    // The start: the items around each one in tree order, then random distinct others.
    let window = START_WINDOW.min(width);
    (0..n as u32).into_par_iter().for_each(|v| {
        let first = (v as usize).saturating_sub(window / 2).min(n - 1 - window) as u32;
        let near = (first..=first + window as u32).filter(|&id| id != v).take(window);
        let random = (0..).map(|draw| below(pcg3(seed, v, draw), n as u32)).filter(|&id| id != v);
        let mut kept = 0;
        for id in near.chain(random) {
            if kept == width {
                break;
            }
            kept += lists.offer(v, id, distance(v, id), 0) as usize;
        }
    });
    for round in 1..=MAX_ROUNDS {
        for start in (0..n).step_by(JOIN_BLOCK) {
            let block = start..(start + JOIN_BLOCK).min(n);
            let [fresh, old] = candidates(&lists, block.clone(), width, seed, round);
            block.into_par_iter().for_each(|v| {
                let (fresh, old) = (fresh.of(v - start), old.of(v - start));
                for (i, &a) in fresh.iter().enumerate() {
                    for &b in fresh[i + 1..].iter().chain(old) {
                        let d = distance(a, b);
                        lists.offer(a, b, d, round);
                        lists.offer(b, a, d, round);
                    }
                }
            });
        }
        let changed: usize =
            (0..n).into_par_iter().map(|v| lists.list(v).filter(|key| key.round() == round).count()).sum();
        on_round();
        if (changed as f64) < SETTLED_SHARE * (n * width) as f64 {
            break;
        }
    }
    lists
}

/// Items whose candidates a round gathers and joins at once: a round's candidates for every
/// item of a million would take 0.36 GB; a block's take a fraction, for one more pass over the
/// lists per block.
const JOIN_BLOCK: usize = 1 << 18;

/// Up to `cap` candidate items per item of a block, in one flat array.
struct Candidates {
    cap: usize,
    ids: Vec<u32>,
    lens: Vec<u32>,
}

impl Candidates {
    /// The candidates of the block's `v`-th item.
    fn of(&self, v: usize) -> &[u32] {
        &self.ids[v * self.cap..v * self.cap + self.lens[v] as usize]
    }
}

/// The two sides of an item's candidates in `round`: the fresh entries of its list (those the
/// round before put in) and the old ones (those from before that; not this round's own).
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Fresh,
    Old,
}

impl Side {
    fn of(key: Key, round: u16) -> Option<Side> {
        match key.round() + 1 {
            r if r == round => Some(Side::Fresh),
            r if r < round => Some(Side::Old),
            _ => None,
        }
    }
}

/// The candidates of the items in `block` to join in `round`: each side of its list
/// ([`Side`]), each with the items that list it on that side (reverse lists), every list capped at
/// `cap` by a seeded priority. Returns (fresh, old) per item of the block, each sorted, old
/// without the fresh ones.
fn candidates(lists: &CandidateLists, block: Range<usize>, cap: usize, seed: u32, round: u16) -> [Candidates; 2] {
    let (n, start, len) = (lists.len(), block.start, block.len());
    let in_block = |key: Key| (key.id() as usize).wrapping_sub(start) < len;
    // Reverse lists of the block's items, per side, as one array each: count, place, then fill
    // (the order within an item's part depends on the threads and does not matter: it is
    // sorted below).
    let counts: [Vec<AtomicU32>; 2] = std::array::from_fn(|_| (0..len).map(|_| AtomicU32::new(0)).collect());
    let each_reverse = |visit: &(dyn Fn(Side, usize, u32) + Sync)| {
        (0..n).into_par_iter().for_each(|v| {
            for key in lists.list(v).filter(|&key| in_block(key)) {
                if let Some(side) = Side::of(key, round) {
                    visit(side, key.id() as usize - start, v as u32);
                }
            }
        })
    };
    each_reverse(&|side, to, _| {
        counts[side as usize][to].fetch_add(1, Relaxed);
    });
    let starts: [Vec<usize>; 2] = std::array::from_fn(|side| {
        let mut starts = Vec::with_capacity(len + 1);
        starts.push(0usize);
        for count in &counts[side] {
            starts.push(starts.last().unwrap() + count.swap(0, Relaxed) as usize);
        }
        starts
    });
    let reverse: [Vec<AtomicU32>; 2] =
        std::array::from_fn(|side| (0..starts[side][len]).map(|_| AtomicU32::new(0)).collect());
    each_reverse(&|side, to, from| {
        let side = side as usize;
        reverse[side][starts[side][to] + counts[side][to].fetch_add(1, Relaxed) as usize].store(from, Relaxed);
    });
    let priority = |v: usize, id: u32| pcg3(seed ^ pcg(round as u32), v as u32, id);
    let gather = |side: Side, leave_out: Option<&Candidates>| {
        let mut out = Candidates { cap, ids: vec![0; len * cap], lens: vec![0; len] };
        out.ids.par_chunks_mut(cap).zip(out.lens.par_iter_mut()).enumerate().for_each_init(
            Vec::new,
            |ids, (i, (slots, kept))| {
                let v = start + i;
                let (starts, reverse) = (&starts[side as usize], &reverse[side as usize]);
                ids.clear();
                ids.extend(lists.list(v).filter(|&key| Side::of(key, round) == Some(side)).map(Key::id));
                ids.extend(reverse[starts[i]..starts[i + 1]].iter().map(|id| id.load(Relaxed)));
                ids.sort_unstable();
                ids.dedup();
                if let Some(leave_out) = leave_out {
                    let leave_out = leave_out.of(i);
                    ids.retain(|id| leave_out.binary_search(id).is_err());
                }
                if ids.len() > cap {
                    ids.sort_by_key(|&id| (priority(v, id), id));
                    ids.truncate(cap);
                    ids.sort_unstable();
                }
                slots[..ids.len()].copy_from_slice(ids);
                *kept = ids.len() as u32;
            },
        );
        out
    };
    let fresh = gather(Side::Fresh, None);
    let old = gather(Side::Old, Some(&fresh));
    [fresh, old]
}

/// The `k` most similar of each item's candidates and itself, by exact cosine similarity in the
/// full dimension; ties to the lower index. `lists` are in tree `order` (list `p` is item
/// `order[p]`'s, its ids places), and so is the work: near items, whose candidates' rows are
/// largely the same, one after another. The rows then go back to item order (`position`).
fn rerank(features: &Features, lists: &CandidateLists, order: &[u32], position: &[u32], k: usize) -> Neighbours {
    let n = lists.len();
    let mut out = Neighbours { k, indices: vec![0; n * k], similarities: vec![0.0; n * k] };
    out.indices.par_chunks_mut(k).zip(out.similarities.par_chunks_mut(k)).enumerate().for_each_init(
        Vec::new,
        |scored, (p, (ids, similarities))| {
            scored.clear();
            let v = order[p];
            let row = features.row(v as usize);
            scored.extend(
                std::iter::once(v)
                    .chain(lists.list(p).map(|key| order[key.id() as usize]))
                    .map(|id| (dot(row, features.row(id as usize)), id)),
            );
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (slot, (similarity, id)) in scored.iter().take(k).enumerate() {
                ids[slot] = *id;
                similarities[slot] = *similarity;
            }
        },
    );
    permute_rows(&mut out.indices, k, position);
    permute_rows(&mut out.similarities, k, position);
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
    fn sets_of_one_and_two_items_have_their_neighbours() {
        let features = manifold_features(2, 6);
        let (found, _) = search_all(&features, 2, 1, Progress::Hidden);
        assert_eq!(found.indices, vec![0, 1, 1, 0]);
        let one = Features { rows: 1, dim: 6, values: features.values[..6].to_vec() };
        assert_eq!(search_all(&one, 1, 1, Progress::Hidden).0.indices, vec![0]);
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
