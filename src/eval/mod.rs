//! Scoring an embedding against a data set's labels, next to two baselines computed in the same
//! call: the same encoder architecture with its seeded random filters and no lateral path
//! ("random"; its input standardisation and feature whitening, when configured, fitted as the
//! learned encoder's were), and the raw resized pixels ("pixels"). `hebb eval` scores a run folder
//! with it, `hebb bench quality` every set of a suite.
//!
//! Scores: leave-one-out kNN-5 accuracy (cosine, majority vote); the linear probe's test accuracy
//! ([`probe`]), the mean over seeded stratified 80/20 splits (`--probe-splits`); and NMI and ARI
//! against the labels of K-Means on the features (the mean over `--kmeans-seeds` seeds) and of
//! K-Means on the 2-D map, with k = number of labels. With a [`TestSplit`] (`hebb eval
//! --test-split`), also the papers' protocol: the probe fitted on all of the run's (training)
//! items and scored on the data set's test split, and kNN-5 of each test item among the training
//! items.

pub(crate) mod metrics;
pub(crate) mod probe;

use std::fmt::Write as _;

use anyhow::{Result, bail};
use burn::tensor::Device;
use serde::Serialize;

use crate::compute::device::RunContext;
use crate::compute::features::Features;
use crate::compute::memory;
use crate::config::TOP_K;
use crate::config::{ClusterConfig, EncodeConfig, FilterMode, LateralMode, MapConfig, NeighbourSearch};
use crate::data::{ImageSet, split};
use crate::encoder::features;
use crate::map::cluster;
use crate::map::pipeline::{self, MapRequest};
use crate::neighbours;
use crate::progress::Progress;
use metrics::{ari, knn_accuracy, knn_accuracy_among, nmi};

/// One embedding's scores.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Scores {
    pub embedding: String,
    pub knn5_accuracy: f64,
    /// The mean of `probe_split_accuracies`.
    pub probe_accuracy: f64,
    /// The probe's test accuracy on each split, the training seed's split first.
    pub probe_split_accuracies: Vec<f64>,
    /// Sample standard deviation of `probe_split_accuracies` (absent with one split).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_sd: Option<f64>,
    /// The mean of `nmi_seed_values`.
    pub nmi_features: f64,
    /// The mean ARI of the same clusterings.
    pub ari_features: f64,
    /// NMI of the features' K-Means at each K-Means seed, `clusters.seed`'s first.
    pub nmi_seed_values: Vec<f64>,
    /// Sample standard deviation of `nmi_seed_values` (absent with one seed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nmi_sd: Option<f64>,
    /// Absent with `--no-map`.
    pub nmi_map: Option<f64>,
    pub ari_map: Option<f64>,
    /// kNN-5 accuracy of the test split's items among the training items (`--test-split`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_knn5_accuracy: Option<f64>,
    /// The probe fitted on the training items, scored on the test split (`--test-split`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_probe_accuracy: Option<f64>,
}

/// A data set's test split, for the papers' protocol: its images, their labels (group indices
/// shared with the run's labels) and the learned encoder's features of them.
pub(crate) struct TestSplit {
    pub images: ImageSet,
    pub labels: Vec<usize>,
    pub features: Features,
}

/// kNN-5 accuracy of the `test` rows among the `train` rows, and the probe fitted on all of
/// `train` scored on `test`.
fn test_split_scores(
    train: &Features,
    train_labels: &[usize],
    test: &Features,
    test_labels: &[usize],
    seed: u64,
    context: &RunContext,
) -> Result<(f64, f64)> {
    let among_train = neighbours::exact::search(&test.values, train, TOP_K, context.device(), context.progress)?;
    let knn = knn_accuracy_among(&among_train, test_labels, train_labels);
    memory::check(
        "`hebb eval --test-split` (the training and test features side by side)",
        (train.values.len() + test.values.len()) as f64 * 4.0,
    )?;
    let joined = Features {
        rows: train.rows + test.rows,
        dim: train.dim,
        values: [train.values.as_slice(), test.values.as_slice()].concat(),
    };
    let labels = [train_labels, test_labels].concat();
    let (train_rows, test_rows): (Vec<usize>, Vec<usize>) =
        ((0..train.rows).collect(), (train.rows..joined.rows).collect());
    Ok((knn, probe::accuracy(&joined, &labels, &train_rows, &test_rows, seed)))
}

