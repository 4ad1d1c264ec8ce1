//! Patient bootstrap: a 95% confidence interval of accuracy that respects that images of one
//! patient are not independent. Distinct patients are resampled with replacement (each drawn
//! patient brings all its images), accuracy is recomputed B times, and the 2.5th and 97.5th
//! percentiles are the interval. A fixed-seed ChaCha RNG makes the report reproducible. The
//! same resampling gives the interval of a seed mean: several seeds' models on one test split.

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

/// Per distinct patient (in patient-id order, so the result does not depend on the order of
/// the input lines), the (images, correct images) of each seed's predictions. A patient absent
/// from a seed's predictions counts (0, 0) there.
fn per_patient<S: AsRef<str>, T: AsRef<[(S, bool)]>>(seeds: &[T]) -> Vec<Vec<(u32, u32)>> {
    let mut map: BTreeMap<&str, Vec<(u32, u32)>> = BTreeMap::new();
    for (s, items) in seeds.iter().enumerate() {
        for (patient, correct) in items.as_ref() {
            let e = &mut map.entry(patient.as_ref()).or_insert_with(|| vec![(0, 0); seeds.len()])[s];
            e.0 += 1;
            e.1 += u32::from(*correct);
        }
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
    seed_mean_accuracy_ci95(&[items], resamples, seed)
}

/// 95% percentile interval of the mean accuracy of several seeds' models tested on the same
/// images (`seeds[s]` = seed s's per-image (patient, correct) at its own threshold). Each
/// resample draws the patients once for all seeds, so the interval describes the test set's
/// sampling error of the seed mean, not the spread between seeds (that is the sd). One seed
/// gives `accuracy_ci95`'s interval exactly. None without images.
pub fn seed_mean_accuracy_ci95<S: AsRef<str>, T: AsRef<[(S, bool)]>>(
    seeds: &[T],
    resamples: usize,
    seed: u64,
) -> Option<[f64; 2]> {
    let patients = per_patient(seeds);
    if patients.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let mut sums = vec![(0u64, 0u64); seeds.len()];
            for _ in 0..patients.len() {
                let drawn = &patients[rng.gen_range(0..patients.len())];
                for (sum, &(images, correct)) in sums.iter_mut().zip(drawn) {
                    sum.0 += u64::from(images);
                    sum.1 += u64::from(correct);
                }
            }
            // A seed with no image in this resample (only possible when the seeds were not
            // tested on the same patients) has no accuracy to average.
            let accs: Vec<f64> = sums.iter().filter(|s| s.0 > 0).map(|&(n, k)| k as f64 / n as f64).collect();
            accs.iter().sum::<f64>() / accs.len() as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    Some([quantile(&means, 0.025), quantile(&means, 0.975)])
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

    #[test]
    fn one_seed_is_the_plain_interval() {
        let items = one_image_each(120, 100);
        assert_eq!(seed_mean_accuracy_ci95(&[&items], 500, 5), accuracy_ci95(&items, 500, 5));
    }

    #[test]
    fn seed_mean_interval_holds_the_mean_and_is_deterministic() {
        // Three seeds on the same 150 patients (2 images each), right on 80%, 84% and 90%.
        let seeds: Vec<Vec<(String, bool)>> = [240, 252, 270]
            .iter()
            .map(|&right| (0..300).map(|i| (format!("p{}", i / 2), (i * 7919) % 300 < right)).collect())
            .collect();
        let mean = (0.80 + 0.84 + 0.90) / 3.0;
        let ci = seed_mean_accuracy_ci95(&seeds, DEFAULT_RESAMPLES, DEFAULT_SEED).unwrap();
        assert!(ci[0] < mean && mean < ci[1], "{mean} in {ci:?}");
        assert!(ci[1] - ci[0] < 0.15, "{ci:?}");
        assert_eq!(Some(ci), seed_mean_accuracy_ci95(&seeds, DEFAULT_RESAMPLES, DEFAULT_SEED));
        let mut shuffled = seeds.clone();
        shuffled.iter_mut().for_each(|s| s.reverse());
        assert_eq!(Some(ci), seed_mean_accuracy_ci95(&shuffled, DEFAULT_RESAMPLES, DEFAULT_SEED));
        assert_eq!(seed_mean_accuracy_ci95::<String, Vec<_>>(&[], 500, 3), None);
    }
}
