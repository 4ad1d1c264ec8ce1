//! Patient bootstrap: a 95% confidence interval of accuracy that respects that images of one
//! patient are not independent. Distinct patients are resampled with replacement (each drawn
//! patient brings all its images), accuracy is recomputed B times, and the 2.5th and 97.5th
//! percentiles are the interval. A fixed-seed ChaCha RNG makes the report reproducible.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Resamples per interval unless a caller asks otherwise.
pub const DEFAULT_RESAMPLES: usize = 2000;
/// The report's fixed RNG seed: the same study always gives the same intervals.
pub const DEFAULT_SEED: u64 = 20_240_601;

/// How the intervals in a report were computed (written to results.json).
#[derive(Clone, Debug, Serialize)]
pub struct BootstrapSettings {
    pub unit: &'static str,
    pub resamples: usize,
    pub seed: u64,
    pub interval: &'static str,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            unit: "patient",
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            interval: "percentile 2.5-97.5",
        }
    }
}

/// (images, correct images) per distinct patient, in patient-id order so the result does not
/// depend on the order of the input lines.
fn per_patient<S: AsRef<str>>(items: &[(S, bool)]) -> Vec<(u32, u32)> {
    let mut map: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for (patient, correct) in items {
        let e = map.entry(patient.as_ref()).or_default();
        e.0 += 1;
        e.1 += u32::from(*correct);
    }
    map.into_values().collect()
}

/// The linearly interpolated `q` quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// 95% percentile interval of accuracy over `resamples` patient resamples; None without images.
pub fn accuracy_ci95<S: AsRef<str>>(items: &[(S, bool)], resamples: usize, seed: u64) -> Option<[f64; 2]> {
    let patients = per_patient(items);
    if patients.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut accs: Vec<f64> = (0..resamples)
        .map(|_| {
            let (mut n, mut k) = (0u64, 0u64);
            for _ in 0..patients.len() {
                let (images, correct) = patients[rng.gen_range(0..patients.len())];
                n += u64::from(images);
                k += u64::from(correct);
            }
            k as f64 / n as f64
        })
        .collect();
    accs.sort_by(f64::total_cmp);
    Some([quantile(&accs, 0.025), quantile(&accs, 0.975)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_image_each(n: usize, correct: usize) -> Vec<(String, bool)> {
        (0..n).map(|i| (format!("p{i}"), i < correct)).collect()
    }

    #[test]
    fn matches_the_normal_approximation_for_independent_images() {
        let (n, p) = (400, 0.9);
        let items = one_image_each(n, 360);
        let [lo, hi] = accuracy_ci95(&items, DEFAULT_RESAMPLES, DEFAULT_SEED).unwrap();
        assert!(lo < p && p < hi, "[{lo}, {hi}]");
        let expected = 2.0 * 1.96 * (p * (1.0 - p) / n as f64).sqrt();
        let width = hi - lo;
        assert!((width / expected - 1.0).abs() < 0.2, "width {width} vs {expected}");
    }

    #[test]
    fn clustered_patients_widen_the_interval() {
        // 40 patients of 10 images, each patient all right or all wrong (36 right): the
        // effective sample is 40, not 400. The same images, each its own patient, do not know that.
        let clustered: Vec<(String, bool)> =
            (0..400).map(|i| (format!("p{}", i / 10), i / 10 < 36)).collect();
        let independent: Vec<(String, bool)> =
            clustered.iter().enumerate().map(|(i, (_, ok))| (format!("image{i}"), *ok)).collect();
        let w = |items: &[(String, bool)]| {
            let [lo, hi] = accuracy_ci95(items, DEFAULT_RESAMPLES, 7).unwrap();
            hi - lo
        };
        assert!(w(&clustered) > 2.0 * w(&independent), "{} vs {}", w(&clustered), w(&independent));
    }

    #[test]
    fn deterministic_for_a_seed_and_order_free() {
        let items = one_image_each(200, 150);
        let mut reversed = items.clone();
        reversed.reverse();
        let a = accuracy_ci95(&items, 500, 3);
        assert_eq!(a, accuracy_ci95(&items, 500, 3));
        assert_eq!(a, accuracy_ci95(&reversed, 500, 3));
        assert_eq!(accuracy_ci95::<String>(&[], 500, 3), None);
    }
}
