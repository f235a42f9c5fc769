//! Image folders: `root/<class>/**/*.{png,jpg,jpeg,gif,bmp,webp}` (Tiny ImageNet's
//! `train/<wnid>/images/*.JPEG` loads as it is). The label is the first-level folder name; files
//! directly in `root` have none. With `layout = "tinyimagenet-val"`, Tiny ImageNet's `val/`:
//! `root/images/*`, labelled by `root/val_annotations.txt`. Decoding runs in parallel; a file that
//! cannot be decoded is skipped, counted and named in a warning.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::compute::memory;
use crate::compute::rng::seeded;
use anyhow::{Context, Result, bail};
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::pixels::{decode_file, to_planar};
use super::{ImageSet, Item, Part, Skipped};
use crate::config::{ColorMode, FolderConfig, FolderLayout};
use crate::progress::Progress;

const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "bmp", "webp"];

/// Tiny ImageNet's validation labels, in its `val/` folder.
const VAL_ANNOTATIONS: &str = "val_annotations.txt";

/// How many unreadable files a warning names before it only counts.
const NAMED_FAILURES: usize = 5;

/// Loads the images of a folder: all of them, or one part of its (sampled, sorted) file list.
pub fn load(config: &FolderConfig, side: usize, color: ColorMode, part: Part, progress: Progress) -> Result<ImageSet> {
    let listed = match config.layout {
        FolderLayout::Classes => list_files(&config.root)?,
        FolderLayout::TinyimagenetVal => list_annotated(&config.root)?,
    };
    let mut files = sample(listed, config);
    if let Some(names) = class_names(config)? {
        for (_, label) in &mut files {
            if let Some(name) = label.as_ref().and_then(|id| names.get(id)) {
                *label = Some(name.clone());
            }
        }
    }
    if files.is_empty() {
        bail!("image folder {} holds no image file ({})", config.root.display(), EXTENSIONS.join(", "));
    }
    let range = part.range(files.len());
    files.truncate(range.end);
    files.drain(..range.start);
    // Each file decodes straight into its place in the set's pixels, checked before they are
    // allocated; a file that fails leaves its place, and the images after it close up.
    let smaller = match part {
        Part::All => {
            "; or `hebb train` with `training.sample`, `hebb embed --shard I/N` and `hebb map`, a part at a time"
        }
        Part::Shard { .. } => ", or more shards",
    };
    memory::check(
        &format!(
            "{} images of {side} x {side} px from {} (key `data.image_size`{smaller})",
            files.len(),
            config.root.display()
        ),
        files.len() as f64 * color.channels() as f64 * (side as f64).powi(2),
    )?;
    let per_image = color.channels() * side * side;
    let mut pixels = vec![0u8; files.len() * per_image];
    let bar = progress.bar(files.len() as u64, "decoding");
    let decoded: Vec<Result<()>> = pixels
        .par_chunks_mut(per_image)
        .zip(&files)
        .map(|(place, (path, _))| {
            let result = decode_file(path).map(|image| place.copy_from_slice(&to_planar(image, side, color)));
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();

    let mut items = Vec::with_capacity(files.len());
    let mut failures = Vec::new();
    for (index, ((path, label), result)) in files.into_iter().zip(decoded).enumerate() {
        match result {
            Ok(()) => {
                let kept = items.len();
                pixels.copy_within(index * per_image..(index + 1) * per_image, kept * per_image);
                let name = path.file_stem().map(|stem| stem.to_string_lossy().into_owned());
                items.push(Item { source: path.display().to_string(), label, name });
            }
            Err(e) => failures.push(Skipped { source: path.display().to_string(), reason: e.root_cause().to_string() }),
        }
    }
    pixels.truncate(items.len() * per_image);
    if !failures.is_empty() {
        let mut named: Vec<String> =
            failures.iter().take(NAMED_FAILURES).map(|f| format!("\n  {}: {}", f.source, f.reason)).collect();
        if failures.len() > NAMED_FAILURES {
            named.push(format!("\n  ... and {} more", failures.len() - NAMED_FAILURES));
        }
        log::warn!(
            "skipped {} unreadable image file(s) (all listed in the run's skipped.csv):{}",
            failures.len(),
            named.concat()
        );
    }
    if items.is_empty() && part == Part::All {
        bail!("no image in {} could be decoded ({} failed)", config.root.display(), failures.len());
    }
    ImageSet::from_pixels(side, color, items, pixels, failures)
}

/// The class names `[data.folder] names` gives, or a `words.txt` beside the root's folder
/// (Tiny ImageNet's layout: `tiny-imagenet-200/words.txt` beside `tiny-imagenet-200/train`):
/// each line's id and the first of its comma-separated names.
fn class_names(config: &FolderConfig) -> Result<Option<BTreeMap<String, String>>> {
    let path = match &config.names {
        Some(path) => path.clone(),
        None => match config.root.parent().map(|parent| parent.join("words.txt")) {
            Some(beside) if beside.is_file() => beside,
            _ => return Ok(None),
        },
    };
    let bytes = crate::compute::memory::read_file(&path, 64 << 20).context("key `data.folder.names`")?;
    let text = String::from_utf8_lossy(&bytes);
    let mut names = BTreeMap::new();
    for (line, record) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((id, all)) = record.split_once('\t') else {
            bail!("{} line {}: expected `id<TAB>name, other names`", path.display(), line + 1);
        };
        let first = all.split(',').next().unwrap_or("").trim();
        if !first.is_empty() {
            names.insert(id.trim().to_string(), first.to_string());
        }
    }
    Ok(Some(names))
}

/// Every image file under `root` with its label, sorted by path.
fn list_files(root: &Path) -> Result<Vec<(PathBuf, Option<String>)>> {
    if !root.is_dir() {
        let hint = if root.to_string_lossy().contains("tiny-imagenet") {
            "; download tiny-imagenet-200.zip (cs231n.stanford.edu) and unzip it into data/ so that \
             data/tiny-imagenet-200/train/<wnid>/images/ exists"
        } else {
            ""
        };
        bail!("image folder {} does not exist or is not a folder{hint}", root.display());
    }
    let mut files = Vec::new();
    let mut walk = Walk::default();
    walk.enter(root)?;
    for entry in read_dir_sorted(root)? {
        if entry.is_dir() {
            if !walk.enter(&entry)? {
                continue;
            }
            let label = entry.file_name().map(|n| n.to_string_lossy().into_owned());
            let mut below = Vec::new();
            collect_images(&entry, &mut below, &mut walk)?;
            files.extend(below.into_iter().map(|path| (path, label.clone())));
        } else if is_image(&entry) {
            files.push((entry, None));
        }
    }
    if walk.repeated > 0 {
        log::warn!(
            "{} folder link(s) under {} lead to folders already read (a loop or a duplicate); each folder is read once",
            walk.repeated,
            root.display()
        );
    }
    Ok(files)
}

/// Tiny ImageNet's validation layout: the image files of `root/images`, each labelled by its
/// line of `root/val_annotations.txt` (`file<TAB>class<TAB>...`); a file without a line has no
/// label (counted in a warning), a line naming a file that is not there is left out.
fn list_annotated(root: &Path) -> Result<Vec<(PathBuf, Option<String>)>> {
    let annotations = root.join(VAL_ANNOTATIONS);
    let images = root.join("images");
    if !annotations.is_file() || !images.is_dir() {
        bail!(
            "image folder {} has no {VAL_ANNOTATIONS} and images/ (key `data.folder.layout` = \"tinyimagenet-val\" \
             reads Tiny ImageNet's val/ folder)",
            root.display()
        );
    }
    let bytes = crate::compute::memory::read_file(&annotations, 64 << 20)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut labels = BTreeMap::new();
    for (line, record) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut fields = record.split('\t');
        let (Some(file), Some(class)) = (fields.next(), fields.next()) else {
            bail!("{} line {}: expected `file<TAB>class<TAB>box`", annotations.display(), line + 1);
        };
        labels.insert(file.trim().to_string(), class.trim().to_string());
    }
    let mut walk = Walk::default();
    walk.enter(&images)?;
    let mut files = Vec::new();
    collect_images(&images, &mut files, &mut walk)?;
    let labelled: Vec<(PathBuf, Option<String>)> = files
        .into_iter()
        .map(|path| {
            let label = path.file_name().and_then(|name| labels.get(name.to_string_lossy().as_ref())).cloned();
            (path, label)
        })
        .collect();
    let unlabelled = labelled.iter().filter(|(_, label)| label.is_none()).count();
    if unlabelled > 0 {
        log::warn!(
            "{unlabelled} image(s) in {} have no line in {VAL_ANNOTATIONS}: loaded unlabelled",
            images.display()
        );
    }
    Ok(labelled)
}

