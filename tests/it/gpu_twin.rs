//! The GPU path (wgpu; Mesa's lavapipe on machines without a GPU) against its CPU twin (flex).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use hebb::testing::HebbianEncoder;
use hebb::testing::Progress;
use hebb::testing::device::{self, DeviceChoice};
use hebb::testing::launch_count;
use hebb::testing::train;
use hebb::testing::update_filters;
use hebb::testing::update_weights;
use hebb::testing::{
    Activation, EncoderConfig, FeaturesConfig, FilterMode, FilterRule, LateralMode, Normalise, TrainingConfig,
};

use crate::common::{sheet_config, write_sheet};

/// Features after the whole training (statistics, filters layer by layer, lateral path), and
/// whether they were computed on a wgpu device; filters learn from contrast-normalised patches
/// when `contrast`. No feature whitening: each device would fit its own from its own features (its
/// twin test moves one fitted encoder between the devices).
fn features_after_training(
    device: &Device,
    config: &EncoderConfig,
    rule: FilterRule,
    contrast: bool,
    set: &hebb::testing::ImageSet,
) -> (Vec<f32>, bool) {
    let readout = FeaturesConfig { whiten_axes: 0, ..FeaturesConfig::default() };
    let mut encoder = HebbianEncoder::new(4, set.side, config, readout, device);
    let indices: Vec<usize> = (0..set.len()).collect();
    let training = TrainingConfig {
        batch_size: 4,
        lr: 0.05,
        filter_lr: 0.1,
        filter_min_images: 0,
        filter_contrast: contrast,
        filter_rule: rule,
        ..TrainingConfig::default()
    };
    train(&mut encoder, set, &indices, &training, config, device, Progress::Hidden).unwrap();
    let features = encoder.features(set.batch_tensor(&indices, device));
    let on_wgpu = device::is_wgpu(&features.device());
    (features.into_data().try_into_vec::<f32>().unwrap(), on_wgpu)
}

/// A generated sheet of `columns x rows` 8-px sprites in `dir`, loaded at 32 px with alpha.
fn sprite_set(dir: &std::path::Path, columns: u32, rows: u32) -> hebb::testing::ImageSet {
    let path = dir.join("sheet.png");
    write_sheet(&path, columns, rows, 8);
    hebb::testing::sheet::load(&sheet_config(path), 32, hebb::testing::ColorMode::Rgba).unwrap()
}

/// Largest difference, relative to the largest magnitude.
fn relative_gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let gap = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    gap / scale
}

#[test]
fn wgpu_and_cpu_features_agree() {
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter (CI installs mesa-vulkan-drivers)");
    let cpu = device::cpu();
    let dir = tempfile::tempdir().unwrap();
    let set = sprite_set(dir.path(), 3, 3);
    let seed = EncoderConfig {
        channels: vec![4, 8, 8, 8],
        kernel_sizes: vec![3; 4],
        filters: FilterMode::Random,
        activation: Activation::Relu,
        normalise: Normalise::Spatial,
        standardise: false,
        whiten: false,
        lateral: LateralMode::Shared,
        lateral_layers: 0,
        seed: 3,
    };
    let learned = EncoderConfig { channels: vec![4, 8, 8, 8], seed: 3, ..EncoderConfig::default() };
    let soft = FilterRule::Softhebb;
    for (config, contrast, rule) in [
        (seed.clone(), false, soft),
        (EncoderConfig { lateral: LateralMode::PerChannel, ..seed }, false, soft),
        (learned.clone(), false, soft),
        (learned.clone(), true, soft),
        (learned.clone(), false, FilterRule::Kmeans),
        (EncoderConfig { lateral: LateralMode::Decorrelate, ..learned.clone() }, false, soft),
        (
            EncoderConfig {
                activation: Activation::Relu,
                normalise: Normalise::None,
                lateral: LateralMode::Shared,
                ..learned.clone()
            },
            false,
            soft,
        ),
        (EncoderConfig { kernel_sizes: vec![5, 3, 3, 1], ..learned.clone() }, false, soft),
        (EncoderConfig { whiten: true, normalise: Normalise::Spatial, ..learned }, false, soft),
    ] {
        let launched = launch_count("hebbian_update");
        let (on_gpu, ran_on_gpu) = features_after_training(&gpu.device, &config, rule, contrast, &set);
        if config.lateral == LateralMode::Shared {
            assert!(launch_count("hebbian_update") > launched, "the shared lateral rule ran the WGSL kernel");
        }
        let (on_cpu, ran_on_cpu) = features_after_training(&cpu.device, &config, rule, contrast, &set);
        assert!(ran_on_gpu && !ran_on_cpu, "the GPU run computed on wgpu, the CPU run on flex");
        let gap = relative_gap(&on_gpu, &on_cpu);
        // Whitening divides by the square roots of small eigenvalues of a covariance summed in a
        // different order on each device, which magnifies rounding (7e-4 measured on lavapipe).
        // Learned filters carry each layer's rounding into the next layer's learning (1.4e-4
        // measured on lavapipe with no normalisation and the lateral path).
        let tolerance = match (config.whiten, config.filters) {
            (true, _) => 2e-3,
            (false, FilterMode::Hebbian) => 5e-4,
            (false, FilterMode::Random) => 1e-4,
        };
        assert!(gap <= tolerance, "{config:?} (contrast {contrast}): GPU and CPU features differ by {gap} (relative)");
    }
}

