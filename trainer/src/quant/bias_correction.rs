//! Empirical bias correction. Per-tensor rounding errors are small but not zero-mean, and
//! a 1,280-input dense layer adds them up into a systematic logit shift (MobileNetV2-0.35:
//! about +1.6 logits, enough to move the best threshold).
//!
//! - `last`: the mean int8 − float logit on the calibration (training) images, measured with
//!   the engine itself, is removed from the last bias.
//! - `layers`: first every weighted layer in turn, in a float simulation of the int8 model
//!   (after Nagel et al. 2019, "Data-free quantization", §4.2, measured rather than derived):
//!   the mean per output channel of (simulated − float) weighted sum is removed from that
//!   layer's bias before the next layer is measured, so each layer also absorbs the mean
//!   error its input still carries; then `last` on what remains.
//!
//! The final, engine-measured step can first undo the int8 outputs' gain
//! (`OutputCorrection::Affine`, [`super::logit_gain`]).

use anyhow::{anyhow, Context, Result};
use clap::ValueEnum;
use infer_core::Model;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::evaluate::run_engine;
use super::float_exec::TchGraph;
use super::logit_gain::{fitted_gain, OutputCorrection};
use super::quantize::QuantModel;
use crate::data::device::DeviceImages;
use crate::data::SplitData;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BiasCorrection {
    None,
    /// The final layer only, measured with the engine (the default of cards written before
    /// `layers` existed).
    #[default]
    Last,
    /// Every weighted layer in a float simulation, then the final layer with the engine.
    Layers,
}

/// Corrects every weighted layer of `qm` in turn on the calibration `pixels` (`[N, 1, H, W]`
/// u8), `float` running the float graph; returns the largest |shift| per layer, in units of
/// that layer's output scale (for the log).
pub fn correct_layer_biases(qm: &mut QuantModel, float: &TchGraph<'_>, pixels: &Tensor) -> Result<Vec<f32>> {
    let device = pixels.device();
    let layers = qm.graph.layers.len();
    let dequantized = qm.dequantized_graph();
    let outputs = qm.io.iter().map(|io| io.output).collect();
    let mut sim = TchGraph::new(&dequantized, device).with_fake_quant(outputs);
    tch::no_grad(|| {
        let mut x = float.input_from_pixels(pixels);
        let mut x_sim = x.shallow_clone();
        let (mut slots, mut slots_sim) = (TchGraph::slots(), TchGraph::slots());
        let mut largest = Vec::with_capacity(layers);
        for i in 0..layers {
            let mut moved = 0f32;
            if let (Some(f), Some(q)) = (float.pre_activation(i, &x), sim.pre_activation(i, &x_sim)) {
                let dims: &[i64] = if f.dim() == 4 { &[0, 2, 3] } else { &[0] };
                let shift = Vec::<f32>::try_from((q - f).mean_dim(dims, false, Kind::Float))?;
                moved = shift.iter().fold(0f32, |m, s| m.max(s.abs())) / qm.io[i].output.scale;
                qm.shift_bias(i, &shift)?;
                sim.set_layer(i, &qm.dequantized_layer(i));
            }
            largest.push(moved);
            x = float.step(i, &x, &mut slots);
            x_sim = sim.step(i, &x_sim, &mut slots_sim);
        }
        Ok(largest)
    })
}

/// What the engine-measured correction of the outputs removed.
pub struct OutputFix {
    /// Mean int8 − float output on the calibration images, subtracted from the last bias.
    pub shift: Vec<f32>,
    /// The int8 outputs' gain against float, undone before the shift (`affine` only).
    pub gain: Option<f32>,
}

/// Measures the int8 outputs of `qm` against float on the `calibration` images (`tg` runs
/// the float graph); with `affine`, undoes their gain ([`super::logit_gain`]) and measures
/// again; then subtracts the mean error from the last layer's float bias and re-quantizes it.
pub fn correct_bias(
    qm: &mut QuantModel,
    tg: &TchGraph<'_>,
    p: &SplitData,
    calibration: &[usize],
    correction: OutputCorrection,
) -> Result<OutputFix> {
    let float: Vec<Vec<f32>> = calibration
        .chunks(32)
        .flat_map(|c| {
            let px = DeviceImages::new(&p.data, c, Device::Cpu).pixels;
            let out = tg.run(&tg.input_from_pixels(&px), |_, _| ()).flatten(1, -1);
            Vec::<Vec<f32>>::try_from(out).unwrap_or_default()
        })
        .collect();
    let gain = match correction {
        OutputCorrection::Offset => None,
        OutputCorrection::Affine => {
            let int8 = engine_outputs(qm, p, calibration)?;
            let gain = fitted_gain(&int8, &float)
                .context("the int8 outputs have no plausible gain against float on the calibration images")?;
            eprintln!("gain correction: int8 outputs = {gain:.4} x float on the calibration images, undone");
            qm.scale_output(1.0 / gain)?;
            Some(gain)
        }
    };
    let int8 = engine_outputs(qm, p, calibration)?;
    let shift = mean_error(&int8, &float);
    eprintln!("bias correction: mean int8 - float logit on the calibration images {shift:?}, removed");
    qm.correct_last_bias(&shift)?;
    Ok(OutputFix { shift, gain })
}

