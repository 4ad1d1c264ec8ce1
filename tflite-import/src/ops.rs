//! One TFLite operator → one infer-core layer, with the arithmetic TFLite's Prepare does:
//! per-channel multipliers `QuantizeMultiplier(double(s_in) · double(s_w[c]) / double(s_out))`
//! (`PopulateConvolutionQuantizationParams`), fused ReLU / ReLU6 as output clamps, 'SAME' and
//! 'VALID' padding as explicit windows.

use infer_core::quant_math::{logistic_table, multiplier_from_real, softmax_params};
use infer_core::{Activation, AvgPoolDef, MeanDef, Quant, SoftmaxDef, TensorSpec, Window};

use crate::convert::spec;
use crate::error::ImportError;
use crate::graph::{Graph, Op, Tensor};
use crate::layer::{Channels, Layer};
use crate::tflite::{ActivationFunctionType as Act, BuiltinOperator as B, Padding, TensorType};

/// A PAD folded into the convolution after it: the unpadded tensor and the rows / columns
/// added above and left (those below and right follow from the output size).
#[derive(Clone, Copy, Debug)]
pub struct Pad {
    pub input: i32,
    pub top: u8,
    pub left: u8,
    pub bottom: u16,
    pub right: u16,
}

/// A fused activation as infer-core's output clamp.
pub fn activation(op: &Op<'_>, f: Act) -> Result<Activation, ImportError> {
    match f {
        Act::NONE => Ok(Activation::None),
        Act::RELU => Ok(Activation::Relu),
        Act::RELU6 => Ok(Activation::Relu6),
        other => Err(ImportError::op(op, format!("fused activation {} is not supported", other.variant_name().unwrap_or("?")))),
    }
}

pub fn add_activation(op: &Op<'_>) -> Act {
    op.options.builtin_options_as_add_options().map_or(Act::NONE, |o| o.fused_activation_function())
}

/// The int8 weights of `t`, per-channel along axis 0 with zero point 0 (or per-tensor).
fn weights<'m>(op: &Op<'_>, t: &Tensor<'m>, channels: usize, axis: i32) -> Result<(&'m [u8], Vec<f32>), ImportError> {
    if t.dtype == TensorType::UINT8 {
        return Err(ImportError::op(op, "uint8 weights (per-tensor asymmetric, TFLite's old quantization) are not supported: convert with int8 per-channel post-training quantization"));
    }
    if t.dtype != TensorType::INT8 {
        return Err(ImportError::op(op, format!("weights of type {} (int8 only)", t.dtype.variant_name().unwrap_or("?"))));
    }
    let data = t.data.ok_or_else(|| ImportError::op(op, "weights are not constant"))?;
    if t.zero_points.iter().any(|&z| z != 0) {
        return Err(ImportError::op(op, "weights with a non-zero zero point"));
    }
    let scales = match t.scales.len() {
        1 => vec![t.scales[0]; channels],
        n if n == channels && t.quantized_dimension == axis => t.scales.clone(),
        n => return Err(ImportError::op(op, format!("{n} weight scales for {channels} output channels"))),
    };
    Ok((data, scales))
}

/// Bias (int32, optional) and the per-channel multipliers for input scale `s_in`, weight scales
/// `s_w` and output scale `s_out`.
fn channels(op: &Op<'_>, g: &Graph<'_>, bias: Option<i32>, s_in: f32, s_w: &[f32], s_out: f32) -> Result<Channels, ImportError> {
    let n = s_w.len();
    let bias: Vec<i32> = match bias.filter(|&b| b >= 0) {
        Some(b) => {
            let t = g.tensor(b);
            let v = t.i32_data().filter(|v| v.len() == n && t.dtype == TensorType::INT32);
            v.ok_or_else(|| ImportError::op(op, format!("bias is not {n} constant int32 values")))?
        }
        None => vec![0; n],
    };
    let mut ch = Channels { bias: Vec::new(), multiplier: Vec::new(), shift: Vec::new() };
    for (c, &sw) in s_w.iter().enumerate() {
        let m = multiplier_from_real(f64::from(s_in) * f64::from(sw) / f64::from(s_out));
        ch.bias.extend(bias[c].to_le_bytes());
        ch.multiplier.extend(m.multiplier.to_le_bytes());
        ch.shift.push(m.shift as u8);
    }
    Ok(ch)
}

