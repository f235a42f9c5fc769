//! Integration tests: loaders on data made in the test, config errors, the CPU/GPU twin, and
//! `hebb encode` end to end.

mod architecture;
mod common;
mod config_errors;
mod data_loading;
mod docs;
mod encode_cli;
mod gpu_twin;
mod hard_edges;
mod hopfield_cli;
mod map_html;
mod map_layout;
mod quality_suite;
mod safe_outputs;
mod shards;
