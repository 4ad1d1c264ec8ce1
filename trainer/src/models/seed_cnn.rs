//! The seed report's from-scratch CNN.
//!
//! 180×180×1 input in [0, 1]; six 3×3 'same' convs (32, 64, 64, 64, 128, 256 filters) with
//! ReLU, each followed by a 2×2 stride-2 'same' max-pool; dropout 0.1 after the third conv,
//! 0.2 after the fifth and sixth and 0.2 before the dense layer. At 180 px the pools give
//! 90, 45, 23, 12, 6, 3, so the flatten has 3·3·256 = 2,304 values and the network 464,001
//! parameters with one output. `forward_t` returns logits; `sigmoid` of the single logit is
//! p(pneumonia). `outputs = 3` gives the 3-class variant (softmax over the logits).

use tch::nn::{self, Module};
use tch::Tensor;

/// Filters of the six convolutions.
pub const FILTERS: [i64; 6] = [32, 64, 64, 64, 128, 256];
/// Dropout applied after conv `i` (before its pool), as in the seed code.
const DROPOUT_AFTER_CONV: [f64; 6] = [0.0, 0.0, 0.1, 0.0, 0.2, 0.2];
const DROPOUT_BEFORE_DENSE: f64 = 0.2;

/// Side of the feature map after the six 'same' pools of an `input`-pixel image.
pub fn feature_side(input: i64) -> i64 {
    (0..FILTERS.len()).fold(input, |s, _| (s + 1) / 2)
}

#[derive(Debug)]
pub struct SeedCnn {
    /// `conv1` … `conv6` in the var store.
    pub convs: Vec<nn::Conv2D>,
    /// `dense`: flatten (C, H, W order) → outputs.
    pub dense: nn::Linear,
    pub image_size: i64,
    pub outputs: i64,
}

impl SeedCnn {
    pub fn new(p: &nn::Path, image_size: i64, outputs: i64) -> SeedCnn {
        let cfg = nn::ConvConfig { padding: 1, ..Default::default() };
        let mut convs = Vec::with_capacity(FILTERS.len());
        let mut channels = 1;
        for (i, &f) in FILTERS.iter().enumerate() {
            convs.push(nn::conv2d(p / format!("conv{}", i + 1), channels, f, 3, cfg));
            channels = f;
        }
        let side = feature_side(image_size);
        let dense = nn::linear(p / "dense", channels * side * side, outputs, Default::default());
        SeedCnn { convs, dense, image_size, outputs }
    }

    /// Logits `[batch, outputs]` for images `[batch, 1, size, size]` in [0, 1].
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.shallow_clone();
        for (conv, &p) in self.convs.iter().zip(&DROPOUT_AFTER_CONV) {
            x = conv.forward(&x).relu();
            if p > 0.0 {
                x = x.dropout(p, train);
            }
            // ceil_mode makes a 2×2/2 pool over an odd side behave like TF 'same'.
            x = x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], true);
        }
        x.flatten(1, -1).dropout(DROPOUT_BEFORE_DENSE, train).apply(&self.dense)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device, Kind};

    #[test]
    fn seed_size_has_464001_parameters_and_one_probability() {
        let vs = VarStore::new(Device::Cpu);
        let net = SeedCnn::new(&vs.root(), 180, 1);
        let n: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
        assert_eq!(n, 464_001);
        let x = Tensor::rand([2, 1, 180, 180], (Kind::Float, Device::Cpu));
        let y = net.forward_t(&x, false);
        assert_eq!(y.size(), vec![2, 1]);
        let p = y.sigmoid();
        let (lo, hi) = (p.min().double_value(&[]), p.max().double_value(&[]));
        assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
    }

    #[test]
    fn feature_side_follows_same_pooling() {
        assert_eq!(feature_side(180), 3);
        assert_eq!(feature_side(128), 2);
        assert_eq!(feature_side(224), 4);
    }

    #[test]
    fn three_class_head_and_other_sizes() {
        let vs = VarStore::new(Device::Cpu);
        let net = SeedCnn::new(&vs.root(), 64, 3);
        let y = net.forward_t(&Tensor::zeros([4, 1, 64, 64], (Kind::Float, Device::Cpu)), true);
        assert_eq!(y.size(), vec![4, 3]);
    }
}