/// `qm`'s dequantized outputs, run by the engine on `images`.
fn engine_outputs(qm: &QuantModel, p: &SplitData, images: &[usize]) -> Result<Vec<Vec<f32>>> {
    let blob = qm.blob()?;
    let model = Model::from_bytes(&blob).map_err(|e| anyhow!("{e}"))?;
    let q = model.output_spec().quant;
    let int8 = run_engine(&model, &p.data, images)?;
    Ok(int8.iter().map(|out| out.iter().map(|&v| q.dequantize(v)).collect()).collect())
}

/// Mean of (int8 − float) per output over a set of images.
fn mean_error(int8: &[Vec<f32>], float: &[Vec<f32>]) -> Vec<f32> {
    let outputs = float.first().map_or(0, Vec::len);
    (0..outputs)
        .map(|j| {
            let sum: f64 = int8.iter().zip(float).map(|(i, f)| f64::from(i[j]) - f64::from(f[j])).sum();
            (sum / int8.len().max(1) as f64) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::calibrate::{calibrate, Calibration};
    use crate::quant::evaluate::pixels_to_q;
    use crate::quant::test_graph::{bottleneck_graph, many_pixels, pixels};

    fn quantized() -> QuantModel {
        let g = bottleneck_graph();
        let ranges =
            calibrate(&g, &TchGraph::new(&g, Device::Cpu), std::iter::once(pixels()), Calibration::MinMax);
        QuantModel::new(g, &ranges).expect("quantizes")
    }

    fn simulated_logits(qm: &QuantModel) -> Vec<f32> {
        let g = qm.dequantized_graph();
        let sim = TchGraph::new(&g, Device::Cpu).with_fake_quant(qm.io.iter().map(|io| io.output).collect());
        Vec::try_from(sim.run(&sim.input_from_pixels(&pixels()), |_, _| ()).flatten(0, -1)).expect("floats")
    }

    fn engine_logits(qm: &QuantModel) -> Vec<f32> {
        let blob = qm.blob().expect("blob");
        let model = Model::from_bytes(&blob).expect("valid blob");
        let mut arena = vec![0u8; model.arena_len()];
        let px = Vec::<u8>::try_from(pixels().to_kind(Kind::Uint8).flatten(0, -1)).expect("bytes");
        let q = model.output_spec().quant;
        px.chunks(36)
            .map(|image| {
                let out = model.run(&pixels_to_q(image), &mut arena).expect("runs");
                q.dequantize(out.values().next().expect("one logit"))
            })
            .collect()
    }

    #[test]
    fn the_float_simulation_tracks_the_engine() {
        let qm = quantized();
        let step = qm.io.last().expect("layers").output.scale;
        for (s, e) in simulated_logits(&qm).iter().zip(engine_logits(&qm)) {
            assert!((s - e).abs() <= 2.0 * step, "simulated {s} vs engine {e} (step {step})");
        }
    }

    #[test]
    fn scaling_the_output_changes_what_a_byte_means_not_the_bytes() {
        let mut qm = quantized();
        let before = engine_logits(&qm);
        let (step, zero) = (qm.io.last().unwrap().output.scale, qm.io.last().unwrap().output.zero_point);
        qm.scale_output(1.0 / 0.94).expect("a dense last layer");
        assert_eq!(qm.io.last().unwrap().output.zero_point, zero);
        for (b, a) in before.iter().zip(engine_logits(&qm)) {
            // Same output byte (within one step where the multiplier's last bit moved), read
            // with the new scale.
            assert!((a - b / 0.94).abs() <= step / 0.94 * 1.01, "before {b}, after {a} (step {step})");
        }
        assert!(qm.scale_output(0.0).is_err() && qm.scale_output(f32::NAN).is_err());
    }

    #[test]
    fn each_layer_absorbs_its_mean_error() {
        let g = bottleneck_graph();
        let tg = TchGraph::new(&g, Device::Cpu);
        let mut qm = quantized();
        // Many images, so that the means are not moved by a few roundings flipping.
        let many = many_pixels(512, 11);
        let first = correct_layer_biases(&mut qm, &tg, &many).expect("corrects");
        let weighted = [0, 1, 3, 4, 5, 7, 9];
        assert!(first.iter().enumerate().all(|(i, s)| weighted.contains(&i) || *s == 0.0), "{first:?}");
        assert!(first.iter().fold(0f32, |m, &s| m.max(s)) > 0.1, "a real correction: {first:?}");
        // A second pass finds little left to remove: the int32 grid of the biases, and
        // roundings that the first pass's shifts flipped downstream.
        let second = correct_layer_biases(&mut qm, &tg, &many).expect("corrects");
        let total = |v: &[f32]| v.iter().sum::<f32>();
        assert!(second.iter().all(|&s| s < 0.02), "{first:?} then {second:?}");
        assert!(total(&second) < total(&first) / 10.0, "{first:?} then {second:?}");
        // The corrected model still runs in the engine, and the simulation still tracks it.
        let step = qm.io.last().expect("layers").output.scale;
        for (s, e) in simulated_logits(&qm).iter().zip(engine_logits(&qm)) {
            assert!((s - e).abs() <= 2.0 * step, "simulated {s} vs engine {e} (step {step})");
        }
    }
}
