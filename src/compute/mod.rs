//! What every stage computes with: the device (wgpu or the CPU twin), our WGSL kernels, the
//! feature matrix the stages after the encoder pass on, the CPU matrix product our kernels' twins
//! share, the linear algebra built on it (one home: [`linalg`]), and the integer hash shared with
//! the shaders.

pub mod device;
pub(crate) mod features;
pub(crate) mod hash;
pub(crate) mod linalg;
pub(crate) mod matmul;
pub(crate) mod memory;
pub(crate) mod prefetch;
pub(crate) mod rng;
pub(crate) mod wgsl;
