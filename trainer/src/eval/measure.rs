//! Measuring a trained network on a split: the validation score training watches, the full
//! report (threshold chosen on validation, test measured once at it), and its printout.

use std::path::Path;

use super::metrics::at_threshold;
use super::predict::predict;
use super::report::{evaluate, EvalReport};
use crate::data::device::Samples;
use crate::models::Classifier;
use crate::train::ValScore;

/// Validation loss and accuracy at 0.5, for the epoch loop.
pub fn val_score(net: &dyn Classifier, val: &dyn Samples, batch_size: usize) -> ValScore {
    let v = predict(net, val, batch_size);
    ValScore { loss: v.loss, accuracy: at_threshold(&v.probs, &v.labels, 0.5).accuracy }
}

/// Chooses the threshold on `val` and measures the test split at it.
pub fn measure(net: &dyn Classifier, val: &dyn Samples, test: &dyn Samples, batch_size: usize) -> EvalReport {
    evaluate(&predict(net, val, batch_size), &predict(net, test, batch_size))
}

/// The test metrics a user reads first, plus the validation-chosen threshold.
pub fn print_report(r: &EvalReport, dir: &Path) {
    let t = &r.test.at_chosen_threshold;
    let c = t.confusion;
    println!("threshold (best F1 on validation): {:.2}", r.threshold);
    println!(
        "validation: accuracy {:.2}%  F1 {:.3}  AUC {}",
        100.0 * r.validation.at_chosen_threshold.accuracy,
        r.validation.at_chosen_threshold.f1,
        fmt_auc(r.validation.roc_auc)
    );
    println!(
        "test ({} images): accuracy {:.2}%  precision {:.3}  recall {:.3}  specificity {:.3}  F1 {:.3}  AUC {}",
        r.test.images,
        100.0 * t.accuracy,
        t.precision,
        t.recall,
        t.specificity,
        t.f1,
        fmt_auc(r.test.roc_auc)
    );
    println!("test confusion: TN {}  FP {}  FN {}  TP {}", c.tn, c.fp, c.fn_, c.tp);
    println!("test accuracy at 0.5: {:.2}%", 100.0 * r.test.at_0_5.accuracy);
    println!("wrote {}", dir.display());
}

/// An AUC with 4 decimals, or "n/a" when a split holds one class only.
pub fn fmt_auc(a: Option<f64>) -> String {
    a.map(|a| format!("{a:.4}")).unwrap_or_else(|| "n/a".into())
}
