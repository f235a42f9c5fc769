//! CIFAR-10 and CIFAR-100, binary version (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`
//! from <https://www.cs.toronto.edu/~kriz/cifar.html>, unpacked): records of a label byte (two
//! for CIFAR-100: coarse, then fine) and 3,072 bytes of 32x32 pixels, the red plane, then green,
//! then blue, each row-major. CIFAR-10's training split is `data_batch_1.bin` to
//! `data_batch_5.bin`, its test split `test_batch.bin`, its class names `batches.meta.txt`;
//! CIFAR-100's are `train.bin`, `test.bin` and `fine_label_names.txt` /
//! `coarse_label_names.txt`.

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::pixels::to_planar;
use super::records::{Records, class_names, rgb_planes};
use super::{ImageSet, Item};
use crate::config::{CifarConfig, CifarLabels, ColorMode, Split};

/// Side of a CIFAR image.
const SIDE: usize = 32;

/// Bytes of one image: three planes of 32 x 32.
const PIXELS: usize = 3 * SIDE * SIDE;

/// Which CIFAR a folder holds, found by its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ten,
    Hundred,
}

/// The folder's kind, its split's files in order and its class names' file (the config refuses
/// an `unlabeled` split).
fn layout(config: &CifarConfig) -> Result<(Kind, Vec<PathBuf>, PathBuf)> {
    let dir = &config.path;
    let kind = if dir.join("batches.meta.txt").is_file() {
        Kind::Ten
    } else if dir.join("fine_label_names.txt").is_file() {
        Kind::Hundred
    } else {
        bail!(
            "key `data.cifar.path`: {} holds neither CIFAR-10's batches.meta.txt nor CIFAR-100's fine_label_names.txt \
             (expected the unpacked binary version)",
            dir.display()
        );
    };
    let (files, names) = match (kind, config.split) {
        (Kind::Ten, Split::Test) => (vec![dir.join("test_batch.bin")], dir.join("batches.meta.txt")),
        (Kind::Ten, _) => {
            ((1..=5).map(|b| dir.join(format!("data_batch_{b}.bin"))).collect(), dir.join("batches.meta.txt"))
        }
        (Kind::Hundred, _) => {
            let file = dir.join(if config.split == Split::Test { "test.bin" } else { "train.bin" });
            let names = match config.labels {
                CifarLabels::Fine => "fine_label_names.txt",
                CifarLabels::Coarse => "coarse_label_names.txt",
            };
            (vec![file], dir.join(names))
        }
    };
    let files: Vec<PathBuf> = files.into_iter().filter(|f| f.is_file()).collect();
    if files.is_empty() {
        bail!("key `data.cifar.split`: {} has no file of the {:?} split", dir.display(), config.split);
    }
    Ok((kind, files, names))
}

/// Loads a CIFAR split with its class names as labels.
pub fn load(config: &CifarConfig, side: usize, color: ColorMode) -> Result<ImageSet> {
    let (kind, files, names_file) = layout(config)?;
    let names = class_names(&names_file)?;
    let (label_bytes, label_at) = match (kind, config.labels) {
        (Kind::Ten, _) => (1, 0),
        (Kind::Hundred, CifarLabels::Coarse) => (2, 0),
        (Kind::Hundred, CifarLabels::Fine) => (2, 1),
    };
    let mut images = Vec::new();
    let mut record = vec![0u8; label_bytes + PIXELS];
    for file in &files {
        let mut records = Records::open(file, record.len(), "label and 32 x 32 RGB pixels")?;
        let wanted = if config.limit > 0 { config.limit - images.len() } else { 0 };
        for at in 0..records.kept(wanted) {
            records.read(&mut record)?;
            let Some(label) = names.get(record[label_at] as usize).cloned() else {
                bail!(
                    "{} record {at} has label {}, but {} lists {} classes",
                    file.display(),
                    record[label_at],
                    names_file.display(),
                    names.len()
                );
            };
            let item = Item { source: format!("{}#{at}", file.display()), label: Some(label), name: None };
            images.push((item, to_planar(rgb_planes(&record[label_bytes..], SIDE, false), side, color)));
        }
        if config.limit > 0 && images.len() >= config.limit {
            break;
        }
    }
    Ok(ImageSet::new(side, color, images, Vec::new())?.with_source_side(SIDE))
}
