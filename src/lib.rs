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
//! `tests/it/architecture.rs` checks.

pub mod choice;
pub mod cli;
pub mod commands;
pub mod compute;
pub mod config;
pub mod data;
pub mod encoder;
pub mod eval;
pub mod hopfield;
pub mod map;
pub mod neighbours;
pub mod progress;
pub mod render;
pub mod run;
