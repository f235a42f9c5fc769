//! The Hebbian convolutional encoder: four stride-2 3x3 conv layers. Each layer standardises its
//! input channels (optional), convolves, applies ReLU or the triangle activation, normalises (each
//! channel over its positions, or across channels at each position), and adds an optional
//! lateral path whose weights learn by the seed's Hebbian rule (between positions) or decorrelate
//! the channels by an anti-Hebbian one. The conv filters are either the
//! seed's seeded random weights or learned layer by layer by SoftHebb ([`filters`]). No gradients
//! anywhere.
//!
//! The encoder is a burn [`Module`], so its weights save to and load from a burn record
//! (`encoder.bpk` in a run folder) next to the config that rebuilds its shape.

pub(crate) mod features;
pub(crate) mod filters;
pub(crate) mod fused;
pub(crate) mod lateral;
pub(crate) mod patches;
pub(crate) mod projection;
pub(crate) mod train;
pub(crate) mod whitening;

use crate::compute::linalg::standard_normal;
use crate::compute::rng::{SeededRng, seeded};
use anyhow::Result;
use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::module::{adaptive_avg_pool2d, conv2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;

use crate::config::{
    Activation, EncodeConfig, EncoderConfig, FeatureLayers, FeaturesConfig, FilterMode, LateralMode, Normalise,
};
use lateral::{decorrelated, decorrelation_update, lateral_response, step_statistics, update_weights};
use patches::PaddedInput;

/// Smallest norm a channel or feature vector is divided by (as `F.normalize`).
const NORM_EPS: f64 = 1e-12;

/// Added to a channel's variance before its standard deviation divides it (as batch norm).
const VARIANCE_EPS: f64 = 1e-5;

/// SoftHebb's initial filter norm: far from 1, so that the norm-dependent rate starts high.
const HEBBIAN_INIT_RADIUS: f32 = 25.0;

/// What a layer does besides its weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LayerSettings {
    pub activation: Activation,
    pub normalise: Normalise,
    pub lateral: LateralMode,
}

/// One layer: standardise -> conv 3x3 stride 2 padding 1 -> activation -> normalisation ->
/// lateral path.
#[derive(Module, Debug)]
pub(crate) struct HebbianLayer {
    conv_weight: Param<Tensor<4>>,
    conv_bias: Param<Tensor<1>>,
    /// Per input channel: subtracted, then multiplied by `input_scale` (0 and 1 until fitted).
    input_shift: Param<Tensor<1>>,
    input_scale: Param<Tensor<1>>,
    /// ZCA whitening of the input patches (first layer, `encoder.whiten`): the patches' mean
    /// `[D]` and the symmetric transform `[D, D]`, D = in_channels · k² (zero and identity until
    /// fitted).
    patch_mean: Option<Param<Tensor<1>>>,
    whitening: Option<Param<Tensor<2>>>,
    /// `[1, N, N]` (shared) or `[channels, N, N]` (per channel), N = output positions.
    lateral: Option<Param<Tensor<3>>>,
    #[module(skip)]
    settings: LayerSettings,
}

/// A standard normal value drawn from `rng`, for SoftHebb's init.
fn normal(rng: &mut SeededRng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0..1.0);
    standard_normal(u1 as f64, u2 as f64) as f32
}

/// The first "`tensor`: shape mismatch, expected Shape { dims: [..] } but record has Shape { dims:
/// [..] }" of burn's record errors, as "`tensor` is [..] in the file, [..] by the config".
fn first_shape_mismatch(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let entry = &text[start..start + text[start..].find('"')?];
    let (tensor, rest) = entry.split_once(": shape mismatch, expected Shape { dims: ")?;
    let (expected, rest) = rest.split_once(" } but record has Shape { dims: ")?;
    let found = rest.strip_suffix(" }")?;
    Some(format!("{tensor} is {found} in the file, {expected} by the config"))
}

