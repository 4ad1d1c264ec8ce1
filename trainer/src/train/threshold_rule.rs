//! The setting that says how a run's decision threshold is chosen on validation (the choice
//! itself is `eval::threshold`, a layer above).

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// How the decision threshold is chosen on validation (applied by `eval::threshold`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdRule {
    /// The sweep point with the highest F1 (the seed's rule).
    #[default]
    #[value(name = "best_f1")]
    BestF1,
    /// The sweep point with the highest balanced accuracy (mean of sensitivity and
    /// specificity): the choice does not lean on the validation class mix.
    #[value(name = "balanced_accuracy")]
    BalancedAccuracy,
    /// The one-standard-error rule on balanced accuracy: of the sweep points whose balanced
    /// accuracy is within one standard error of the best, the one nearest 0.5 (where
    /// class-balanced training puts the boundary). A validation set of a few hundred images
    /// cannot tell points a couple of images apart, so the noise should not move the threshold.
    // Runs of the first day of this rule recorded serde's own spelling, `balanced_accuracy1se`.
    #[value(name = "balanced_accuracy_1se")]
    #[serde(rename = "balanced_accuracy_1se", alias = "balanced_accuracy1se")]
    BalancedAccuracy1se,
    /// The sweep point with the highest accuracy.
    #[value(name = "accuracy")]
    Accuracy,
}

impl ThresholdRule {
    /// The name metrics.json records.
    pub fn name(self) -> &'static str {
        match self {
            ThresholdRule::BestF1 => "best_f1",
            ThresholdRule::BalancedAccuracy => "balanced_accuracy",
            ThresholdRule::BalancedAccuracy1se => "balanced_accuracy_1se",
            ThresholdRule::Accuracy => "accuracy",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spelling_is_the_command_line_name() {
        for rule in [
            ThresholdRule::BestF1,
            ThresholdRule::BalancedAccuracy,
            ThresholdRule::BalancedAccuracy1se,
            ThresholdRule::Accuracy,
        ] {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.name());
            assert_eq!(rule.to_possible_value().unwrap().get_name(), rule.name());
        }
        let old: ThresholdRule = serde_json::from_str("\"balanced_accuracy1se\"").unwrap();
        assert_eq!(old, ThresholdRule::BalancedAccuracy1se);
    }
}
