//! hebb: Hebbian convolutional image encoders on the GPU (burn + wgpu) with a CPU twin.
//!
//! The folders follow the pipeline, each stage depending only on the ones before it:
//!
//! - [`config`]: the TOML schema of a run, parsed and validated;
//! - [`data`]: images from a sprite sheet, a folder or MNIST, brought to one size;
//! - [`encoder`]: the Hebbian conv encoder, its training and its feature read-out;
//! - [`neighbours`]: cosine nearest neighbours of the features, exact or by NN-descent;
//! - [`map`]: the 2-D UMAP layout over the neighbours and K-Means clusters of the features;
//! - [`eval`]: an embedding's scores against labels, beside random filters and raw pixels;
//! - [`render`]: the pictures (canvases, charts, neighbour grids);
//! - [`run`]: the run folder, written atomically and read back.
//!
//! [`commands`] composes them into `encode`, `query`, `eval`, `view`, `hopfield` and `bench`, none
//! of which imports another. [`hopfield`] stands beside the pipeline: associative memories sharing
//! the device selection, image helpers and renders. [`compute`] is what every stage computes with:
//! the device, our WGSL kernels, the feature matrix, the CPU matrix product, the linear algebra
//! and the hash shared with the shaders. [`cli`] is the command line over all of it, and the only
//! module that knows clap. ARCHITECTURE.md has the code map and the invariants
//! `tests/it/architecture.rs` checks. Every module is private to the crate: [`testing`] lists
//! what the integration tests reach.

pub(crate) mod choice;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod compute;
pub(crate) mod config;
pub(crate) mod data;
pub(crate) mod encoder;
pub(crate) mod eval;
pub(crate) mod hopfield;
pub(crate) mod map;
pub(crate) mod neighbours;
pub(crate) mod progress;
pub(crate) mod render;
pub(crate) mod run;
pub mod testing;
