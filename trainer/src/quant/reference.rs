//! The trainer's integer reference: the quantized graph executed in plain Rust, written from
//! `shared/INT8.md` independently of infer-core's kernels (no fusion, no row streaming, no
//! four-channel dot products, its own rounding helpers), so agreement between the two is
//! evidence, not tautology. It reads the layer definitions of a blob that infer-core has
//! already validated, so the two always run the same numbers.

use infer_core::{Activation, ChannelQuant, LayerDef, Model, Quant, Shape, Window};

/// A tensor NHWC (batch 1) with its quantization.
#[derive(Clone, Debug)]
struct Act {
    data: Vec<i8>,
    shape: Shape,
    quant: Quant,
}

/// SaturatingRoundingDoublingHighMul.
fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// RoundingDivideByPOT.
fn rdbpot(x: i32, e: i32) -> i32 {
    let mask = ((1i64 << e) - 1) as i32;
    let rem = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(rem > threshold)
}

/// MultiplyByQuantizedMultiplier, double rounding.
fn mbqm(x: i32, m: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0);
    rdbpot(srdhm(x * (1 << left), m), right)
}

fn clamp_range(a: Activation, q: Quant) -> (i32, i32) {
    let zp = i32::from(q.zero_point);
    let quantize = |f: f32| zp + (f / q.scale).round() as i32;
    match a {
        Activation::None => (-128, 127),
        Activation::Relu => ((-128).max(zp), 127),
        Activation::Relu6 => ((-128).max(zp), 127.min(quantize(6.0))),
    }
}

struct Requant {
    bias: Vec<i32>,
    mult: Vec<i32>,
    shift: Vec<i32>,
}

fn requant(c: &ChannelQuant<'_>) -> Requant {
    let i32s = |b: &[u8]| b.chunks_exact(4).map(|x| i32::from_le_bytes([x[0], x[1], x[2], x[3]])).collect();
    Requant {
        bias: i32s(c.bias),
        mult: i32s(c.multiplier),
        shift: c.shift.iter().map(|&s| i32::from(s as i8)).collect(),
    }
}

impl Requant {
    fn apply(&self, c: usize, acc: i32, out: Quant, (lo, hi): (i32, i32)) -> i8 {
        let v = mbqm(acc + self.bias[c], self.mult[c], self.shift[c]) + i32::from(out.zero_point);
        v.clamp(lo, hi) as i8
    }
}

/// Input row/column of output position `o` and tap `k` when it lies inside the image.
fn tap(o: usize, k: usize, stride: u8, pad: u8, n: u16) -> Option<usize> {
    let p = (o * usize::from(stride) + k).checked_sub(usize::from(pad))?;
    (p < usize::from(n)).then_some(p)
}

fn conv(
    x: &Act,
    out_c: usize,
    w: &Window,
    weights: &[u8],
    ch: &ChannelQuant<'_>,
    q: Quant,
    a: Activation,
) -> Act {
    let r = requant(ch);
    let range = clamp_range(a, q);
    let (ic, kh, kw) = (usize::from(x.shape.c), usize::from(w.kernel_h), usize::from(w.kernel_w));
    let zp = i32::from(x.quant.zero_point);
    let (oh, ow) = (usize::from(w.out_h), usize::from(w.out_w));
    let mut out = vec![0i8; oh * ow * out_c];
    // Input minus zero point, once.
    let xin: Vec<i32> = x.data.iter().map(|&v| i32::from(v) - zp).collect();
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..out_c {
                let mut acc = 0i32;
                for ky in 0..kh {
                    let Some(iy) = tap(oy, ky, w.stride_h, w.pad_top, x.shape.h) else { continue };
                    for kx in 0..kw {
                        let Some(ix) = tap(ox, kx, w.stride_w, w.pad_left, x.shape.w) else { continue };
                        let xrow = &xin[(iy * usize::from(x.shape.w) + ix) * ic..][..ic];
                        let wrow = &weights[((o * kh + ky) * kw + kx) * ic..][..ic];
                        acc += xrow.iter().zip(wrow).map(|(&a, &b)| a * i32::from(b as i8)).sum::<i32>();
                    }
                }
                out[(oy * ow + ox) * out_c + o] = r.apply(o, acc, q, range);
            }
        }
    }
    Act { data: out, shape: Shape { h: w.out_h, w: w.out_w, c: out_c as u16 }, quant: q }
}

