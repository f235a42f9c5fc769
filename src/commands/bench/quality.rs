//! `hebb bench quality`: the quality suite. A suite file lists labelled data sets by config; each
//! set is encoded at several seeds (the encoder trained and its features extracted, no map or
//! pictures) and scored as `hebb eval` scores a run, next to the same architecture with random
//! filters and the raw pixels. One table shows every set's kNN-5 accuracy, linear probe and NMI
//! (means and spreads over the seeds), then how often and by how much the learned filters lead
//! the random ones and the pixels across the sets. A setting counts only where it wins on sets it
//! was not chosen on: `--set-aside` leaves sets out of those counts (leave-one-set-out).
//!
//! Suite file (paths relative to it):
//! ```toml
//! [[sets]]
//! name = "mnist"
//! config = "mnist.toml"
//! ```

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::compute::device::RunContext;
use crate::config::{ConfigFile, EncodeConfig, check_folder_name};
use crate::data::{self, embedded, label_groups};
use crate::encoder::features;
use crate::eval::{self, EvalOptions, Scores};
use crate::run::write_atomically;

/// The `format` field of `quality.json`: a file there without it was not written by hebb and is
/// never replaced.
pub(crate) const QUALITY_FORMAT: &str = "hebb-quality-1";

/// The three embeddings in the order the table shows them, with the names `hebb eval` gives them.
const EMBEDDINGS: [(&str, &str); 3] = [("learned", "hebbian"), ("random", "random"), ("pixels", "pixels")];

/// The scores the suite compares, as `quality.json` names them.
const SCORE_NAMES: [&str; 3] = ["knn5", "probe", "nmi"];

/// Differences of means this small are rounding, not a lead: a tie.
const TIE: f64 = 1e-9;

/// A suite file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    sets: Vec<SuiteEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteEntry {
    /// Short name: shown in the table, given to `--set-aside` and `--only`.
    name: String,
    /// The set's encode config, relative to the suite file.
    config: PathBuf,
}

/// One set of the suite, its config resolved and checked.
#[derive(Debug)]
pub(crate) struct SuiteSet {
    pub name: String,
    pub config_path: PathBuf,
    pub config: EncodeConfig,
}

/// What `hebb bench quality` runs: the sets, the seeds, and the sets left out of the comparison.
#[derive(Debug)]
pub(crate) struct QualityPlan {
    pub suite: PathBuf,
    pub sets: Vec<SuiteSet>,
    pub seeds: usize,
    pub set_aside: Vec<String>,
    pub overrides: Vec<String>,
    pub kmeans_seeds: usize,
}

/// A `KEY=VALUE` override as given on the command line: a dotted config key and a TOML value (a
/// bare word that is not one is taken as a string).
pub(crate) fn parse_override(text: &str) -> Result<(Vec<String>, toml::Value)> {
    let Some((key, value)) = text.split_once('=') else {
        bail!("--override {text:?}: expected KEY=VALUE, e.g. training.filter_layers=4");
    };
    let path: Vec<String> = key.trim().split('.').map(str::to_string).collect();
    if path.iter().any(|part| part.is_empty()) {
        bail!("--override {text:?}: expected a dotted config key before `=`, e.g. encoder.channels");
    }
    let value = value.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}")).ok().and_then(|mut t| t.remove("v"));
    Ok((path, parsed.unwrap_or_else(|| toml::Value::String(value.to_string()))))
}