/// The features' partial whitening, fitted on the CPU, applied on wgpu and on flex.
#[test]
fn wgpu_and_cpu_whitened_features_agree() {
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter (CI installs mesa-vulkan-drivers)");
    let cpu = device::cpu();
    let dir = tempfile::tempdir().unwrap();
    let set = sprite_set(dir.path(), 4, 4);
    let config = EncoderConfig { channels: vec![4, 8, 8, 8], seed: 3, ..EncoderConfig::default() };
    let indices: Vec<usize> = (0..set.len()).collect();
    let trained = |whiten_axes: usize| {
        let readout = FeaturesConfig { whiten_axes, ..FeaturesConfig::default() };
        let mut encoder = HebbianEncoder::new(4, set.side, &config, readout, &cpu.device);
        let training = TrainingConfig { batch_size: 4, filter_min_images: 0, ..TrainingConfig::default() };
        train(&mut encoder, &set, &indices, &training, &config, &cpu.device, Progress::Hidden).unwrap();
        encoder
    };
    let features = |encoder: &HebbianEncoder, device: &Device| {
        let features = encoder.features(set.batch_tensor(&indices, device));
        (device::is_wgpu(&features.device()), features.into_data().try_into_vec::<f32>().unwrap())
    };
    let encoder = trained(8);
    let (cpu_on_wgpu, on_cpu) = features(&encoder, &cpu.device);
    let (gpu_on_wgpu, on_gpu) = features(&encoder.clone().to_device(&gpu.device), &gpu.device);
    assert!(gpu_on_wgpu && !cpu_on_wgpu, "the GPU run computed on wgpu, the CPU run on flex");
    let unwhitened = features(&trained(0), &cpu.device).1;
    let change = relative_gap(&on_cpu, &unwhitened);
    assert!(change > 1e-2, "the whitening changes the features (by {change})");
    let gap = relative_gap(&on_gpu, &on_cpu);
    assert!(gap <= 1e-4, "GPU and CPU whitened features differ by {gap} (relative)");
}

/// One SoftHebb filter step, by each rule, on wgpu against flex: same filters and statistics.
#[test]
fn wgpu_and_cpu_filter_updates_agree() {
    for rule in [FilterRule::Projected, FilterRule::Softhebb] {
        filter_updates_agree(rule);
    }
}

fn filter_updates_agree(rule: FilterRule) {
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    let (patches, dim, filters) = (300, 36, 16);
    let x: Vec<f32> = (0..patches * dim).map(|i| ((i * 7919) % 211) as f32 / 105.0 - 1.0).collect();
    let w: Vec<f32> = (0..filters * dim).map(|i| ((i * 31) % 17) as f32 / 4.0 - 2.0).collect();
    let run = |device: &Device| {
        let x = Tensor::<2>::from_data(TensorData::new(x.clone(), [patches, dim]), device);
        let w = Tensor::<2>::from_data(TensorData::new(w.clone(), [filters, dim]), device);
        let update = update_filters(x, w, 0.2, 1.0, rule);
        let on_wgpu = device::is_wgpu(&update.weights.device());
        let weights = update.weights.into_data().try_into_vec::<f32>().unwrap();
        (weights, update.statistics.into_data().try_into_vec::<f32>().unwrap(), on_wgpu)
    };
    let (gpu_w, gpu_stats, ran_on_gpu) = run(&gpu.device);
    let (cpu_w, cpu_stats, _) = run(&Device::flex());
    assert!(ran_on_gpu, "the update ran on wgpu");
    assert!(relative_gap(&gpu_w, &cpu_w) <= 1e-4, "filters differ by {}", relative_gap(&gpu_w, &cpu_w));
    assert!(relative_gap(&gpu_stats, &cpu_stats) <= 1e-4, "{rule:?}: {gpu_stats:?} vs {cpu_stats:?}");
    assert!(relative_gap(&cpu_w, &w) > 1e-3, "the filters moved");
}

