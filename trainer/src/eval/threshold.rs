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
        ThresholdRule::BalancedAccuracy | ThresholdRule::BalancedAccuracy1se => balanced_accuracy(p),
        ThresholdRule::Accuracy => p.accuracy,
    }
}

fn balanced_accuracy(p: &AtThreshold) -> f64 {
    (p.recall + p.specificity) / 2.0
}

/// The standard error of a point's balanced accuracy, its sensitivity and specificity each a
/// binomial proportion of its class, estimated with one success and one failure added
/// ((k + 1) / (n + 2), Agresti–Coull style) so that a perfect score still has a margin.
fn balanced_accuracy_se(p: &AtThreshold) -> f64 {
    let c = p.confusion;
    let var = |k: usize, n: usize| {
        let rate = (k + 1) as f64 / (n + 2) as f64;
        rate * (1.0 - rate) / (n + 2) as f64
    };
    (var(c.tp, c.tp + c.fn_) + var(c.tn, c.tn + c.fp)).sqrt() / 2.0
}

/// The threshold of the seed's sweep (0.10 … 0.90) that scores best under `rule` on the
/// validation predictions; on a tie the one nearest 0.5, then the lower. 0.5 without
/// predictions.
pub fn choose(rule: ThresholdRule, val_probs: &[f32], val_labels: &[bool]) -> f64 {
    let points = sweep(val_probs, val_labels);
    let Some(best) = best_by(&points, |p| score(rule, p)) else {
        return 0.5;
    };
    if rule != ThresholdRule::BalancedAccuracy1se {
        return best.threshold;
    }
    // Every point within one standard error of the best counts as equally good; of those the
    // one nearest 0.5 (then the lower). The margin absorbs the rounding of equal scores.
    let floor = balanced_accuracy(&best) - balanced_accuracy_se(&best) - 1e-12;
    let near: Vec<AtThreshold> = points.into_iter().filter(|p| balanced_accuracy(p) >= floor).collect();
    best_by(&near, |p| -(p.threshold - 0.5).abs()).map_or(best.threshold, |p| p.threshold)
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
    fn one_standard_error_keeps_one_half_unless_validation_clearly_disagrees() {
        // 10 normal (one at 0.33), 20 pneumonia (two at 0.42 and 0.52): balanced accuracy is
        // 1 at 0.35–0.40 and 0.975 at 0.50, within the standard error (≈ 0.046).
        let mut p = vec![0.1f32; 9];
        p.extend([0.33f32, 0.42, 0.52]);
        p.extend([0.9f32; 18]);
        let y: Vec<bool> = (0..30).map(|i| i >= 10).collect();
        assert_eq!(choose(ThresholdRule::BalancedAccuracy, &p, &y), 0.4);
        assert_eq!(choose(ThresholdRule::BalancedAccuracy1se, &p, &y), 0.5);
        // Twelve pneumonia images spread over 0.22–0.44: 0.5 scores 0.7, far outside, and the
        // rule moves only to the nearest point still within the margin.
        let mut p = vec![0.1f32; 9];
        p.push(0.21);
        p.extend((0..12).map(|i| 0.22 + 0.02 * i as f32));
        p.extend([0.9f32; 8]);
        assert_eq!(choose(ThresholdRule::BalancedAccuracy, &p, &y), 0.25);
        assert_eq!(choose(ThresholdRule::BalancedAccuracy1se, &p, &y), 0.3);
    }

    #[test]
    fn no_predictions_give_one_half() {
        assert_eq!(choose(ThresholdRule::BalancedAccuracy, &[], &[]), 0.5);
    }
}
