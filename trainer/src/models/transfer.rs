//! The transfer model: an ImageNet MobileNetV2 base → global average pool → dropout → dense
//! (one logit; sigmoid gives p(pneumonia)).
//!
//! Var-store layout (the keys of a run's `model.safetensors`): the base under `base.` with
//! torchvision names (`base.features.0.0.weight`, `base.features.3.conv.1.1.running_var`, …)
//! in var-store group [`BASE_GROUP`], the head as `head.weight` `[1, C]` and `head.bias` `[1]`
//! in group 0, so fine-tuning gives the base its own learning rate. The input is the grey
//! batch `[N, 1, H, W]` in [0, 1] that every model of this crate takes; [`grey_to_input`]
//! maps it to the base's `[N, 3, H, W]` in [-1, 1].
//!
//! Frozen mode trains only the head, on pooled features computed once per image set
//! ([`features`]): [`FeatureHead`] is the same head seen as a classifier of those features.

pub mod features;

use std::path::Path;

use tch::nn;
use tch::Tensor;

use super::mobilenet_v2::{grey_to_input, Config, MobileNetV2};
use super::weights::WeightsError;

/// Var-store group of the base's variables (the head is in group 0).
pub const BASE_GROUP: usize = 1;

#[derive(Debug)]
pub struct TransferModel {
    /// The pretrained MobileNetV2 without its ImageNet classifier (under `base.`).
    pub base: MobileNetV2,
    /// `head`: pooled features `[N, C]` → one logit.
    pub head: nn::Linear,
    /// Dropout on the pooled features, in training only.
    pub dropout: f64,
    /// Side of the square input the model was trained at.
    pub image_size: i64,
}

impl TransferModel {
    /// A base of `config` (its classifier dropped) with fresh weights, and a fresh head.
    pub fn new(root: &nn::Path, config: Config, dropout: f64, image_size: i64) -> TransferModel {
        let base = MobileNetV2::new(&(&root.set_group(BASE_GROUP) / "base"), config.without_classifier());
        let head = nn::linear(root / "head", base.feature_channels(), 1, Default::default());
        TransferModel { base, head, dropout, image_size }
    }

    /// The base loaded from an ImageNet `weights` file (width and BatchNorm read from it, every
    /// tensor checked) and a fresh head.
    pub fn pretrained(
        root: &nn::Path,
        weights: &Path,
        dropout: f64,
        image_size: i64,
    ) -> Result<TransferModel, WeightsError> {
        let config = Config::detect(weights)?.without_classifier();
        let base = MobileNetV2::load(&(&root.set_group(BASE_GROUP) / "base"), config, weights)?;
        let head = nn::linear(root / "head", base.feature_channels(), 1, Default::default());
        Ok(TransferModel { base, head, dropout, image_size })
    }

    /// Logits `[N, 1]` from pooled features `[N, C]`.
    pub fn head_t(&self, features: &Tensor, train: bool) -> Tensor {
        features.dropout(self.dropout, train).apply(&self.head)
    }

    /// Logits `[N, 1]` from grey images `[N, 1, H, W]` in [0, 1].
    pub fn forward_t(&self, grey: &Tensor, train: bool) -> Tensor {
        self.head_t(&self.base.pooled_features_t(&grey_to_input(grey), train), train)
    }

    /// `(all, trainable)` parameter counts (running statistics excluded): frozen base
    /// parameters do not require gradients.
    pub fn parameter_counts(&self) -> (i64, i64) {
        let (frozen, trainable) = self.base.frozen_and_trainable();
        let head =
            [self.head.ws.shallow_clone()].into_iter().chain(self.head.bs.iter().map(Tensor::shallow_clone));
        let count = |ts: &[Tensor]| ts.iter().map(|t| t.numel() as i64).sum::<i64>();
        let head: Vec<Tensor> = head.collect();
        let (f, t, h) = (count(&frozen), count(&trainable), count(&head));
        (f + t + h, t + h)
    }
}

/// The head of a [`TransferModel`] as a classifier of pooled features (frozen mode).
pub struct FeatureHead<'a>(pub &'a TransferModel);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Classifier;
    use tch::nn::VarStore;
    use tch::{Device, Kind};

    #[test]
    fn names_groups_and_shapes() {
        let vs = VarStore::new(Device::Cpu);
        let mut m = TransferModel::new(&vs.root(), Config::KERAS_0_35_BN, 0.2, 64);
        let vars = vs.variables();
        assert!(vars.contains_key("base.features.0.0.weight"));
        assert!(vars.contains_key("base.features.18.1.running_var"));
        assert_eq!(vars["head.weight"].size(), vec![1, 1280]);
        assert_eq!(vars["head.bias"].size(), vec![1]);
        let groups = vs.variables_.lock().unwrap();
        for v in &groups.trainable_variables {
            let is_head = v.tensor.size() == vec![1, 1280] || v.tensor.size() == vec![1];
            assert_eq!(v.group, if is_head { 0 } else { BASE_GROUP });
        }
        drop(groups);
        m.base.set_trainable_blocks(0);
        let running: i64 = m
            .base
            .named_tensors()
            .iter()
            .filter(|(n, _)| n.contains("running_"))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        assert_eq!(m.parameter_counts(), (410_208 - running + 1281, 1281));
        m.base.set_trainable_blocks(2);
        assert!(m.parameter_counts().1 > 1281);
        let x = Tensor::rand([3, 1, 64, 64], (Kind::Float, Device::Cpu));
        assert_eq!(m.forward_t(&x, true).size(), vec![3, 1]);
    }

    #[test]
    fn full_forward_equals_head_of_pooled_features() {
        let vs = VarStore::new(Device::Cpu);
        let m = TransferModel::new(&vs.root(), Config::KERAS_0_35_BN, 0.5, 64);
        let x = Tensor::rand([4, 1, 64, 64], (Kind::Float, Device::Cpu));
        let full = Classifier::forward_t(&m, &x, false);
        let features = m.base.pooled_features(&grey_to_input(&x));
        let head = FeatureHead(&m).forward_t(&features, false);
        assert!(full.allclose(&head, 1e-5, 1e-5, false));
    }
}