fn depthwise(
    x: &Act,
    mult: usize,
    w: &Window,
    weights: &[u8],
    ch: &ChannelQuant<'_>,
    q: Quant,
    a: Activation,
) -> Act {
    let r = requant(ch);
    let range = clamp_range(a, q);
    let (ic, kh, kw) = (usize::from(x.shape.c), usize::from(w.kernel_h), usize::from(w.kernel_w));
    let oc = ic * mult;
    let zp = i32::from(x.quant.zero_point);
    let (oh, ow) = (usize::from(w.out_h), usize::from(w.out_w));
    let mut out = vec![0i8; oh * ow * oc];
    for oy in 0..oh {
        for ox in 0..ow {
            for c in 0..ic {
                for m in 0..mult {
                    let o = c * mult + m;
                    let mut acc = 0i32;
                    for ky in 0..kh {
                        let Some(iy) = tap(oy, ky, w.stride_h, w.pad_top, x.shape.h) else { continue };
                        for kx in 0..kw {
                            let Some(ix) = tap(ox, kx, w.stride_w, w.pad_left, x.shape.w) else { continue };
                            let xv = i32::from(x.data[(iy * usize::from(x.shape.w) + ix) * ic + c]) - zp;
                            acc += xv * i32::from(weights[(ky * kw + kx) * oc + o] as i8);
                        }
                    }
                    out[(oy * ow + ox) * oc + o] = r.apply(o, acc, q, range);
                }
            }
        }
    }
    Act { data: out, shape: Shape { h: w.out_h, w: w.out_w, c: oc as u16 }, quant: q }
}

fn dense(x: &Act, out_f: usize, weights: &[u8], ch: &ChannelQuant<'_>, q: Quant, a: Activation) -> Act {
    let r = requant(ch);
    let range = clamp_range(a, q);
    let zp = i32::from(x.quant.zero_point);
    let n = x.data.len();
    let out = (0..out_f)
        .map(|o| {
            let acc: i32 = x
                .data
                .iter()
                .zip(&weights[o * n..][..n])
                .map(|(&v, &w)| (i32::from(v) - zp) * i32::from(w as i8))
                .sum();
            r.apply(o, acc, q, range)
        })
        .collect();
    Act { data: out, shape: Shape { h: 1, w: 1, c: out_f as u16 }, quant: q }
}

fn max_pool(x: &Act, w: &Window) -> Act {
    let c = usize::from(x.shape.c);
    let (oh, ow) = (usize::from(w.out_h), usize::from(w.out_w));
    let mut out = vec![0i8; oh * ow * c];
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let mut m = i8::MIN;
                for ky in 0..usize::from(w.kernel_h) {
                    let Some(iy) = tap(oy, ky, w.stride_h, w.pad_top, x.shape.h) else { continue };
                    for kx in 0..usize::from(w.kernel_w) {
                        let Some(ix) = tap(ox, kx, w.stride_w, w.pad_left, x.shape.w) else { continue };
                        m = m.max(x.data[(iy * usize::from(x.shape.w) + ix) * c + ch]);
                    }
                }
                out[(oy * ow + ox) * c + ch] = m;
            }
        }
    }
    Act { data: out, shape: Shape { h: w.out_h, w: w.out_w, c: x.shape.c }, quant: x.quant }
}

fn global_avg_pool(x: &Act) -> Act {
    let c = usize::from(x.shape.c);
    let n = (x.data.len() / c) as i32;
    let out = (0..c)
        .map(|ch| {
            let acc: i32 = x.data.iter().skip(ch).step_by(c).map(|&v| i32::from(v)).sum();
            let avg = if acc > 0 { (acc + n / 2) / n } else { (acc - n / 2) / n };
            avg.clamp(-128, 127) as i8
        })
        .collect();
    Act { data: out, shape: Shape { h: 1, w: 1, c: x.shape.c }, quant: x.quant }
}

