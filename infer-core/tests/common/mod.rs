//! Host-side builder for test and bench models with deterministic pseudo-random weights.
//! Owns every byte buffer; `Net::def_layers` borrows them into the blob schema.
#![allow(dead_code)]

use infer_core::quant_math::{add_multipliers, logistic_table, multiplier_from_real, softmax_params};
use infer_core::{
    Activation, AddDef, AvgPoolDef, ChannelQuant, Conv2dDef, DenseDef, DepthwiseDef, LayerDef, LogisticDef, MeanDef, ModelDef,
    Quant, RequantizeDef, Shape, SoftmaxDef, TensorSpec, Window,
};

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub struct Chan {
    bias: Vec<u8>,
    mult: Vec<u8>,
    shift: Vec<u8>,
}

impl Chan {
    /// Small biases and multipliers that keep a random input's outputs spread over int8.
    fn random(rng: &mut Rng, n: usize, taps: usize) -> Chan {
        let (mut bias, mut mult, mut shift) = (vec![], vec![], vec![]);
        for _ in 0..n {
            let real = 0.012 / (taps as f64).sqrt() * (0.5 + rng.unit());
            let m = multiplier_from_real(real);
            bias.extend((rng.range(-2000, 2000) as i32).to_le_bytes());
            mult.extend(m.multiplier.to_le_bytes());
            shift.push(m.shift as u8);
        }
        Chan { bias, mult, shift }
    }
    fn def(&self) -> ChannelQuant<'_> {
        ChannelQuant { bias: &self.bias, multiplier: &self.mult, shift: &self.shift }
    }
}

pub enum L {
    Conv { oc: u16, window: Window, w: Vec<u8>, ch: Chan, out: Quant, act: Activation, pool: Option<Window> },
    Dw { m: u16, window: Window, w: Vec<u8>, ch: Chan, out: Quant, act: Activation },
    MaxPool(Window),
    Gap,
    Dense { o: u16, w: Vec<u8>, ch: Chan, out: Quant, act: Activation },
    Save(u8),
    Add(AddDef),
    Requant(RequantizeDef),
    Mean(MeanDef),
    Softmax(SoftmaxDef),
    Logistic(Vec<u8>, Quant),
    AvgPool(AvgPoolDef),
}

impl L {
    fn def(&self) -> LayerDef<'_> {
        match self {
            L::Conv { oc, window, w, ch, out, act, pool } => LayerDef::Conv2d(Conv2dDef {
                out_channels: *oc,
                window: *window,
                weights: w,
                channels: ch.def(),
                output: *out,
                activation: *act,
                pool: *pool,
            }),
            L::Dw { m, window, w, ch, out, act } => LayerDef::DepthwiseConv2d(DepthwiseDef {
                depth_multiplier: *m,
                window: *window,
                weights: w,
                channels: ch.def(),
                output: *out,
                activation: *act,
            }),
            L::MaxPool(w) => LayerDef::MaxPool(*w),
            L::Gap => LayerDef::GlobalAvgPool,
            L::Dense { o, w, ch, out, act } => LayerDef::Dense(DenseDef {
                out_features: *o,
                weights: w,
                channels: ch.def(),
                output: *out,
                activation: *act,
            }),
            L::Save(slot) => LayerDef::Save { slot: *slot },
            L::Add(a) => LayerDef::Add(*a),
            L::Requant(r) => LayerDef::Requantize(*r),
            L::Mean(m) => LayerDef::Mean(*m),
            L::Softmax(m) => LayerDef::Softmax(*m),
            L::Logistic(table, output) => LayerDef::Logistic(LogisticDef { table, output: *output }),
            L::AvgPool(a) => LayerDef::AvgPool(*a),
        }
    }
}

/// A model under construction; tracks the current tensor as layers are added.
pub struct Net {
    pub input: TensorSpec,
    pub cur: TensorSpec,
    pub layers: Vec<L>,
    saved: [Option<TensorSpec>; 4],
    rng: Rng,
}

