//! What the training loop, `predict` and the run pipeline need from a network: logits
//! `[N, 1]` for a batch of whatever its samples are (grey images `[N, 1, H, W]` in [0, 1] for
//! the seed CNN and a transfer model, pooled features `[N, C]` for a frozen model's head).

use tch::Tensor;

use super::transfer::{FeatureHead, TransferModel};
use super::SeedCnn;

/// A binary classifier: `forward_t` gives one logit per sample; `train` turns on dropout
/// (and BatchNorm batch statistics where the model trains them).
pub trait Classifier {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor;
}

impl Classifier for SeedCnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        SeedCnn::forward_t(self, xs, train)
    }
}

impl Classifier for TransferModel {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        TransferModel::forward_t(self, xs, train)
    }
}

impl Classifier for FeatureHead<'_> {
    fn forward_t(&self, features: &Tensor, train: bool) -> Tensor {
        self.0.head_t(features, train)
    }
}
