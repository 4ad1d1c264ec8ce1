//! Calibration of p(pneumonia): does a predicted 0.8 come true 80% of the time? The scores are
//! sorted into equal-width bins; per bin the mean predicted p is set against the observed
//! fraction of pneumonia (the reliability diagram's points), and the expected calibration
//! error weighs each bin's gap by its share of the images:
//!
//!   ECE = Σ_b (n_b / N) · |mean p_b − fraction positive_b|
//!
//! An empty bin contributes 0; p = 1.0 falls in the last bin, which is closed.

use serde::Serialize;

/// The report's bin count: 10 bins of width 0.1.
pub const BINS: usize = 10;

/// One bin of the reliability diagram, [lo, hi) (the last one [lo, 1]).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean predicted p(pneumonia) of the bin's images; None for an empty bin.
    pub mean_confidence: Option<f64>,
    /// Fraction of the bin's images that have pneumonia; None for an empty bin.
    pub observed_frequency: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Calibration {
    pub ece: f64,
    pub bins: Vec<ReliabilityBin>,
}

/// The bin of a score. Edges are compared in f32, as the trainer compares thresholds: the CSV's
/// 0.7 is the f32 0.699999988, which must land in [0.7, 0.8) like "p ≥ 0.70" says it does.
fn bin_of(p: f32, bins: usize) -> usize {
    (1..bins).filter(|&k| p >= (k as f64 / bins as f64) as f32).count()
}

/// Reliability bins and ECE of (p(pneumonia), has pneumonia) pairs in `bins` equal-width bins;
/// None without scores.
pub fn calibration(scored: &[(f32, bool)], bins: usize) -> Option<Calibration> {
    if scored.is_empty() || bins == 0 {
        return None;
    }
    // (count, sum of p, positives) per bin.
    let mut acc = vec![(0usize, 0f64, 0usize); bins];
    for &(p, positive) in scored {
        let a = &mut acc[bin_of(p, bins)];
        a.0 += 1;
        a.1 += f64::from(p);
        a.2 += usize::from(positive);
    }
    let n = scored.len() as f64;
    let mut ece = 0.0;
    let bins_out = acc
        .iter()
        .enumerate()
        .map(|(b, &(count, sum_p, positives))| {
            let mean = (count > 0).then(|| sum_p / count as f64);
            let freq = (count > 0).then(|| positives as f64 / count as f64);
            if let (Some(m), Some(f)) = (mean, freq) {
                ece += count as f64 / n * (m - f).abs();
            }
            ReliabilityBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                count,
                mean_confidence: mean,
                observed_frequency: freq,
            }
        })
        .collect();
    Some(Calibration { ece, bins: bins_out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(p: f32, positives: usize, negatives: usize) -> Vec<(f32, bool)> {
        (0..positives + negatives).map(|i| (p, i < positives)).collect()
    }

    #[test]
    fn perfectly_calibrated_scores_have_no_error() {
        // 0.25 and 0.75 are exact in f32: 1 of 4 and 3 of 4 come true.
        let mut s = scored(0.25, 1, 3);
        s.extend(scored(0.75, 3, 1));
        let c = calibration(&s, BINS).unwrap();
        assert_eq!(c.ece, 0.0);
        assert_eq!(c.bins[2].count, 4);
        assert_eq!(c.bins[7].observed_frequency, Some(0.75));
        assert_eq!(c.bins[5].mean_confidence, None);
    }

    #[test]
    fn overconfident_scores() {
        // All p = 0.9, half of them pneumonia: every image sits 0.4 off.
        let c = calibration(&scored(0.9, 5, 5), BINS).unwrap();
        assert!((c.ece - 0.4).abs() < 1e-6, "{}", c.ece);
        assert_eq!(c.bins[9].count, 10);
        // Two bins with weights 3/4 and 1/4: 0.75 · |0.05 − 0| + 0.25 · |0.95 − 0| = 0.275.
        let mut s = scored(0.05, 0, 3);
        s.extend(scored(0.95, 0, 1));
        assert!((calibration(&s, BINS).unwrap().ece - 0.275).abs() < 1e-6);
    }

    #[test]
    fn bin_edges() {
        let bin = |p: f32| bin_of(p, BINS);
        assert_eq!(bin(0.0), 0);
        assert_eq!(bin(0.0999), 0);
        assert_eq!(bin(0.1), 1);
        // 0.7f32 < 0.7f64; compared in f32 it is still "≥ 0.7".
        assert_eq!(bin(0.7), 7);
        assert_eq!(bin(0.8999), 8);
        assert_eq!(bin(0.9), 9);
        assert_eq!(bin(0.99), 9);
        assert_eq!(bin(1.0), 9);
        let c = calibration(&[(1.0, true)], BINS).unwrap();
        assert_eq!((c.bins[9].count, c.bins[9].hi, c.ece), (1, 1.0, 0.0));
        assert_eq!(calibration(&[], BINS), None);
    }
}
