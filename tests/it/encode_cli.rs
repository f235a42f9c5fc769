//! `hebb encode` end to end through the binary, on a tiny sprite sheet.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{write_sheet, write_tiny_config};

fn hebb(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebb")).args(args).current_dir(cwd).output().unwrap()
}

/// Parses a `.npy` f32 matrix: (rows, cols, values).
fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    let shape = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let dims: Vec<usize> = shape.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap()).collect();
    let values = bytes[10 + header_len..].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    (dims[0], dims[1], values)
}

#[test]
fn encode_writes_a_complete_run_folder_and_reruns_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    let sprites = write_sheet(&sheet, 4, 3, 8);
    let config = write_tiny_config(dir.path(), &sheet, "epochs = 2");
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("device: cpu"), "{stderr}");
    assert!(stderr.contains("L4 energy="), "statistics lines: {stderr}");

    let run = dir.path().join("outputs/tiny");
    for file in ["config.toml", "features.npy", "items.csv", "training_log.csv", "encoder.bpk", "summary.json"] {
        assert!(run.join(file).is_file(), "missing {file}");
    }
    // 32 px -> 16 -> 8 -> 4 -> 2; last layer 8 channels: 8 x 2 x 2 features.
    let (rows, cols, values) = read_npy(&run.join("features.npy"));
    assert_eq!((rows, cols), (sprites, 32));
    for row in values.chunks(cols) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row norm {norm}");
    }
    let items = std::fs::read_to_string(run.join("items.csv")).unwrap();
    assert_eq!(items.lines().count(), sprites + 1);
    assert!(items.starts_with("index,source,label\n0,"));
    let steps = 2 * sprites.div_ceil(4);
    let log = std::fs::read_to_string(run.join("training_log.csv")).unwrap();
    assert_eq!(log.lines().count(), 1 + steps * 4);
    let last = log.lines().last().unwrap();
    assert!(last.starts_with(&format!("{steps},2,4,")), "{last}");
    // The resolved config rebuilds the same run.
    let resolved = hebb::config::EncodeConfig::load(Some(&run.join("config.toml"))).unwrap();
    assert_eq!(resolved.training.epochs, 2);

    // A quiet re-run with the same seed replaces the folder with identical features.
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("energy="), "--quiet silences the lines");
    let (_, _, again) = read_npy(&run.join("features.npy"));
    assert_eq!(values, again, "same seed, same features");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, vec!["tiny".to_string()]);
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
}
