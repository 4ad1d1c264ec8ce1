//! Checks of a [`TrainConfig`] before anything runs: each names the option and the value.

use anyhow::Result;

use super::{ModelKind, TrainConfig, TransferMode};
use crate::models::mobilenet_v2::STANDARD_WIDTHS;
use crate::models::transfer::HeadKind;
use crate::train::augment::Augment;

impl TrainConfig {
    /// Every setting in range and the settings consistent with each other.
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
        anyhow::ensure!(
            self.classes == 2 || self.model == ModelKind::SeedCnn || self.head == HeadKind::Gap,
            "classes must be 2, or 3 with the seed_cnn model or MobileNetV2's gap head, got {} with {:?} and the {:?} head",
            self.classes,
            self.model,
            self.head
        );
        anyhow::ensure!(
            self.augment == Augment::None
                || self.model == ModelKind::SeedCnn
                || self.mode == TransferMode::Finetune,
            "--augment works on images: the seed CNN or MobileNetV2 fine-tuning (a frozen base trains on cached features)"
        );
        anyhow::ensure!(
            (0.0..0.5).contains(&self.label_smoothing),
            "label smoothing must be in [0, 0.5), got {}",
            self.label_smoothing
        );
        anyhow::ensure!((0.0..=10.0).contains(&self.mixup), "mixup α must be in [0, 10], got {}", self.mixup);
        anyhow::ensure!(
            (0.0..=10.0).contains(&self.focal_gamma),
            "--focal-gamma must be in [0, 10] (0: off), got {}",
            self.focal_gamma
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.ema_decay),
            "--ema-decay must be in [0, 1) (0: off), got {}",
            self.ema_decay
        );
        if let Some(&e) = self.eval_epochs.iter().find(|&&e| e == 0 || e > self.total_epochs()) {
            anyhow::bail!("--eval-epochs {e} is outside the run's epochs 1..={}", self.total_epochs());
        }
        anyhow::ensure!(
            self.head_epochs == 0
                || (self.model == ModelKind::MobilenetV2 && self.mode == TransferMode::Finetune),
            "--head-epochs trains the head before the base: MobileNetV2 fine-tuning only (got {:?}, {:?})",
            self.model,
            self.mode
        );
        anyhow::ensure!(
            self.head_epochs <= 100,
            "--head-epochs must be at most 100, got {}",
            self.head_epochs
        );
        self.validate_transfer()
    }

    /// The MobileNetV2 settings.
    fn validate_transfer(&self) -> Result<()> {
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