/// One axis of a window: (output size, padding before) for TFLite's padding mode.
fn axis(op: &Op<'_>, padding: Padding, n: u16, k: usize, s: i32, pad: Option<(u8, u16)>) -> Result<(u16, u8), ImportError> {
    let (n, k, s) = (i64::from(n), k as i64, i64::from(s.max(1)));
    let (out, before) = match (pad, padding) {
        (Some((before, after)), Padding::VALID) => ((n + i64::from(before) + i64::from(after) - k).div_euclid(s) + 1, i64::from(before)),
        (Some(_), _) => return Err(ImportError::op(op, "a PAD before a 'SAME' convolution cannot be folded")),
        (None, Padding::SAME) => {
            let out = (n + s - 1) / s;
            (out, ((out - 1) * s + k - n).max(0) / 2)
        }
        // Floor division: a kernel larger than the input leaves no output (TFLite's size 0).
        (None, _) => ((n - k).div_euclid(s) + 1, 0),
    };
    let out = u16::try_from(out).ok().filter(|&o| o > 0);
    match (out, u8::try_from(before)) {
        (Some(out), Ok(before)) => Ok((out, before)),
        _ => Err(ImportError::op(op, "window does not fit its input")),
    }
}

/// The conv-like window over `input` for kernel `kh × kw`.
fn window(op: &Op<'_>, input: &TensorSpec, (kh, kw): (usize, usize), (sh, sw): (i32, i32), padding: Padding, pad: Option<Pad>) -> Result<Window, ImportError> {
    let (out_h, pad_top) = axis(op, padding, input.shape.h, kh, sh, pad.map(|p| (p.top, p.bottom)))?;
    let (out_w, pad_left) = axis(op, padding, input.shape.w, kw, sw, pad.map(|p| (p.left, p.right)))?;
    let small = |x: usize| u8::try_from(x).map_err(|_| ImportError::op(op, "kernel or stride above 255"));
    Ok(Window {
        kernel_h: small(kh)?,
        kernel_w: small(kw)?,
        stride_h: small(sh.max(1) as usize)?,
        stride_w: small(sw.max(1) as usize)?,
        pad_top,
        pad_left,
        out_h,
        out_w,
    })
}

/// Input, weights and output of a conv-like operator (inputs: data, filter, bias).
fn operands<'g, 'm>(g: &'g Graph<'m>, op: &Op<'m>, pad: Option<Pad>) -> Result<(TensorSpec, &'g Tensor<'m>, TensorSpec), ImportError> {
    if op.inputs.len() < 2 {
        return Err(ImportError::op(op, "needs an input and a filter"));
    }
    let input = spec(g.tensor(pad.map_or(op.inputs[0], |p| p.input)), "input")?;
    Ok((input, g.tensor(op.inputs[1]), spec(g.tensor(op.outputs[0]), "output")?))
}

pub fn conv(g: &Graph<'_>, op: &Op<'_>, pad: Option<Pad>) -> Result<Layer, ImportError> {
    let o = op.options.builtin_options_as_conv_2doptions().ok_or_else(|| ImportError::op(op, "no options"))?;
    if o.dilation_h_factor() != 1 || o.dilation_w_factor() != 1 {
        return Err(ImportError::op(op, "dilated convolution is not supported"));
    }
    let (input, filter, output) = operands(g, op, pad)?;
    let [oc, kh, kw, ic] = filter.shape[..] else { return Err(ImportError::op(op, "filter is not 4-D")) };
    if ic != i32::from(input.shape.c) || oc <= 0 {
        return Err(ImportError::op(op, "filter does not match the input's channels (grouped convolution is not supported)"));
    }
    let (data, s_w) = weights(op, filter, oc as usize, 0)?;
    let window = window(op, &input, (kh as usize, kw as usize), (o.stride_h(), o.stride_w()), o.padding(), pad)?;
    Ok(Layer::Conv {
        out_channels: oc as u16,
        window,
        weights: data.to_vec(),
        channels: channels(op, g, op.inputs.get(2).copied(), input.quant.scale, &s_w, output.quant.scale)?,
        output: output.quant,
        activation: activation(op, o.fused_activation_function())?,
    })
}

