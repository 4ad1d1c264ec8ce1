//! The evaluation a run reports: the decision threshold is the best-F1 point of the
//! validation sweep, and test is then measured at that threshold (and at 0.5 for reference).
//! Test predictions choose nothing.

use serde::{Deserialize, Serialize};

use super::classes::{class_split, ClassReport, CLASS_LABELS};
use super::metrics::{at_threshold, best_f1, roc_auc, sweep, AtThreshold};
use super::predict::Predictions;

/// Metrics of one split.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SplitEval {
    pub images: usize,
    pub loss: f64,
    pub roc_auc: Option<f64>,
    /// At the threshold chosen on validation.
    pub at_chosen_threshold: AtThreshold,
    /// At 0.5, the plain sigmoid decision.
    pub at_0_5: AtThreshold,
    /// The seed's PR curve: thresholds 0.10 … 0.90 step 0.05, F1 at each.
    pub sweep: Vec<AtThreshold>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalReport {
    /// Best-F1 threshold of the validation sweep.
    pub threshold: f64,
    pub validation: SplitEval,
    pub test: SplitEval,
    /// 3-class networks: argmax metrics and confusion (the fields above are their binary
    /// view, p(pneumonia) = p(bacterial) + p(viral)).
    #[serde(default)]
    pub classes: Option<ClassReport>,
}

fn split_eval(p: &Predictions, threshold: f64) -> SplitEval {
    SplitEval {
        images: p.probs.len(),
        loss: p.loss,
        roc_auc: roc_auc(&p.probs, &p.labels),
        at_chosen_threshold: at_threshold(&p.probs, &p.labels, threshold),
        at_0_5: at_threshold(&p.probs, &p.labels, 0.5),
        sweep: sweep(&p.probs, &p.labels),
    }
}

/// Chooses the threshold on `val` and applies it to `test`.
pub fn evaluate(val: &Predictions, test: &Predictions) -> EvalReport {
    let threshold = best_f1(&sweep(&val.probs, &val.labels)).map(|b| b.threshold).unwrap_or(0.5);
    let classes = (!val.class_probs.is_empty()).then(|| ClassReport {
        labels: CLASS_LABELS.iter().map(|s| s.to_string()).collect(),
        validation: class_split(&val.class_probs, &val.classes),
        test: class_split(&test.class_probs, &test.classes),
    });
    EvalReport {
        threshold,
        validation: split_eval(val, threshold),
        test: split_eval(test, threshold),
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_comes_from_validation_only() {
        // Validation separates at 0.75 and above…
        let val = Predictions {
            probs: vec![0.1, 0.2, 0.7, 0.8, 0.9, 0.95],
            labels: vec![false, false, false, true, true, true],
            loss: 0.0,
            ..Default::default()
        };
        // …while test would prefer a low threshold.
        let test = Predictions {
            probs: vec![0.3, 0.35, 0.05],
            labels: vec![true, true, false],
            loss: 0.0,
            ..Default::default()
        };
        let r = evaluate(&val, &test);
        assert_eq!(r.threshold, 0.75);
        assert_eq!(r.test.at_chosen_threshold.confusion.fn_, 2);
    }
}
