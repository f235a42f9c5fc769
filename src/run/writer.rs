//! Writing run folders: in full under a temporary name, then renamed into place, so a run never
//! leaves a half-written folder and a re-run replaces the old one whole. Single files written
//! beside a run (`eval.json`, a query's grid) go through [`write_atomically`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A run folder being written. Dropped without [`RunFolder::commit`], it removes its files.
pub(crate) struct RunFolder {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl RunFolder {
    /// Starts writing the folder that will become `target`.
    pub(crate) fn create(target: &Path) -> Result<Self> {
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = target.file_name().context("the run folder needs a name")?.to_string_lossy();
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create output folder {}", parent.display()))?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).with_context(|| format!("cannot clear {}", staging.display()))?;
        }
        std::fs::create_dir(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        Ok(Self { target: target.to_path_buf(), staging, committed: false })
    }

    /// Where `file` is written before the commit.
    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.staging.join(file)
    }

    pub(crate) fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let path = self.path(file);
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Moves the finished folder into place, replacing an earlier run of the same name.
    pub(crate) fn commit(mut self) -> Result<PathBuf> {
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
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let name = path.file_name().context("a file name is needed")?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    std::fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
