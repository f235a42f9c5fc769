//! `bench encode` times training and extraction in images per second, and the Hebbian update
//! two ways: as the seed wrote it (one N x N outer-product matrix per channel, materialised as
//! `[C, N, N]`, then averaged) and as hebb computes it (one GEMM of the `(B·C) x N` activations
//! with themselves). The two give the same ΔW. Timing both at every layer's shape gives the
//! derived training rate with the seed's form: the measured pass plus, per step, the
//! difference.

use std::time::Instant;

use anyhow::Result;
use burn::tensor::{Device, Distribution, Tensor};

use super::{time_per_call, wait_for};
use crate::compute::device::{ComputeDevice, is_wgpu};
use crate::config::{EncodeConfig, FilterMode, LateralMode};
use crate::data;
use crate::encoder::lateral::{hebbian_delta, update_weights, update_weights_unfused};
use crate::encoder::{HebbianEncoder, features, output_side, train};
use crate::progress::Progress;

/// The seed's update: `einsum("bni,bnj->nij")` (per-channel outer products summed over the
/// batch), then the mean over channels, times η.
pub(crate) fn seed_literal_delta(activations: Tensor<3>, lr: f64) -> Tensor<3> {
    let per_channel = activations.swap_dims(0, 1); // [C, B, N]
    let outer = per_channel.clone().swap_dims(1, 2).matmul(per_channel); // [C, N, N]
    outer.mean_dim(0) * lr
}

/// The seed's sprite set (the unit of issue 2's epoch-time target at 96 px).
const SEED_SPRITES: usize = 1911;

