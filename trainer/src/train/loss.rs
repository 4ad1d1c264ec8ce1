//! The loss and the hit count of a batch, for one output (binary: a single logit, sigmoid)
//! or several (one logit per class, softmax). Training and evaluation both use these, so a
//! 3-class run is measured with the loss it was trained on.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

/// Class weights of the training loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every image counts once.
    #[default]
    None,
    /// Each class weighs N / (classes × N_class) (the training set's counts), so every class
    /// carries the same total weight.
    Balanced,
}

/// What the training loss adds to the plain one. Validation and test losses stay plain, so
/// early stopping and the reports compare like with like.
#[derive(Clone, Debug, Default)]
pub struct TrainLoss {
    /// One weight per class index (binary: normal, pneumonia); empty: unweighted.
    pub class_weights: Vec<f64>,
    /// Label smoothing ε: targets become y (1 − ε) + ε / classes.
    pub smoothing: f64,
    /// Focal loss γ (Lin et al. 2017): each image's loss times |target − p|^γ (binary) or
    /// (1 − p_label)^γ (several classes), so images already read right weigh less; 0: off.
    pub focal_gamma: f64,
}

impl TrainLoss {
    /// The loss a run trains with: `weight` over the training `labels` (0/1, or class
    /// indices when `classes` > 2), and `smoothing`.
    pub fn new(weight: ClassWeight, smoothing: f64, labels: &Tensor, classes: usize) -> TrainLoss {
        let class_weights = match weight {
            ClassWeight::None => Vec::new(),
            ClassWeight::Balanced => {
                let idx = labels.to_kind(Kind::Int64).to_device(tch::Device::Cpu);
                let counts =
                    Vec::<i64>::try_from(idx.bincount::<Tensor>(None, classes as i64)).unwrap_or_default();
                let n: i64 = counts.iter().sum();
                counts.iter().map(|&c| n as f64 / (classes as f64 * c.max(1) as f64)).collect()
            }
        };
        TrainLoss { class_weights, smoothing, focal_gamma: 0.0 }
    }

    /// The same loss with the focal term at `gamma` (0: off).
    pub fn with_focal_gamma(self, gamma: f64) -> TrainLoss {
        TrainLoss { focal_gamma: gamma, ..self }
    }

    /// The mean training loss of `logits` `[N, C]` against `labels` `[N]`.
    pub fn loss(&self, logits: &Tensor, labels: &Tensor) -> Tensor {
        if self.class_weights.is_empty() && self.smoothing == 0.0 && self.focal_gamma == 0.0 {
            return loss(logits, labels);
        }
        let device = logits.device();
        // Per image: the focal factor (1 without the focal term) multiplies the loss, then the
        // mean is taken as the plain weighted loss takes it.
        if logits.size()[1] == 1 {
            let z = logits.squeeze_dim(1);
            let target = labels * (1.0 - self.smoothing) + self.smoothing / 2.0;
            let weight = match self.class_weights.as_slice() {
                [w0, w1] => Some(labels * (w1 - w0) + *w0),
                _ => None,
            };
            let bce = |reduction| {
                z.binary_cross_entropy_with_logits::<&Tensor>(&target, weight.as_ref(), None, reduction)
            };
            if self.focal_gamma == 0.0 {
                return bce(Reduction::Mean);
            }
            let focal = (&target - z.sigmoid()).abs().pow_tensor_scalar(self.focal_gamma);
            (bce(Reduction::None) * focal).mean(Kind::Float)
        } else {
            let classes = labels.to_kind(Kind::Int64);
            let weight = (!self.class_weights.is_empty())
                .then(|| Tensor::from_slice(&self.class_weights).to_kind(Kind::Float).to_device(device));
            let cross_entropy = |reduction| {
                logits.cross_entropy_loss::<&Tensor>(
                    &classes,
                    weight.as_ref(),
                    reduction,
                    -100,
                    self.smoothing,
                )
            };
            if self.focal_gamma == 0.0 {
                return cross_entropy(Reduction::Mean);
            }
            // A weighted mean divides by the images' weights, as cross_entropy's does.
            let norm = match &weight {
                Some(w) => w.index_select(0, &classes).sum(Kind::Float),
                None => Tensor::from(classes.size()[0] as f32).to_device(device),
            };
            let p_label: Tensor =
                logits.softmax(1, Kind::Float).gather(1, &classes.unsqueeze(1), false).squeeze_dim(1);
            let focal = (-p_label + 1.0).pow_tensor_scalar(self.focal_gamma);
            (cross_entropy(Reduction::None) * focal).sum(Kind::Float) / norm
        }
    }
}

