//! Build models with the host serializer, load them, run them, and compare bit for bit with a
//! naive i64 interpreter of the same layer definitions (no arena, no ping-pong, no fusion).

mod common;

use common::{seed_cnn, tiny_net, Net, Rng};
use infer_core::quant_math::{activation_range, multiply_by_quantized_multiplier as mbqm, ADD_LEFT_SHIFT};
use infer_core::{
    Activation, ChannelQuant, Error, LayerDef, Model, Quant, RunError, Shape, TensorSpec, Window,
};

// ---------------------------------------------------------------- naive reference interpreter

#[derive(Clone)]
struct T {
    v: Vec<i64>,
    s: Shape,
    q: Quant,
}

impl T {
    fn at(&self, y: usize, x: usize, c: usize) -> i64 {
        self.v[(y * usize::from(self.s.w) + x) * usize::from(self.s.c) + c]
    }
}

fn le(b: &[u8], i: usize) -> i32 {
    i32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap())
}

fn clamp(v: i64, out: Quant, act: Activation) -> i64 {
    let (lo, hi) = activation_range(act, out.scale, i32::from(out.zero_point));
    v.clamp(i64::from(lo), i64::from(hi))
}

fn finish(acc: i64, ch: &ChannelQuant, c: usize, out: Quant, act: Activation) -> i64 {
    let acc = acc + i64::from(le(ch.bias, c));
    let acc = i32::try_from(acc).expect("accumulator fits i32");
    let v =
        i64::from(mbqm(acc, le(ch.multiplier, c), i32::from(ch.shift[c] as i8))) + i64::from(out.zero_point);
    clamp(v, out, act)
}

/// Input coordinates of window tap (ky, kx) for output (oy, ox), if inside the image.
fn tap(w: &Window, s: Shape, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
    let y = (oy * usize::from(w.stride_h) + ky) as i64 - i64::from(w.pad_top);
    let x = (ox * usize::from(w.stride_w) + kx) as i64 - i64::from(w.pad_left);
    (y >= 0 && x >= 0 && y < i64::from(s.h) && x < i64::from(s.w)).then_some((y as usize, x as usize))
}

fn max_pool(t: &T, w: &Window) -> T {
    let mut v = vec![];
    for oy in 0..usize::from(w.out_h) {
        for ox in 0..usize::from(w.out_w) {
            for c in 0..usize::from(t.s.c) {
                let mut m = -128;
                for ky in 0..usize::from(w.kernel_h) {
                    for kx in 0..usize::from(w.kernel_w) {
                        if let Some((y, x)) = tap(w, t.s, oy, ox, ky, kx) {
                            m = m.max(t.at(y, x, c));
                        }
                    }
                }
                v.push(m);
            }
        }
    }
    T { v, s: Shape { h: w.out_h, w: w.out_w, c: t.s.c }, q: t.q }
}

/// Conv (`dw_m` None) or depthwise (`dw_m` = Some(depth multiplier)).
fn conv(
    t: &T,
    w: &Window,
    oc: usize,
    (wts, ch): (&[u8], &ChannelQuant),
    (out, act): (Quant, Activation),
    dw_m: Option<usize>,
) -> T {
    let zp = i64::from(t.q.zero_point);
    let ic_n = usize::from(t.s.c);
    let oc = dw_m.map_or(oc, |m| ic_n * m);
    let (kh, kw) = (usize::from(w.kernel_h), usize::from(w.kernel_w));
    let mut v = vec![];
    for oy in 0..usize::from(w.out_h) {
        for ox in 0..usize::from(w.out_w) {
            for c in 0..oc {
                let mut acc = 0i64;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let Some((y, x)) = tap(w, t.s, oy, ox, ky, kx) else {
                            continue;
                        };
                        match dw_m {
                            None => {
                                for i in 0..ic_n {
                                    let wv = wts[((c * kh + ky) * kw + kx) * ic_n + i] as i8;
                                    acc += i64::from(wv) * (t.at(y, x, i) - zp);
                                }
                            }
                            Some(m) => {
                                let wv = wts[(ky * kw + kx) * oc + c] as i8;
                                acc += i64::from(wv) * (t.at(y, x, c / m) - zp);
                            }
                        }
                    }
                }
                v.push(finish(acc, ch, c, out, act));
            }
        }
    }
    T { v, s: Shape { h: w.out_h, w: w.out_w, c: oc as u16 }, q: out }
}

