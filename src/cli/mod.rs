//! The command line: one clap struct per command, resolved into validated settings before any
//! work starts, and errors printed as one readable message.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands::bench::folder::FolderPlan;
use crate::commands::bench::map::MapInput;
use crate::commands::bench::quality::{self, QualityPlan};
use crate::commands::bench::suite;
use crate::commands::query::{self, QueryTarget};
use crate::commands::{bench, encode, eval, view};
use crate::compute::device::{self, DeviceChoice, RunContext};
use crate::config::TOP_K;
use crate::config::{ConfigFile, EncodeConfig, NeighbourSearch};
use crate::progress::Progress;
use crate::run::shards::Shard;
use crate::run::{EVAL_FILE, Run, check_writable, write_atomically};
use hopfield::HopfieldCommand;

mod choices;
mod hopfield;
mod logger;
mod report;
mod signals;

#[derive(Debug, Parser)]
#[command(
    name = "hebb",
    version,
    about = "Hebbian image encoders on the GPU: embeddings, maps and associative memories"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Also print the training's statistics every `training.log_every` steps.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print only errors on stderr: no progress bars, notes or warnings (a command's result on
    /// stdout stays; the training log is still written).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Train the Hebbian encoder on an image set and write its embeddings to a run folder.
    Encode(EncodeArgs),
    /// The first of encode's three stages, for a batch scheduler: train the encoder and write a
    /// run folder holding it (then `hebb embed` each shard, then `hebb map`).
    Train(EncodeArgs),
    /// The second stage: the features of one contiguous part of the data set, written as a shard
    /// of a trained run (any number at once, on any machines sharing the folder).
    Embed(EmbedArgs),
    /// The third stage: merge a run's shards in order, then neighbours, map, clusters and
    /// pictures, finishing the run folder as `hebb encode` does.
    Map(RunArgs),
    /// The most similar images to a data set item or an image file, from a finished run.
    Query(QueryArgs),
    /// Write a finished run's interactive map (map.html: pan, zoom, hover for neighbours, search,
    /// select) and print its path.
    View(RunArgs),
    /// Score a labelled run (kNN-5 accuracy, linear probe, NMI, ARI) against random-filter and pixel baselines.
    Eval(EvalArgs),
    /// Print a config resolved (every default filled in, as a run's config.toml holds it) after
    /// checking it: the embedded default's without --config.
    Config(ConfigArgs),
    /// Binary Hopfield associative memory.
    #[command(subcommand)]
    Hopfield(HopfieldCommand),
    /// Measure throughput and print a table.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print a shell completion script, e.g. `hebb completions bash > ~/.local/share/bash-completion/completions/hebb`.
    Completions(CompletionsArgs),
    /// Print hebb's man page (roff), e.g. `hebb man > hebb.1 && man ./hebb.1`.
    Man,
}

/// Options shared by every command that computes.
#[derive(Debug, Clone, Args)]
pub(crate) struct DeviceArgs {
    /// Where to compute: a hardware GPU if present (auto), the wgpu adapter (gpu), or the CPU.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
}

#[derive(Debug, Args)]
pub(crate) struct EncodeArgs {
    /// TOML config (see configs/); without it, the embedded Twemoji default (configs/emoji.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Override `training.epochs` (the lateral path's epochs; filters use `training.filter_epochs`).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override `name` (the run folder's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Override `output_dir`.
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Check the config, the memory it needs, its inputs and the run folder, print the folder the
    /// run would write, and stop: nothing is loaded, trained or written.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// TOML config; without it, the embedded Twemoji default (configs/emoji.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the defaults: every key at its default value, with the embedded Twemoji data (what
    /// a config that sets nothing else runs with; the same as leaving out --config).
    #[arg(long, conflicts_with = "config")]
    pub defaults: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EmbedArgs {
    /// Run folder written by `hebb train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Which part: I/N, the 0-based index I of N contiguous parts (e.g. 0/4 .. 3/4; a Slurm array
    /// passes $SLURM_ARRAY_TASK_ID/N, a Kubernetes Indexed Job $JOB_COMPLETION_INDEX/N).
    #[arg(long)]
    pub shard: Shard,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["item", "image"])))]