/// The real folders a listing has entered, so that symbolic links that loop back (or lead to a
/// folder read elsewhere) are followed once.
#[derive(Default)]
struct Walk {
    visited: HashSet<PathBuf>,
    /// Folders skipped because their real path was already read.
    repeated: usize,
}

impl Walk {
    /// Whether `dir` is a folder not read yet; records it.
    fn enter(&mut self, dir: &Path) -> Result<bool> {
        let real = dir.canonicalize().with_context(|| format!("cannot resolve folder {}", dir.display()))?;
        let new = self.visited.insert(real);
        self.repeated += usize::from(!new);
        Ok(new)
    }
}

fn collect_images(dir: &Path, out: &mut Vec<PathBuf>, walk: &mut Walk) -> Result<()> {
    for entry in read_dir_sorted(dir)? {
        if entry.is_dir() {
            if walk.enter(&entry)? {
                collect_images(&entry, out, walk)?;
            }
        } else if is_image(&entry) {
            out.push(entry);
        }
    }
    Ok(())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list folder {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("cannot list folder {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

fn is_image(path: &Path) -> bool {
    path.extension().map(|ext| EXTENSIONS.iter().any(|known| ext.eq_ignore_ascii_case(known))).unwrap_or(false)
}

/// Applies `per_class` and `limit` with a seeded shuffle; the result stays sorted by path.
fn sample(files: Vec<(PathBuf, Option<String>)>, config: &FolderConfig) -> Vec<(PathBuf, Option<String>)> {
    let mut rng = seeded(config.seed);
    let mut kept = if config.per_class > 0 {
        let mut classes: BTreeMap<Option<String>, Vec<(PathBuf, Option<String>)>> = BTreeMap::new();
        for file in files {
            classes.entry(file.1.clone()).or_default().push(file);
        }
        let mut kept = Vec::new();
        for (_, mut members) in classes {
            members.shuffle(&mut rng);
            members.truncate(config.per_class);
            kept.extend(members);
        }
        kept
    } else {
        files
    };
    if config.limit > 0 && kept.len() > config.limit {
        kept.shuffle(&mut rng);
        kept.truncate(config.limit);
    }
    kept.sort();
    kept
}
