//! An exponential moving average of a network's variables over the optimizer steps
//! (`--ema-decay`): weights averaged along the late trajectory sit in wider optima, which
//! generalize better to a shifted cohort (SWA, Izmailov et al. 2018; SWAD, Cha et al. 2021).
//! BatchNorm running statistics are averaged with the weights, so the averaged network is
//! consistent without another pass over the data.

use tch::nn::VarStore;
use tch::Tensor;

/// The running average of every floating-point variable of a var store (integer buffers, if
/// any, are left alone).
pub struct WeightAverage {
    decay: f64,
    steps: u64,
    /// (the variable as the network uses it, its average), ordered by name.
    pairs: Vec<(Tensor, Tensor)>,
}

impl WeightAverage {
    /// Starts the average at `vs`'s current values. `decay` in (0, 1).
    pub fn new(vs: &VarStore, decay: f64) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let pairs = vars
            .into_iter()
            .filter(|(_, t)| t.is_floating_point())
            .map(|(_, live)| {
                let average = tch::no_grad(|| live.detach().copy());
                (live, average)
            })
            .collect();
        WeightAverage { decay, steps: 0, pairs }
    }

    /// The decay of step `t` (1-based): the usual warm-up min(decay, (1 + t) / (10 + t)), so
    /// the first steps, taken from a random head, do not linger in the average.
    pub fn decay_at(&self, t: u64) -> f64 {
        self.decay.min((1.0 + t as f64) / (10.0 + t as f64))
    }

    /// Folds the variables' current values into the average; call after every optimizer step.
    pub fn update(&mut self) {
        self.steps += 1;
        let d = self.decay_at(self.steps);
        tch::no_grad(|| {
            for (live, average) in &mut self.pairs {
                // average ← d · average + (1 − d) · live
                let _ = average.g_mul_scalar_(d);
                let _ = average.g_add_(&(live.to_kind(average.kind()) * (1.0 - d)));
            }
        });
    }

    /// Exchanges the variables' values with the average, in place (the network sees the
    /// average after one call, its own weights again after the next).
    pub fn swap(&mut self) {
        tch::no_grad(|| {
            for (live, average) in &mut self.pairs {
                let held = live.detach().copy();
                live.copy_(average);
                average.copy_(&held);
            }
        });
    }

    /// Optimizer steps folded in so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    #[test]
    fn the_average_follows_the_recurrence_and_swapping_twice_restores() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], nn::Init::Const(0.0));
        let stat = vs.root().zeros_no_train("running_mean", &[1]);
        let mut avg = WeightAverage::new(&vs, 0.5);
        let mut expected = 0.0;
        for (step, value) in [4.0, 8.0, 2.0].into_iter().enumerate() {
            tch::no_grad(|| {
                let _ = w.shallow_clone().fill_(value);
                let _ = stat.shallow_clone().fill_(-value);
            });
            avg.update();
            let d = avg.decay_at(step as u64 + 1);
            expected = d * expected + (1.0 - d) * value;
        }
        assert_eq!(avg.steps(), 3);
        // Steps 1–3 decay at 2/11, 3/12, 4/13 (below 0.5): the warm-up is in force.
        assert!((avg.decay_at(1) - 2.0 / 11.0).abs() < 1e-12);
        avg.swap();
        assert!((w.double_value(&[0]) - expected).abs() < 1e-5, "{} vs {expected}", w.double_value(&[0]));
        assert!((stat.double_value(&[0]) + expected).abs() < 1e-5, "BatchNorm statistics are averaged too");
        avg.swap();
        assert_eq!((w.double_value(&[1]), stat.double_value(&[0])), (2.0, -2.0));
    }

    #[test]
    fn the_decay_reaches_its_ceiling_after_the_warm_up() {
        let vs = VarStore::new(Device::Cpu);
        let avg = WeightAverage::new(&vs, 0.998);
        assert!(avg.decay_at(10) < 0.998);
        assert_eq!(avg.decay_at(10_000), 0.998);
    }
}
