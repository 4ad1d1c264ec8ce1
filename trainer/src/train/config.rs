//! Everything that defines a training run; saved whole into metrics.json so a run can be
//! reproduced from its own output. Read from a JSON file (`--config`), then overridden by
//! command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::optimizer::OptimizerKind;
use crate::data::Protocol;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Run name: outputs go to `<runs_dir>/<name>/`.
    pub name: Option<String>,
    pub data: PathBuf,
    pub runs_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub protocol: Protocol,
    /// Seeds the split, weight initialisation, shuffling and dropout.
    pub seed: u64,
    /// Official protocol: share of the training pool (by patient) held out for validation.
    pub val_fraction: f64,
    /// Square input side in pixels (the seed used 180).
    pub image_size: u32,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Momentum for `optimizer = momentum`.
    pub momentum: f64,
    pub epochs: usize,
    pub batch_size: usize,
    /// Early stopping: stop after this many epochs without a lower validation loss and
    /// restore the best weights. None trains all epochs and keeps the last weights (the
    /// seed's default).
    pub patience: Option<usize>,
    /// Force the CPU even when CUDA is available.
    pub cpu: bool,
}

impl Default for TrainConfig {
    /// The seed's task I–II settings: Adagrad 0.01, 10 epochs, batch 20, 180 px.
    fn default() -> Self {
        TrainConfig {
            name: None,
            data: PathBuf::from("../shared/data/chest_xray"),
            runs_dir: PathBuf::from("runs"),
            cache_dir: PathBuf::from(".cache"),
            protocol: Protocol::Pooled,
            seed: 42,
            val_fraction: 0.1,
            image_size: 180,
            optimizer: OptimizerKind::Adagrad,
            lr: 0.01,
            momentum: 0.9,
            epochs: 10,
            batch_size: 20,
            patience: None,
            cpu: false,
        }
    }
}

impl TrainConfig {
    pub fn from_file(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))
    }

    /// The run's name, derived from the settings when none was given.
    pub fn run_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            format!(
                "seed_cnn-{}-{:?}-lr{}-e{}-b{}-{}px-s{}",
                match self.protocol {
                    Protocol::Official => "official",
                    Protocol::Pooled => "pooled",
                },
                self.optimizer,
                self.lr,
                self.epochs,
                self.batch_size,
                self.image_size,
                self.seed
            )
            .to_lowercase()
        })
    }

    /// Batch for prediction only: no gradients are kept, so larger batches are cheap.
    pub fn eval_batch_size(&self) -> usize {
        self.batch_size.max(64)
    }

    pub fn validate(&self) -> Result<()> {
        anyhow::ensure!(self.epochs > 0, "epochs must be at least 1");
        anyhow::ensure!(self.batch_size > 0, "batch size must be at least 1");
        anyhow::ensure!(
            self.lr > 0.0 && self.lr.is_finite(),
            "learning rate must be positive, got {}",
            self.lr
        );
        anyhow::ensure!(
            self.image_size >= 8,
            "image size must be at least 8 pixels, got {}",
            self.image_size
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.momentum),
            "momentum must be in [0, 1), got {}",
            self.momentum
        );
        Ok(())
    }
}