pub(crate) struct QueryArgs {
    /// Run folder written by `hebb encode` (e.g. outputs/emoji).
    #[arg(long)]
    pub run: PathBuf,
    /// Index of a data set item (see the run's items.csv).
    #[arg(long)]
    pub item: Option<usize>,
    /// Any image file, encoded by the run's saved encoder.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// How many matches to list.
    #[arg(long, default_value_t = TOP_K, value_parser = at_least(1))]
    pub top: usize,
    /// Also write the query and its matches as one row of pictures to this PNG.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// A run folder and where to compute: `view` (a finished run) and `map` (a trained run with
/// its shards, or a finished one to map again).
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Run folder written by `hebb encode`, or by `hebb train` and `hebb embed` (for `map`).
    #[arg(long)]
    pub run: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Run folder written by `hebb encode`, with labels.
    #[arg(long)]
    pub run: PathBuf,
    /// Also score the way papers report: the probe fitted on all of the run's items (a training
    /// split) and scored on the data set's test split, and kNN-5 of each test item among the
    /// training items (CIFAR or STL-10 trained on split = "train", MNIST's train-images file with
    /// its t10k- files beside it).
    #[arg(long)]
    pub test_split: bool,
    /// Skip the scores of the 2-D map (each embedding's UMAP layout), the slowest part.
    #[arg(long)]
    pub no_map: bool,
    /// Score the linear probe on this many seeded stratified 80/20 splits (the first is always
    /// the same) and report its mean and standard deviation [default: enough splits for their
    /// test parts to hold 2,000 items in all, at most 10; 1 for a run trained with
    /// `training.holdout`].
    #[arg(long, value_name = "N", value_parser = at_least(1))]
    pub probe_splits: Option<usize>,
    /// Cluster the features with K-Means at this many seeds (the first is `clusters.seed`, each
    /// the best of 10 starts) and report NMI's and ARI's means and NMI's standard deviation:
    /// different seeds can find different clusterings, and NMI with them.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = at_least(1))]
    pub kmeans_seeds: usize,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Training and extraction throughput of the encoder, and the Hebbian update against the
    /// seed's formulation.
    Encode(BenchEncodeArgs),
    /// Post-encoding stages (neighbours, PCA, UMAP, K-Means, renders) on a finished run's
    /// features or on synthetic ones, with umap-rs's layout optimiser and linfa's K-Means as
    /// baselines.
    Map(BenchMapArgs),
    /// Hopfield recall (dense W against the low-rank path), Storkey learning, a capacity run,
    /// and one synchronous sweep with a dense W against the device's own read and matrix-product
    /// rates.
    Hopfield(BenchHopfieldArgs),
    /// The quality suite: every labelled set a suite file lists, encoded at several seeds and
    /// scored (kNN-5, linear probe, NMI) with learned filters, random filters and raw pixels;
    /// one table with win counts and mean leads across the sets, and quality.json.
    Quality(BenchQualityArgs),
    /// All of `hebb encode` (or with --shards, `hebb train`, `embed` and `map`) on a folder of
    /// generated 64-px JPEGs laid out as Tiny ImageNet's training set (written first, removed
    /// after): each stage's time and the peak memory.
    Folder(BenchFolderArgs),
    /// Every speed benchmark in one command (encode, map at 10,000 and 100,000 synthetic items,
    /// Hopfield), with the device's name: bench.json and bench.md. On a machine with a GPU, one
    /// run gives all its GPU figures.
    Suite(BenchSuiteArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BenchFolderArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// JPEGs to write and encode (100,000 is Tiny ImageNet's training set).
    #[arg(long, default_value_t = 100_000, value_parser = at_least(2))]
    pub images: usize,
    /// Class folders they are spread over.
    #[arg(long, default_value_t = 200, value_parser = at_least(1))]
    pub classes: usize,
    /// `data.image_size` of the run.
    #[arg(long, default_value_t = 96, value_parser = at_least(8))]
    pub image_size: usize,
    /// `features.grid` of the run: each layer's maps pooled to this many positions a side (the
    /// default 4 gives 7,680 values an image, 1 gives 480).
    #[arg(long, default_value_t = 4)]
    pub feature_grid: usize,
    /// `training.sample` of the run: train on a seeded sample of this many images (0: all).
    #[arg(long, default_value_t = 0)]
    pub training_sample: usize,
    /// Run `hebb train`, then `hebb embed` on each of this many shards in turn, then `hebb map`,
    /// each a process of its own, instead of one `hebb encode` (0).
    #[arg(long, default_value_t = 0)]
    pub shards: usize,
}

#[derive(Debug, Args)]
pub(crate) struct BenchSuiteArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Fewer and smaller benchmarks (64 images, map at 10,000 items only, a smaller Hopfield
    /// sweep on the CPU).
    #[arg(long)]
    pub quick: bool,
    /// Where the report goes (bench.md is written beside it; both replaced only if hebb wrote
    /// them).
    #[arg(long, default_value = "outputs/bench.json")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct BenchQualityArgs {
    /// Suite file: `[[sets]]` entries with `name` and `config` (relative to the file), e.g.
    /// configs/suite/suite.toml (its sets are built by the scripts in data/suite/).
    #[arg(long)]
    pub suite: PathBuf,
    /// Encoder seeds per set: training.seed and encoder.seed, then each moved up by 1.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = at_least(1))]
    pub seeds: usize,
    /// Leave this set out of the win counts and mean leads (still scored and shown), to judge a
    /// setting on the sets it was not chosen on; repeatable.
    #[arg(long, value_name = "NAME")]
    pub set_aside: Vec<String>,
    /// Run only this set; repeatable.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Change a config key in every set, e.g. `training.filter_layers=4` or
    /// `encoder.channels=[64,128,256,512]` (a TOML value; a bare word is a string); repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// K-Means seeds behind each NMI (as `hebb eval --kmeans-seeds`).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = at_least(1))]
    pub kmeans_seeds: usize,
    /// Where the report goes (replaced only if hebb wrote it).
    #[arg(long, default_value = "outputs/quality.json")]
    pub output: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct BenchHopfieldArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Neurons of the dense-W sweep measurement [default: 16384 (128 x 128 images) on a GPU,
    /// 4096 on the CPU].
    #[arg(long, value_parser = at_least(2))]
    pub dense_neurons: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchMapArgs {
    /// Run folder written by `hebb encode`.
    #[arg(long, required_unless_present = "synthetic", conflicts_with = "synthetic")]
    pub run: Option<PathBuf>,
    /// Instead of a run: this many synthetic unit-norm features (clustered, seeded), with tiles
    /// as their images, under the default settings; e.g. 100000 for the 100k-item target.
    #[arg(long, value_parser = at_least(2))]
    pub synthetic: Option<usize>,
    /// Feature length of the synthetic features (4608 = 128 channels x 6 x 6, the 96-px encoder).
    #[arg(long, default_value_t = 4608, requires = "synthetic", value_parser = at_least(1))]
    pub dim: usize,
    /// Seed of the synthetic features.
    #[arg(long, default_value_t = 42, requires = "synthetic")]
    pub seed: u64,
    /// How neighbours are found (overrides `map.neighbours`); an approximate search is checked
    /// against the exact one on 1,000 items.
    #[arg(long, value_enum)]
    pub neighbours: Option<NeighbourSearch>,
    /// Keep the timed renders (canvases, charts, map.html) in this folder (replaced if it exists)
    /// instead of discarding them, e.g. to open the synthetic 100,000-item map.html.
    #[arg(long)]
    pub keep_renders: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct BenchEncodeArgs {
    /// TOML config whose data and encoder are measured; without it, the embedded default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Number of images to measure on (the first ones of the data set).
    #[arg(long, default_value_t = 256, value_parser = at_least(1))]
    pub images: usize,
}

/// Resolves a config file and the command-line overrides into one validated config.
pub(crate) fn resolve_encode_config(args: &EncodeArgs) -> Result<EncodeConfig> {
    let (mut file, origin) = ConfigFile::read(args.config.as_deref())?;
    let overridden = args.epochs.is_some() || args.name.is_some() || args.output_dir.is_some();
    if let Some(epochs) = args.epochs {
        file.training.epochs = epochs;
    }
    if let Some(name) = &args.name {
        file.name = name.clone();
    }
    if let Some(dir) = &args.output_dir {
        file.output_dir = dir.clone();
    }
    let with = if overridden { " with the command-line overrides" } else { "" };
    file.validate().with_context(|| format!("invalid config {origin}{with}"))
}

/// The validated config and the context (the chosen device, printed) of `encode` and `train`.
fn encode_setup(args: &EncodeArgs, progress: Progress) -> Result<(EncodeConfig, RunContext)> {
    let config = resolve_encode_config(args)?;
    Ok((config, RunContext::select(args.device.device, progress)?))
}

/// A parser of counts that refuses values below `least` when the command line is read.
pub(crate) fn at_least(least: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(least..)
}

fn run(cli: Cli) -> Result<()> {
    let progress = Progress::unless(cli.quiet);
    match cli.command {
        Command::Encode(args) | Command::Train(args) if args.dry_run => {
            let run_dir = encode::check(&resolve_encode_config(&args)?)?;
            println!("config valid; the run would write {}", run_dir.display());
            Ok(())
        }
        Command::Encode(args) => {
            let (config, context) = encode_setup(&args, progress)?;
            let summary = encode::run(&config, &context)?;
            println!("{}", summary.table());
            Ok(())
        }
        Command::Train(args) => {
            let (config, context) = encode_setup(&args, progress)?;
            let dir = encode::train(&config, &context)?;
            println!("trained encoder in {}; next: hebb embed --run {0} --shard I/N", dir.display());
            Ok(())
        }
        Command::Embed(args) => {
            let context = RunContext::select(args.device.device, progress)?;
            let (items, path) = encode::embed(&args.run, args.shard, &context)?;
            println!("shard {}/{}: {items} items -> {}", args.shard.index, args.shard.count, path.display());
            Ok(())
        }
        Command::Map(args) => {
            let context = RunContext::select(args.device.device, progress)?;
            println!("{}", encode::map(&args.run, &context)?.table());
            Ok(())
        }
        Command::Query(args) => {
            let target = match (args.item, &args.image) {
                (Some(item), _) => QueryTarget::Item(item),
                (None, Some(image)) => QueryTarget::Image(image.clone()),
                (None, None) => bail!("give --item or --image"),
            };
            let run = Run::open(&args.run)?;
            let device = device::select(args.device.device)?;
            let matches = query::query(&run, &target, args.top, &device)?;
            print!("{}", query::table(&run, &target, &matches));
            if let Some(grid) = &args.grid {
                query::write_grid(&run, &target, &matches, grid)?;
                log::info!("wrote {}", grid.display());
            }
            Ok(())
        }
        Command::View(args) => {
            let run = Run::open(&args.run)?;
            let context = RunContext::select(args.device.device, progress)?;
            println!("{}", view::run(&run, &context)?.display());
            Ok(())
        }
        Command::Eval(args) => {
            let run = Run::open(&args.run)?;
            check_writable(&args.run.join(EVAL_FILE))?;
            let context = RunContext::select(args.device.device, progress)?;
            let options = crate::eval::EvalOptions {
                with_map: !args.no_map,
                probe_splits: args.probe_splits,
                kmeans_seeds: args.kmeans_seeds,
            };
            let scores = eval::evaluate(&run, &context, options, args.test_split)?;
            print!("{}", crate::eval::table(&scores));
            let path = args.run.join(EVAL_FILE);
            write_atomically(&path, serde_json::to_string_pretty(&scores)?.as_bytes())?;
            log::info!("wrote {}", path.display());
            Ok(())
        }
        Command::Config(args) => {
            let (file, origin) = ConfigFile::read(args.config.as_deref())?;
            let config = file.validate().with_context(|| format!("invalid config {origin}"))?;
            print!("{}", config.to_toml()?);
            Ok(())
        }
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "hebb", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .context("cannot write the man page to stdout"),
        Command::Hopfield(command) => hopfield::run(command),
        Command::Bench(BenchCommand::Hopfield(args)) => {
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            let dense_neurons = args.dense_neurons.unwrap_or(if device.is_gpu { 16_384 } else { 4096 });
            println!("{}", bench::hopfield::run(&device, dense_neurons)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Map(args)) => {
            let mut input = match (&args.run, args.synthetic) {
                (Some(run), _) => MapInput::from_run(Run::open(run)?),
                (None, Some(rows)) => MapInput::synthetic(rows, args.dim, args.seed)?,
                (None, None) => bail!("bench map: give --run <folder> or --synthetic <rows>"),
            };
            if let Some(search) = args.neighbours {
                input.config.map.neighbours = search;
            }
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            println!("{}", bench::map::run(&input, &device, args.keep_renders.as_deref())?);
            Ok(())
        }
        Command::Bench(BenchCommand::Quality(args)) => {
            let plan = QualityPlan::load(
                &args.suite,
                &args.only,
                &args.set_aside,
                args.seeds,
                &args.overrides,
                args.kmeans_seeds,
            )?;
            quality::check_output(&args.output)?;
            let context = RunContext::select(args.device.device, progress)?;
            let report = quality::run(&plan, &context);
            print!("{}", quality::table(&report));
            quality::write_report(&report, &args.output)?;
            log::info!("wrote {}", args.output.display());
            Ok(())
        }
        Command::Bench(BenchCommand::Folder(args)) => {
            let plan = FolderPlan {
                images: args.images,
                classes: args.classes,
                image_size: args.image_size,
                feature_grid: args.feature_grid,
                training_sample: args.training_sample,
                shards: args.shards,
            };
            println!("{}", bench::folder::run(&plan, &args.device.device.to_string())?);
            Ok(())
        }
        Command::Bench(BenchCommand::Suite(args)) => {
            suite::check_output(&args.output)?;
            let context = RunContext::select(args.device.device, progress)?;
            let plan = suite::plan(&context.compute, args.quick);
            let report = suite::run(&plan, &context, &args.device.device.to_string(), args.quick);
            print!("{}", suite::markdown(&report));
            suite::write(&report, &args.output)?;
            log::info!("wrote {} and {}", args.output.display(), suite::markdown_path(&args.output).display());
            Ok(())
        }
        Command::Bench(BenchCommand::Encode(args)) => {
            let config = EncodeConfig::load(args.config.as_deref())?;
            let device = device::select(args.device.device)?;
            log::info!("device: {}", device.description);
            let table = bench::encode::run(&config, &device, args.images)?;
            println!("{table}");
            Ok(())
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::install(cli.verbose, cli.quiet);
    signals::install();
    report::install();
    // A panic has been reported in one line by its hook; what is left is to clean up.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", report::error_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
        Err(_) => {
            crate::run::writer::remove_pending();
            ExitCode::FAILURE
        }
    }
}
