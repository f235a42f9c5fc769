//! `hebb query`: the most similar images to a data set item, or to any image file, from a
//! finished run folder. A new image is encoded by the saved encoder exactly as the training data
//! was (same resize, channels and alpha handling, from the run's `config.toml`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::compute::device::ComputeDevice;
use crate::data::pixels::{decode_file, to_planar};
use crate::data::{ImageSet, Item};
use crate::encoder::{HebbianEncoder, features};
use crate::neighbours;
use crate::progress::Progress;
use crate::render;
use crate::run::{ENCODER_FILE, FEATURES_FILE, Run, check_writable, write_atomically};

/// What to look up.
#[derive(Debug, Clone)]
pub(crate) enum QueryTarget {
    /// A data set item by index.
    Item(usize),
    /// Any image file.
    Image(PathBuf),
}

/// Encodes an image file with the run's saved encoder, as the run's images were.
pub(crate) fn encode_image(run: &Run, path: &Path, device: &ComputeDevice) -> Result<Vec<f32>> {
    let side = run.config.data.image_size as usize;
    let color = run.config.data.color;
    let planar = to_planar(decode_file(path)?, side, color);
    let single = ImageSet::new(
        side,
        color,
        vec![(Item { source: path.display().to_string(), label: None, name: None }, planar)],
        Vec::new(),
    )?;
    let encoder = HebbianEncoder::load(&run.config, &run.dir.join(ENCODER_FILE), &device.device)?;
    // At the run's batch size (the image padded with copies of itself), so that its features are
    // computed with the same product shapes as the run's, bit for bit.
    let features =
        features::extract(&encoder, &single, run.config.training.batch_size, &device.device, Progress::Hidden)?;
    if features.dim != run.features.dim {
        bail!("the saved encoder gives {} features, {} has {}", features.dim, FEATURES_FILE, run.features.dim);
    }
    Ok(features.values)
}

/// One answer row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Match {
    pub index: usize,
    pub similarity: f32,
}

/// The `top` most similar items (an item is not its own match).
pub(crate) fn query(run: &Run, target: &QueryTarget, top: usize, device: &ComputeDevice) -> Result<Vec<Match>> {
    let (vector, exclude) = match target {
        QueryTarget::Item(index) => {
            if *index >= run.features.rows {
                bail!("--item {index}: the run has items 0..{}", run.features.rows - 1);
            }
            (run.features.row(*index).to_vec(), Some(*index))
        }
        QueryTarget::Image(path) => (encode_image(run, path, device)?, None),
    };
    let wanted = top.saturating_add(exclude.is_some() as usize).min(run.features.rows);
    let found = neighbours::exact::search(&vector, &run.features, wanted, &device.device, Progress::Hidden)?;
    let (ids, sims) = found.row(0);
    Ok(ids
        .iter()
        .zip(sims)
        .map(|(&i, &s)| Match { index: i as usize, similarity: s })
        .filter(|m| Some(m.index) != exclude)
        .take(top)
        .collect())
}

/// The answer: a line naming the query, then a table of rank, similarity, index, label, name, source
/// (every line ends with a newline).
pub(crate) fn table(run: &Run, target: &QueryTarget, matches: &[Match]) -> String {
    let mut out = match target {
        QueryTarget::Item(index) => {
            let item = &run.items[*index];
            let label = item.label.as_deref().unwrap_or("-");
            format!("query: item {index} ({}), label {label}, source {}\n", item.name(), item.source)
        }
        QueryTarget::Image(path) => format!("query: image {}\n", path.display()),
    };
    let _ =
        writeln!(out, "{:>4}  {:>10}  {:>6}  {:<20}  {:<20}  source", "rank", "similarity", "index", "label", "name");
    for (rank, m) in matches.iter().enumerate() {
        let item = &run.items[m.index];
        let _ = writeln!(
            out,
            "{:>4}  {:>10.4}  {:>6}  {:<20}  {:<20}  {}",
            rank + 1,
            m.similarity,
            m.index,
            item.label.as_deref().unwrap_or("-"),
            item.name(),
            item.source
        );
    }
    out
}

/// Writes the query and its matches as one row of pictures (the data set is reloaded).
pub(crate) fn write_grid(run: &Run, target: &QueryTarget, matches: &[Match], path: &Path) -> Result<()> {
    // The format the file name asks for, checked before the data set is reloaded.
    let format = match image::ImageFormat::from_path(path) {
        Ok(format @ (image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::Bmp)) => format,
        _ => bail!("--grid {}: expected a file name ending in .png, .jpg or .bmp", path.display()),
    };
    check_writable(path).context("--grid")?;
    let mut all = run.load_images(Progress::Hidden)?;
    let query_index = match target {
        QueryTarget::Item(index) => *index,
        QueryTarget::Image(file) => {
            let side = all.side;
            let planar = to_planar(decode_file(file)?, side, all.color);
            all.push(Item { source: file.display().to_string(), label: None, name: None }, planar)?;
            all.len() - 1
        }
    };
    let row = vec![(query_index, matches.iter().map(|m| (m.index, m.similarity)).collect())];
    let picture = render::neighbour_grid(&all, &row, run.config.render.cell_size)?;
    let mut encoded = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut encoded), format)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    write_atomically(path, &encoded)
}
