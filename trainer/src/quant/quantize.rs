//! [`FloatGraph`] + calibrated ranges → the int8 model as owned bytes → a validated blob.
//!
//! Conventions (`shared/INT8.md`): weights int8 symmetric per output channel
//! (scale = max|w| / 127), activations int8 asymmetric per tensor, bias int32 with scale
//! `in_scale · w_scale[c]`, requantization multipliers from `in_scale · w_scale / out_scale`
//! in f64.

use anyhow::{anyhow, Context, Result};
use infer_core::quant_math::{add_multipliers, multiplier_from_real};
use infer_core::{
    i32_le_bytes, i8_bytes, AddDef, ChannelQuant, Conv2dDef, DenseDef, DepthwiseDef, LayerDef, ModelDef,
    Quant, TensorSpec,
};

use super::calibrate::Range;
use super::graph::{FloatGraph, FloatLayer};

/// Per-tensor asymmetric int8 quantization of `[min, max]` (which contains 0), with an
/// integer zero point so that real 0 is exact.
pub fn activation_quant(r: Range) -> Quant {
    let span = f64::from(r.max) - f64::from(r.min);
    // A tensor that is 0 everywhere still needs a valid positive scale.
    let scale = if span > 0.0 { span / 255.0 } else { 1.0 / 255.0 };
    let zp = (-128.0 - f64::from(r.min) / scale).round().clamp(-128.0, 127.0);
    Quant { scale: scale as f32, zero_point: zp as i8 }
}

/// Weights, bias and requantization of one layer with per-channel weight scales.
struct Channels {
    weights: Vec<u8>,
    bias: Vec<u8>,
    multiplier: Vec<u8>,
    shift: Vec<u8>,
}

/// `channel_of(i)` maps a weight index to its output channel; `taps` is the number of
/// products per output (for the overflow bound the engine checks at load).
fn quantize_channels(
    weights: &[f32],
    bias: &[f32],
    channel_of: impl Fn(usize) -> usize,
    taps: usize,
    in_scale: f32,
    out_scale: f32,
) -> Channels {
    let c = bias.len();
    let mut absmax = vec![0f32; c];
    for (i, &w) in weights.iter().enumerate() {
        let ch = channel_of(i);
        absmax[ch] = absmax[ch].max(w.abs());
    }
    // The engine refuses a channel whose accumulator could overflow i32:
    // taps · 127 · 255 + |bias| + 128 < 2^31 (for shift ≤ 0). A bias too large for the weight
    // scale (tiny weights, large bias) widens that channel's weight scale instead.
    let bias_limit = ((1i64 << 31) - 129 - taps as i64 * 127 * 255) as f64 * 0.999;
    let w_scale: Vec<f32> = (0..c)
        .map(|ch| {
            let s = if absmax[ch] > 0.0 { absmax[ch] / 127.0 } else { 1.0 };
            let needed = (f64::from(bias[ch].abs()) / (f64::from(in_scale) * bias_limit)) as f32;
            s.max(needed)
        })
        .collect();
    let q: Vec<i8> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (w / w_scale[channel_of(i)]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    let mut b = Vec::with_capacity(c);
    let mut mult = Vec::with_capacity(c);
    let mut shift = Vec::with_capacity(c);
    for ch in 0..c {
        let bias_scale = f64::from(in_scale) * f64::from(w_scale[ch]);
        b.push((f64::from(bias[ch]) / bias_scale).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32);
        let m = multiplier_from_real(bias_scale / f64::from(out_scale));
        mult.push(m.multiplier);
        shift.push(m.shift);
    }
    Channels {
        weights: i8_bytes(&q),
        bias: i32_le_bytes(&b),
        multiplier: i32_le_bytes(&mult),
        shift: i8_bytes(&shift),
    }
}

/// One quantized layer owning its bytes; [`QuantModel::blob`] borrows them into the schema.
enum Owned {
    Weighted(FloatLayerRef, Channels, Quant),
    Add(AddDef),
    Other(FloatLayerRef),
}

/// Index of the float layer an owned layer came from.
type FloatLayerRef = usize;

/// The quantized model before serialization.
pub struct QuantModel<'g> {
    graph: &'g FloatGraph,
    input: TensorSpec,
    output: TensorSpec,
    layers: Vec<Owned>,
}

