//! `hebb encode`: data -> encoder training -> feature extraction -> run folder, with a summary.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use serde::Serialize;

use crate::config::EncodeConfig;
use crate::data;
use crate::device::ComputeDevice;
use crate::encoder::HebbianEncoder;
use crate::features;
use crate::run_folder::{RunFolder, items_csv, npy_f32};
use crate::train;

/// File names inside a run folder.
pub const CONFIG_FILE: &str = "config.toml";
pub const FEATURES_FILE: &str = "features.npy";
pub const ITEMS_FILE: &str = "items.csv";
pub const TRAINING_LOG_FILE: &str = "training_log.csv";
pub const ENCODER_FILE: &str = "encoder.bpk";
pub const SUMMARY_FILE: &str = "summary.json";

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeSummary {
    pub run_dir: PathBuf,
    pub device: String,
    pub items: usize,
    pub skipped: usize,
    pub feature_dim: usize,
    pub training_steps: usize,
    pub seconds_load: f64,
    pub seconds_train: f64,
    pub seconds_extract: f64,
    pub seconds_write: f64,
}

impl EncodeSummary {
    /// A short table for the terminal.
    pub fn table(&self) -> String {
        format!(
            "run folder     {}\ndevice         {}\nitems          {} ({} skipped)\nfeatures       {} x {}\n\
             load           {:.2} s\ntrain          {:.2} s ({} steps)\nextract        {:.2} s\nwrite          {:.2} s",
            self.run_dir.display(),
            self.device,
            self.items,
            self.skipped,
            self.items,
            self.feature_dim,
            self.seconds_load,
            self.seconds_train,
            self.training_steps,
            self.seconds_extract,
            self.seconds_write,
        )
    }
}

/// Builds the encoder a config describes, before training.
pub fn new_encoder(config: &EncodeConfig, device: &burn::tensor::Device) -> HebbianEncoder {
    HebbianEncoder::new(
        config.color().channels(),
        config.data.image_size as usize,
        &config.encoder.channels,
        config.encoder.lateral,
        config.encoder.seed,
        device,
    )
}

/// Runs the whole `encode` pipeline for a validated config.
pub fn run(config: &EncodeConfig, device: &ComputeDevice, quiet: bool) -> Result<EncodeSummary> {
    let started = Instant::now();
    let images = data::load(&config.data, config.color(), quiet)?;
    let seconds_load = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!(
            "loaded {} images ({}x{} {:?}){}; training on {}",
            images.len(),
            images.side,
            images.side,
            images.color,
            if images.skipped > 0 { format!(", {} skipped", images.skipped) } else { String::new() },
            device.description
        );
    }

    let started = Instant::now();
    let mut encoder = new_encoder(config, &device.device);
    let log = train::train(&mut encoder, &images, &config.training, &device.device, quiet)?;
    let seconds_train = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let features = features::extract(&encoder, &images, config.training.batch_size, &device.device, quiet)?;
    let seconds_extract = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let folder = RunFolder::create(&config.run_dir())?;
    folder.write(CONFIG_FILE, config.to_toml()?)?;
    folder.write(FEATURES_FILE, npy_f32(features.rows, features.dim, &features.values))?;
    folder.write(ITEMS_FILE, items_csv(&images.items)?)?;
    folder.write(TRAINING_LOG_FILE, log.to_csv())?;
    let encoder_path = folder.path(ENCODER_FILE);
    encoder
        .save_file(&encoder_path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot save the encoder to {}", encoder_path.display()))?;
    let mut summary = EncodeSummary {
        run_dir: config.run_dir(),
        device: device.description.clone(),
        items: images.len(),
        skipped: images.skipped,
        feature_dim: features.dim,
        training_steps: log.rows.last().map(|r| r.step).unwrap_or(0),
        seconds_load,
        seconds_train,
        seconds_extract,
        seconds_write: 0.0,
    };
    summary.seconds_write = started.elapsed().as_secs_f64();
    folder.write(SUMMARY_FILE, serde_json::to_string_pretty(&summary)?)?;
    folder.commit()?;
    Ok(summary)
}
