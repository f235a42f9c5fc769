//! The `hebb hopfield` commands' options, and each one's arguments turned into its settings
//! (checked by the settings themselves, [`crate::hopfield::params`]) and handed to the command.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use super::{DeviceArgs, at_least};
use crate::commands::hopfield::{self, Cue};
use crate::compute::device;
use crate::config::check_folder_name;
use crate::data::embedded::{EMBEDDED_SHEET, MNIST_IMAGES, MNIST_LABELS, REPAIR_PICTURE};
use crate::hopfield::dynamics::Dynamics;
use crate::hopfield::network::{self, PatternSource};
use crate::hopfield::params::{CapacityParams, RepairParams, TableParams};
use crate::hopfield::rules::Rule;
use crate::hopfield::{Binarise, Corruption};

#[derive(Debug, Subcommand)]
pub(crate) enum HopfieldCommand {
    /// The self-repairing picture: store an image, corrupt it, recall it; writes strip.png
    /// (original | corrupted | recalled), recall.gif and summary.json.
    Repair(RepairArgs),
    /// Store images (a folder, a sprite sheet, MNIST digits) or random patterns in a network saved to a run
    /// folder, with a heatmap of their pairwise overlaps.
    Store(StoreArgs),
    /// Recall a cue (an image file, or a mixture of stored patterns) in a stored network and
    /// report the attractor it reaches.
    Recall(RecallArgs),
    /// Accuracy of recalling a noisy MNIST 0 against noise (0-45%), the number of stored digits
    /// and sweeps; printed, and written as table.txt and table.png.
    Table(TableArgs),
    /// Recall success against load α = P/N for random patterns or MNIST digits, per rule;
    /// writes capacity.csv and capacity.png (with the 90% line).
    Capacity(CapacityArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CapacityArgs {
    /// Neurons N (random patterns).
    #[arg(long, default_value_t = 1000, value_parser = at_least(2))]
    pub neurons: usize,
    /// Store MNIST digits from this IDX file instead of random patterns (N = --side²); `--mnist`
    /// alone uses the shipped first 1,000 test digits.
    #[arg(long, num_args = 0..=1, default_missing_value = MNIST_IMAGES)]
    pub mnist: Option<PathBuf>,
    /// Side the digits are resized to, with --mnist.
    #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(2..))]
    pub side: u32,
    /// Rules to compare.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Rule::Hebbian, Rule::Storkey, Rule::PseudoInverse])]
    pub rules: Vec<Rule>,
    /// Loads α = P/N to measure (comma-separated); default 0.025, 0.05, ..., 0.6.
    #[arg(long, value_delimiter = ',')]
    pub loads: Vec<f64>,
    /// Fraction of states flipped in each cue.
    #[arg(long, default_value_t = 0.05)]
    pub noise: f64,
    /// Cues per stored pattern.
    #[arg(long, default_value_t = 1, value_parser = at_least(1))]
    pub trials: usize,
    /// Overlap a recall must reach to count as a success.
    #[arg(long, default_value_t = 0.95)]
    pub threshold: f32,
    #[arg(long, value_enum, default_value_t = Dynamics::Sync)]
    pub dynamics: Dynamics,
    #[arg(long, default_value_t = 30, value_parser = at_least(1))]
    pub max_iterations: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value = "capacity")]
    pub name: String,
    #[arg(long, default_value = "outputs")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Sprites `store` takes from the embedded sheet when no source is given.
const DEFAULT_SPRITES: usize = 10;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").args(["folder", "sheet", "mnist", "random"])))]
pub(crate) struct StoreArgs {
    /// A folder of images (searched recursively). With no source at all, the first 10 sprites of
    /// the embedded Twemoji sheet (or --limit of them).
    #[arg(long)]
    pub folder: Option<PathBuf>,
    /// A sprite sheet (see --tile and --border).
    #[arg(long)]
    pub sheet: Option<PathBuf>,
    /// Sprite side in the sheet, with --sheet.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub tile: u32,
    /// Transparent border around each sprite, with --sheet.
    #[arg(long, default_value_t = 1)]
    pub border: u32,
    /// An MNIST IDX image file (raw or .gz).
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// This many random patterns.
    #[arg(long)]
    pub random: Option<usize>,
    /// Keep at most this many images (0 keeps all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(2..))]
    pub side: u32,
    #[arg(long, value_enum, default_value_t = Binarise::Mean)]
    pub binarise: Binarise,
    #[arg(long, value_enum, default_value_t = Rule::Storkey)]
    pub rule: Rule,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value = "network")]
    pub name: String,
    #[arg(long, default_value = "outputs")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("cue").required(true).args(["image", "mix"])))]