/// Sets `path` (a dotted key) to `value` in a config's TOML table, creating tables on the way.
fn apply_override(table: &mut toml::Table, path: &[String], value: &toml::Value) -> Result<()> {
    let (last, parents) = path.split_last().expect("a parsed key has at least one part");
    let mut at = table;
    for (depth, part) in parents.iter().enumerate() {
        let entry = at.entry(part.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = entry
            .as_table_mut()
            .with_context(|| format!("--override {}: `{}` is not a table", path.join("."), path[..=depth].join(".")))?;
    }
    at.insert(last.clone(), value.clone());
    Ok(())
}

impl QualityPlan {
    /// Reads the suite file and every config it names (with the overrides applied), and checks
    /// them all before any work: names unique and known, configs valid, labels and data present.
    pub(crate) fn load(
        suite: &Path,
        only: &[String],
        set_aside: &[String],
        seeds: usize,
        overrides: &[String],
        kmeans_seeds: usize,
    ) -> Result<Self> {
        let text =
            std::fs::read_to_string(suite).with_context(|| format!("cannot read suite file {}", suite.display()))?;
        let file: SuiteFile =
            toml::from_str(&text).with_context(|| format!("invalid suite file {}", suite.display()))?;
        if file.sets.is_empty() {
            bail!("suite file {}: expected at least one [[sets]] entry, found none", suite.display());
        }
        let mut names = HashSet::new();
        for entry in &file.sets {
            check_folder_name(&format!("suite file {}: set name", suite.display()), &entry.name)?;
            if !names.insert(entry.name.as_str()) {
                bail!("suite file {}: the set name {:?} is given twice", suite.display(), entry.name);
            }
        }
        for (flag, wanted) in [("--only", only), ("--set-aside", set_aside)] {
            if let Some(unknown) = wanted.iter().find(|name| !names.contains(name.as_str())) {
                let mut known: Vec<&str> = names.iter().copied().collect();
                known.sort_unstable();
                bail!("{flag} {unknown}: the suite has no such set (it has {})", known.join(", "));
            }
        }
        let parsed_overrides = overrides.iter().map(|o| parse_override(o)).collect::<Result<Vec<_>>>()?;
        let base = suite.parent().unwrap_or(Path::new(""));
        let mut sets = Vec::new();
        for entry in file.sets {
            if !only.is_empty() && !only.contains(&entry.name) {
                continue;
            }
            let config_path = base.join(&entry.config);
            let config = load_set_config(&config_path, &parsed_overrides)
                .with_context(|| format!("suite file {}: set {}", suite.display(), entry.name))?;
            sets.push(SuiteSet { name: entry.name, config_path, config });
        }
        Ok(Self {
            suite: suite.to_path_buf(),
            sets,
            seeds,
            set_aside: set_aside.to_vec(),
            overrides: overrides.to_vec(),
            kmeans_seeds,
        })
    }
}

/// A set's config with the overrides applied, validated, and checked to name labelled data that
/// exists.
fn load_set_config(path: &Path, overrides: &[(Vec<String>, toml::Value)]) -> Result<EncodeConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
    let mut table: toml::Table = toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))?;
    for (key, value) in overrides {
        apply_override(&mut table, key, value)?;
    }
    let origin = if overrides.is_empty() {
        path.display().to_string()
    } else {
        format!("{} with the overrides", path.display())
    };
    // Without overrides the file is parsed as `hebb encode` parses it (its errors point into the
    // file); with them, from the changed table, whose errors name the key but no line.
    let file = if overrides.is_empty() {
        ConfigFile::parse(&text, &origin)?
    } else {
        // serde's message ends with the table on a line of its own: one line here.
        let one_line =
            |e: toml::de::Error| anyhow::anyhow!("{}", e.to_string().split_whitespace().collect::<Vec<_>>().join(" "));
        toml::Value::Table(table)
            .try_into::<ConfigFile>()
            .map_err(one_line)
            .with_context(|| format!("invalid config {origin}"))?
    };
    let config = file.validate().with_context(|| format!("invalid config {origin}"))?;
    config.check_memory()?;
    let exists = |p: &Path| p.exists() || embedded::file(p).is_some();
    let labelled = config.data.labelled();
    let inputs: Vec<&Path> = config.data.inputs().into_iter().map(|(_, path)| path).collect();
    if !labelled {
        bail!("config {}: the data set has no labels to score against (set the source's `labels` key)", path.display());
    }
    if let Some(missing) = inputs.into_iter().find(|p| !exists(p)) {
        bail!(
            "config {}: {} does not exist (the suite's sets are built by the scripts in data/suite/)",
            path.display(),
            missing.display()
        );
    }
    Ok(config)
}

/// Means of one embedding's three scores at each seed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub(crate) struct SeedScores {
    pub knn5: Vec<f64>,
    pub probe: Vec<f64>,
    pub nmi: Vec<f64>,
}

impl SeedScores {
    fn push(&mut self, scores: &Scores) {
        self.knn5.push(scores.knn5_accuracy);
        self.probe.push(scores.probe_accuracy);
        self.nmi.push(scores.nmi_features);
    }

    fn values(&self, score: &str) -> &[f64] {
        match score {
            "knn5" => &self.knn5,
            "probe" => &self.probe,
            _ => &self.nmi,
        }
    }
}

