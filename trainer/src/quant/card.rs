//! The model card written beside each blob (`models/<name>.json`): what the blob expects,
//! what it outputs, how it was made, and how accurate it is next to its float model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use infer_core::Model;
use serde::{Deserialize, Serialize};

use super::bias_correction::{BiasCorrection, OutputFix};
use super::calibrate::Calibration;
use super::float_model::FloatModel;
use super::graph::FloatGraph;
use super::pipeline::QuantizeOptions;
use super::qat::QatLog;
use crate::data::intensity::Intensity;
use crate::data::split::ValSplit;
use crate::data::{Protocol, SplitData, SplitSpec};
use crate::eval::predict::Predictions;
use crate::eval::{at_threshold, fmt_auc, EvalReport, SplitEval};
use crate::util::git::git_commit;
use crate::util::hash::sha256_hex;

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
    /// Intensity normalisation the model expects after decoding (absent in older cards: none).
    #[serde(default)]
    pub intensity: Intensity,
    /// How validation was carved (absent in older cards: random).
    #[serde(default)]
    pub val_split: ValSplit,
}

impl CardSplit {
    /// The split this card was measured on, rebuilt from `data` (decoded into `cache_dir`).
    pub fn spec(&self, data: PathBuf, cache_dir: PathBuf) -> SplitSpec {
        SplitSpec {
            data,
            cache_dir,
            image_size: self.image_size,
            protocol: self.protocol,
            seed: self.seed,
            val_fraction: self.val_fraction,
            intensity: self.intensity,
            val_split: self.val_split,
        }
    }
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
    /// Decision threshold on p(pneumonia) for the int8 model: the float model's, frozen on
    /// validation (experiments/int8_fidelity.md, addendum). Cards written before that chose
    /// their own on the int8 validation predictions by the run's rule.
    pub threshold: f64,
    pub float_threshold: f64,
    pub protocol: Protocol,
    pub split: CardSplit,
    pub calibration: Calibration,
    pub calibration_images: usize,
    /// Which biases were corrected (quant/bias_correction.rs). Cards written before this
    /// field read `last`; theirs was `none` where `logit_bias_correction` is None.
    #[serde(default)]
    pub bias_correction: BiasCorrection,
    /// Mean int8 − float logit on the calibration images that was removed from the last
    /// layer's bias (None: no bias correction).
    #[serde(default)]
    pub logit_bias_correction: Option<Vec<f32>>,
    /// The int8 outputs' gain against float on the calibration images, undone before the
    /// offset (`--output-correction affine`, quant/logit_gain.rs; None: not corrected).
    #[serde(default)]
    pub logit_gain: Option<f32>,
    /// Strength of the linear streams' range equalization before calibration (None: off).
    #[serde(default)]
    pub equalization: Option<f64>,
    /// Quantization-aware fine-tuning toward the float model before the final quantization
    /// (quant/qat.rs; None: off).
    #[serde(default)]
    pub qat: Option<QatLog>,
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
    /// Diagnostic: the threshold the run's rule would choose on the int8 model's own
    /// validation predictions, and the int8 test accuracy there (older cards: None).
    #[serde(default)]
    pub int8_own_threshold: Option<f64>,
    #[serde(default)]
    pub int8_test_accuracy_at_own_threshold: Option<f64>,
    /// Test images on which float and int8 give the same label (each at its threshold).
    pub test_label_agreement: f64,
    /// Validation images on which float and int8 give the same label, both at the float
    /// model's threshold: how settings are compared without touching test (older cards: None).
    #[serde(default)]
    pub validation_label_agreement: Option<f64>,
    /// 3-class models: test images on which float and int8 give the same class (argmax).
    #[serde(default)]
    pub test_class_agreement: Option<f64>,
    /// 3-class models: float and int8 accuracy of the argmax on test.
    #[serde(default)]
    pub float_test_class_accuracy: Option<f64>,
    #[serde(default)]
    pub int8_test_class_accuracy: Option<f64>,
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

/// What the quantizer measured: float and int8 reports (threshold on validation, test at it),
/// the int8 test predictions, label agreement and bit-exact test images.
pub struct Measured {
    pub float_report: EvalReport,
    /// The int8 model at the float model's threshold.
    pub int8_report: EvalReport,
    /// The threshold the run's rule picks on the int8 validation predictions (a diagnostic).
    pub int8_own_threshold: f64,
    pub int8_test: Predictions,
    pub agreement: f64,
    /// Same label on validation, both at the float threshold.
    pub validation_agreement: f64,
    /// 3-class models: share of test images with the same argmax class.
    pub class_agreement: Option<f64>,
    pub bit_exact: usize,
}

/// Everything a model card is assembled from.
pub struct CardSources<'a> {
    pub name: &'a str,
    pub float: &'a FloatModel,
    pub graph: &'a FloatGraph,
    pub model: &'a Model<'a>,
    pub blob: &'a [u8],
    pub p: &'a SplitData,
    pub opts: &'a QuantizeOptions,
    pub calibration_images: usize,
    pub fix: Option<OutputFix>,
    pub qat: Option<QatLog>,
    pub export_err: f64,
    pub measured: &'a Measured,
    pub command: &'a str,
    pub seconds: f64,
}

