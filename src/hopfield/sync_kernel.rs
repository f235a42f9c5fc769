//! Launches `shaders/hopfield_sync_step.wgsl`: one synchronous update of a few probes with a
//! dense W on wgpu, reading W once for all of them. Its CPU twin is
//! [`super::dynamics::sync_update`] of the matrix product; [`super::dynamics::dense_sync_step`]
//! picks between the two.

use anyhow::Result;
use burn::backend::Wgpu;
use burn::tensor::Tensor;

use crate::compute::device::is_wgpu;
use crate::compute::wgsl;

/// Probes one launch updates (the shader's `MAX_PROBES`).
pub(crate) const MAX_PROBES: usize = 8;

/// The next states of `states` (`probes x n`, at most [`MAX_PROBES`] rows) under `weights`
/// (`n x n`, symmetric), or `None` when not on a wgpu device or with too many probes. An error if
/// the kernel cannot run.
pub(crate) fn step(weights: &Tensor<2>, states: &Tensor<2>) -> Option<Result<Tensor<2>>> {
    let probes = states.dims()[0];
    if !is_wgpu(&states.device()) || probes > MAX_PROBES {
        return None;
    }
    Some(launch(weights.clone(), states.clone()))
}

fn launch(weights: Tensor<2>, states: Tensor<2>) -> Result<Tensor<2>> {
    let [probes, n] = states.dims();
    let weights = wgsl::wgpu_input(weights, &wgsl::HOPFIELD_SYNC_STEP)?;
    let states = wgsl::wgpu_input(states, &wgsl::HOPFIELD_SYNC_STEP)?;
    let client = weights.client.clone();
    let next = wgsl::empty_f32(&weights, vec![probes, n]);
    let info = client.create_from_slice(bytemuck::cast_slice(&[n as u32, probes as u32]));
    wgsl::launch_1d(
        &next,
        wgsl::HOPFIELD_SYNC_STEP,
        n,
        vec![weights.handle.binding(), states.handle.binding(), next.handle.clone().binding(), info.binding()],
    );
    Ok(Tensor::<2>::from_primitive::<Wgpu>(next))
}
