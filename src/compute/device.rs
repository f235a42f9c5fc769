//! Device selection, in one place: `--device auto|gpu|cpu` becomes a burn [`Device`].
//!
//! `gpu` asks wgpu for an adapter (any graphics API) and fails with one clear line when there is
//! none. `auto` uses a hardware adapter when there is one and burn's pure-Rust CPU backend
//! (flex) otherwise: a software adapter such as Mesa's lavapipe is slower than flex, so `auto`
//! passes it over (ask for it with `gpu`, as the tests do). Everything below this module takes a
//! `&Device` and runs the same code on either backend.

use std::sync::OnceLock;

use anyhow::{Result, bail};
use burn::backend::wgpu::wgpu;
use burn::tensor::{Device, Int, Tensor};

use crate::choice::choice;
use crate::progress::Progress;

choice! {
    /// What the user asked for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeviceChoice {
        /// A hardware GPU when wgpu finds one, else the CPU.
        Auto = "auto",
        /// The wgpu adapter, hardware or software; an error when there is none.
        Gpu = "gpu",
        /// burn's pure-Rust CPU backend.
        Cpu = "cpu",
    }
}

/// A device ready for tensors, with a human-readable description of what it is.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    pub device: Device,
    /// e.g. `wgpu Vulkan: NVIDIA H100 (DiscreteGpu)` or `cpu (flex, 2 threads)`.
    pub description: String,
    pub is_gpu: bool,
}

/// What a command runs with: its device, and whether long work shows its progress.
#[derive(Debug, Clone)]
pub(crate) struct RunContext {
    pub compute: ComputeDevice,
    pub progress: Progress,
}

impl RunContext {
    /// The device `choice` resolves to ([`select`]), named on stderr, with `progress`.
    pub(crate) fn select(choice: DeviceChoice, progress: Progress) -> Result<Self> {
        let compute = select(choice)?;
        log::info!("device: {}", compute.description);
        Ok(RunContext { compute, progress })
    }

    /// The burn device tensors go to.
    pub(crate) fn device(&self) -> &Device {
        &self.compute.device
    }

    /// The same device with progress hidden: for work that runs inside another bar.
    pub(crate) fn hidden(&self) -> RunContext {
        RunContext { compute: self.compute.clone(), progress: Progress::Hidden }
    }
}

/// The wgpu adapter found on first use: initialising the runtime twice is an error in burn, so
/// the outcome of the first attempt is kept for the life of the process.
struct WgpuAdapter {
    device: Device,
    info: wgpu::AdapterInfo,
}

fn wgpu_adapter() -> &'static Result<WgpuAdapter, String> {
    static ADAPTER: OnceLock<Result<WgpuAdapter, String>> = OnceLock::new();
    ADAPTER.get_or_init(|| match Device::wgpu_options().init_with_setup() {
        Ok((device, setup)) => Ok(WgpuAdapter { device, info: setup.adapter.get_info() }),
        Err(e) => Err(e.to_string()),
    })
}

fn describe_adapter(info: &wgpu::AdapterInfo) -> String {
    format!("wgpu {:?}: {} ({:?})", info.backend, info.name, info.device_type)
}

/// Whether `device` is a wgpu device (and so runs our WGSL kernels).
pub fn is_wgpu(device: &Device) -> bool {
    matches!(device.as_dispatch(), burn::backend::DispatchDevice::Cube(_))
}

/// The CPU device (burn's flex backend).
pub fn cpu() -> ComputeDevice {
    ComputeDevice {
        device: Device::flex(),
        description: format!("cpu (flex, {} threads)", rayon::current_num_threads()),
        is_gpu: false,
    }
}

/// Resolves a choice into a device. Under `auto`, a note on stderr says why the CPU was chosen.
pub fn select(choice: DeviceChoice) -> Result<ComputeDevice> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => match wgpu_adapter() {
            Ok(adapter) => Ok(ComputeDevice {
                device: adapter.device.clone(),
                description: describe_adapter(&adapter.info),
                is_gpu: true,
            }),
            Err(e) => {
                bail!("--device gpu: wgpu found no GPU adapter ({e}); install a Vulkan driver or use --device cpu")
            }
        },
        DeviceChoice::Auto => match wgpu_adapter() {
            Ok(adapter) if adapter.info.device_type != wgpu::DeviceType::Cpu => Ok(ComputeDevice {
                device: adapter.device.clone(),
                description: describe_adapter(&adapter.info),
                is_gpu: true,
            }),
            Ok(adapter) => {
                log::info!(
                    "note: only a software GPU adapter ({}) was found; using the CPU (--device gpu forces it)",
                    adapter.info.name
                );
                Ok(cpu())
            }
            Err(_) => {
                log::info!("note: no GPU adapter found; using the CPU");
                Ok(cpu())
            }
        },
    }
}

/// Copies a tensor's values to the host; `what` names them in the error. Device failures
/// (queued work that could not run, e.g. a buffer too large for the device) come back here as
/// one readable error rather than a panic.
pub(crate) fn read_f32<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    let data = t.try_into_data().map_err(|e| device_failure(what, &format!("{e:?}")))?;
    data.try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("cannot read {what} from the device: {e:?}"))
}

/// Copies an integer tensor's values (indices) to the host; `what` names them in the error.
pub(crate) fn read_indices<const D: usize>(t: Tensor<D, Int>, what: &str) -> Result<Vec<u32>> {
    let data = t.try_into_data().map_err(|e| device_failure(what, &format!("{e:?}")))?;
    let fail = |e: &dyn std::fmt::Debug| anyhow::anyhow!("cannot read {what} from the device: {e:?}");
    let values = data.try_cast_as::<i64>().map_err(|e| fail(&e))?.try_into_vec::<i64>().map_err(|e| fail(&e))?;
    Ok(values.into_iter().map(|v| v as u32).collect())
}

/// One line for a failed device computation; an allocation failure names the buffer size.
fn device_failure(what: &str, detail: &str) -> anyhow::Error {
    const ALLOCATION: &str = "can't allocate buffer of size: ";
    if let Some(at) = detail.find(ALLOCATION) {
        let bytes: String = detail[at + ALLOCATION.len()..].chars().take_while(char::is_ascii_digit).collect();
        let mib = bytes.parse::<f64>().unwrap_or(0.0) / (1 << 20) as f64;
        return anyhow::anyhow!(
            "computing {what} failed: the device could not allocate a {mib:.0} MiB buffer; try a smaller problem or --device cpu"
        );
    }
    let first_line = detail.lines().next().unwrap_or(detail);
    anyhow::anyhow!("computing {what} failed on the device: {first_line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_failures_read_as_one_line() {
        let detail = "Execution(An error happened during execution\nCaused by:\n  An IO error happened\nCaused by:\n  can't allocate buffer of size: 400000000\n)";
        let message = device_failure("states", detail).to_string();
        assert_eq!(
            message,
            "computing states failed: the device could not allocate a 381 MiB buffer; try a smaller problem or --device cpu"
        );
        let other = device_failure("features", "Execution(lost device)\nmore").to_string();
        assert_eq!(other, "computing features failed on the device: Execution(lost device)");
    }
}
