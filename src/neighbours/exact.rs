//! Exact cosine nearest neighbours over L2-normalised features, as blocked matrix products on
//! the run's device: a block of query rows times the transposed base gives similarities, and
//! only each row's top k leave the device. No N x N matrix is ever formed, so 100,000 x 4,608
//! runs in the memory of the base plus one block. On wgpu the top k are selected on the device;
//! on the CPU (flex) the block is selected in parallel in Rust, which is much faster than a
//! full sort of every row. Ties go to the lower index.
//!
//! Every item against every item ([`search_all`]) on the CPU uses the symmetry of the
//! similarity matrix S = XXᵀ: each block of rows is multiplied only with itself and the rows
//! after it, and each value S[i][j] is offered both to row i's and to row j's top k. That is
//! half the multiply-adds of the plain path, with the same result up to float rounding (a value
//! computed as S[i][j] instead of S[j][i] can break an exact near-tie the other way).

use anyhow::{Result, bail};
use burn::tensor::{Device, Int, Tensor, TensorData};

use rayon::prelude::*;

use super::Neighbours;
use crate::compute::device::{is_wgpu, read_f32, read_indices};
use crate::compute::features::Features;
use crate::compute::matmul::{self, View};
use crate::progress::Progress;

/// Similarity values one block may hold on the device (256 MiB of f32).
const BLOCK_VALUES: usize = 64 << 20;

fn upload(rows: usize, dim: usize, values: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [rows, dim]), device)
}