impl HebbianLayer {
    /// Layer `index` (from 0), for `input_side x input_side` inputs. Random filters: uniform in ±1/√fan_in
    /// (PyTorch's default bound) with a bias from the same range, drawn from `rng`, as the seed.
    /// Hebbian filters: SoftHebb's normal init of norm ≈ 25, no bias. Lateral weights zero.
    fn new(
        in_channels: usize,
        out_channels: usize,
        input_side: usize,
        config: &EncoderConfig,
        index: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        // Only the first layer whitens its patches; the lateral path may stop below the top.
        let (whiten, lateral) = (config.whiten && index == 0, config.has_lateral(index));
        let kernel = config.kernel_sizes[index];
        let fan_in = in_channels * kernel * kernel;
        let (weight, bias) = match config.filters {
            FilterMode::Random => {
                let bound = 1.0 / (fan_in as f32).sqrt();
                let mut uniform = |n: usize| (0..n).map(|_| rng.random_range(-bound..bound)).collect::<Vec<f32>>();
                let weight = uniform(out_channels * fan_in);
                (TensorData::new(weight, [out_channels, in_channels, kernel, kernel]), uniform(out_channels))
            }
            FilterMode::Hebbian => {
                let weight = filters::initial_filters(out_channels, fan_in, HEBBIAN_INIT_RADIUS, || normal(rng));
                (TensorData::new(weight, [out_channels, in_channels, kernel, kernel]), vec![0.0; out_channels])
            }
        };
        let positions = output_side(input_side).pow(2);
        let lateral_shape = match config.lateral {
            _ if !lateral => None,
            LateralMode::None => None,
            LateralMode::Shared => Some([1, positions, positions]),
            LateralMode::PerChannel => Some([out_channels, positions, positions]),
            LateralMode::Decorrelate => Some([1, out_channels, out_channels]),
        };
        let lateral = lateral_shape.map(|shape| Param::from_tensor(Tensor::zeros(shape, device)));
        Self {
            conv_weight: Param::from_data(weight, device),
            conv_bias: Param::from_data(TensorData::new(bias, [out_channels]), device),
            input_shift: Param::from_tensor(Tensor::zeros([in_channels], device)),
            input_scale: Param::from_tensor(Tensor::ones([in_channels], device)),
            patch_mean: whiten.then(|| Param::from_tensor(Tensor::zeros([fan_in], device))),
            whitening: whiten.then(|| Param::from_tensor(Tensor::eye(fan_in, device))),
            lateral,
            settings: LayerSettings {
                activation: config.activation,
                normalise: config.normalise,
                lateral: config.lateral,
            },
        }
    }

    /// The input with each channel standardised by the fitted statistics.
    fn standardised(&self, input: Tensor<4>) -> Tensor<4> {
        let channels = input.dims()[1];
        let shift = self.input_shift.val().reshape([1, channels, 1, 1]);
        let scale = self.input_scale.val().reshape([1, channels, 1, 1]);
        (input - shift) * scale
    }

    /// The filters and bias the conv applies to the standardised input: with whitening, the
    /// learned filters W (which see whitened patches) become W Z, and the bias b − W Z μ, so that
    /// the conv of a raw patch x gives W Z (x − μ) + b.
    fn effective_filters(&self) -> (Tensor<4>, Tensor<1>) {
        let (weight, bias) = (self.conv_weight.val(), self.conv_bias.val());
        let (Some(mean), Some(whitening)) = (&self.patch_mean, &self.whitening) else {
            return (weight, bias);
        };
        let [out_channels, in_channels, kernel, _] = weight.dims();
        let effective = weight.reshape([out_channels, in_channels * kernel * kernel]).matmul(whitening.val());
        let shift = effective.clone().matmul(mean.val().unsqueeze_dim::<2>(1)).reshape([out_channels]);
        (effective.reshape([out_channels, in_channels, kernel, kernel]), bias - shift)
    }

    /// Conv -> activation -> normalisation, as `[B, C, N]`.
    fn activations(&self, input: Tensor<4>) -> Tensor<3> {
        let (weight, bias) = self.effective_filters();
        let pad = self.kernel() / 2;
        let options = ConvOptions::new([2, 2], [pad, pad], [1, 1], 1);
        let conv = conv2d(self.standardised(input), weight, Some(bias), options);
        let [batch, channels, height, width] = conv.dims();
        let conv = conv.reshape([batch, channels, height * width]);
        let active = match self.settings.activation {
            Activation::Relu => relu(conv),
            Activation::Triangle => relu(conv.clone() - conv.mean_dim(1)),
        };
        let normalised_over = match self.settings.normalise {
            Normalise::Spatial => 2,
            Normalise::Channels => 1,
            Normalise::None => return active,
        };
        let norm = active.clone().square().sum_dim(normalised_over).sqrt().clamp_min(NORM_EPS);
        active / norm
    }

    fn to_map(values: Tensor<3>, side: usize) -> Tensor<4> {
        let [batch, channels, _] = values.dims();
        values.reshape([batch, channels, side, side])
    }

