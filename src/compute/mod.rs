//! What every stage computes with: the device (wgpu or the CPU twin), our WGSL kernels, the CPU
//! matrix product our kernels' twins share, and the integer hash shared with the shaders.

pub mod device;
pub mod hash;
pub mod matmul;
pub mod wgsl;
