//! STL-10, binary version (`stl10_binary.tar.gz` from <https://cs.stanford.edu/~acoates/stl10/>,
//! unpacked): `{split}_X.bin` holds 96x96 RGB images of 27,648 bytes each, the red plane, then
//! green, then blue, each column-major; `{split}_y.bin` one label byte (1 to 10) per image, for
//! the `train` and `test` splits; `unlabeled_X.bin` has no labels; `class_names.txt` names the
//! classes in label order.

use anyhow::{Result, bail};

use super::pixels::to_planar;
use super::records::{Records, class_names, rgb_planes};
use super::{ImageSet, Item};
use crate::config::{ColorMode, Split, Stl10Config};

/// Side of an STL-10 image.
const SIDE: usize = 96;

/// The split's file-name prefix.
fn prefix(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "test",
        Split::Unlabeled => "unlabeled",
    }
}

/// Loads an STL-10 split, with its class names as labels unless it is the unlabeled one.
pub fn load(config: &Stl10Config, side: usize, color: ColorMode) -> Result<ImageSet> {
    let dir = &config.path;
    let images_file = dir.join(format!("{}_X.bin", prefix(config.split)));
    if !images_file.is_file() {
        bail!(
            "key `data.stl10.path`: {} has no {} (expected the unpacked binary version)",
            dir.display(),
            images_file.display()
        );
    }
    let mut images = Records::open(&images_file, 3 * SIDE * SIDE, "96 x 96 RGB pixels")?;
    let labels = if config.split == Split::Unlabeled {
        None
    } else {
        let names_file = dir.join("class_names.txt");
        let names = class_names(&names_file)?;
        let labels_file = dir.join(format!("{}_y.bin", prefix(config.split)));
        let mut labels = Records::open(&labels_file, 1, "a label byte")?;
        if labels.count != images.count {
            bail!(
                "{} has {} labels but {} has {} images",
                labels_file.display(),
                labels.count,
                images_file.display(),
                images.count
            );
        }
        let mut byte = [0u8];
        let mut out = Vec::with_capacity(labels.count);
        for at in 0..labels.count {
            labels.read(&mut byte)?;
            // Labels run from 1; 0, or one past the list, names no class.
            match names.get((byte[0] as usize).wrapping_sub(1)) {
                Some(name) => out.push(name.clone()),
                None => bail!(
                    "{} record {at} has label {}, but {} lists classes 1 to {}",
                    labels_file.display(),
                    byte[0],
                    names_file.display(),
                    names.len()
                ),
            }
        }
        Some(out)
    };
    let mut record = vec![0u8; images.len];
    let mut set = Vec::new();
    for at in 0..images.kept(config.limit) {
        images.read(&mut record)?;
        let label = labels.as_ref().map(|l| l[at].clone());
        let item = Item { source: format!("{}#{at}", images_file.display()), label, name: None };
        set.push((item, to_planar(rgb_planes(&record, SIDE, true), side, color)));
    }
    Ok(ImageSet::new(side, color, set, Vec::new())?.with_source_side(SIDE))
}
