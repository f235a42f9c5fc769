//! The scores of a labelling against the labels: leave-one-out kNN accuracy over an item's
//! neighbours, normalised mutual information and the adjusted Rand index (scikit-learn's
//! definitions). Sums run over the counts in key order, so a score is the same to the last bit
//! on every run.

use std::collections::BTreeMap;

use crate::neighbours::Neighbours;

/// Share of items whose neighbours' majority label is their own. Ties go to the label whose
/// first vote came from the more similar neighbour.
pub(crate) fn knn_accuracy(neighbours: &Neighbours, labels: &[usize]) -> f64 {
    knn_accuracy_among(neighbours, labels, labels)
}

/// Share of queries (with `query_labels`) whose neighbours among other items (with
/// `base_labels`) have their label as the majority, ties as in [`knn_accuracy`].
pub(crate) fn knn_accuracy_among(neighbours: &Neighbours, query_labels: &[usize], base_labels: &[usize]) -> f64 {
    let labels = query_labels;
    let mut correct = 0;
    for (item, &label) in labels.iter().enumerate() {
        let (ids, _) = neighbours.row(item);
        let mut votes: Vec<(usize, usize)> = Vec::new(); // (label, count) in order of first vote
        for &id in ids {
            let l = base_labels[id as usize];
            match votes.iter_mut().find(|(v, _)| *v == l) {
                Some((_, count)) => *count += 1,
                None => votes.push((l, 1)),
            }
        }
        let best = votes.iter().fold(None::<(usize, usize)>, |best, &(l, c)| match best {
            Some((_, bc)) if bc >= c => best,
            _ => Some((l, c)),
        });
        if best.map(|(l, _)| l) == Some(label) {
            correct += 1;
        }
    }
    correct as f64 / labels.len().max(1) as f64
}

/// How many items have each label (or pair of labels), in key order, so that sums over them run in
/// one order and a score is the same to the last bit on every run.
type Counts<K> = BTreeMap<K, f64>;

/// Contingency counts, row sums and column sums of two labelings.
fn contingency(a: &[usize], b: &[usize]) -> (Counts<(usize, usize)>, Counts<usize>, Counts<usize>) {
    let mut joint = BTreeMap::new();
    let mut rows = BTreeMap::new();
    let mut columns = BTreeMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_insert(0.0) += 1.0;
        *rows.entry(x).or_insert(0.0) += 1.0;
        *columns.entry(y).or_insert(0.0) += 1.0;
    }
    (joint, rows, columns)
}

fn entropy(counts: &Counts<usize>, n: f64) -> f64 {
    counts.values().map(|&c| -(c / n) * (c / n).ln()).sum()
}

/// Normalised mutual information, arithmetic-mean normalisation (scikit-learn's default).
pub(crate) fn nmi(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len() as f64;
    let (joint, rows, columns) = contingency(a, b);
    let (ha, hb) = (entropy(&rows, n), entropy(&columns, n));
    if ha == 0.0 && hb == 0.0 {
        return 1.0;
    }
    let mi: f64 = joint.iter().map(|(&(x, y), &c)| (c / n) * ((c * n) / (rows[&x] * columns[&y])).ln()).sum();
    (mi / ((ha + hb) / 2.0)).clamp(0.0, 1.0)
}

/// Adjusted Rand index.
pub(crate) fn ari(a: &[usize], b: &[usize]) -> f64 {
    let pairs = |c: f64| c * (c - 1.0) / 2.0;
    let (joint, rows, columns) = contingency(a, b);
    let index: f64 = joint.values().map(|&c| pairs(c)).sum();
    let row_pairs: f64 = rows.values().map(|&c| pairs(c)).sum();
    let column_pairs: f64 = columns.values().map(|&c| pairs(c)).sum();
    let expected = row_pairs * column_pairs / pairs(a.len() as f64);
    let max = (row_pairs + column_pairs) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmi_and_ari_of_a_known_contingency_table() {
        // Contingency [[2, 1, 0], [0, 1, 2]]: MI = (2/3) ln 2, H(a) = ln 2, H(b) = ln 3;
        // ARI = (2 - 18/15) / (4.5 - 18/15).
        let a = [0, 0, 0, 1, 1, 1];
        let b = [0, 0, 1, 1, 2, 2];
        let expected_nmi = (2.0 / 3.0) * 2f64.ln() / ((2f64.ln() + 3f64.ln()) / 2.0);
        assert!((nmi(&a, &b) - expected_nmi).abs() < 1e-12);
        assert!((nmi(&a, &b) - 0.515804).abs() < 1e-6);
        assert!((ari(&a, &b) - 0.8 / 3.3).abs() < 1e-12);
        // Identical up to renaming: both 1.
        assert!((nmi(&[0, 0, 1, 1], &[5, 5, 3, 3]) - 1.0).abs() < 1e-12);
        assert!((ari(&[0, 0, 1, 1], &[5, 5, 3, 3]) - 1.0).abs() < 1e-12);
        // Independent: ARI below zero here, NMI zero.
        assert!(nmi(&[0, 0, 1, 1], &[0, 1, 0, 1]).abs() < 1e-12);
        assert!((ari(&[0, 0, 1, 1], &[0, 1, 0, 1]) - (-0.5)).abs() < 1e-12);
    }

    #[test]
    fn knn_accuracy_votes_with_ties_to_the_nearest() {
        let neighbours = Neighbours {
            k: 2,
            indices: vec![1, 2, 2, 3, 3, 0, 2, 1],
            similarities: vec![0.9, 0.8, 0.9, 0.8, 0.9, 0.8, 0.9, 0.8],
        };
        // labels: 0, 0, 1, 1. Item 0: votes 0 (item 1), 1 (item 2): tie -> 0, correct.
        // Item 1: votes 1, 1 -> 1, wrong. Item 2: votes 1, 0 -> 1, correct. Item 3: 1, 0 -> 1, correct.
        assert!((knn_accuracy(&neighbours, &[0, 0, 1, 1]) - 0.75).abs() < 1e-12);
    }
}
