//! The seed report's transfer head, on the base's feature map: conv 32 → max-pool → conv 64 →
//! max-pool → conv 128 → global average pool → dropout 0.1 → dense 1. Convs are 3×3 'same'
//! with ReLU and pools 2×2 stride 2 'same' (ceil mode), as in the seed's Keras code.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Filters of the head's three convolutions.
pub const FILTERS: [i64; 3] = [32, 64, 128];
/// Dropout before the dense layer (the seed's 0.1).
pub const DROPOUT: f64 = 0.1;

#[derive(Debug)]
pub struct SeedHead {
    /// `head.conv1` … `head.conv3`.
    pub convs: Vec<nn::Conv2D>,
    /// `head.dense`: 128 pooled values → one logit.
    pub dense: nn::Linear,
}

impl SeedHead {
    /// A fresh head on `in_channels`-channel feature maps, under `p` (the `head` path).
    pub fn new(p: &nn::Path, in_channels: i64) -> SeedHead {
        let cfg = nn::ConvConfig { padding: 1, ..Default::default() };
        let mut channels = in_channels;
        let convs = FILTERS
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let c = nn::conv2d(p / format!("conv{}", i + 1), channels, f, 3, cfg);
                channels = f;
                c
            })
            .collect();
        let dense = nn::linear(p / "dense", channels, 1, Default::default());
        SeedHead { convs, dense }
    }

    /// Logits `[N, 1]` from feature maps `[N, C, h, w]`.
    pub fn forward_t(&self, map: &Tensor, train: bool) -> Tensor {
        let mut x = map.shallow_clone();
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv.forward(&x).relu();
            if i + 1 < self.convs.len() {
                x = x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], true);
            }
        }
        x.mean_dim([2i64, 3].as_slice(), false, Kind::Float).dropout(DROPOUT, train).apply(&self.dense)
    }

    /// Every parameter of the head.
    pub fn parameters(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        for c in &self.convs {
            out.push(c.ws.shallow_clone());
            out.extend(c.bs.iter().map(Tensor::shallow_clone));
        }
        out.push(self.dense.ws.shallow_clone());
        out.extend(self.dense.bs.iter().map(Tensor::shallow_clone));
        out
    }
}