/// K-Means starts (at least) whose best inertia gives the clusters NMI and ARI score.
const EVAL_KMEANS_RUNS: usize = 10;

/// Test items that the probe's splits hold in all when `--probe-splits` is not given: one split's
/// 20% of a small set is few items (383 of the 1,911 emoji), and its accuracy moves by about ±0.02
/// from one split to the next.
const AUTO_PROBE_TEST_ITEMS: usize = 2000;

/// The most splits the probe gets when `--probe-splits` is not given.
const AUTO_PROBE_MAX_SPLITS: usize = 10;

/// How many splits the probe is scored on when `--probe-splits` is not given: enough for their test
/// parts to hold [`AUTO_PROBE_TEST_ITEMS`] items in all, at most [`AUTO_PROBE_MAX_SPLITS`]; one
/// for a run trained with `training.holdout`, whose encoder saw the other splits' test items.
pub(crate) fn auto_probe_split_count(labels: &[usize], training_seed: u64, holdout: bool) -> usize {
    if holdout {
        return 1;
    }
    let test_items = split::stratified(labels, training_seed).1.len().max(1);
    AUTO_PROBE_TEST_ITEMS.div_ceil(test_items).clamp(1, AUTO_PROBE_MAX_SPLITS)
}

/// `count` seeds: `first`, then seeds derived from it (the probe's splits, the K-Means seeds).
fn derived_seeds(first: u64, count: usize) -> Vec<u64> {
    (0..count as u64).map(|i| first.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))).collect()
}

/// The seeded stratified splits the probe is scored on: the first is [`split::stratified`] with
/// the training seed (the one `training.holdout` keeps unseen), each further one from a seed
/// derived from it.
pub(crate) fn probe_splits(labels: &[usize], training_seed: u64, count: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
    derived_seeds(training_seed, count).into_iter().map(|seed| split::stratified(labels, seed)).collect()
}

/// Scores an embedding against `labels` (group indices from 0), with the probe's accuracies on
/// its splits ([`probe_accuracies`]) and the features' K-Means at `options.kmeans_seeds` seeds
/// ([`derived_seeds`] from `clusters.seed`); the 2-D map's scores (one seed) only when
/// `options.with_map`.
fn score(
    name: &str,
    features: &Features,
    labels: &[usize],
    probe_split_accuracies: Vec<f64>,
    config: &EncodeConfig,
    device: &Device,
    options: EvalOptions,
) -> Result<Scores> {
    let EvalOptions { with_map, kmeans_seeds: kmeans_seed_count, .. } = options;
    // As many clusters as labels, and the best of several seeded K-Means starts, so that NMI and
    // ARI measure the features more than one start's luck.
    let n_runs = config.clusters.n_runs.max(EVAL_KMEANS_RUNS);
    let label_count = labels.iter().max().map_or(1, |m| m + 1);
    let clusters_config = ClusterConfig { n_clusters: label_count, n_runs, ..config.clusters.clone() };
    let kmeans_seeds = derived_seeds(config.clusters.seed, kmeans_seed_count.max(1));
    // Scores measure the features, so their neighbours are exact whatever the run searched with.
    let map_config = MapConfig { neighbours: NeighbourSearch::Exact, ..config.map.clone() };
    let request =
        MapRequest { features, map: &map_config, clusters: &clusters_config, device, progress: Progress::Hidden };
    let (with_self, on_features, on_map) = if with_map {
        let output = pipeline::run(&request)?;
        let coords = &output.layout.coords;
        let flat: Vec<f32> = coords.iter().flatten().copied().collect();
        let on_map = cluster::kmeans(&flat, coords.len(), 2, &clusters_config, device)?;
        (output.with_self, output.clusters, Some(on_map))
    } else {
        let output = pipeline::run_unmapped(&request)?;
        (output.with_self, output.clusters, None)
    };
    let voters = neighbours::top_neighbours(&with_self, TOP_K);
    let (probe_accuracy, probe_sd) = mean_and_sd(&probe_split_accuracies);
    // The first seed's clustering came with the stage; the others are K-Means alone.
    let mut nmi_seed_values = vec![nmi(labels, &on_features)];
    let mut ari_seed_values = vec![ari(labels, &on_features)];
    for &seed in &kmeans_seeds[1..] {
        let config = ClusterConfig { seed, ..clusters_config.clone() };
        let clusters = cluster::kmeans(&features.values, features.rows, features.dim, &config, device)?;
        nmi_seed_values.push(nmi(labels, &clusters));
        ari_seed_values.push(ari(labels, &clusters));
    }
    let (nmi_features, nmi_sd) = mean_and_sd(&nmi_seed_values);
    Ok(Scores {
        embedding: name.to_string(),
        knn5_accuracy: knn_accuracy(&voters, labels),
        probe_accuracy,
        probe_split_accuracies,
        probe_sd,
        nmi_features,
        ari_features: mean_and_sd(&ari_seed_values).0,
        nmi_seed_values,
        nmi_sd,
        nmi_map: on_map.as_ref().map(|m| nmi(labels, m)),
        ari_map: on_map.as_ref().map(|m| ari(labels, m)),
        test_knn5_accuracy: None,
        test_probe_accuracy: None,
    })
}

