//! Rebuilding a finished run's model from its folder (`metrics.json` + `model.safetensors`),
//! for `trainer eval` and for the int8 quantizer.
//!
//! A transfer run's `model.safetensors` holds the whole model (base and head), so the
//! ImageNet weights file is not needed: the architecture comes from the config in
//! metrics.json (model, width, image size, head dropout) and the BatchNorm flavour from the
//! tensor names (`base.features.0.1.running_var` present: Keras BatchNorm with eps 1e-3;
//! absent: BN folded into conv biases).

use std::path::Path;

use anyhow::{Context, Result};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::metrics_file::MetricsFile;
use super::RunDir;
use crate::models::mobilenet_v2::{Config, Norm};
use crate::models::weights::read_shapes;
use crate::models::{Classifier, SeedCnn, TransferModel};
use crate::train::config::ModelKind;
use crate::train::{checkpoint, TrainConfig};

/// The trained network of a run.
#[derive(Debug)]
pub enum RunModel {
    SeedCnn(SeedCnn),
    /// MobileNetV2 base + dense head; every base feature is frozen (inference).
    Transfer(Box<TransferModel>),
}

impl Classifier for RunModel {
    /// Logits `[N, 1]` of grey images `[N, 1, H, W]` in [0, 1] (either model).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            RunModel::SeedCnn(m) => m.forward_t(xs, train),
            RunModel::Transfer(m) => m.forward_t(xs, train),
        }
    }
}

/// Reads `metrics.json` of a finished run.
pub fn read_metrics(run_dir: &Path) -> Result<MetricsFile> {
    let run = RunDir::new(run_dir);
    let text = std::fs::read(run.metrics())
        .with_context(|| format!("{} is not a finished run: cannot read metrics.json", run_dir.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid metrics file", run.metrics().display()))
}

/// The model of the run in `run_dir` on `device`, with its weights from `model.safetensors`,
/// the var store holding them, and the run's config.
pub fn load_run_model(run_dir: &Path, device: Device) -> Result<(VarStore, RunModel, TrainConfig)> {
    let cfg = read_metrics(run_dir)?.config;
    let file = RunDir::new(run_dir).model();
    // An ensemble's folder, or a run copied without its weights (reports/…), has none.
    anyhow::ensure!(
        file.exists(),
        "{} has no model.safetensors (an ensemble run, or a run folder copied without its weights): \
         there is no model to load",
        run_dir.display()
    );
    let mut vs = VarStore::new(device);
    let model = match cfg.model {
        ModelKind::SeedCnn => {
            RunModel::SeedCnn(SeedCnn::new(&vs.root(), cfg.image_size as i64, cfg.outputs()))
        }
        ModelKind::MobilenetV2 => {
            let shapes = read_shapes(&file)?;
            let config = Config { width: cfg.width, norm: Norm::detect(&shapes, "base."), classes: None };
            let mut m = TransferModel::new(
                &vs.root(),
                config,
                cfg.head,
                cfg.head_dropout,
                cfg.image_size as i64,
                cfg.outputs(),
            );
            m.base.set_trainable_blocks(0);
            RunModel::Transfer(Box::new(m))
        }
    };
    checkpoint::load(&mut vs, &file)?;
    Ok((vs, model, cfg))
}
