//! A split's images held as one uint8 tensor on the training device.
//!
//! On a GPU the whole set (5,856 × 180 × 180 bytes ≈ 190 MB) fits in device memory, so a batch
//! is an `index_select` there and the host never feeds the GPU image by image. On the CPU the
//! same code is a cheap gather.

use tch::{Device, Kind as TchKind, Tensor};

use super::Dataset;

/// Images `[n, 1, size, size]` (u8) and binary labels `[n]` (f32) on `device`.
pub struct DeviceImages {
    pub pixels: Tensor,
    pub labels: Tensor,
    pub len: usize,
}

impl DeviceImages {
    /// Gathers `indices` of `data` onto `device`.
    pub fn new(data: &Dataset, indices: &[usize], device: Device) -> DeviceImages {
        let size = data.size as i64;
        let mut px = Vec::with_capacity(indices.len() * (size * size) as usize);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            px.extend_from_slice(data.image(i));
            labels.push(if data.records[i].kind.is_pneumonia() { 1f32 } else { 0f32 });
        }
        let pixels = Tensor::from_slice(&px).view([indices.len() as i64, 1, size, size]).to_device(device);
        let labels = Tensor::from_slice(&labels).to_device(device);
        DeviceImages { pixels, labels, len: indices.len() }
    }

    /// Float batch in [0, 1] (the seed's pixels / 255) and its labels, for positions `idx`
    /// (an i64 tensor on the same device).
    pub fn batch(&self, idx: &Tensor) -> (Tensor, Tensor) {
        let x = self.pixels.index_select(0, idx).to_kind(TchKind::Float) / 255.0;
        (x, self.labels.index_select(0, idx))
    }
}