pub fn depthwise(g: &Graph<'_>, op: &Op<'_>, pad: Option<Pad>) -> Result<Layer, ImportError> {
    let o = op.options.builtin_options_as_depthwise_conv_2doptions().ok_or_else(|| ImportError::op(op, "no options"))?;
    if o.dilation_h_factor() != 1 || o.dilation_w_factor() != 1 {
        return Err(ImportError::op(op, "dilated convolution is not supported"));
    }
    let (input, filter, output) = operands(g, op, pad)?;
    let [1, kh, kw, oc] = filter.shape[..] else { return Err(ImportError::op(op, "filter is not [1, H, W, C·M]")) };
    let ic = i32::from(input.shape.c);
    if oc <= 0 || oc % ic != 0 {
        return Err(ImportError::op(op, "output channels are not a multiple of the input's"));
    }
    let (data, s_w) = weights(op, filter, oc as usize, 3)?;
    let window = window(op, &input, (kh as usize, kw as usize), (o.stride_h(), o.stride_w()), o.padding(), pad)?;
    Ok(Layer::Depthwise {
        multiplier: (oc / ic) as u16,
        window,
        weights: data.to_vec(),
        channels: channels(op, g, op.inputs.get(2).copied(), input.quant.scale, &s_w, output.quant.scale)?,
        output: output.quant,
        activation: activation(op, o.fused_activation_function())?,
    })
}

pub fn dense(g: &Graph<'_>, op: &Op<'_>) -> Result<Layer, ImportError> {
    let o = op.options.builtin_options_as_fully_connected_options();
    let (input, filter, output) = operands(g, op, None)?;
    let [out, inn] = filter.shape[..] else { return Err(ImportError::op(op, "weights are not [out, in]")) };
    if inn as usize != input.shape.len() || out <= 0 {
        return Err(ImportError::op(op, "weights do not match the input (batch 1 only)"));
    }
    let (data, s_w) = weights(op, filter, out as usize, 0)?;
    Ok(Layer::Dense {
        out_features: out as u16,
        weights: data.to_vec(),
        channels: channels(op, g, op.inputs.get(2).copied(), input.quant.scale, &s_w, output.quant.scale)?,
        output: output.quant,
        activation: activation(op, o.map_or(Act::NONE, |o| o.fused_activation_function()))?,
    })
}

pub fn max_pool(g: &Graph<'_>, op: &Op<'_>) -> Result<Layer, ImportError> {
    let o = op.options.builtin_options_as_pool_2doptions().ok_or_else(|| ImportError::op(op, "no options"))?;
    let (input, output) = (spec(g.tensor(op.inputs[0]), "input")?, spec(g.tensor(op.outputs[0]), "output")?);
    if input.quant != output.quant || o.fused_activation_function() != Act::NONE {
        return Err(ImportError::op(op, "a max-pool that rescales or clamps is not supported"));
    }
    let k = (o.filter_height() as usize, o.filter_width() as usize);
    Ok(Layer::MaxPool(window(op, &input, k, (o.stride_h(), o.stride_w()), o.padding(), None)?))
}

/// AVERAGE_POOL_2D (Pool2DOptions: filter size, strides, 'SAME' / 'VALID', fused activation).
/// TFLite's int8 kernel averages q itself, so input and output must be quantized alike.
pub fn avg_pool(g: &Graph<'_>, op: &Op<'_>) -> Result<Layer, ImportError> {
    let o = op.options.builtin_options_as_pool_2doptions().ok_or_else(|| ImportError::op(op, "no options"))?;
    let (input, output) = (spec(g.tensor(op.inputs[0]), "input")?, spec(g.tensor(op.outputs[0]), "output")?);
    if input.quant != output.quant {
        let (i, o) = (input.quant, output.quant);
        let (from, to) = (format!("{} / {}", i.scale, i.zero_point), format!("{} / {}", o.scale, o.zero_point));
        return Err(ImportError::op(op, format!("input and output quantization differ (scale / zero point {from} → {to}): an average pool that rescales is not supported")));
    }
    let (kh, kw, sh, sw) = (o.filter_height(), o.filter_width(), o.stride_h(), o.stride_w());
    if kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 {
        return Err(ImportError::op(op, format!("filter {kh}×{kw} with strides {sh}×{sw} (all must be positive)")));
    }
    let window = window(op, &input, (kh as usize, kw as usize), (sh, sw), o.padding(), None)?;
    if (window.out_h, window.out_w) != (output.shape.h, output.shape.w) {
        return Err(ImportError::op(op, "output shape does not match the window"));
    }
    let activation = activation(op, o.fused_activation_function())?;
    Ok(Layer::AvgPool(AvgPoolDef { window, output: output.quant, activation }))
}

