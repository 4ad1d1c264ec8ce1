//! Runs a [`FloatGraph`] with tch (NCHW, batched): to check an export against the model it
//! came from, and to observe every layer's output for calibration.

use infer_core::{Activation, Window};
use tch::{Device, Kind, Tensor};

use super::graph::{FloatGraph, FloatLayer};

/// The graph's weights as tch tensors on one device, ready to run batches.
pub struct TchGraph<'g> {
    graph: &'g FloatGraph,
    /// Per layer: (filter in PyTorch layout, bias), for the layers that have weights.
    params: Vec<Option<(Tensor, Tensor)>>,
    device: Device,
}

fn tensor(v: &[f32], shape: &[i64], device: Device) -> Tensor {
    Tensor::from_slice(v).view(shape).to_device(device)
}

/// Pads `x` [N, C, H, W] so that an unpadded sliding window gives exactly `w`'s output:
/// `pad_top`/`pad_left` explicit, bottom/right whatever the output size implies (negative
/// crops rows no window reads).
fn pad_for(x: &Tensor, w: &Window, value: f64) -> Tensor {
    let (h, wd) = (x.size()[2], x.size()[3]);
    let extra = |out: u16, stride: u8, k: u8, n: i64, pad: u8| {
        (i64::from(out) - 1) * i64::from(stride) + i64::from(k) - n - i64::from(pad)
    };
    let bottom = extra(w.out_h, w.stride_h, w.kernel_h, h, w.pad_top);
    let right = extra(w.out_w, w.stride_w, w.kernel_w, wd, w.pad_left);
    let pads = [i64::from(w.pad_left), right, i64::from(w.pad_top), bottom];
    if pads == [0, 0, 0, 0] {
        x.shallow_clone()
    } else {
        x.pad(pads, "constant", value)
    }
}

fn activate(x: Tensor, a: Activation) -> Tensor {
    match a {
        Activation::None => x,
        Activation::Relu => x.relu(),
        Activation::Relu6 => x.clamp(0.0, 6.0),
    }
}

fn max_pool(x: &Tensor, w: &Window) -> Tensor {
    let k = [i64::from(w.kernel_h), i64::from(w.kernel_w)];
    let s = [i64::from(w.stride_h), i64::from(w.stride_w)];
    pad_for(x, w, f64::NEG_INFINITY).max_pool2d(k, s, [0, 0], [1, 1], false)
}

impl<'g> TchGraph<'g> {
    pub fn new(graph: &'g FloatGraph, device: Device) -> TchGraph<'g> {
        let mut params = Vec::with_capacity(graph.layers.len());
        for layer in &graph.layers {
            params.push(match layer {
                FloatLayer::Conv { out_channels, window, weights, bias, .. } => {
                    let (o, kh, kw) =
                        (*out_channels as i64, i64::from(window.kernel_h), i64::from(window.kernel_w));
                    let channels = weights.len() as i64 / (o * kh * kw).max(1);
                    let w =
                        tensor(weights, &[o, kh, kw, channels], device).permute([0, 3, 1, 2]).contiguous();
                    Some((w, tensor(bias, &[o], device)))
                }
                FloatLayer::Depthwise { window, weights, bias, .. } => {
                    // One bias per output channel (input channels × depth multiplier).
                    let (c, kh, kw) =
                        (bias.len() as i64, i64::from(window.kernel_h), i64::from(window.kernel_w));
                    let w =
                        tensor(weights, &[kh, kw, c], device).permute([2, 0, 1]).unsqueeze(1).contiguous();
                    Some((w, tensor(bias, &[c], device)))
                }
                FloatLayer::Dense { out_features, weights, bias, .. } => {
                    let o = *out_features as i64;
                    Some((
                        tensor(weights, &[o, weights.len() as i64 / o], device),
                        tensor(bias, &[o], device),
                    ))
                }
                _ => None,
            });
        }
        TchGraph { graph, params, device }
    }

    /// Float input `[N, 1, H, W]` for 8-bit pixels `[N, 1, H, W]` (u8), exactly what the int8
    /// input declares: `(pixel − 128 − zero_point) · scale`.
    pub fn input_from_pixels(&self, pixels: &Tensor) -> Tensor {
        let q = self.graph.input_quant;
        (pixels.to_device(self.device).to_kind(Kind::Float) - 128.0 - f64::from(q.zero_point))
            * f64::from(q.scale)
    }

    /// Runs the graph on float input `[N, C, H, W]`; `observe(i, out)` sees every layer's
    /// output. Returns the last layer's output `[N, C, H, W]`.
    pub fn run(&self, input: &Tensor, mut observe: impl FnMut(usize, &Tensor)) -> Tensor {
        tch::no_grad(|| {
            let mut x = input.to_device(self.device);
            let mut slots: Vec<Option<Tensor>> = (0..infer_core::MAX_SLOTS).map(|_| None).collect();
            for (i, layer) in self.graph.layers.iter().enumerate() {
                let p = self.params[i].as_ref();
                x = match layer {
                    FloatLayer::Conv { window, activation, pool, .. } => {
                        let (w, b) = p.expect("conv has weights");
                        let s = [i64::from(window.stride_h), i64::from(window.stride_w)];
                        let y = pad_for(&x, window, 0.0).conv2d(w, Some(b), s, [0, 0], [1, 1], 1);
                        let y = activate(y, *activation);
                        match pool {
                            Some(pw) => max_pool(&y, pw),
                            None => y,
                        }
                    }
                    FloatLayer::Depthwise { window, activation, .. } => {
                        let (w, b) = p.expect("depthwise has weights");
                        let s = [i64::from(window.stride_h), i64::from(window.stride_w)];
                        let groups = x.size()[1];
                        let y = pad_for(&x, window, 0.0).conv2d(w, Some(b), s, [0, 0], [1, 1], groups);
                        activate(y, *activation)
                    }
                    FloatLayer::Dense { activation, .. } => {
                        let (w, b) = p.expect("dense has weights");
                        let flat = x.permute([0, 2, 3, 1]).flatten(1, -1);
                        let y = flat.linear(w, Some(b));
                        activate(y, *activation).unsqueeze(-1).unsqueeze(-1)
                    }
                    FloatLayer::MaxPool(w) => max_pool(&x, w),
                    FloatLayer::GlobalAvgPool => x.mean_dim([2i64, 3].as_slice(), true, Kind::Float),
                    FloatLayer::Save { slot } => {
                        slots[usize::from(*slot)] = Some(x.shallow_clone());
                        x
                    }
                    FloatLayer::Add { slot, activation } => {
                        let saved = slots[usize::from(*slot)].as_ref().expect("add of a saved slot");
                        activate(&x + saved, *activation)
                    }
                };
                observe(i, &x);
            }
            x
        })
    }
}
