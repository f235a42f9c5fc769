//! `hebb train`, `hebb embed --shard I/N` in parallel processes and `hebb map`, against
//! `hebb encode` in one process, on an image folder with an undecodable file in it. The features
//! are whitened (`features.whiten_axes`), fitted once by `hebb train` and applied by every shard.
//! The canvas is small enough (7-px sprites, no map page) that `hebb map` loads the images at 7 px
//! for it, and the neighbour grid's few items again at `data.image_size`; `hebb train` holds only
//! its 12-image training sample at that size.

use std::path::Path;
use std::process::Command;

use image::{Rgb, RgbImage};

use crate::common::hebb;

/// `root/class{0,1,2}/img{k}.png` (7 each, 16 px, a seeded colour pattern per image) and one file
/// that is not an image in class 1; returns the config's path.
fn write_folder_run(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("images");
    for class in 0..3u32 {
        let folder = root.join(format!("class{class}"));
        std::fs::create_dir_all(&folder).unwrap();
        for k in 0..7u32 {
            let image = RgbImage::from_fn(16, 16, |x, y| {
                let v = (x * (class + 1) * 13 + y * (k + 2) * 7 + class * 50) % 256;
                Rgb([v as u8, (v * 3 % 256) as u8, (255 - v) as u8])
            });
            image.save(folder.join(format!("img{k}.png"))).unwrap();
        }
    }
    std::fs::write(root.join("class1/broken.png"), b"not a png").unwrap();
    let config = dir.join("folder.toml");
    let text = format!(
        r#"name = "sharded"
output_dir = "{out}"
[data]
image_size = 16
[data.folder]
root = "{root}"
[encoder]
channels = [4, 4, 8, 8]
[features]
whiten_axes = 16
[training]
batch_size = 4
filter_min_images = 0
sample = 12
[map]
n_neighbors = 5
epochs = 40
[clusters]
n_clusters = 3
[render]
canvas_size = 60
margin = 10
html = false
neighbour_rows = 3
cell_size = 16
"#,
        out = dir.join("outputs").display(),
        root = root.display()
    );
    std::fs::write(&config, text).unwrap();
    config
}

