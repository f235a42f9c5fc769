//! Image sources and the in-memory image set every later stage reads.
//!
//! Each source (sprite sheet, image folder, MNIST IDX) yields items with a source description
//! and an optional label; [`pixels`] brings every image to one side and channel layout. Pixels are
//! kept as `u8` (N x C x side x side, planar) so that 100,000 images fit in memory, and are turned
//! into `f32` in [0, 1] one batch at a time.

pub mod cifar;
pub(crate) mod embedded;
pub mod folder;
pub mod mnist;
pub(crate) mod pixels;
pub(crate) mod records;
pub mod sheet;
pub(crate) mod split;
pub mod stl10;

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use crate::config::{CifarConfig, ColorMode, DataConfig, DataSource, MnistConfig, Split, Stl10Config};
use crate::progress::Progress;

/// Where one image came from, what it is labelled and what it is called.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// A file path, `sheet.png#col,row` for a sprite, or `file#index` for an IDX entry.
    pub source: String,
    pub label: Option<String>,
    /// Its own name: a file's stem, or a sheet's `data.sheet.name_column` (see [`Item::name`]).
    pub name: Option<String>,
}

impl Item {
    /// What a person calls the item: its own name, else the last part of its source (the file
    /// name, `sheet.png#3,4` for a sprite, `file#17` for an IDX entry), never the folders.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.source.rsplit(['/', '\\']).next().unwrap_or(&self.source))
    }
}

/// A file left out of a data set because it could not be decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub source: String,
    pub reason: String,
}

/// Images of one size and colour mode, ready to be encoded.
#[derive(Debug, Clone)]
pub struct ImageSet {
    pub side: usize,
    /// Side of the images as they were read, when they all share one (a sheet's tiles, MNIST's
    /// 28 px): detail finer than that was made by the resize, and the map page's sprites stop
    /// there. `side` when the source does not say (a folder of images of any size).
    pub source_side: usize,
    pub color: ColorMode,
    pub items: Vec<Item>,
    /// Files that could not be decoded and were left out.
    pub skipped: Vec<Skipped>,
    pixels: Vec<u8>,
}

impl ImageSet {
    /// Builds a set from planar images (each `channels x side x side`), in item order; an error
    /// when there is none.
    pub(crate) fn new(
        side: usize,
        color: ColorMode,
        images: Vec<(Item, Vec<u8>)>,
        skipped: Vec<Skipped>,
    ) -> Result<Self> {
        let set = Self::from_images(side, color, images, skipped)?;
        if set.items.is_empty() {
            bail!("the data set is empty: no usable image was found");
        }
        Ok(set)
    }

    /// [`ImageSet::new`], allowing an empty set (a shard whose files all failed to decode).
    pub(crate) fn from_images(
        side: usize,
        color: ColorMode,
        images: Vec<(Item, Vec<u8>)>,
        skipped: Vec<Skipped>,
    ) -> Result<Self> {
        let per_image = color.channels() * side * side;
        let mut set = Self {
            side,
            source_side: side,
            color,
            items: Vec::with_capacity(images.len()),
            skipped,
            pixels: Vec::with_capacity(images.len() * per_image),
        };
        for (item, image) in images {
            set.push(item, image)?;
        }
        Ok(set)
    }

    /// The set, read from images of `source_side` px ([`ImageSet::source_side`]).
    pub(crate) fn with_source_side(self, source_side: usize) -> Self {
        Self { source_side, ..self }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn channels(&self) -> usize {
        self.color.channels()
    }

    /// Values per image: channels x side x side.
    pub fn image_len(&self) -> usize {
        self.channels() * self.side * self.side
    }

    /// The planar `u8` pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[index * n..(index + 1) * n]
    }