/// Top `k` base rows for every query row (`queries` is `m x dim`, row-major).
pub(crate) fn search(
    queries: &[f32],
    base: &Features,
    k: usize,
    device: &Device,
    progress: Progress,
) -> Result<Neighbours> {
    if k == 0 || k > base.rows {
        bail!("cannot take {k} neighbours from {} items", base.rows);
    }
    if base.dim == 0 || !queries.len().is_multiple_of(base.dim) {
        bail!("query length {} is not a multiple of the feature length {}", queries.len(), base.dim);
    }
    let query_rows = queries.len() / base.dim;
    let base_t = upload(base.rows, base.dim, &base.values, device).transpose();
    let block = (BLOCK_VALUES / base.rows).clamp(1, 4096);
    let bar = progress.bar(query_rows as u64, "neighbours");
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
            let selected: Vec<(Vec<u32>, Vec<f32>)> =
                values.par_chunks(base.rows).map(|row| select_top(row, k)).collect();
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

/// The `k` largest values offered so far with their indices, largest first. Offered in
/// increasing index order, equal values keep that order (ties to the lower index). Almost every
/// value is rejected by a single comparison with the worst one kept.
#[derive(Clone)]
struct Best {
    k: usize,
    kept: Vec<(f32, u32)>,
}

impl Best {
    fn new(k: usize) -> Best {
        Best { k, kept: Vec::with_capacity(k + 1) }
    }

    fn offer(&mut self, value: f32, index: u32) {
        use std::cmp::Ordering::{Greater, Less};
        if self.kept.len() == self.k && value.total_cmp(&self.kept[self.k - 1].0) != Greater {
            return;
        }
        // After every kept value at least as large: equal values stay in offer order.
        let at = self.kept.partition_point(|(kept, _)| kept.total_cmp(&value) != Less);
        self.kept.insert(at, (value, index));
        self.kept.truncate(self.k);
    }

    fn into_parts(self) -> (Vec<u32>, Vec<f32>) {
        self.kept.into_iter().map(|(value, i)| (i, value)).unzip()
    }
}

/// The `k` largest values of `row` with their positions, largest first, ties to the lower index.
fn select_top(row: &[f32], k: usize) -> (Vec<u32>, Vec<f32>) {
    let mut best = Best::new(k);
    for (i, &value) in row.iter().enumerate() {
        best.offer(value, i as u32);
    }
    best.into_parts()
}

/// Every item's top `k` among all items, itself included (so its first entry is usually
/// itself): the symmetric CPU path off wgpu, the blocked device path on it.
pub(crate) fn search_all(features: &Features, k: usize, device: &Device, progress: Progress) -> Result<Neighbours> {
    if is_wgpu(device) {
        return search(&features.values, features, k, device, progress);
    }
    if k == 0 || k > features.rows {
        bail!("cannot take {k} neighbours from {} items", features.rows);
    }
    Ok(search_all_symmetric(features, k, progress))
}

/// Columns one task offers to at a time in the transposed pass (their lists stay in L1).
const COLUMN_CHUNK: usize = 64;

/// [`search_all`] on the CPU over the upper triangle of S, one block of rows at a time: the
/// block's rows take their values from their own row of the block, and the later rows take
/// theirs from its columns. Values reach every row in increasing index order, as in
/// [`select_top`].
fn search_all_symmetric(features: &Features, k: usize, progress: Progress) -> Neighbours {
    let (n, dim, x) = (features.rows, features.dim, &features.values);
    let block = (BLOCK_VALUES / n).clamp(1, 1024).min(n);
    let mut lists = vec![Best::new(k); n];
    let mut similarities = vec![0.0f32; block * n];
    let bar = progress.bar(n as u64, "neighbours");
    for i0 in (0..n).step_by(block) {
        let height = block.min(n - i0);
        let width = n - i0;
        let s = &mut similarities[..height * width];
        // s[r][c] = x[i0 + r] · x[i0 + c] for the block's rows and every column from i0 on.
        let from = &x[i0 * dim..];
        matmul::product(height, width, dim, View::rows(from, dim), View::transposed(from, dim), s, true);
        let s = &*s;
        let (own, later) = lists[i0..].split_at_mut(height);
        rayon::join(
            || {
                own.par_iter_mut().enumerate().for_each(|(r, best)| {
                    for (c, &value) in s[r * width..(r + 1) * width].iter().enumerate() {
                        best.offer(value, (i0 + c) as u32);
                    }
                })
            },
            || {
                later.par_chunks_mut(COLUMN_CHUNK).enumerate().for_each(|(chunk, bests)| {
                    let c0 = height + chunk * COLUMN_CHUNK;
                    for r in 0..height {
                        let values = &s[r * width + c0..r * width + c0 + bests.len()];
                        for (best, &value) in bests.iter_mut().zip(values) {
                            best.offer(value, (i0 + r) as u32);
                        }
                    }
                })
            },
        );
        bar.inc(height as u64);
    }
    bar.finish_and_clear();
    let mut out = Neighbours { k, indices: Vec::with_capacity(n * k), similarities: Vec::with_capacity(n * k) };
    for best in lists {
        let (ids, sims) = best.into_parts();
        out.indices.extend(ids);
        out.similarities.extend(sims);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::all_neighbours;
    use crate::neighbours::tests::features;

    #[test]
    fn matches_brute_force() {
        let f = features(40, 7);
        let got = all_neighbours(&f, 3, &Device::flex(), Progress::Hidden).unwrap();
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
    fn symmetric_path_matches_the_plain_path() {
        // More rows than one block holds, so that rows take values from earlier blocks' columns.
        let (rows, dim) = (1500, 9);
        let mut values: Vec<f32> =
            (0..rows * dim).map(|i| (crate::compute::hash::pcg(i as u32) % 2001) as f32 / 1000.0 - 1.0).collect();
        for row in values.chunks_mut(dim) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            row.iter_mut().for_each(|v| *v /= norm);
        }
        let f = Features { rows, dim, values };
        let plain = search(&f.values, &f, 6, &Device::flex(), Progress::Hidden).unwrap();
        let symmetric = search_all_symmetric(&f, 6, Progress::Hidden);
        assert_eq!(symmetric.indices, plain.indices);
        for (a, b) in symmetric.similarities.iter().zip(&plain.similarities) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn selection_orders_by_value_then_index() {
        let row = [0.5, 0.9, 0.5, 0.9, -1.0, 0.7, f32::NEG_INFINITY];
        assert_eq!(select_top(&row, 4), (vec![1, 3, 5, 0], vec![0.9, 0.9, 0.7, 0.5]));
        assert_eq!(select_top(&row, 7).0, vec![1, 3, 5, 0, 2, 4, 6]);
        assert_eq!(select_top(&row, 1), (vec![1], vec![0.9]));
    }
}
