//! Mixup (Zhang et al. 2018): each training batch blended with a shuffled copy of itself,
//! x' = λ x + (1 − λ) x[partner], and the loss blended alike, λ L(y) + (1 − λ) L(y[partner]).
//! One λ per batch, drawn from Beta(α, α) by torch's generator, so a run's seed fixes it.
//! Why: trained on blends, a network reads unfamiliar images less confidently, and the
//! official split's new cohort is unfamiliar images.

use tch::{Device, Kind, Tensor};

use super::loss::TrainLoss;

/// A batch blended with its partners.
pub struct Blend {
    /// The blended images (or features).
    pub images: Tensor,
    /// Each image's partner: a permutation of the batch indices.
    pub partner: Tensor,
    /// The weight of each image's own content and label.
    pub lambda: f64,
}

impl Blend {
    /// The training loss of `logits` for the blend of `labels`.
    pub fn loss(&self, objective: &TrainLoss, logits: &Tensor, labels: &Tensor) -> Tensor {
        let partner_labels = labels.index_select(0, &self.partner);
        objective.loss(logits, labels) * self.lambda
            + objective.loss(logits, &partner_labels) * (1.0 - self.lambda)
    }
}

/// `x` blended with a shuffled copy of itself at a λ drawn from Beta(`alpha`, `alpha`);
/// None when `alpha` is 0 (mixup off).
pub fn blend(x: &Tensor, alpha: f64) -> Option<Blend> {
    if alpha <= 0.0 {
        return None;
    }
    // Beta(α, α) = G1 / (G1 + G2) with G1, G2 ~ Gamma(α, 1).
    let g =
        Vec::<f64>::try_from(Tensor::full([2], alpha, (Kind::Double, Device::Cpu)).internal_standard_gamma())
            .unwrap_or_default();
    let lambda = match g.as_slice() {
        [a, b] if a + b > 0.0 => a / (a + b),
        _ => 0.5,
    };
    let partner = Tensor::randperm(x.size()[0], (Kind::Int64, x.device()));
    let images = tch::no_grad(|| x * lambda + x.index_select(0, &partner) * (1.0 - lambda));
    Some(Blend { images, partner, lambda })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::loss::ClassWeight;

    #[test]
    fn off_at_alpha_zero() {
        assert!(blend(&Tensor::zeros([2, 1, 4, 4], (Kind::Float, Device::Cpu)), 0.0).is_none());
    }

    #[test]
    fn images_are_the_lambda_blend_of_a_permutation() {
        tch::manual_seed(7);
        let x = Tensor::rand([6, 1, 5, 5], (Kind::Float, Device::Cpu));
        let b = blend(&x, 0.2).unwrap();
        assert!((0.0..=1.0).contains(&b.lambda));
        let mut p = Vec::<i64>::try_from(&b.partner).unwrap();
        let expected = &x * b.lambda + x.index_select(0, &b.partner) * (1.0 - b.lambda);
        assert!((&b.images - expected).abs().max().double_value(&[]) < 1e-6);
        p.sort();
        assert_eq!(p, (0..6).collect::<Vec<i64>>());
        // The run's seed fixes the draw.
        tch::manual_seed(7);
        let _ = Tensor::rand([6, 1, 5, 5], (Kind::Float, Device::Cpu));
        assert_eq!(blend(&x, 0.2).unwrap().lambda, b.lambda);
    }

    #[test]
    fn small_alpha_draws_lambdas_near_0_or_1() {
        // Beta(0.2, 0.2) is U-shaped: most batches stay close to one of their two images.
        tch::manual_seed(1);
        let x = Tensor::zeros([2, 1], (Kind::Float, Device::Cpu));
        let lambdas: Vec<f64> = (0..400).map(|_| blend(&x, 0.2).unwrap().lambda).collect();
        let extreme = lambdas.iter().filter(|&&l| !(0.1..=0.9).contains(&l)).count();
        assert!(extreme > 200, "{extreme} of 400 outside [0.1, 0.9]");
        let mean = lambdas.iter().sum::<f64>() / 400.0;
        assert!((mean - 0.5).abs() < 0.08, "mean λ {mean}");
    }

    #[test]
    fn the_loss_is_the_blend_of_the_two_label_sets() {
        let y = Tensor::from_slice(&[0.0f32, 1.0, 1.0]);
        let objective = TrainLoss::new(ClassWeight::Balanced, 0.0, &y, 2);
        let logits = Tensor::from_slice(&[0.3f32, -0.7, 1.5]).view([3, 1]);
        let partner = Tensor::from_slice(&[2i64, 0, 1]);
        let b = Blend { images: Tensor::zeros([3], (Kind::Float, Device::Cpu)), partner, lambda: 0.25 };
        let own = objective.loss(&logits, &y).double_value(&[]);
        let other = objective.loss(&logits, &Tensor::from_slice(&[1.0f32, 0.0, 1.0])).double_value(&[]);
        let got = b.loss(&objective, &logits, &y).double_value(&[]);
        assert!((got - (0.25 * own + 0.75 * other)).abs() < 1e-6);
    }
}