impl<'g> QuantModel<'g> {
    pub fn new(graph: &'g FloatGraph, ranges: &[Option<Range>]) -> Result<QuantModel<'g>> {
        anyhow::ensure!(ranges.len() == graph.layers.len(), "one range per layer");
        let shapes = graph.shapes();
        let mut cur = graph.input_quant;
        let mut cur_shape = graph.input;
        let mut slots = [None; infer_core::MAX_SLOTS];
        let mut layers = Vec::with_capacity(graph.layers.len());
        for (i, layer) in graph.layers.iter().enumerate() {
            let out_quant =
                || ranges[i].map(activation_quant).ok_or_else(|| anyhow!("layer {i} has no range"));
            let in_c = usize::from(cur_shape.c);
            let owned = match layer {
                FloatLayer::Conv { window, weights, bias, .. } => {
                    let q = out_quant()?;
                    let per_out = weights.len() / bias.len();
                    let taps = usize::from(window.kernel_h) * usize::from(window.kernel_w) * in_c;
                    Owned::Weighted(
                        i,
                        quantize_channels(weights, bias, |j| j / per_out, taps, cur.scale, q.scale),
                        q,
                    )
                }
                FloatLayer::Depthwise { window, weights, bias, .. } => {
                    let q = out_quant()?;
                    let c = bias.len();
                    let taps = usize::from(window.kernel_h) * usize::from(window.kernel_w);
                    Owned::Weighted(
                        i,
                        quantize_channels(weights, bias, |j| j % c, taps, cur.scale, q.scale),
                        q,
                    )
                }
                FloatLayer::Dense { weights, bias, .. } => {
                    let q = out_quant()?;
                    let per_out = weights.len() / bias.len();
                    Owned::Weighted(
                        i,
                        quantize_channels(weights, bias, |j| j / per_out, per_out, cur.scale, q.scale),
                        q,
                    )
                }
                FloatLayer::Add { slot, activation } => {
                    let q = out_quant()?;
                    let saved: Quant = slots[usize::from(*slot)]
                        .ok_or_else(|| anyhow!("layer {i}: add of an unsaved slot"))?;
                    let [input1, input2, output_multiplier] =
                        add_multipliers(cur.scale, saved.scale, q.scale);
                    Owned::Add(AddDef {
                        slot: *slot,
                        input1,
                        input2,
                        output_multiplier,
                        output: q,
                        activation: *activation,
                    })
                }
                FloatLayer::Save { slot } => {
                    slots[usize::from(*slot)] = Some(cur);
                    Owned::Other(i)
                }
                FloatLayer::MaxPool(_) | FloatLayer::GlobalAvgPool => Owned::Other(i),
            };
            if let Owned::Weighted(_, _, q) = &owned {
                cur = *q;
            }
            if let Owned::Add(a) = &owned {
                cur = a.output;
            }
            cur_shape = shapes[i];
            layers.push(owned);
        }
        Ok(QuantModel {
            graph,
            input: TensorSpec { shape: graph.input, quant: graph.input_quant },
            output: TensorSpec { shape: cur_shape, quant: cur },
            layers,
        })
    }

    /// Serializes to a blob and validates it with [`infer_core::Model::from_bytes`].
    pub fn blob(&self) -> Result<Vec<u8>> {
        let defs: Vec<LayerDef<'_>> = self.layers.iter().map(|l| self.def(l)).collect();
        let def = ModelDef { input: self.input, output: self.output, layers: &defs };
        infer_core::to_blob(&def)
            .map_err(|e| anyhow!("the quantized model is not a valid blob: {e}"))
            .context("quantization produced parameters the engine refuses")
    }

    fn def<'s>(&'s self, l: &'s Owned) -> LayerDef<'s> {
        let channels =
            |c: &'s Channels| ChannelQuant { bias: &c.bias, multiplier: &c.multiplier, shift: &c.shift };
        match l {
            Owned::Weighted(i, c, q) => match &self.graph.layers[*i] {
                FloatLayer::Conv { out_channels, window, activation, pool, .. } => {
                    LayerDef::Conv2d(Conv2dDef {
                        out_channels: *out_channels as u16,
                        window: *window,
                        weights: &c.weights,
                        channels: channels(c),
                        output: *q,
                        activation: *activation,
                        pool: *pool,
                    })
                }
                FloatLayer::Depthwise { depth_multiplier, window, activation, .. } => {
                    LayerDef::DepthwiseConv2d(DepthwiseDef {
                        depth_multiplier: *depth_multiplier as u16,
                        window: *window,
                        weights: &c.weights,
                        channels: channels(c),
                        output: *q,
                        activation: *activation,
                    })
                }
                FloatLayer::Dense { out_features, activation, .. } => LayerDef::Dense(DenseDef {
                    out_features: *out_features as u16,
                    weights: &c.weights,
                    channels: channels(c),
                    output: *q,
                    activation: *activation,
                }),
                _ => unreachable!("only conv, depthwise and dense carry weights"),
            },
            Owned::Add(a) => LayerDef::Add(*a),
            Owned::Other(i) => match &self.graph.layers[*i] {
                FloatLayer::MaxPool(w) => LayerDef::MaxPool(*w),
                FloatLayer::GlobalAvgPool => LayerDef::GlobalAvgPool,
                FloatLayer::Save { slot } => LayerDef::Save { slot: *slot },
                _ => unreachable!("weighted layers and adds are handled above"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_quant_makes_zero_exact() {
        let q = activation_quant(Range { min: 0.0, max: 6.0 });
        assert_eq!(q.zero_point, -128);
        assert!((q.scale - 6.0 / 255.0).abs() < 1e-7);
        let q = activation_quant(Range { min: -1.0, max: 3.0 });
        // scale 4/255, zero point round(−128 + 1/scale) = −64: q = −64 is exactly 0, and
        // q = −128 is the range's minimum to within half a step.
        assert_eq!(q.zero_point, -64);
        assert!(((-128 + 64) as f32 * q.scale + 1.0).abs() < q.scale / 2.0);
        assert_eq!(activation_quant(Range { min: 0.0, max: 0.0 }).zero_point, -128);
    }

    #[test]
    fn per_channel_weights_use_the_full_range() {
        // Two output channels of 3 weights each, very different magnitudes.
        let w = [0.5, -1.0, 0.25, 0.001, 0.002, -0.004];
        let c = quantize_channels(&w, &[0.1, -0.2], |i| i / 3, 3, 1.0 / 255.0, 0.05);
        let q: Vec<i8> = c.weights.iter().map(|&b| b as i8).collect();
        assert_eq!(q, vec![64, -127, 32, 32, 64, -127]);
        // bias 0.1 / (in_scale · w_scale) with both scales in f32: 3238.49… → 3238.
        assert_eq!(i32::from_le_bytes(c.bias[0..4].try_into().unwrap()), 3238);
    }

    #[test]
    fn huge_bias_widens_the_weight_scale_instead_of_overflowing() {
        let c = quantize_channels(&[1e-9, -1e-9], &[1000.0], |_| 0, 2, 1.0 / 255.0, 0.05);
        let b = i32::from_le_bytes(c.bias[0..4].try_into().unwrap());
        assert!(i64::from(b) + 2 * 127 * 255 + 128 < 1i64 << 31, "{b}");
    }
}
