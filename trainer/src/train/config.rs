//! Everything that defines a training run; saved whole into metrics.json so a run can be
//! reproduced from its own output. Read from a JSON file (`--config`), then overridden by
//! command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::optimizer::OptimizerKind;
use crate::data::Protocol;
use crate::models::mobilenet_v2::STANDARD_WIDTHS;
use crate::models::transfer::BASE_GROUP;

/// Which network a run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The seed report's CNN, trained from scratch on one grey channel.
    #[default]
    #[value(name = "seed_cnn")]
    SeedCnn,
    /// MobileNetV2 pretrained on ImageNet plus a dense head (see --width, --mode, --weights).
    #[value(name = "mobilenet_v2")]
    MobilenetV2,
}

/// How a transfer model's pretrained base is trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TransferMode {
    /// The base is never updated: its pooled features are computed once per image set and
    /// cached, and only the head trains on them.
    #[default]
    Frozen,
    /// The top --trainable-blocks features of the base train too, at --base-lr-factor × lr.
    Finetune,
}

/// The ImageNet weights file shipped in ../shared/weights for a width, if there is one.
pub fn default_weights(width: f64) -> Option<PathBuf> {
    let dir = Path::new("../shared/weights");
    if width == 1.0 {
        Some(dir.join("mobilenet_v2_1.0_224_imagenet_folded.safetensors"))
    } else if width == 0.35 {
        Some(dir.join("mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors"))
    } else {
        None
    }
}

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
    /// The network: the seed CNN or the ImageNet MobileNetV2 with a new head.
    pub model: ModelKind,
    /// MobileNetV2 width multiplier (0.35 and 1.0 have weights in ../shared/weights).
    pub width: f64,
    /// MobileNetV2: frozen base (cached features) or fine-tuning of its top blocks.
    pub mode: TransferMode,
    /// MobileNetV2 weights file; None: the file for `width` in ../shared/weights.
    pub weights: Option<PathBuf>,
    /// Fine-tune mode: how many of the base's 19 features (from the top) train.
    pub trainable_blocks: usize,
    /// Fine-tune mode: the base learns at `lr × base_lr_factor`, the head at `lr`.
    pub base_lr_factor: f64,
    /// MobileNetV2: dropout between the pooled features and the dense head.
    pub head_dropout: f64,
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
            model: ModelKind::SeedCnn,
            width: 1.0,
            mode: TransferMode::Frozen,
            weights: None,
            trainable_blocks: 4,
            base_lr_factor: 0.1,
            head_dropout: 0.2,
        }
    }
}

impl TrainConfig {
    pub fn from_file(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("config file {} is not valid", path.display()))
    }

    /// Whether the JSON config file at `path` sets `field` itself (rather than leaving the default).
    pub fn file_sets(path: &Path, field: &str) -> Result<bool> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))?;
        Ok(v.get(field).is_some())
    }

    /// The MobileNetV2 weights file this config uses.
    pub fn weights_path(&self) -> Result<PathBuf> {
        match &self.weights {
            Some(p) => Ok(p.clone()),
            None => default_weights(self.width).with_context(|| {
                format!(
                    "no ImageNet weights ship for width {} (only 0.35 and 1.0 do): pass --weights <file>",
                    self.width
                )
            }),
        }
    }

    /// Learning-rate multipliers of var-store groups other than the head's (group 0).
    pub fn lr_group_factors(&self) -> Vec<(usize, f64)> {
        match (self.model, self.mode) {
            (ModelKind::MobilenetV2, TransferMode::Finetune) => vec![(BASE_GROUP, self.base_lr_factor)],
            _ => vec![],
        }
    }

    /// The run's name, derived from the settings when none was given.
    pub fn run_name(&self) -> String {
        let protocol = match self.protocol {
            Protocol::Official => "official",
            Protocol::Pooled => "pooled",
        };
        let model = match (self.model, self.mode) {
            (ModelKind::SeedCnn, _) => "seed_cnn".to_string(),
            (ModelKind::MobilenetV2, TransferMode::Frozen) => format!("mobilenet_v2-w{}-frozen", self.width),
            (ModelKind::MobilenetV2, TransferMode::Finetune) => format!(
                "mobilenet_v2-w{}-finetune{}-blr{}",
                self.width, self.trainable_blocks, self.base_lr_factor
            ),
        };
        self.name.clone().unwrap_or_else(|| {
            format!(
                "{model}-{protocol}-{:?}-lr{}-e{}-b{}-{}px-s{}",
                self.optimizer, self.lr, self.epochs, self.batch_size, self.image_size, self.seed
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
        if self.model == ModelKind::MobilenetV2 {
            anyhow::ensure!(
                STANDARD_WIDTHS.contains(&self.width),
                "MobileNetV2 width must be one of {STANDARD_WIDTHS:?}, got {}",
                self.width
            );
            anyhow::ensure!(
                (0.0..1.0).contains(&self.head_dropout),
                "head dropout must be in [0, 1), got {}",
                self.head_dropout
            );
            anyhow::ensure!(
                self.image_size >= 32,
                "MobileNetV2 needs images of at least 32 pixels, got {}",
                self.image_size
            );
            if self.mode == TransferMode::Finetune {
                anyhow::ensure!(
                    (1..=crate::models::mobilenet_v2::FEATURE_COUNT).contains(&self.trainable_blocks),
                    "trainable blocks must be 1 to {}, got {}",
                    crate::models::mobilenet_v2::FEATURE_COUNT,
                    self.trainable_blocks
                );
                anyhow::ensure!(
                    self.base_lr_factor > 0.0 && self.base_lr_factor.is_finite(),
                    "base learning-rate factor must be positive, got {}",
                    self.base_lr_factor
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_configs_load_with_seed_cnn_defaults() {
        let c: TrainConfig = serde_json::from_str(r#"{"lr": 0.001, "image_size": 128}"#).unwrap();
        assert_eq!(c.model, ModelKind::SeedCnn);
        assert!(c.lr_group_factors().is_empty());
        assert!(c.run_name().starts_with("seed_cnn-pooled-adagrad-lr0.001"));
        c.validate().unwrap();
    }

    #[test]
    fn transfer_settings_name_the_run_and_pick_weights() {
        let mut c: TrainConfig =
            serde_json::from_str(r#"{"model": "mobilenet_v2", "width": 0.35, "mode": "finetune"}"#).unwrap();
        assert_eq!(c.lr_group_factors(), vec![(BASE_GROUP, 0.1)]);
        assert!(c.run_name().starts_with("mobilenet_v2-w0.35-finetune4-blr0.1-pooled-"), "{}", c.run_name());
        assert!(c.weights_path().unwrap().ends_with("mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors"));
        c.mode = TransferMode::Frozen;
        assert!(c.lr_group_factors().is_empty());
        assert!(c.run_name().starts_with("mobilenet_v2-w0.35-frozen-pooled-"));
        c.width = 0.5;
        assert!(c.weights_path().unwrap_err().to_string().contains("--weights"));
        c.width = 0.3;
        assert!(c.validate().is_err());
        c.width = 1.0;
        c.mode = TransferMode::Finetune;
        c.trainable_blocks = 0;
        assert!(c.validate().is_err());
        let back: TrainConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!((back.model, back.mode, back.width), (c.model, c.mode, c.width));
    }
}
