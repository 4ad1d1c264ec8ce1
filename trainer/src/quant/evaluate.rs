//! Running a blob over whole splits: infer-core and the integer reference, images in
//! parallel (each with its own arena), and turning int8 logits into [`Predictions`].

use anyhow::{anyhow, Result};
use indicatif::{ParallelProgressIterator, ProgressBar};
use infer_core::Model;
use rayon::prelude::*;

use super::pipeline::ReferenceFn;
use crate::data::Dataset;
use crate::eval::classes::argmax;
use crate::eval::predict::Predictions;
use crate::util::progress;

/// int8 input for 8-bit pixels: `q = pixel − 128` (every model here declares its input so).
pub fn pixels_to_q(pixels: &[u8]) -> Vec<i8> {
    pixels.iter().map(|&p| (p ^ 0x80) as i8).collect()
}

/// A progress bar over `len` images (drawn on stderr, hidden when it is not a terminal).
fn bar(len: usize, what: &str) -> ProgressBar {
    progress::bar(len as u64, format!("{what:>16}"), "images")
}

/// infer-core's int8 outputs for `indices` of `data`.
pub fn run_engine(model: &Model<'_>, data: &Dataset, indices: &[usize]) -> Result<Vec<Vec<i8>>> {
    let arena_len = model.arena_len();
    let progress = bar(indices.len(), "infer-core");
    let out = indices
        .par_iter()
        .progress_with(progress.clone())
        .map_init(
            || vec![0u8; arena_len],
            |arena, &i| {
                let out = model
                    .run(&pixels_to_q(data.image(i)), arena)
                    .map_err(|e| anyhow!("infer-core failed on {}: {e}", data.records[i].path.display()))?;
                Ok(out.values().collect())
            },
        )
        .collect();
    progress.finish_and_clear();
    out
}

/// The integer reference's int8 outputs for `indices` of `data` (`reference` is
/// [`super::reference::run`] except in tests that inject a fault).
pub fn run_reference(
    model: &Model<'_>,
    data: &Dataset,
    indices: &[usize],
    reference: &ReferenceFn,
) -> Result<Vec<Vec<i8>>> {
    let progress = bar(indices.len(), "int8 reference");
    let out = indices
        .par_iter()
        .progress_with(progress.clone())
        .map(|&i| {
            reference(model, &pixels_to_q(data.image(i))).map_err(|e| {
                anyhow!("the integer reference failed on {}: {e}", data.records[i].path.display())
            })
        })
        .collect();
    progress.finish_and_clear();
    out
}

/// Predictions from int8 outputs: p(pneumonia) from one logit (sigmoid), or from three
/// (softmax over normal / bacterial / viral, p(pneumonia) = p(bacterial) + p(viral)), the
/// labels, and the mean cross-entropy.
pub fn to_predictions(
    model: &Model<'_>,
    outputs: &[Vec<i8>],
    data: &Dataset,
    indices: &[usize],
) -> Predictions {
    if outputs.first().is_some_and(|o| o.len() == 3) {
        return to_class_predictions(model, outputs, data, indices);
    }
    let q = model.output_spec().quant;
    let probs: Vec<f32> =
        outputs.iter().map(|o| o.first().map_or(0.5, |&v| infer_core::sigmoid(q.dequantize(v)))).collect();
    let labels: Vec<bool> = indices.iter().map(|&i| data.records[i].kind.is_pneumonia()).collect();
    let loss = probs
        .iter()
        .zip(&labels)
        .map(|(&p, &y)| {
            let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / probs.len().max(1) as f64;
    Predictions { probs, labels, loss, ..Default::default() }
}

/// Share of images on which two models give the same label, each at its own threshold.
pub fn label_agreement(a: &Predictions, threshold_a: f64, b: &Predictions, threshold_b: f64) -> f64 {
    let same = a
        .probs
        .iter()
        .zip(&b.probs)
        .filter(|(&x, &y)| (f64::from(x) >= threshold_a) == (f64::from(y) >= threshold_b))
        .count();
    same as f64 / a.probs.len().max(1) as f64
}

/// Predictions of a 3-logit model.
fn to_class_predictions(
    model: &Model<'_>,
    outputs: &[Vec<i8>],
    data: &Dataset,
    indices: &[usize],
) -> Predictions {
    let q = model.output_spec().quant;
    let class_probs: Vec<[f32; 3]> = outputs
        .iter()
        .map(|o| {
            let z: Vec<f32> = o.iter().map(|&v| q.dequantize(v)).collect();
            let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
            let sum: f32 = e.iter().sum();
            [e[0] / sum, e[1] / sum, e[2] / sum]
        })
        .collect();
    let classes: Vec<u8> = indices.iter().map(|&i| data.records[i].kind.index() as u8).collect();
    let loss = class_probs
        .iter()
        .zip(&classes)
        .map(|(p, &c)| -f64::from(p[usize::from(c)]).max(1e-7).ln())
        .sum::<f64>()
        / classes.len().max(1) as f64;
    Predictions::from_classes(class_probs, classes, loss)
}

/// 3-class models: share of images on which two models give the same argmax class.
pub fn class_agreement(a: &Predictions, b: &Predictions) -> Option<f64> {
    if a.class_probs.is_empty() || b.class_probs.is_empty() {
        return None;
    }
    let same = a.class_probs.iter().zip(&b.class_probs).filter(|(x, y)| argmax(x) == argmax(y)).count();
    Some(same as f64 / a.class_probs.len() as f64)
}
