//! MobileNetV2 (Sandler et al. 2018) as a base for transfer learning from ImageNet.
//!
//! The weights come from `../shared/weights` (see WEIGHTS.md there): the width-1.0 base with
//! BatchNorm folded into the convs (and a 1001-class ImageNet classifier), and the Keras
//! width-0.35 base with real BatchNorm (eps 1e-3). Var names equal the torchvision state-dict
//! keys (`features.0.0.weight`, `features.3.conv.1.1.running_mean`, `classifier.1.weight`),
//! which are the keys of both files.
//!
//! The forward pass is TensorFlow's: input in [-1, 1] ([`grey_to_input`] maps a [0, 1] X-ray
//! and repeats it to three channels), 'SAME' padding (a stride-2 3×3 conv pads 0 before and 1
//! after on an even side), ReLU6 after every conv except the linear project convs. With a
//! 224×224 input `features.18` gives `[N, 1280, 7, 7]` and the global average pool 1280 values.
//!
//! Transfer learning: build the base under `vs.root().set_group(BASE)` and the new head under
//! another group so the optimizer can give them different learning rates (`set_lr_group`);
//! [`MobileNetV2::set_trainable_blocks`] freezes all but the top blocks. Frozen blocks get no
//! gradients, run without autograd and keep their BatchNorm in eval mode.

mod block;

pub use block::{same_padding, ConvSpec, ConvUnit, InvertedResidual, NamedBatchNorm, Norm};

use std::path::Path;

use tch::nn;
use tch::{Kind, Tensor};

use super::weights::{load_safetensors, read_shapes, WeightsError};

/// Inverted residual settings at width 1: expansion t, output channels c, repeats n, stride
/// of the first repeat s (Sandler et al., table 2).
pub const INVERTED_RESIDUAL_SETTINGS: [(i64, i64, usize, i64); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];
/// The width multipliers Google published ImageNet MobileNetV2 weights for.
pub const STANDARD_WIDTHS: [f64; 6] = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4];
/// `features.0` (stem) … `features.18` (last 1×1 conv).
pub const FEATURE_COUNT: usize = 19;
/// Channels of the stem conv and of the last conv at width 1.
const STEM_CHANNELS: i64 = 32;
const LAST_CHANNELS: i64 = 1280;
/// Dropout before the classifier (torchvision's `classifier.0`).
const CLASSIFIER_DROPOUT: f64 = 0.2;

/// Rounds `v` to a multiple of `divisor`, never going more than 10% below `v`
/// (the `_make_divisible` of the TF and torchvision reference implementations).
pub fn make_divisible(v: f64, divisor: i64) -> i64 {
    let rounded = ((v + divisor as f64 / 2.0) as i64 / divisor * divisor).max(divisor);
    if (rounded as f64) < 0.9 * v {
        rounded + divisor
    } else {
        rounded
    }
}

/// Channel counts of a MobileNetV2 at width multiplier `width`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPlan {
    /// Output channels of `features.0`.
    pub stem: i64,
    /// `(c_in, c_out, expansion, stride)` of `features.1 ..= features.17`.
    pub blocks: Vec<(i64, i64, i64, i64)>,
    /// Output channels of `features.18`: 1280 for width ≤ 1 (Keras keeps it), scaled above.
    pub last: i64,
}

impl ChannelPlan {
    /// The Keras rule (the weights are TF exports): block outputs `make_divisible(int(c·α), 8)`.
    pub fn new(width: f64) -> ChannelPlan {
        let stem = make_divisible(STEM_CHANNELS as f64 * width, 8);
        let mut blocks = Vec::new();
        let mut c_in = stem;
        for &(t, c, n, s) in &INVERTED_RESIDUAL_SETTINGS {
            let c_out = make_divisible((c as f64 * width).trunc(), 8);
            for i in 0..n {
                blocks.push((c_in, c_out, t, if i == 0 { s } else { 1 }));
                c_in = c_out;
            }
        }
        let last = if width > 1.0 { make_divisible(LAST_CHANNELS as f64 * width, 8) } else { LAST_CHANNELS };
        ChannelPlan { stem, blocks, last }
    }
}

/// What to build: width, conv flavour and an optional classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Width multiplier α.
    pub width: f64,
    pub norm: Norm,
    /// Outputs of `classifier.1`; `None` for a base without head.
    pub classes: Option<i64>,
}

impl Config {
    /// `mobilenet_v2_1.0_224_imagenet_folded.safetensors`: width 1, folded BN, 1001 classes.
    pub const IMAGENET_1_0_FOLDED: Config = Config { width: 1.0, norm: Norm::Folded, classes: Some(1001) };
    /// `mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors`: width 0.35, Keras BN, no head.
    /// Momentum 0.1 (torch convention) lets the statistics adapt to X-rays when fine-tuned.
    pub const KERAS_0_35_BN: Config = Config { width: 0.35, norm: Norm::KERAS, classes: None };

