//! Binary classification metrics from probabilities: confusion matrix, accuracy, precision,
//! recall (sensitivity), specificity, F1, ROC AUC, and the seed's precision-recall sweep over
//! thresholds 0.10, 0.15, …, 0.90. Pure Rust, no tensors, so it is easy to test.

use serde::{Deserialize, Serialize};

/// Counts at one threshold; "positive" is pneumonia.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tn: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub tp: usize,
}

/// Metrics of the predictions `p >= threshold`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtThreshold {
    pub threshold: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub specificity: f64,
    pub f1: f64,
    pub confusion: Confusion,
}

/// The 17 thresholds of the seed's PR curve, exact in decimal (0.10 + 0.05 k).
pub fn sweep_thresholds() -> Vec<f64> {
    (0..17).map(|k| (10 + 5 * k) as f64 / 100.0).collect()
}

/// Metrics at `threshold`. Ratios with an empty denominator are 0 (never NaN in JSON).
pub fn at_threshold(probs: &[f32], labels: &[bool], threshold: f64) -> AtThreshold {
    let mut c = Confusion::default();
    for (&p, &y) in probs.iter().zip(labels) {
        // Compare in f32, the probabilities' own precision: p = 0.7f32 is "≥ 0.70".
        match (p >= threshold as f32, y) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, true) => c.fn_ += 1,
            (false, false) => c.tn += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(c.tp, c.tp + c.fp);
    let recall = ratio(c.tp, c.tp + c.fn_);
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    AtThreshold {
        threshold,
        accuracy: ratio(c.tp + c.tn, probs.len()),
        precision,
        recall,
        specificity: ratio(c.tn, c.tn + c.fp),
        f1,
        confusion: c,
    }
}

/// The precision-recall sweep at `sweep_thresholds()`.
pub fn sweep(probs: &[f32], labels: &[bool]) -> Vec<AtThreshold> {
    sweep_thresholds().into_iter().map(|t| at_threshold(probs, labels, t)).collect()
}

/// The sweep point with the highest F1; on a tie the one nearest 0.5, then the lower.
pub fn best_f1(points: &[AtThreshold]) -> Option<AtThreshold> {
    best_by(points, |p| p.f1)
}

/// The sweep point with the highest `score`; on a tie the one nearest 0.5, then the lower.
pub fn best_by(points: &[AtThreshold], score: impl Fn(&AtThreshold) -> f64) -> Option<AtThreshold> {
    points.iter().copied().max_by(|a, b| {
        score(a)
            .total_cmp(&score(b))
            .then((b.threshold - 0.5).abs().total_cmp(&(a.threshold - 0.5).abs()))
            .then(b.threshold.total_cmp(&a.threshold))
    })
}

/// Area under the ROC curve as the probability that a random positive scores above a random
/// negative (ties count one half), via ranks with ties averaged. None without both classes.
pub fn roc_auc(probs: &[f32], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|&&y| y).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[a].total_cmp(&probs[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && probs[order[j + 1]] == probs[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += avg_rank * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    Some((rank_sum_pos - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_ratios_by_hand() {
        let p = [0.9, 0.8, 0.3, 0.6, 0.1, 0.4];
        let y = [true, true, true, false, false, false];
        let m = at_threshold(&p, &y, 0.5);
        assert_eq!(m.confusion, Confusion { tn: 2, fp: 1, fn_: 1, tp: 2 });
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.specificity - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.f1 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn sweep_has_17_exact_thresholds() {
        let t = sweep_thresholds();
        assert_eq!(t.len(), 17);
        assert_eq!(t[0], 0.1);
        assert_eq!(t[8], 0.5);
        assert_eq!(t[16], 0.9);
    }

    #[test]
    fn best_f1_picks_the_separating_threshold() {
        let p = [0.05, 0.2, 0.3, 0.72, 0.8, 0.95];
        let y = [false, false, false, true, true, true];
        let best = best_f1(&sweep(&p, &y)).unwrap();
        assert_eq!(best.f1, 1.0);
        // Every threshold in (0.3, 0.72] separates; the tie goes to the one nearest 0.5.
        assert_eq!(best.threshold, 0.5);
    }

    #[test]
    fn auc_known_values() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &y), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &y), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &y), Some(0.5));
        // One inversion out of four pairs.
        assert_eq!(roc_auc(&[0.1, 0.7, 0.6, 0.9], &y), Some(0.75));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn empty_denominators_are_zero_not_nan() {
        let m = at_threshold(&[0.1, 0.2], &[false, false], 0.5);
        assert_eq!(m.precision, 0.0);
        assert_eq!(m.recall, 0.0);
        assert_eq!(m.f1, 0.0);
        assert_eq!(m.specificity, 1.0);
    }
}
