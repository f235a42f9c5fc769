//! Training: shuffled batches through the encoder, every layer updating its lateral weights,
//! with the seed's per-layer statistics logged for every step.

use std::fmt::Write as _;

use anyhow::Result;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::config::TrainingConfig;
use crate::data::ImageSet;
use crate::device::read_f32;
use crate::encoder::HebbianEncoder;
use crate::progress;

/// One layer's numbers at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerStats {
    pub step: usize,
    pub epoch: usize,
    pub layer: usize,
    pub energy: f32,
    pub delta: f32,
    pub norm: f32,
}

/// Every step's statistics, in step and layer order.
#[derive(Debug, Clone, Default)]
pub struct TrainingLog {
    pub rows: Vec<LayerStats>,
}

impl TrainingLog {
    /// The log as CSV: `step,epoch,layer,energy,delta,norm` (steps and layers from 1).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("step,epoch,layer,energy,delta,norm\n");
        for r in &self.rows {
            let _ = writeln!(out, "{},{},{},{},{},{}", r.step, r.epoch, r.layer, r.energy, r.delta, r.norm);
        }
        out
    }
}

/// Uploads the images at `indices` as a `[B, C, side, side]` tensor.
pub fn batch_tensor(images: &ImageSet, indices: &[usize], device: &Device) -> Tensor<4> {
    let shape = [indices.len(), images.channels(), images.side, images.side];
    Tensor::from_data(TensorData::new(images.batch_f32(indices), shape), device)
}

/// The order in which items are visited in each epoch.
pub fn epoch_orders(len: usize, config: &TrainingConfig) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    (0..config.epochs)
        .map(|_| {
            let mut order: Vec<usize> = (0..len).collect();
            if config.shuffle {
                order.shuffle(&mut rng);
            }
            order
        })
        .collect()
}

/// Trains `encoder` in place. Statistics stay on the device until `log_every` steps have
/// gathered (one read per interval, not per step); a line per interval goes to stderr unless
/// `quiet`.
pub fn train(
    encoder: &mut HebbianEncoder,
    images: &ImageSet,
    config: &TrainingConfig,
    device: &Device,
    quiet: bool,
) -> Result<TrainingLog> {
    let orders = epoch_orders(images.len(), config);
    let steps_per_epoch = images.len().div_ceil(config.batch_size);
    let bar = progress::bar((steps_per_epoch * config.epochs) as u64, "training", quiet);
    let layers = encoder.num_layers();
    let mut log = TrainingLog::default();
    let mut pending: Vec<(usize, usize, Tensor<1>)> = Vec::new();
    let mut step = 0;
    for (epoch, order) in orders.iter().enumerate() {
        for batch in order.chunks(config.batch_size) {
            step += 1;
            let stats = encoder.train_step(batch_tensor(images, batch, device), config.lr);
            pending.push((step, epoch + 1, stats));
            bar.inc(1);
            let last = step == steps_per_epoch * config.epochs;
            if step % config.log_every == 0 || last {
                let first_new = log.rows.len();
                flush(&mut pending, layers, &mut log)?;
                if !quiet {
                    bar.suspend(|| eprintln!("{}", summary_line(&log.rows[first_new..], layers)));
                }
            }
        }
    }
    bar.finish_and_clear();
    Ok(log)
}

/// Reads the pending statistics in one transfer and appends them to the log.
fn flush(pending: &mut Vec<(usize, usize, Tensor<1>)>, layers: usize, log: &mut TrainingLog) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let tensors = pending.iter().map(|(_, _, t)| t.clone()).collect();
    let values = read_f32(Tensor::cat(tensors, 0), "training statistics")?;
    for (i, (step, epoch, _)) in pending.iter().enumerate() {
        for layer in 0..layers {
            let at = (i * layers + layer) * 3;
            log.rows.push(LayerStats {
                step: *step,
                epoch: *epoch,
                layer: layer + 1,
                energy: values[at],
                delta: values[at + 1],
                norm: values[at + 2],
            });
        }
    }
    pending.clear();
    Ok(())
}

/// One line for the last step in `rows`: its number and each layer's three values.
fn summary_line(rows: &[LayerStats], layers: usize) -> String {
    let last = &rows[rows.len() - layers..];
    let mut line = format!("step {:>5} epoch {}", last[0].step, last[0].epoch);
    for r in last {
        let _ = write!(line, " | L{} energy={:.4} delta={:.6} norm={:.4}", r.layer, r.energy, r.delta, r.norm);
    }
    line
}
