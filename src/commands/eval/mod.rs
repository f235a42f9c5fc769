//! `hebb eval`: how well a run's embedding agrees with the data set's labels, next to two
//! baselines computed in the same command — the same encoder architecture with its seeded random
//! filters and no lateral path ("random"; its input standardisation and feature whitening, when
//! configured, fitted as the run's were), and the raw resized pixels ("pixels").
//!
//! Scores: leave-one-out kNN-5 accuracy (cosine, majority vote); the linear probe's test accuracy
//! ([`probe`]) on the seeded stratified 80/20 split; and NMI and ARI against the labels of K-Means
//! on the features and of K-Means on the 2-D map, with k = number of labels.

pub(crate) mod probe;

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::compute::device::ComputeDevice;
use crate::config::{ClusterConfig, FilterMode, LateralMode, MapConfig, NeighbourSearch};
use crate::data::{ImageSet, label_groups, split};
use crate::encoder::features::{self, Features};
use crate::encoder::{HebbianEncoder, train};
use crate::map::cluster;
use crate::map::knn::{self, Neighbours};
use crate::map::pipeline::{self, TOP_K};
use crate::run::Run;

/// Share of items whose neighbours' majority label is their own. Ties go to the label whose
/// first vote came from the more similar neighbour.
pub(crate) fn knn_accuracy(neighbours: &Neighbours, labels: &[usize]) -> f64 {
    let mut correct = 0;
    for (item, &label) in labels.iter().enumerate() {
        let (ids, _) = neighbours.row(item);
        let mut votes: Vec<(usize, usize)> = Vec::new(); // (label, count) in order of first vote
        for &id in ids {
            let l = labels[id as usize];
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

/// How many items have each label (or pair of labels).
type Counts<K> = HashMap<K, f64>;

/// Contingency counts, row sums and column sums of two labelings.
fn contingency(a: &[usize], b: &[usize]) -> (Counts<(usize, usize)>, Counts<usize>, Counts<usize>) {
    let mut joint = HashMap::new();
    let mut rows = HashMap::new();
    let mut columns = HashMap::new();
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

/// One embedding's scores.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Scores {
    pub embedding: String,
    pub knn5_accuracy: f64,
    pub probe_accuracy: f64,
    pub nmi_features: f64,
    pub ari_features: f64,
    /// Absent with `--no-map`.
    pub nmi_map: Option<f64>,
    pub ari_map: Option<f64>,
}

/// K-Means starts (at least) whose best inertia gives the clusters NMI and ARI score.
const EVAL_KMEANS_RUNS: usize = 10;

/// Scores an embedding against `labels` (group indices, `label_count` groups); the 2-D map's
/// scores only when `with_map`.
pub(crate) fn score(
    name: &str,
    features: &Features,
    labels: &[usize],
    label_count: usize,
    run: &Run,
    device: &ComputeDevice,
    with_map: bool,
) -> Result<Scores> {
    // As many clusters as labels, and the best of several seeded K-Means starts, so that NMI and
    // ARI measure the features more than one start's luck.
    let n_runs = run.config.clusters.n_runs.max(EVAL_KMEANS_RUNS);
    let clusters_config = ClusterConfig { n_clusters: label_count, n_runs, ..run.config.clusters.clone() };
    // Scores measure the features, so their neighbours are exact whatever the run searched with.
    let map_config = MapConfig { neighbours: NeighbourSearch::Exact, ..run.config.map.clone() };
    let stage = pipeline::run(features, &map_config, &clusters_config, &device.device, with_map, true)?;
    let voters = knn::drop_self(&stage.with_self.truncate(TOP_K + 1));
    let on_features = stage.clusters;
    let on_map = match stage.layout {
        Some(layout) => {
            let flat: Vec<f32> = layout.coords.iter().flatten().copied().collect();
            Some(cluster::kmeans(&flat, layout.coords.len(), 2, &clusters_config, &device.device)?)
        }
        None => None,
    };
    let (train, test) = split::stratified(labels, run.config.training.seed);
    Ok(Scores {
        embedding: name.to_string(),
        knn5_accuracy: knn_accuracy(&voters, labels),
        probe_accuracy: probe::accuracy(features, labels, &train, &test, run.config.training.seed),
        nmi_features: nmi(labels, &on_features),
        ari_features: ari(labels, &on_features),
        nmi_map: on_map.as_ref().map(|m| nmi(labels, m)),
        ari_map: on_map.as_ref().map(|m| ari(labels, m)),
    })
}

/// Raw pixels as unit-length feature rows.
pub(crate) fn pixel_features(images: &ImageSet) -> Features {
    let dim = images.image_len();
    let mut values = images.batch_f32(&(0..images.len()).collect::<Vec<_>>());
    for row in values.chunks_mut(dim) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= norm);
    }
    Features { rows: images.len(), dim, values }
}

/// Evaluates a run and its two baselines (with the 2-D map's scores when `with_map`).
pub(crate) fn evaluate(run: &Run, device: &ComputeDevice, with_map: bool, quiet: bool) -> Result<Vec<Scores>> {
    if !run.items.iter().any(|i| i.label.is_some()) {
        bail!("run {} has no labels to evaluate against", run.dir.display());
    }
    let unlabelled = run.items.iter().filter(|i| i.label.is_none()).count();
    if unlabelled > 0 {
        log::warn!(
            "{unlabelled} of the run's {} items have no label; they are scored as one class, \"(none)\"",
            run.items.len()
        );
    }
    let (labels, names) = label_groups(&run.items);
    let images = run.load_images(quiet)?;
    let mut baseline = run.config.clone();
    baseline.encoder.filters = FilterMode::Random;
    baseline.encoder.lateral = LateralMode::None;
    let mut untrained = HebbianEncoder::for_config(&baseline, &device.device);
    let items = train::training_items(&baseline.training, &images.items)?;
    train::train(&mut untrained, &images, &items, &baseline.training, &baseline.encoder, &device.device, true)?;
    let random = features::extract(&untrained, &images, run.config.training.batch_size, &device.device, quiet)?;
    let pixels = pixel_features(&images);
    let mut scores = Vec::new();
    for (name, features) in [("hebbian", &run.features), ("random", &random), ("pixels", &pixels)] {
        if !quiet {
            log::info!("scoring {name} ({} x {})", features.rows, features.dim);
        }
        scores.push(score(name, features, &labels, names.len(), run, device, with_map)?);
    }
    Ok(scores)
}

/// The scores as a table.
pub(crate) fn table(scores: &[Scores]) -> String {
    let mut out = format!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "embedding", "kNN-5 acc", "probe acc", "NMI feat", "ARI feat", "NMI map", "ARI map"
    );
    let optional = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    for s in scores {
        let _ = writeln!(
            out,
            "{:<10} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10} {:>10}",
            s.embedding,
            s.knn5_accuracy,
            s.probe_accuracy,
            s.nmi_features,
            s.ari_features,
            optional(s.nmi_map),
            optional(s.ari_map)
        );
    }
    out
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