    /// The images at `indices` as `f32` in [0, 1], concatenated (batch x C x side x side).
    pub(crate) fn batch_f32(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            out.extend(self.image(i).iter().map(|&v| v as f32 / 255.0));
        }
        out
    }

    /// The images at `indices` as one `[batch, C, side, side]` tensor on `device`.
    pub fn batch_tensor(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        let shape = [indices.len(), self.channels(), self.side, self.side];
        Tensor::from_data(TensorData::new(self.batch_f32(indices), shape), device)
    }

    /// A set from the planar images of `items`, one after another in `pixels`, allowing an empty
    /// one (a shard whose files all failed to decode).
    pub(crate) fn from_pixels(
        side: usize,
        color: ColorMode,
        items: Vec<Item>,
        pixels: Vec<u8>,
        skipped: Vec<Skipped>,
    ) -> Result<Self> {
        let expected = items.len() * color.channels() * side * side;
        if pixels.len() != expected {
            bail!("{} images hold {} values, expected {expected}", items.len(), pixels.len());
        }
        Ok(Self { side, source_side: side, color, items, skipped, pixels })
    }

    /// Appends one image (planar, of this set's size and colour).
    pub(crate) fn push(&mut self, item: Item, image: Vec<u8>) -> Result<()> {
        if image.len() != self.image_len() {
            bail!("image {} has {} values, expected {}", item.source, image.len(), self.image_len());
        }
        self.pixels.extend_from_slice(&image);
        self.items.push(item);
        Ok(())
    }

    /// Keeps the first `len` images.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
        self.pixels.truncate(len * self.image_len());
    }

    /// Keeps the images in `range` (which may be empty).
    pub(crate) fn keep(&mut self, range: std::ops::Range<usize>) {
        let n = self.image_len();
        self.pixels.drain(range.end * n..);
        self.pixels.drain(..range.start * n);
        self.items.truncate(range.end);
        self.items.drain(..range.start);
    }

    /// The images at `indices`, in that order, as a set of their own.
    pub(crate) fn select(&self, indices: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        let items = indices.iter().map(|&i| self.items[i].clone()).collect();
        Self { items, skipped: Vec::new(), pixels, ..*self }
    }

    /// Whether any item carries a label.
    pub(crate) fn has_labels(&self) -> bool {
        self.items.iter().any(|item| item.label.is_some())
    }
}

/// Group index of every item's label (sorted label names; unlabelled items form "(none)").
pub(crate) fn label_groups(items: &[Item]) -> (Vec<usize>, Vec<String>) {
    let name = |item: &Item| item.label.clone().unwrap_or_else(|| "(none)".into());
    let names: Vec<String> = items.iter().map(name).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let groups = items.iter().map(|item| names.binary_search(&name(item)).unwrap_or(0)).collect();
    (groups, names)
}

/// The training and test splits papers score a probe on (fitted on the first, scored on the
/// second), for a run on `config`: CIFAR's and STL-10's `split = "train"` with `"test"`, STL-10's
/// `"unlabeled"` (the encoder's pre-training) with its labelled `"train"` and `"test"`, and MNIST's
/// `train-images` / `train-labels` files with the `t10k-` files beside them. The test split is read
/// whole (no `limit`), as is STL-10's training split after an unlabeled run. `None` for any other
/// source.
pub(crate) fn probe_splits_of(config: &DataConfig) -> Option<(DataConfig, DataConfig)> {
    let with = |source: DataSource| DataConfig { source, ..config.clone() };
    match &config.source {
        DataSource::Cifar(cifar) if cifar.split == Split::Train => Some((
            config.clone(),
            with(DataSource::Cifar(CifarConfig { split: Split::Test, limit: 0, ..cifar.clone() })),
        )),
        DataSource::Stl10(stl) => {
            let split = |split| with(DataSource::Stl10(Stl10Config { split, limit: 0, ..stl.clone() }));
            match stl.split {
                Split::Train => Some((config.clone(), split(Split::Test))),
                Split::Unlabeled => Some((split(Split::Train), split(Split::Test))),
                Split::Test => None,
            }
        }
        DataSource::Mnist(mnist) => {
            let test_file = |path: &std::path::Path, kind: &str| {
                let name = path.file_name()?.to_str()?;
                name.contains(&format!("train-{kind}"))
                    .then(|| path.with_file_name(name.replacen(&format!("train-{kind}"), &format!("t10k-{kind}"), 1)))
            };
            let images = test_file(&mnist.images, "images")?;
            let labels = test_file(mnist.labels.as_deref()?, "labels")?;
            Some((config.clone(), with(DataSource::Mnist(MnistConfig { images, labels: Some(labels), limit: 0 }))))
        }
        _ => None,
    }
}

/// Loads the configured source, checked to hold enough usable images for a run, and says what it
/// loaded when `progress` is shown.
pub(crate) fn load_usable(config: &DataConfig, progress: Progress) -> Result<ImageSet> {
    let images = load(config, progress)?;
    check_usable(&images, progress)?;
    Ok(images)
}