    /// The base (no classifier) of the weights file shipped for `width` in ../shared/weights:
    /// 1.0 is folded, 0.35 has Keras BatchNorm.
    pub fn shipped_base(width: f64) -> Config {
        let norm = if width == 0.35 { Norm::KERAS } else { Norm::Folded };
        Config { width, norm, classes: None }
    }

    /// The configuration that fits a weights file, read from its tensor shapes: width from
    /// the stem and the last block (among [`STANDARD_WIDTHS`]), BatchNorm if the file has
    /// running statistics (with the Keras eps 1e-3, which the file does not record), and the
    /// classifier's size if it has one. [`MobileNetV2::load`] then checks every tensor.
    pub fn detect(path: &Path) -> Result<Config, WeightsError> {
        let shapes = read_shapes(path)?;
        let dim0 = |name: &str| shapes.get(name).and_then(|s| s.first().copied());
        let (stem, top) = (dim0("features.0.0.weight"), dim0("features.17.conv.2.weight"));
        let width = STANDARD_WIDTHS
            .into_iter()
            .find(|&w| {
                let plan = ChannelPlan::new(w);
                Some(plan.stem) == stem && plan.blocks.last().map(|b| b.1) == top
            })
            .ok_or_else(|| WeightsError::Unrecognised {
                path: path.to_path_buf(),
                reason: format!(
                    "not a MobileNetV2 of width {STANDARD_WIDTHS:?}: features.0.0.weight has \
                     {stem:?} outputs, features.17.conv.2.weight {top:?}"
                ),
            })?;
        Ok(Config { width, norm: Norm::detect(&shapes, ""), classes: dim0("classifier.1.weight") })
    }

    /// The same base without the ImageNet classifier.
    pub fn without_classifier(self) -> Config {
        Config { classes: None, ..self }
    }
}

/// A MobileNetV2, each conv and BN reachable by its torchvision name.
#[derive(Debug)]
pub struct MobileNetV2 {
    pub config: Config,
    /// `features.0`: 3×3 stride-2 conv from RGB, ReLU6.
    pub stem: ConvUnit,
    /// `features.1 ..= features.17`.
    pub blocks: Vec<InvertedResidual>,
    /// `features.18`: 1×1 conv to [`MobileNetV2::feature_channels`], ReLU6.
    pub last: ConvUnit,
    /// `classifier.1`, when `config.classes` is set.
    pub classifier: Option<nn::Linear>,
    /// Features with a lower index are frozen.
    first_trainable: usize,
}

impl MobileNetV2 {
    /// Builds the network under `p` with freshly initialised weights, all trainable.
    pub fn new(p: &nn::Path, config: Config) -> MobileNetV2 {
        let plan = ChannelPlan::new(config.width);
        let stem_spec =
            ConvSpec { c_in: 3, c_out: plan.stem, kernel: 3, stride: 2, depthwise: false, relu6: true };
        let stem = ConvUnit::new(p, "features.0.0", "features.0.1", stem_spec, config.norm);
        let blocks = plan
            .blocks
            .iter()
            .enumerate()
            .map(|(i, &(c_in, c_out, t, s))| {
                InvertedResidual::new(p, i + 1, (c_in, c_out), t, s, config.norm)
            })
            .collect::<Vec<_>>();
        let c_in = plan.blocks.last().map_or(plan.stem, |b| b.1);
        let last_spec =
            ConvSpec { c_in, c_out: plan.last, kernel: 1, stride: 1, depthwise: false, relu6: true };
        let last_name = format!("features.{}", FEATURE_COUNT - 1);
        let last =
            ConvUnit::new(p, &format!("{last_name}.0"), &format!("{last_name}.1"), last_spec, config.norm);
        let classifier =
            config.classes.map(|n| nn::linear(p / "classifier" / 1, plan.last, n, Default::default()));
        MobileNetV2 { config, stem, blocks, last, classifier, first_trainable: 0 }
    }

    /// Builds the network under `p` and loads `weights`, checking every name and shape.
    ///
    /// A `classifier.*` tensor in the file is skipped when `config.classes` is `None`, so the
    /// 1.0 file also serves as a bare base.
    pub fn load(p: &nn::Path, config: Config, weights: &Path) -> Result<MobileNetV2, WeightsError> {
        let net = MobileNetV2::new(p, config);
        let ignore: &[&str] = if config.classes.is_none() { &["classifier."] } else { &[] };
        load_safetensors(weights, &net.named_tensors(), ignore)?;
        Ok(net)
    }

