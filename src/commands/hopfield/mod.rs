//! `hebb hopfield ...`: each command runs one experiment of [`crate::hopfield`] with its checked
//! settings and writes what it found into a run folder (atomically, as every run is written):
//! `repair` the strip, the recalled picture and the GIF of the recall; `store` a saved network;
//! `recall` answers from one; `table` and `capacity` their tables and charts.

use std::path::Path;

use anyhow::{Context, Result};
use image::codecs::gif::GifEncoder;
use image::{Delay, Frame, GrayImage, RgbaImage, imageops::FilterType};

use crate::compute::device::{ComputeDevice, read_f32};
use crate::hopfield::dynamics::Attractor;
use crate::hopfield::network::{self, Network, NetworkInfo, PatternSource};
use crate::hopfield::params::{CapacityParams, RepairParams, TableParams};
use crate::hopfield::repair::{RepairReport, repair};
use crate::hopfield::rules::{Rule, learn};
use crate::hopfield::{self, Binarise, capacity, pattern_image, pattern_silhouette, table};
use crate::render;
use crate::run::RunFolder;

/// `hebb hopfield repair`: repairs the first image and writes `strip.png` (original | corrupted |
/// recalled), `recalled.png`, `recall.gif` and `summary.json` into `run_dir`.
pub(crate) fn run_repair(settings: &RepairParams, run_dir: &Path, device: &ComputeDevice) -> Result<RepairReport> {
    let folder = RunFolder::create(run_dir)?;
    let repair = repair(settings, device)?;
    let (original, cue, recall) = (&repair.original, &repair.cue, &repair.recall);
    let shown = (settings.side * (256 / settings.side).max(1)).max(settings.side);
    let gap = 8;
    let mut strip = RgbaImage::from_pixel(3 * shown + 4 * gap, shown + 2 * gap, image::Rgba([128, 128, 128, 255]));
    for (i, state) in [original, cue, &recall.state].into_iter().enumerate() {
        let panel = upscale(&pattern_image(state, settings.side), shown);
        image::imageops::overlay(&mut strip, &panel, (gap + i as u32 * (shown + gap)) as i64, gap as i64);
    }
    strip.save_with_format(folder.path("strip.png"), image::ImageFormat::Png).context("cannot write strip.png")?;
    let recalled = if settings.binarise == Binarise::Alpha {
        pattern_silhouette(&recall.state, settings.side)
    } else {
        image::DynamicImage::ImageLuma8(pattern_image(&recall.state, settings.side)).to_rgba8()
    };
    recalled
        .save_with_format(folder.path("recalled.png"), image::ImageFormat::Png)
        .context("cannot write recalled.png")?;
    let gif = std::fs::File::create(folder.path("recall.gif")).context("cannot create recall.gif")?;
    let mut encoder = GifEncoder::new(gif);
    encoder.set_repeat(image::codecs::gif::Repeat::Infinite).context("cannot write recall.gif")?;
    let frames = recall.frames.iter().map(|state| {
        Frame::from_parts(
            upscale(&pattern_image(state, settings.side), shown),
            0,
            0,
            Delay::from_numer_denom_ms(120, 1),
        )
    });
    encoder.encode_frames(frames).context("cannot write recall.gif")?;
    drop(encoder);

    let report = repair.report(settings, run_dir);
    folder.write("summary.json", serde_json::to_string_pretty(&report)?)?;
    folder.commit()?;
    Ok(report)
}

fn upscale(picture: &GrayImage, side: u32) -> RgbaImage {
    let rgba = image::DynamicImage::ImageLuma8(picture.clone()).to_rgba8();
    image::imageops::resize(&rgba, side, side, FilterType::Nearest)
}

/// `hebb hopfield store`: learns a network from `source` and saves it in `run_dir`.
pub(crate) fn run_store(
    source: &PatternSource,
    side: u32,
    binarise: Binarise,
    rule: Rule,
    run_dir: &Path,
    device: &ComputeDevice,
) -> Result<NetworkInfo> {
    let n = hopfield::neurons(side)?;
    let random = match source {
        PatternSource::Random { count, .. } => *count as f64,
        _ => 0.0,
    };
    hopfield::check_memory("--random and --side", n, 2.0 * random * n as f64)?;
    let (patterns, sources) = network::load_patterns(source, side, binarise)?;
    let weights = read_f32(learn(rule, &patterns, &device.device)?, "the weights")?;
    let info = NetworkInfo { side, rule, binarise, sources };
    network::save(&info, &patterns, &weights, run_dir)?;
    Ok(info)
}

/// What a cue to a saved network recalls.
pub(crate) enum Cue<'a> {
    /// An image file, binarised as the network's patterns were.
    Image(&'a Path),
    /// The sign of the average of these stored patterns.
    Mixture(&'a [usize]),
}

/// `hebb hopfield recall`: the cue (with `noise` of its states flipped) recalled in the network
/// saved in `network_dir`; the report as printed.
pub(crate) fn run_recall(network_dir: &Path, cue: Cue, noise: f64, max_iterations: usize, seed: u64) -> Result<String> {
    let net = Network::open(network_dir)?;
    let cue = match cue {
        Cue::Image(image) => net.cue_from_image(image)?,
        Cue::Mixture(indices) => net.mixture(indices)?,
    };
    let cue = hopfield::flip_fraction(&cue, noise, seed)?;
    let (recall, reached) = net.recall(&cue, max_iterations, seed);
    let source = match reached {
        Attractor::Pattern(k) | Attractor::Negative(k) => format!(" ({})", net.info.sources[k]),
        Attractor::Spurious => String::new(),
    };
    let first = recall.energies[0];
    Ok(format!(
        "landed on    {reached}{source}\nsweeps       {}\nenergy       {first:.2} -> {:.2}",
        recall.iterations,
        recall.energies.last().copied().unwrap_or(first)
    ))
}

/// `hebb hopfield table`: the recall table, written as `table.txt` and `table.png`; its text.
pub(crate) fn run_table(params: &TableParams, run_dir: &Path, device: &ComputeDevice) -> Result<String> {
    // Created first, so that an output folder that cannot be written fails before any work.
    let folder = RunFolder::create(run_dir)?;
    let table = table::run(params, device)?;
    let text = table.text();
    folder.write("table.txt", &text)?;
    render::save_png(&table.heatmap()?, &folder.path("table.png"))?;
    folder.commit()?;
    Ok(text)
}

/// `hebb hopfield capacity`: the capacity curve, written as `capacity.csv` and `capacity.png`;
/// its table.
pub(crate) fn run_capacity(params: &CapacityParams, run_dir: &Path, device: &ComputeDevice) -> Result<String> {
    let folder = RunFolder::create(run_dir)?;
    let points = capacity::run(params, device)?;
    folder.write("capacity.csv", capacity::csv(&points))?;
    render::save_png(&capacity::chart(&points, &params.rules, params.neurons)?, &folder.path("capacity.png"))?;
    folder.commit()?;
    Ok(capacity::table(&points, &params.rules))
}
