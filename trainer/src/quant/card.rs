//! The model card written beside each blob (`models/<name>.json`): what the blob expects,
//! what it outputs, how it was made, and how accurate it is next to its float model.

use serde::{Deserialize, Serialize};

use super::calibrate::Calibration;
use crate::data::Protocol;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardInput {
    /// [height, width, channels] (NHWC, batch 1).
    pub shape: [u16; 3],
    /// How to make the int8 input from an image.
    pub preprocessing: String,
    pub scale: f32,
    pub zero_point: i8,
    /// The float model's own input normalisation.
    pub float_normalisation: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardOutput {
    pub scale: f32,
    pub zero_point: i8,
    pub meaning: String,
}

/// Where the test images come from: enough to rebuild the exact split from the data folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardSplit {
    pub protocol: Protocol,
    pub seed: u64,
    pub val_fraction: f64,
    pub image_size: u32,
    pub validation_images: usize,
    pub test_images: usize,
}

/// Accuracy-type figures of one model on one split at the card's threshold.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardScores {
    pub accuracy: f64,
    pub f1: f64,
    pub auc: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub model: String,
    pub classes: Vec<String>,
    pub input: CardInput,
    pub output: CardOutput,
    /// Decision threshold on p(pneumonia) for the int8 model: best F1 on its own validation
    /// predictions (the float run's threshold is `float_threshold`).
    pub threshold: f64,
    pub float_threshold: f64,
    pub protocol: Protocol,
    pub split: CardSplit,
    pub calibration: Calibration,
    pub calibration_images: usize,
    /// Mean int8 − float logit on the calibration images that was removed from the last
    /// layer's bias (None: no bias correction).
    #[serde(default)]
    pub logit_bias_correction: Option<Vec<f32>>,
    pub float_test_accuracy: f64,
    pub int8_test_accuracy: f64,
    pub float_test_auc: Option<f64>,
    pub int8_test_auc: Option<f64>,
    pub float_validation: CardScores,
    pub int8_validation: CardScores,
    pub float_test: CardScores,
    pub int8_test: CardScores,
    /// int8 test accuracy at the float model's threshold: the quantization's effect alone,
    /// without the int8 model's own threshold choice.
    pub int8_test_accuracy_at_float_threshold: f64,
    /// Test images on which float and int8 give the same label (each at its threshold).
    pub test_label_agreement: f64,
    /// Test images on which infer-core and the trainer's integer reference give identical
    /// output bytes (must be all of them).
    pub test_bit_exact: usize,
    /// Largest |logit| difference between the exported float graph and the tch model on
    /// validation images (checks the export).
    pub export_max_logit_error: f64,
    pub blob: String,
    pub blob_bytes: usize,
    pub arena_bytes: usize,
    pub macs: u64,
    pub layers: usize,
    pub format_version: String,
    pub sha256: String,
    pub source_run: String,
    pub command: String,
    pub git_commit: String,
    pub seconds: f64,
}
