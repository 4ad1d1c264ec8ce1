//! A split's images held as one uint8 tensor on the training device.
//!
//! On a GPU the whole set (5,856 × 180 × 180 bytes ≈ 190 MB) fits in device memory, so a batch
//! is an `index_select` there and the host never feeds the GPU image by image. On the CPU the
//! same code is a cheap gather.

use tch::{Device, Kind as TchKind, Tensor};

use super::Dataset;

/// What the training loop and `predict` read: `len` samples with binary labels, any subset
/// of which comes as one batch `(inputs, labels)` for a [`crate::models::Classifier`].
pub trait Samples {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Labels `[n]` (f32) on the device: 1 = pneumonia, or for a 3-class set the class index
    /// (0 normal, 1 bacterial, 2 viral).
    fn labels(&self) -> &Tensor;
    /// Inputs and labels at positions `idx` (an i64 tensor on the same device).
    fn batch(&self, idx: &Tensor) -> (Tensor, Tensor);
    fn device(&self) -> Device {
        self.labels().device()
    }
}

/// The inputs of `samples` in their order, `batch_size` at a time (the last batch may be
/// smaller): what evaluation walks, where training draws shuffled batches.
pub fn inputs_in_order(samples: &dyn Samples, batch_size: usize) -> impl Iterator<Item = Tensor> + '_ {
    let (step, device) = (batch_size.max(1), samples.device());
    (0..samples.len()).step_by(step).map(move |start| {
        let end = (start + step).min(samples.len());
        samples.batch(&Tensor::arange_start(start as i64, end as i64, (TchKind::Int64, device))).0
    })
}

/// Labels of `indices` of `data`, as f32: 1 = pneumonia for 2 classes, the [`Kind`] index
/// for 3.
///
/// [`Kind`]: super::Kind
fn labels_of(data: &Dataset, indices: &[usize], classes: u8) -> Vec<f32> {
    let label = |i: usize| {
        let kind = data.records[i].kind;
        match classes {
            3 => kind.index() as f32,
            _ => f32::from(u8::from(kind.is_pneumonia())),
        }
    };
    indices.iter().map(|&i| label(i)).collect()
}

/// Images `[n, 1, size, size]` (u8) and their labels `[n]` (f32) on `device`.
pub struct DeviceImages {
    pub pixels: Tensor,
    pub labels: Tensor,
    pub len: usize,
}

impl DeviceImages {
    /// Gathers `indices` of `data` onto `device`, with binary labels.
    pub fn new(data: &Dataset, indices: &[usize], device: Device) -> DeviceImages {
        DeviceImages::with_classes(data, indices, device, 2)
    }

    /// Gathers `indices` of `data` onto `device`, labelled for `classes` (2 or 3) classes.
    pub fn with_classes(data: &Dataset, indices: &[usize], device: Device, classes: u8) -> DeviceImages {
        let size = data.size as i64;
        let mut px = Vec::with_capacity(indices.len() * (size * size) as usize);
        for &i in indices {
            px.extend_from_slice(data.image(i));
        }
        let labels = labels_of(data, indices, classes);
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

impl Samples for DeviceImages {
    fn len(&self) -> usize {
        self.len
    }
    fn labels(&self) -> &Tensor {
        &self.labels
    }
    fn batch(&self, idx: &Tensor) -> (Tensor, Tensor) {
        DeviceImages::batch(self, idx)
    }
}

/// Pooled features `[n, channels]` (f32) of a split's images, and their labels, on the
/// device: what the head of a frozen transfer model trains on.
pub struct DeviceFeatures {
    pub features: Tensor,
    pub labels: Tensor,
    pub len: usize,
}

impl DeviceFeatures {
    /// Rows `indices` of `all` (features of every image of `data`, in `data` order), labelled
    /// for `classes` (2: pneumonia 0/1, 3: class index).
    pub fn new(all: &Tensor, data: &Dataset, indices: &[usize], classes: u8) -> DeviceFeatures {
        let device = all.device();
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let features = all.index_select(0, &Tensor::from_slice(&idx).to_device(device));
        let labels = Tensor::from_slice(&labels_of(data, indices, classes)).to_device(device);
        DeviceFeatures { features, labels, len: indices.len() }
    }
}

impl Samples for DeviceFeatures {
    fn len(&self) -> usize {
        self.len
    }
    fn labels(&self) -> &Tensor {
        &self.labels
    }
    fn batch(&self, idx: &Tensor) -> (Tensor, Tensor) {
        (self.features.index_select(0, idx), self.labels.index_select(0, idx))
    }
}
