//! The run folder: what `hebb encode` writes under `outputs/<name>/` and what `query`, `eval` and
//! `bench` read back. The file names are defined here once; [`writer`] writes a folder
//! atomically, [`reader`] opens a finished one, and [`npy`] and [`items`] are its file formats.

pub mod items;
pub mod npy;
pub mod reader;
pub mod writer;

pub use reader::Run;
pub use writer::{RunFolder, write_atomically};

/// The resolved config of the run (every default written out).
pub const CONFIG_FILE: &str = "config.toml";
/// The embeddings, `items x dim` float32, one L2-normalised row per item.
pub const FEATURES_FILE: &str = "features.npy";
/// `index,source,label` of every item.
pub const ITEMS_FILE: &str = "items.csv";
/// One row per training step and stage.
pub const TRAINING_LOG_FILE: &str = "training_log.csv";
/// The trained encoder's weights (a burn record).
pub const ENCODER_FILE: &str = "encoder.bpk";
/// Timings, sizes and the list of files.
pub const SUMMARY_FILE: &str = "summary.json";
/// `index,x,y,cluster,label,source` of every item.
pub const MAP_FILE: &str = "map.csv";
pub const CANVAS_FILE: &str = "canvas.png";
pub const CLUSTERS_FILE: &str = "clusters.png";
pub const MAP_CLUSTERS_FILE: &str = "map_clusters.png";
pub const MAP_LABELS_FILE: &str = "map_labels.png";
pub const NEIGHBOURS_FILE: &str = "neighbours.png";
pub const TRAINING_CHART_FILE: &str = "training.png";
pub const FILTERS_FILE: &str = "filters.png";
/// `hebb eval`'s scores.
pub const EVAL_FILE: &str = "eval.json";
