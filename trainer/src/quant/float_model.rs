//! A trained float model rebuilt from its run folder: what the quantizer exports, and the
//! float side of every int8-versus-float comparison.

use std::path::Path;

use anyhow::Result;
use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::export;
use super::graph::FloatGraph;
use crate::data::device::DeviceImages;
use crate::data::Dataset;
use crate::eval::predict::{predict, Predictions};
use crate::models::Classifier;
use crate::run::load::{load_run_model, read_metrics};
use crate::run::metrics_file::MetricsFile;
use crate::run::RunModel;
use crate::train::TrainConfig;

pub struct FloatModel {
    pub vs: VarStore,
    pub net: RunModel,
    pub metrics: MetricsFile,
}

impl FloatModel {
    /// The model of the run in `run_dir`, on `device`.
    pub fn load(run_dir: &Path, device: Device) -> Result<FloatModel> {
        let metrics = read_metrics(run_dir)?;
        let (vs, net, _) = load_run_model(run_dir, device)?;
        Ok(FloatModel { vs, net, metrics })
    }

    /// The configuration the run was trained with.
    pub fn config(&self) -> &TrainConfig {
        &self.metrics.config
    }

    /// The float graph in the engine's layouts (BatchNorm folded).
    pub fn export(&self) -> Result<FloatGraph> {
        match &self.net {
            RunModel::SeedCnn(m) => export::seed_cnn(m),
            RunModel::Transfer(m) => export::mobilenet_v2(&m.base, &m.head, m.image_size),
        }
    }

    /// Images `indices` of `data` on `device`, labelled the way this model was trained
    /// (binary, or the class index for a 3-class model).
    pub fn images(&self, data: &Dataset, indices: &[usize], device: Device) -> DeviceImages {
        DeviceImages::with_classes(data, indices, device, self.config().classes)
    }

    /// p(pneumonia) (and class probabilities for a 3-class model) of every image of a split.
    pub fn predict(&self, images: &DeviceImages) -> Predictions {
        predict(&self.net, images, self.config().eval_batch_size())
    }

    /// Float logits `[N]` for 8-bit pixels `[N, 1, H, W]`.
    pub fn logits(&self, pixels: &Tensor) -> Tensor {
        pixel_logits(&self.net, pixels, self.vs.device())
    }
}

/// Float logits `[N]` of `net` (a run's model, an ensemble…) on `device` for 8-bit pixels
/// `[N, 1, H, W]`, scaled to [0, 1] as training saw them.
pub fn pixel_logits(net: &dyn Classifier, pixels: &Tensor, device: Device) -> Tensor {
    let x = pixels.to_device(device).to_kind(tch::Kind::Float) / 255.0;
    tch::no_grad(|| net.forward_t(&x, false)).flatten(0, -1)
}
