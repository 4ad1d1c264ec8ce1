//! The `trainer quantize` command line, turned into [`QuantizeOptions`].

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::bias_correction::BiasCorrection;
use super::calibrate::Calibration;
use super::logit_gain::OutputCorrection;
use super::pipeline::QuantizeOptions;
use super::qat::QatOptions;

#[derive(Args)]
pub struct QuantizeArgs {
    /// The run folder to quantize (runs/<name>, with metrics.json and model.safetensors)
    #[arg(long)]
    run: PathBuf,
    /// Where the blob and the model card go
    #[arg(long, default_value = "models")]
    out: PathBuf,
    /// Base name of the outputs [default: the run folder's name]
    #[arg(long)]
    name: Option<String>,
    /// Training images used to observe activation ranges
    #[arg(long, default_value_t = 256)]
    calibration_images: usize,
    /// Activation ranges: min/max seen, or the given percentile (e.g. 99.99) averaged over
    /// batches, which ignores rare outliers
    #[arg(long, conflicts_with = "ranges")]
    percentile: Option<f64>,
    /// Activation ranges by another method than --percentile: `min-max` (the default), or
    /// `mse`, each tensor's clip with the least 8-bit rounding error (quant/calibrate.rs)
    #[arg(long, value_enum)]
    ranges: Option<Ranges>,
    /// The chest_xray folder [default: the one the run was trained on]
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use the CPU even when a CUDA GPU is available
    #[arg(long)]
    cpu: bool,
    /// Mean int8 − float error removed on the calibration images: from the last bias only,
    /// from every layer's bias in turn, or none (quant/bias_correction.rs)
    #[arg(long, value_enum, default_value = "layers")]
    bias_correction: BiasCorrection,
    /// The final correction of the outputs: first undo the int8 outputs' gain against float,
    /// then remove the mean int8 − float error (`affine`; quant/logit_gain.rs), or the mean
    /// only (`offset`, the default before experiments/int8_fidelity.md's second addendum)
    #[arg(long, value_enum, default_value = "affine")]
    output_correction: OutputCorrection,
    /// Before calibrating, even out the channel ranges of the linear bottlenecks at this
    /// strength (0–1; an exact rewrite of the float model, see quant/equalize.rs)
    #[arg(long)]
    equalize: Option<f64>,
    /// After calibrating, fine-tune the weights for this many steps (batches of 32 training
    /// images) so that the int8 simulation reproduces the float model's logits
    /// (quantization-aware, see quant/qat.rs); 0: off
    #[arg(long, default_value_t = 0)]
    qat_steps: usize,
    /// Adam learning rate of --qat-steps
    #[arg(long, default_value_t = 1e-5)]
    qat_lr: f64,
}

/// The `--ranges` methods that take no number.
#[derive(Clone, Copy, ValueEnum)]
enum Ranges {
    MinMax,
    Mse,
}

impl QuantizeArgs {
    pub fn options(self) -> QuantizeOptions {
        let calibration = match (self.percentile, self.ranges) {
            (Some(p), _) => Calibration::Percentile(p),
            (None, Some(Ranges::Mse)) => Calibration::Mse,
            (None, Some(Ranges::MinMax) | None) => Calibration::MinMax,
        };
        QuantizeOptions {
            run: self.run,
            out_dir: self.out,
            name: self.name,
            calibration,
            calibration_images: self.calibration_images,
            data: self.data,
            cpu: self.cpu,
            bias_correction: self.bias_correction,
            output_correction: self.output_correction,
            equalize: self.equalize,
            qat: (self.qat_steps > 0).then_some(QatOptions {
                steps: self.qat_steps,
                lr: self.qat_lr,
                batch: 32,
            }),
        }
    }
}