pub(crate) struct RecallArgs {
    /// Network folder written by `hebb hopfield store`.
    #[arg(long)]
    pub network: PathBuf,
    /// An image file as the cue.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Stored patterns whose mixture (the sign of their average) is the cue, e.g. 0,3,5.
    #[arg(long, value_delimiter = ',')]
    pub mix: Vec<usize>,
    /// Fraction of the cue's pixels flipped before recall.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    #[arg(long, default_value_t = 50, value_parser = at_least(1))]
    pub max_iterations: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct TableArgs {
    /// MNIST IDX image file (raw or .gz); by default the shipped first 1,000 test digits.
    #[arg(long, default_value = MNIST_IMAGES)]
    pub mnist: PathBuf,
    /// The matching IDX label file.
    #[arg(long, default_value = MNIST_LABELS)]
    pub labels: PathBuf,
    #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(2..))]
    pub side: u32,
    /// Networks store the digits 0..k for k = 1..max-digits.
    #[arg(long, default_value_t = 9, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10))]
    pub max_digits: usize,
    /// Sweep counts to compare.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 5, 10], value_parser = at_least(1))]
    pub sweeps: Vec<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value = "table")]
    pub name: String,
    #[arg(long, default_value = "outputs")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// The corruptions `repair` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CorruptionKind {
    Flip,
    SaltPepper,
    PerRow,
    Rectangle,
    BottomHalf,
}

#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// The image to store and repair (PNG, JPEG, ...); by default a Twemoji sprite compiled into
    /// the binary (data/emoji-twitter/grinning.png).
    #[arg(long, default_value = REPAIR_PICTURE)]
    pub image: PathBuf,
    /// More images to store beside it.
    #[arg(long)]
    pub also: Vec<PathBuf>,
    /// Side the images are resized to: the network has side² neurons.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(2..))]
    pub side: u32,
    #[arg(long, value_enum, default_value_t = Binarise::Mean)]
    pub binarise: Binarise,
    /// How the cue is corrupted.
    #[arg(long, value_enum, default_value_t = CorruptionKind::Flip)]
    pub corruption: CorruptionKind,
    /// Fraction of pixels flipped (`flip`) or set to random black/white (`salt-pepper`).
    #[arg(long, default_value_t = 0.3)]
    pub noise: f64,
    /// Pixels flipped in every row (`per-row`).
    #[arg(long, default_value_t = 4)]
    pub per_row: usize,
    /// Rectangle set to black (`rectangle`): x,y,width,height in pixels of the side x side image.
    #[arg(long, value_delimiter = ',')]
    pub rect: Vec<usize>,
    #[arg(long, value_enum, default_value_t = Rule::Hebbian)]
    pub rule: Rule,
    #[arg(long, value_enum, default_value_t = Dynamics::Async)]
    pub dynamics: Dynamics,
    /// Most sweeps (asynchronous) or steps (synchronous, dense).
    #[arg(long, default_value_t = 50, value_parser = at_least(1))]
    pub max_iterations: usize,
    /// Inverse temperature β of `--dynamics dense`.
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Unchanged updates in a row that end `--dynamics random-neuron`.
    #[arg(long, default_value_t = 1000)]
    pub patience: usize,
    /// Metropolis temperature of `--dynamics async` at the first sweep (0: deterministic).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Temperature at the last sweep (annealed linearly from --temperature).
    #[arg(long, default_value_t = 0.0)]
    pub final_temperature: f32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Run folder name under --output-dir.
    #[arg(long, default_value = "repair")]
    pub name: String,
    #[arg(long, default_value = "outputs")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Runs one `hebb hopfield` command: its arguments as the experiment's settings, then the
