//! `hebb hopfield repair` end to end on a generated picture.

use std::path::Path;
use std::process::Command;

use image::{Rgba, RgbaImage};

fn hebb(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hebb")).args(args).current_dir(cwd).output().unwrap()
}

/// A 48-px picture: a ring and a bar, black on white.
fn write_picture(path: &Path) {
    let picture = RgbaImage::from_fn(48, 48, |x, y| {
        let (dx, dy) = (x as f32 - 24.0, y as f32 - 24.0);
        let r = (dx * dx + dy * dy).sqrt();
        if (12.0..18.0).contains(&r) || (x > 20 && x < 28 && y > 4 && y < 44) { Rgba([0, 0, 0, 255]) } else { Rgba([255, 255, 255, 255]) }
    });
    picture.save(path).unwrap();
}

#[test]
fn repair_restores_a_corrupted_picture_and_writes_its_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("ring.png");
    write_picture(&picture);
    for (name, dynamics, temperature) in [("async", "async", "0"), ("sync", "sync", "0"), ("dense", "dense", "0"), ("annealed", "async", "0.3")] {
        let out = hebb(
            &["hopfield", "repair", "--image", "ring.png", "--side", "32", "--noise", "0.25", "--dynamics", dynamics, "--temperature", temperature, "--name", name, "--device", "cpu"],
            dir.path(),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let run = dir.path().join("outputs").join(name);
        let strip = image::open(run.join("strip.png")).unwrap();
        assert_eq!((strip.width(), strip.height()), (3 * 256 + 32, 256 + 16));
        let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["accuracy_after"].as_f64().unwrap(), 1.0, "{summary}");
        assert!((summary["accuracy_before"].as_f64().unwrap() - 0.75).abs() < 1e-3);
        assert_eq!(summary["landed_on"], "pattern 0");
        assert!(summary["energy_after"].as_f64().unwrap() < summary["energy_before"].as_f64().unwrap());
        let gif = std::fs::File::open(run.join("recall.gif")).unwrap();
        let frames = image::AnimationDecoder::into_frames(image::codecs::gif::GifDecoder::new(std::io::BufReader::new(gif)).unwrap());
        assert!(frames.count() >= 2, "the GIF shows the recall");
    }
    // Occluded: the bottom half set to black comes back.
    let out = hebb(&["hopfield", "repair", "--image", "ring.png", "--side", "32", "--corruption", "bottom-half", "--name", "half", "--device", "cpu"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs/half/summary.json")).unwrap()).unwrap();
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
    let out = hebb(&["hopfield", "repair", "--image", "ring.png", "--corruption", "rectangle", "--rect", "60,0,8,8", "--device", "cpu"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("does not fit"), "{stderr}");
    let out = hebb(&["hopfield", "repair", "--image", "ring.png", "--also", "ring.png", "--rule", "pseudo-inverse", "--device", "cpu"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("linearly dependent"), "{stderr}");
}
