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

/// The multipliers of the head's and the base's learning rates during `epoch` (1-based) of a
/// run that first trains the head alone for `head_epochs` epochs, then everything for
/// `epochs` along `schedule`. Training the head on the pretrained features before they may
/// move (LP-FT, Kumar et al. 2022) keeps a fresh head's large, random early gradients from
/// rewriting them (experiments/resolution_selection.md, fifth addendum).
pub fn phase_factors(schedule: LrSchedule, head_epochs: usize, epoch: usize, epochs: usize) -> (f64, f64) {
    if epoch <= head_epochs {
        (1.0, 0.0)
    } else {
        let f = schedule.factor(epoch - head_epochs, epochs);
        (f, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_learns_alone_first_then_the_schedule_starts_over() {
        let f: Vec<(f64, f64)> = (1..=8).map(|e| phase_factors(LrSchedule::Cosine, 2, e, 6)).collect();
        assert_eq!(f[0], (1.0, 0.0));
        assert_eq!(f[1], (1.0, 0.0));
        // Epoch 3 is the fine-tuning's first: the full rate for both.
        assert_eq!(f[2], (1.0, 1.0));
        for (e, &(head, base)) in f.iter().enumerate().skip(2) {
            assert_eq!(head, base);
            assert_eq!(head, LrSchedule::Cosine.factor(e + 1 - 2, 6));
        }
        // Without head epochs it is the schedule itself.
        assert_eq!(
            phase_factors(LrSchedule::Cosine, 0, 4, 6),
            (LrSchedule::Cosine.factor(4, 6), LrSchedule::Cosine.factor(4, 6))
        );
    }

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
