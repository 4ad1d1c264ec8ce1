//! The evaluation a run reports: the decision threshold is chosen on the validation sweep
//! (by the run's rule, best F1 unless told otherwise), and test is then measured at that
//! threshold (and at 0.5 for reference). Test predictions choose nothing.

use serde::{Deserialize, Serialize};

use super::classes::ClassReport;
use super::metrics::{at_threshold, roc_auc, sweep, AtThreshold};
use super::predict::Predictions;
use super::selection::Selection;
use super::threshold::ThresholdRule;

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
    /// The threshold chosen on the validation sweep.
    pub threshold: f64,
    /// How it was chosen (runs before the rule was a setting: best F1).
    #[serde(default)]
    pub threshold_rule: ThresholdRule,
    pub validation: SplitEval,
    pub test: SplitEval,
    /// 3-class networks: argmax metrics and confusion (the fields above are their binary
    /// view, p(pneumonia) = p(bacterial) + p(viral)).
    #[serde(default)]
    pub classes: Option<ClassReport>,
}

pub fn split_eval(p: &Predictions, threshold: f64) -> SplitEval {
    SplitEval {
        images: p.probs.len(),
        loss: p.loss,
        roc_auc: roc_auc(&p.probs, &p.labels),
        at_chosen_threshold: at_threshold(&p.probs, &p.labels, threshold),
        at_0_5: at_threshold(&p.probs, &p.labels, 0.5),
        sweep: sweep(&p.probs, &p.labels),
    }
}

/// Chooses the threshold on `val` by `rule` and applies it to `test`.
pub fn evaluate(val: Predictions, test: &Predictions, rule: ThresholdRule) -> EvalReport {
    Selection::freeze(val, rule).report(test)
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
        let r = evaluate(val, &test, ThresholdRule::BestF1);
        assert_eq!(r.threshold, 0.75);
        assert_eq!(r.test.at_chosen_threshold.confusion.fn_, 2);
    }
}