fn weights(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.range(-127, 127) as i8 as u8).collect()
}

impl Net {
    pub fn new(shape: Shape, quant: Quant, seed: u64) -> Net {
        let input = TensorSpec { shape, quant };
        Net { input, cur: input, layers: vec![], saved: [None; 4], rng: Rng::new(seed) }
    }

    /// 'same' conv with an optional fused 2×2/2 'same' max-pool.
    pub fn conv(&mut self, k: u8, stride: u8, oc: u16, act: Activation, pool: bool, out: Quant) -> &mut Net {
        let s = self.cur.shape;
        self.conv_window(Window::same(k, stride, s.h, s.w), oc, act, pool, out)
    }

    /// Conv with any window (e.g. PyTorch's symmetric padding) and an optional fused 2×2/2
    /// 'same' max-pool.
    pub fn conv_window(&mut self, window: Window, oc: u16, act: Activation, pool: bool, out: Quant) -> &mut Net {
        let (s, k) = (self.cur.shape, window.kernel_h);
        assert_eq!(k, window.kernel_w, "square kernels only");
        let taps = usize::from(k) * usize::from(k) * usize::from(s.c);
        let pool = pool.then(|| Window::same(2, 2, window.out_h, window.out_w));
        let (h, w) = pool.map_or((window.out_h, window.out_w), |p| (p.out_h, p.out_w));
        let wts = weights(&mut self.rng, taps * usize::from(oc));
        let ch = Chan::random(&mut self.rng, usize::from(oc), taps);
        self.layers.push(L::Conv { oc, window, w: wts, ch, out, act, pool });
        self.cur = TensorSpec { shape: Shape { h, w, c: oc }, quant: out };
        self
    }

    pub fn depthwise(&mut self, k: u8, stride: u8, m: u16, act: Activation, out: Quant) -> &mut Net {
        let s = self.cur.shape;
        let window = Window::same(k, stride, s.h, s.w);
        let oc = s.c * m;
        let taps = usize::from(k) * usize::from(k);
        let w = weights(&mut self.rng, taps * usize::from(oc));
        let ch = Chan::random(&mut self.rng, usize::from(oc), taps);
        self.layers.push(L::Dw { m, window, w, ch, out, act });
        self.cur = TensorSpec { shape: Shape { h: window.out_h, w: window.out_w, c: oc }, quant: out };
        self
    }

    pub fn max_pool(&mut self, k: u8, stride: u8) -> &mut Net {
        let window = Window::same(k, stride, self.cur.shape.h, self.cur.shape.w);
        self.layers.push(L::MaxPool(window));
        self.cur.shape = Shape { h: window.out_h, w: window.out_w, c: self.cur.shape.c };
        self
    }

    /// TFLite's int8 AVERAGE_POOL_2D: kernel `kh × kw`, strides `sh`, `sw`, 'SAME' or
    /// 'VALID' padding, a fused activation; keeps the quantization.
    pub fn avg_pool(&mut self, (kh, kw): (u8, u8), (sh, sw): (u8, u8), same: bool, act: Activation) -> &mut Net {
        let s = self.cur.shape;
        let window = tf_window((kh, kw), (sh, sw), same, s.h, s.w);
        self.layers.push(L::AvgPool(AvgPoolDef { window, output: self.cur.quant, activation: act }));
        self.cur.shape = Shape { h: window.out_h, w: window.out_w, c: s.c };
        self
    }

    pub fn gap(&mut self) -> &mut Net {
        self.layers.push(L::Gap);
        self.cur.shape = Shape { h: 1, w: 1, c: self.cur.shape.c };
        self
    }

    pub fn dense(&mut self, o: u16, act: Activation, out: Quant) -> &mut Net {
        let i = self.cur.shape.len();
        let w = weights(&mut self.rng, i * usize::from(o));
        let ch = Chan::random(&mut self.rng, usize::from(o), i);
        self.layers.push(L::Dense { o, w, ch, out, act });
        self.cur = TensorSpec { shape: Shape { h: 1, w: 1, c: o }, quant: out };
        self
    }

