//! Launches `shaders/umap_layout_epoch.wgsl` once per epoch: the layout optimisation with every
//! edge in parallel on wgpu. Its CPU twin is [`super::layout::optimise`], which runs the same
//! steps (and draws the same negative samples) with the edges in order.

use anyhow::Result;
use burn::backend::Wgpu;
use burn::backend::wgpu::CubeTensor;
use burn::tensor::{Device, Tensor, TensorData};

use super::layout::{Edges, LayoutParams};
use crate::compute::device::{is_wgpu, read_f32};
use crate::compute::wgsl;

fn upload(values: Vec<f32>, device: &Device) -> Result<CubeTensor> {
    let len = values.len();
    wgsl::wgpu_input(Tensor::<1>::from_data(TensorData::new(values, [len]), device), &wgsl::UMAP_LAYOUT_EPOCH)
}

/// Optimises `embedding` on `device`; `None` when it is not a wgpu device, an error if the kernel
/// cannot run.
pub(crate) fn optimise(
    embedding: &mut [[f32; 2]],
    edges: &Edges,
    params: &LayoutParams,
    device: &Device,
    on_epoch: impl FnMut(usize),
) -> Option<Result<()>> {
    is_wgpu(device).then(|| launch(embedding, edges, params, device, on_epoch))
}

fn launch(
    embedding: &mut [[f32; 2]],
    edges: &Edges,
    params: &LayoutParams,
    device: &Device,
    mut on_epoch: impl FnMut(usize),
) -> Result<()> {
    let n = embedding.len();
    if n < 2 || edges.is_empty() {
        return Ok(());
    }
    let negative_rate = params.negative_sample_rate.max(1) as f32;
    let next_negative: Vec<f32> = edges.per_sample.iter().map(|e| e / negative_rate).collect();
    let coordinates = upload(embedding.iter().flatten().copied().collect(), device)?;
    let per_sample = upload(edges.per_sample.clone(), device)?;
    let next_sample = upload(edges.per_sample.clone(), device)?;
    let next_negative = upload(next_negative, device)?;
    let client = coordinates.client.clone();
    let head = client.create_from_slice(bytemuck::cast_slice(&edges.heads()));
    let tail = client.create_from_slice(bytemuck::cast_slice(&edges.tail));
    let groups = edges.len().div_ceil(256);
    for epoch in 0..params.epochs {
        let alpha = params.learning_rate * (1.0 - epoch as f32 / params.epochs as f32);
        let info = [
            edges.len() as u32,
            n as u32,
            epoch as u32,
            alpha.to_bits(),
            params.a.to_bits(),
            params.b.to_bits(),
            params.repulsion_strength.to_bits(),
            params.seed as u32,
            negative_rate.to_bits(),
        ];
        wgsl::launch_1d(
            &coordinates,
            wgsl::UMAP_LAYOUT_EPOCH,
            groups,
            vec![
                coordinates.handle.clone().binding(),
                head.clone().binding(),
                tail.clone().binding(),
                per_sample.handle.clone().binding(),
                next_sample.handle.clone().binding(),
                next_negative.handle.clone().binding(),
                client.create_from_slice(bytemuck::cast_slice(&info)).binding(),
            ],
        );
        on_epoch(epoch);
    }
    let values = read_f32(Tensor::<1>::from_primitive::<Wgpu>(coordinates), "the map")?;
    for (point, xy) in embedding.iter_mut().zip(values.chunks(2)) {
        *point = [xy[0], xy[1]];
    }
    Ok(())
}
