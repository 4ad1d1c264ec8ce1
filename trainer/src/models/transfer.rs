//! The transfer model: an ImageNet MobileNetV2 base and a head giving one logit (sigmoid gives
//! p(pneumonia)): global average pool → dropout → dense ([`Head::Gap`]), or the seed report's
//! conv head on the feature map ([`Head::Seed`], see [`seed_head`]).
//!
//! Var-store layout (the keys of a run's `model.safetensors`): the base under `base.` with
//! torchvision names (`base.features.0.0.weight`, `base.features.3.conv.1.1.running_var`, …)
//! in var-store group [`BASE_GROUP`], the head as `head.weight` `[1, C]` and `head.bias` `[1]`
//! in group 0, so fine-tuning gives the base its own learning rate. The input is the grey
//! batch `[N, 1, H, W]` in [0, 1] that every model of this crate takes; [`grey_to_input`]
//! maps it to the base's `[N, 3, H, W]` in [-1, 1].
//!
//! Frozen mode trains only the head, on features computed once per image set ([`features`]:
//! pooled for the GAP head, whole maps for the seed head): [`FeatureHead`] is the same head
//! seen as a classifier of those features.

pub mod features;
pub mod seed_head;

use std::path::Path;

use tch::nn;
use tch::Tensor;

use super::mobilenet_v2::{grey_to_input, Config, MobileNetV2};
use super::weights::WeightsError;
use seed_head::SeedHead;

/// Var-store group of the base's variables (the head is in group 0).
pub const BASE_GROUP: usize = 1;

/// Which head sits on the base (`--head`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// Global average pool → dropout → dense (Keras' usual transfer head).
    #[default]
    Gap,
    /// The seed's conv 32 → pool → conv 64 → pool → conv 128 → GAP → dropout 0.1 → dense.
    Seed,
}

#[derive(Debug)]
pub enum Head {
    /// `head`: pooled features `[N, C]` → one logit.
    Gap(nn::Linear),
    /// `head.conv1..3`, `head.dense`: feature map `[N, C, h, w]` → one logit.
    Seed(SeedHead),
}

impl Head {
    /// `outputs`: 1 (one sigmoid logit) or 3 (class logits; GAP head only).
    fn new(p: &nn::Path, kind: HeadKind, channels: i64, outputs: i64) -> Head {
        match kind {
            HeadKind::Gap => Head::Gap(nn::linear(p, channels, outputs, Default::default())),
            HeadKind::Seed => Head::Seed(SeedHead::new(p, channels)),
        }
    }

    pub fn kind(&self) -> HeadKind {
        match self {
            Head::Gap(_) => HeadKind::Gap,
            Head::Seed(_) => HeadKind::Seed,
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        match self {
            Head::Gap(l) => {
                std::iter::once(l.ws.shallow_clone()).chain(l.bs.iter().map(Tensor::shallow_clone)).collect()
            }
            Head::Seed(h) => h.parameters(),
        }
    }
}

#[derive(Debug)]
pub struct TransferModel {
    /// The pretrained MobileNetV2 without its ImageNet classifier (under `base.`).
    pub base: MobileNetV2,
    pub head: Head,
    /// Dropout on the pooled features of the GAP head, in training only (the seed head has
    /// its own 0.1).
    pub dropout: f64,
    /// Side of the square input the model was trained at.
    pub image_size: i64,
}

impl TransferModel {
    /// A base of `config` (its classifier dropped) with fresh weights, and a fresh head.
    pub fn new(
        root: &nn::Path,
        config: Config,
        head: HeadKind,
        dropout: f64,
        image_size: i64,
        outputs: i64,
    ) -> TransferModel {
        let base = MobileNetV2::new(&(&root.set_group(BASE_GROUP) / "base"), config.without_classifier());
        let head = Head::new(&(root / "head"), head, base.feature_channels(), outputs);
        TransferModel { base, head, dropout, image_size }
    }

    /// The base loaded from an ImageNet `weights` file (width and BatchNorm read from it, every
    /// tensor checked) and a fresh head.
    pub fn pretrained(
        root: &nn::Path,
        weights: &Path,
        (head, dropout, outputs): (HeadKind, f64, i64),
        image_size: i64,
    ) -> Result<TransferModel, WeightsError> {
        let config = Config::detect(weights)?.without_classifier();
        let base = MobileNetV2::load(&(&root.set_group(BASE_GROUP) / "base"), config, weights)?;
        let head = Head::new(&(root / "head"), head, base.feature_channels(), outputs);
        Ok(TransferModel { base, head, dropout, image_size })
    }

    /// Logits `[N, 1]` from the base's features: pooled `[N, C]` for the GAP head, the map
    /// `[N, C, h, w]` for the seed head.
    pub fn head_t(&self, features: &Tensor, train: bool) -> Tensor {
        match &self.head {
            Head::Gap(l) => features.dropout(self.dropout, train).apply(l),
            Head::Seed(h) => h.forward_t(features, train),
        }
    }

    /// Logits `[N, 1]` from grey images `[N, 1, H, W]` in [0, 1].
    pub fn forward_t(&self, grey: &Tensor, train: bool) -> Tensor {
        let x = grey_to_input(grey);
        let features = match self.head {
            Head::Gap(_) => self.base.pooled_features_t(&x, train),
            Head::Seed(_) => self.base.forward_features_t(&x, train),
        };
        self.head_t(&features, train)
    }

    /// `(all, trainable)` parameter counts (running statistics excluded): frozen base
    /// parameters do not require gradients.
    pub fn parameter_counts(&self) -> (i64, i64) {
        let (frozen, trainable) = self.base.frozen_and_trainable();
        let count = |ts: &[Tensor]| ts.iter().map(|t| t.numel() as i64).sum::<i64>();
        let head = self.head.parameters();
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
        let mut m = TransferModel::new(&vs.root(), Config::KERAS_0_35_BN, HeadKind::Gap, 0.2, 64, 1);
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
        let m = TransferModel::new(&vs.root(), Config::KERAS_0_35_BN, HeadKind::Gap, 0.5, 64, 1);
        let x = Tensor::rand([4, 1, 64, 64], (Kind::Float, Device::Cpu));
        let full = Classifier::forward_t(&m, &x, false);
        let features = m.base.pooled_features(&grey_to_input(&x));
        let head = FeatureHead(&m).forward_t(&features, false);
        assert!(full.allclose(&head, 1e-5, 1e-5, false));
    }

    #[test]
    fn the_seed_head_runs_on_the_feature_map_with_the_seeds_parameter_count() {
        let vs = VarStore::new(Device::Cpu);
        let mut m = TransferModel::new(&vs.root(), Config::KERAS_0_35_BN, HeadKind::Seed, 0.2, 180, 1);
        m.base.set_trainable_blocks(0);
        // The seed's head on 1,280 channels: 368,672 + 18,496 + 73,856 + 129 = 461,153.
        assert_eq!(m.parameter_counts().1, 461_153);
        assert!(vs.variables().contains_key("head.conv3.weight"));
        let x = Tensor::rand([2, 1, 96, 96], (Kind::Float, Device::Cpu));
        let map = tch::no_grad(|| m.base.forward_features_t(&grey_to_input(&x), false));
        assert_eq!(map.size(), vec![2, 1280, 3, 3]);
        assert_eq!(features::feature_map_side(96), 3);
        assert_eq!(features::feature_map_side(180), 6);
        let full = Classifier::forward_t(&m, &x, false);
        assert!(full.allclose(&FeatureHead(&m).forward_t(&map, false), 1e-5, 1e-5, false));
        assert_eq!(full.size(), vec![2, 1]);
    }
}
