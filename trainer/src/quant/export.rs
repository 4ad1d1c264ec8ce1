//! Exporters: trained tch models → [`FloatGraph`] in the engine's layouts.
//!
//! PyTorch stores conv filters OIHW and the engine OHWI; the seed CNN flattens C, H, W before
//! its dense layer and the engine H, W, C, so the dense columns are permuted here.

use anyhow::{ensure, Result};
use infer_core::{Activation, Quant, Shape, Window};
use tch::{nn, Kind, Tensor};

use super::graph::{FloatGraph, FloatLayer};
use crate::models::mobilenet_v2::{ConvUnit, MobileNetV2, Norm};
use crate::models::transfer::Head;
use crate::models::SeedCnn;

/// A float tensor's values in row-major order.
pub fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(
        t.detach().to_kind(tch::Kind::Float).to_device(tch::Device::Cpu).contiguous().flatten(0, -1),
    )
    .expect("a float tensor converts to Vec<f32>")
}

/// OIHW → OHWI.
pub fn oihw_to_ohwi(w: &Tensor) -> Vec<f32> {
    to_vec(&w.permute([0, 2, 3, 1]))
}

fn side(n: u16) -> Result<u8> {
    u8::try_from(n).map_err(|_| anyhow::anyhow!("window parameter {n} does not fit the blob's u8"))
}

/// The seed CNN: six conv 3×3 'same' + ReLU + fused 2×2/2 'same' max-pool, then dense.
/// Dropout is the identity at inference and disappears.
pub fn seed_cnn(net: &SeedCnn) -> Result<FloatGraph> {
    ensure!(
        net.outputs == 1 || net.outputs == 3,
        "the seed CNN has {} outputs; 1 (binary) or 3 (normal / bacterial / viral) can be quantized",
        net.outputs
    );
    let size = u16::try_from(net.image_size)?;
    let input = Shape { h: size, w: size, c: 1 };
    let mut layers = Vec::new();
    let (mut h, mut w) = (size, size);
    for conv in &net.convs {
        let window = Window::same(3, 1, h, w);
        let pool = Window::same(2, 2, window.out_h, window.out_w);
        side(window.out_h)?;
        layers.push(FloatLayer::Conv {
            out_channels: conv.ws.size()[0] as usize,
            window,
            weights: oihw_to_ohwi(&conv.ws),
            bias: to_vec(conv.bs.as_ref().expect("seed convs have a bias")),
            activation: Activation::Relu,
            pool: Some(pool),
        });
        (h, w) = (pool.out_h, pool.out_w);
    }
    // Dense columns: tch index c·H·W + y·W + x → engine index (y·W + x)·C + c.
    let channels = net.convs.last().map_or(1, |c| c.ws.size()[0]);
    let (fh, fw) = (i64::from(h), i64::from(w));
    let dense = net.dense.ws.view([net.outputs, channels, fh, fw]).permute([0, 2, 3, 1]);
    layers.push(FloatLayer::Dense {
        out_features: net.outputs as usize,
        weights: to_vec(&dense),
        bias: to_vec(net.dense.bs.as_ref().expect("the dense layer has a bias")),
        activation: Activation::None,
    });
    Ok(FloatGraph {
        input,
        input_quant: Quant { scale: 1.0 / 255.0, zero_point: -128 },
        float_input: "pixel / 255",
        layers,
        classes: if net.outputs == 3 {
            crate::eval::classes::CLASS_LABELS.iter().map(|s| s.to_string()).collect()
        } else {
            vec!["normal".into(), "pneumonia".into()]
        },
    })
}

/// Float model input minus int8 input, for MobileNetV2: `(2p/255 − 1) − (p − 128)·2/255`.
pub const STEM_INPUT_OFFSET: f64 = 1.0 / 255.0;

/// A conv unit's filter and bias with its BatchNorm folded in:
/// `w' = w · γ/√(σ² + ε)`, `b' = β + (b − μ) · γ/√(σ² + ε)`.
fn folded(unit: &ConvUnit, norm: Norm) -> (Tensor, Tensor) {
    let w = unit.conv.ws.detach().to_kind(Kind::Float);
    let out = w.size()[0];
    let b = match &unit.conv.bs {
        Some(b) => b.detach().to_kind(Kind::Float),
        None => Tensor::zeros([out], (Kind::Float, w.device())),
    };
    match (&unit.bn, norm) {
        (Some(bn), Norm::BatchNorm { eps, .. }) => {
            let bn = &bn.bn;
            let gamma =
                bn.ws.as_ref().map_or_else(|| Tensor::ones([out], (Kind::Float, w.device())), |t| t.detach());
            let beta = bn
                .bs
                .as_ref()
                .map_or_else(|| Tensor::zeros([out], (Kind::Float, w.device())), |t| t.detach());
            let scale = gamma / (bn.running_var.detach() + eps).sqrt();
            let w = &w * scale.view([out, 1, 1, 1]);
            let b = beta + (b - bn.running_mean.detach()) * &scale;
            (w, b)
        }
        _ => (w, b),
    }
}

