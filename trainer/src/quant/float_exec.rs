//! Runs a [`FloatGraph`] with tch (NCHW, batched): to check an export against the model it
//! came from, and to observe every layer's output for calibration. With
//! [`TchGraph::with_fake_quant`] the same code simulates the int8 model in float: fed the
//! dequantized weights ([`super::quantize::QuantModel::dequantized_graph`]), it rounds every
//! quantized tensor to its int8 grid, which is what per-layer bias correction measures.
//! [`TchGraph::for_training`] keeps gradients instead: trainable weights rounded per output
//! channel and outputs rounded to their grid, both with straight-through gradients, which is
//! what quantization-aware fine-tuning ([`super::qat`]) trains.

use infer_core::{Activation, Quant, Window};
use tch::{Device, Kind, Tensor};

use super::graph::{FloatGraph, FloatLayer};

/// The graph's weights as tch tensors on one device, ready to run batches.
pub struct TchGraph<'g> {
    graph: &'g FloatGraph,
    /// Per layer: (filter in PyTorch layout, bias), for the layers that have weights.
    params: Vec<Option<(Tensor, Tensor)>>,
    device: Device,
    /// Some: each layer's output is rounded to this quantization (the int8 engine in float).
    fake_quant: Option<Vec<Quant>>,
    /// Training: weights rounded per output channel and outputs rounded, with gradients.
    training: bool,
}

/// Saved tensors of residual slots while a graph runs.
pub type Slots = Vec<Option<Tensor>>;

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

/// `x` rounded to the int8 grid of `q` and clamped to its 256 levels, as real values.
pub fn fake_quantize(x: &Tensor, q: Quant) -> Tensor {
    let (scale, zp) = (f64::from(q.scale), f64::from(q.zero_point));
    (((x / scale).round() + zp).clamp(-128.0, 127.0) - zp) * scale
}

/// `x` rounded to the int8 grid of `q`, with torch's straight-through gradient (1 inside the
/// grid's range, 0 where the value is clamped).
fn fake_quantize_ste(x: &Tensor, q: Quant) -> Tensor {
    x.fake_quantize_per_tensor_affine(f64::from(q.scale), i64::from(q.zero_point), -128, 127)
}

/// Weights `[O, …]` rounded symmetrically per output channel (scale = max|w| / 127, the
/// convention of [`super::quantize`]), gradient passed straight through the rounding.
fn weight_quantize_ste(w: &Tensor) -> Tensor {
    let dims: Vec<i64> = (1..w.dim() as i64).collect();
    let rounded = tch::no_grad(|| {
        let scale = (w.abs().amax(dims.as_slice(), true) / 127.0).clamp_min(1e-12);
        (w / &scale).round().clamp(-127.0, 127.0) * scale
    });
    w + (rounded - w).detach()
}

/// A weighted layer's (filter in PyTorch layout, bias); None for layers without weights.
pub fn layer_params(layer: &FloatLayer, device: Device) -> Option<(Tensor, Tensor)> {
    match layer {
        FloatLayer::Conv { out_channels, window, weights, bias, .. } => {
            let (o, kh, kw) = (*out_channels as i64, i64::from(window.kernel_h), i64::from(window.kernel_w));
            let channels = weights.len() as i64 / (o * kh * kw).max(1);
            let w = tensor(weights, &[o, kh, kw, channels], device).permute([0, 3, 1, 2]).contiguous();
            Some((w, tensor(bias, &[o], device)))
        }
        FloatLayer::Depthwise { window, weights, bias, .. } => {
            // One bias per output channel (input channels × depth multiplier).
            let (c, kh, kw) = (bias.len() as i64, i64::from(window.kernel_h), i64::from(window.kernel_w));
            let w = tensor(weights, &[kh, kw, c], device).permute([2, 0, 1]).unsqueeze(1).contiguous();
            Some((w, tensor(bias, &[c], device)))
        }
        FloatLayer::Dense { out_features, weights, bias, .. } => {
            let o = *out_features as i64;
            Some((tensor(weights, &[o, weights.len() as i64 / o], device), tensor(bias, &[o], device)))
        }
        _ => None,
    }
}

