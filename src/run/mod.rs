//! The run folder: what `hebb encode` writes under `outputs/<name>/` and what `query`, `eval` and
//! `bench` read back. The file names are defined here once; [`writer`] writes a folder
//! atomically, [`reader`] opens a finished one, and [`npy`] and [`items`] are its file formats.

pub(crate) mod items;
pub(crate) mod npy;
pub(crate) mod reader;
pub(crate) mod shards;
pub(crate) mod writer;

pub(crate) use reader::Run;
pub(crate) use writer::{
    RunFolder, RunLock, check_replaceable, check_writable, write_atomically, write_atomically_with,
    write_folder_atomically,
};

/// The resolved config of the run (every default written out).
pub(crate) const CONFIG_FILE: &str = "config.toml";
/// The embeddings, `items x dim` float32, one L2-normalised row per item.
pub(crate) const FEATURES_FILE: &str = "features.npy";
/// `index,source,label,name` of every item.
pub(crate) const ITEMS_FILE: &str = "items.csv";
/// One row per training step and stage.
pub(crate) const TRAINING_LOG_FILE: &str = "training_log.csv";
/// The trained encoder's weights (a burn record).
pub(crate) const ENCODER_FILE: &str = "encoder.bpk";
/// Timings, sizes and the list of files.
pub(crate) const SUMMARY_FILE: &str = "summary.json";
/// `index,x,y,cluster,label,source` of every item.
pub(crate) const MAP_FILE: &str = "map.csv";
pub(crate) const CANVAS_FILE: &str = "canvas.png";
pub(crate) const CLUSTERS_FILE: &str = "clusters.png";
pub(crate) const MAP_CLUSTERS_FILE: &str = "map_clusters.png";
pub(crate) const MAP_LABELS_FILE: &str = "map_labels.png";
pub(crate) const NEIGHBOURS_FILE: &str = "neighbours.png";
pub(crate) const TRAINING_CHART_FILE: &str = "training.png";
pub(crate) const FILTERS_FILE: &str = "filters.png";
/// The interactive map, one self-contained page.
pub(crate) const MAP_HTML_FILE: &str = "map.html";
/// The files `hebb train` writes, which `hebb map` carries into the finished run.
pub(crate) const TRAINED_FILES: [&str; 5] =
    [CONFIG_FILE, ENCODER_FILE, TRAINING_LOG_FILE, TRAINING_CHART_FILE, FILTERS_FILE];
/// `source,reason` of every file the data set left out because it could not be decoded (written
/// only when there is one).
pub(crate) const SKIPPED_FILE: &str = "skipped.csv";
/// `hebb eval`'s scores.
pub(crate) const EVAL_FILE: &str = "eval.json";
