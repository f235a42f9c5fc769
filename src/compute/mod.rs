//! What every stage computes with: the device (wgpu or the CPU twin), our WGSL kernels, the CPU
//! matrix product our kernels' twins share (and the orthonormalisation built on it), and the
//! integer hash shared with the shaders.

pub mod device;
pub(crate) mod hash;
pub(crate) mod matmul;
pub(crate) mod memory;
pub(crate) mod orthonormal;
pub(crate) mod rng;
pub mod wgsl;