/// The fused WGSL update (shared rule) and the tensor-op update (per channel) on wgpu against
/// the CPU's blocked fused kernel (both rules): ragged tiles (n = 50), several row blocks
/// (rows = 4 x 10), and a rate at which the clamp binds for some entries.
#[test]
fn wgpu_and_cpu_hebbian_updates_agree() {
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    assert!(device::is_wgpu(&gpu.device));
    assert!(!device::is_wgpu(&Device::flex()));
    let (batch, channels, n) = (4, 10, 50);
    let values: Vec<f32> = (0..batch * channels * n).map(|i| ((i * 7919) % 101) as f32 / 101.0).collect();
    let start: Vec<f32> = (0..channels * n * n).map(|i| ((i * 31) % 17) as f32 / 17.0 - 0.5).collect();
    for (mode, lr) in [(LateralMode::Shared, 0.05), (LateralMode::Shared, 1e-3), (LateralMode::PerChannel, 0.3)] {
        let count = if mode == LateralMode::Shared { 1 } else { channels };
        let run = |device: &Device| -> (Vec<f32>, f32, f32) {
            let a = Tensor::<3>::from_data(TensorData::new(values.clone(), [batch, channels, n]), device);
            let w = Tensor::<3>::from_data(TensorData::new(start[..count * n * n].to_vec(), [count, n, n]), device);
            let update = update_weights(a, w, mode, lr).unwrap();
            let weights = update.weights.into_data().try_into_vec::<f32>().unwrap();
            (weights, update.delta_mean_abs.into_scalar::<f32>(), update.norm.into_scalar::<f32>())
        };
        let launched = launch_count("hebbian_update");
        let (gpu_w, gpu_delta, gpu_norm) = run(&gpu.device);
        if mode == LateralMode::Shared {
            assert_eq!(launch_count("hebbian_update"), launched + 1, "the shared rule ran the WGSL kernel on wgpu");
        }
        let (cpu_w, cpu_delta, cpu_norm) = run(&Device::flex());
        assert_eq!(launch_count("hebbian_update"), launched + usize::from(mode == LateralMode::Shared), "none on flex");
        let gap = relative_gap(&gpu_w, &cpu_w);
        assert!(gap <= 1e-5, "{mode:?} lr {lr}: weights differ by {gap}");
        assert!((gpu_delta - cpu_delta).abs() <= 1e-5 * cpu_delta.abs(), "{mode:?}: {gpu_delta} vs {cpu_delta}");
        assert!((gpu_norm - cpu_norm).abs() <= 1e-5 * cpu_norm, "{mode:?}: norm {gpu_norm} vs {cpu_norm}");
    }
}

/// Blocked cosine top-k on wgpu against flex: same neighbours, same similarities.
#[test]
fn wgpu_and_cpu_neighbours_agree() {
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    let (rows, dim) = (60, 9);
    let mut values: Vec<f32> = (0..rows * dim).map(|i| (((i * 7919) % 211) as f32 - 105.0) / 105.0).collect();
    for row in values.chunks_mut(dim) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
    let features = hebb::testing::Features { rows, dim, values };
    let on_gpu = hebb::testing::all_neighbours(&features, 5, &gpu.device, Progress::Hidden).unwrap();
    let on_cpu = hebb::testing::all_neighbours(&features, 5, &Device::flex(), Progress::Hidden).unwrap();
    assert_eq!(on_gpu.indices, on_cpu.indices);
    assert!(relative_gap(&on_gpu.similarities, &on_cpu.similarities) <= 1e-5);
}