/// The probe's test accuracy on each of `splits`, with a progress bar over them.
fn probe_accuracies(
    features: &Features,
    labels: &[usize],
    splits: &[(Vec<usize>, Vec<usize>)],
    seed: u64,
    progress: Progress,
) -> Vec<f64> {
    let bar = progress.bar(splits.len() as u64, "probe");
    let accuracies = splits
        .iter()
        .map(|(train, test)| {
            let accuracy = probe::accuracy(features, labels, train, test, seed);
            bar.inc(1);
            accuracy
        })
        .collect();
    bar.finish_and_clear();
    accuracies
}

/// Mean and, for two or more values, sample standard deviation.
fn mean_and_sd(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    let sd = (values.len() > 1).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, sd)
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

/// How `hebb eval` scores: the 2-D map's scores too (`with_map`), the probe on
/// `probe_splits` seeded splits ([`auto_probe_split_count`] when `None`), and the features'
/// K-Means at `kmeans_seeds` seeds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvalOptions {
    pub with_map: bool,
    pub probe_splits: Option<usize>,
    pub kmeans_seeds: usize,
}

/// Scores `features`, the learned embedding of `images` under `config`, and its two baselines
/// against `labels` (group indices from 0, one per image); each also on the `test` split when
/// there is one.
pub(crate) fn evaluate_features(
    config: &EncodeConfig,
    images: &ImageSet,
    labels: &[usize],
    features: &Features,
    test: Option<&TestSplit>,
    context: &RunContext,
    options: EvalOptions,
) -> Result<Vec<Scores>> {
    let (device, progress) = (context.device(), context.progress);
    let seed = config.training.seed;
    let holdout = config.training.holdout;
    let probe_split_count = options.probe_splits.unwrap_or_else(|| auto_probe_split_count(labels, seed, holdout));
    if probe_split_count == 0 {
        bail!("--probe-splits 0: expected at least 1 split");
    }
    if options.kmeans_seeds == 0 {
        bail!("--kmeans-seeds 0: expected at least 1 seed");
    }
    if probe_split_count > 1 && holdout {
        bail!(
            "--probe-splits {probe_split_count}: the encoder trained with `training.holdout`, which keeps only the \
             first split's test part unseen; use --probe-splits 1"
        );
    }
    let unlabelled = images.items.iter().filter(|i| i.label.is_none()).count();
    if unlabelled > 0 {
        log::warn!(
            "{unlabelled} of the {} items have no label; they are scored as one class, \"(none)\"",
            images.items.len()
        );
    }
    let mut baseline = config.clone();
    baseline.encoder.filters = FilterMode::Random;
    baseline.encoder.lateral = LateralMode::None;
    let random = features::embed(&baseline, images, device, progress)?;
    let pixels = pixel_features(images);
    let batch_size = config.training.batch_size;
    let random_test =
        test.map(|t| features::extract(&random.encoder, &t.images, batch_size, device, progress)).transpose()?;
    let pixels_test = test.map(|t| pixel_features(&t.images));
    let embeddings = [
        ("hebbian", features, test.map(|t| &t.features)),
        ("random", &random.features, random_test.as_ref()),
        ("pixels", &pixels, pixels_test.as_ref()),
    ];
    let splits = probe_splits(labels, seed, probe_split_count);
    let mut scores = Vec::new();
    for (name, features, test_features) in embeddings {
        if progress.is_shown() {
            log::info!("scoring {name} ({} x {})", features.rows, features.dim);
        }
        let accuracies = probe_accuracies(features, labels, &splits, seed, progress);
        let mut scored = score(name, features, labels, accuracies, config, device, options)?;
        if let (Some(test), Some(test_features)) = (test, test_features) {
            let (knn, probe) = test_split_scores(features, labels, test_features, &test.labels, seed, context)?;
            (scored.test_knn5_accuracy, scored.test_probe_accuracy) = (Some(knn), Some(probe));
        }
        scores.push(scored);
    }
    Ok(scores)
}