    /// Channels of the feature map and of the pooled features (1280 for width ≤ 1).
    pub fn feature_channels(&self) -> i64 {
        self.last.conv.ws.size()[0]
    }

    /// Every conv unit in forward order, `features.0.0` first.
    pub fn conv_units(&self) -> Vec<&ConvUnit> {
        let blocks = self.blocks.iter().flat_map(InvertedResidual::units);
        std::iter::once(&self.stem).chain(blocks).chain([&self.last]).collect()
    }

    /// `(name, tensor)` of every variable, running statistics included; names are relative
    /// to the path the network was built under, i.e. the keys of the weights files.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<_> = self.conv_units().iter().flat_map(|u| u.named_tensors()).collect();
        if let Some(c) = &self.classifier {
            out.push(("classifier.1.weight".to_string(), c.ws.shallow_clone()));
            out.extend(c.bs.as_ref().map(|b| ("classifier.1.bias".to_string(), b.shallow_clone())));
        }
        out
    }

    /// Conv units of `features.{index}`.
    fn feature_units(&self, index: usize) -> Vec<&ConvUnit> {
        match index {
            0 => vec![&self.stem],
            i if i == FEATURE_COUNT - 1 => vec![&self.last],
            i => self.blocks[i - 1].units(),
        }
    }

    fn feature_t(&self, index: usize, xs: &Tensor, train: bool) -> Tensor {
        match index {
            0 => self.stem.forward_t(xs, train),
            i if i == FEATURE_COUNT - 1 => self.last.forward_t(xs, train),
            i => self.blocks[i - 1].forward_t(xs, train),
        }
    }

    /// Makes the last `n` features trainable (`n` = 2: `features.17` and `features.18`;
    /// 18: all inverted residuals; 19: the stem too) and freezes the rest: no gradients,
    /// BatchNorm in eval mode even when training. The classifier, if any, is not touched.
    pub fn set_trainable_blocks(&mut self, n: usize) {
        self.first_trainable = FEATURE_COUNT - n.min(FEATURE_COUNT);
        for index in 0..FEATURE_COUNT {
            let trainable = index >= self.first_trainable;
            for unit in self.feature_units(index) {
                for t in unit.parameters() {
                    let _ = t.set_requires_grad(trainable);
                }
            }
        }
    }

    /// Number of trainable features at the top of the base (see `set_trainable_blocks`).
    pub fn trainable_blocks(&self) -> usize {
        FEATURE_COUNT - self.first_trainable
    }

    /// `(frozen, trainable)` parameters of the base (running statistics excluded), so a
    /// training loop can hand the trainable ones a lower learning rate than its head.
    pub fn frozen_and_trainable(&self) -> (Vec<Tensor>, Vec<Tensor>) {
        let params = |range: std::ops::Range<usize>| -> Vec<Tensor> {
            range.flat_map(|i| self.feature_units(i)).flat_map(|u| u.parameters()).collect()
        };
        (params(0..self.first_trainable), params(self.first_trainable..FEATURE_COUNT))
    }

    /// `[N, 3, H, W]` in [-1, 1] → feature map `[N, 1280, ⌈H/32⌉, ⌈W/32⌉]`.
    ///
    /// The frozen features run without autograd (so no gradient reaches the input).
    pub fn forward_features_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let split = self.first_trainable;
        let mut x = if split > 0 {
            tch::no_grad(|| (0..split).fold(xs.shallow_clone(), |x, i| self.feature_t(i, &x, false)))
        } else {
            xs.shallow_clone()
        };
        for i in split..FEATURE_COUNT {
            x = self.feature_t(i, &x, train);
        }
        x
    }

    /// Global-average-pooled features `[N, 1280]`.
    pub fn pooled_features_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_features_t(xs, train).mean_dim([2i64, 3].as_slice(), false, Kind::Float)
    }

    /// Pooled features `[N, 1280]` in eval mode without autograd: the cache for a frozen base.
    pub fn pooled_features(&self, xs: &Tensor) -> Tensor {
        tch::no_grad(|| self.pooled_features_t(xs, false))
    }

    /// Classifier logits `[N, classes]`; `None` when the network has no classifier.
    pub fn logits_t(&self, xs: &Tensor, train: bool) -> Option<Tensor> {
        let c = self.classifier.as_ref()?;
        let f = self.pooled_features_t(xs, train).dropout(CLASSIFIER_DROPOUT, train);
        Some(f.linear(&c.ws, c.bs.as_ref()))
    }
}

/// `[N, 1, H, W]` grey in [0, 1] → `[N, 3, H, W]` in [-1, 1], the input the bases expect.
pub fn grey_to_input(xs: &Tensor) -> Tensor {
    (xs * 2.0 - 1.0).repeat([1, 3, 1, 1])
}

#[cfg(test)]
mod tests;