/// command ([`crate::commands::hopfield`]).
pub(crate) fn run(command: HopfieldCommand) -> Result<()> {
    match command {
        HopfieldCommand::Repair(args) => {
            check_folder_name("--name", &args.name)?;
            let settings = RepairParams {
                images: std::iter::once(args.image).chain(args.also).collect(),
                side: args.side,
                binarise: args.binarise,
                corruption: match args.corruption {
                    CorruptionKind::Flip => Corruption::Flip(args.noise),
                    CorruptionKind::SaltPepper => Corruption::SaltPepper(args.noise),
                    CorruptionKind::PerRow => Corruption::FlipPerRow(args.per_row),
                    CorruptionKind::Rectangle => match args.rect[..] {
                        [x, y, w, h] => Corruption::Rectangle(x, y, w, h),
                        _ => bail!("--corruption rectangle needs --rect x,y,width,height"),
                    },
                    CorruptionKind::BottomHalf => Corruption::BottomHalf,
                },
                rule: args.rule,
                dynamics: args.dynamics,
                max_iterations: args.max_iterations,
                beta: args.beta,
                temperature: (args.temperature, args.final_temperature),
                patience: args.patience,
                seed: args.seed,
            };
            settings.check()?;
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            let run_dir = args.output_dir.join(&args.name);
            println!("{}", hopfield::run_repair(&settings, &run_dir, &device)?.table());
            Ok(())
        }
        HopfieldCommand::Store(args) => {
            check_folder_name("--name", &args.name)?;
            let source = match (&args.folder, &args.sheet, &args.mnist, args.random) {
                (Some(root), ..) => PatternSource::Folder { root: root.clone(), limit: args.limit },
                (None, Some(path), ..) => {
                    PatternSource::Sheet { path: path.clone(), tile: args.tile, border: args.border, limit: args.limit }
                }
                (None, None, Some(images), _) => PatternSource::Mnist { images: images.clone(), limit: args.limit },
                (None, None, None, Some(count)) => PatternSource::Random { count, seed: args.seed },
                (None, None, None, None) => {
                    let limit = if args.limit == 0 { DEFAULT_SPRITES } else { args.limit };
                    log::info!(
                        "note: no source given; storing the first {limit} sprites of the embedded Twemoji sheet"
                    );
                    PatternSource::Sheet { path: EMBEDDED_SHEET.into(), tile: 32, border: 1, limit }
                }
            };
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            let run_dir = args.output_dir.join(&args.name);
            let info = hopfield::run_store(&source, args.side, args.binarise, args.rule, &run_dir, &device)?;
            println!(
                "stored {} patterns of {} neurons ({} rule) in {}",
                info.sources.len(),
                args.side as u64 * args.side as u64,
                info.rule,
                run_dir.display()
            );
            Ok(())
        }
        HopfieldCommand::Recall(args) => {
            let cue = match &args.image {
                Some(image) => Cue::Image(image),
                None => Cue::Mixture(&args.mix),
            };
            println!("{}", hopfield::run_recall(&args.network, cue, args.noise, args.max_iterations, args.seed)?);
            Ok(())
        }
        HopfieldCommand::Table(args) => {
            check_folder_name("--name", &args.name)?;
            let params = TableParams {
                images: args.mnist,
                labels: args.labels,
                side: args.side,
                max_digits: args.max_digits,
                sweeps: args.sweeps,
                seed: args.seed,
            };
            params.check()?;
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            let run_dir = args.output_dir.join(&args.name);
            print!("{}", hopfield::run_table(&params, &run_dir, &device)?);
            log::info!("wrote {}", run_dir.display());
            Ok(())
        }
        HopfieldCommand::Capacity(args) => {
            check_folder_name("--name", &args.name)?;
            let loads = if args.loads.is_empty() { (1..=24).map(|i| i as f64 * 0.025).collect() } else { args.loads };
            let (neurons, pool) = match &args.mnist {
                Some(images) => {
                    let n = crate::hopfield::neurons(args.side)?;
                    let most = loads.iter().map(|&l| ((l * n as f64).round() as usize).max(1)).max().unwrap_or(1);
                    let source = PatternSource::Mnist { images: images.clone(), limit: most };
                    let (pool, _) = network::load_patterns(&source, args.side, Binarise::Mean)?;
                    (n, Some(pool))
                }
                None => (args.neurons, None),
            };
            let params = CapacityParams {
                neurons,
                pool,
                rules: args.rules,
                loads,
                noise: args.noise,
                trials: args.trials,
                threshold: args.threshold,
                dynamics: args.dynamics,
                max_iterations: args.max_iterations,
                seed: args.seed,
            };
            params.check()?;
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            let run_dir = args.output_dir.join(&args.name);
            print!("{}", hopfield::run_capacity(&params, &run_dir, &device)?);
            log::info!("wrote {}", run_dir.display());
            Ok(())
        }
    }
}
