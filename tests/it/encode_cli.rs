//! `hebb encode` end to end through the binary, on a tiny sprite sheet.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use hebb::testing::read_npy_f32;

use crate::common::{hebb, write_labelled_tiny_config, write_sheet, write_tiny_config};

/// A tiny sheet encoded once per test process, every layer learning, in a folder of cargo's
/// scratch space for integration tests; the tests below read it (none writes into it).
struct EncodedRun {
    dir: PathBuf,
    sheet: PathBuf,
    run: PathBuf,
    sprites: usize,
    /// The encode's stderr (`--verbose`).
    stderr: String,
}

/// Two epochs of the 12 sprites are fewer than 40 images, so each layer learns for twice two
/// epochs at a patch stride of 2; every layer learns, so that each one's statistics line shows.
const FIXTURE_TRAINING: &str = "filter_epochs = 2\nfilter_layers = 0\nfilter_min_images = 40";

fn encoded_run() -> &'static EncodedRun {
    static RUN: OnceLock<EncodedRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encode_cli_fixture");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        let sheet = dir.join("sheet.png");
        let sprites = write_sheet(&sheet, 4, 3, 8);
        let config = write_tiny_config(&dir, &sheet, FIXTURE_TRAINING);
        let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--verbose"], &dir);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        EncodedRun { run: dir.join("outputs/tiny"), dir, sheet, sprites, stderr }
    })
}

#[test]
fn encode_writes_a_complete_run_folder() {
    let EncodedRun { run, sprites, stderr, .. } = encoded_run();
    let sprites = *sprites;
    assert!(stderr.contains("device: cpu"), "{stderr}");
    assert!(stderr.contains("L4 energy="), "statistics lines with --verbose: {stderr}");
    assert!(stderr.contains("4 epochs per layer, each step learning from one in 2"), "{stderr}");
    for file in [
        "config.toml",
        "features.npy",
        "items.csv",
        "training_log.csv",
        "encoder.bpk",
        "summary.json",
        "map.csv",
        "filters.png",
    ] {
        assert!(run.join(file).is_file(), "missing {file}");
    }
    // Every picture decodes and has its configured size, the legends in a 300-px column beside the
    // picture; the sheet has no labels, so no label map.
    for (file, size) in [("canvas.png", (300, 300)), ("clusters.png", (600, 300)), ("map_clusters.png", (1500, 1200))] {
        let picture = image::open(run.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((picture.width(), picture.height()), size, "{file}");
    }
    assert!(!run.join("map_labels.png").exists());
    let grid = image::open(run.join("neighbours.png")).unwrap();
    assert_eq!(grid.width(), 8 + 6 * (32 + 8), "query + 5 neighbours per row");
    assert!(image::open(run.join("training.png")).is_ok());
    // The canvas keeps its transparent background and the sprites' transparent corners.
    let canvas = image::open(run.join("canvas.png")).unwrap().to_rgba8();
    assert_eq!(canvas.get_pixel(0, 0)[3], 0);
    assert!(canvas.pixels().any(|p| p[3] == 255), "sprites are drawn");
    let map = std::fs::read_to_string(run.join("map.csv")).unwrap();
    assert_eq!(map.lines().count(), sprites + 1);
    assert!(map.starts_with("index,x,y,cluster,label,source\n"));
    for line in map.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (x, y): (f32, f32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        assert!(x.is_finite() && y.is_finite(), "{line}");
        assert!(fields[3].parse::<usize>().unwrap() < 3);
    }
    // 32 px -> 16 -> 8 -> 4 -> 2 with 4, 4, 8, 8 channels, every map pooled to at most 4 x 4:
    // (4 + 4 + 8) x 16 + 8 x 4 = 288 features.
    let (rows, cols, values) = read_npy_f32(&run.join("features.npy")).unwrap();
    assert_eq!((rows, cols), (sprites, 288));
    for row in values.chunks(cols) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row norm {norm}");
    }
    let items = std::fs::read_to_string(run.join("items.csv")).unwrap();
    assert_eq!(items.lines().count(), sprites + 1);
    assert!(items.starts_with("index,source,label,name\n0,"));
    // Filter learning only (no lateral path by default): four epochs per layer, one row a step.
    let steps = 4 * sprites.div_ceil(4);
    let log = std::fs::read_to_string(run.join("training_log.csv")).unwrap();
    assert!(log.starts_with("stage,step,epoch,layer,energy,delta,norm,winners\n"), "{log}");
    assert_eq!(log.lines().count(), 1 + steps * 4);
    let last = log.lines().last().unwrap();
    assert!(last.starts_with(&format!("filters,{steps},4,4,")), "{last}");
    let winners: f32 = last.rsplit(',').next().unwrap().parse().unwrap();
    assert!(winners > 0.0 && winners <= 1.0, "{last}");
    // The resolved config rebuilds the same run.
    let resolved = hebb::testing::EncodeConfig::load(Some(&run.join("config.toml"))).unwrap();
    assert_eq!(resolved.training.filter_epochs, 2);
    assert_eq!(resolved.training.filter_layers, 0);
}

