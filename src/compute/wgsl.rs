//! Our WGSL kernels (the files in `shaders/`) as kernels burn's wgpu runtime can launch.

use burn::backend::wgpu::{CubeDim, CubeTensor, KernelSource, SourceKernel, SourceTemplate};
use burn::cubecl::CubeCount;
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::{BufferBinding, KernelArguments};
use burn::tensor::{DType, Shape};

/// A WGSL compute shader with entry point `main`, compiled once per name and cached.
pub(crate) struct WgslKernel {
    pub name: &'static str,
    pub source: &'static str,
}

impl KernelSource for WgslKernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(self.source)
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(self.name)
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// `shaders/hebbian_update.wgsl`.
pub(crate) const HEBBIAN_UPDATE: WgslKernel =
    WgslKernel { name: "hebbian_update", source: include_str!("../../shaders/hebbian_update.wgsl") };

/// `shaders/hopfield_async_sweep.wgsl`.
pub(crate) const HOPFIELD_ASYNC_SWEEP: WgslKernel =
    WgslKernel { name: "hopfield_async_sweep", source: include_str!("../../shaders/hopfield_async_sweep.wgsl") };

/// `shaders/umap_layout_epoch.wgsl`.
pub(crate) const UMAP_LAYOUT_EPOCH: WgslKernel =
    WgslKernel { name: "umap_layout_epoch", source: include_str!("../../shaders/umap_layout_epoch.wgsl") };

/// `shaders/hopfield_sync_step.wgsl`.
pub(crate) const HOPFIELD_SYNC_STEP: WgslKernel =
    WgslKernel { name: "hopfield_sync_step", source: include_str!("../../shaders/hopfield_sync_step.wgsl") };

/// Largest workgroup count along one dispatch dimension.
const MAX_GROUPS_PER_DIMENSION: usize = 65_535;

/// A dispatch of `groups` workgroups, folded into a second dimension past the per-dimension
/// limit (the shaders number a workgroup `group.y * groups.x + group.x` and skip the surplus).
pub(crate) fn workgroups(groups: usize) -> CubeCount {
    let (x, y) = if groups <= MAX_GROUPS_PER_DIMENSION {
        (groups, 1)
    } else {
        (MAX_GROUPS_PER_DIMENSION, groups.div_ceil(MAX_GROUPS_PER_DIMENSION))
    };
    CubeCount::Static(x as u32, y as u32, 1)
}

/// Threads per workgroup of every one-dimensional shader here (their `@workgroup_size`).
const THREADS_1D: u32 = 256;

/// Launches a one-dimensional `kernel` over `groups` workgroups ([`workgroups`]) on the device
/// of `like`, with `buffers` bound in order.
pub(crate) fn launch_1d(like: &CubeTensor, kernel: WgslKernel, groups: usize, buffers: Vec<BufferBinding>) {
    like.client.launch(
        Box::new(SourceKernel::new(kernel, CubeDim::new_1d(THREADS_1D))),
        workgroups(groups),
        KernelArguments::new().with_buffers(buffers),
    );
}

/// An uninitialised f32 tensor of `shape` on the device of `like`, for a kernel to write.
pub(crate) fn empty_f32(like: &CubeTensor, shape: Vec<usize>) -> CubeTensor {
    let client = like.client.clone();
    let bytes = shape.iter().product::<usize>() * DType::F32.size();
    CubeTensor::new_contiguous(client.clone(), like.device.clone(), Shape::from(shape), client.empty(bytes), DType::F32)
}