/// One set's outcome: each embedding's scores at every seed, or the error that stopped it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SetResult {
    pub name: String,
    pub config: PathBuf,
    pub items: usize,
    pub classes: usize,
    pub seeds: Vec<u64>,
    pub learned: SeedScores,
    pub random: SeedScores,
    pub pixels: SeedScores,
    /// Seconds for the whole set (every seed's training, extraction and scoring).
    pub seconds: f64,
    /// `hebb eval`'s full scores, one list per seed.
    pub evals: Vec<Vec<Scores>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SetResult {
    fn embedding(&self, name: &str) -> &SeedScores {
        match name {
            "learned" => &self.learned,
            "random" => &self.random,
            _ => &self.pixels,
        }
    }
}

/// Learned filters against one baseline on one score, over the sets compared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Lead {
    pub score: String,
    /// Sets where the learned mean is higher (by more than rounding).
    pub wins: usize,
    pub sets: usize,
    /// Mean over the sets of (learned mean − baseline mean).
    pub mean_lead: f64,
}

/// Learned filters against one baseline on every score.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Comparison {
    pub baseline: String,
    pub leads: Vec<Lead>,
    pub wins: usize,
    pub set_scores: usize,
}

/// The suite's outcome, as `quality.json` holds it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct QualityReport {
    pub format: String,
    pub suite: PathBuf,
    pub seeds: usize,
    pub kmeans_seeds: usize,
    pub overrides: Vec<String>,
    pub set_aside: Vec<String>,
    pub sets: Vec<SetResult>,
    pub comparisons: Vec<Comparison>,
}

/// Refuses an output path that holds something hebb did not write, and makes its folder, before
/// any work.
pub(crate) fn check_output(path: &Path) -> Result<()> {
    super::check_report_output(path, QUALITY_FORMAT, "quality.json")
}

/// Runs every set of the plan (a set that fails is reported and the suite goes on) and compares.
pub(crate) fn run(plan: &QualityPlan, context: &RunContext) -> QualityReport {
    let bar = context.progress.bar((plan.sets.len() * plan.seeds) as u64, "sets x seeds");
    let mut sets = Vec::new();
    for set in &plan.sets {
        bar.set_message(set.name.clone());
        let started = Instant::now();
        let mut result = SetResult {
            name: set.name.clone(),
            config: set.config_path.clone(),
            items: 0,
            classes: 0,
            seeds: Vec::new(),
            learned: SeedScores::default(),
            random: SeedScores::default(),
            pixels: SeedScores::default(),
            seconds: 0.0,
            evals: Vec::new(),
            error: None,
        };
        if let Err(e) = run_set(set, plan, &context.hidden(), &mut result, || bar.inc(1)) {
            let message = format!("{e:#}");
            bar.suspend(|| log::warn!("set {}: {message}", set.name));
            result.error = Some(message);
        }
        result.seconds = started.elapsed().as_secs_f64();
        if result.error.is_none() && context.progress.is_shown() {
            bar.suspend(|| log::info!("{}", set_line(&result)));
        }
        sets.push(result);
    }
    bar.finish_and_clear();
    let compared: Vec<&SetResult> =
        sets.iter().filter(|s| s.error.is_none() && !plan.set_aside.contains(&s.name)).collect();
    let comparisons = ["random", "pixels"].iter().map(|baseline| compare(&compared, baseline)).collect();
    QualityReport {
        format: QUALITY_FORMAT.to_string(),
        suite: plan.suite.clone(),
        seeds: plan.seeds,
        kmeans_seeds: plan.kmeans_seeds,
        overrides: plan.overrides.clone(),
        set_aside: plan.set_aside.clone(),
        sets,
        comparisons,
    }
}