fn max_pool(x: &Tensor, w: &Window) -> Tensor {
    let k = [i64::from(w.kernel_h), i64::from(w.kernel_w)];
    let s = [i64::from(w.stride_h), i64::from(w.stride_w)];
    pad_for(x, w, f64::NEG_INFINITY).max_pool2d(k, s, [0, 0], [1, 1], false)
}

impl<'g> TchGraph<'g> {
    pub fn new(graph: &'g FloatGraph, device: Device) -> TchGraph<'g> {
        let params = graph.layers.iter().map(|l| layer_params(l, device)).collect();
        TchGraph { graph, params, device, fake_quant: None, training: false }
    }

    /// The graph with `params` (as [`layer_params`] lays them out, trainable) in place of its
    /// own weights, simulating the int8 model with gradients: weights rounded per output
    /// channel, each layer's output rounded to `outputs[i]`. Run it with [`TchGraph::forward`].
    pub fn for_training(
        graph: &'g FloatGraph,
        params: Vec<Option<(Tensor, Tensor)>>,
        outputs: Vec<Quant>,
        device: Device,
    ) -> TchGraph<'g> {
        TchGraph { graph, params, device, fake_quant: Some(outputs), training: true }
    }

    /// Rounds each layer's output to `outputs[i]` (one per layer, as
    /// [`super::quantize::LayerIo::output`]): with dequantized weights, the int8 model in float.
    pub fn with_fake_quant(mut self, outputs: Vec<Quant>) -> TchGraph<'g> {
        self.fake_quant = Some(outputs);
        self
    }

    /// Replaces layer `i`'s weights and bias (after a correction).
    pub fn set_layer(&mut self, i: usize, layer: &FloatLayer) {
        self.params[i] = layer_params(layer, self.device);
    }

    /// Float input `[N, 1, H, W]` for 8-bit pixels `[N, 1, H, W]` (u8), exactly what the int8
    /// input declares: `(pixel − 128 − zero_point) · scale`.
    pub fn input_from_pixels(&self, pixels: &Tensor) -> Tensor {
        let q = self.graph.input_quant;
        (pixels.to_device(self.device).to_kind(Kind::Float) - 128.0 - f64::from(q.zero_point))
            * f64::from(q.scale)
    }

    /// Empty residual slots for a run.
    pub fn slots() -> Slots {
        (0..infer_core::MAX_SLOTS).map(|_| None).collect()
    }

    /// Layer `i`'s weighted sum plus bias, before its activation: `[N, C, H, W]` for conv and
    /// depthwise, `[N, out]` for dense; None for layers without weights.
    pub fn pre_activation(&self, i: usize, x: &Tensor) -> Option<Tensor> {
        let (w, b) = self.params[i].as_ref()?;
        let quantized = self.training.then(|| weight_quantize_ste(w));
        let w = quantized.as_ref().unwrap_or(w);
        let conv = |window: &Window, groups: i64| {
            let s = [i64::from(window.stride_h), i64::from(window.stride_w)];
            pad_for(x, window, 0.0).conv2d(w, Some(b), s, [0, 0], [1, 1], groups)
        };
        match &self.graph.layers[i] {
            FloatLayer::Conv { window, .. } => Some(conv(window, 1)),
            FloatLayer::Depthwise { window, .. } => Some(conv(window, x.size()[1])),
            FloatLayer::Dense { .. } => Some(x.permute([0, 2, 3, 1]).flatten(1, -1).linear(w, Some(b))),
            _ => None,
        }
    }

    /// Runs layer `i` on `x` (the previous layer's output); `slots` carries residuals.
    pub fn step(&self, i: usize, x: &Tensor, slots: &mut Slots) -> Tensor {
        let round = |y: Tensor| match &self.fake_quant {
            Some(q) if self.training => fake_quantize_ste(&y, q[i]),
            Some(q) => fake_quantize(&y, q[i]),
            None => y,
        };
        let weighted = || self.pre_activation(i, x).expect("a weighted layer has weights");
        match &self.graph.layers[i] {
            FloatLayer::Conv { activation, pool, .. } => {
                let y = round(activate(weighted(), *activation));
                match pool {
                    Some(pw) => max_pool(&y, pw),
                    None => y,
                }
            }
            FloatLayer::Depthwise { activation, .. } => round(activate(weighted(), *activation)),
            FloatLayer::Dense { activation, .. } => {
                round(activate(weighted(), *activation)).unsqueeze(-1).unsqueeze(-1)
            }
            FloatLayer::MaxPool(w) => max_pool(x, w),
            FloatLayer::GlobalAvgPool => round(x.mean_dim([2i64, 3].as_slice(), true, Kind::Float)),
            FloatLayer::Save { slot } => {
                slots[usize::from(*slot)] = Some(x.shallow_clone());
                x.shallow_clone()
            }
            FloatLayer::Add { slot, activation } => {
                let saved = slots[usize::from(*slot)].as_ref().expect("add of a saved slot");
                round(activate(x + saved, *activation))
            }
        }
    }

    /// Runs the graph on float input `[N, C, H, W]`; `observe(i, out)` sees every layer's
    /// output. Returns the last layer's output `[N, C, H, W]`.
    pub fn run(&self, input: &Tensor, observe: impl FnMut(usize, &Tensor)) -> Tensor {
        tch::no_grad(|| self.forward_observed(input, observe))
    }

    /// [`TchGraph::run`] keeping the autograd graph (for training).
    pub fn forward(&self, input: &Tensor) -> Tensor {
        self.forward_observed(input, |_, _| ())
    }

    fn forward_observed(&self, input: &Tensor, mut observe: impl FnMut(usize, &Tensor)) -> Tensor {
        let mut x = input.to_device(self.device);
        let mut slots = Self::slots();
        for i in 0..self.graph.layers.len() {
            x = self.step(i, &x, &mut slots);
            observe(i, &x);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_quantize_rounds_to_the_grid_and_clamps() {
        let q = Quant { scale: 0.5, zero_point: -28 };
        // Levels are (k + 28) · 0.5 for k in −128..=127: from −50 to 77.5.
        let x = Tensor::from_slice(&[0.2f32, 0.3, -1.26, 100.0, -100.0]);
        let y = Vec::<f32>::try_from(fake_quantize(&x, q)).expect("floats");
        assert_eq!(y, vec![0.0, 0.5, -1.5, 77.5, -50.0]);
        // The training version rounds the same way, except for exact halves (torch rounds
        // those to even, like `round` here on these values).
        let ste = Vec::<f32>::try_from(fake_quantize_ste(&x, q)).expect("floats");
        assert_eq!(ste, y);
    }

    #[test]
    fn training_rounding_passes_gradients_straight_through() {
        let q = Quant { scale: 0.5, zero_point: 0 };
        let x = Tensor::from_slice(&[0.2f32, 1.3, 100.0]).set_requires_grad(true);
        fake_quantize_ste(&x, q).sum(Kind::Float).backward();
        // Inside the grid's range the gradient is 1; clamped values get none.
        assert_eq!(Vec::<f32>::try_from(x.grad()).expect("floats"), vec![1.0, 1.0, 0.0]);

        let w =
            Tensor::from_slice(&[1.0f32, 0.3, -0.01, 2.0, 0.5, 0.26]).view([2, 3]).set_requires_grad(true);
        let r = weight_quantize_ste(&w);
        // Per row: scale max|w| / 127, so each row's largest weight is exact.
        let rv = Vec::<f32>::try_from(r.flatten(0, -1)).expect("floats");
        assert_eq!((rv[0], rv[3]), (1.0, 2.0));
        assert!((rv[2] - (-1.0 / 127.0)).abs() < 1e-6, "{rv:?}");
        r.sum(Kind::Float).backward();
        assert_eq!(Vec::<f32>::try_from(w.grad().flatten(0, -1)).expect("floats"), vec![1.0; 6]);
    }
}