    pub fn save(&mut self, slot: u8) -> &mut Net {
        self.saved[usize::from(slot)] = Some(self.cur);
        self.layers.push(L::Save(slot));
        self
    }

    pub fn add(&mut self, slot: u8, act: Activation, out: Quant) -> &mut Net {
        let saved = self.saved[usize::from(slot)].expect("add before save");
        let [input1, input2, output_multiplier] =
            add_multipliers(self.cur.quant.scale, saved.quant.scale, out.scale);
        self.layers.push(L::Add(AddDef {
            slot,
            input1,
            input2,
            output_multiplier,
            output: out,
            activation: act,
        }));
        self.cur.quant = out;
        self
    }

    pub fn requantize(&mut self, out: Quant) -> &mut Net {
        let multiplier = multiplier_from_real(f64::from(self.cur.quant.scale) / f64::from(out.scale));
        self.layers.push(L::Requant(RequantizeDef { multiplier, output: out }));
        self.cur.quant = out;
        self
    }

    /// TFLite's int8 MEAN over H and W (the importer's multiplier: unfolded s_in / s_out).
    pub fn mean(&mut self, out: Quant) -> &mut Net {
        let multiplier = multiplier_from_real(f64::from(self.cur.quant.scale) / f64::from(out.scale));
        self.layers.push(L::Mean(MeanDef { multiplier, output: out }));
        self.cur = TensorSpec { shape: Shape { h: 1, w: 1, c: self.cur.shape.c }, quant: out };
        self
    }

    /// TFLite's int8 softmax over channels, parameters as its Prepare computes them.
    pub fn softmax(&mut self, beta: f32) -> &mut Net {
        let (input_multiplier, input_left_shift, diff_min) = softmax_params(f64::from(beta), self.cur.quant.scale);
        let output = q(1.0 / 256.0, -128);
        self.layers.push(L::Softmax(SoftmaxDef { input_multiplier, input_left_shift, diff_min, output }));
        self.cur.quant = output;
        self
    }

    /// TFLite's int8 LOGISTIC: its table for the current quantization, output scale 1/256.
    pub fn logistic(&mut self, zero_point: i8) -> &mut Net {
        let output = q(1.0 / 256.0, zero_point);
        self.layers.push(L::Logistic(logistic_table(self.cur.quant, output).to_vec(), output));
        self.cur.quant = output;
        self
    }

    pub fn layer_defs(&self) -> Vec<LayerDef<'_>> {
        self.layers.iter().map(L::def).collect()
    }

    /// Serialize with the no-alloc writer (works without the `std` feature).
    pub fn blob(&self) -> Vec<u8> {
        let defs = self.layer_defs();
        let def = ModelDef { input: self.input, output: self.cur, layers: &defs };
        let mut buf = vec![0u8; 64 + self.layers.iter().map(layer_bytes).sum::<usize>()];
        let n = infer_core::write_blob(&def, &mut buf).expect("valid model");
        buf.truncate(n);
        buf
    }
}

fn layer_bytes(l: &L) -> usize {
    64 + match l {
        L::Conv { w, ch, .. } | L::Dw { w, ch, .. } | L::Dense { w, ch, .. } => {
            w.len() + ch.bias.len() + ch.mult.len() + ch.shift.len()
        }
        L::Logistic(table, _) => table.len(),
        _ => 0,
    }
}

/// TensorFlow's window for kernel `kh × kw` and strides `sh`, `sw` over `h × w`: 'SAME'
/// (`out = ⌈n / s⌉`, the odd padding row / column at the bottom / right) or 'VALID'
/// (`out = (n − k) / s + 1`, no padding; `n >= k`).
pub fn tf_window((kh, kw): (u8, u8), (sh, sw): (u8, u8), same: bool, h: u16, w: u16) -> Window {
    let axis = |n: u16, k: u8, s: u8| {
        let (n, k, s) = (u32::from(n), u32::from(k), u32::from(s));
        if same {
            let out = n.div_ceil(s);
            (out as u16, (((out - 1) * s + k).saturating_sub(n) / 2) as u8)
        } else {
            (((n - k) / s + 1) as u16, 0)
        }
    };
    let ((out_h, pad_top), (out_w, pad_left)) = (axis(h, kh, sh), axis(w, kw, sw));
    Window { kernel_h: kh, kernel_w: kw, stride_h: sh, stride_w: sw, pad_top, pad_left, out_h, out_w }
}