/// One set at every seed: the data loaded once, then per seed the encoder (training and encoder
/// seeds both moved by the seed's offset) trained, its features extracted, and all three
/// embeddings scored.
fn run_set(
    set: &SuiteSet,
    plan: &QualityPlan,
    context: &RunContext,
    result: &mut SetResult,
    mut on_seed: impl FnMut(),
) -> Result<()> {
    let images = data::load_usable(&set.config.data, context.progress)?;
    let (labels, names) = label_groups(&images.items);
    result.items = images.len();
    result.classes = names.len();
    if names.len() < 2 {
        bail!("the data set has {} label(s); scoring needs at least 2", names.len());
    }
    let options = EvalOptions { with_map: false, probe_splits: None, kmeans_seeds: plan.kmeans_seeds };
    for offset in 0..plan.seeds as u64 {
        let mut config = set.config.clone();
        config.training.seed = config.training.seed.wrapping_add(offset);
        config.encoder.seed = config.encoder.seed.wrapping_add(offset);
        let learned = features::embed(&config, &images, context.device(), context.progress)?.features;
        let scores = eval::evaluate_features(&config, &images, &labels, &learned, None, context, options)?;
        for (name, eval_name) in EMBEDDINGS {
            let found = scores.iter().find(|s| s.embedding == eval_name).expect("eval scores all three embeddings");
            match name {
                "learned" => result.learned.push(found),
                "random" => result.random.push(found),
                _ => result.pixels.push(found),
            }
        }
        result.seeds.push(config.training.seed);
        result.evals.push(scores);
        on_seed();
    }
    Ok(())
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Sample standard deviation (0 for fewer than two values).
fn sd(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// Learned against `baseline` over `sets`, score by score.
fn compare(sets: &[&SetResult], baseline: &str) -> Comparison {
    let leads: Vec<Lead> = SCORE_NAMES
        .iter()
        .map(|&score| {
            let differences: Vec<f64> = sets
                .iter()
                .map(|s| mean(s.learned.values(score)) - mean(s.embedding(baseline).values(score)))
                .collect();
            Lead {
                score: score.to_string(),
                wins: differences.iter().filter(|&&d| d > TIE).count(),
                sets: differences.len(),
                mean_lead: mean(&differences),
            }
        })
        .collect();
    Comparison {
        baseline: baseline.to_string(),
        wins: leads.iter().map(|l| l.wins).sum(),
        set_scores: leads.iter().map(|l| l.sets).sum(),
        leads,
    }
}

/// The report as a table: per set each embedding's three scores (mean ± sd over the seeds), then
/// the comparisons.
pub(crate) fn table(report: &QualityReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>6} {:>4}  {:^35}  {:^35}  {:^35}",
        "", "", "", "kNN-5 accuracy", "linear probe", "NMI (features' K-Means)"
    );
    let group = format!("{:>11} {:>11} {:>11}", "learned", "random", "pixels");
    let _ = writeln!(out, "{:<16} {:>6} {:>4}  {group}  {group}  {group}", "set", "items", "k");
    for set in &report.sets {
        let aside = if report.set_aside.contains(&set.name) { " *" } else { "" };
        let name = format!("{}{aside}", set.name);
        if let Some(error) = &set.error {
            let _ = writeln!(out, "{name:<16} failed: {error}");
            continue;
        }
        let _ = write!(out, "{name:<16} {:>6} {:>4}", set.items, set.classes);
        for score in SCORE_NAMES {
            out.push(' ');
            for (embedding, _) in EMBEDDINGS {
                let values = set.embedding(embedding).values(score);
                let _ = write!(out, " {:>11}", format!("{:.3}±{:.3}", mean(values), sd(values)).replace("±0.", "±."));
            }
        }
        out.push('\n');
    }
    let counted = report.sets.iter().filter(|s| s.error.is_none() && !report.set_aside.contains(&s.name)).count();
    let _ = writeln!(
        out,
        "{} seed(s) per set (± is their standard deviation); compared over {counted} set(s){}",
        report.seeds,
        if report.set_aside.is_empty() {
            String::new()
        } else {
            format!(", * set aside: {}", report.set_aside.join(", "))
        }
    );
    for comparison in &report.comparisons {
        let parts: Vec<String> = comparison
            .leads
            .iter()
            .map(|l| format!("{} {} of {} (mean lead {:+.4})", l.score, l.wins, l.sets, l.mean_lead))
            .collect();
        let _ = writeln!(
            out,
            "learned vs {}: ahead on {} of {} set-scores: {}",
            comparison.baseline,
            comparison.wins,
            comparison.set_scores,
            parts.join(", ")
        );
    }
    out
}

/// One line for a finished set: each embedding's mean kNN-5 / probe / NMI, and the time taken.
fn set_line(set: &SetResult) -> String {
    let mut line = format!("{}: {} items, {} labels", set.name, set.items, set.classes);
    for (embedding, _) in EMBEDDINGS {
        let scores = set.embedding(embedding);
        let _ = write!(
            line,
            "; {embedding} {:.4} / {:.4} / {:.4}",
            mean(&scores.knn5),
            mean(&scores.probe),
            mean(&scores.nmi)
        );
    }
    let _ = write!(line, " (kNN-5 / probe / NMI; {:.0} s)", set.seconds);
    line
}

