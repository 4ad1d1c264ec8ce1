//! Quantization-aware fine-tuning toward the float model (`trainer quantize --qat-steps N`).
//!
//! Post-training quantization leaves noise, not only bias: on the 224 px MobileNetV2-0.35
//! the int8 logit differs from the float one by about 0.7 logits (rms) on validation images,
//! which per-layer bias correction cannot remove (it only removes means). Here the exported
//! graph is fine-tuned as the int8 engine will run it — weights rounded per output channel,
//! every layer's output rounded to its calibrated grid, gradients straight through both
//! (Jacob et al. 2018; Krishnamoorthi 2018) — to reproduce the *float model's logits* on
//! training images (mean squared logit difference, no labels). The float model stays the
//! teacher and the reference the card compares with: the aim is an int8 model that decides
//! like it, not a different model. The activation grids stay the calibrated ones, so the
//! tuned weights are quantized with exactly the scales they were trained for.

use anyhow::{ensure, Result};
use infer_core::Quant;
use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use super::float_exec::{layer_params, TchGraph};
use super::graph::{FloatGraph, FloatLayer};
use crate::util::progress;

/// How long and how fast to fine-tune.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QatOptions {
    /// Adam steps, one batch of training images each.
    pub steps: usize,
    pub lr: f64,
    pub batch: usize,
}

/// What fine-tuning did, for the model card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QatLog {
    #[serde(flatten)]
    pub options: QatOptions,
    /// Mean squared logit difference (simulated int8 − float) over the first and the last
    /// tenth of the steps.
    pub first_loss: f64,
    pub last_loss: f64,
}

/// Fine-tunes `graph`'s weights and biases so that the simulated int8 model (outputs rounded
/// to `outputs`, one per layer) reproduces `teacher`'s logits on `batches` (8-bit pixels
/// `[N, 1, H, W]`, training images only). Returns the tuned graph.
pub fn tune_toward_float(
    graph: &FloatGraph,
    outputs: Vec<Quant>,
    teacher: &TchGraph<'_>,
    mut batches: impl Iterator<Item = Tensor>,
    opts: QatOptions,
    device: Device,
) -> Result<(FloatGraph, QatLog)> {
    ensure!(opts.steps > 0 && opts.lr > 0.0 && opts.lr.is_finite(), "QAT needs steps > 0 and lr > 0");
    let vs = nn::VarStore::new(device);
    let root = vs.root();
    let params: Vec<Option<(Tensor, Tensor)>> = graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            layer_params(l, device)
                .map(|(w, b)| (root.var_copy(&format!("w{i}"), &w), root.var_copy(&format!("b{i}"), &b)))
        })
        .collect();
    let student = TchGraph::for_training(
        graph,
        params.iter().map(|p| p.as_ref().map(shallow)).collect(),
        outputs,
        device,
    );
    let mut opt = nn::Adam::default().build(&vs, opts.lr)?;
    let bar = progress::bar(opts.steps as u64, "QAT", "steps");
    let tenth = (opts.steps / 10).max(1);
    let (mut first, mut last) = (0f64, 0f64);
    for step in 0..opts.steps {
        let Some(pixels) = batches.next() else { break };
        let x = teacher.input_from_pixels(&pixels);
        let target = teacher.run(&x, |_, _| ()).flatten(1, -1);
        let logits = student.forward(&x).flatten(1, -1);
        let loss = (logits - target).square().mean(Kind::Float);
        opt.backward_step(&loss);
        let l = loss.double_value(&[]);
        ensure!(l.is_finite(), "QAT diverged at step {step} (loss {l}); try a lower --qat-lr");
        if step < tenth {
            first += l / tenth as f64;
        }
        if step >= opts.steps - tenth {
            last += l / tenth as f64;
        }
        bar.inc(1);
        // The bar is hidden when stderr is not a terminal (logs): say where it stands there too.
        if bar.is_hidden() && (step + 1) % 50 == 0 {
            eprintln!("QAT step {}/{}: squared logit error {l:.4}", step + 1, opts.steps);
        }
    }
    bar.finish_and_clear();
    let tuned = with_params(graph, &params)?;
    Ok((tuned, QatLog { options: opts, first_loss: first, last_loss: last }))
}

