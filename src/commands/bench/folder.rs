//! `hebb bench folder`: all of `hebb encode` on a folder of JPEGs laid out as Tiny ImageNet's
//! training set (`train/<wnid>/images/<wnid>_<i>.JPEG`), which the bench writes first: seeded
//! 64-px pictures, each class a colour and a shape of its own at varying places, sizes and
//! shades, with noise. The run is this binary's own `hebb encode`, in a process of its own (as a
//! user runs it), with the default settings at 96 px on every image; the table gives each stage's
//! time from its `summary.json` (loading the JPEGs, training, extraction, neighbours, map,
//! K-Means, renders, writing), the total and the run's peak resident memory. With `--shards N`
//! the run is `hebb train`, `hebb embed` on each of N shards in turn and `hebb map` (the path of
//! a set too large for one process), each process timed and its peak memory given. The tree and the run
//! live in a temporary folder that is removed afterwards (and on an interrupt).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use image::{Rgb, RgbImage};
use rayon::prelude::*;

use super::timed;
use crate::compute::hash::pcg3;
use crate::compute::memory;
use crate::run::{RunFolder, SUMMARY_FILE};

/// The side of the generated JPEGs, as Tiny ImageNet's.
const SIDE: u32 = 64;

/// What the bench writes and runs.
pub(crate) struct FolderPlan {
    pub images: usize,
    pub classes: usize,
    /// `data.image_size` of the run.
    pub image_size: usize,
    /// `features.grid` of the run.
    pub feature_grid: usize,
    /// `training.sample` of the run (0: every image).
    pub training_sample: usize,
    /// 0: one `hebb encode`; else `hebb train`, `hebb embed` on each of this many shards in
    /// turn, and `hebb map`, each a process of its own.
    pub shards: usize,
}

/// A finished child process: its time and its peak resident memory.
struct Finished {
    seconds: f64,
    peak: Option<u64>,
}

/// Runs this binary with `args` (quietly, on `device`) to its end, reading its peak memory while
/// it runs (the kernel's high-water mark only rises).
fn run_hebb(args: &[&str], device: &str) -> Result<Finished> {
    let hebb = std::env::current_exe().context("cannot find the hebb binary")?;
    let started = Instant::now();
    let mut child = Command::new(&hebb)
        .arg("--quiet")
        .args(args)
        .args(["--device", device])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", hebb.display()))?;
    let mut peak = None;
    let (mut sampled_for, sample) = (Duration::ZERO, Duration::from_millis(100));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak = memory::peak_resident_of(&child.id().to_string()).or(peak);
        std::thread::sleep(sample);
        sampled_for += sample;
    };
    // A process that ends within a second may end before a reading sees its peak.
    let peak = peak.filter(|_| sampled_for >= Duration::from_secs(1));
    if !status.success() {
        let mut stderr = String::new();
        child.stderr.take().map(|mut e| std::io::Read::read_to_string(&mut e, &mut stderr));
        bail!("hebb {} failed on the generated folder: {}", args[0], stderr.trim());
    }
    Ok(Finished { seconds: started.elapsed().as_secs_f64(), peak })
}

/// Writes the tree, runs `hebb encode` on it (or, with shards, `hebb train`, `hebb embed` and
/// `hebb map`) with `--device device`, and returns the printed table.
pub(crate) fn run(plan: &FolderPlan, device: &str) -> Result<String> {
    let work = RunFolder::create(&std::env::temp_dir().join("hebb-bench-folder"))?;
    let root = work.path("train");
    let (_, write_s) = timed(|| write_tree(&root, plan.images, plan.classes))?;
    let config = work.path("config.toml");
    let mut text = format!(
        "name = \"run\"\noutput_dir = {}\n[data]\nimage_size = {}\n[data.folder]\nroot = {}\nper_class = 0\n",
        toml_string(&work.path("outputs"))?,
        plan.image_size,
        toml_string(&root)?
    );
    text.push_str(&format!("[features]\ngrid = {}\n", plan.feature_grid));
    if plan.training_sample > 0 {
        text.push_str(&format!("[training]\nsample = {}\n", plan.training_sample));
    }
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
    let config = config.to_str().with_context(|| format!("{} is not UTF-8", config.display()))?;
    let run_dir = work.path("outputs").join("run");
    let run_arg = run_dir.to_str().with_context(|| format!("{} is not UTF-8", run_dir.display()))?;
    let processes: Vec<(String, Finished)> = if plan.shards == 0 {
        vec![("hebb encode".into(), run_hebb(&["encode", "--config", config], device)?)]
    } else {
        let mut processes = vec![("hebb train".into(), run_hebb(&["train", "--config", config], device)?)];
        for shard in 0..plan.shards {
            let part = format!("{shard}/{}", plan.shards);
            processes.push((
                format!("hebb embed --shard {part}"),
                run_hebb(&["embed", "--run", run_arg, "--shard", &part], device)?,
            ));
        }
        processes.push(("hebb map".into(), run_hebb(&["map", "--run", run_arg], device)?));
        processes
    };
    let summary_path = run_dir.join(SUMMARY_FILE);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&summary_path).with_context(|| format!("cannot read {}", summary_path.display()))?,
    )?;
    let how = if plan.shards == 0 {
        "hebb encode".to_string()
    } else {
        format!("hebb train, hebb embed on {} shards in turn, hebb map", plan.shards)
    };
    let mut table = format!(
        "bench folder: {how} on {} generated {SIDE}-px JPEGs in {} class folders (Tiny ImageNet's layout), \
         at {} px, {} features, --device {device}\n",
        summary["items"], plan.classes, plan.image_size, summary["feature_dim"]
    );
    let row = |table: &mut String, what: &str, seconds: f64| table.push_str(&format!("{what:<60} {seconds:>10.2} s\n"));
    row(&mut table, "writing the JPEGs (before the run, not counted)", write_s);
    let last = processes.len() - 1;
    for (at, (process, finished)) in processes.iter().enumerate() {
        if at == last {
            // The last process (encode or map) reports its stages.
            for stage in summary["stages"].as_array().into_iter().flatten() {
                let name = stage[0].as_str().unwrap_or("?");
                row(&mut table, &format!("  {name}"), stage[1].as_f64().unwrap_or(f64::NAN));
            }
        }
        row(&mut table, &format!("{process} (its process, start to exit)"), finished.seconds);
    }
    if plan.shards > 0 {
        row(&mut table, "all of them", processes.iter().map(|(_, f)| f.seconds).sum());
    }
    table.push_str(&format!(
        "{:<60} {:>10}\n",
        "images skipped as unreadable",
        summary["skipped"].as_u64().unwrap_or(0)
    ));
    for (process, finished) in &processes {
        let peak = finished.peak.map_or("(under 1 s)".into(), |peak| memory::human(peak as f64));
        table.push_str(&format!("{:<60} {peak:>10}\n", format!("peak resident memory of {process}")));
    }
    Ok(table)
}

