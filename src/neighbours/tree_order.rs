//! An order of items in which near items get near places, for NN-descent's memory traffic and
//! start ([`super::approximate`]): the leaves of a random-projection tree, left to right.
//!
//! At each node, the items are ordered by their projection on the difference of two of them
//! (picked by a hash of the seed and the node) and cut at the median, down to [`LEAF`] items.
//! The tree depends only on the rows and the seed, not on the threads that build it.

use super::reduced_copy::ReducedCopy;
use crate::compute::hash::{below, pcg3};

/// Nodes of this many items or fewer are not split.
const LEAF: usize = 16;

/// Nodes larger than this split their two halves on two threads.
const PARALLEL_FROM: usize = 8192;

/// The rows of `rows` in tree order.
pub(crate) fn tree_order(rows: &ReducedCopy, seed: u32) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..rows.rows as u32).collect();
    split(rows, &mut ids, seed, 1);
    ids
}

fn split(rows: &ReducedCopy, ids: &mut [u32], seed: u32, node: u32) {
    if ids.len() <= LEAF {
        return;
    }
    let len = ids.len() as u32;
    let a = ids[below(pcg3(seed, node, 0), len) as usize];
    let b = (1..8).map(|draw| ids[below(pcg3(seed, node, draw), len) as usize]).find(|&b| b != a).unwrap_or(a);
    let normal = rows.direction(a, b);
    let mut keyed: Vec<(f32, u32)> = ids.iter().map(|&i| (rows.projection(i, &normal), i)).collect();
    let half = ids.len() / 2;
    keyed.select_nth_unstable_by(half, |x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    ids.iter_mut().zip(&keyed).for_each(|(id, (_, i))| *id = *i);
    let (low, high) = ids.split_at_mut(half);
    // Node numbers wrap past depth 31; by then a node's items are its own, whatever its hash.
    let node = node.wrapping_mul(2);
    if low.len() > PARALLEL_FROM {
        rayon::join(|| split(rows, low, seed, node), || split(rows, high, seed, node + 1));
    } else {
        split(rows, low, seed, node);
        split(rows, high, seed, node + 1);
    }
}

/// Reorders the rows of `values` (`dim` wide) in place: row `i` becomes the row `order[i]` was.
/// `order` is a permutation; one row is held aside at a time.
pub(crate) fn permute_rows<T: Copy + Default>(values: &mut [T], dim: usize, order: &[u32]) {
    let mut done = vec![false; order.len()];
    let mut held = vec![T::default(); dim];
    for start in 0..order.len() {
        if done[start] {
            continue;
        }
        held.copy_from_slice(&values[start * dim..(start + 1) * dim]);
        let mut at = start;
        loop {
            done[at] = true;
            let from = order[at] as usize;
            if from == start {
                values[at * dim..(at + 1) * dim].copy_from_slice(&held);
                break;
            }
            values.copy_within(from * dim..(from + 1) * dim, at * dim);
            at = from;
        }
    }
}

/// The inverse of a permutation: `position[order[i]] = i`.
pub(crate) fn positions(order: &[u32]) -> Vec<u32> {
    let mut position = vec![0u32; order.len()];
    order.iter().enumerate().for_each(|(place, &item)| position[item as usize] = place as u32);
    position
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::features::Features;
    use crate::compute::linalg::squared_distance;

    #[test]
    fn permuting_rows_and_back_restores_them() {
        let values: Vec<u32> = (0..30).collect();
        let order = vec![3, 0, 4, 1, 2, 9, 5, 6, 7, 8];
        let mut moved = values.clone();
        permute_rows(&mut moved, 3, &order);
        assert_eq!(&moved[..6], &[9, 10, 11, 0, 1, 2], "row 0 is old row 3, row 1 old row 0");
        permute_rows(&mut moved, 3, &positions(&order));
        assert_eq!(moved, values);
    }

    #[test]
    fn the_order_puts_near_items_in_near_places_and_is_a_permutation() {
        // Points on a noisy circle in 8 dimensions, listed in a scrambled order.
        let (n, dim) = (2000, 8);
        let unit = |a: u32, b: u32| pcg3(9, a, b) as f32 / u32::MAX as f32;
        let rows: Vec<f32> = (0..n as u32)
            .flat_map(|i| {
                let angle = unit(i, 99) * std::f32::consts::TAU;
                (0..dim as u32).map(move |j| match j {
                    0 => angle.cos(),
                    1 => angle.sin(),
                    _ => 0.01 * unit(i, j),
                })
            })
            .collect();
        let features = Features { rows: n, dim, values: rows.clone() };
        let reduced = ReducedCopy::new(&features, dim, 1);
        let order = tree_order(&reduced, 4);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(i, &id)| i as u32 == id), "every item once");
        let row = |i: u32| &rows[i as usize * dim..(i as usize + 1) * dim];
        let mean_step = |ids: &[u32]| {
            ids.windows(2).map(|w| squared_distance(row(w[0]), row(w[1])).sqrt()).sum::<f32>() / (n - 1) as f32
        };
        let listed: Vec<u32> = (0..n as u32).collect();
        let (tree, scrambled) = (mean_step(&order), mean_step(&listed));
        assert!(tree < 0.1 * scrambled, "tree order's mean step {tree} against {scrambled}");
        assert_eq!(order, tree_order(&reduced, 4), "a seed gives one order");
    }
}