fn shallow((w, b): &(Tensor, Tensor)) -> (Tensor, Tensor) {
    (w.shallow_clone(), b.shallow_clone())
}

fn floats(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(t.detach().to_device(Device::Cpu).contiguous().flatten(0, -1))?)
}

/// `graph` with the weights of `params` (PyTorch layouts, as [`layer_params`] made them)
/// written back in the engine's layouts.
fn with_params(graph: &FloatGraph, params: &[Option<(Tensor, Tensor)>]) -> Result<FloatGraph> {
    let mut tuned = graph.clone();
    for (layer, p) in tuned.layers.iter_mut().zip(params) {
        let Some((w, b)) = p else { continue };
        match layer {
            // [O, C, kh, kw] → OHWI.
            FloatLayer::Conv { weights, bias, .. } => {
                *weights = floats(&w.permute([0, 2, 3, 1]))?;
                *bias = floats(b)?;
            }
            // [C, 1, kh, kw] → [1, kh, kw, C].
            FloatLayer::Depthwise { weights, bias, .. } => {
                *weights = floats(&w.squeeze_dim(1).permute([1, 2, 0]))?;
                *bias = floats(b)?;
            }
            FloatLayer::Dense { weights, bias, .. } => {
                *weights = floats(w)?;
                *bias = floats(b)?;
            }
            _ => {}
        }
    }
    Ok(tuned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::calibrate::{calibrate, Calibration};
    use crate::quant::quantize::QuantModel;
    use crate::quant::test_graph::{bottleneck_graph, many_pixels};

    #[test]
    fn writing_the_params_back_is_exact() {
        let g = bottleneck_graph();
        let params: Vec<_> = g.layers.iter().map(|l| layer_params(l, Device::Cpu)).collect();
        assert_eq!(with_params(&g, &params).expect("writes").layers, g.layers);
    }

    /// Mean squared logit difference of the simulated int8 model against the float graph.
    fn simulated_error(qm: &QuantModel, float: &TchGraph<'_>, pixels: &Tensor) -> f64 {
        let d = qm.dequantized_graph();
        let sim = TchGraph::new(&d, Device::Cpu).with_fake_quant(qm.io.iter().map(|io| io.output).collect());
        let x = float.input_from_pixels(pixels);
        let diff = sim.run(&x, |_, _| ()) - float.run(&x, |_, _| ());
        diff.square().mean(Kind::Float).double_value(&[])
    }

    #[test]
    fn fine_tuning_brings_the_int8_model_closer_to_the_float_one() {
        let g = bottleneck_graph();
        let tg = TchGraph::new(&g, Device::Cpu);
        let train = many_pixels(256, 3);
        // Narrow ranges clip often: an int8 model far enough from float to have something
        // to learn (with min/max this tiny graph is within 1e-5 squared logits already).
        let ranges =
            calibrate(&g, &tg, std::iter::once(train.shallow_clone()), Calibration::Percentile(80.0));
        let before = QuantModel::new(g.clone(), &ranges).expect("quantizes");
        let outputs = before.io.iter().map(|io| io.output).collect();
        let opts = QatOptions { steps: 80, lr: 3e-3, batch: 32 };
        let batches = (0..).map(|k| train.narrow(0, (k * 32) % 256, 32));
        let (tuned, log) = tune_toward_float(&g, outputs, &tg, batches, opts, Device::Cpu).expect("tunes");
        assert!(log.last_loss < log.first_loss, "{log:?}");
        let after = QuantModel::new(tuned, &ranges).expect("quantizes");
        // Judged on images it was not tuned on.
        let held_out = many_pixels(256, 17);
        let (b, a) = (simulated_error(&before, &tg, &held_out), simulated_error(&after, &tg, &held_out));
        assert!(a < 0.5 * b, "squared logit error {b} before, {a} after");
    }
}
