//! hebb: Hebbian convolutional image encoders on the GPU (burn + wgpu) with a CPU twin.
//!
//! The modules follow the pipeline: [`config`] -> [`data`] -> [`encoder`] -> [`train`] ->
//! [`features`] -> [`run_folder`]; [`encode`] runs them in order, [`device`] picks where, and
//! [`bench`] measures them. [`cli`] is the command line over all of it.

pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod embedded;
pub mod encode;
pub mod encoder;
pub mod features;
pub mod progress;
pub mod run_folder;
pub mod train;
