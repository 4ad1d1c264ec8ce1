//! [`FloatGraph`] + calibrated ranges → each layer's int8 bytes → its [`LayerDef`] → a
//! validated blob. The float layer produces its blob definition itself ([`FloatLayer::to_def`]):
//! there is no second layer list to keep in step.
//!
//! Conventions (`shared/INT8.md`): weights int8 symmetric per output channel
//! (scale = max|w| / 127), activations int8 asymmetric per tensor, bias int32 with scale
//! `in_scale · w_scale[c]`, requantization multipliers from `in_scale · w_scale / out_scale`
//! in f64.

use anyhow::{anyhow, bail, ensure, Context, Result};
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

/// Int8 weights, int32 biases and requantization of one layer with per-channel weight
/// scales, as the blob stores them (empty for layers without weights).
#[derive(Clone, Debug, Default)]
pub struct Channels {
    weights: Vec<u8>,
    bias: Vec<u8>,
    multiplier: Vec<u8>,
    shift: Vec<u8>,
    /// The real values the int8 weights and int32 biases stand for (for simulating the
    /// int8 model in float).
    dequantized: (Vec<f32>, Vec<f32>),
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
    let real_weights = q.iter().enumerate().map(|(i, &v)| f32::from(v) * w_scale[channel_of(i)]).collect();
    let mut b = Vec::with_capacity(c);
    let mut real_bias = Vec::with_capacity(c);
    let mut mult = Vec::with_capacity(c);
    let mut shift = Vec::with_capacity(c);
    for ch in 0..c {
        let bias_scale = f64::from(in_scale) * f64::from(w_scale[ch]);
        b.push((f64::from(bias[ch]) / bias_scale).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32);
        real_bias.push((f64::from(b[ch]) * bias_scale) as f32);
        let m = multiplier_from_real(bias_scale / f64::from(out_scale));
        mult.push(m.multiplier);
        shift.push(m.shift);
    }
    Channels {
        weights: i8_bytes(&q),
        bias: i32_le_bytes(&b),
        multiplier: i32_le_bytes(&mult),
        shift: i8_bytes(&shift),
        dequantized: (real_weights, real_bias),
    }
}

/// The quantization around one layer: what it reads, what it writes, and (for an add) the
/// saved tensor it adds. Worked out for the whole graph before any weight is touched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerIo {
    pub input: Quant,
    pub output: Quant,
    /// The residual slot's quantization for an add; the input's for every other layer.
    pub saved: Quant,
}

/// Each layer's [`LayerIo`]: layers with their own output quantization get it from their
/// calibrated range, the others (pools, saves) keep their input's.
pub fn io_chain(graph: &FloatGraph, ranges: &[Option<Range>]) -> Result<Vec<LayerIo>> {
    ensure!(ranges.len() == graph.layers.len(), "one range per layer");
    let mut cur = graph.input_quant;
    let mut slots = [None; infer_core::MAX_SLOTS];
    let mut chain = Vec::with_capacity(ranges.len());
    for (i, (layer, range)) in graph.layers.iter().zip(ranges).enumerate() {
        let mut io = LayerIo { input: cur, output: cur, saved: cur };
        if layer.has_own_quant() {
            io.output = activation_quant(range.ok_or_else(|| anyhow!("layer {i} has no calibrated range"))?);
        }
        match layer {
            FloatLayer::Save { slot } => {
                *slots.get_mut(usize::from(*slot)).context("slot out of range")? = Some(cur)
            }
            FloatLayer::Add { slot, .. } => {
                io.saved = slots
                    .get(usize::from(*slot))
                    .copied()
                    .flatten()
                    .ok_or_else(|| anyhow!("layer {i}: add of an unsaved slot {slot}"))?;
            }
            _ => {}
        }
        cur = io.output;
        chain.push(io);
    }
    Ok(chain)
}

/// Quantizes the weights of a conv, depthwise or dense layer; other layers own no bytes.
pub fn quantize_layer(layer: &FloatLayer, io: &LayerIo) -> Channels {
    let (inp, out) = (io.input.scale, io.output.scale);
    match layer {
        FloatLayer::Conv { out_channels, weights, bias, .. } => {
            let taps = weights.len() / out_channels.max(&1);
            quantize_channels(weights, bias, |j| j / taps, taps, inp, out)
        }
        FloatLayer::Depthwise { window, weights, bias, .. } => {
            let c = bias.len().max(1);
            let taps = usize::from(window.kernel_h) * usize::from(window.kernel_w);
            quantize_channels(weights, bias, |j| j % c, taps, inp, out)
        }
        FloatLayer::Dense { out_features, weights, bias, .. } => {
            let taps = weights.len() / out_features.max(&1);
            quantize_channels(weights, bias, |j| j / taps, taps, inp, out)
        }
        _ => Channels::default(),
    }
}

impl FloatLayer {
    /// This layer's blob definition: its geometry, the quantized `bytes` (from
    /// [`quantize_layer`]; ignored by layers without weights) and its output quantization.
    pub fn to_def<'b>(&self, io: &LayerIo, bytes: &'b Channels) -> LayerDef<'b> {
        let ch = ChannelQuant { bias: &bytes.bias, multiplier: &bytes.multiplier, shift: &bytes.shift };
        let (w, output) = (&bytes.weights[..], io.output);
        match *self {
            FloatLayer::Conv { out_channels, window, activation, pool, .. } => LayerDef::Conv2d(Conv2dDef {
                out_channels: out_channels as u16,
                window,
                weights: w,
                channels: ch,
                output,
                activation,
                pool,
            }),
            FloatLayer::Depthwise { depth_multiplier, window, activation, .. } => {
                LayerDef::DepthwiseConv2d(DepthwiseDef {
                    depth_multiplier: depth_multiplier as u16,
                    window,
                    weights: w,
                    channels: ch,
                    output,
                    activation,
                })
            }
            FloatLayer::Dense { out_features, activation, .. } => LayerDef::Dense(DenseDef {
                out_features: out_features as u16,
                weights: w,
                channels: ch,
                output,
                activation,
            }),
            FloatLayer::MaxPool(w) => LayerDef::MaxPool(w),
            FloatLayer::GlobalAvgPool => LayerDef::GlobalAvgPool,
            FloatLayer::Save { slot } => LayerDef::Save { slot },
            FloatLayer::Add { slot, activation } => {
                let [input1, input2, output_multiplier] =
                    add_multipliers(io.input.scale, io.saved.scale, io.output.scale);
                LayerDef::Add(AddDef { slot, input1, input2, output_multiplier, output, activation })
            }
        }
    }
}