    /// Inference: activations plus the inhibited lateral response, as a feature map.
    pub(crate) fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let side = output_side(input.dims()[2]);
        let active = self.activations(input);
        let output = match &self.lateral {
            Some(lateral) if self.settings.lateral == LateralMode::Decorrelate => decorrelated(active, lateral.val()),
            Some(lateral) => active.clone() + lateral_response(active, lateral.val()),
            None => active,
        };
        Self::to_map(output, side)
    }

    /// Lateral training: updates the lateral weights by the Hebbian rule, or the decorrelating
    /// ones by the anti-Hebbian rule (ΔW clamped to [-1, 1]) from this batch, then responds with
    /// the updated weights. Returns the output map and the step's statistics `[energy, delta,
    /// norm]`, or `None` for a layer without a lateral path. The weights are handed to the update
    /// as their only reference, so that the CPU's kernel updates them in place; an error (a
    /// kernel that cannot run) leaves the layer without them, and ends the training.
    pub(crate) fn train_step(&mut self, input: Tensor<4>, lr: f64) -> Result<(Tensor<4>, Option<Tensor<1>>)> {
        let Some(lateral) = self.lateral.take() else {
            return Ok((self.forward(input), None));
        };
        let (id, weights, mapper) = lateral.consume();
        let side = output_side(input.dims()[2]);
        let active = self.activations(input);
        if self.settings.lateral == LateralMode::Decorrelate {
            let update = decorrelation_update(active.clone(), weights, lr);
            let stats = step_statistics(active.clone(), &update);
            let output = decorrelated(active, update.weights.clone());
            self.lateral = Some(Param::from_mapped_value(id, update.weights, mapper));
            return Ok((Self::to_map(output, side), Some(stats)));
        }
        let update = update_weights(active.clone(), weights, self.settings.lateral, lr)?;
        let stats = step_statistics(active.clone(), &update);
        let response = lateral_response(active.clone(), update.weights.clone());
        self.lateral = Some(Param::from_mapped_value(id, update.weights, mapper));
        Ok((Self::to_map(active + response, side), Some(stats)))
    }

    /// The standardised input, zero-padded as the conv pads it: what its patches are cut from.
    pub(crate) fn padded_input(&self, input: Tensor<4>) -> PaddedInput {
        PaddedInput::new(self.standardised(input), self.kernel())
    }

    /// The side of the layer's square kernel.
    pub(crate) fn kernel(&self) -> usize {
        self.conv_weight.dims()[3]
    }

    /// Every k x k patch of the standardised input, one per conv position: `[B · positions,
    /// in_channels · k²]`, in the order of the filters' flattened weights (before whitening).
    pub(crate) fn raw_patches(&self, input: Tensor<4>) -> Tensor<2> {
        self.padded_input(input).all_patches()
    }

    /// Patches whitened when the layer whitens, as they are otherwise.
    pub(super) fn whitened(&self, patches: Tensor<2>) -> Tensor<2> {
        match (&self.patch_mean, &self.whitening) {
            (Some(mean), Some(whitening)) => (patches - mean.val().unsqueeze::<2>()).matmul(whitening.val()),
            _ => patches,
        }
    }

    /// Whether this layer whitens its input patches.
    pub(crate) fn whitens(&self) -> bool {
        self.whitening.is_some()
    }

    /// Sets the patch whitening from the patches' mean `[D]` and ZCA matrix `[D, D]`.
    pub(crate) fn set_whitening(&mut self, mean: Tensor<1>, zca: Tensor<2>) {
        if let (Some(m), Some(w)) = (self.patch_mean.take(), self.whitening.take()) {
            self.patch_mean = Some(m.map(|_| mean));
            self.whitening = Some(w.map(|_| zca));
        }
    }

    /// The conv filters as rows, `[K, in_channels · k²]`.
    pub(super) fn flat_filters(&self) -> Tensor<2> {
        let [out_channels, in_channels, kernel, _] = self.conv_weight.dims();
        self.conv_weight.val().reshape([out_channels, in_channels * kernel * kernel])
    }

    pub(super) fn set_flat_filters(&mut self, rows: Tensor<2>) {
        let [out_channels, in_channels, kernel, _] = self.conv_weight.dims();
        let filters = rows.reshape([out_channels, in_channels, kernel, kernel]);
        self.conv_weight = self.conv_weight.clone().map(|_| filters);
    }

    /// Sets the input standardisation from per-channel means and variances.
    pub(crate) fn set_statistics(&mut self, mean: Tensor<1>, variance: Tensor<1>) {
        let scale = variance.add_scalar(VARIANCE_EPS).sqrt().recip();
        self.input_shift = self.input_shift.clone().map(|_| mean);
        self.input_scale = self.input_scale.clone().map(|_| scale);
    }

    /// The filters as the conv applies them to the (standardised) input, whitening folded in:
    /// `[out_channels, in_channels, k, k]`.
    pub(crate) fn filters(&self) -> Tensor<4> {
        self.effective_filters().0
    }

    pub(crate) fn has_lateral(&self) -> bool {
        self.lateral.is_some()
    }
}

