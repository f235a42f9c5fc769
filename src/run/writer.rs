//! Writing run folders: in full under a temporary name, then renamed into place, so a run never
//! leaves a half-written folder and a re-run replaces the old one whole. Single files written
//! beside a run (`eval.json`, a query's grid) go through [`write_atomically`].
//!
//! hebb replaces only what it wrote: every run folder carries a marker file ([`MARKER_FILE`]), and
//! a folder or file already at a run's path without one is an error before any work, never
//! moved or deleted.
//!
//! Every temporary name in use is registered, so that [`remove_pending`] (the binary calls it on
//! Ctrl-C and SIGTERM) leaves nothing behind, and a run sweeps the partial folders that a killed
//! run of the same name left (those whose process is gone).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

/// The file that marks a folder as a run hebb wrote (and may therefore replace).
pub(crate) const MARKER_FILE: &str = ".hebb-run";

/// What the marker file holds.
const MARKER_TEXT: &str = "This folder was written by hebb; a later run of the same name replaces it whole.\n";

/// Refuses `target` when something is there that hebb did not write: a file, or a folder without
/// the marker (a run written by a hebb older than the marker has none either).
pub(crate) fn check_replaceable(target: &Path) -> Result<()> {
    let Ok(metadata) = std::fs::symlink_metadata(target) else { return Ok(()) };
    if metadata.is_dir() && target.join(MARKER_FILE).is_file() {
        return Ok(());
    }
    if metadata.is_dir() {
        anyhow::bail!(
            "{} exists and is a folder that is not a hebb run (no {MARKER_FILE} file); hebb replaces only folders it \
             wrote: choose another name or output folder, or remove it (a run of an older hebb has no marker: add an \
             empty {MARKER_FILE} to it to let a re-run replace it)",
            target.display()
        )
    }
    anyhow::bail!(
        "{} exists and is a file; hebb replaces only folders it wrote: choose another name or output folder, or remove it",
        target.display()
    )
}

/// An advisory lock on a run folder, taken on its marker file and held while this lives: shared
/// by each `hebb embed` writing a shard into it, exclusive for `hebb map`, which replaces the
/// folder, so that a map never deletes a shard written after it began. The lock is released
/// when the process ends, however it ends.
pub(crate) struct RunLock {
    _marker: std::fs::File,
}

impl RunLock {
    /// A shared lock for writing into `run_dir` (refused while a map holds it).
    pub(crate) fn shared(run_dir: &Path) -> Result<Self> {
        let marker = Self::open(run_dir)?;
        if marker.try_lock_shared().is_err() {
            anyhow::bail!(
                "{} is being mapped by `hebb map`, which replaces the folder; write this shard when it has finished",
                run_dir.display()
            );
        }
        Ok(Self { _marker: marker })
    }

    /// An exclusive lock for replacing `run_dir`.
    pub(crate) fn exclusive(run_dir: &Path) -> Result<Self> {
        let marker = Self::open(run_dir)?;
        if marker.try_lock().is_err() {
            anyhow::bail!(
                "{} is in use: a `hebb embed` is writing a shard into it (or a `hebb map` is mapping it); map it when \
                 that has finished",
                run_dir.display()
            );
        }
        Ok(Self { _marker: marker })
    }

    fn open(run_dir: &Path) -> Result<std::fs::File> {
        check_replaceable(run_dir)?;
        let path = run_dir.join(MARKER_FILE);
        std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))
    }
}

/// The temporary folders and files this process is writing.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn track(path: &Path) {
    PENDING.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_path_buf());
}

fn untrack(path: &Path) {
    PENDING.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != path);
}

/// Removes every temporary folder and file this process is writing (for an interrupted run).
pub(crate) fn remove_pending() {
    for path in std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner())) {
        let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    }
}

/// Whether process `pid` is running (always true where that cannot be told).
fn alive(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the `.NAME.partial-PID` and `.NAME.old-PID` folders beside `target` that processes
/// no longer running left behind.
fn sweep_stale(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let pid = [format!(".{name}.partial-"), format!(".{name}.old-")]
            .iter()
            .find_map(|prefix| file_name.strip_prefix(prefix.as_str()).and_then(|rest| rest.parse::<u32>().ok()));
        if pid.is_some_and(|pid| pid != std::process::id() && !alive(pid)) {
            log::info!("note: removing {}, left by an interrupted run", entry.path().display());
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A run folder being written. Dropped without [`RunFolder::commit`], it removes its files.
pub(crate) struct RunFolder {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl RunFolder {
    /// Starts writing the folder that will become `target`: an error, before anything is written,
    /// when something hebb did not write is at `target` ([`check_replaceable`]).
    pub(crate) fn create(target: &Path) -> Result<Self> {
        check_replaceable(target)?;
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = target.file_name().context("the run folder needs a name")?.to_string_lossy();
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create output folder {}", parent.display()))?;
        sweep_stale(parent, &name);
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).with_context(|| format!("cannot clear {}", staging.display()))?;
        }
        std::fs::create_dir(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        track(&staging);
        let folder = Self { target: target.to_path_buf(), staging, committed: false };
        folder.write(MARKER_FILE, MARKER_TEXT)?;
        Ok(folder)
    }

    /// Starts writing a new version of the run folder `existing`, beginning with copies of its
    /// files named in `keep` (those that exist).
    pub(crate) fn update(existing: &Path, keep: &[&str]) -> Result<Self> {
        let folder = Self::create(existing)?;
        for file in keep {
            let from = existing.join(file);
            if from.is_file() {
                std::fs::copy(&from, folder.path(file)).with_context(|| format!("cannot copy {}", from.display()))?;
            }
        }
        Ok(folder)
    }

    /// Where `file` is written before the commit.
    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.staging.join(file)
    }

    pub(crate) fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let path = self.path(file);
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Moves the finished folder into place, replacing an earlier run of the same name (checked
    /// again: something may have appeared there during the run).
    pub(crate) fn commit(mut self) -> Result<PathBuf> {
        check_replaceable(&self.target)?;
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
        untrack(&self.staging);
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
            untrack(&self.staging);
        }
    }
}

/// Checks, before any work, that a file can be written at `path` as [`write_atomically`] will:
/// its folder exists and takes a new file (one is created and removed again), and `path` is not
/// a folder.
pub(crate) fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        anyhow::bail!("{} is a folder; expected a file name", path.display());
    }
    let probe = path.with_file_name(format!(
        ".{}.probe-{}",
        path.file_name().context("a file name is needed")?.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&probe, b"").with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::remove_file(&probe).with_context(|| format!("cannot remove {}", probe.display()))
}

/// Writes one file under a temporary name beside it, then renames it into place.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomically_with(path, |tmp| {
        std::fs::write(tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))
    })
}

