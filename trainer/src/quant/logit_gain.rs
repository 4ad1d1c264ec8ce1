//! Gain correction of the int8 logits. Quantization noise shrinks a network's outputs a
//! little (the shipped MobileNetV2: int8 logit ≈ 0.94 × float logit on training images).
//! Offset correction alone zeroes the *mean* error over the calibration images; they are
//! three quarters pneumonia, with large positive logits, so a shrunken model's error is
//! zeroed out there and left at about +0.3 logits at the decision boundary (logit 0), which
//! moves normal images toward pneumonia. `affine` first fits the gain and undoes it, then
//! zeroes the mean: the error is then zero at every logit on average, the boundary included.
//!
//! The gain is undone in the output's quantization: the last layer's weights, bias and
//! output scale are all multiplied by 1 / gain. The integer arithmetic is the same (the
//! weight scales and the output scale move together, so the requantization multipliers do
//! not change); only what an output byte means does.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// What the final, engine-measured correction of the outputs removes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OutputCorrection {
    /// The mean int8 − float error (the only correction before this option existed).
    Offset,
    /// The int8 outputs' gain against float, then the mean error (the default since
    /// experiments/int8_fidelity.md's second addendum shipped it on both protocols).
    #[default]
    Affine,
}

/// A gain outside this range is not a quantization effect but a broken model or a
/// degenerate calibration set; it is refused rather than applied.
const SANE_GAIN: (f64, f64) = (0.5, 2.0);

/// The least-squares slope of the int8 outputs on the float outputs, every output centred on
/// its own mean and pooled (one gain: the output has one scale). None when the float outputs
/// do not vary, or the slope is not a plausible quantization gain.
pub fn fitted_gain(int8: &[Vec<f32>], float: &[Vec<f32>]) -> Option<f32> {
    let outputs = float.first().map_or(0, Vec::len);
    let n = int8.len().min(float.len());
    if n < 2 || outputs == 0 {
        return None;
    }
    let (mut cov, mut var) = (0f64, 0f64);
    for j in 0..outputs {
        let mean = |v: &[Vec<f32>]| v[..n].iter().map(|r| f64::from(r[j])).sum::<f64>() / n as f64;
        let (mq, mf) = (mean(int8), mean(float));
        for (q, f) in int8[..n].iter().zip(&float[..n]) {
            let df = f64::from(f[j]) - mf;
            cov += (f64::from(q[j]) - mq) * df;
            var += df * df;
        }
    }
    let gain = cov / var;
    (var > 0.0 && gain.is_finite() && (SANE_GAIN.0..=SANE_GAIN.1).contains(&gain)).then_some(gain as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_gain_under_noise_and_offset() {
        // int8 = 0.94 × float + 0.3 + a deterministic ±0.2 wobble.
        let float: Vec<Vec<f32>> = (0..400).map(|i| vec![(i as f32 - 100.0) / 20.0]).collect();
        let int8: Vec<Vec<f32>> = float
            .iter()
            .enumerate()
            .map(|(i, f)| vec![0.94 * f[0] + 0.3 + if i % 2 == 0 { 0.2 } else { -0.2 }])
            .collect();
        let g = fitted_gain(&int8, &float).expect("a gain");
        assert!((g - 0.94).abs() < 0.005, "{g}");
    }

    #[test]
    fn pools_outputs_each_about_its_own_mean() {
        // Two outputs with different offsets and the same gain.
        let float: Vec<Vec<f32>> = (0..50).map(|i| vec![i as f32, 100.0 - i as f32]).collect();
        let int8: Vec<Vec<f32>> = float.iter().map(|f| vec![0.9 * f[0] + 5.0, 0.9 * f[1] - 7.0]).collect();
        assert!((fitted_gain(&int8, &float).unwrap() - 0.9).abs() < 1e-4);
    }

    #[test]
    fn refuses_what_is_not_a_quantization_gain() {
        let flat = vec![vec![1.0f32]; 10];
        assert_eq!(fitted_gain(&flat, &flat), None, "no variation");
        let float: Vec<Vec<f32>> = (0..10).map(|i| vec![i as f32]).collect();
        let flipped: Vec<Vec<f32>> = float.iter().map(|f| vec![-f[0]]).collect();
        assert_eq!(fitted_gain(&flipped, &float), None, "negative slope");
        assert_eq!(fitted_gain(&float[..1], &float[..1]), None, "one image");
        assert_eq!(fitted_gain(&[], &[]), None);
    }
}
