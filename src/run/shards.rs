//! Feature shards: `hebb embed --shard I/N` writes the features of the I-th of N contiguous
//! parts of the data set (0-based) into the run folder's `shards/` folder, as
//! `IIIII-of-NNNNN.csv` (its items) and `IIIII-of-NNNNN.npy` (their features), each written under a
//! temporary name and renamed into place, so a shard is either whole or absent and a re-run
//! replaces it. `hebb map` merges a complete set in order.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};

use super::items::{items_csv, read_items_csv};
use super::npy::{append_npy_f32, npy_shape, write_npy_f32};
use super::{write_atomically, write_atomically_with};
use crate::compute::features::Features;
use crate::compute::memory;
use crate::data::{Item, Part};

/// The run folder's sub-folder of shards.
pub(crate) const SHARDS_DIR: &str = "shards";

/// One of `count` contiguous parts of a data set, numbered from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Most shards a data set is cut into (the names' five digits).
const MAX_SHARDS: usize = 99_999;

impl FromStr for Shard {
    type Err = anyhow::Error;

    /// `I/N`, with 0 ≤ I < N.
    fn from_str(text: &str) -> Result<Self> {
        let expected = "expected I/N, the 0-based index of one of N parts (e.g. 0/4 .. 3/4)";
        let Some((index, count)) = text.split_once('/') else {
            bail!("shard `{text}`: {expected}");
        };
        let number = |part: &str| part.trim().parse::<usize>().ok();
        let (Some(index), Some(count)) = (number(index), number(count)) else {
            bail!("shard `{text}`: {expected}");
        };
        if count == 0 || count > MAX_SHARDS || index >= count {
            bail!("shard `{text}`: {expected}, with 1 <= N <= {MAX_SHARDS}");
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The part of the data set this shard covers.
    pub(crate) fn part(self) -> Part {
        Part::Shard { index: self.index, count: self.count }
    }

    fn stem(self) -> String {
        format!("{:05}-of-{:05}", self.index, self.count)
    }

    fn items_path(self, run_dir: &Path) -> PathBuf {
        run_dir.join(SHARDS_DIR).join(format!("{}.csv", self.stem()))
    }

    pub(crate) fn features_path(self, run_dir: &Path) -> PathBuf {
        run_dir.join(SHARDS_DIR).join(format!("{}.npy", self.stem()))
    }

    /// Writes this shard's items, then its features (the file that marks it complete).
    pub(crate) fn write(self, run_dir: &Path, items: &[Item], features: &Features) -> Result<()> {
        let dir = run_dir.join(SHARDS_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_atomically(&self.items_path(run_dir), &items_csv(items)?)?;
        write_atomically_with(&self.features_path(run_dir), |tmp| {
            write_npy_f32(tmp, features.rows, features.dim, &features.values)
        })
    }
}

/// The shards of `run_dir` merged in order, or `None` when it has none. An error names what is
/// wrong with an incomplete or mixed set.
pub(crate) fn merge(run_dir: &Path) -> Result<Option<(Vec<Item>, Features)>> {
    let dir = run_dir.join(SHARDS_DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let name = entry.with_context(|| format!("cannot read {}", dir.display()))?.file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name.strip_suffix(".npy") else { continue };
        let parsed = stem.split_once("-of-").and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)));
        match parsed {
            Some((index, count)) if index < count => found.push(Shard { index, count }),
            _ => bail!("{}: `{name}` is not a shard's name (IIIII-of-NNNNN.npy)", dir.display()),
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    found.sort_by_key(|s| (s.count, s.index));
    let count = found[0].count;
    if let Some(other) = found.iter().find(|s| s.count != count) {
        bail!(
            "{} mixes shards of {count} and of {} parts; remove one set and run `hebb embed` again",
            dir.display(),
            other.count
        );
    }
    let missing: Vec<String> =
        (0..count).filter(|i| !found.iter().any(|s| s.index == *i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        bail!("{}: shard(s) {} missing; run `hebb embed --shard` for each", dir.display(), missing.join(", "));
    }
    // The merged matrix in one allocation of the shards' total size (growing it shard by shard
    // would copy it at every doubling).
    let mut total = 0usize;
    for shard in &found {
        let (rows, cols) = npy_shape(&shard.features_path(run_dir))?;
        total = total.saturating_add(rows.saturating_mul(cols));
    }
    memory::check(&format!("the {count} shards in {} ({total} values)", dir.display()), total as f64 * 4.0)?;
    let (mut items, mut values, mut dim) = (Vec::new(), Vec::with_capacity(total), 0);
    for shard in found {
        let items_path = shard.items_path(run_dir);
        let shard_items = read_items_csv(&items_path)?;
        let features_path = shard.features_path(run_dir);
        let (rows, cols) = append_npy_f32(&features_path, &mut values)?;
        if rows != shard_items.len() {
            bail!(
                "{} has {rows} rows for the {} items of {}",
                features_path.display(),
                shard_items.len(),
                items_path.display()
            );
        }
        if rows > 0 {
            if dim != 0 && cols != dim {
                bail!("{} has {cols} features per item, the shards before it {dim}", features_path.display());
            }
            dim = cols;
        }
        items.extend(shard_items);
    }
    let rows = items.len();
    Ok(Some((items, Features { rows, dim, values })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_arguments_parse_or_say_what_is_expected() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1", "a/4", "0/0", "-1/4", "0/100000"] {
            let error = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(error.contains(bad) && error.contains("I/N"), "{bad}: {error}");
        }
    }

    #[test]
    fn parts_cover_every_entry_once_in_order() {
        for len in [0, 1, 7, 100] {
            for count in [1, 3, 8] {
                let ranges: Vec<_> = (0..count).map(|index| Part::Shard { index, count }.range(len)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[count - 1].end, len);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start), "{len}/{count}: {ranges:?}");
            }
        }
    }

    #[test]
    fn a_merge_needs_one_complete_set() {
        let dir = tempfile::tempdir().unwrap();
        assert!(merge(dir.path()).unwrap().is_none(), "no shards, nothing to merge");
        let item = |i: usize| Item { source: format!("s{i}"), label: Some("a".into()), name: None };
        let features = |rows: usize, first: f32| Features {
            rows,
            dim: 2,
            values: (0..rows * 2).map(|v| first + v as f32).collect(),
        };
        let write = |index, count, items: Vec<Item>, f: Features| Shard { index, count }.write(dir.path(), &items, &f);
        write(1, 3, vec![item(2)], features(1, 10.0)).unwrap();
        let error = merge(dir.path()).unwrap_err().to_string();
        assert!(error.contains("0/3, 2/3") && error.contains("missing"), "{error}");
        write(0, 3, vec![item(0), item(1)], features(2, 0.0)).unwrap();
        write(2, 3, vec![], Features { rows: 0, dim: 0, values: vec![] }).unwrap();
        let (items, merged) = merge(dir.path()).unwrap().unwrap();
        assert_eq!(items, vec![item(0), item(1), item(2)]);
        assert_eq!((merged.rows, merged.dim), (3, 2));
        assert_eq!(merged.values, vec![0.0, 1.0, 2.0, 3.0, 10.0, 11.0]);
        // A re-run of a shard replaces it; a shard of another cut is refused.
        write(1, 3, vec![item(2)], features(1, 10.0)).unwrap();
        assert!(merge(dir.path()).is_ok());
        write(0, 2, vec![item(0)], features(1, 0.0)).unwrap();
        let error = merge(dir.path()).unwrap_err().to_string();
        assert!(error.contains("mixes shards of 2 and of 3 parts"), "{error}");
        // Shards that announce more values than memory holds are refused before any is read.
        std::fs::remove_file(Shard { index: 0, count: 2 }.features_path(dir.path())).unwrap();
        std::fs::remove_file(Shard { index: 0, count: 2 }.items_path(dir.path())).unwrap();
        crate::run::npy::write_header_only(
            &Shard { index: 2, count: 3 }.features_path(dir.path()),
            4_000_000_000,
            4_000,
        );
        let error = format!("{:#}", merge(dir.path()).unwrap_err());
        assert!(error.contains("the 3 shards") && error.contains("memory"), "{error}");
    }
}
