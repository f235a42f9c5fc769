//! `hebb bench quality` on tiny generated sets: the table, quality.json, leave-one-set-out, a set
//! that fails mid-suite, and the suite file's errors before any work.

use std::path::Path;

use crate::common::{hebb, write_labelled_tiny_config, write_mnist, write_tiny_config};

/// A labelled 11-sprite sheet set (two classes by column) and a 30-digit IDX set (three classes),
/// with their configs; returns the suite file's text naming both.
fn write_sets(dir: &Path) -> String {
    let (config, _) = write_labelled_tiny_config(dir);
    std::fs::rename(config, dir.join("sprites.toml")).unwrap();
    // tiny.toml: the same sheet without its labels.
    write_tiny_config(dir, &dir.join("sheet.png"), "");

    // The generated digits repeat every third image: labelled by that, a set that can be learned.
    write_mnist(&dir.join("digits-images"), &dir.join("digits-labels"), 30, 8, false);
    let mut labels = vec![0, 0, 8, 1, 0, 0, 0, 30];
    labels.extend((0..30u8).map(|i| i % 3));
    std::fs::write(dir.join("digits-labels"), labels).unwrap();
    let digits = r#"name = "digits"

[data]
image_size = 16

[data.mnist]
images = "digits-images"
labels = "digits-labels"

[encoder]
channels = [4, 4, 8, 8]

[training]
batch_size = 4
filter_min_images = 0
"#;
    std::fs::write(dir.join("digits.toml"), digits).unwrap();
    "[[sets]]\nname = \"sprites\"\nconfig = \"sprites.toml\"\n\n[[sets]]\nname = \"digits\"\nconfig = \"digits.toml\"\n"
        .to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_suite_scores_every_set_at_every_seed_and_compares_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("suite.toml"), write_sets(dir.path())).unwrap();
    let args = ["bench", "quality", "--suite", "suite.toml", "--seeds", "2", "--kmeans-seeds", "1", "--device", "cpu"];
    let out = hebb(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    for expected in
        ["sprites", "digits", "kNN-5 accuracy", "learned vs random: ahead on", "learned vs pixels: ahead on"]
    {
        assert!(table.contains(expected), "{expected:?} missing from\n{table}");
    }
    assert!(table.contains("compared over 2 set(s)"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/quality.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "hebb-quality-1");
    let sets = json["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!((sets[0]["items"].as_u64(), sets[0]["classes"].as_u64()), (Some(11), Some(2)));
    assert_eq!((sets[1]["items"].as_u64(), sets[1]["classes"].as_u64()), (Some(30), Some(3)));
    for set in sets {
        assert!(set.get("error").is_none(), "{set}");
        assert_eq!(set["seeds"], serde_json::json!([42, 43]), "two seeds from the config's 42");
        for embedding in ["learned", "random", "pixels"] {
            for score in ["knn5", "probe", "nmi"] {
                let values = set[embedding][score].as_array().unwrap();
                assert_eq!(values.len(), 2, "{embedding} {score}");
                assert!(values.iter().all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())), "{set}");
            }
        }
        // The pixels do not depend on the encoder's seed, the learned filters do.
        assert_ne!(set["learned"]["nmi"][0], serde_json::Value::Null);
    }
    for comparison in json["comparisons"].as_array().unwrap() {
        assert_eq!(comparison["set_scores"], 6, "{comparison}");
    }
    // The same seeds give the same report: only the timings differ.
    let strip = |mut json: serde_json::Value| {
        for set in json["sets"].as_array_mut().unwrap() {
            set["seconds"] = serde_json::Value::Null;
        }
        json
    };
    let again = hebb(&args, dir.path());
    assert!(again.status.success(), "{}", stderr(&again));
    let rerun: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/quality.json")).unwrap()).unwrap();
    assert_eq!(strip(rerun), strip(json), "seeded: the rerun replaces its own report with the same scores");

    // Leave-one-set-out: digits still scored, left out of the comparison.
    let out = hebb(
        &["bench", "quality", "--suite", "suite.toml", "--seeds", "1", "--set-aside", "digits", "--device", "cpu"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.contains("digits *") && table.contains("compared over 1 set(s), * set aside: digits"), "{table}");
    assert!(table.contains("ahead on") && table.contains(" of 3 set-scores"), "{table}");
}

#[test]
fn a_set_that_fails_is_reported_and_the_suite_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut suite = write_sets(dir.path());
    // A folder with one class: labelled, present, and not scorable.
    let class = dir.path().join("one/only");
    std::fs::create_dir_all(&class).unwrap();
    for i in 0..4u8 {
        image::RgbImage::from_pixel(8, 8, image::Rgb([i * 60, 10, 10])).save(class.join(format!("{i}.png"))).unwrap();
    }
    std::fs::write(
        dir.path().join("one.toml"),
        "name = \"one\"\n[data]\nimage_size = 16\n[data.folder]\nroot = \"one\"\n[encoder]\nchannels = [4, 4, 8, 8]\n",
    )
    .unwrap();
    suite = format!("[[sets]]\nname = \"one\"\nconfig = \"one.toml\"\n\n{suite}");
    std::fs::write(dir.path().join("suite.toml"), suite).unwrap();
    let out = hebb(
        &[
            "bench",
            "quality",
            "--suite",
            "suite.toml",
            "--seeds",
            "1",
            "--only",
            "one",
            "--only",
            "digits",
            "--quiet",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.contains("one") && table.contains("failed: the data set has 1 label(s)"), "{table}");
    assert!(table.contains("compared over 1 set(s)") && !table.contains("sprites"), "{table}");
}

#[test]
fn suite_errors_are_one_line_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let sets = write_sets(dir.path());
    let run = |suite: &str, extra: &[&str]| {
        std::fs::write(dir.path().join("suite.toml"), suite).unwrap();
        let mut args = vec!["bench", "quality", "--suite", "suite.toml", "--device", "cpu"];
        args.extend_from_slice(extra);
        let out = hebb(&args, dir.path());
        assert!(!out.status.success());
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!dir.path().join("outputs/quality.json").exists(), "no work before the error");
        err
    };
    let missing = format!("{sets}\n[[sets]]\nname = \"gone\"\nconfig = \"gone.toml\"\n");
    let err = run(&missing, &[]);
    assert!(err.contains("set gone") && err.contains("gone.toml"), "{err}");
    let twice = format!("{sets}\n[[sets]]\nname = \"digits\"\nconfig = \"digits.toml\"\n");
    assert!(run(&twice, &[]).contains("\"digits\" is given twice"));
    let unlabelled = "[[sets]]\nname = \"plain\"\nconfig = \"tiny.toml\"\n";
    let err = run(unlabelled, &[]);
    assert!(err.contains("set plain") && err.contains("no labels"), "{err}");
    let err = run(&sets, &["--set-aside", "nope"]);
    assert!(err.contains("--set-aside nope") && err.contains("digits, sprites"), "{err}");
    let err = run(&sets, &["--override", "encoder.channels=[1, 2]"]);
    assert!(err.contains("encoder.channels"), "{err}");
    let err = run(&sets, &["--override", "training.nonsense=1"]);
    assert!(err.contains("unknown field `nonsense`"), "{err}");
    let digits = dir.path().join("digits.toml");
    let text = std::fs::read_to_string(&digits).unwrap();
    std::fs::write(&digits, text.replace("digits-images", "absent-images")).unwrap();
    let err = run(&sets, &[]);
    assert!(err.contains("absent-images") && err.contains("does not exist"), "{err}");
    std::fs::write(&digits, text).unwrap();
    // An output that hebb did not write is never replaced.
    std::fs::write(dir.path().join("mine.json"), "{\"precious\": true}").unwrap();
    let err = run(&sets, &["--output", "mine.json"]);
    assert!(err.contains("mine.json") && err.contains("not a quality.json that hebb wrote"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("mine.json")).unwrap(), "{\"precious\": true}");
}
