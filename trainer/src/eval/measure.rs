//! Measuring a trained network on a split: the validation score training watches, the
//! selection frozen on validation, test measured once at it, and the printout.

use std::path::Path;

use super::classes::class_split;
use super::metrics::at_threshold;
use super::predict::{predict, Predictions};
use super::report::EvalReport;
use super::selection::Selection;
use super::threshold::ThresholdRule;
use crate::data::device::Samples;
use crate::models::Classifier;
use crate::train::ValScore;

/// Validation loss and accuracy (at 0.5, or of the argmax for 3 classes), for the epoch loop.
pub fn val_score(net: &dyn Classifier, val: &dyn Samples, batch_size: usize) -> ValScore {
    let v = predict(net, val, batch_size);
    let accuracy = if v.class_probs.is_empty() {
        at_threshold(&v.probs, &v.labels, 0.5).accuracy
    } else {
        class_split(&v.class_probs, &v.classes).accuracy
    };
    ValScore { loss: v.loss, accuracy }
}

/// Predicts `val` and freezes the selection made on it (the threshold, by `rule`).
pub fn select(net: &dyn Classifier, val: &dyn Samples, batch_size: usize, rule: ThresholdRule) -> Selection {
    Selection::freeze(predict(net, val, batch_size), rule)
}

/// Measures `test` at a frozen selection. Also returns the test predictions the report was
/// computed from (a run keeps them for bootstrap intervals).
pub fn measure_test(
    net: &dyn Classifier,
    selection: &Selection,
    test: &dyn Samples,
    batch_size: usize,
) -> (EvalReport, Predictions) {
    let test = predict(net, test, batch_size);
    (selection.report(&test), test)
}

/// The test metrics a user reads first, plus the validation-chosen threshold.
pub fn print_report(r: &EvalReport, dir: &Path) {
    let t = &r.test.at_chosen_threshold;
    let c = t.confusion;
    println!("threshold ({} on validation): {:.2}", r.threshold_rule.name(), r.threshold);
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
    if let Some(c) = &r.classes {
        let t = &c.test;
        println!(
            "3 classes, test: accuracy {:.2}%  macro F1 {:.3}  confusion (rows true {}, columns predicted) {:?}",
            100.0 * t.accuracy,
            t.macro_f1,
            c.labels.join("/"),
            t.confusion
        );
    }
    println!("wrote {}", dir.display());
}

/// An AUC with 4 decimals, or "n/a" when a split holds one class only.
pub fn fmt_auc(a: Option<f64>) -> String {
    a.map(|a| format!("{a:.4}")).unwrap_or_else(|| "n/a".into())
}
