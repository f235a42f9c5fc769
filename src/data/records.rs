//! Files of fixed-size binary records (CIFAR's and STL-10's), read one record at a time: the
//! file's size is checked against the record length before anything is read, so a truncated
//! file is a one-line error naming it, and a limit reads only the records it keeps. Also their
//! class-name files and their images' three colour planes.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use image::{Rgba, RgbaImage};

use crate::compute::memory;

/// An open file of `count` records of `len` bytes each.
pub(crate) struct Records {
    path: PathBuf,
    reader: BufReader<File>,
    pub len: usize,
    pub count: usize,
}

impl Records {
    /// Opens `path` as records of `len` bytes (`what` says what a record is, for errors).
    pub(crate) fn open(path: &Path, len: usize, what: &str) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata().with_context(|| format!("cannot read {}", path.display()))?.len();
        if size == 0 || size % len as u64 != 0 {
            bail!(
                "{} is {size} bytes, not a whole number of {len}-byte records ({what}): a truncated or wrong file",
                path.display()
            );
        }
        Ok(Self { path: path.to_path_buf(), reader: BufReader::new(file), len, count: (size / len as u64) as usize })
    }

    /// Reads the next record into `buffer` (`len` bytes).
    pub(crate) fn read(&mut self, buffer: &mut [u8]) -> Result<()> {
        self.reader.read_exact(buffer).with_context(|| format!("cannot read a record of {}", self.path.display()))
    }

    /// How many records a `limit` keeps (0 keeps all).
    pub(crate) fn kept(&self, limit: usize) -> usize {
        if limit > 0 { limit.min(self.count) } else { self.count }
    }
}

/// Class names, one per non-empty line of `path` (`batches.meta.txt`, `class_names.txt`).
pub(crate) fn class_names(path: &Path) -> Result<Vec<String>> {
    let bytes =
        memory::read_file(path, 1 << 20).with_context(|| format!("cannot read the class names {}", path.display()))?;
    let names: Vec<String> =
        String::from_utf8_lossy(&bytes).lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if names.is_empty() {
        bail!("{} lists no class names (expected one per line)", path.display());
    }
    Ok(names)
}

/// A `side x side` image from three planes of bytes, red, then green, then blue, each row-major
/// (CIFAR) or, with `column_major`, column by column (STL-10).
pub(crate) fn rgb_planes(pixels: &[u8], side: usize, column_major: bool) -> RgbaImage {
    let plane = side * side;
    RgbaImage::from_fn(side as u32, side as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let at = if column_major { x * side + y } else { y * side + x };
        Rgba([pixels[at], pixels[plane + at], pixels[2 * plane + at], 255])
    })
}
