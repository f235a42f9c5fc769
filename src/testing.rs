//! What the integration tests (`tests/it/`) reach of the library. Every module is private to the
//! crate; beside `cli::main`, which the binary calls, this list is the crate's whole public
//! surface, and an item is public only because a test outside the crate needs it.

pub use crate::compute::device::{self, DeviceChoice};
pub use crate::compute::features::Features;
pub use crate::compute::wgsl::launch_count;
pub use crate::config::{
    Activation, CifarConfig, CifarLabels, ClusterConfig, ColorMode, DataSource, EncodeConfig, EncoderConfig,
    FeaturesConfig, FilterMode, FilterRule, FolderConfig, FolderLayout, GridOrder, LateralMode, LayoutThreads,
    MapConfig, MnistConfig, Normalise, SheetConfig, Split, Stl10Config, TrainingConfig,
};
pub use crate::data::{ImageSet, Part, cifar, folder, mnist, sheet, stl10};
pub use crate::encoder::HebbianEncoder;
pub use crate::encoder::filters::update_filters;
pub use crate::encoder::lateral::update_weights;
pub use crate::encoder::train::train;
pub use crate::hopfield::dynamics::{recall_async_batch, recall_sync};
pub use crate::hopfield::rules::{Rule, learn};
pub use crate::hopfield::schedule::Schedule;
pub use crate::hopfield::{Patterns, flip_fraction};
pub use crate::map::{cluster, pipeline, trustworthiness};
pub use crate::neighbours::all_neighbours;
pub use crate::progress::Progress;
pub use crate::render::browser;
pub use crate::run::npy::read_npy_f32;