fn succeeded(out: std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn four_shards_at_once_merge_to_the_single_process_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_folder_run(dir.path());
    let config = config.to_str().unwrap();
    let run = dir.path().join("outputs/sharded");
    let run_arg = run.to_str().unwrap();
    succeeded(hebb(&["train", "--config", config, "--device", "cpu", "--quiet"], dir.path()));
    assert!(run.join("encoder.bpk").is_file() && !run.join("features.npy").exists());

    // A shard killed at once leaves no complete shard behind; the four then run at the same time.
    let mut killed = Command::new(env!("CARGO_BIN_EXE_hebb"))
        .args(["embed", "--run", run_arg, "--shard", "1/4", "--device", "cpu", "--quiet"])
        .spawn()
        .unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let children: Vec<_> = (0..4)
        .map(|i| {
            let shard = format!("{i}/4");
            Command::new(env!("CARGO_BIN_EXE_hebb"))
                .args(["embed", "--run", run_arg, "--shard", &shard, "--device", "cpu", "--quiet"])
                .output()
        })
        .collect();
    for child in children {
        succeeded(child.unwrap());
    }
    let summary = succeeded(hebb(&["map", "--run", run_arg, "--device", "cpu", "--quiet"], dir.path()));
    assert!(summary.contains("items        21 (1 skipped)"), "{summary}");
    assert!(!run.join("shards").exists(), "the merge consumed the shards");

    succeeded(hebb(&["encode", "--config", config, "--name", "single", "--device", "cpu", "--quiet"], dir.path()));
    let single = dir.path().join("outputs/single");
    for file in ["features.npy", "items.csv", "map.csv"] {
        let (a, b) = (std::fs::read(run.join(file)).unwrap(), std::fs::read(single.join(file)).unwrap());
        assert!(a == b, "{file} differs between the sharded and the single-process run");
    }
    // The neighbour grid shows the same images at the same size from the images loaded again.
    let grid = |run: &Path| std::fs::read(run.join("neighbours.png")).unwrap();
    assert!(grid(&run) == grid(&single), "the neighbour grids differ");
    let canvas = image::open(run.join("canvas.png")).unwrap();
    assert_eq!((canvas.width(), canvas.height()), (60, 60));
    let items = std::fs::read_to_string(run.join("items.csv")).unwrap();
    assert_eq!(items.lines().count(), 22, "21 images, the broken file skipped, plus the header");
    // Both runs name the skipped file and why in skipped.csv.
    for folder in [&run, &single] {
        let skipped = std::fs::read_to_string(folder.join("skipped.csv")).unwrap();
        let lines: Vec<&str> = skipped.lines().collect();
        assert_eq!(lines[0], "source,reason");
        assert!(lines.len() == 2 && lines[1].contains("class1/broken.png,"), "{skipped}");
    }

    // A re-run of one shard, then of the merge, gives the same folder again.
    succeeded(hebb(&["embed", "--run", run_arg, "--shard", "0/1", "--device", "cpu", "--quiet"], dir.path()));
    succeeded(hebb(&["map", "--run", run_arg, "--device", "cpu", "--quiet"], dir.path()));
    assert_eq!(std::fs::read(run.join("features.npy")).unwrap(), std::fs::read(single.join("features.npy")).unwrap());

    // A data set image queried as a file goes through the saved whitening as the shards did: it
    // finds itself first, at similarity 1.
    let image = dir.path().join("images/class1/img3.png");
    let table = succeeded(hebb(
        &["query", "--run", run_arg, "--image", image.to_str().unwrap(), "--device", "cpu"],
        dir.path(),
    ));
    let first: Vec<&str> = table.lines().nth(2).unwrap().split_whitespace().collect();
    assert!(first.last().unwrap().ends_with("class1/img3.png"), "{table}");
    assert!((first[1].parse::<f32>().unwrap() - 1.0).abs() < 1e-5, "{table}");

    // Missing and mixed shards are refused by name.
    succeeded(hebb(&["embed", "--run", run_arg, "--shard", "0/2", "--device", "cpu", "--quiet"], dir.path()));
    // A map refuses while a shard writer holds the folder (here the test, as `hebb embed` does),
    // and a shard writer refuses while a map does: no shard is deleted that the map did not merge.
    let marker = std::fs::File::open(run.join(".hebb-run")).unwrap();
    marker.lock_shared().unwrap();
    let out = hebb(&["map", "--run", run_arg, "--device", "cpu", "--quiet"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("in use") && run.join("shards").is_dir(), "{stderr}");
    marker.unlock().unwrap();
    marker.lock().unwrap();
    let out = hebb(&["embed", "--run", run_arg, "--shard", "1/2", "--device", "cpu", "--quiet"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("being mapped"), "{stderr}");
    drop(marker);

    let out = hebb(&["map", "--run", run_arg, "--device", "cpu", "--quiet"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("1/2") && stderr.contains("missing"), "{stderr}");
    let out = hebb(&["embed", "--run", dir.path().to_str().unwrap(), "--shard", "0/2"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("run `hebb train` first"), "{stderr}");
}

#[test]
fn the_folder_bench_runs_the_three_stages_and_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["bench", "folder", "--images", "24", "--classes", "3", "--image-size", "16", "--feature-grid", "1"];
    let out = Command::new(env!("CARGO_BIN_EXE_hebb"))
        .args(args)
        .args(["--training-sample", "16", "--shards", "2", "--device", "cpu", "--quiet"])
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let table = succeeded(out);
    for line in ["hebb train", "hebb embed --shard 0/2", "hebb embed --shard 1/2", "hebb map", "  neighbours"] {
        assert!(table.contains(line), "{line} missing from\n{table}");
    }
    assert!(table.contains("on 24 generated") && table.contains("480 features"), "{table}");
    assert!(table.contains("peak resident memory of hebb map"), "{table}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "the bench removed its folder");
}