impl Measured {
    /// int8 test accuracy at threshold `t`.
    fn int8_test_accuracy_at(&self, t: f64) -> f64 {
        at_threshold(&self.int8_test.probs, &self.int8_test.labels, t).accuracy
    }
}

impl CardScores {
    fn of(e: &SplitEval) -> CardScores {
        CardScores { accuracy: e.at_chosen_threshold.accuracy, f1: e.at_chosen_threshold.f1, auc: e.roc_auc }
    }
}

/// How to read the output bytes, for a model with `outputs` logits.
fn output_meaning(outputs: usize) -> &'static str {
    if outputs == 3 {
        "logits of normal, bacterial, viral: softmax((q - zero_point) * scale); \
         p(pneumonia) = p(bacterial) + p(viral)"
    } else {
        "p(pneumonia) = sigmoid((q - zero_point) * scale)"
    }
}

/// The model card of a quantized run.
pub fn card_for(s: &CardSources<'_>) -> ModelCard {
    let cfg = s.float.config();
    let (f, q) = (&s.measured.float_report, &s.measured.int8_report);
    let (spec, out) = (s.model.input_spec(), s.model.output_spec());
    ModelCard {
        name: s.name.to_string(),
        model: s.float.metrics.model.clone(),
        classes: s.graph.classes.clone(),
        input: CardInput {
            shape: [spec.shape.h, spec.shape.w, spec.shape.c],
            preprocessing: format!(
                "decode to 8-bit grey, resize (squash) to {}x{} with a triangle filter, q = pixel - 128",
                spec.shape.w, spec.shape.h
            ),
            scale: spec.quant.scale,
            zero_point: spec.quant.zero_point,
            float_normalisation: s.graph.float_input.into(),
        },
        output: CardOutput {
            scale: out.quant.scale,
            zero_point: out.quant.zero_point,
            meaning: output_meaning(out.shape.h as usize * out.shape.w as usize * out.shape.c as usize)
                .into(),
        },
        threshold: q.threshold,
        float_threshold: f.threshold,
        protocol: cfg.protocol,
        split: CardSplit {
            protocol: cfg.protocol,
            seed: cfg.split_spec().seed,
            val_fraction: cfg.val_fraction,
            image_size: cfg.image_size,
            validation_images: s.p.split.val.len(),
            test_images: s.p.split.test_unsealed().len(),
            intensity: cfg.intensity,
            val_split: cfg.val_split,
        },
        calibration: s.opts.calibration,
        calibration_images: s.calibration_images,
        bias_correction: s.opts.bias_correction,
        logit_bias_correction: s.fix.as_ref().map(|f| f.shift.clone()),
        logit_gain: s.fix.as_ref().and_then(|f| f.gain),
        equalization: s.opts.equalize,
        qat: s.qat.clone(),
        float_test_accuracy: f.test.at_chosen_threshold.accuracy,
        int8_test_accuracy: q.test.at_chosen_threshold.accuracy,
        float_test_auc: f.test.roc_auc,
        int8_test_auc: q.test.roc_auc,
        float_validation: CardScores::of(&f.validation),
        int8_validation: CardScores::of(&q.validation),
        float_test: CardScores::of(&f.test),
        int8_test: CardScores::of(&q.test),
        int8_test_accuracy_at_float_threshold: s.measured.int8_test_accuracy_at(f.threshold),
        int8_own_threshold: Some(s.measured.int8_own_threshold),
        int8_test_accuracy_at_own_threshold: Some(
            s.measured.int8_test_accuracy_at(s.measured.int8_own_threshold),
        ),
        test_label_agreement: s.measured.agreement,
        validation_label_agreement: Some(s.measured.validation_agreement),
        test_class_agreement: s.measured.class_agreement,
        float_test_class_accuracy: f.classes.as_ref().map(|c| c.test.accuracy),
        int8_test_class_accuracy: q.classes.as_ref().map(|c| c.test.accuracy),
        test_bit_exact: s.measured.bit_exact,
        export_max_logit_error: s.export_err,
        blob: format!("{}.int8.postcard", s.name),
        blob_bytes: s.blob.len(),
        arena_bytes: s.model.arena_len(),
        macs: s.model.macs(),
        layers: s.model.layer_count(),
        format_version: format!("{:#06x}", infer_core::FORMAT_VERSION),
        sha256: sha256_hex(s.blob),
        source_run: s.opts.run.display().to_string(),
        command: s.command.into(),
        git_commit: git_commit(),
        seconds: s.seconds,
    }
}