pub fn q(scale: f32, zero_point: i8) -> Quant {
    Quant { scale, zero_point }
}

/// Input quantization for pixels / 255.
pub fn pixel_quant() -> Quant {
    q(1.0 / 255.0, -128)
}

/// A small model touching every op: conv + fused pool, save, depthwise, add, requantize,
/// max-pool, 1×1 conv, global average pool, dense.
pub fn tiny_net(seed: u64) -> Net {
    let mut n = Net::new(Shape { h: 7, w: 6, c: 2 }, pixel_quant(), seed);
    n.conv(3, 1, 4, Activation::Relu, true, q(0.05, -128))
        .save(0)
        .depthwise(3, 1, 1, Activation::Relu6, q(0.04, -100))
        .add(0, Activation::None, q(0.07, -20))
        .requantize(q(0.1, 5))
        .max_pool(2, 1)
        .conv(1, 1, 6, Activation::None, false, q(0.08, 3))
        .gap()
        .dense(3, Activation::None, q(0.2, 0));
    n
}

/// A classifier head as a TFLite import has it: conv, softmax over each pixel's channels,
/// MEAN, dense, softmax.
pub fn tflite_head_net(seed: u64) -> Net {
    let mut n = Net::new(Shape { h: 6, w: 5, c: 2 }, pixel_quant(), seed);
    n.conv(3, 1, 5, Activation::Relu6, false, q(0.05, -128))
        .softmax(1.0)
        .conv(1, 1, 8, Activation::None, false, q(0.03, 4))
        .mean(q(0.021, -3))
        .dense(10, Activation::None, q(0.0634, -53))
        .softmax(1.0);
    n
}

/// The Keras seed CNN's tail as the importer makes it: conv, max-pool, dense to one logit,
/// LOGISTIC (TFLite's table for the dense output's quantization).
pub fn keras_head_net(seed: u64) -> Net {
    let mut n = Net::new(Shape { h: 6, w: 5, c: 2 }, pixel_quant(), seed);
    n.conv(3, 1, 8, Activation::Relu, false, q(0.05, -128))
        .max_pool(2, 2)
        .dense(1, Activation::None, q(0.0496, 21))
        .logistic(-128);
    n
}

/// Average pools as TFLite models have them: conv, a 3×3/2 'SAME' average pool with RELU6, a
/// non-square 2×3 'VALID' one with strides 1 and 2, dense.
pub fn avg_pool_net(seed: u64) -> Net {
    let mut n = Net::new(Shape { h: 9, w: 8, c: 2 }, pixel_quant(), seed);
    n.conv(3, 1, 4, Activation::None, false, q(0.03, -5))
        .avg_pool((3, 3), (2, 2), true, Activation::Relu6)
        .avg_pool((2, 3), (1, 2), false, Activation::Relu)
        .dense(3, Activation::None, q(0.1, 0));
    n
}

/// The seed CNN: 180×180×1, conv 32-64-64-64-128-256 (3×3 'same', ReLU, fused 2×2/2 'same'
/// max-pool), dense 2304 → 1.
pub fn seed_cnn(seed: u64) -> Net {
    let mut n = Net::new(Shape { h: 180, w: 180, c: 1 }, pixel_quant(), seed);
    for (i, oc) in [32u16, 64, 64, 64, 128, 256].into_iter().enumerate() {
        n.conv(3, 1, oc, Activation::Relu, true, q(0.02 + 0.01 * i as f32, -128));
    }
    n.dense(1, Activation::None, q(0.1, 0));
    n
}