/// The fixture run's recorded outputs: its features and K-Means clusters as they were when the
/// file was last written (`HEBB_BLESS=1 cargo test --test it recorded` writes it again, after a
/// change meant to move them).
const RECORDED: &str = "tests/it/reference/tiny_run.txt";

/// The features and clusters of a run as the reference file's text: a line of clusters, then one
/// line of features per item, 7 significant digits.
fn recorded_text(run: &Path) -> String {
    let (_, cols, values) = read_npy_f32(&run.join("features.npy")).unwrap();
    let map = std::fs::read_to_string(run.join("map.csv")).unwrap();
    let clusters: Vec<&str> = map.lines().skip(1).map(|l| l.split(',').nth(3).unwrap()).collect();
    let mut text = format!("clusters {}\n", clusters.join(" "));
    for row in values.chunks(cols) {
        let row: Vec<String> = row.iter().map(|v| format!("{v:.7e}")).collect();
        text.push_str(&row.join(" "));
        text.push('\n');
    }
    text
}

/// A refactor leaves what a seed computes alone: the fixture run's clusters are the recorded
/// ones, and its features agree with the recorded ones to 1e-5 (the CPU matrix product picks its
/// kernel by the processor, so the last bits may differ from one machine to another).
#[test]
fn a_tiny_run_reproduces_its_recorded_features_and_clusters() {
    let fixture = encoded_run();
    let recorded_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(RECORDED);
    let now = recorded_text(&fixture.run);
    if std::env::var_os("HEBB_BLESS").is_some() {
        std::fs::create_dir_all(recorded_path.parent().unwrap()).unwrap();
        std::fs::write(&recorded_path, &now).unwrap();
    }
    let recorded = std::fs::read_to_string(&recorded_path).unwrap();
    let (recorded_clusters, now_clusters) = (recorded.lines().next(), now.lines().next());
    assert_eq!(recorded_clusters, now_clusters, "the clusters moved");
    let numbers = |text: &str| -> Vec<f32> {
        text.lines().skip(1).flat_map(|l| l.split(' ').map(|v| v.parse::<f32>().unwrap()).collect::<Vec<_>>()).collect()
    };
    let (recorded, now) = (numbers(&recorded), numbers(&now));
    assert_eq!(recorded.len(), now.len(), "the features' shape moved");
    let worst = recorded.iter().zip(&now).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "the features moved by up to {worst}");
}

#[test]
fn a_quiet_rerun_over_the_folder_gives_the_same_features() {
    let fixture = encoded_run();
    let dir = tempfile::tempdir().unwrap();
    // A copy of the run folder, so that this encode replaces a finished run of its own.
    let run = dir.path().join("outputs/tiny");
    std::fs::create_dir_all(&run).unwrap();
    for entry in std::fs::read_dir(&fixture.run).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), run.join(entry.file_name())).unwrap();
    }
    let config = write_tiny_config(dir.path(), &fixture.sheet, FIXTURE_TRAINING);
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "--quiet prints only errors");
    assert!(String::from_utf8_lossy(&out.stdout).contains("features"), "the summary table stays on stdout");
    let (_, _, values) = read_npy_f32(&fixture.run.join("features.npy")).unwrap();
    let (_, _, again) = read_npy_f32(&run.join("features.npy")).unwrap();
    assert_eq!(values, again, "same seed, same features");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, vec!["tiny".to_string()]);
}

