//! The GPU path (wgpu; Mesa's lavapipe on machines without a GPU) against its CPU twin (flex).

use burn::tensor::{Device, Tensor, TensorData};
use hebb::config::LateralMode;
use hebb::device::{self, DeviceChoice};
use hebb::encoder::HebbianEncoder;
use hebb::encoder::lateral::update_weights;
use hebb::train::batch_tensor;

use crate::common::{sheet_config, write_sheet};

fn features_after_training(device: &Device, mode: LateralMode, set: &hebb::data::ImageSet) -> Vec<f32> {
    let mut encoder = HebbianEncoder::new(4, set.side, &[4, 8, 8, 8], mode, 3, device);
    let indices: Vec<usize> = (0..set.len()).collect();
    for batch in indices.chunks(4) {
        encoder.train_step(batch_tensor(set, batch, device), 0.05);
    }
    encoder.features(batch_tensor(set, &indices, device)).into_data().try_into_vec::<f32>().unwrap()
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
    let path = dir.path().join("sheet.png");
    write_sheet(&path, 3, 3, 8);
    let config = sheet_config(path);
    let set = hebb::data::sheet::load(&config, 32, hebb::config::ColorMode::Rgba).unwrap();
    for mode in [LateralMode::Shared, LateralMode::PerChannel] {
        let on_gpu = features_after_training(&gpu.device, mode, &set);
        let on_cpu = features_after_training(&cpu.device, mode, &set);
        let gap = relative_gap(&on_gpu, &on_cpu);
        assert!(gap <= 1e-4, "{mode:?}: GPU and CPU features differ by {gap} (relative)");
    }
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
            let update = update_weights(a, w, mode, lr);
            let weights = update.weights.into_data().try_into_vec::<f32>().unwrap();
            (weights, update.delta_mean_abs.into_scalar::<f32>(), update.norm.into_scalar::<f32>())
        };
        let (gpu_w, gpu_delta, gpu_norm) = run(&gpu.device);
        let (cpu_w, cpu_delta, cpu_norm) = run(&Device::flex());
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
    let features = hebb::features::Features { rows, dim, values };
    let on_gpu = hebb::knn::all_neighbours(&features, 5, &gpu.device, true).unwrap();
    let on_cpu = hebb::knn::all_neighbours(&features, 5, &Device::flex(), true).unwrap();
    assert_eq!(on_gpu.indices, on_cpu.indices);
    assert!(relative_gap(&on_gpu.similarities, &on_cpu.similarities) <= 1e-5);
}

/// K-Means on wgpu against flex (same k-means++ start, same clusters) and against linfa's own
/// fit from that start.
#[test]
fn wgpu_cpu_and_linfa_kmeans_agree() {
    use hebb::cluster::{ClusterConfig, initial_centroids, kmeans, kmeans_linfa};
    let gpu = device::select(DeviceChoice::Gpu).expect("a wgpu adapter");
    let (rows, dim) = (240, 5);
    let values: Vec<f32> =
        (0..rows * dim).map(|i| ((i / dim) % 4) as f32 * 0.5 * ((i % dim) % 3) as f32 + ((i * 7919) % 97) as f32 / 97.0).collect();
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
    use hebb::hopfield::dynamics::recall_sync;
    use hebb::hopfield::rules::{Rule, learn};
    use hebb::hopfield::{Patterns, flip_fraction};
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
        let on_gpu = recall_sync(&on_gpu_w, &cues, n, 20).unwrap();
        let on_cpu = recall_sync(&on_cpu_w, &cues, n, 20).unwrap();
        assert_eq!(on_gpu.1, on_cpu.1, "{probes} probes: steps");
        assert_eq!(on_gpu.0, on_cpu.0, "{probes} probes: final states");
        assert!(on_cpu.1 >= 2, "the cues needed repairing");
    }
}

/// The WGSL asynchronous sweep (one workgroup per probe) against the CPU sweep, same orders:
/// same final states, same sweep counts.
#[test]
fn wgpu_and_cpu_asynchronous_recall_agree() {
    use hebb::hopfield::dynamics::{Schedule, recall_async_batch};
    use hebb::hopfield::rules::{Rule, learn};
    use hebb::hopfield::{Patterns, flip_fraction};
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
        let on_gpu = recall_async_batch(&learn(rule, &patterns, &gpu.device).unwrap(), &probes, schedule).unwrap();
        let on_cpu = recall_async_batch(&learn(rule, &patterns, &Device::flex()).unwrap(), &probes, schedule).unwrap();
        assert_eq!(on_gpu.1, on_cpu.1, "{rule:?}: sweeps");
        assert_eq!(on_gpu.0, on_cpu.0, "{rule:?}: final states");
        assert!(on_cpu.1.iter().all(|&s| s >= 2), "the cues needed repairing");
    }
}