/// Writes the report as JSON to `path` (checked by [`check_output`] before the work).
pub(crate) fn write_report(report: &QualityReport, path: &Path) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(report)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, learned: [f64; 3], random: [f64; 3], pixels: [f64; 3]) -> SetResult {
        let scores = |v: [f64; 3]| SeedScores { knn5: vec![v[0]], probe: vec![v[1]], nmi: vec![v[2]] };
        SetResult {
            name: name.into(),
            config: PathBuf::from(format!("{name}.toml")),
            items: 10,
            classes: 2,
            seeds: vec![42],
            learned: scores(learned),
            random: scores(random),
            pixels: scores(pixels),
            seconds: 1.0,
            evals: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn comparisons_count_wins_and_average_leads_over_the_sets() {
        let a = set("a", [0.9, 0.8, 0.5], [0.8, 0.8, 0.6], [0.7, 0.7, 0.1]);
        let b = set("b", [0.6, 0.7, 0.4], [0.5, 0.6, 0.2], [0.6, 0.9, 0.3]);
        let random = compare(&[&a, &b], "random");
        // kNN-5: +0.1, +0.1 (2 wins); probe: 0 (a tie is no win), +0.1; NMI: -0.1, +0.2.
        let lead = |c: &Comparison, i: usize| (c.leads[i].wins, (c.leads[i].mean_lead * 1e9).round() / 1e9);
        assert_eq!(lead(&random, 0), (2, 0.1));
        assert_eq!(lead(&random, 1), (1, 0.05));
        assert_eq!(lead(&random, 2), (1, 0.05));
        assert_eq!((random.wins, random.set_scores), (4, 6));
        let pixels = compare(&[&a, &b], "pixels");
        assert_eq!((pixels.wins, pixels.set_scores), (4, 6));
    }

    #[test]
    fn overrides_parse_toml_values_and_bare_words_and_set_nested_keys() {
        let (key, value) = parse_override("encoder.channels=[8, 8, 16, 16]").unwrap();
        assert_eq!(key, ["encoder", "channels"]);
        assert_eq!(
            value,
            toml::Value::Array((8..=16).step_by(8).flat_map(|v| [v, v]).map(toml::Value::from).collect())
        );
        let (_, word) = parse_override("encoder.lateral = shared").unwrap();
        assert_eq!(word, toml::Value::String("shared".into()));
        assert!(parse_override("no-equals").is_err());
        assert!(parse_override(".x=1").is_err());
        let mut table: toml::Table = toml::from_str("name = \"a\"\n[training]\nseed = 1\n").unwrap();
        apply_override(&mut table, &["training".into(), "seed".into()], &toml::Value::Integer(7)).unwrap();
        apply_override(&mut table, &["features".into(), "grid".into()], &toml::Value::Integer(2)).unwrap();
        assert_eq!(table["training"]["seed"].as_integer(), Some(7));
        assert_eq!(table["features"]["grid"].as_integer(), Some(2));
        let err = apply_override(&mut table, &["name".into(), "x".into()], &toml::Value::Integer(1)).unwrap_err();
        assert!(err.to_string().contains("`name` is not a table"), "{err}");
    }

    #[test]
    fn the_table_marks_set_aside_and_failed_sets() {
        let mut failed = set("broken", [0.0; 3], [0.0; 3], [0.0; 3]);
        failed.error = Some("cannot read x.png".into());
        let report = QualityReport {
            format: QUALITY_FORMAT.into(),
            suite: PathBuf::from("suite.toml"),
            seeds: 1,
            kmeans_seeds: 1,
            overrides: Vec::new(),
            set_aside: vec!["b".into()],
            sets: vec![set("a", [0.9; 3], [0.8; 3], [0.7; 3]), set("b", [0.1; 3], [0.8; 3], [0.7; 3]), failed],
            comparisons: Vec::new(),
        };
        let text = table(&report);
        assert!(text.contains("b *"), "{text}");
        assert!(text.contains("broken           failed: cannot read x.png"), "{text}");
        assert!(text.contains("0.900±.000"), "{text}");
        assert!(text.contains("compared over 1 set(s), * set aside: b"), "{text}");
    }
}