/// Checks that `images` hold enough usable images for a run, and says what was loaded when
/// `progress` is shown.
pub(crate) fn check_usable(images: &ImageSet, progress: Progress) -> Result<()> {
    if images.len() < 3 {
        bail!("the data set has {} usable image(s); a run needs at least 3", images.len());
    }
    if progress.is_shown() {
        log::info!(
            "loaded {} images ({}x{} {:?}){}",
            images.len(),
            images.side,
            images.side,
            images.color,
            if images.skipped.is_empty() { String::new() } else { format!(", {} skipped", images.skipped.len()) },
        );
    }
    Ok(())
}

/// Loads the configured source into an [`ImageSet`].
pub(crate) fn load(config: &DataConfig, progress: Progress) -> Result<ImageSet> {
    load_part(config, Part::All, progress)
}

/// Items `indices` of `items` (the configured source's usable items, as a run lists them) at
/// `data.image_size`, in that order: for a picture that shows a few items large (the neighbour
/// grid) after the set was loaded smaller for the map's other pictures. A folder decodes only
/// their files; the other sources (a sheet, IDX or binary files: their sets fit in memory
/// whole) load whole, checked to still hold `items`.
pub(crate) fn load_items(
    config: &DataConfig,
    items: &[Item],
    indices: &[usize],
    progress: Progress,
) -> Result<ImageSet> {
    let (side, color) = (config.image_size as usize, config.color);
    if let DataSource::Folder(_) = &config.source {
        use rayon::prelude::*;
        let bar = progress.bar(indices.len() as u64, "decoding");
        let images = indices
            .par_iter()
            .map(|&i| {
                let image = pixels::decode_file(std::path::Path::new(&items[i].source))?;
                bar.inc(1);
                Ok((items[i].clone(), pixels::to_planar(image, side, color)))
            })
            .collect::<Result<Vec<_>>>()?;
        bar.finish_and_clear();
        return ImageSet::from_images(side, color, images, Vec::new());
    }
    let all = load(config, progress)?;
    if all.items != items {
        bail!("the data set has changed since its features were made: it no longer holds the same items");
    }
    Ok(all.select(indices))
}

/// Which entries of a data set to load. An entry is a candidate image in the source's order (a
/// folder's sampled files, sorted; a sheet's sprites; an IDX file's images), before decoding:
/// a slice of a folder decodes only its own files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    All,
    /// The `index`-th of `count` contiguous slices (0-based), as `hebb embed --shard` takes them.
    Shard {
        index: usize,
        count: usize,
    },
}

impl Part {
    /// The entries of this part among `len`.
    pub(crate) fn range(self, len: usize) -> std::ops::Range<usize> {
        match self {
            Part::All => 0..len,
            Part::Shard { index, count } => index * len / count..(index + 1) * len / count,
        }
    }
}

/// Loads a [`Part`] of the configured source.
pub(crate) fn load_part(config: &DataConfig, part: Part, progress: Progress) -> Result<ImageSet> {
    let (side, color) = (config.image_size as usize, config.color);
    let mut set = match &config.source {
        DataSource::Folder(folder) => return folder::load(folder, side, color, part, progress),
        DataSource::Sheet(sheet) => sheet::load(sheet, side, color)?,
        DataSource::Mnist(mnist) => mnist::load(mnist, side, color)?,
        DataSource::Cifar(cifar) => cifar::load(cifar, side, color)?,
        DataSource::Stl10(stl10) => stl10::load(stl10, side, color)?,
    };
    let range = part.range(set.len());
    set.keep(range);
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_items_load_again_at_full_size_as_the_whole_set_holds_them() {
        let data = crate::config::EncodeConfig::load(None).unwrap().data;
        let small = load(&DataConfig { image_size: 8, ..data.clone() }, Progress::Hidden).unwrap();
        let few = load_items(&data, &small.items, &[7, 2, 7], Progress::Hidden).unwrap();
        let whole = load(&data, Progress::Hidden).unwrap();
        assert_eq!((few.side, few.len()), (96, 3));
        for (at, index) in [7, 2, 7].into_iter().enumerate() {
            assert_eq!(few.items[at], whole.items[index]);
            assert!(few.image(at) == whole.image(index), "item {index} differs");
        }
        let changed = load_items(&data, &small.items[1..], &[0], Progress::Hidden).err().unwrap().to_string();
        assert!(changed.contains("changed"), "{changed}");
    }
}