/// One conv unit → a conv or depthwise layer over an `h`×`w` input (TF 'SAME').
///
/// `stem_offset`: for the first conv only, the constant by which the int8 input's real value
/// sits below the float model's input; the three grey channels are summed into one filter
/// and `offset · Σw` is added to the bias, so every output whose taps all lie inside the
/// image is exactly the float model's.
fn conv_unit(unit: &ConvUnit, norm: Norm, h: u16, w: u16, stem_offset: Option<f64>) -> Result<FloatLayer> {
    let (weights, mut bias) = folded(unit, norm);
    let k = u8::try_from(unit.kernel)?;
    let window = Window::same(k, u8::try_from(unit.stride)?, h, w);
    let activation = if unit.relu6 { Activation::Relu6 } else { Activation::None };
    Ok(if unit.groups > 1 {
        // [C, 1, kh, kw] → [1, kh, kw, C].
        FloatLayer::Depthwise {
            depth_multiplier: 1,
            window,
            weights: to_vec(&weights.permute([1, 2, 3, 0])),
            bias: to_vec(&bias),
            activation,
        }
    } else {
        let weights = match stem_offset {
            Some(offset) => {
                // The stem sees the grey image three times: one channel with the summed filter.
                let summed = weights.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
                bias += summed.sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Float) * offset;
                summed
            }
            None => weights,
        };
        FloatLayer::Conv {
            out_channels: weights.size()[0] as usize,
            window,
            weights: oihw_to_ohwi(&weights),
            bias: to_vec(&bias),
            activation,
            pool: None,
        }
    })
}

/// MobileNetV2 base (BN folded, grey input) → `head` (global average pool → dense, or the
/// seed's conv head). Dropout is the identity at inference.
///
/// The float model sees `2·pixel/255 − 1` on three identical channels; the int8 input is
/// `q = pixel − 128` with scale 2/255, i.e. `(pixel − 128)·2/255 = float input − 1/255`, with
/// the same zero-valued 'SAME' padding as the float model. The stem's bias absorbs the
/// 1/255 (see [`conv_unit`]), so only stem outputs that touch the bottom/right padding differ.
pub fn mobilenet_v2(base: &MobileNetV2, head: &Head, image_size: i64) -> Result<FloatGraph> {
    let size = u16::try_from(image_size)?;
    let norm = base.config.norm;
    let mut layers = Vec::new();
    let (mut h, mut w) = (size, size);
    // Appends a conv layer and moves the running size to its output.
    fn push(layer: FloatLayer, layers: &mut Vec<FloatLayer>, h: &mut u16, w: &mut u16) {
        if let FloatLayer::Conv { window, .. } | FloatLayer::Depthwise { window, .. } = &layer {
            (*h, *w) = (window.out_h, window.out_w);
        }
        layers.push(layer);
    }
    push(conv_unit(&base.stem, norm, h, w, Some(STEM_INPUT_OFFSET))?, &mut layers, &mut h, &mut w);
    for block in &base.blocks {
        if block.residual {
            layers.push(FloatLayer::Save { slot: 0 });
        }
        for unit in block.units() {
            push(conv_unit(unit, norm, h, w, None)?, &mut layers, &mut h, &mut w);
        }
        if block.residual {
            layers.push(FloatLayer::Add { slot: 0, activation: Activation::None });
        }
    }
    push(conv_unit(&base.last, norm, h, w, None)?, &mut layers, &mut h, &mut w);
    layers.extend(head_layers(head, h, w)?);
    Ok(FloatGraph {
        input: Shape { h: size, w: size, c: 1 },
        input_quant: Quant { scale: 2.0 / 255.0, zero_point: 0 },
        float_input: "2 * pixel / 255 - 1, repeated to 3 channels",
        layers,
        classes: vec!["normal".into(), "pneumonia".into()],
    })
}

/// A dense layer from a tch linear layer (`[out, in]` weights, as the engine stores them).
fn dense(l: &nn::Linear) -> Result<FloatLayer> {
    Ok(FloatLayer::Dense {
        out_features: l.ws.size()[0] as usize,
        weights: to_vec(&l.ws),
        bias: to_vec(l.bs.as_ref().ok_or_else(|| anyhow::anyhow!("the dense layer has no bias"))?),
        activation: Activation::None,
    })
}

/// The head's layers on an `h`×`w` feature map.
fn head_layers(head: &Head, mut h: u16, mut w: u16) -> Result<Vec<FloatLayer>> {
    let mut layers = Vec::new();
    if let Head::Seed(seed) = head {
        for (i, conv) in seed.convs.iter().enumerate() {
            let window = Window::same(3, 1, h, w);
            // Pools after the first two convs only (the third feeds the average pool).
            let pool = (i + 1 < seed.convs.len()).then(|| Window::same(2, 2, window.out_h, window.out_w));
            (h, w) = pool.map_or((window.out_h, window.out_w), |p| (p.out_h, p.out_w));
            layers.push(FloatLayer::Conv {
                out_channels: conv.ws.size()[0] as usize,
                window,
                weights: oihw_to_ohwi(&conv.ws),
                bias: to_vec(conv.bs.as_ref().ok_or_else(|| anyhow::anyhow!("a head conv has no bias"))?),
                activation: Activation::Relu,
                pool,
            });
        }
    }
    layers.push(FloatLayer::GlobalAvgPool);
    layers.push(match head {
        Head::Gap(l) => dense(l)?,
        Head::Seed(seed) => dense(&seed.dense)?,
    });
    Ok(layers)
}
