//! Running a blob over whole splits: infer-core and the integer reference, images in
//! parallel (each with its own arena), and turning int8 logits into [`Predictions`].

use anyhow::{anyhow, Result};
use indicatif::{ParallelProgressIterator, ProgressBar};
use infer_core::Model;
use rayon::prelude::*;

use super::pipeline::ReferenceFn;
use crate::data::Dataset;
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

/// p(pneumonia) from one-logit int8 outputs, the labels, and the mean cross-entropy.
pub fn to_predictions(
    model: &Model<'_>,
    outputs: &[Vec<i8>],
    data: &Dataset,
    indices: &[usize],
) -> Predictions {
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
