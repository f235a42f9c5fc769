//! Run folders under `outputs/`: written in full under a temporary name, then renamed into
//! place, so a run never leaves a half-written folder and a re-run replaces the old one whole.
//! Also the file formats written there: `.npy` matrices and item tables.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::data::Item;

/// A run folder being written. Dropped without [`RunFolder::commit`], it removes its files.
pub struct RunFolder {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl RunFolder {
    /// Starts writing the folder that will become `target`.
    pub fn create(target: &Path) -> Result<Self> {
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = target.file_name().context("the run folder needs a name")?.to_string_lossy();
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create output folder {}", parent.display()))?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot clear {}", staging.display()))?;
        }
        std::fs::create_dir(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        Ok(Self { target: target.to_path_buf(), staging, committed: false })
    }

    /// Where `file` is written before the commit.
    pub fn path(&self, file: &str) -> PathBuf {
        self.staging.join(file)
    }

    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let path = self.path(file);
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Moves the finished folder into place, replacing an earlier run of the same name.
    pub fn commit(mut self) -> Result<PathBuf> {
        let old = self.staging.with_file_name(format!(
            ".{}.old-{}",
            self.target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old)
                .with_context(|| format!("cannot move the earlier run {} aside", self.target.display()))?;
        }
        std::fs::rename(&self.staging, &self.target)
            .with_context(|| format!("cannot move the new run into {}", self.target.display()))?;
        if had_old {
            std::fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Writes one file under a temporary name beside it, then renames it into place.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let name = path.file_name().context("a file name is needed")?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    std::fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// A little-endian `f32` matrix in NumPy's `.npy` format (version 1.0).
pub fn npy_f32(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len(), rows * cols, "npy_f32: shape does not match the data");
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Reads a 2-D little-endian `f32` `.npy` file (as [`npy_f32`] writes): rows, columns, values.
pub fn read_npy_f32(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bad = || anyhow::anyhow!("{} is not a 2-D float32 .npy file", path.display());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" || bytes[6] != 1 {
        return Err(bad());
    }
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = bytes.get(10..10 + header_len).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(bad)?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return Err(bad());
    }
    let shape = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).ok_or_else(bad)?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else { return Err(bad()) };
    let data = &bytes[10 + header_len..];
    if data.len() != rows * cols * 4 {
        bail!("{} announces {rows} x {cols} values but holds {} bytes", path.display(), data.len());
    }
    let values = data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok((rows, cols, values))
}

/// Reads `items.csv` back.
pub fn read_items_csv(path: &Path) -> Result<Vec<Item>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} line {}: malformed record", path.display(), line + 2))?;
        let label = record.get(2).unwrap_or("");
        items.push(Item {
            source: record.get(1).unwrap_or("").to_string(),
            label: if label.is_empty() { None } else { Some(label.to_string()) },
        });
    }
    Ok(items)
}

/// `index,source,label` for every item.
pub fn items_csv(items: &[Item]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["index", "source", "label"])?;
    for (i, item) in items.iter().enumerate() {
        writer.write_record([i.to_string().as_str(), &item.source, item.label.as_deref().unwrap_or("")])?;
    }
    writer.into_inner().context("cannot write items.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_data_follows() {
        let bytes = npy_f32(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npy");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_npy_f32(&path).unwrap(), (2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"));
        assert!(header.ends_with('\n'));
        let data = &bytes[10 + header_len..];
        assert_eq!(data.len(), 24);
        assert_eq!(f32::from_le_bytes(data[20..24].try_into().unwrap()), 6.0);
    }

    #[test]
    fn commit_replaces_an_earlier_run_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run");
        let first = RunFolder::create(&target).unwrap();
        first.write("a.txt", "one").unwrap();
        first.commit().unwrap();
        let second = RunFolder::create(&target).unwrap();
        second.write("b.txt", "two").unwrap();
        assert!(target.join("a.txt").exists(), "the old run stays until the new one is complete");
        second.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(std::fs::read_to_string(target.join("b.txt")).unwrap(), "two");
        let abandoned = RunFolder::create(&target).unwrap();
        abandoned.write("c.txt", "three").unwrap();
        drop(abandoned);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run")]);
    }
}
