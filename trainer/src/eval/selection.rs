//! The selection a run makes on validation — today the decision threshold, at the epoch
//! training ended on — frozen into one value before any test image is loaded. Only a
//! [`Selection`] makes the [`SelectionFrozen`] proof that opens the split's test images, so
//! the order "choose on validation, then look at test" holds by construction.

use super::classes::{class_split, ClassReport, CLASS_LABELS};
use super::predict::Predictions;
use super::report::{split_eval, EvalReport, SplitEval};
use super::threshold::{choose, ThresholdRule};
use crate::data::split::SelectionFrozen;

/// What validation chose; immutable once made.
#[derive(Clone, Debug)]
pub struct Selection {
    threshold: f64,
    rule: ThresholdRule,
    validation: Predictions,
}

impl Selection {
    /// Chooses the threshold on `validation` by `rule` and freezes it.
    pub fn freeze(validation: Predictions, rule: ThresholdRule) -> Selection {
        let threshold = choose(rule, &validation.probs, &validation.labels);
        Selection { threshold, rule, validation }
    }

    /// A selection made earlier and recorded (a model card's threshold), with the validation
    /// predictions it is reported beside.
    pub fn recorded(threshold: f64, rule: ThresholdRule, validation: Predictions) -> Selection {
        Selection { threshold, rule, validation }
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn rule(&self) -> ThresholdRule {
        self.rule
    }

    /// The proof that opens the test split.
    pub fn frozen(&self) -> SelectionFrozen {
        SelectionFrozen::attest_frozen_selection()
    }

    /// Validation at the chosen threshold.
    pub fn validation(&self) -> SplitEval {
        split_eval(&self.validation, self.threshold)
    }

    /// The full report: validation and `test` at the frozen threshold.
    pub fn report(&self, test: &Predictions) -> EvalReport {
        let val = &self.validation;
        let classes = (!val.class_probs.is_empty()).then(|| ClassReport {
            labels: CLASS_LABELS.iter().map(|s| s.to_string()).collect(),
            validation: class_split(&val.class_probs, &val.classes),
            test: class_split(&test.class_probs, &test.classes),
        });
        EvalReport {
            threshold: self.threshold,
            threshold_rule: self.rule,
            validation: self.validation(),
            test: split_eval(test, self.threshold),
            classes,
        }
    }
}
