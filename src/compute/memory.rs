//! Memory estimates checked before allocating: a setting whose working set cannot fit is refused
//! with one line that names the key and the estimate, instead of an allocation failure or the
//! kernel's out-of-memory kill. Also hebb's allocator, and the readings of resident memory the
//! benchmarks print.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// mimalloc keeps freed memory for reuse: the encoder allocates tensors of tens of megabytes
/// every step, and the system allocator's fresh pages for each of them cost more than the maths.
/// Declared here, not in the binary, so that the tests run on it too and [`release_freed`] links.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hands the memory freed so far back to the system. mimalloc returns freed pages only from
/// later calls into it (10 ms after the free), so a stage that allocates little after another
/// freed large buffers (the layout after NN-descent and the fuzzy graph) would otherwise keep
/// them resident all through.
pub(crate) fn release_freed() {
    unsafe extern "C" {
        fn mi_collect(force: bool);
    }
    // SAFETY: `mi_collect` takes no pointer and may be called from any thread at any time.
    unsafe { mi_collect(true) }
}

/// Bytes this process may still allocate: the machine's available memory (Linux's
/// `MemAvailable`), or `None` where it cannot be read.
fn available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The most memory this process has held resident so far (Linux's `VmHWM`), in bytes, or `None`
/// where it cannot be read.
pub(crate) fn peak_resident() -> Option<u64> {
    peak_resident_of("self")
}

/// [`peak_resident`] of the process `pid` (a number, or `self`), while it runs.
pub(crate) fn peak_resident_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `bytes` in the largest unit that keeps it at least 1.
pub(crate) fn human(bytes: f64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// Refuses `bytes` (an estimate, in f64 so that absurd settings do not overflow) for `what`
/// (the key or option that sets it) when it exceeds the memory available.
pub(crate) fn check(what: &str, bytes: f64) -> Result<()> {
    check_against(what, bytes, available())
}

/// Whether `bytes` fit in the memory available now: for something optional, such as a cache,
/// that is left out when it does not.
pub(crate) fn fits(bytes: f64) -> bool {
    check_against("", bytes, available()).is_ok()
}

/// Reads a whole file of at most `limit` bytes, checked before it is read: a file larger than
/// that, larger than the memory available, or not a regular file (a device such as `/dev/zero`,
/// a pipe) is refused with one line naming it, instead of reading until memory runs out. The
/// error keeps the I/O error as its source, so a missing file can still be told apart.
pub(crate) fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let metadata = file.metadata().with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_file() {
        bail!("cannot read {}: not a regular file", path.display());
    }
    if metadata.len() > limit {
        bail!(
            "cannot read {}: {} is larger than the {} allowed",
            path.display(),
            human(metadata.len() as f64),
            human(limit as f64)
        );
    }
    check(&format!("reading {}", path.display()), metadata.len() as f64)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!("cannot read {}: it grew past the {} allowed while it was read", path.display(), human(limit as f64));
    }
    Ok(bytes)
}

fn check_against(what: &str, bytes: f64, available: Option<u64>) -> Result<()> {
    // Without a reading, only what no machine has is refused.
    let limit = available.map_or(f64::from(u32::MAX) * 1024.0 * 1024.0, |a| a as f64);
    if bytes > limit {
        bail!("{what}: needs about {} of memory, more than the {} available", human(bytes), human(limit));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_beyond_the_available_memory_are_refused_by_name() {
        assert!(check_against("key `x`", 1e9, Some(2 << 30)).is_ok());
        let err = check_against("key `render.canvas_size`", 1.2e13, Some(24 << 30)).unwrap_err().to_string();
        assert_eq!(err, "key `render.canvas_size`: needs about 10.9 TB of memory, more than the 24.0 GB available");
        assert!(check_against("--side", 1e30, None).is_err());
        assert!(available().is_some_and(|a| a > 0), "this machine reports its memory");
        let before = peak_resident().expect("this machine reports the peak");
        let block = vec![1u8; 64 << 20];
        assert!(peak_resident().unwrap() >= before.max(block.iter().map(|&b| b as u64).sum()));
    }
}