/// A TOML string holding `path`.
fn toml_string(path: &Path) -> Result<String> {
    let text = path.to_str().with_context(|| format!("{} is not UTF-8", path.display()))?;
    Ok(serde_json::to_string(text)?)
}

/// Writes `count` pictures spread evenly over `classes` class folders under `root`.
fn write_tree(root: &Path, count: usize, classes: usize) -> Result<()> {
    for class in 0..classes {
        let folder = root.join(wnid(class)).join("images");
        std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    }
    (0..count).into_par_iter().try_for_each(|item| {
        let class = item % classes;
        let path = root.join(wnid(class)).join("images").join(format!("{}_{}.JPEG", wnid(class), item / classes));
        let file = std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 90);
        picture(class, item as u32)
            .write_with_encoder(encoder)
            .with_context(|| format!("cannot write {}", path.display()))
    })
}

/// Tiny ImageNet's kind of class folder name.
fn wnid(class: usize) -> String {
    format!("n{class:08}")
}

/// Item `item` of class `class`: a shape of the class's own (a disc, a square, a ring or a bar,
/// in the class's colour) at a seeded place and size on a background of another seeded shade,
/// with noise.
fn picture(class: usize, item: u32) -> RgbImage {
    let draw = |k: u32| pcg3(item, class as u32, k);
    let unit = |k: u32| draw(k) as f32 / u32::MAX as f32;
    let hue = |k: u32| [(k * 97 % 256) as f32, (k * 57 % 256) as f32, (k * 173 % 256) as f32];
    let colour = hue(class as u32 + 1);
    let ground = hue(draw(1) % 64 + 300);
    let (cx, cy) = (16.0 + 32.0 * unit(2), 16.0 + 32.0 * unit(3));
    let radius = 8.0 + 10.0 * unit(4);
    let shape = class % 4;
    RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let inside = match shape {
            0 => dx * dx + dy * dy <= radius * radius,
            1 => dx.abs() <= radius && dy.abs() <= radius,
            2 => ((dx * dx + dy * dy).sqrt() - radius).abs() <= 3.0,
            _ => dx.abs() <= radius * 1.5 && dy.abs() <= radius / 3.0,
        };
        let noise = (pcg3(item, x, y + 1000) % 41) as f32 - 20.0;
        let base = if inside { colour } else { ground };
        Rgb(base.map(|c| (c + noise).clamp(0.0, 255.0) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_has_tiny_imagenets_layout_and_every_class_its_own_picture() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), 9, 3).unwrap();
        let mut files: Vec<String> = walk(dir.path());
        files.sort();
        assert_eq!(files.len(), 9);
        assert_eq!(files[0], "n00000000/images/n00000000_0.JPEG");
        let image = image::open(dir.path().join(&files[0])).unwrap();
        assert_eq!((image.width(), image.height()), (SIDE, SIDE));
        // Seeded: the same item is the same picture; two classes differ.
        assert_eq!(picture(1, 4), picture(1, 4));
        assert_ne!(picture(1, 4), picture(2, 4));
    }

    fn walk(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for class in std::fs::read_dir(root).unwrap() {
            let class = class.unwrap().path();
            for file in std::fs::read_dir(class.join("images")).unwrap() {
                let path = file.unwrap().path();
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
        out
    }
}