/// Has `write` write the file at a temporary path beside `path`, then renames it into place.
pub(crate) fn write_atomically_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().context("a file name is needed")?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    track(&tmp);
    let written = write(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display())));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    untrack(&tmp);
    written
}

/// Has `write` fill a folder at a temporary path beside `path` (it may also write nothing), then
/// puts it in the place of `path`, replacing the folder there (inside a run folder, which hebb
/// wrote whole). Nothing is left behind on an error or an interrupt.
pub(crate) fn write_folder_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().context("a folder name is needed")?.to_string_lossy().into_owned();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let old = path.with_file_name(format!(".{name}.old-{}", std::process::id()));
    track(&tmp);
    let written = write(&tmp).and_then(|()| {
        if !tmp.exists() {
            return Ok(());
        }
        if path.exists() {
            std::fs::rename(path, &old).with_context(|| format!("cannot move {} aside", path.display()))?;
        }
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
        }
        Ok(())
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    untrack(&tmp);
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_partials_of_the_same_name_are_swept_and_failed_writes_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // pid 4194304 is above Linux's largest pid, so no process has it.
        for stale in [".run.partial-4194304", ".run.old-4194304"] {
            std::fs::create_dir(dir.path().join(stale)).unwrap();
        }
        let other = dir.path().join(".other.partial-4194304");
        std::fs::create_dir(&other).unwrap();
        let folder = RunFolder::create(&dir.path().join("run")).unwrap();
        folder.commit().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".other.partial-4194304", "run"], "only this name's stale partials go");

        // Writing onto a folder fails, and the temporary file does not stay behind.
        assert!(write_atomically(&dir.path().join("run"), b"x").is_err());
        assert!(!dir.path().join(format!(".run.partial-{}", std::process::id())).exists());
        // (Other tests write at the same time, so only this folder's entries are checked.)
        assert!(!PENDING.lock().unwrap().iter().any(|p| p.starts_with(dir.path())));
    }

    #[test]
    fn only_folders_hebb_wrote_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("thesis.tex"), "years of work").unwrap();
        let file = dir.path().join("notes");
        std::fs::write(&file, "a file where a run would go").unwrap();
        for (target, what) in [(&mine, "a folder that is not a hebb run"), (&file, "a file")] {
            let err = RunFolder::create(target).err().expect("refused").to_string();
            assert!(err.contains(&target.display().to_string()) && err.contains(what), "{err}");
        }
        assert_eq!(std::fs::read_to_string(mine.join("thesis.tex")).unwrap(), "years of work");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a file where a run would go");
        let names = |path: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(dir.path()), ["mine", "notes"], "nothing written beside them");
        // A run hebb wrote carries the marker and is replaced; a folder that appears at the
        // target during a run is not.
        let run = dir.path().join("run");
        RunFolder::create(&run).unwrap().commit().unwrap();
        assert!(run.join(MARKER_FILE).is_file());
        RunFolder::create(&run).unwrap().commit().unwrap();
        let late = dir.path().join("late");
        let folder = RunFolder::create(&late).unwrap();
        std::fs::create_dir(&late).unwrap();
        assert!(folder.commit().is_err());
        assert_eq!(names(dir.path()), ["late", "mine", "notes", "run"]);
    }

    #[test]
    fn a_map_and_shard_writers_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        RunFolder::create(&run).unwrap().commit().unwrap();
        let first = RunLock::shared(&run).unwrap();
        let second = RunLock::shared(&run).expect("shards are written side by side");
        let err = RunLock::exclusive(&run).err().expect("no map while shards are written").to_string();
        assert!(err.contains("in use"), "{err}");
        drop((first, second));
        let map = RunLock::exclusive(&run).unwrap();
        let err = RunLock::shared(&run).err().expect("no shard while the map runs").to_string();
        assert!(err.contains("being mapped"), "{err}");
        drop(map);
        assert!(RunLock::shared(&run).is_ok());
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        assert!(RunLock::shared(&plain).is_err(), "a folder hebb did not write is not locked, nor written");
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
