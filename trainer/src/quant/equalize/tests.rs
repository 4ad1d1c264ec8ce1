//! Tests of stream equalization on a small MobileNetV2-like graph with random weights.

use super::*;
use crate::quant::test_graph::{bottleneck_graph, depthwise, pixels};
use tch::Device;

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
    // The add sums two rescaled streams, so its channels come out even to within a few %.
    assert!(spread(equalized[6].as_ref().unwrap()) < 1.05, "{:?}", equalized[6]);
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