/// Runs the encode benchmark and returns the printed table.
pub(crate) fn run(config: &EncodeConfig, device: &ComputeDevice, images: usize) -> Result<String> {
    let mut set = data::load(&config.data, Progress::Hidden)?;
    set.truncate(images);
    let n = set.len();
    let batch = config.training.batch_size;
    let dev = &device.device;
    let mut rows = Vec::new();
    let mut shared_train_seconds = 0.0;

    for mode in [LateralMode::Shared, LateralMode::PerChannel] {
        let mut mode_config = config.clone();
        mode_config.encoder.lateral = mode;
        let mut encoder = HebbianEncoder::for_config(&mode_config, dev);
        let order: Vec<usize> = (0..n).collect();
        // Warm-up step (kernel compilation), then one timed pass over the images.
        wait_for(encoder.train_step(set.batch_tensor(&order[..batch.min(n)], dev), config.training.lr)?)?;
        let started = Instant::now();
        let mut last = None;
        for chunk in order.chunks(batch) {
            last = Some(encoder.train_step(set.batch_tensor(chunk, dev), config.training.lr)?);
        }
        if let Some(t) = last {
            wait_for(t)?;
        }
        let train_seconds = started.elapsed().as_secs_f64();
        if mode == LateralMode::Shared {
            shared_train_seconds = train_seconds;
        }
        rows.push((format!("train, lateral = {mode:?}"), n as f64 / train_seconds, "images/s"));
        rows.push((
            format!("  one epoch of {SEED_SPRITES} images at that rate"),
            SEED_SPRITES as f64 * train_seconds / n as f64,
            "s",
        ));
    }

    // SoftHebb filter learning, every layer in turn for one epoch (with the statistics passes
    // when the config standardises), then extraction with the learned filters.
    let mut filter_config = config.clone();
    filter_config.encoder.filters = FilterMode::Hebbian;
    filter_config.encoder.lateral = LateralMode::None;
    filter_config.training.filter_epochs = 1;
    filter_config.training.filter_min_images = 0;
    filter_config.training.filter_layers = 0;
    let mut encoder = HebbianEncoder::for_config(&filter_config, dev);
    let order: Vec<usize> = (0..n).collect();
    let started = Instant::now();
    train::train(&mut encoder, &set, &order, &filter_config.training, &filter_config.encoder, dev, Progress::Hidden)?;
    let training_seconds = started.elapsed().as_secs_f64();
    // Training ends with the features' whitening fit; timed again on its own, it is taken out
    // of the filters' rate.
    let started = Instant::now();
    let whitened = train::fit_projection(&mut encoder, &set, &order, &filter_config.training, dev, || {})?.is_some();
    let whitening_seconds = if whitened { started.elapsed().as_secs_f64() } else { 0.0 };
    rows.push((
        "learn filters (SoftHebb), all layers".to_string(),
        n as f64 / (training_seconds - whitening_seconds).max(f64::MIN_POSITIVE),
        "images/s",
    ));
    if whitened {
        rows.push((
            format!("fit the features' whitening ({} axes)", filter_config.features.whiten_axes),
            n as f64 / whitening_seconds,
            "images/s",
        ));
    }
    let started = Instant::now();
    features::extract(&encoder, &set, batch, dev, Progress::Hidden)?;
    rows.push(("extract".to_string(), n as f64 / started.elapsed().as_secs_f64(), "images/s"));

    let lr = config.training.lr;
    let repeats = 5;
    // Every layer's dW both ways, at its own shape: what a step would cost with the seed's form.
    // Layer 1 (the largest) is also reported on its own, with hebb's full W update.
    let mut layer_1 = None;
    let mut extra_per_step = 0.0;
    let mut side = config.data.image_size as usize;
    for &channels in &config.encoder.channels {
        side = output_side(side);
        let positions = side * side;
        let activations = random_activations([batch, channels, positions], dev);
        let seed_s = time_per_call(repeats, || Ok(seed_literal_delta(activations.clone(), lr)))?;
        let ours_s = time_per_call(repeats, || Ok(hebbian_delta(activations.clone(), LateralMode::Shared, lr)))?;
        extra_per_step += seed_s - ours_s;
        if layer_1.is_none() {
            let weights = Tensor::<3>::zeros([1, positions, positions], dev);
            // As training runs it: the weights handed over as their only reference (updated in
            // place on the CPU), the result kept for the next call.
            let mut kept = Some(weights.clone());
            let full_s = time_per_call(repeats, || {
                let update = update_weights(activations.clone(), kept.take().expect("kept"), LateralMode::Shared, lr)?;
                kept = Some(update.weights);
                Ok(update.norm)
            })?;
            let unfused_s = time_per_call(repeats, || {
                Ok(update_weights_unfused(activations.clone(), weights.clone(), LateralMode::Shared, lr).weights)
            })?;
            layer_1 = Some((channels, positions, seed_s, ours_s, full_s, unfused_s));
        }
    }
    let (channels, positions, seed_seconds, ours_seconds, full_seconds, unfused_seconds) =
        layer_1.expect("the encoder has layers");
    let full_name = if is_wgpu(dev) { "fused WGSL kernel" } else { "fused blocked symmetric kernel" };
    rows.push((
        format!("layer-1 dW, seed's [C,N,N] form (C={channels}, N={positions})"),
        seed_seconds * 1e3,
        "ms/step",
    ));
    rows.push(("layer-1 dW, one GEMM (hebb)".to_string(), ours_seconds * 1e3, "ms/step"));
    rows.push((
        "layer-1 full W update, tensor ops: GEMM, clamp, add, norm".to_string(),
        unfused_seconds * 1e3,
        "ms/step",
    ));
    rows.push((format!("layer-1 full W update, {full_name} (hebb)"), full_seconds * 1e3, "ms/step"));
    let steps = n.div_ceil(batch) as f64;
    let seed_form_seconds = shared_train_seconds + steps * extra_per_step;
    rows.push((
        "train, shared, every layer's dW in the seed's form (derived)".to_string(),
        n as f64 / seed_form_seconds,
        "images/s",
    ));

    let mut table =
        format!("bench encode: {n} images of {0}x{0}, batch {batch}, on {1}\n", set.side, device.description);
    for (name, value, unit) in &rows {
        table.push_str(&format!("{name:<60} {value:>12.2} {unit}\n"));
    }
    table.push_str(&format!("{:<60} {:>12.2} x\n", "dW speed-up, seed form / one GEMM", seed_seconds / ours_seconds));
    table.push_str(&format!(
        "{:<60} {:>12.2} x\n",
        "W update speed-up, tensor ops / fused",
        unfused_seconds / full_seconds
    ));
    table.push_str(&format!(
        "{:<60} {:>12.2} x\n",
        "training speed-up, hebb / seed's dW form",
        seed_form_seconds / shared_train_seconds
    ));
    Ok(table)
}

fn random_activations(shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::random(shape, Distribution::Uniform(0.0, 1.0), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_form_and_gemm_form_agree() {
        let device = Device::flex();
        let activations = random_activations([3, 4, 10], &device);
        let seed: Vec<f32> = seed_literal_delta(activations.clone(), 0.01).into_data().try_into_vec::<f32>().unwrap();
        let ours: Vec<f32> =
            hebbian_delta(activations, LateralMode::Shared, 0.01).into_data().try_into_vec::<f32>().unwrap();
        for (a, b) in seed.iter().zip(&ours) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }
}
