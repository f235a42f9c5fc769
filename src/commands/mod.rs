//! The commands, each a composition of the pipeline's stages: `encode` runs them in order (and
//! `train`, `embed` and `map` one at a time), `query`, `eval` and `view` answer from a finished
//! run folder, `hopfield` runs the associative-memory experiments, and `bench` measures them. No
//! command imports another; what two of them share lives in the stage it belongs to.

pub(crate) mod bench;
pub(crate) mod encode;
pub(crate) mod eval;
pub(crate) mod hopfield;
pub(crate) mod query;
pub(crate) mod view;