/// A float graph with its int8 quantization: the chain of scales and each layer's bytes.
pub struct QuantModel {
    pub graph: FloatGraph,
    pub io: Vec<LayerIo>,
    bytes: Vec<Channels>,
}

impl QuantModel {
    /// Quantizes every layer of `graph` with the calibrated `ranges`.
    pub fn new(graph: FloatGraph, ranges: &[Option<Range>]) -> Result<QuantModel> {
        let io = io_chain(&graph, ranges)?;
        let bytes = graph.layers.iter().zip(&io).map(|(l, io)| quantize_layer(l, io)).collect();
        Ok(QuantModel { graph, io, bytes })
    }

    /// Subtracts `shift` (one value per output) from the float bias of the last layer and
    /// quantizes that layer again (see [`super::bias_correction`]).
    pub fn correct_last_bias(&mut self, shift: &[f32]) -> Result<()> {
        let last = self.graph.layers.len().checked_sub(1).context("empty graph")?;
        ensure!(
            matches!(self.graph.layers[last], FloatLayer::Dense { .. } | FloatLayer::Conv { .. }),
            "bias correction needs a dense or conv last layer"
        );
        self.shift_bias(last, shift)
    }

    /// Multiplies what the model outputs by `factor`: the last layer's float weights, bias
    /// and output scale together, so the integer arithmetic stays the same and only the
    /// meaning of an output byte changes (see [`super::logit_gain`]).
    pub fn scale_output(&mut self, factor: f32) -> Result<()> {
        ensure!(factor.is_finite() && factor > 0.0, "output scale factor must be positive, got {factor}");
        let last = self.graph.layers.len().checked_sub(1).context("empty graph")?;
        match &mut self.graph.layers[last] {
            FloatLayer::Dense { weights, bias, .. } | FloatLayer::Conv { weights, bias, .. } => {
                weights.iter_mut().chain(bias.iter_mut()).for_each(|v| *v *= factor);
            }
            _ => bail!("output gain correction needs a dense or conv last layer"),
        }
        self.io[last].output.scale *= factor;
        self.bytes[last] = quantize_layer(&self.graph.layers[last], &self.io[last]);
        Ok(())
    }

    /// Subtracts `shift` (one value per output channel) from layer `i`'s float bias and
    /// quantizes that layer again.
    pub fn shift_bias(&mut self, i: usize, shift: &[f32]) -> Result<()> {
        match self.graph.layers.get_mut(i) {
            Some(
                FloatLayer::Dense { bias, .. }
                | FloatLayer::Conv { bias, .. }
                | FloatLayer::Depthwise { bias, .. },
            ) => {
                ensure!(bias.len() == shift.len(), "layer {i}: one correction per output channel");
                bias.iter_mut().zip(shift).for_each(|(b, s)| *b -= s);
            }
            _ => bail!("layer {i} has no bias to correct"),
        }
        self.bytes[i] = quantize_layer(&self.graph.layers[i], &self.io[i]);
        Ok(())
    }

    /// Layer `i` with the real values its int8 weights and int32 bias stand for.
    pub fn dequantized_layer(&self, i: usize) -> FloatLayer {
        let mut layer = self.graph.layers[i].clone();
        let (w, b) = &self.bytes[i].dequantized;
        if let FloatLayer::Conv { weights, bias, .. }
        | FloatLayer::Depthwise { weights, bias, .. }
        | FloatLayer::Dense { weights, bias, .. } = &mut layer
        {
            weights.clone_from(w);
            bias.clone_from(b);
        }
        layer
    }

    /// The graph with every layer dequantized: run with [`super::float_exec::TchGraph`] and
    /// fake quantization at `io[i].output`, it simulates this int8 model in float.
    pub fn dequantized_graph(&self) -> FloatGraph {
        FloatGraph {
            layers: (0..self.graph.layers.len()).map(|i| self.dequantized_layer(i)).collect(),
            ..self.graph.clone()
        }
    }

    /// The blob: every layer's definition, the output declaration the engine derives, a
    /// header; validated by [`infer_core::Model::from_bytes`] inside `to_blob`.
    pub fn blob(&self) -> Result<Vec<u8>> {
        let defs: Vec<LayerDef<'_>> = self
            .graph
            .layers
            .iter()
            .zip(&self.io)
            .zip(&self.bytes)
            .map(|((l, io), b)| l.to_def(io, b))
            .collect();
        let input = TensorSpec { shape: self.graph.input, quant: self.graph.input_quant };
        let output = infer_core::output_spec(input, &defs)
            .map_err(|e| anyhow!("the quantized layers do not chain: {e}"))?;
        let def = ModelDef { input, output, layers: &defs };
        infer_core::to_blob(&def)
            .map_err(|e| anyhow!("the quantized model is not a valid blob: {e}"))
            .context("quantization produced parameters the engine refuses")
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