/// Side of a stride-2 conv's output with an odd k x k kernel and padding k / 2.
pub(crate) fn output_side(input_side: usize) -> usize {
    (input_side - 1) / 2 + 1
}

/// The features' partial whitening ([`projection`], `features.whiten_axes`): a feature row x
/// becomes `c + ((c · axes) * gains) · axesᵀ` with `c = x − mean`, `axes` being `[D, k]`.
#[derive(Module, Debug)]
pub(crate) struct FeatureProjection {
    mean: Param<Tensor<1>>,
    axes: Param<Tensor<2>>,
    gains: Param<Tensor<1>>,
}

/// The four-layer encoder and how a feature vector is read off it.
#[derive(Module, Debug)]
pub struct HebbianEncoder {
    layers: Vec<HebbianLayer>,
    /// Present when `features.whiten_axes` > 0; the identity until fitted.
    projection: Option<FeatureProjection>,
    #[module(skip)]
    readout: FeaturesConfig,
}

impl HebbianEncoder {
    /// The encoder a run's config describes, before training.
    pub(crate) fn for_config(config: &EncodeConfig, device: &Device) -> Self {
        Self::new(
            config.data.color.channels(),
            config.data.image_size as usize,
            &config.encoder,
            config.features.clone(),
            device,
        )
    }

    /// The trained encoder a run saved at `path`, for the run's `config`.
    pub(crate) fn load(config: &EncodeConfig, path: &std::path::Path, device: &Device) -> Result<Self> {
        Self::for_config(config, device).try_load_file(path).map_err(|e| {
            let text = e.to_string();
            // burn lists every mismatched tensor; the first names the layer and both shapes.
            match first_shape_mismatch(&text) {
                Some(first) => anyhow::anyhow!(
                    "cannot load the encoder {}: it does not match the run's config.toml (was the config edited after \
                     the run?): {first}",
                    path.display()
                ),
                None => anyhow::anyhow!("cannot load the encoder {}: {text}", path.display()),
            }
        })
    }

    /// A freshly initialised encoder for `in_channels x side x side` images.
    pub fn new(
        in_channels: usize,
        side: usize,
        config: &EncoderConfig,
        readout: FeaturesConfig,
        device: &Device,
    ) -> Self {
        let mut rng = seeded(config.seed);
        let mut layers = Vec::with_capacity(config.channels.len());
        let (mut c_in, mut s_in) = (in_channels, side);
        let mut pooled_dim = 0;
        let last = config.channels.len() - 1;
        for (index, &c_out) in config.channels.iter().enumerate() {
            layers.push(HebbianLayer::new(c_in, c_out, s_in, config, index, &mut rng, device));
            c_in = c_out;
            s_in = output_side(s_in);
            if index == last || readout.layers == FeatureLayers::All {
                let pooled_side = if readout.grid == 0 { s_in } else { s_in.min(readout.grid) };
                pooled_dim += c_out * pooled_side * pooled_side;
            }
        }
        let projection = (readout.whiten_axes > 0).then(|| {
            let k = readout.whiten_axes.min(pooled_dim);
            FeatureProjection {
                mean: Param::from_tensor(Tensor::zeros([pooled_dim], device)),
                axes: Param::from_tensor(Tensor::zeros([pooled_dim, k], device)),
                gains: Param::from_tensor(Tensor::zeros([k], device)),
            }
        });
        Self { layers, projection, readout }
    }

    pub(crate) fn num_layers(&self) -> usize {
        self.layers.len()
    }

    pub(crate) fn layer(&self, index: usize) -> &HebbianLayer {
        &self.layers[index]
    }

    pub(crate) fn layer_mut(&mut self, index: usize) -> &mut HebbianLayer {
        &mut self.layers[index]
    }

    /// Whether any layer has a lateral path to train.
    pub(crate) fn has_lateral(&self) -> bool {
        self.layers.iter().any(HebbianLayer::has_lateral)
    }

    /// The input of layer `index`: the batch through the layers before it.
    pub(crate) fn input_of(&self, index: usize, mut input: Tensor<4>) -> Tensor<4> {
        for layer in &self.layers[..index] {
            input = layer.forward(input);
        }
        input
    }

