//! Several trained networks as one classifier: the mean of their probabilities. Averaging
//! models trained apart is the best-known way to keep accuracy and calibration when the cohort
//! shifts; each member still costs its full compute (and, in int8, its flash).

use tch::{Kind, Tensor};

use super::Classifier;

/// Probabilities are clamped this far from 0 and 1 before they become logits again, so a
/// member that is certain does not give an infinite logit.
const EPS: f64 = 1e-7;

/// The members' mean probability, returned as logits: for one output `ln p̄ − ln(1 − p̄)` (its
/// sigmoid is p̄), for several `ln p̄` per class (its softmax is p̄). Every member must have
/// the same number of outputs.
pub struct Ensemble<C: Classifier> {
    pub members: Vec<C>,
}

impl<C: Classifier> Classifier for Ensemble<C> {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        mean_probability(self.members.iter().map(|m| m.forward_t(xs, train)))
    }
}

/// Logits whose sigmoid (one output) or softmax (several) is the mean of the probabilities
/// that the given logits stand for; the test-time views average the same way.
pub fn mean_probability(logits: impl Iterator<Item = Tensor>) -> Tensor {
    let probs: Vec<Tensor> =
        logits.map(|z| if z.size()[1] == 1 { z.sigmoid() } else { z.softmax(1, Kind::Float) }).collect();
    let mean = Tensor::stack(&probs, 0).mean_dim(0, false, Kind::Float);
    if mean.size()[1] == 1 {
        let p = mean.clamp(EPS, 1.0 - EPS);
        p.log() - p.neg().log1p()
    } else {
        mean.clamp_min(EPS).log()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "network" that answers the same logits for every sample.
    struct Fixed(Vec<f32>);

    impl Classifier for Fixed {
        fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
            let n = xs.size()[0];
            Tensor::from_slice(&self.0).reshape([1, -1]).repeat([n, 1])
        }
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::try_from(t.flatten(0, -1)).unwrap()
    }

    #[test]
    fn binary_members_average_their_probabilities() {
        // sigmoid(0) = 0.5 and sigmoid(ln 9) = 0.9: the mean is 0.7.
        let e = Ensemble { members: vec![Fixed(vec![0.0]), Fixed(vec![9f32.ln()])] };
        let z = e.forward_t(&Tensor::zeros([3, 1, 4, 4], (Kind::Float, tch::Device::Cpu)), false);
        assert_eq!(z.size(), [3, 1]);
        for p in values(&z.sigmoid()) {
            assert!((p - 0.7).abs() < 1e-6, "{p}");
        }
    }

    #[test]
    fn class_members_average_their_softmax() {
        let a = Fixed(vec![0.0, 0.0, 0.0]); // 1/3 each
        let b = Fixed(vec![0.0, 100.0, 0.0]); // all on class 1
        let e = Ensemble { members: vec![a, b] };
        let z = e.forward_t(&Tensor::zeros([2, 1, 4, 4], (Kind::Float, tch::Device::Cpu)), false);
        let p = values(&z.softmax(1, Kind::Float));
        let want = [1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0];
        for (got, want) in p.iter().zip(want.iter().cycle()) {
            assert!((got - want).abs() < 1e-5, "{p:?}");
        }
    }

    #[test]
    fn a_certain_member_gives_a_finite_logit() {
        let e = Ensemble { members: vec![Fixed(vec![200.0]), Fixed(vec![200.0])] };
        let z = e.forward_t(&Tensor::zeros([1, 1, 2, 2], (Kind::Float, tch::Device::Cpu)), false);
        assert!(values(&z)[0].is_finite());
    }
}