/// The scores as a table; with several probe splits or K-Means seeds, a column of each one's
/// deviation and a line comparing the first two embeddings (hebbian and random) split by split or
/// seed by seed.
pub(crate) fn table(scores: &[Scores]) -> String {
    let probe_sd = scores.iter().any(|s| s.probe_sd.is_some());
    let nmi_sd = scores.iter().any(|s| s.nmi_sd.is_some());
    let test_split = scores.iter().any(|s| s.test_probe_accuracy.is_some());
    let header = |on: bool, name: &str| if on { format!(" {name:>10}") } else { String::new() };
    let mut out = format!(
        "{:<10} {:>10} {:>10}{} {:>10}{} {:>10} {:>10} {:>10}{}{}\n",
        "embedding",
        "kNN-5 acc",
        "probe acc",
        header(probe_sd, "probe sd"),
        "NMI feat",
        header(nmi_sd, "NMI sd"),
        "ARI feat",
        "NMI map",
        "ARI map",
        header(test_split, "kNN-5 test"),
        header(test_split, "probe test"),
    );
    let optional = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let column = |on: bool, v: Option<f64>| if on { format!(" {:>10}", optional(v)) } else { String::new() };
    for s in scores {
        let _ = writeln!(
            out,
            "{:<10} {:>10.4} {:>10.4}{} {:>10.4}{} {:>10.4} {:>10} {:>10}{}{}",
            s.embedding,
            s.knn5_accuracy,
            s.probe_accuracy,
            column(probe_sd, s.probe_sd),
            s.nmi_features,
            column(nmi_sd, s.nmi_sd),
            s.ari_features,
            optional(s.nmi_map),
            optional(s.ari_map),
            column(test_split, s.test_knn5_accuracy),
            column(test_split, s.test_probe_accuracy),
        );
    }
    if let [first, second, ..] = scores {
        if probe_sd {
            out += &comparison(
                "probe",
                "splits",
                first,
                second,
                &first.probe_split_accuracies,
                &second.probe_split_accuracies,
            );
        }
        if nmi_sd {
            out += &comparison("NMI", "K-Means seeds", first, second, &first.nmi_seed_values, &second.nmi_seed_values);
        }
    }
    out
}

