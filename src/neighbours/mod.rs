//! Cosine nearest neighbours of L2-normalised features: the exact search ([`exact`], blocked
//! matrix products on the run's device) and NN-descent on a reduced copy ([`approximate`]), and
//! the choice between them that `map.neighbours` makes. `map/` builds its graph from them, `eval`
//! votes with them and `query` answers with them.

pub(crate) mod approximate;
mod candidate_lists;
pub(crate) mod exact;
mod reduced_copy;
mod tree_order;

use anyhow::{Result, bail};
use burn::tensor::Device;

use crate::compute::device::is_wgpu;
use crate::compute::features::Features;
use crate::config::{MapConfig, NeighbourSearch};
use crate::progress::Progress;

/// Each query's k nearest base rows, most similar first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    pub k: usize,
    /// `queries x k` row indices into the base.
    pub indices: Vec<u32>,
    /// `queries x k` cosine similarities.
    pub similarities: Vec<f32>,
}

impl Neighbours {
    pub(crate) fn len(&self) -> usize {
        self.indices.len() / self.k.max(1)
    }

    /// The first `k` columns of every row.
    pub(crate) fn truncate(&self, k: usize) -> Neighbours {
        let k = k.min(self.k);
        let mut out = Neighbours {
            k,
            indices: Vec::with_capacity(self.len() * k),
            similarities: Vec::with_capacity(self.len() * k),
        };
        for row in 0..self.len() {
            let (ids, sims) = self.row(row);
            out.indices.extend_from_slice(&ids[..k]);
            out.similarities.extend_from_slice(&sims[..k]);
        }
        out
    }

    pub(crate) fn row(&self, query: usize) -> (&[u32], &[f32]) {
        let span = query * self.k..(query + 1) * self.k;
        (&self.indices[span.clone()], &self.similarities[span])
    }
}

/// Multiply-adds (N² · D / 2) past which `map.neighbours = "auto"` searches approximately on the
/// CPU. `hebb bench map` on this project's 2-core CPU: at 1.0e11 (20,000 x 512) the exact search
/// took 1.5 s and NN-descent 1.9 s; at 2.3e11 (10,000 x 4,608, MNIST features) 3.3 s and 1.6 s.
pub(crate) const AUTO_EXACT_LIMIT: f64 = 2e11;

/// Whether `search` over `rows x dim` features on `device` runs approximately.
pub(crate) fn is_approximate(search: NeighbourSearch, rows: usize, dim: usize, device: &Device) -> bool {
    match search {
        NeighbourSearch::Exact => false,
        NeighbourSearch::Approximate => true,
        NeighbourSearch::Auto => !is_wgpu(device) && (rows as f64).powi(2) * dim as f64 / 2.0 > AUTO_EXACT_LIMIT,
    }
}

/// Every item's top `k` among all items, itself included, by the search `map` asks for:
/// [`exact::search_all`], or NN-descent ([`approximate::search_all`], seeded by `map.seed`), which also
/// returns the reduced copy it searched in.
pub(crate) fn search_all_for_map(
    features: &Features,
    k: usize,
    map: &MapConfig,
    device: &Device,
    progress: Progress,
) -> Result<(Neighbours, Option<Features>)> {
    if !is_approximate(map.neighbours, features.rows, features.dim, device) {
        return Ok((exact::search_all(features, k, device, progress)?, None));
    }
    if k == 0 || k > features.rows {
        bail!("cannot take {k} neighbours from {} items", features.rows);
    }
    if features.rows > approximate::MAX_ITEMS {
        bail!("the approximate search takes at most {} items, got {}", approximate::MAX_ITEMS, features.rows);
    }
    let (neighbours, reduced) = approximate::search_all(features, k, map.seed, progress);
    Ok((neighbours, Some(reduced)))
}

/// Every item's `k` nearest other items (itself left out).
pub fn all_neighbours(features: &Features, k: usize, device: &Device, progress: Progress) -> Result<Neighbours> {
    if features.rows < 2 {
        bail!("nearest neighbours need at least 2 items, got {}", features.rows);
    }
    let k = k.min(features.rows - 1);
    let with_self = exact::search_all(features, k + 1, device, progress)?;
    Ok(drop_self(&with_self))
}

/// Removes each row's own index (or, if it is absent because of exact ties, the last entry).
pub(crate) fn drop_self(with_self: &Neighbours) -> Neighbours {
    let k = with_self.k - 1;
    let mut indices = Vec::with_capacity(with_self.len() * k);
    let mut similarities = Vec::with_capacity(with_self.len() * k);
    for row in 0..with_self.len() {
        let (ids, sims) = with_self.row(row);
        let own = ids.iter().position(|&i| i as usize == row).unwrap_or(k);
        for (j, (&id, &sim)) in ids.iter().zip(sims).enumerate() {
            if j != own {
                indices.push(id);
                similarities.push(sim);
            }
        }
    }
    Neighbours { k, indices, similarities }
}

/// Each row's `k` nearest others: the first `k + 1` columns of `with_self` without the row itself.
pub(crate) fn top_neighbours(with_self: &Neighbours, k: usize) -> Neighbours {
    drop_self(&with_self.truncate(k + 1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `rows` L2-normalised rows of a fixed spread of values.
    pub(crate) fn features(rows: usize, dim: usize) -> Features {
        let mut values: Vec<f32> = (0..rows * dim).map(|i| (((i * 7919) % 113) as f32 - 56.0) / 56.0).collect();
        for row in values.chunks_mut(dim) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            row.iter_mut().for_each(|v| *v /= norm);
        }
        Features { rows, dim, values }
    }

    #[test]
    fn auto_searches_exactly_up_to_the_bound_and_approximately_past_it() {
        let cpu = Device::flex();
        // 7,000 x 7,680: 1.9e11 multiply-adds, exact; 8,000 x 7,680: 2.5e11, approximate.
        assert!(!is_approximate(NeighbourSearch::Auto, 7000, 7680, &cpu));
        assert!(is_approximate(NeighbourSearch::Auto, 8000, 7680, &cpu));
        assert!(!is_approximate(NeighbourSearch::Exact, 1_000_000, 7680, &cpu));
        assert!(is_approximate(NeighbourSearch::Approximate, 10, 4, &cpu));
        // The pipeline's search follows the switch: a forced approximate search of a small set
        // still finds every item itself first.
        let f = features(40, 16);
        let map = MapConfig { neighbours: NeighbourSearch::Approximate, ..MapConfig::default() };
        let (found, reduced) = search_all_for_map(&f, 5, &map, &cpu, Progress::Hidden).unwrap();
        assert!((0..40).all(|row| found.row(row).0[0] as usize == row));
        assert!(reduced.is_some_and(|r| r.rows == 40 && r.dim == 16), "the reduced copy comes back");
        let (exactly, reduced) = search_all_for_map(&f, 5, &MapConfig::default(), &cpu, Progress::Hidden).unwrap();
        assert_eq!(exactly, exact::search_all(&f, 5, &cpu, Progress::Hidden).unwrap());
        assert!(reduced.is_none());
    }

    #[test]
    fn self_is_dropped_even_behind_a_duplicate() {
        let with_self =
            Neighbours { k: 3, indices: vec![1, 0, 2, 1, 0, 2], similarities: vec![1.0, 1.0, 0.5, 1.0, 1.0, 0.2] };
        let dropped = drop_self(&with_self);
        assert_eq!(dropped.indices, vec![1, 2, 0, 2]);
        assert_eq!(dropped.similarities, vec![1.0, 0.5, 1.0, 0.2]);
    }
}
