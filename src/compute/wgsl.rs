//! Our WGSL kernels (the files in `shaders/`) as kernels burn's wgpu runtime can launch, and the
//! per-thread launch counts that the twin tests read to prove a kernel really ran.

use std::cell::Cell;

use anyhow::{Result, anyhow};
use burn::backend::Wgpu;
use burn::backend::wgpu::{CubeDim, CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous};
use burn::cubecl::CubeCount;
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::{BufferBinding, KernelArguments};
use burn::tensor::{DType, Shape, Tensor};

/// A WGSL compute shader with entry point `main`, compiled once per name and cached.
pub(crate) struct WgslKernel {
    pub name: &'static str,
    pub source: &'static str,
    /// Its place in [`KERNELS`] and in the launch counts.
    pub index: usize,
}

/// The names of our kernels, in their `index` order.
pub(crate) const KERNELS: [&str; 4] =
    ["hebbian_update", "hopfield_async_sweep", "umap_layout_epoch", "hopfield_sync_step"];

thread_local! {
    /// Launches of each kernel from this thread.
    static LAUNCHES: [Cell<usize>; KERNELS.len()] = Default::default();
}

/// How many times this thread has launched the kernel named `name` (one of [`KERNELS`]); 0 for
/// an unknown name.
pub fn launch_count(name: &str) -> usize {
    KERNELS.iter().position(|&k| k == name).map_or(0, |i| LAUNCHES.with(|counts| counts[i].get()))
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
    WgslKernel { name: KERNELS[0], source: include_str!("../../shaders/hebbian_update.wgsl"), index: 0 };

/// `shaders/hopfield_async_sweep.wgsl`.
pub(crate) const HOPFIELD_ASYNC_SWEEP: WgslKernel =
    WgslKernel { name: KERNELS[1], source: include_str!("../../shaders/hopfield_async_sweep.wgsl"), index: 1 };

/// `shaders/umap_layout_epoch.wgsl`.
pub(crate) const UMAP_LAYOUT_EPOCH: WgslKernel =
    WgslKernel { name: KERNELS[2], source: include_str!("../../shaders/umap_layout_epoch.wgsl"), index: 2 };

/// `shaders/hopfield_sync_step.wgsl`.
pub(crate) const HOPFIELD_SYNC_STEP: WgslKernel =
    WgslKernel { name: KERNELS[3], source: include_str!("../../shaders/hopfield_sync_step.wgsl"), index: 3 };

/// The contiguous wgpu tensor behind `tensor`, an input of `kernel`. A launcher calls it only on
/// a wgpu device, where burn always holds a wgpu tensor; should it not, this is an error naming
/// the kernel, never a silent fall back to another path.
pub(crate) fn wgpu_input<const D: usize>(tensor: Tensor<D>, kernel: &WgslKernel) -> Result<CubeTensor> {
    tensor.try_into_primitive::<Wgpu>().map(into_contiguous).map_err(|_| {
        anyhow!("kernel `{}`: an input on the wgpu device is not a wgpu tensor, so the kernel cannot run", kernel.name)
    })
}

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

/// Launches `kernel` with workgroups of `cube_dim` over `count` on the device of `like`, with
/// `buffers` bound in order, and counts the launch.
pub(crate) fn launch(
    like: &CubeTensor,
    kernel: WgslKernel,
    cube_dim: CubeDim,
    count: CubeCount,
    buffers: Vec<BufferBinding>,
) {
    LAUNCHES.with(|counts| counts[kernel.index].set(counts[kernel.index].get() + 1));
    like.client.launch(
        Box::new(SourceKernel::new(kernel, cube_dim)),
        count,
        KernelArguments::new().with_buffers(buffers),
    );
}

/// Launches a one-dimensional `kernel` over `groups` workgroups ([`workgroups`]) ([`launch`]).
pub(crate) fn launch_1d(like: &CubeTensor, kernel: WgslKernel, groups: usize, buffers: Vec<BufferBinding>) {
    launch(like, kernel, CubeDim::new_1d(THREADS_1D), workgroups(groups), buffers);
}

/// An uninitialised f32 tensor of `shape` on the device of `like`, for a kernel to write.
pub(crate) fn empty_f32(like: &CubeTensor, shape: Vec<usize>) -> CubeTensor {
    let client = like.client.clone();
    let bytes = shape.iter().product::<usize>() * DType::F32.size();
    CubeTensor::new_contiguous(client.clone(), like.device.clone(), Shape::from(shape), client.empty(bytes), DType::F32)
}
