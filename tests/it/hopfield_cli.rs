//! `hebb hopfield repair` end to end on a generated picture.

use std::path::Path;

use image::{Rgba, RgbaImage};

use crate::common::hebb;

/// A 48-px picture: a ring and a bar, black on white.
fn write_picture(path: &Path) {
    let picture = RgbaImage::from_fn(48, 48, |x, y| {
        let (dx, dy) = (x as f32 - 24.0, y as f32 - 24.0);
        let r = (dx * dx + dy * dy).sqrt();
        if (12.0..18.0).contains(&r) || (x > 20 && x < 28 && y > 4 && y < 44) {
            Rgba([0, 0, 0, 255])
        } else {
            Rgba([255, 255, 255, 255])
        }
    });
    picture.save(path).unwrap();
}

#[test]
fn repair_restores_a_corrupted_picture_and_writes_its_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("ring.png");
    write_picture(&picture);
    for (name, dynamics, temperature) in [
        ("async", "async", "0"),
        ("sync", "sync", "0"),
        ("dense", "dense", "0"),
        ("annealed", "async", "0.3"),
        ("random-neuron", "random-neuron", "0"),
    ] {
        let out = hebb(
            &[
                "hopfield",
                "repair",
                "--image",
                "ring.png",
                "--side",
                "32",
                "--noise",
                "0.25",
                "--dynamics",
                dynamics,
                "--temperature",
                temperature,
                "--name",
                name,
                "--device",
                "cpu",
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let run = dir.path().join("outputs").join(name);
        let strip = image::open(run.join("strip.png")).unwrap();
        assert_eq!((strip.width(), strip.height()), (3 * 256 + 32, 256 + 16));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["accuracy_after"].as_f64().unwrap(), 1.0, "{summary}");
        assert!((summary["accuracy_before"].as_f64().unwrap() - 0.75).abs() < 1e-3);
        assert_eq!(summary["landed_on"], "pattern 0");
        assert!(summary["energy_after"].as_f64().unwrap() < summary["energy_before"].as_f64().unwrap());
        let gif = std::fs::File::open(run.join("recall.gif")).unwrap();
        let frames = image::AnimationDecoder::into_frames(
            image::codecs::gif::GifDecoder::new(std::io::BufReader::new(gif)).unwrap(),
        );
        assert!(frames.count() >= 2, "the GIF shows the recall");
    }
    // A sprite binarised by alpha: the recalled picture keeps a transparent background.
    let sprite = RgbaImage::from_fn(32, 32, |x, y| {
        if (8..24).contains(&x) && (4..28).contains(&y) { Rgba([200, 40, 40, 255]) } else { Rgba([0, 0, 0, 0]) }
    });
    sprite.save(dir.path().join("sprite.png")).unwrap();
    let out = hebb(
        &[
            "hopfield",
            "repair",
            "--image",
            "sprite.png",
            "--side",
            "32",
            "--binarise",
            "alpha",
            "--name",
            "sprite",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recalled = image::open(dir.path().join("outputs/sprite/recalled.png")).unwrap().to_rgba8();
    assert_eq!(recalled.get_pixel(0, 0)[3], 0);
    assert_eq!(recalled.get_pixel(16, 16)[3], 255);

    // Occluded: the bottom half set to black comes back.
    let out = hebb(
        &[
            "hopfield",
            "repair",
            "--image",
            "ring.png",
            "--side",
            "32",
            "--corruption",
            "bottom-half",
            "--name",
            "half",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/half/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["accuracy_after"].as_f64().unwrap(), 1.0, "{summary}");
}

#[test]
fn repair_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(&["hopfield", "repair", "--image", "missing.png", "--device", "cpu"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("missing.png") && !stderr.contains("panicked"), "{stderr}");
    let picture = dir.path().join("ring.png");
    write_picture(&picture);
    let out = hebb(&["hopfield", "repair", "--image", "ring.png", "--noise", "1.5", "--device", "cpu"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("noise"), "{stderr}");
    assert!(!dir.path().join("outputs/repair").exists());
    let out = hebb(
        &[
            "hopfield",
            "repair",
            "--image",
            "ring.png",
            "--corruption",
            "rectangle",
            "--rect",
            "60,0,8,8",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("does not fit"), "{stderr}");
    let out = hebb(
        &[
            "hopfield",
            "repair",
            "--image",
            "ring.png",
            "--also",
            "ring.png",
            "--rule",
            "pseudo-inverse",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("linearly dependent"), "{stderr}");
}

#[test]
fn store_then_recall_reports_attractors_and_mixtures() {
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(
        &[
            "hopfield", "store", "--random", "8", "--side", "20", "--rule", "hebbian", "--name", "net", "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["network.json", "weights.npy", "patterns.npy", "overlaps.png"] {
        assert!(dir.path().join("outputs/net").join(file).is_file(), "{file}");
    }
    let recall = |args: &[&str]| {
        let mut all = vec!["hopfield", "recall", "--network", "outputs/net"];
        all.extend_from_slice(args);
        let out = hebb(&all, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap().to_string()
    };
    assert!(recall(&["--mix", "3", "--noise", "0.15"]).starts_with("landed on    pattern 3 (random #3"));
    // The symmetric mixture of three stored patterns is a spurious attractor of the Hebbian rule.
    assert_eq!(recall(&["--mix", "0,1,2"]), "landed on    spurious");

    // Images from a folder; the stored picture recalls itself.
    let pictures = dir.path().join("pictures");
    std::fs::create_dir_all(&pictures).unwrap();
    write_picture(&pictures.join("ring.png"));
    let out = hebb(
        &["hopfield", "store", "--folder", "pictures", "--side", "24", "--name", "pics", "--device", "cpu"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = hebb(
        &["hopfield", "recall", "--network", "outputs/pics", "--image", "pictures/ring.png", "--noise", "0.2"],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("landed on    pattern 0") && stdout.contains("ring.png"), "{stdout}");

    // Sprites of a sheet, binarised by alpha.
    crate::common::write_sheet(&dir.path().join("sheet.png"), 3, 2, 8);
    let out = hebb(
        &[
            "hopfield",
            "store",
            "--sheet",
            "sheet.png",
            "--tile",
            "8",
            "--border",
            "1",
            "--side",
            "8",
            "--binarise",
            "alpha",
            "--limit",
            "3",
            "--name",
            "sprites",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("stored 3 patterns of 64 neurons"));
    // A tile that does not divide the sheet names the flags, not the config's keys.
    let out = hebb(
        &[
            "hopfield",
            "store",
            "--sheet",
            "sheet.png",
            "--tile",
            "13",
            "--side",
            "8",
            "--name",
            "bad",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("check --tile and --border"), "{stderr}");
    assert!(!stderr.contains("data.sheet"), "{stderr}");

    let out = hebb(&["hopfield", "recall", "--network", "outputs/net", "--mix", "9"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("pattern 9 does not exist"), "{stderr}");

    // A weight that is not a number is refused when the network opens, never recalled with.
    let weights = dir.path().join("outputs/net/weights.npy");
    let mut bytes = std::fs::read(&weights).unwrap();
    let at = bytes.len() - 4;
    bytes[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&weights, bytes).unwrap();
    let out = hebb(&["hopfield", "recall", "--network", "outputs/net", "--mix", "0"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("weight (399, 399) is NaN"), "{stderr}");
}

#[test]
fn table_and_capacity_default_to_the_shipped_digits_from_any_folder() {
    // The shipped subset is compiled into the binary, so an empty folder is enough.
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(
        &["hopfield", "table", "--max-digits", "2", "--sweeps", "1", "--name", "t", "--device", "cpu"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("outputs/t").is_dir());
    let out = hebb(
        &["hopfield", "capacity", "--mnist", "--side", "16", "--loads", "0.05", "--rules", "hebbian", "--name", "c"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("0.050") && table.contains("13"), "13 digits stored at load 0.05 of N = 256: {table}");
}

#[test]
fn store_without_a_source_stores_sprites_of_the_embedded_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        hebb(&["hopfield", "store", "--limit", "4", "--side", "16", "--name", "emoji", "--device", "cpu"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("stored 4 patterns of 256 neurons"));
    let out = hebb(&["hopfield", "recall", "--network", "outputs/emoji", "--mix", "1", "--noise", "0.1"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sheet_32.png#"), "recalls a sprite of the sheet");
}

#[test]
fn repair_without_arguments_repairs_the_shipped_sprite_from_any_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(&["hopfield", "repair", "--side", "32", "--device", "cpu"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("landed on    pattern 0"), "{report}");
    assert!(dir.path().join("outputs/repair/strip.png").is_file());
}
