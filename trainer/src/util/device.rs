//! The compute device: a CUDA GPU when present unless the CPU is asked for.

use tch::Device;

/// CUDA when present unless `cpu` is set.
pub fn pick_device(cpu: bool) -> Device {
    if cpu {
        Device::Cpu
    } else {
        Device::cuda_if_available()
    }
}

/// "cuda:0" or "cpu", as recorded in metrics.json and model cards.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}
