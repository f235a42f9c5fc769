//! The Hebbian convolutional encoder: four stride-2 3x3 conv layers, each followed by ReLU,
//! per-channel spatial L2 normalisation and a lateral path whose weights learn by a Hebbian rule
//! (no gradients anywhere). Conv weights keep their seeded random init, as in the seed project.
//!
//! The encoder is a burn [`Module`], so its weights save to and load from a burn record
//! (`encoder.bpk` in a run folder) next to the config that rebuilds its shape.

pub mod fused;
pub mod lateral;

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::config::LateralMode;
use lateral::{lateral_response, step_statistics, update_weights};

/// Smallest norm a channel or feature vector is divided by (as `F.normalize`).
const NORM_EPS: f64 = 1e-12;

/// One layer: conv 3x3 stride 2 padding 1 -> ReLU -> spatial L2 norm -> lateral path.
#[derive(Module, Debug)]
pub struct HebbianLayer {
    conv_weight: Param<Tensor<4>>,
    conv_bias: Param<Tensor<1>>,
    /// `[1, N, N]` (shared) or `[channels, N, N]` (per channel), N = output positions.
    lateral: Param<Tensor<3>>,
    #[module(skip)]
    mode: LateralMode,
}

impl HebbianLayer {
    /// A layer for `input_side x input_side` inputs, conv weights uniform in ±1/√fan_in (PyTorch's
    /// default bound) drawn from `rng`, lateral weights zero.
    fn new(
        in_channels: usize,
        out_channels: usize,
        input_side: usize,
        mode: LateralMode,
        rng: &mut StdRng,
        device: &Device,
    ) -> Self {
        let fan_in = in_channels * 9;
        let bound = 1.0 / (fan_in as f32).sqrt();
        let mut uniform = |n: usize| (0..n).map(|_| rng.random_range(-bound..bound)).collect::<Vec<f32>>();
        let weight = uniform(out_channels * fan_in);
        let bias = uniform(out_channels);
        let positions = output_side(input_side).pow(2);
        let lateral_count = match mode {
            LateralMode::Shared => 1,
            LateralMode::PerChannel => out_channels,
        };
        Self {
            conv_weight: Param::from_data(TensorData::new(weight, [out_channels, in_channels, 3, 3]), device),
            conv_bias: Param::from_data(TensorData::new(bias, [out_channels]), device),
            lateral: Param::from_tensor(Tensor::zeros([lateral_count, positions, positions], device)),
            mode,
        }
    }

    /// Conv -> ReLU -> L2 normalisation of each channel over its positions, as `[B, C, N]`.
    fn activations(&self, input: Tensor<4>) -> Tensor<3> {
        let options = ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
        let conv = conv2d(input, self.conv_weight.val(), Some(self.conv_bias.val()), options);
        let [batch, channels, height, width] = conv.dims();
        let active = relu(conv).reshape([batch, channels, height * width]);
        let norm = active.clone().square().sum_dim(2).sqrt().clamp_min(NORM_EPS);
        active / norm
    }

    fn to_map(values: Tensor<3>, side: usize) -> Tensor<4> {
        let [batch, channels, _] = values.dims();
        values.reshape([batch, channels, side, side])
    }

    /// Inference: activations plus the inhibited lateral response, as a feature map.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let side = output_side(input.dims()[2]);
        let active = self.activations(input);
        let response = lateral_response(active.clone(), self.lateral.val());
        Self::to_map(active + response, side)
    }

    /// Training: updates the lateral weights by the Hebbian rule (ΔW clamped to [-1, 1]) from this
    /// batch, then responds with the updated weights. Returns the output map and the step's
    /// statistics `[energy, delta, norm]`.
    pub fn train_step(&mut self, input: Tensor<4>, lr: f64) -> (Tensor<4>, Tensor<1>) {
        let side = output_side(input.dims()[2]);
        let active = self.activations(input);
        let update = update_weights(active.clone(), self.lateral.val(), self.mode, lr);
        let stats = step_statistics(active.clone(), &update);
        let lateral = update.weights;
        let response = lateral_response(active.clone(), lateral.clone());
        self.lateral = self.lateral.clone().map(|_| lateral);
        (Self::to_map(active + response, side), stats)
    }
}

/// Side of a stride-2, padding-1, 3x3 conv's output.
pub fn output_side(input_side: usize) -> usize {
    (input_side - 1) / 2 + 1
}

/// The four-layer encoder.
#[derive(Module, Debug)]
pub struct HebbianEncoder {
    layers: Vec<HebbianLayer>,
}

impl HebbianEncoder {
    /// A freshly initialised encoder for `in_channels x side x side` images.
    pub fn new(
        in_channels: usize,
        side: usize,
        channels: &[usize],
        mode: LateralMode,
        seed: u64,
        device: &Device,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut layers = Vec::with_capacity(channels.len());
        let (mut c_in, mut s_in) = (in_channels, side);
        for &c_out in channels {
            layers.push(HebbianLayer::new(c_in, c_out, s_in, mode, &mut rng, device));
            c_in = c_out;
            s_in = output_side(s_in);
        }
        Self { layers }
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Length of a feature vector for `side x side` inputs.
    pub fn feature_dim(channels: &[usize], side: usize) -> usize {
        let last_side = channels.iter().fold(side, |s, _| output_side(s));
        channels.last().copied().unwrap_or(0) * last_side * last_side
    }

    /// One training step over a batch: every layer updates its lateral weights on its input.
    /// Returns the per-layer statistics concatenated, `[layers * 3]`.
    pub fn train_step(&mut self, mut input: Tensor<4>, lr: f64) -> Tensor<1> {
        let mut stats = Vec::with_capacity(self.layers.len());
        for layer in &mut self.layers {
            let (output, layer_stats) = layer.train_step(input, lr);
            input = output;
            stats.push(layer_stats);
        }
        Tensor::cat(stats, 0)
    }

    /// Features of a batch: the last map flattened, each row L2-normalised. `[B, D]`.
    pub fn features(&self, mut input: Tensor<4>) -> Tensor<2> {
        for layer in &self.layers {
            input = layer.forward(input);
        }
        let flat: Tensor<2> = input.flatten(1, 3);
        let norm = flat.clone().square().sum_dim(1).sqrt().clamp_min(NORM_EPS);
        flat / norm
    }
}