/// MEAN over H and W of a 4-D tensor.
pub fn mean(g: &Graph<'_>, op: &Op<'_>) -> Result<Layer, ImportError> {
    let axes = op.inputs.get(1).and_then(|&a| g.tensor(a).i32_data());
    let mut axes = axes.ok_or_else(|| ImportError::op(op, "axes are not constant int32"))?;
    axes.sort_unstable();
    let (input, output) = (spec(g.tensor(op.inputs[0]), "input")?, spec(g.tensor(op.outputs[0]), "output")?);
    if axes != [1, 2] || output.shape.h != 1 || output.shape.w != 1 || output.shape.c != input.shape.c {
        return Err(ImportError::op(op, format!("MEAN over axes {axes:?} (only over H and W)")));
    }
    // TFLite's Prepare: QuantizeMultiplier(double(s_in) / double(s_out)); Eval folds 1/(H·W).
    let multiplier = multiplier_from_real(f64::from(input.quant.scale) / f64::from(output.quant.scale));
    Ok(Layer::Mean(MeanDef { multiplier, output: output.quant }))
}

pub fn softmax(g: &Graph<'_>, op: &Op<'_>) -> Result<Layer, ImportError> {
    let beta = op.options.builtin_options_as_softmax_options().map_or(1.0, |o| o.beta());
    let (input, output) = (spec(g.tensor(op.inputs[0]), "input")?, spec(g.tensor(op.outputs[0]), "output")?);
    if output.quant != (Quant { scale: 1.0 / 256.0, zero_point: -128 }) {
        return Err(ImportError::op(op, "int8 softmax output must have scale 1/256 and zero point −128"));
    }
    let (input_multiplier, input_left_shift, diff_min) = softmax_params(f64::from(beta), input.quant.scale);
    Ok(Layer::Softmax(SoftmaxDef { input_multiplier, input_left_shift, diff_min, output: output.quant }))
}

/// LOGISTIC: TFLite's reference kernel is a 256-entry table its Prepare fills in float; the
/// layer carries that table (`logistic_table`). TFLite requires the output scale 1/256.
pub fn logistic(g: &Graph<'_>, op: &Op<'_>) -> Result<Layer, ImportError> {
    let (input, output) = (spec(g.tensor(op.inputs[0]), "input")?, spec(g.tensor(op.outputs[0]), "output")?);
    if output.quant.scale.to_bits() != (1.0f32 / 256.0).to_bits() {
        return Err(ImportError::op(op, "int8 logistic output must have scale 1/256"));
    }
    Ok(Layer::Logistic { table: logistic_table(input.quant, output.quant).to_vec(), output: output.quant })
}

/// RESHAPE changes no bytes; infer-core flattens for dense layers and softmax works on the
/// channels, so a reshape is kept only where the layout the next layer sees does not change.
pub fn check_reshape(g: &Graph<'_>, op: &Op<'_>, next: Option<&Op<'_>>) -> Result<(), ImportError> {
    let (i, o) = (g.tensor(op.inputs[0]), g.tensor(op.outputs[0]));
    let count = |t: &Tensor<'_>| t.shape.iter().try_fold(1i64, |n, &d| n.checked_mul(i64::from(d)));
    let flat = |t: &Tensor<'_>| t.shape.iter().rev().skip(1).all(|&d| d == 1);
    let ok = count(i).is_some() && count(i) == count(o) && ((flat(i) && flat(o)) || next.is_some_and(|n| n.code == B::FULLY_CONNECTED));
    if ok {
        Ok(())
    } else {
        Err(ImportError::op(op, format!("RESHAPE {:?} → {:?} is not supported here", i.shape, o.shape)))
    }
}

/// A PAD with the zero point as pad value before a 'VALID' convolution folds into its window.
pub fn foldable_pad(g: &Graph<'_>, op: &Op<'_>, next: Option<&Op<'_>>) -> Result<Pad, ImportError> {
    let pads = op.inputs.get(1).and_then(|&p| g.tensor(p).i32_data());
    let Some([0, 0, top, bottom, left, right, 0, 0]) = pads.as_deref().and_then(|p| <[i32; 8]>::try_from(p).ok()) else {
        return Err(ImportError::op(op, "only constant padding of H and W can be folded"));
    };
    let value_is_zp = op.inputs.get(2).is_none_or(|&v| v < 0); // PADV2's value, if any, is refused
    let conv = next.is_some_and(|n| n.code == B::CONV_2D || n.code == B::DEPTHWISE_CONV_2D);
    let small = |x: i32| u8::try_from(x).ok();
    match (value_is_zp && conv, small(top), small(left), u16::try_from(bottom), u16::try_from(right)) {
        (true, Some(top), Some(left), Ok(bottom), Ok(right)) => Ok(Pad { input: op.inputs[0], top, left, bottom, right }),
        _ => Err(ImportError::op(op, "a PAD not followed by a convolution cannot be folded (infer-core has no pad layer)")),
    }
}
