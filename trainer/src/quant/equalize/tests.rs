//! Tests of stream equalization on a small MobileNetV2-like graph with random weights.

use super::*;
use infer_core::{Quant, Shape, Window};
use tch::{Device, Kind};

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

fn depthwise(c: usize) -> FloatLayer {
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
fn bottleneck_graph() -> FloatGraph {
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

fn pixels() -> Tensor {
    tch::manual_seed(5);
    Tensor::randint(256, [8, 1, 6, 6], (Kind::Float, Device::Cpu))
}

#[test]
fn the_bottleneck_stream_is_found() {
    let s = streams(&bottleneck_graph());
    assert_eq!(s, vec![Stream { producers: vec![1, 5], consumers: vec![3, 7], tensors: vec![1, 5, 6] }]);
}

#[test]
fn equalizing_keeps_the_function_and_evens_the_channel_ranges() {
    let mut g = bottleneck_graph();
    let before = TchGraph::new(&g, Device::Cpu)
        .run(&TchGraph::new(&g, Device::Cpu).input_from_pixels(&pixels()), |_, _| ());
    let absmax = channel_absmax(&g, &TchGraph::new(&g, Device::Cpu), std::iter::once(pixels()));
    let spread =
        |r: &[f32]| r.iter().copied().fold(0f32, f32::max) / r.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread(absmax[6].as_ref().unwrap()) > 100.0);
    assert_eq!(equalize(&mut g, &absmax, 1.0), 1);
    let tg = TchGraph::new(&g, Device::Cpu);
    let after = tg.run(&tg.input_from_pixels(&pixels()), |_, _| ());
    let rel = (&after - &before).abs().max().double_value(&[]) / before.abs().max().double_value(&[]);
    assert!(rel < 1e-5, "relative change {rel}");
    let equalized = channel_absmax(&g, &tg, std::iter::once(pixels()));
    for t in [1, 5, 6] {
        assert!(spread(equalized[t].as_ref().unwrap()) < spread(absmax[t].as_ref().unwrap()));
    }
    assert!(spread(equalized[6].as_ref().unwrap()) < 1.01, "{:?}", equalized[6]);
    // Strength 0 leaves every weight as it was.
    let mut h = bottleneck_graph();
    equalize(&mut h, &absmax, 0.0);
    assert_eq!(h.layers, bottleneck_graph().layers);
}

#[test]
fn streams_that_cannot_absorb_a_scale_are_left_alone() {
    // A linear projection read by a depthwise conv.
    let mut g = bottleneck_graph();
    g.layers.insert(2, depthwise(3));
    assert!(streams(&g).iter().all(|s| !s.producers.contains(&1)));
    // The graph's output is linear.
    let mut g = bottleneck_graph();
    g.layers.truncate(7);
    assert!(streams(&g).is_empty());
    // An add that clips at 6 cannot undo the scale of either side.
    let mut g = bottleneck_graph();
    g.layers[6] = FloatLayer::Add { slot: 0, activation: Activation::Relu6 };
    assert!(streams(&g).is_empty());
}
