//! The fused Hebbian update on wgpu: `shaders/hebbian_update.wgsl` computes ΔW = clamp(η·AᵀA)
//! tile by tile, adds it to W and reduces |ΔW|, without ever writing ΔW to device memory. Its
//! CPU twin is the plain tensor path in [`super::lateral`]; the tests compare the two.

use burn::backend::wgpu::{CubeDim, CubeTensor, SourceKernel, into_contiguous};
use burn::backend::Wgpu;
use burn::cubecl::CubeCount;
use burn::cubecl::server::KernelArguments;
use burn::tensor::Tensor;

use crate::device::is_wgpu;
use crate::wgsl;

/// Side of the square tile one workgroup computes (the shader's `TILE`).
const TILE: usize = 16;

/// `W + clamp(scale · AᵀA, -1, 1)` and the sum of |clamp(scale · AᵀA, -1, 1)|, for `A` of shape
/// `[rows, n]` and `W` of shape `[n, n]` on a wgpu device. `None` on any other device.
pub fn shared_update(activations: Tensor<2>, weights: Tensor<2>, scale: f32) -> Option<(Tensor<2>, Tensor<1>)> {
    if !is_wgpu(&activations.device()) {
        return None;
    }
    let [rows, n] = activations.dims();
    let activations: CubeTensor = into_contiguous(activations.try_into_primitive::<Wgpu>().ok()?);
    let weights: CubeTensor = into_contiguous(weights.try_into_primitive::<Wgpu>().ok()?);
    let client = activations.client.clone();
    let tiles = n.div_ceil(TILE);
    let weights_out = wgsl::empty_f32(&activations, vec![n, n]);
    let partial = wgsl::empty_f32(&activations, vec![tiles * tiles]);
    let info = [rows as u32, n as u32, scale.to_bits()];
    let info = client.create_from_slice(bytemuck::cast_slice(&info));

    let cube_dim = CubeDim::new_2d(TILE as u32, TILE as u32);
    client.launch(
        Box::new(SourceKernel::new(wgsl::HEBBIAN_UPDATE, cube_dim)),
        CubeCount::Static(tiles as u32, tiles as u32, 1),
        KernelArguments::new().with_buffers(vec![
            activations.handle.binding(),
            weights.handle.binding(),
            weights_out.handle.clone().binding(),
            partial.handle.clone().binding(),
            info.binding(),
        ]),
    );
    let weights_out = Tensor::<2>::from_primitive::<Wgpu>(weights_out);
    let delta_sum = Tensor::<1>::from_primitive::<Wgpu>(partial).sum();
    Some((weights_out, delta_sum))
}