fn add(x: &Act, y: &Act, d: &infer_core::AddDef) -> Act {
    let range = clamp_range(d.activation, d.output);
    let scale = |v: i8, zp: i8, m: infer_core::Multiplier| {
        let shifted = (i32::from(v) - i32::from(zp)) * (1 << 20);
        mbqm(shifted, m.multiplier, i32::from(m.shift))
    };
    let out = x
        .data
        .iter()
        .zip(&y.data)
        .map(|(&a, &b)| {
            let sum = scale(a, x.quant.zero_point, d.input1) + scale(b, y.quant.zero_point, d.input2);
            let v = mbqm(sum, d.output_multiplier.multiplier, i32::from(d.output_multiplier.shift))
                + i32::from(d.output.zero_point);
            v.clamp(range.0, range.1) as i8
        })
        .collect();
    Act { data: out, shape: x.shape, quant: d.output }
}

/// Runs every layer of `model` on int8 `input` (NHWC, the model's input quantization) and
/// returns the output tensor's int8 values.
pub fn run(model: &Model<'_>, input: &[i8]) -> Vec<i8> {
    run_layers(model, input, |_, _, _, _| ())
}

/// As [`run`], calling `observe(layer, values, shape, quant)` after every layer (to compare
/// each int8 tensor with the float graph's, e.g. when looking for where quantization drifts).
pub fn run_layers(
    model: &Model<'_>,
    input: &[i8],
    mut observe: impl FnMut(usize, &[i8], Shape, Quant),
) -> Vec<i8> {
    let spec = model.input_spec();
    assert_eq!(input.len(), spec.shape.len(), "input length");
    let mut x = Act { data: input.to_vec(), shape: spec.shape, quant: spec.quant };
    let mut slots: Vec<Option<Act>> = vec![None; infer_core::MAX_SLOTS];
    for (index, layer) in model.layers().enumerate() {
        x = match layer {
            LayerDef::Conv2d(d) => {
                let y = conv(
                    &x,
                    usize::from(d.out_channels),
                    &d.window,
                    d.weights,
                    &d.channels,
                    d.output,
                    d.activation,
                );
                match d.pool {
                    Some(p) => max_pool(&y, &p),
                    None => y,
                }
            }
            LayerDef::DepthwiseConv2d(d) => depthwise(
                &x,
                usize::from(d.depth_multiplier),
                &d.window,
                d.weights,
                &d.channels,
                d.output,
                d.activation,
            ),
            LayerDef::Dense(d) => {
                dense(&x, usize::from(d.out_features), d.weights, &d.channels, d.output, d.activation)
            }
            LayerDef::MaxPool(w) => max_pool(&x, &w),
            LayerDef::GlobalAvgPool => global_avg_pool(&x),
            LayerDef::Save { slot } => {
                slots[usize::from(slot)] = Some(x.clone());
                x
            }
            LayerDef::Add(d) => {
                let saved = slots[usize::from(d.slot)].as_ref().expect("validated: add of a saved slot");
                add(&x, saved, &d)
            }
            LayerDef::Requantize(d) => {
                let zp = i32::from(x.quant.zero_point);
                let m = d.multiplier;
                let data = x
                    .data
                    .iter()
                    .map(|&v| {
                        (mbqm(i32::from(v) - zp, m.multiplier, i32::from(m.shift))
                            + i32::from(d.output.zero_point))
                        .clamp(-128, 127) as i8
                    })
                    .collect();
                Act { data, shape: x.shape, quant: d.output }
            }
        };
        observe(index, &x.data, x.shape, x.quant);
    }
    x.data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_md_check_values() {
        assert_eq!(srdhm(3, 1 << 30), 2);
        assert_eq!(srdhm(-3, 1 << 30), -1);
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(rdbpot(5, 1), 3);
        assert_eq!(rdbpot(-5, 1), -3);
        assert_eq!(rdbpot(-3, 1), -2);
        assert_eq!(mbqm(29875, 1972563514, -2), 6861);
        assert_eq!(mbqm(-83457, 2079011274, -3), -10100);
        assert_eq!(mbqm(99827, 1673091988, -1), 38888);
    }

    #[test]
    fn avg_pool_rounds_half_away_from_zero() {
        let x = Act {
            data: vec![1, 2, -1, -2],
            shape: Shape { h: 2, w: 2, c: 1 },
            quant: Quant { scale: 1.0, zero_point: 0 },
        };
        assert_eq!(global_avg_pool(&x).data, vec![0]);
        let x = Act { data: vec![1, 2, 2, 2], ..x };
        assert_eq!(global_avg_pool(&x).data, vec![2]);
        let x = Act { data: vec![-1, -2, -2, -2], ..x };
        assert_eq!(global_avg_pool(&x).data, vec![-2]);
    }
}