fn reference(layers: &[LayerDef], input: TensorSpec, x: &[i8]) -> Vec<i8> {
    let mut t = T { v: x.iter().map(|&v| i64::from(v)).collect(), s: input.shape, q: input.quant };
    let mut slots: Vec<Option<T>> = vec![None; 4];
    for l in layers {
        t = match l {
            LayerDef::Conv2d(c) => {
                let full = conv(
                    &t,
                    &c.window,
                    usize::from(c.out_channels),
                    (c.weights, &c.channels),
                    (c.output, c.activation),
                    None,
                );
                match &c.pool {
                    Some(p) => max_pool(&full, p),
                    None => full,
                }
            }
            LayerDef::DepthwiseConv2d(c) => conv(
                &t,
                &c.window,
                0,
                (c.weights, &c.channels),
                (c.output, c.activation),
                Some(usize::from(c.depth_multiplier)),
            ),
            LayerDef::MaxPool(w) => max_pool(&t, w),
            LayerDef::GlobalAvgPool => {
                let (n, c_n) = (i64::from(t.s.h) * i64::from(t.s.w), usize::from(t.s.c));
                let v = (0..c_n)
                    .map(|c| {
                        let s: i64 = t.v.iter().skip(c).step_by(c_n).sum();
                        // round half away from zero
                        let r = (2 * s.abs() + n) / (2 * n);
                        (if s < 0 { -r } else { r }).clamp(-128, 127)
                    })
                    .collect();
                T { v, s: Shape { h: 1, w: 1, c: t.s.c }, q: t.q }
            }
            LayerDef::Dense(d) => {
                let n = t.v.len();
                let zp = i64::from(t.q.zero_point);
                let v = (0..usize::from(d.out_features))
                    .map(|o| {
                        let acc: i64 =
                            (0..n).map(|i| i64::from(d.weights[o * n + i] as i8) * (t.v[i] - zp)).sum();
                        finish(acc, &d.channels, o, d.output, d.activation)
                    })
                    .collect();
                T { v, s: Shape { h: 1, w: 1, c: d.out_features }, q: d.output }
            }
            LayerDef::Save { slot } => {
                slots[usize::from(*slot)] = Some(t.clone());
                t
            }
            LayerDef::Add(a) => {
                let b = slots[usize::from(a.slot)].clone().unwrap();
                let s = |m: &infer_core::Multiplier, x: i64| {
                    i64::from(mbqm(x as i32, m.multiplier, i32::from(m.shift)))
                };
                let v =
                    t.v.iter()
                        .zip(&b.v)
                        .map(|(&x1, &x2)| {
                            let v1 = s(&a.input1, (x1 - i64::from(t.q.zero_point)) << ADD_LEFT_SHIFT);
                            let v2 = s(&a.input2, (x2 - i64::from(b.q.zero_point)) << ADD_LEFT_SHIFT);
                            clamp(
                                s(&a.output_multiplier, v1 + v2) + i64::from(a.output.zero_point),
                                a.output,
                                a.activation,
                            )
                        })
                        .collect();
                T { v, s: t.s, q: a.output }
            }
            LayerDef::Requantize(r) => {
                let v =
                    t.v.iter()
                        .map(|&x| {
                            let m = &r.multiplier;
                            let y = i64::from(mbqm(
                                (x - i64::from(t.q.zero_point)) as i32,
                                m.multiplier,
                                i32::from(m.shift),
                            ));
                            (y + i64::from(r.output.zero_point)).clamp(-128, 127)
                        })
                        .collect();
                T { v, s: t.s, q: r.output }
            }
        };
    }
    t.v.iter().map(|&v| v as i8).collect()
}

// ------------------------------------------------------------------------------------- tests

fn random_input(rng: &mut Rng, n: usize) -> Vec<i8> {
    rng.bytes(n).into_iter().map(|b| b as i8).collect()
}

fn check_against_reference(net: &Net, runs: u64) {
    let blob = net.blob();
    let model = Model::from_bytes(&blob).expect("valid blob");
    let defs = net.layer_defs();
    let mut arena = vec![0u8; model.arena_len()];
    let mut rng = Rng::new(7);
    let mut distinct = std::collections::HashSet::new();
    for _ in 0..runs {
        let x = random_input(&mut rng, model.input_shape().len());
        let out = model.run(&x, &mut arena).expect("run");
        let got: Vec<i8> = out.values().collect();
        assert_eq!(got, reference(&defs, net.input, &x));
        distinct.insert(got);
    }
    assert!(runs < 4 || distinct.len() > 1, "output does not depend on the input");
}

#[test]
fn tiny_model_matches_reference_interpreter() {
    for seed in 0..20 {
        check_against_reference(&tiny_net(seed), 10);
    }
}

