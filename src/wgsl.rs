//! Our WGSL kernels (the files in `shaders/`) as kernels burn's wgpu runtime can launch.

use burn::backend::wgpu::{KernelSource, SourceTemplate};
use burn::cubecl::prelude::KernelId;

/// A WGSL compute shader with entry point `main`, compiled once per name and cached.
pub struct WgslKernel {
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
pub const HEBBIAN_UPDATE: WgslKernel = WgslKernel { name: "hebbian_update", source: include_str!("../shaders/hebbian_update.wgsl") };

/// `shaders/hopfield_async_sweep.wgsl`.
pub const HOPFIELD_ASYNC_SWEEP: WgslKernel =
    WgslKernel { name: "hopfield_async_sweep", source: include_str!("../shaders/hopfield_async_sweep.wgsl") };

/// `shaders/umap_layout_epoch.wgsl`.
pub const UMAP_LAYOUT_EPOCH: WgslKernel =
    WgslKernel { name: "umap_layout_epoch", source: include_str!("../shaders/umap_layout_epoch.wgsl") };
