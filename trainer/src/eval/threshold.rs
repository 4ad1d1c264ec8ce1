//! How the decision threshold is chosen on validation. The seed took the best-F1 point of
//! its sweep; on the official test split (another cohort, 37.5% normal) best F1 picks low
//! thresholds that call normal images pneumonia, so the rule is a setting of the run, and
//! every rule looks at validation predictions only.

use super::metrics::{best_by, sweep, AtThreshold};
pub use crate::train::config::ThresholdRule;

/// The score `rule` maximises over the sweep.
fn score(rule: ThresholdRule, p: &AtThreshold) -> f64 {
    match rule {
        ThresholdRule::BestF1 => p.f1,
        ThresholdRule::BalancedAccuracy => (p.recall + p.specificity) / 2.0,
        ThresholdRule::Accuracy => p.accuracy,
    }
}

/// The threshold of the seed's sweep (0.10 … 0.90) that scores best under `rule` on the
/// validation predictions; on a tie the one nearest 0.5, then the lower. 0.5 without
/// predictions.
pub fn choose(rule: ThresholdRule, val_probs: &[f32], val_labels: &[bool]) -> f64 {
    best_by(&sweep(val_probs, val_labels), |p| score(rule, p)).map_or(0.5, |p| p.threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_differ_where_the_classes_are_unbalanced() {
        // 2 normal (0.3, 0.6), 8 pneumonia from 0.35 up: every rule keeps the 0.35–0.55
        // pneumonia images (0.35: balanced accuracy 0.75 against 0.6875 at 0.65).
        let p = [0.3, 0.6, 0.35, 0.4, 0.45, 0.5, 0.55, 0.7, 0.8, 0.9];
        let y = [false, false, true, true, true, true, true, true, true, true];
        assert_eq!(choose(ThresholdRule::BestF1, &p, &y), 0.35);
        assert_eq!(choose(ThresholdRule::Accuracy, &p, &y), 0.35);
        assert_eq!(choose(ThresholdRule::BalancedAccuracy, &p, &y), 0.35);
        // …until a third normal image sits at 0.5: F1 still calls nearly everything pneumonia
        // (0.35: sensitivity 1, specificity 1/3), balanced accuracy moves above both normal
        // images at 0.5 and 0.6 (0.65: sensitivity 3/7, specificity 1 → 0.714 > 0.667).
        let p = [0.3, 0.6, 0.5, 0.35, 0.4, 0.45, 0.55, 0.7, 0.8, 0.9];
        let y = [false, false, false, true, true, true, true, true, true, true];
        assert_eq!(choose(ThresholdRule::BestF1, &p, &y), 0.35);
        assert_eq!(choose(ThresholdRule::BalancedAccuracy, &p, &y), 0.65);
    }

    #[test]
    fn no_predictions_give_one_half() {
        assert_eq!(choose(ThresholdRule::BalancedAccuracy, &[], &[]), 0.5);
    }
}
