//! How the learning rate moves over a run. Constant is the seed's; cosine decays it from the
//! set rate to zero over the epochs, so the last epoch (the weights a run keeps without early
//! stopping) takes small steps instead of landing wherever the last full-size step left it.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The same learning rate every epoch (the seed's).
    #[default]
    #[value(name = "constant")]
    Constant,
    /// Epoch e of E (from 1) trains at lr · ½ (1 + cos(π (e − 1) / E)): the full rate first,
    /// then down along a half cosine.
    #[value(name = "cosine")]
    Cosine,
}

impl LrSchedule {
    /// The multiplier of every group's learning rate during `epoch` (1-based) of `epochs`.
    pub fn factor(self, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let t = epoch.saturating_sub(1) as f64 / epochs.max(1) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_starts_at_the_full_rate_and_decays_to_near_zero() {
        let f: Vec<f64> = (1..=6).map(|e| LrSchedule::Cosine.factor(e, 6)).collect();
        assert_eq!(f[0], 1.0);
        assert!((f[3] - 0.5).abs() < 1e-12, "half way: {f:?}");
        assert!(f.windows(2).all(|w| w[1] < w[0]), "decreasing: {f:?}");
        assert!((f[5] - 0.5 * (1.0 + (5.0 * std::f64::consts::PI / 6.0).cos())).abs() < 1e-12);
        assert!(f[5] > 0.0 && f[5] < 0.07);
        assert_eq!(LrSchedule::Constant.factor(5, 6), 1.0);
    }
}
