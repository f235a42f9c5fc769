//! Exact cosine nearest neighbours over L2-normalised features, as blocked matrix products on
//! the run's device: a block of query rows times the transposed base gives similarities, and
//! only each row's top k leave the device. No N x N matrix is ever formed, so 100,000 x 4,608
//! runs in the memory of the base plus one block. On wgpu the top k are selected on the device;
//! on the CPU (flex) the block is selected in parallel in Rust, which is much faster than a
//! full sort of every row. Ties go to the lower index.

use anyhow::{Result, bail};
use burn::tensor::{Device, Int, Tensor, TensorData};

use rayon::prelude::*;

use crate::device::{is_wgpu, read_f32, read_indices};
use crate::features::Features;
use crate::progress;

/// Similarity values one block may hold on the device (256 MiB of f32).
const BLOCK_VALUES: usize = 64 << 20;

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
    pub fn len(&self) -> usize {
        self.indices.len() / self.k.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The first `k` columns of every row.
    pub fn truncate(&self, k: usize) -> Neighbours {
        let k = k.min(self.k);
        let mut out = Neighbours { k, indices: Vec::with_capacity(self.len() * k), similarities: Vec::with_capacity(self.len() * k) };
        for row in 0..self.len() {
            let (ids, sims) = self.row(row);
            out.indices.extend_from_slice(&ids[..k]);
            out.similarities.extend_from_slice(&sims[..k]);
        }
        out
    }

    pub fn row(&self, query: usize) -> (&[u32], &[f32]) {
        let span = query * self.k..(query + 1) * self.k;
        (&self.indices[span.clone()], &self.similarities[span])
    }
}

fn upload(rows: usize, dim: usize, values: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [rows, dim]), device)
}

/// Top `k` base rows for every query row (`queries` is `m x dim`, row-major).
pub fn search(queries: &[f32], base: &Features, k: usize, device: &Device, quiet: bool) -> Result<Neighbours> {
    if k == 0 || k > base.rows {
        bail!("cannot take {k} neighbours from {} items", base.rows);
    }
    if base.dim == 0 || queries.len() % base.dim != 0 {
        bail!("query length {} is not a multiple of the feature length {}", queries.len(), base.dim);
    }
    let query_rows = queries.len() / base.dim;
    let base_t = upload(base.rows, base.dim, &base.values, device).transpose();
    let block = (BLOCK_VALUES / base.rows).clamp(1, 4096);
    let bar = progress::bar(query_rows as u64, "neighbours", quiet);
    let mut indices = Vec::with_capacity(query_rows * k);
    let mut similarities = Vec::with_capacity(query_rows * k);
    for start in (0..query_rows).step_by(block) {
        let end = (start + block).min(query_rows);
        let q = upload(end - start, base.dim, &queries[start * base.dim..end * base.dim], device);
        let block_similarities = q.matmul(base_t.clone());
        if is_wgpu(device) {
            let (values, positions): (Tensor<2>, Tensor<2, Int>) = block_similarities.topk_with_indices(k, 1);
            similarities.extend(read_f32(values, "similarities")?);
            indices.extend(read_indices(positions, "neighbour indices")?);
        } else {
            let values = read_f32(block_similarities, "similarities")?;
            let selected: Vec<(Vec<u32>, Vec<f32>)> = values.par_chunks(base.rows).map(|row| select_top(row, k)).collect();
            for (ids, sims) in selected {
                indices.extend(ids);
                similarities.extend(sims);
            }
        }
        bar.inc((end - start) as u64);
    }
    bar.finish_and_clear();
    Ok(Neighbours { k, indices, similarities })
}

/// The `k` largest values of `row` with their positions, largest first, ties to the lower index.
/// One pass that keeps the best `k` so far in order: almost every value is rejected by a single
/// comparison with the worst one kept.
fn select_top(row: &[f32], k: usize) -> (Vec<u32>, Vec<f32>) {
    use std::cmp::Ordering::Greater;
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    for (i, &value) in row.iter().enumerate() {
        if best.len() == k && value.total_cmp(&best[k - 1].0) != Greater {
            continue;
        }
        // After every kept value at least as large: equal values stay in index order.
        let at = best.partition_point(|(kept, _)| kept.total_cmp(&value) != std::cmp::Ordering::Less);
        best.insert(at, (value, i as u32));
        best.truncate(k);
    }
    best.into_iter().map(|(value, i)| (i, value)).unzip()
}

/// Every item's `k` nearest other items (itself left out).
pub fn all_neighbours(features: &Features, k: usize, device: &Device, quiet: bool) -> Result<Neighbours> {
    if features.rows < 2 {
        bail!("nearest neighbours need at least 2 items, got {}", features.rows);
    }
    let k = k.min(features.rows - 1);
    let with_self = search(&features.values, features, k + 1, device, quiet)?;
    Ok(drop_self(&with_self))
}

/// Removes each row's own index (or, if it is absent because of exact ties, the last entry).
pub fn drop_self(with_self: &Neighbours) -> Neighbours {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn features(rows: usize, dim: usize) -> Features {
        let mut values: Vec<f32> = (0..rows * dim).map(|i| (((i * 7919) % 113) as f32 - 56.0) / 56.0).collect();
        for row in values.chunks_mut(dim) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            row.iter_mut().for_each(|v| *v /= norm);
        }
        Features { rows, dim, values }
    }

    #[test]
    fn matches_brute_force() {
        let f = features(40, 7);
        let got = all_neighbours(&f, 3, &Device::flex(), true).unwrap();
        for q in 0..f.rows {
            let mut sims: Vec<(f32, usize)> = (0..f.rows)
                .filter(|&j| j != q)
                .map(|j| (f.row(q).iter().zip(f.row(j)).map(|(a, b)| a * b).sum(), j))
                .collect();
            sims.sort_by(|a, b| b.0.total_cmp(&a.0));
            let (ids, s) = got.row(q);
            for r in 0..3 {
                assert_eq!(ids[r] as usize, sims[r].1, "query {q} rank {r}");
                assert!((s[r] - sims[r].0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn selection_orders_by_value_then_index() {
        let row = [0.5, 0.9, 0.5, 0.9, -1.0, 0.7, f32::NEG_INFINITY];
        assert_eq!(select_top(&row, 4), (vec![1, 3, 5, 0], vec![0.9, 0.9, 0.7, 0.5]));
        assert_eq!(select_top(&row, 7).0, vec![1, 3, 5, 0, 2, 4, 6]);
        assert_eq!(select_top(&row, 1), (vec![1], vec![0.9]));
    }

    #[test]
    fn self_is_dropped_even_behind_a_duplicate() {
        let with_self = Neighbours { k: 3, indices: vec![1, 0, 2, 1, 0, 2], similarities: vec![1.0, 1.0, 0.5, 1.0, 1.0, 0.2] };
        let dropped = drop_self(&with_self);
        assert_eq!(dropped.indices, vec![1, 2, 0, 2]);
        assert_eq!(dropped.similarities, vec![1.0, 0.5, 1.0, 0.2]);
    }
}
