//! A small MobileNetV2-like graph with deterministic weights whose channel ranges differ by
//! orders of magnitude, and random 6×6 pixels for it: the fixture of the quantization tests.

use infer_core::{Activation, Quant, Shape, Window};
use tch::Tensor;

use super::graph::{FloatGraph, FloatLayer};

fn conv(inputs: usize, out: usize, k: u8, activation: Activation, gain: &[f32]) -> FloatLayer {
    // Output channel o is scaled by gain[o % len], so channel ranges differ by orders of magnitude.
    let taps = usize::from(k) * usize::from(k) * inputs;
    let weights =
        (0..out * taps).map(|i| ((i * 37 % 23) as f32 / 23.0 - 0.45) * gain[(i / taps) % gain.len()]);
    FloatLayer::Conv {
        out_channels: out,
        window: Window::same(k, 1, 6, 6),
        weights: weights.collect(),
        bias: (0..out).map(|o| 0.05 * o as f32 * gain[o % gain.len()]).collect(),
        activation,
        pool: None,
    }
}

pub fn depthwise(c: usize) -> FloatLayer {
    FloatLayer::Depthwise {
        depth_multiplier: 1,
        window: Window::same(3, 1, 6, 6),
        weights: (0..9 * c).map(|i| (i % 7) as f32 / 10.0 - 0.2).collect(),
        bias: vec![0.1; c],
        activation: Activation::Relu6,
    }
}

/// conv3x3 (ReLU6) → project (linear) → save → expand (ReLU6) → depthwise → project (linear)
/// → add → expand (ReLU6) → global average pool → dense.
pub fn bottleneck_graph() -> FloatGraph {
    let wild = [1.0, 0.01, 30.0];
    FloatGraph {
        input: Shape { h: 6, w: 6, c: 1 },
        input_quant: Quant { scale: 2.0 / 255.0, zero_point: 0 },
        float_input: "test",
        layers: vec![
            conv(1, 4, 3, Activation::Relu6, &[1.0]),
            conv(4, 3, 1, Activation::None, &wild),
            FloatLayer::Save { slot: 0 },
            conv(3, 6, 1, Activation::Relu6, &[0.3]),
            depthwise(6),
            conv(6, 3, 1, Activation::None, &wild),
            FloatLayer::Add { slot: 0, activation: Activation::None },
            conv(3, 5, 1, Activation::Relu6, &[0.2]),
            FloatLayer::GlobalAvgPool,
            FloatLayer::Dense {
                out_features: 1,
                weights: vec![0.3; 5],
                bias: vec![0.1],
                activation: Activation::None,
            },
        ],
        classes: vec!["pneumonia".into()],
    }
}

/// Eight 6×6 images of pseudo-random pixels.
pub fn pixels() -> Tensor {
    many_pixels(8, 5)
}

/// `n` 6×6 images of pseudo-random pixels from `seed`, as f32 `[n, 1, 6, 6]`. Drawn here, not
/// from torch's global generator, which tests running in parallel would share.
pub fn many_pixels(n: usize, seed: u64) -> Tensor {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let values: Vec<f32> = (0..n * 36)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as f32
        })
        .collect();
    Tensor::from_slice(&values).view([n as i64, 1, 6, 6])
}