#[test]
fn query_by_item_leaves_the_item_out() {
    let fixture = encoded_run();
    let run_arg = fixture.run.to_str().unwrap();
    let out = hebb(&["query", "--run", run_arg, "--item", "3", "--device", "cpu"], &fixture.dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    // It says what it answers first, and every line ends with a newline.
    assert!(table.starts_with("query: item 3 (sheet.png#"), "named by its sheet cell: {table}");
    assert!(table.lines().nth(1).unwrap().contains("label                 name"), "{table}");
    assert!(table.lines().next().unwrap().contains("sheet.png#"), "{table}");
    assert!(table.ends_with('\n'), "{table:?}");
    assert_eq!(table.lines().count(), 7, "{table}");
    assert!(!table.lines().skip(2).any(|l| l.split_whitespace().nth(2) == Some("3")), "{table}");
}

#[test]
fn query_by_file_finds_the_image_and_writes_its_grid() {
    let fixture = encoded_run();
    let run_arg = fixture.run.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Query by file: a data set image saved as a file finds itself first, similarity ~ 1.
    let sheet_image = image::open(&fixture.sheet).unwrap().to_rgba8();
    let tile = image::imageops::crop_imm(&sheet_image, 2 * 10 + 1, 1, 8, 8).to_image();
    let tile_path = dir.path().join("tile.png");
    tile.save(&tile_path).unwrap();
    let grid_path = dir.path().join("answer.png");
    let out = hebb(
        &[
            "query",
            "--run",
            run_arg,
            "--image",
            tile_path.to_str().unwrap(),
            "--top",
            "3",
            "--grid",
            grid_path.to_str().unwrap(),
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(table.lines().next().unwrap(), format!("query: image {}", tile_path.display()), "{table}");
    let first: Vec<&str> = table.lines().nth(2).unwrap().split_whitespace().collect();
    assert_eq!(first[2], "2", "the tile at column 2 of row 0 is item 2: {table}");
    assert!((first[1].parse::<f32>().unwrap() - 1.0).abs() < 1e-4, "{table}");
    assert_eq!(table.lines().count(), 5);
    let answer = image::open(&grid_path).unwrap();
    assert_eq!(answer.width(), 8 + 4 * (32 + 8));
    // The grid is written in the format its name asks for; a name no format fits is refused.
    let jpeg = dir.path().join("answer.jpg");
    let args = ["query", "--run", run_arg, "--item", "2", "--top", "3", "--device", "cpu", "--grid"];
    let out = hebb(&[&args[..], &[jpeg.to_str().unwrap()]].concat(), dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(image::ImageFormat::from_path(&jpeg).unwrap(), image::ImageFormat::Jpeg);
    assert_eq!(image::guess_format(&std::fs::read(&jpeg).unwrap()).unwrap(), image::ImageFormat::Jpeg);
    let odd = dir.path().join("answer.tiff");
    let out = hebb(&[&args[..], &[odd.to_str().unwrap()]].concat(), dir.path());
    assert_clean_error(&out, &["--grid", "answer.tiff", ".png, .jpg or .bmp"]);
    assert!(!odd.exists());
}

fn assert_clean_error(out: &Output, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error:") || stderr.contains("\nerror:"), "{stderr}");
    for word in expected {
        assert!(stderr.contains(word), "expected {word:?} in: {stderr}");
    }
}

#[test]
fn bad_input_gives_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(&["encode", "--config", "missing.toml", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["missing.toml"]);

    let sheet = dir.path().join("sheet.png");
    write_sheet(&sheet, 2, 2, 8);
    let config = write_tiny_config(dir.path(), &sheet, "warmup = 3");
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["warmup", "tiny.toml"]);

    let config = write_tiny_config(dir.path(), &dir.path().join("absent.png"), "");
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["absent.png"]);

    let config = write_tiny_config(dir.path(), &sheet, "");
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--epochs", "0"], dir.path());
    assert_clean_error(&out, &["training.epochs"]);
    assert!(!dir.path().join("outputs/tiny").exists(), "a failed run writes no run folder");

    let out = hebb(&["query", "--run", "outputs/none", "--item", "0", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["outputs/none", "does not exist"]);
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = hebb(&["query", "--run", "outputs/tiny", "--item", "0", "--top", "0", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["--top", "0 is not in 1.."]);
    let out = hebb(&["query", "--run", "outputs/tiny", "--item", "99", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["--item 99"]);
    std::fs::write(dir.path().join("junk.png"), b"not a png").unwrap();
    let out = hebb(&["query", "--run", "outputs/tiny", "--image", "junk.png", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["junk.png"]);
}

#[test]
fn eval_scores_a_labelled_run_against_its_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = write_labelled_tiny_config(dir.path());
    let (sheet, labels) = (dir.path().join("sheet.png"), dir.path().join("labels.csv"));
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("outputs/tiny/map_labels.png").is_file());

    let out = hebb(&["eval", "--run", "outputs/tiny", "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let names: Vec<&str> = table.lines().skip(1).take(3).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, vec!["hebbian", "random", "pixels"], "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/tiny/eval.json")).unwrap()).unwrap();
    for entry in json.as_array().unwrap() {
        let accuracy = entry["knn5_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&accuracy));
        assert!((0.0..=1.0).contains(&entry["nmi_features"].as_f64().unwrap()));
        assert!(entry["ari_map"].as_f64().unwrap() <= 1.0);
        // 12 items, 4 of them in each split's test part: the default takes the most splits, 10.
        assert_eq!(entry["probe_split_accuracies"].as_array().unwrap().len(), 10);
        assert!(entry["probe_sd"].as_f64().unwrap() >= 0.0);
    }
    assert!(table.contains("probe over 10 splits, hebbian minus random"), "{table}");

    // The probe on three splits and K-Means at two seeds: means, deviations, and hebbian against
    // random split by split and seed by seed.
    let out = hebb(
        &[
            "eval",
            "--run",
            "outputs/tiny",
            "--no-map",
            "--probe-splits",
            "3",
            "--kmeans-seeds",
            "2",
            "--device",
            "cpu",
            "--quiet",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.contains("probe sd") && table.contains("probe over 3 splits, hebbian minus random"), "{table}");
    assert!(table.contains("NMI sd") && table.contains("NMI over 2 K-Means seeds, hebbian minus random"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/tiny/eval.json")).unwrap()).unwrap();
    for entry in json.as_array().unwrap() {
        let accuracies: Vec<f64> =
            entry["probe_split_accuracies"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(accuracies.len(), 3);
        let mean = accuracies.iter().sum::<f64>() / 3.0;
        assert!((entry["probe_accuracy"].as_f64().unwrap() - mean).abs() < 1e-12);
        assert!(entry["probe_sd"].as_f64().unwrap() >= 0.0);
        let nmis: Vec<f64> = entry["nmi_seed_values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(nmis.len(), 2);
        assert!((entry["nmi_features"].as_f64().unwrap() - (nmis[0] + nmis[1]) / 2.0).abs() < 1e-12);
        assert!(entry["nmi_sd"].as_f64().unwrap() >= 0.0);
    }
    let out = hebb(&["eval", "--run", "outputs/tiny", "--probe-splits", "0", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["--probe-splits", "0 is not in 1.."]);
    let out = hebb(&["eval", "--run", "outputs/tiny", "--kmeans-seeds", "0", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["--kmeans-seeds", "0 is not in 1.."]);

    // A run whose encoder held out the first split's test part can only be scored on that split.
    let held = write_tiny_config(dir.path(), &sheet, "holdout = true");
    let text = std::fs::read_to_string(&held)
        .unwrap()
        .replace("border = 1\n", &format!("border = 1\nlabels = \"{}\"\n", labels.display()));
    std::fs::write(&held, text).unwrap();
    let out = hebb(
        &["encode", "--config", held.to_str().unwrap(), "--device", "cpu", "--quiet", "--name", "held"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = hebb(&["eval", "--run", "outputs/held", "--probe-splits", "2", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["--probe-splits 2", "training.holdout"]);
    let out = hebb(&["eval", "--run", "outputs/held", "--no-map", "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/held/eval.json")).unwrap()).unwrap();
    assert_eq!(json[0]["probe_split_accuracies"].as_array().unwrap().len(), 1, "by default one split");
    assert!(json[0].get("probe_sd").is_none());
    assert_eq!(json[0]["nmi_seed_values"].as_array().unwrap().len(), 1, "by default one K-Means seed");
    assert!(json[0].get("nmi_sd").is_none());

    // A run without labels cannot be evaluated.
    let unlabelled = write_tiny_config(dir.path(), &sheet, "");
    let out = hebb(
        &["encode", "--config", unlabelled.to_str().unwrap(), "--device", "cpu", "--quiet", "--name", "plain"],
        dir.path(),
    );
    assert!(out.status.success());
    let out = hebb(&["eval", "--run", "outputs/plain", "--device", "cpu"], dir.path());
    assert_clean_error(&out, &["no labels"]);
}

/// The post-encoding benchmark on synthetic features: every stage runs, renders included (and
/// kept when asked), the peak memory is reported, and the device K-Means reproduces linfa's
/// clusters.
#[test]
fn bench_map_runs_on_synthetic_features() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["bench", "map", "--synthetic", "300", "--dim", "24", "--device", "cpu", "--keep-renders", "renders"];
    let out = hebb(&args, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("300 x 24 features from synthetic data"), "{table}");
    assert!(dir.path().join("renders/map.html").is_file(), "--keep-renders keeps the renders");
    let peak = table.lines().find(|l| l.starts_with("peak resident memory")).expect("the peak is measured");
    assert!(peak.contains("x the features"), "{peak}");
    assert!(table.contains("renders (canvas, clusters, scatter charts, map.html)"), "{table}");
    assert!(table.contains("grid layout: 300 items into 18 x 17 cells"), "{table}");
    if hebb::testing::browser::chromium().is_some() {
        assert!(table.contains("map.html self-test (300 items, every check passed)"), "{table}");
    }
    let agreement =
        table.lines().find(|l| l.starts_with("items in the same cluster as linfa from hebb's start")).unwrap();
    assert!(agreement.trim_end().ends_with("100.00 %"), "{agreement}");
    let both = hebb(&["bench", "map", "--synthetic", "300", "--run", "x"], dir.path());
    assert!(!both.status.success());
}

#[test]
fn a_default_run_is_brief_and_verbose_adds_the_step_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    write_sheet(&sheet, 4, 3, 8);
    let config = write_tiny_config(dir.path(), &sheet, "");
    let config = config.to_str().unwrap();
    let out = hebb(&["encode", "--config", config, "--device", "cpu"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("filters step"), "no per-step lines by default: {stderr}");
    assert!(stderr.lines().count() <= 10, "{stderr}");
    let out = hebb(&["encode", "--config", config, "--device", "cpu", "-v", "--name", "again"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("filters step"), "-v shows them");
}

/// IDX files `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte` in `dir` of `count`
/// 16-px digits of 4 classes: class c is a bright 3-px bar at column 4c, its row span moved by the
/// item's index, so that classes are told apart by where the bar stands.
fn write_bar_digits(dir: &std::path::Path, prefix: &str, count: usize) {
    let side = 16u32;
    let mut images = vec![0, 0, 8, 3];
    for dim in [count as u32, side, side] {
        images.extend_from_slice(&dim.to_be_bytes());
    }
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&(count as u32).to_be_bytes());
    for i in 0..count {
        let class = i % 4;
        let top = (i / 4) % 6;
        for y in 0..side as usize {
            for x in 0..side as usize {
                let on = x >= 4 * class && x < 4 * class + 3 && y >= top && y < top + 10;
                images.push(if on { 250 } else { 0 });
            }
        }
        labels.push(class as u8);
    }
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

#[test]
fn eval_test_split_fits_on_the_training_files_and_scores_on_the_t10k_files() {
    let dir = tempfile::tempdir().unwrap();
    write_bar_digits(dir.path(), "train", 48);
    write_bar_digits(dir.path(), "t10k", 20);
    let config = dir.path().join("digits.toml");
    std::fs::write(
        &config,
        "name = \"digits\"\noutput_dir = \"outputs\"\n[data]\nimage_size = 16\n[data.mnist]\n\
         images = \"train-images-idx3-ubyte\"\nlabels = \"train-labels-idx1-ubyte\"\n[encoder]\n\
         channels = [4, 4, 8, 8]\n[training]\nbatch_size = 8\nfilter_min_images = 0\n[map]\nn_neighbors = 5\n\
         epochs = 30\n[clusters]\nn_clusters = 4\n",
    )
    .unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let args = ["eval", "--run", "outputs/digits", "--no-map", "--test-split", "--device", "cpu", "--quiet"];
    let out = hebb(&args, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.lines().next().unwrap().ends_with("kNN-5 test probe test"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/digits/eval.json")).unwrap()).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for entry in entries {
        for key in ["test_knn5_accuracy", "test_probe_accuracy"] {
            let value = entry[key].as_f64().unwrap_or_else(|| panic!("{key} in {entry}"));
            assert!((0.0..=1.0).contains(&value), "{entry}");
        }
    }
    // Every test digit has training digits with the very same pixels: raw pixels find them all.
    assert_eq!(entries[2]["embedding"], "pixels");
    assert_eq!(entries[2]["test_knn5_accuracy"].as_f64(), Some(1.0), "{table}");
    assert_eq!(entries[2]["test_probe_accuracy"].as_f64(), Some(1.0), "{table}");

    // Without the t10k files, the test split is named in one line; a run without a test split too.
    std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte")).unwrap();
    let out = hebb(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--test-split") && stderr.contains("t10k-images"), "{stderr}");
    std::fs::rename(dir.path().join("train-images-idx3-ubyte"), dir.path().join("digits-images-idx3-ubyte")).unwrap();
    let renamed = std::fs::read_to_string(&config).unwrap().replace("train-images", "digits-images");
    std::fs::write(&config, renamed).unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = hebb(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("was not trained on a split hebb knows"), "{stderr}");
}

#[test]
fn eval_test_split_after_stl10_unlabeled_fits_on_the_labelled_train_split() {
    // STL-10's binary layout: 96 x 96 x 3 column-major bytes per image, labels from 1. Class c
    // (1 or 2) is bright in its half of the columns; the unlabeled images mix both.
    let dir = tempfile::tempdir().unwrap();
    let plane = 96 * 96;
    let image = |class: u8, shade: u8| -> Vec<u8> {
        let column = |at: usize| at / 96;
        let lit = |at: usize| if (column(at) < 48) == (class == 1) { shade } else { 0 };
        (0..3 * plane).map(|at| lit(at % plane)).collect()
    };
    let write = |name: &str, classes: &[u8]| {
        let bytes: Vec<u8> = classes.iter().enumerate().flat_map(|(i, &c)| image(c, 100 + 10 * i as u8)).collect();
        std::fs::write(dir.path().join(format!("{name}_X.bin")), bytes).unwrap();
        if name != "unlabeled" {
            std::fs::write(dir.path().join(format!("{name}_y.bin")), classes).unwrap();
        }
    };
    write("unlabeled", &[1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    write("train", &[1, 2, 1, 2, 1, 2, 1, 2]);
    write("test", &[2, 1, 2, 1, 2, 1]);
    std::fs::write(dir.path().join("class_names.txt"), "left\nright\n").unwrap();
    let config = dir.path().join("stl.toml");
    std::fs::write(
        &config,
        "name = \"stl\"\noutput_dir = \"outputs\"\n[data]\nimage_size = 16\n[data.stl10]\npath = \".\"\n\
         split = \"unlabeled\"\n[encoder]\nchannels = [4, 4, 8, 8]\n[training]\nbatch_size = 4\nfilter_min_images = 0\n\
         [map]\nn_neighbors = 5\nepochs = 30\n[clusters]\nn_clusters = 2\n",
    )
    .unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Without the test split, the unlabeled run has nothing to be scored against.
    let out = hebb(&["eval", "--run", "outputs/stl", "--no-map", "--device", "cpu", "--quiet"], dir.path());
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no labels"));
    let out =
        hebb(&["eval", "--run", "outputs/stl", "--no-map", "--test-split", "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/stl/eval.json")).unwrap()).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    // The two classes are the two halves of the picture: raw pixels tell them apart exactly.
    assert_eq!(entries[2]["test_knn5_accuracy"].as_f64(), Some(1.0), "{json}");
    assert_eq!(entries[2]["test_probe_accuracy"].as_f64(), Some(1.0), "{json}");
    for entry in entries {
        assert!((0.0..=1.0).contains(&entry["test_probe_accuracy"].as_f64().unwrap()), "{entry}");
    }
}