#[test]
fn tiny_model_arena_is_the_largest_layer_pair_plus_slot() {
    let net = tiny_net(1);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    // input 7×6×2 = 84 → conv+pool 4×3×4 = 48 (pair 132); depthwise/add/… 48+48 = 96; slot 48.
    assert_eq!(model.arena_parts(), (132, [48, 0, 0, 0]));
    assert_eq!(model.arena_len(), 180);
    assert_eq!(model.layer_count(), 9);
    assert_eq!(model.output_spec().shape, Shape { h: 1, w: 1, c: 3 });
}

#[test]
fn seed_cnn_arena_and_run() {
    let net = seed_cnn(3);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    // Largest pair: conv2's input 90×90×32 (259,200) + its pooled output 45×45×64 (129,600).
    assert_eq!(model.arena_len(), 388_800);
    assert_eq!(model.input_shape(), Shape { h: 180, w: 180, c: 1 });
    assert_eq!(model.output_spec().shape, Shape { h: 1, w: 1, c: 1 });
    let params: usize = net
        .layer_defs()
        .iter()
        .map(|l| match l {
            LayerDef::Conv2d(c) => c.weights.len() + c.channels.bias.len() / 4,
            LayerDef::Dense(d) => d.weights.len() + d.channels.bias.len() / 4,
            _ => 0,
        })
        .sum();
    assert_eq!(params, 464_001);
    let mut arena = vec![0u8; model.arena_len()];
    let pixels: Vec<u8> = Rng::new(5).bytes(180 * 180);
    let p = model.run_u8(&pixels, &mut arena).unwrap().probability().unwrap();
    assert!((0.0..=1.0).contains(&p));
}

#[test]
fn run_u8_equals_run_on_shifted_pixels() {
    let net = tiny_net(2);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let pixels = Rng::new(9).bytes(model.input_shape().len());
    let q: Vec<i8> = pixels.iter().map(|&p| (i16::from(p) - 128) as i8).collect();
    let mut a1 = vec![0u8; model.arena_len()];
    let mut a2 = vec![0xAAu8; model.arena_len() + 100];
    let o1: Vec<i8> = model.run_u8(&pixels, &mut a1).unwrap().values().collect();
    let o2: Vec<i8> = model.run(&q, &mut a2).unwrap().values().collect();
    assert_eq!(o1, o2);
}

#[test]
fn caller_errors() {
    let net = tiny_net(3);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let n = model.input_shape().len();
    let mut small = vec![0u8; model.arena_len() - 1];
    assert_eq!(
        model.run(&vec![0; n], &mut small).unwrap_err(),
        RunError::ArenaTooSmall { needed: model.arena_len(), got: model.arena_len() - 1 }
    );
    let mut arena = vec![0u8; model.arena_len()];
    assert_eq!(
        model.run(&vec![0; n - 1], &mut arena).unwrap_err(),
        RunError::InputLength { expected: n, got: n - 1 }
    );
}

#[test]
fn writer_rejects_invalid_models_and_small_buffers() {
    let net = tiny_net(4);
    let mut defs = net.layer_defs();
    let def = infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs };
    let mut tiny = [0u8; 40];
    assert_eq!(infer_core::write_blob(&def, &mut tiny), Err(Error::Encode));
    // Chop a weight off the first conv: the writer's load-back names layer 0's weights.
    if let LayerDef::Conv2d(c) = &mut defs[0] {
        c.weights = &c.weights[1..];
    }
    let def = infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs };
    let mut buf = vec![0u8; 4096];
    let err = infer_core::write_blob(&def, &mut buf).unwrap_err();
    assert!(matches!(err, Error::Layer { index: 0, field: "weights", .. }), "{err}");
    assert_eq!(err.to_string(), "layer 0 (conv2d) field `weights`: length 71, expected 72");
    // A wrong declared output is caught too.
    let defs = net.layer_defs();
    let mut out = net.cur;
    out.quant.zero_point += 1;
    let def = infer_core::ModelDef { input: net.input, output: out, layers: &defs };
    let err = infer_core::write_blob(&def, &mut buf).unwrap_err();
    assert_eq!(err, Error::Model { field: "output", problem: infer_core::Problem::QuantMismatch });
}

#[test]
fn layers_decode_back_to_the_definitions() {
    let net = tiny_net(5);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let decoded: Vec<LayerDef> = model.layers().collect();
    assert_eq!(decoded, net.layer_defs());
}

#[cfg(feature = "std")]
#[test]
fn to_blob_equals_write_blob() {
    let net = tiny_net(6);
    let defs = net.layer_defs();
    let def = infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs };
    assert_eq!(infer_core::to_blob(&def).unwrap(), net.blob());
}
