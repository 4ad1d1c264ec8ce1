//! `trainer shifted-validation`: a finished run's validation images through each acquisition
//! shift of [`Shift::ALL`], measured at the threshold the run froze on clean validation (no
//! threshold is chosen again), written to `shifted_validation.json` in the run folder. Reads
//! the validation split only; the test images stay closed.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::validation_rerun::{load_on_validation, ValidationRerunArgs};
use crate::data::device::Samples;
use crate::eval::predict::predict;
use crate::eval::shift::{Shift, Shifted};
use crate::eval::{at_threshold, roc_auc};
use crate::models::Classifier;
use crate::util::fs::write_atomic;

/// The file a run folder gets.
pub const FILE: &str = "shifted_validation.json";

/// One view of the validation images at the run's threshold.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ViewScore {
    pub view: String,
    pub accuracy: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub roc_auc: Option<f64>,
}

/// `shifted_validation.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ShiftedValidation {
    /// The threshold the run froze on clean validation.
    pub threshold: f64,
    pub images: usize,
    /// The validation images as they are (the run's own validation accuracy).
    pub clean: ViewScore,
    /// One entry per shift, in [`Shift::ALL`] order.
    pub shifted: Vec<ViewScore>,
    /// Means over the shifted views (the clean view is not in them).
    pub mean_accuracy: f64,
    pub mean_sensitivity: f64,
    pub mean_specificity: f64,
}

/// Measures every run of `a` in turn and writes its `shifted_validation.json`.
pub fn shifted_runs(a: &ValidationRerunArgs) -> Result<Vec<ShiftedValidation>> {
    a.runs.iter().map(|r| shifted_run(r, a.data.as_deref(), a.cpu)).collect()
}

/// Measures one finished run on its shifted validation images and writes the file.
pub fn shifted_run(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<ShiftedValidation> {
    let run = load_on_validation(run_dir, data, cpu)?;
    let (net, val, batch) = (&run.net, &run.val, run.batch);
    let threshold = run.metrics.evaluation.threshold;
    let score = |view: &str, samples: &dyn Samples| view_score(view, net, samples, batch, threshold);
    let clean = score("clean", val);
    let shifted: Vec<ViewScore> =
        Shift::ALL.iter().map(|&shift| score(shift.name(), &Shifted { samples: val, shift })).collect();
    let mean = |f: fn(&ViewScore) -> f64| shifted.iter().map(f).sum::<f64>() / shifted.len() as f64;
    let result = ShiftedValidation {
        threshold,
        images: val.len(),
        mean_accuracy: mean(|v| v.accuracy),
        mean_sensitivity: mean(|v| v.sensitivity),
        mean_specificity: mean(|v| v.specificity),
        clean,
        shifted,
    };
    write_atomic(&run_dir.join(FILE), &serde_json::to_vec_pretty(&result)?)?;
    println!(
        "{}: validation {:.2}% clean, {:.2}% shifted (specificity {:.3} → {:.3}) at threshold {:.2}",
        run_dir.display(),
        100.0 * result.clean.accuracy,
        100.0 * result.mean_accuracy,
        result.clean.specificity,
        result.mean_specificity,
        threshold
    );
    Ok(result)
}

fn view_score(
    view: &str,
    net: &dyn Classifier,
    samples: &dyn Samples,
    batch: usize,
    threshold: f64,
) -> ViewScore {
    let p = predict(net, samples, batch);
    let at = at_threshold(&p.probs, &p.labels, threshold);
    ViewScore {
        view: view.to_string(),
        accuracy: at.accuracy,
        sensitivity: at.recall,
        specificity: at.specificity,
        roc_auc: roc_auc(&p.probs, &p.labels),
    }
}