    /// One lateral training step over a batch: every layer with a lateral path updates it on its
    /// input. Returns those layers' statistics concatenated, `[3 per lateral layer]`.
    pub(crate) fn train_step(&mut self, mut input: Tensor<4>, lr: f64) -> Result<Tensor<1>> {
        let mut stats = Vec::with_capacity(self.layers.len());
        for layer in &mut self.layers {
            let (output, layer_stats) = layer.train_step(input, lr)?;
            input = output;
            stats.extend(layer_stats);
        }
        Ok(Tensor::cat(stats, 0))
    }

    /// Features of a batch, `[B, D]`, each row of unit length: the pooled features
    /// ([`Self::pooled_features`]), partially whitened when the readout whitens.
    pub fn features(&self, input: Tensor<4>) -> Tensor<2> {
        let pooled = self.pooled_features(input);
        let Some(projection) = &self.projection else {
            return pooled;
        };
        let centred = pooled - projection.mean.val().unsqueeze::<2>();
        let axes = projection.axes.val();
        let along = centred.clone().matmul(axes.clone()) * projection.gains.val().unsqueeze::<2>();
        unit_rows(centred + along.matmul(axes.transpose()))
    }

    /// The whitening's axes `k` and feature width `D`, when the readout whitens.
    pub(crate) fn projection_shape(&self) -> Option<(usize, usize)> {
        self.projection.as_ref().map(|p| {
            let [dim, k] = p.axes.dims();
            (k, dim)
        })
    }

    /// Sets the whitening from the pooled features' mean `[D]`, the unit axes `[D, k]` and
    /// their gains `[k]`.
    pub(crate) fn set_projection(&mut self, mean: Tensor<1>, axes: Tensor<2>, gains: Tensor<1>) {
        if let Some(projection) = self.projection.take() {
            self.projection = Some(FeatureProjection {
                mean: projection.mean.map(|_| mean),
                axes: projection.axes.map(|_| axes),
                gains: projection.gains.map(|_| gains),
            });
        }
    }

    /// Pooled features of a batch, `[B, D]`, each row of unit length: the last map, or every
    /// layer's map each normalised on its own and concatenated; each map average-pooled to the
    /// readout's grid first when it is larger.
    pub(crate) fn pooled_features(&self, mut input: Tensor<4>) -> Tensor<2> {
        let mut parts = Vec::new();
        let last = self.layers.len() - 1;
        for (index, layer) in self.layers.iter().enumerate() {
            input = layer.forward(input);
            if index == last || self.readout.layers == FeatureLayers::All {
                parts.push(unit_rows(pooled(input.clone(), self.readout.grid).flatten(1, 3)));
            }
        }
        unit_rows(Tensor::cat(parts, 1))
    }
}

/// `map` average-pooled to `grid x grid` positions when it is larger (0 keeps it).
fn pooled(map: Tensor<4>, grid: usize) -> Tensor<4> {
    let side = map.dims()[2];
    if grid == 0 || side <= grid { map } else { adaptive_avg_pool2d(map, [grid, grid]) }
}

/// Every row scaled to unit length.
fn unit_rows(rows: Tensor<2>) -> Tensor<2> {
    let norm = rows.clone().square().sum_dim(1).sqrt().clamp_min(NORM_EPS);
    rows / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lateral_path_stops_at_lateral_layers() {
        let device = Device::flex();
        let with = |lateral, lateral_layers| {
            let config =
                EncoderConfig { channels: vec![4, 4, 4, 4], lateral, lateral_layers, ..EncoderConfig::default() };
            let encoder = HebbianEncoder::new(1, 32, &config, FeaturesConfig::default(), &device);
            (0..4).map(|l| encoder.layer(l).has_lateral()).collect::<Vec<_>>()
        };
        assert_eq!(with(LateralMode::Decorrelate, 2), [true, true, false, false]);
        assert_eq!(with(LateralMode::Decorrelate, 0), [true; 4], "0: every layer");
        assert_eq!(with(LateralMode::Shared, 1), [true, false, false, false]);
        assert_eq!(with(LateralMode::None, 3), [false; 4], "no lateral path at all");
    }

    #[test]
    fn a_record_shape_mismatch_is_told_in_one_line() {
        let burn = r#"Record validation error: Apply errors: ["layers.0.conv_weight: shape mismatch, expected Shape { dims: [16, 1, 3, 3] } but record has Shape { dims: [32, 1, 3, 3] }", "layers.0.conv_bias: shape mismatch"]"#;
        assert_eq!(
            first_shape_mismatch(burn).unwrap(),
            "layers.0.conv_weight is [32, 1, 3, 3] in the file, [16, 1, 3, 3] by the config"
        );
        assert_eq!(first_shape_mismatch("some other error"), None);
    }
}
