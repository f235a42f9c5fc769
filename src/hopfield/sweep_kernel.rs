//! Launches `shaders/hopfield_async_sweep.wgsl`: asynchronous recall of many probes at once on
//! wgpu, one workgroup per probe. Its CPU twin is [`super::dynamics::recall_async_ordered`].

use anyhow::Result;
use burn::backend::Wgpu;
use burn::tensor::{Tensor, TensorData};

use super::schedule::Schedule;
use crate::compute::device::{is_wgpu, read_f32};
use crate::compute::wgsl;

/// Final states and sweeps per probe, or `None` when `weights` is not on a wgpu device.
pub(crate) fn recall(
    weights: &Tensor<2>,
    probes: &[f32],
    schedule: &Schedule,
) -> Option<Result<(Vec<f32>, Vec<usize>)>> {
    if !is_wgpu(&weights.device()) {
        return None;
    }
    Some(launch(weights.clone(), probes, schedule))
}

fn launch(weights: Tensor<2>, probes: &[f32], schedule: &Schedule) -> Result<(Vec<f32>, Vec<usize>)> {
    let device = weights.device();
    let n = schedule.n;
    let batch = probes.len() / n;
    let cues: Tensor<2> = Tensor::from_data(TensorData::new(probes.to_vec(), [batch, n]), &device);
    let weights = wgsl::wgpu_input(weights, &wgsl::HOPFIELD_ASYNC_SWEEP)?;
    let cues = wgsl::wgpu_input(cues, &wgsl::HOPFIELD_ASYNC_SWEEP)?;
    let client = weights.client.clone();
    let states = wgsl::empty_f32(&weights, vec![batch, n]);
    let sweeps = wgsl::empty_f32(&weights, vec![batch]);
    let orders = client.create_from_slice(bytemuck::cast_slice(&schedule.orders));
    let info = [
        n as u32,
        schedule.sweeps() as u32,
        batch as u32,
        schedule.t_start.to_bits(),
        schedule.t_end.to_bits(),
        schedule.seed,
    ];
    let info = client.create_from_slice(bytemuck::cast_slice(&info));
    wgsl::launch_1d(
        &states,
        wgsl::HOPFIELD_ASYNC_SWEEP,
        batch,
        vec![
            weights.handle.binding(),
            cues.handle.binding(),
            orders.binding(),
            states.handle.clone().binding(),
            sweeps.handle.clone().binding(),
            info.binding(),
        ],
    );
    let read = |t: Tensor<1>| read_f32(t, "recall results");
    let states = Tensor::<2>::from_primitive::<Wgpu>(states).reshape([batch * n]);
    let sweeps = Tensor::<1>::from_primitive::<Wgpu>(sweeps);
    Ok((read(states)?, read(sweeps)?.into_iter().map(|s| s as usize).collect()))
}