/// One line: `what` of `first` minus `second`, paired over the `unit` (splits or seeds).
fn comparison(what: &str, unit: &str, first: &Scores, second: &Scores, a: &[f64], b: &[f64]) -> String {
    let differences: Vec<f64> = a.iter().zip(b).map(|(a, b)| a - b).collect();
    let (mean, sd) = mean_and_sd(&differences);
    let count = |keep: fn(f64) -> bool| differences.iter().filter(|&&d| keep(d)).count();
    format!(
        "{what} over {} {unit}, {} minus {}: mean {mean:+.4} (sd {:.4}); ahead on {}, level on {}, behind on {}\n",
        differences.len(),
        first.embedding,
        second.embedding,
        sd.unwrap_or(0.0),
        count(|d| d > 0.0),
        count(|d| d == 0.0),
        count(|d| d < 0.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_splits_start_with_the_holdout_split_and_differ_after_it() {
        let labels: Vec<usize> = (0..60).map(|i| i % 3).collect();
        let splits = probe_splits(&labels, 9, 4);
        assert_eq!(splits.len(), 4);
        assert_eq!(splits[0], split::stratified(&labels, 9), "the first is the one training.holdout keeps unseen");
        for (i, (train, test)) in splits.iter().enumerate() {
            assert_eq!((train.len(), test.len()), (48, 12));
            for class in 0..3 {
                assert_eq!(test.iter().filter(|&&t| labels[t] == class).count(), 4, "split {i} is stratified");
            }
            for (other, _) in splits.iter().enumerate().filter(|&(j, _)| j != i) {
                assert_ne!(splits[other].1, *test, "splits {i} and {other} hold out the same items");
            }
        }
        assert_eq!(probe_splits(&labels, 9, 4), splits, "seeded");
    }

    #[test]
    fn probe_splits_by_default_hold_2000_test_items_in_all() {
        let classes = |items: usize| -> Vec<usize> { (0..items).map(|i| i % 10).collect() };
        // 1,911 items in ten classes: 380 in each test part, 6 splits; 10,000: one; 100: 20 each,
        // capped at 10.
        assert_eq!(split::stratified(&classes(1911), 42).1.len(), 380);
        assert_eq!(auto_probe_split_count(&classes(1911), 42, false), 6);
        assert_eq!(auto_probe_split_count(&classes(10_000), 42, false), 1);
        assert_eq!(auto_probe_split_count(&classes(100), 42, false), 10);
        assert_eq!(auto_probe_split_count(&classes(100), 42, true), 1, "a holdout run has one unseen split");
    }

    #[test]
    fn table_compares_the_first_two_embeddings_split_by_split_and_seed_by_seed() {
        let row = |name: &str, accuracies: Vec<f64>, nmis: Vec<f64>| {
            let (probe_accuracy, probe_sd) = mean_and_sd(&accuracies);
            let (nmi_features, nmi_sd) = mean_and_sd(&nmis);
            Scores {
                embedding: name.to_string(),
                knn5_accuracy: 0.5,
                probe_accuracy,
                probe_split_accuracies: accuracies,
                probe_sd,
                nmi_features,
                ari_features: 0.5,
                nmi_seed_values: nmis,
                nmi_sd,
                nmi_map: None,
                ari_map: None,
                test_knn5_accuracy: None,
                test_probe_accuracy: None,
            }
        };
        let one = table(&[row("hebbian", vec![0.7], vec![0.3]), row("random", vec![0.6], vec![0.3])]);
        assert!(!one.contains(" sd") && !one.contains(" over "), "{one}");
        let three =
            table(&[row("hebbian", vec![0.7, 0.6, 0.8], vec![0.3]), row("random", vec![0.6, 0.6, 0.9], vec![0.3])]);
        // Differences 0.1, 0, -0.1: mean 0, sd 0.1.
        assert!(three.contains("probe sd") && !three.contains("NMI sd"), "{three}");
        assert!(three.lines().nth(1).unwrap().contains("0.7000     0.1000"), "{three}");
        assert!(
            three.contains(
                "probe over 3 splits, hebbian minus random: mean +0.0000 (sd 0.1000); ahead on 1, level on 1, behind on 1"
            ),
            "{three}"
        );
        let seeds = table(&[row("hebbian", vec![0.7], vec![0.30, 0.32]), row("random", vec![0.6], vec![0.31, 0.29])]);
        // NMI means 0.31 and 0.30; differences -0.01, +0.03.
        assert!(seeds.contains("NMI sd") && !seeds.contains("probe sd"), "{seeds}");
        assert!(seeds.lines().nth(1).unwrap().contains("0.3100     0.0141"), "{seeds}");
        assert!(
            seeds.contains(
                "NMI over 2 K-Means seeds, hebbian minus random: mean +0.0100 (sd 0.0283); ahead on 1, level on 0, behind on 1"
            ),
            "{seeds}"
        );
    }
}
