//! The loss and the hit count of a batch, for one output (binary: a single logit, sigmoid)
//! or several (one logit per class, softmax). Training and evaluation both use these, so a
//! 3-class run is measured with the loss it was trained on.

use tch::{Kind, Reduction, Tensor};

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
}
