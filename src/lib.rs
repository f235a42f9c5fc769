//! hebb: Hebbian convolutional image encoders on the GPU (burn + wgpu) with a CPU twin.
//!
//! The modules follow the pipeline: [`config`] -> [`data`] -> [`encoder`] -> [`train`] ->
//! [`features`] -> [`knn`] -> [`map`] and [`cluster`] -> [`render`] -> [`run_folder`];
//! [`encode`] runs them in order, [`query`] and [`eval`] answer from a finished run, [`device`]
//! picks where, and [`bench`] measures. [`hopfield`] stands beside them: associative memories
//! sharing the device selection, image helpers and renders. [`wgsl`] holds our shaders and
//! [`matmul`] the matrix product our CPU kernels share. [`cli`] is the command line over all of it.

pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod data;
pub mod device;
pub mod embedded;
pub mod encode;
pub mod encoder;
pub mod eval;
pub mod features;
pub mod hash;
pub mod hopfield;
pub mod knn;
pub mod map;
pub mod matmul;
pub mod progress;
pub mod query;
pub mod render;
pub mod run_folder;
pub mod train;
pub mod wgsl;