/// K-Means on wgpu against flex (same k-means++ start, same clusters) and against linfa's own
/// fit from that start.
#[test]
fn wgpu_cpu_and_linfa_kmeans_agree() {
    use hebb::testing::ClusterConfig;
    use hebb::testing::cluster::{initial_centroids, kmeans, kmeans_linfa};
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    let (rows, dim) = (240, 5);
    let values: Vec<f32> = (0..rows * dim)
        .map(|i| ((i / dim) % 4) as f32 * 0.5 * ((i % dim) % 3) as f32 + ((i * 7919) % 97) as f32 / 97.0)
        .collect();
    let config = ClusterConfig { n_clusters: 4, seed: 5, ..Default::default() };
    let on_gpu = kmeans(&values, rows, dim, &config, &gpu.device).unwrap();
    let on_cpu = kmeans(&values, rows, dim, &config, &Device::flex()).unwrap();
    assert_eq!(on_gpu, on_cpu);
    let start = initial_centroids(&values, rows, dim, &config, &gpu.device).unwrap();
    assert_eq!(start, initial_centroids(&values, rows, dim, &config, &Device::flex()).unwrap());
    assert_eq!(on_cpu, kmeans_linfa(&values, rows, dim, &config, Some(&start)).unwrap());
}

/// Synchronous recall with a dense W on wgpu (the WGSL few-probe kernel up to 8 probes, a
/// matrix product beyond) against flex: same final states, same step counts. N even and P odd
/// keep every Hebbian field away from 0, so rounding cannot flip a sign.
#[test]
fn wgpu_and_cpu_synchronous_recall_agree() {
    use hebb::testing::recall_sync;
    use hebb::testing::{Patterns, flip_fraction};
    use hebb::testing::{Rule, learn};
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    let (n, p) = (300, 7);
    let patterns = Patterns::random(p, n, 8);
    let on_gpu_w = learn(Rule::Hebbian, &patterns, &gpu.device).unwrap();
    let on_cpu_w = learn(Rule::Hebbian, &patterns, &Device::flex()).unwrap();
    for probes in [1usize, 3, 8, 9] {
        let mut cues = Vec::new();
        for k in 0..probes {
            cues.extend(flip_fraction(patterns.pattern(k % p), 0.25, 40 + k as u64).unwrap());
        }
        let launched = launch_count("hopfield_sync_step");
        let on_gpu = recall_sync(&on_gpu_w, &cues, n, 20).unwrap();
        // One launch per step up to 8 probes; a matrix product beyond.
        let want = if probes <= 8 { launched + on_gpu.1 } else { launched };
        assert_eq!(launch_count("hopfield_sync_step"), want, "{probes} probes: kernel launches");
        let on_cpu = recall_sync(&on_cpu_w, &cues, n, 20).unwrap();
        assert_eq!(launch_count("hopfield_sync_step"), want, "none on flex");
        assert_eq!(on_gpu.1, on_cpu.1, "{probes} probes: steps");
        assert_eq!(on_gpu.0, on_cpu.0, "{probes} probes: final states");
        assert!(on_cpu.1 >= 2, "the cues needed repairing");
    }
}

/// The WGSL asynchronous sweep (one workgroup per probe) against the CPU sweep, same orders:
/// same final states, same sweep counts.
#[test]
fn wgpu_and_cpu_asynchronous_recall_agree() {
    use hebb::testing::Schedule;
    use hebb::testing::recall_async_batch;
    use hebb::testing::{Patterns, flip_fraction};
    use hebb::testing::{Rule, learn};
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    let patterns = Patterns::random(7, 300, 5);
    let mut probes = Vec::new();
    for k in 0..12 {
        probes.extend(flip_fraction(patterns.pattern(k % 7), 0.3, k as u64).unwrap());
    }
    let zero = Schedule::zero_temperature(300, 20, 9);
    // Metropolis, annealed from T = 0.5 to 0.05 over 8 sweeps.
    let annealed = Schedule::new(300, 8, 9, 0.5, 0.05);
    for (rule, schedule) in [(Rule::Hebbian, &zero), (Rule::Storkey, &zero), (Rule::Hebbian, &annealed)] {
        let launched = launch_count("hopfield_async_sweep");
        let on_gpu = recall_async_batch(&learn(rule, &patterns, &gpu.device).unwrap(), &probes, schedule).unwrap();
        assert!(launch_count("hopfield_async_sweep") > launched, "{rule:?}: the WGSL sweep ran");
        let launched = launch_count("hopfield_async_sweep");
        let on_cpu = recall_async_batch(&learn(rule, &patterns, &Device::flex()).unwrap(), &probes, schedule).unwrap();
        assert_eq!(launch_count("hopfield_async_sweep"), launched, "none on flex");
        assert_eq!(on_gpu.1, on_cpu.1, "{rule:?}: sweeps");
        assert_eq!(on_gpu.0, on_cpu.0, "{rule:?}: final states");
        assert!(on_cpu.1.iter().all(|&s| s >= 2), "the cues needed repairing");
    }
}
