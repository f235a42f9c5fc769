//! MNIST's IDX files, raw or gzip-compressed: big-endian u32 magic (0x803 images, 0x801
//! labels), then each dimension as a big-endian u32, then `u8` values row-major.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use image::{Rgba, RgbaImage};

use super::pixels::{read_input, to_planar};
use super::{ImageSet, Item};
use crate::config::{ColorMode, MnistConfig};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// An IDX image file: `count` images of `rows x columns` grey pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub columns: usize,
    pub pixels: Vec<u8>,
}

/// Reads a file, inflating it when it starts with the gzip magic bytes.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_input(path)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("cannot decompress {}", path.display()))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses the header (magic and dimensions) and returns the dimensions and the payload.
fn parse_idx<'a>(bytes: &'a [u8], magic: u32, path: &Path) -> Result<(Vec<usize>, &'a [u8])> {
    let word =
        |at: usize| -> Option<u32> { bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) };
    let found = word(0).with_context(|| format!("{} is too short to be an IDX file", path.display()))?;
    if found != magic {
        bail!(
            "{} is not an IDX file of the expected kind: magic {found:#010x}, expected {magic:#010x}",
            path.display()
        );
    }
    let ndims = (magic & 0xff) as usize;
    let dims = (0..ndims)
        .map(|d| word(4 + 4 * d).map(|v| v as usize))
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("{} ends inside its header", path.display()))?;
    let payload = &bytes[4 + 4 * ndims..];
    let expected: usize = dims.iter().product();
    if payload.len() != expected {
        bail!(
            "{} holds {} bytes of data, but its header ({dims:?}) announces {expected}",
            path.display(),
            payload.len()
        );
    }
    Ok((dims, payload))
}

/// Reads an IDX image file.
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_maybe_gz(path)?;
    let (dims, payload) = parse_idx(&bytes, IMAGES_MAGIC, path)?;
    if dims[1] == 0 || dims[2] == 0 {
        bail!("{} declares images of {} x {} pixels; expected at least 1 x 1", path.display(), dims[1], dims[2]);
    }
    Ok(IdxImages { count: dims[0], rows: dims[1], columns: dims[2], pixels: payload.to_vec() })
}

/// Reads an IDX label file.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_maybe_gz(path)?;
    let (_, payload) = parse_idx(&bytes, LABELS_MAGIC, path)?;
    Ok(payload.to_vec())
}

/// Loads MNIST digits (ink is bright, background black) with their labels.
pub fn load(config: &MnistConfig, side: usize, color: ColorMode) -> Result<ImageSet> {
    let images = read_images(&config.images)?;
    let labels = match &config.labels {
        Some(path) => {
            let labels = read_labels(path)?;
            if labels.len() != images.count {
                bail!(
                    "{} has {} labels but {} has {} images",
                    path.display(),
                    labels.len(),
                    config.images.display(),
                    images.count
                );
            }
            Some(labels)
        }
        None => None,
    };
    let count = if config.limit > 0 { config.limit.min(images.count) } else { images.count };
    let plane = images.rows * images.columns;
    let name = config.images.display().to_string();
    let items = (0..count)
        .map(|i| {
            let grey = &images.pixels[i * plane..(i + 1) * plane];
            let rgba = RgbaImage::from_fn(images.columns as u32, images.rows as u32, |x, y| {
                let v = grey[y as usize * images.columns + x as usize];
                Rgba([v, v, v, 255])
            });
            let item =
                Item { source: format!("{name}#{i}"), label: labels.as_ref().map(|l| l[i].to_string()), name: None };
            (item, to_planar(rgba, side, color))
        })
        .collect();
    Ok(ImageSet::new(side, color, items, Vec::new())?.with_source_side(images.rows.max(images.columns)))
}