/// `models/x.int8.postcard` → `models/x.json`.
pub fn card_path_for(blob: &Path) -> PathBuf {
    let name = blob.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".int8.postcard").unwrap_or(&name).to_string();
    blob.with_file_name(format!("{stem}.json"))
}

/// Reads a model card.
pub fn read_card(path: &Path) -> Result<ModelCard> {
    let text =
        std::fs::read(path).with_context(|| format!("cannot read the model card {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("{} is not a valid model card", path.display()))
}

/// The card's headline figures, as `trainer quantize` prints them.
pub fn print_card(c: &ModelCard) {
    println!(
        "{}: blob {} bytes, arena {} bytes, {:.1} M MAC/image, {} layers",
        c.name,
        c.blob_bytes,
        c.arena_bytes,
        c.macs as f64 / 1e6,
        c.layers
    );
    println!(
        "test ({} images, {:?}): float accuracy {:.2}% AUC {} (threshold {:.2}) | int8 accuracy {:.2}% AUC {} (threshold {:.2})",
        c.split.test_images,
        c.protocol,
        100.0 * c.float_test_accuracy,
        fmt_auc(c.float_test_auc),
        c.float_threshold,
        100.0 * c.int8_test_accuracy,
        fmt_auc(c.int8_test_auc),
        c.threshold
    );
    println!(
        "int8 - float: {:+.2} points ({:+.2} at the float threshold); same label on {:.2}% of test images; \
         infer-core = reference on {}/{}",
        100.0 * (c.int8_test_accuracy - c.float_test_accuracy),
        100.0 * (c.int8_test_accuracy_at_float_threshold - c.float_test_accuracy),
        100.0 * c.test_label_agreement,
        c.test_bit_exact,
        c.split.test_images
    );
    if let (Some(t), Some(a)) = (c.int8_own_threshold, c.int8_test_accuracy_at_own_threshold) {
        println!(
            "diagnostic: at the threshold its own validation predictions would pick ({t:.2}) the int8 \
             model reads {:.2}% ({:+.2} points)",
            100.0 * a,
            100.0 * (a - c.float_test_accuracy)
        );
    }
    if let Some(v) = c.validation_label_agreement {
        println!("validation: same label on {:.2}% of the images at the float threshold", 100.0 * v);
    }
    if let (Some(f), Some(q), Some(a)) =
        (c.float_test_class_accuracy, c.int8_test_class_accuracy, c.test_class_agreement)
    {
        println!(
            "3 classes, test: float accuracy {:.2}% | int8 accuracy {:.2}%; same class on {:.2}% of test images",
            100.0 * f,
            100.0 * q,
            100.0 * a
        );
    }
}
