//! hebb replaces only what it wrote: a folder or file it did not write at a run's path, and a run
//! folder that would hold or sit inside its own input, are one-line errors before any work, and
//! nothing of the user's is moved or deleted.

use std::path::Path;
use std::process::Output;

use crate::common::{hebb, write_sheet, write_tiny_config};

fn assert_refused(out: &Output, expected: &[&str]) {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected a refusal: {text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("device: ")).collect();
    assert!(lines.len() == 1 && lines[0].starts_with("error: "), "one line: {text}");
    assert!(!text.contains("loaded"), "refused before loading: {text}");
    for part in expected {
        assert!(text.contains(part), "error lacks {part:?}: {text}");
    }
}

/// Every entry under `dir`, relative, sorted: what a refused command must leave as it was.
fn tree(dir: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            entries.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    entries.sort();
    entries
}

#[test]
fn a_run_never_replaces_what_hebb_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    write_sheet(&sheet, 2, 2, 8);
    let config = write_tiny_config(dir.path(), &sheet, "");
    let config = config.to_str().unwrap();

    // A folder of the user's where the run would go, and a file.
    let keep = dir.path().join("out/keep");
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::write(keep.join("precious.txt"), "mine").unwrap();
    std::fs::write(dir.path().join("out/file"), "also mine").unwrap();
    let before = tree(dir.path());
    for command in ["encode", "train"] {
        for name in ["keep", "file"] {
            let args = [command, "--config", config, "--output-dir", "out", "--name", name, "--device", "cpu"];
            assert_refused(&hebb(&args, dir.path()), &[&format!("out/{name} exists"), "hebb replaces only"]);
        }
    }
    assert_eq!(tree(dir.path()), before, "nothing moved, written or deleted");

    // A run hebb wrote is replaced by its re-run.
    let args = ["encode", "--config", config, "--output-dir", "out", "--name", "mine", "--device", "cpu", "--quiet"];
    for _ in 0..2 {
        let out = hebb(&args, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(std::fs::read_to_string(keep.join("precious.txt")).unwrap(), "mine");

    // --keep-renders follows the same rule.
    let out = hebb(
        &["bench", "map", "--synthetic", "200", "--dim", "8", "--device", "cpu", "--keep-renders", "out/file"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("out/file exists"));
    assert_eq!(std::fs::read_to_string(dir.path().join("out/file")).unwrap(), "also mine");
}

#[test]
fn a_run_folder_never_holds_or_sits_inside_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("sb/data/good/cats");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..4u8 {
        image::RgbImage::from_pixel(8, 8, image::Rgb([i * 60, 10, 10])).save(images.join(format!("{i}.png"))).unwrap();
    }
    let config = dir.path().join("folder.toml");
    std::fs::write(
        &config,
        "name = \"x\"\n[data]\nimage_size = 16\n[data.folder]\nroot = \"sb/data/good\"\n[encoder]\nchannels = [4, 4, 8, 8]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let before = tree(dir.path());
    // The run folder would be the image folder itself, or inside it.
    for (output_dir, name) in [("sb/data", "good"), ("sb/data/good", "run"), ("./sb/data/../data/good/cats", "r")] {
        let args = ["encode", "--config", config, "--output-dir", output_dir, "--name", name, "--device", "cpu"];
        assert_refused(&hebb(&args, dir.path()), &["data.folder.root"]);
    }
    assert_eq!(tree(dir.path()), before, "the images are all still there, and nothing was written");

    // A sheet inside the run folder it would write.
    let sheet = dir.path().join("out/run/sheet.png");
    std::fs::create_dir_all(sheet.parent().unwrap()).unwrap();
    write_sheet(&sheet, 2, 2, 8);
    let tiny = write_tiny_config(dir.path(), &sheet, "");
    let args =
        ["encode", "--config", tiny.to_str().unwrap(), "--output-dir", "out", "--name", "run", "--device", "cpu"];
    assert_refused(&hebb(&args, dir.path()), &["data.sheet.path", "inside the run folder"]);
    assert!(sheet.is_file());
}