/// Mean loss of `logits` `[N, C]` against `labels` `[N]` (f32): binary cross-entropy on the
/// single logit when C = 1 (labels 0 / 1), cross-entropy over the classes otherwise (labels
/// are class indices).
pub fn loss(logits: &Tensor, labels: &Tensor) -> Tensor {
    if logits.size()[1] == 1 {
        logits.squeeze_dim(1).binary_cross_entropy_with_logits::<Tensor>(labels, None, None, Reduction::Mean)
    } else {
        logits.cross_entropy_loss::<Tensor>(&labels.to_kind(Kind::Int64), None, Reduction::Mean, -100, 0.0)
    }
}

/// Number of correct predictions (an i64 scalar on the device): logit > 0 against label > 0.5
/// for one output, argmax against the class index for several.
pub fn hits(logits: &Tensor, labels: &Tensor) -> Tensor {
    if logits.size()[1] == 1 {
        logits.squeeze_dim(1).gt(0.0).eq_tensor(&labels.gt(0.5)).sum(Kind::Int64)
    } else {
        logits.argmax(1, false).eq_tensor(&labels.to_kind(Kind::Int64)).sum(Kind::Int64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_multiclass_losses_and_hits() {
        let logits = Tensor::from_slice(&[2.0f32, -1.0, 0.5]).view([3, 1]);
        let y = Tensor::from_slice(&[1.0f32, 0.0, 0.0]);
        assert_eq!(hits(&logits, &y).int64_value(&[]), 2);
        let expected =
            ((1.0 + (-2.0f64).exp()).ln() + (1.0 + (-1.0f64).exp()).ln() + (1.0 + 0.5f64.exp()).ln()) / 3.0;
        assert!((loss(&logits, &y).double_value(&[]) - expected).abs() < 1e-6);

        let logits = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 5.0, 0.0, 0.0]).view([2, 3]);
        let y = Tensor::from_slice(&[2.0f32, 0.0]);
        assert_eq!(hits(&logits, &y).int64_value(&[]), 1, "a tie argmaxes to class 0");
        let uniform = 3f64.ln();
        let confident = (2.0 + 5f64.exp()).ln() - 5.0;
        assert!((loss(&logits, &y).double_value(&[]) - (uniform + confident) / 2.0).abs() < 1e-6);
    }

    #[test]
    fn balanced_weights_and_smoothing() {
        // 1 normal, 3 pneumonia: normal weighs 4 / (2 × 1) = 2, pneumonia 4 / (2 × 3) = 2/3.
        let y = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 1.0]);
        let l = TrainLoss::new(ClassWeight::Balanced, 0.0, &y, 2);
        assert_eq!(l.class_weights.len(), 2);
        assert!((l.class_weights[0] - 2.0).abs() < 1e-12 && (l.class_weights[1] - 2.0 / 3.0).abs() < 1e-12);
        let logits = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.0]).view([4, 1]);
        let bce = |z: f64, t: f64| (1.0 + (-z).exp()).ln() + (1.0 - t) * z;
        let expected =
            (2.0 * bce(0.5, 0.0) + 2.0 / 3.0 * (bce(-1.0, 1.0) + bce(2.0, 1.0) + bce(0.0, 1.0))) / 4.0;
        assert!((l.loss(&logits, &y).double_value(&[]) - expected).abs() < 1e-5);
        // Smoothing 0.2 moves the targets to 0.1 and 0.9.
        let s = TrainLoss::new(ClassWeight::None, 0.2, &y, 2);
        let expected = (bce(0.5, 0.1) + bce(-1.0, 0.9) + bce(2.0, 0.9) + bce(0.0, 0.9)) / 4.0;
        assert!((s.loss(&logits, &y).double_value(&[]) - expected).abs() < 1e-5);
        // Unweighted and unsmoothed is the plain loss.
        let plain = TrainLoss::new(ClassWeight::None, 0.0, &y, 2);
        assert_eq!(plain.loss(&logits, &y).double_value(&[]), loss(&logits, &y).double_value(&[]));
    }

    #[test]
    fn focal_term_scales_each_image_by_its_error() {
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let bce = |z: f64, t: f64| (1.0 + (-z).exp()).ln() + (1.0 - t) * z;
        let y = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 1.0]);
        let zs = [0.5, -1.0, 2.0, 0.0];
        let logits = Tensor::from_slice(&zs.map(|z| z as f32)).view([4, 1]);
        let (w, t) = ([2.0, 2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0], [0.0, 1.0, 1.0, 1.0]);
        let focal = TrainLoss::new(ClassWeight::Balanced, 0.0, &y, 2).with_focal_gamma(2.0);
        let expected: f64 =
            (0..4).map(|i| w[i] * (t[i] - sigmoid(zs[i])).powi(2) * bce(zs[i], t[i])).sum::<f64>() / 4.0;
        assert!((focal.loss(&logits, &y).double_value(&[]) - expected).abs() < 1e-5);
        // γ = 0 is the weighted loss itself.
        let weighted = TrainLoss::new(ClassWeight::Balanced, 0.0, &y, 2);
        let zero = TrainLoss::new(ClassWeight::Balanced, 0.0, &y, 2).with_focal_gamma(0.0);
        assert_eq!(zero.loss(&logits, &y).double_value(&[]), weighted.loss(&logits, &y).double_value(&[]));
        // The confidently right image weighs least: its gradient shrinks more than the rest.
        let confident = Tensor::from_slice(&[-4.0f32]).view([1, 1]).set_requires_grad(true);
        let label = Tensor::from_slice(&[0.0f32]);
        let plain = TrainLoss::new(ClassWeight::None, 0.0, &label, 2);
        plain.loss(&confident, &label).backward();
        let g_plain = confident.grad().double_value(&[0, 0]);
        let confident2 = Tensor::from_slice(&[-4.0f32]).view([1, 1]).set_requires_grad(true);
        plain.clone().with_focal_gamma(2.0).loss(&confident2, &label).backward();
        assert!(confident2.grad().double_value(&[0, 0]).abs() < 0.05 * g_plain.abs());

        // Several classes: (1 − p_label)^γ times the weighted cross-entropy, over the weights.
        let logits = Tensor::from_slice(&[0.0f32, 1.0, 0.0, 2.0, 0.0, 0.0]).view([2, 3]);
        let labels = Tensor::from_slice(&[1.0f32, 0.0]);
        let softmax = |row: [f64; 3], k: usize| row[k].exp() / row.iter().map(|v| v.exp()).sum::<f64>();
        let rows = [[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]];
        let mut multi = TrainLoss::new(ClassWeight::None, 0.0, &labels, 3).with_focal_gamma(2.0);
        multi.class_weights = vec![3.0, 1.0, 1.0];
        let term =
            |i: usize, k: usize, w: f64| w * (1.0 - softmax(rows[i], k)).powi(2) * -softmax(rows[i], k).ln();
        let expected = (term(0, 1, 1.0) + term(1, 0, 3.0)) / (1.0 + 3.0);
        assert!((multi.loss(&logits, &labels).double_value(&[]) - expected).abs() < 1e-5);
    }
}
