//! The `Mean`, `Softmax`, `Logistic` and `AvgPool` layers against TFLite 2.14's reference
//! kernels (`OpResolverType.BUILTIN_REF`), byte for byte: every case of
//! `tests/fixtures/tflite_ops/{mean,softmax,logistic,avg_pool}.txt` (written by
//! `scripts/tflite_op_fixtures.py` from one-op `.tflite` models) is run through a blob holding
//! just that layer.

mod common;

use common::{avg_pool_net, keras_head_net, tf_window, tflite_head_net, Rng};
use infer_core::quant_math::{logistic_table, multiplier_from_real, softmax_params};
use infer_core::{
    Activation, AvgPoolDef, Error, LayerDef, LogisticDef, MeanDef, Model, ModelDef, Multiplier, Quant, Shape,
    SoftmaxDef, TensorSpec, Window,
};

const MEAN: &str = include_str!("fixtures/tflite_ops/mean.txt");
const SOFTMAX: &str = include_str!("fixtures/tflite_ops/softmax.txt");
const LOGISTIC: &str = include_str!("fixtures/tflite_ops/logistic.txt");
const AVG_POOL: &str = include_str!("fixtures/tflite_ops/avg_pool.txt");

/// Hex int8 values; a piece `hh*count` is a run (pieces joined by '.').
fn values(text: &str) -> Vec<i8> {
    let mut out = Vec::new();
    for piece in text.split('.') {
        let (hex, count) = match piece.split_once('*') {
            Some((hex, count)) => (hex, count.parse().expect("run length")),
            None => (piece, 1),
        };
        let bytes: Vec<i8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex byte") as i8)
            .collect();
        for _ in 0..count {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

fn f32_bits(hex: &str) -> f32 {
    f32::from_bits(u32::from_str_radix(hex, 16).expect("f32 bits"))
}

fn cases(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| l.split(' ').collect())
}

fn spec(h: u16, w: u16, c: u16, scale: f32, zero_point: i8) -> TensorSpec {
    TensorSpec { shape: Shape { h, w, c }, quant: Quant { scale, zero_point } }
}

/// Load a one-layer blob and run it on `input`.
fn run_one(input: TensorSpec, output: TensorSpec, layer: LayerDef<'_>, x: &[i8]) -> (Vec<u8>, Vec<i8>) {
    let blob = infer_core::to_blob(&ModelDef { input, output, layers: &[layer] }).expect("valid blob");
    let got = {
        let model = Model::from_bytes(&blob).expect("loads");
        let mut arena = vec![0u8; model.arena_len()];
        model.run(x, &mut arena).expect("runs").values().collect()
    };
    (blob, got)
}

#[test]
fn mean_matches_tflite() {
    let mut count = 0;
    for f in cases(MEAN) {
        let n = |i: usize| -> i64 { f[i].parse().expect("integer field") };
        let (h, w, c) = (n(0) as u16, n(1) as u16, n(2) as u16);
        let (s_in, zp_in, s_out, zp_out) = (f32_bits(f[4]), n(5) as i8, f32_bits(f[6]), n(7) as i8);
        let (x, want) = (values(f[8]), values(f[9]));
        // What the importer stores: TFLite's Prepare multiplier, unfolded.
        let multiplier = multiplier_from_real(f64::from(s_in) / f64::from(s_out));
        let output = Quant { scale: s_out, zero_point: zp_out };
        let layer = LayerDef::Mean(MeanDef { multiplier, output });
        let (blob, got) = run_one(spec(h, w, c, s_in, zp_in), spec(1, 1, c, s_out, zp_out), layer, &x);
        assert_eq!(got, want, "mean case {count}: {h}×{w}×{c}, {s_in}/{zp_in} → {s_out}/{zp_out}");
        // The independent integer reference agrees too.
        assert_eq!(int8_reference::run(&blob, &x).expect("reference runs"), want, "reference, case {count}");
        count += 1;
    }
    assert_eq!(count, 240);
}

#[test]
fn softmax_matches_tflite() {
    let mut count = 0;
    for f in cases(SOFTMAX) {
        let n = |i: usize| -> i64 { f[i].parse().expect("integer field") };
        let (h, w, c) = (n(0) as u16, n(1) as u16, n(2) as u16);
        let (beta, s_in, zp_in) = (f32_bits(f[3]), f32_bits(f[4]), n(5) as i8);
        let (x, want) = (values(f[9]), values(f[10]));
        let (input_multiplier, input_left_shift, diff_min) = softmax_params(f64::from(beta), s_in);
        // SoftmaxPrepare's values as the fixture script recomputes them from TFLite's formulas.
        assert_eq!((input_multiplier, input_left_shift, diff_min), (n(6) as i32, n(7) as i32, n(8) as i32));
        let output = Quant { scale: 1.0 / 256.0, zero_point: -128 };
        let layer = LayerDef::Softmax(SoftmaxDef { input_multiplier, input_left_shift, diff_min, output });
        let (_, got) = run_one(spec(h, w, c, s_in, zp_in), spec(h, w, c, 1.0 / 256.0, -128), layer, &x);
        assert_eq!(got, want, "softmax case {count}: {h}×{w}×{c}, beta {beta}, scale {s_in}");
        count += 1;
    }
    assert_eq!(count, 165);
}

/// Every int8 input under 60 quantizations (scales 1e−4 to 50, output zero points other than
/// −128 too), through the table `logistic_table` computes for the importer.
#[test]
fn logistic_matches_tflite() {
    let mut count = 0;
    for f in cases(LOGISTIC) {
        let n = |i: usize| -> i64 { f[i].parse().expect("integer field") };
        let (s_in, zp_in, zp_out) = (f32_bits(f[0]), n(1) as i8, n(2) as i8);
        let (x, want) = (values(f[3]), values(f[4]));
        assert_eq!(x.len(), 256);
        let output = Quant { scale: 1.0 / 256.0, zero_point: zp_out };
        let table = logistic_table(Quant { scale: s_in, zero_point: zp_in }, output);
        let layer = LayerDef::Logistic(LogisticDef { table: &table, output });
        // The fixtures alternate TFLite shapes [1, 256] and [1, 4, 8, 8].
        let (h, w, c) = if count % 2 == 0 { (1, 1, 256) } else { (4, 8, 8) };
        let (input, out) = (spec(h, w, c, s_in, zp_in), spec(h, w, c, 1.0 / 256.0, zp_out));
        let (blob, got) = run_one(input, out, layer, &x);
        assert_eq!(got, want, "logistic case {count}: scale {s_in}, zero points {zp_in} → {zp_out}");
        // The integer reference applies the same table after checking it against the f64 logistic.
        assert_eq!(int8_reference::run(&blob, &x).expect("reference runs"), want, "reference, case {count}");
        count += 1;
    }
    assert_eq!(count, 60);
}

/// conv → max-pool → dense → logistic (the Keras seed CNN's tail): the streamed run stops
/// before the dense layer and gives the same bytes; the integer reference agrees.
#[test]
fn keras_head_runs_streamed_layer_by_layer_and_as_the_reference() {
    let blob = keras_head_net(6).blob();
    let model = Model::from_bytes(&blob).expect("loads");
    assert!(model.streamed_layers() <= 2, "dense and logistic are not streamable");
    let mut rng = Rng::new(10);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let x: Vec<i8> = rng.bytes(model.input_shape().len()).into_iter().map(|b| b as i8).collect();
        let mut arena = vec![0u8; model.arena_len()];
        let full: Vec<i8> = model.run(&x, &mut arena).expect("runs").values().collect();
        let mut arena = vec![0u8; model.streamed_arena_len()];
        let streamed: Vec<i8> = model.run_streamed(&x, &mut arena).expect("runs").values().collect();
        assert_eq!(full, streamed);
        assert_eq!(int8_reference::run(&blob, &x).expect("reference runs"), full);
        seen.insert(full[0]);
    }
    assert!(seen.len() > 5, "outputs spread over the table: {seen:?}");
}

#[test]
fn fixture_decoding() {
    assert_eq!(values("0a80.7f*3.ff"), vec![10, -128, 127, 127, 127, -1]);
}

/// conv → softmax per pixel → conv → mean → dense → softmax: the streamed run (which stops
/// at the first softmax) gives the same bytes as the layer-by-layer run; the integer reference
/// reports the softmax as unsupported instead of panicking.
#[test]
fn head_net_runs_streamed_and_layer_by_layer() {
    let blob = tflite_head_net(5).blob();
    let model = Model::from_bytes(&blob).expect("loads");
    assert!(model.streamed_layers() <= 1, "mean and softmax are not streamable");
    let mut rng = Rng::new(9);
    for _ in 0..20 {
        let x: Vec<i8> = rng.bytes(model.input_shape().len()).into_iter().map(|b| b as i8).collect();
        let mut arena = vec![0u8; model.arena_len()];
        let full: Vec<i8> = model.run(&x, &mut arena).expect("runs").values().collect();
        let mut arena = vec![0u8; model.streamed_arena_len()];
        let streamed: Vec<i8> = model.run_streamed(&x, &mut arena).expect("runs").values().collect();
        assert_eq!(full, streamed);
        assert_eq!(full.len(), 10);
    }
    let err = int8_reference::run(&blob, &[0; 60]).unwrap_err();
    assert!(err.contains("unsupported layer: softmax"), "{err}");
}

fn mean_blob(h: u16, w: u16, multiplier: Multiplier) -> Result<Vec<u8>, Error> {
    let output = Quant { scale: 0.1, zero_point: 0 };
    let layer = LayerDef::Mean(MeanDef { multiplier, output });
    let def = ModelDef { input: spec(h, w, 3, 0.1, 0), output: spec(1, 1, 3, 0.1, 0), layers: &[layer] };
    infer_core::to_blob(&def)
}

fn softmax_blob(c: u16, m: i32, left: i32, diff_min: i32, output: Quant) -> Result<Vec<u8>, Error> {
    let layer =
        LayerDef::Softmax(SoftmaxDef { input_multiplier: m, input_left_shift: left, diff_min, output });
    let def = ModelDef {
        input: spec(1, 1, c, 0.1, 0),
        output: spec(1, 1, c, output.scale, -128),
        layers: &[layer],
    };
    infer_core::to_blob(&def)
}

fn rejected_field(r: Result<Vec<u8>, Error>) -> &'static str {
    match r {
        Err(Error::Layer { field, .. }) => field,
        other => panic!("expected a layer error, got {other:?}"),
    }
}

/// The loader refuses what could overflow the kernels or what TFLite refuses.
#[test]
fn loader_checks_mean_and_softmax_fields() {
    let m = |multiplier, shift| Multiplier { multiplier, shift };
    assert!(mean_blob(7, 7, m(1 << 30, 1)).is_ok());
    assert_eq!(rejected_field(mean_blob(7, 7, m(12345, 0))), "multiplier");
    assert_eq!(rejected_field(mean_blob(7, 7, m(1 << 30, 31))), "multiplier");
    // n = 1: nothing folded, so a left shift of 24 would overflow (128 · 2^24 + 128 > i32::MAX).
    assert!(mean_blob(1, 1, m(1 << 30, 23)).is_ok());
    assert_eq!(rejected_field(mean_blob(1, 1, m(1 << 30, 24))), "multiplier");
    // 49 positions fold 5 bits of shift away.
    assert!(mean_blob(7, 7, m(i32::MAX, 21)).is_ok());
    assert_eq!(rejected_field(mean_blob(4096, 4096, m(1 << 30, 0))), "input h*w");

    let out = Quant { scale: 1.0 / 256.0, zero_point: -128 };
    let (mult, left, diff_min) = softmax_params(1.0, 0.1);
    assert!(softmax_blob(1001, mult, left, diff_min, out).is_ok());
    assert!(softmax_blob(4095, mult, left, diff_min, out).is_ok());
    assert_eq!(rejected_field(softmax_blob(4096, mult, left, diff_min, out)), "input channels");
    let zp = Quant { zero_point: -127, ..out };
    assert_eq!(rejected_field(softmax_blob(10, mult, left, diff_min, zp)), "output.zero_point");
    let off = Quant { scale: 1.0 / 255.0, ..out };
    assert_eq!(rejected_field(softmax_blob(10, mult, left, diff_min, off)), "output.scale");
    // TFLite's tolerance: |scale − 1/256| <= 0.001 / 256.
    let near = Quant { scale: 1.0005 / 256.0, ..out };
    assert!(softmax_blob(10, mult, left, diff_min, near).is_ok());
    assert_eq!(rejected_field(softmax_blob(10, -5, left, diff_min, out)), "input_multiplier");
    assert!(softmax_blob(10, 0, left, diff_min, out).is_ok());
    assert_eq!(rejected_field(softmax_blob(10, mult, 32, 0, out)), "input_left_shift");
    assert_eq!(rejected_field(softmax_blob(10, mult, -1, diff_min, out)), "input_left_shift");
    assert_eq!(rejected_field(softmax_blob(10, mult, left, 1, out)), "diff_min");
    // A left shift of 31 leaves room for a difference of 0 only (TFLite's diff_min is then 0).
    assert!(softmax_blob(10, i32::MAX, 31, 0, out).is_ok());
    assert_eq!(rejected_field(softmax_blob(10, i32::MAX, 31, -1, out)), "diff_min");
    assert!(softmax_blob(10, mult, 24, -127, out).is_ok());
    assert_eq!(rejected_field(softmax_blob(10, mult, 24, -128, out)), "diff_min");
    // Below 2^23 every int8 difference fits, whatever diff_min says.
    assert!(softmax_blob(10, mult, 23, -100_000, out).is_ok());
}

fn logistic_blob(table: &[u8], output: Quant) -> Result<Vec<u8>, Error> {
    let layer = LayerDef::Logistic(LogisticDef { table, output });
    let def = ModelDef { input: spec(1, 1, 3, 0.1, 0), output: spec(1, 1, 3, output.scale, output.zero_point), layers: &[layer] };
    infer_core::to_blob(&def)
}

/// The loader refuses a table of the wrong length, one that is not non-decreasing in q (such
/// as a table indexed by q + 128), and an output scale other than TFLite's 1/256.
#[test]
fn loader_checks_logistic_fields() {
    let out = Quant { scale: 1.0 / 256.0, zero_point: -128 };
    let table = logistic_table(Quant { scale: 0.1, zero_point: 0 }, out);
    assert!(logistic_blob(&table, out).is_ok());
    // Any output zero point (TFLite's reference kernel accepts any).
    let zp0 = Quant { zero_point: 0, ..out };
    assert!(logistic_blob(&logistic_table(Quant { scale: 0.1, zero_point: 0 }, zp0), zp0).is_ok());
    assert_eq!(rejected_field(logistic_blob(&table[..255], out)), "table");
    assert_eq!(rejected_field(logistic_blob(&[table.as_slice(), &[0]].concat(), out)), "table");
    let by_q_plus_128: Vec<u8> = (0..256).map(|b| table[b ^ 0x80]).collect();
    assert_eq!(rejected_field(logistic_blob(&by_q_plus_128, out)), "table");
    let mut dip = table;
    dip[5] = dip[4].wrapping_sub(1); // q = 5 below q = 4
    assert_eq!(rejected_field(logistic_blob(&dip, out)), "table");
    let off = Quant { scale: 1.0 / 255.0, ..out };
    assert_eq!(rejected_field(logistic_blob(&logistic_table(Quant { scale: 0.1, zero_point: 0 }, off), off)), "output.scale");
    // A constant table is non-decreasing: any layer TFLite could make is accepted.
    assert!(logistic_blob(&[0x80; 256], out).is_ok());
}

fn activation(name: &str) -> Activation {
    match name {
        "NONE" => Activation::None,
        "RELU" => Activation::Relu,
        "RELU6" => Activation::Relu6,
        other => panic!("fused activation {other}"),
    }
}

/// AVERAGE_POOL_2D: 40 models (kernels 1–4, non-square too, strides 1–3, 'SAME' and 'VALID',
/// odd sizes whose edge windows are clipped, a kernel larger than the image, NONE / RELU / RELU6,
/// ten scales and zero points) on a random input and one of rounding ties (values −1..1) or
/// extremes (−128 / 127). The window is TensorFlow's padding rule (`tf_window`); its output
/// size must be the one TFLite's Prepare gave. Also run streamed, and by the integer reference.
#[test]
fn avg_pool_matches_tflite() {
    let mut count = 0;
    for f in cases(AVG_POOL) {
        let n = |i: usize| -> i64 { f[i].parse().expect("integer field") };
        let (h, w, c) = (n(0) as u16, n(1) as u16, n(2) as u16);
        let (k, s) = ((n(3) as u8, n(4) as u8), (n(5) as u8, n(6) as u8));
        let (same, act) = (f[7] == "SAME", activation(f[8]));
        let quant = Quant { scale: f32_bits(f[9]), zero_point: n(10) as i8 };
        let (x, want) = (values(f[13]), values(f[14]));
        let window = tf_window(k, s, same, h, w);
        assert_eq!((i64::from(window.out_h), i64::from(window.out_w)), (n(11), n(12)), "case {count}: output size");
        let layer = LayerDef::AvgPool(AvgPoolDef { window, output: quant, activation: act });
        let input = TensorSpec { shape: Shape { h, w, c }, quant };
        let output = TensorSpec { shape: Shape { h: window.out_h, w: window.out_w, c }, quant };
        let (blob, got) = run_one(input, output, layer, &x);
        let what = format!("avg_pool case {count}: {h}×{w}×{c}, {k:?}/{s:?} {} {}, {quant:?}", f[7], f[8]);
        assert_eq!(got, want, "{what}");
        let model = Model::from_bytes(&blob).expect("loads");
        let mut arena = vec![0u8; model.streamed_arena_len()];
        let streamed: Vec<i8> = model.run_streamed(&x, &mut arena).expect("runs").values().collect();
        assert_eq!(streamed, want, "streamed, {what}");
        assert_eq!(int8_reference::run(&blob, &x).expect("reference runs"), want, "reference, {what}");
        count += 1;
    }
    assert_eq!(count, 80);
}

/// conv → average pools ('SAME' with RELU6, non-square 'VALID' with RELU) → dense: streamed =
/// layer by layer = the integer reference.
#[test]
fn avg_pool_net_runs_streamed_layer_by_layer_and_as_the_reference() {
    let blob = avg_pool_net(7).blob();
    let model = Model::from_bytes(&blob).expect("loads");
    let mut rng = Rng::new(12);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        let x: Vec<i8> = rng.bytes(model.input_shape().len()).into_iter().map(|b| b as i8).collect();
        let mut arena = vec![0u8; model.arena_len()];
        let full: Vec<i8> = model.run(&x, &mut arena).expect("runs").values().collect();
        let mut arena = vec![0u8; model.streamed_arena_len()];
        let streamed: Vec<i8> = model.run_streamed(&x, &mut arena).expect("runs").values().collect();
        assert_eq!(full, streamed);
        assert_eq!(int8_reference::run(&blob, &x).expect("reference runs"), full);
        seen.insert(full);
    }
    assert!(seen.len() > 50, "outputs depend on the input");
}

fn avg_pool_blob(window: Window, input: Quant, output: Quant, activation: Activation) -> Result<Vec<u8>, Error> {
    let layer = LayerDef::AvgPool(AvgPoolDef { window, output, activation });
    let out = Shape { h: window.out_h, w: window.out_w, c: 3 };
    let def = ModelDef {
        input: TensorSpec { shape: Shape { h: 5, w: 5, c: 3 }, quant: input },
        output: TensorSpec { shape: out, quant: output },
        layers: &[layer],
    };
    infer_core::to_blob(&def)
}

/// The loader refuses windows without taps inside the image and an output quantized other than
/// the input (TFLite's Prepare: zero points equal, scales within 1e−6).
#[test]
fn loader_checks_avg_pool_fields() {
    let quant = Quant { scale: 0.05, zero_point: 3 };
    let same = tf_window((3, 2), (2, 3), true, 5, 5);
    assert!(avg_pool_blob(same, quant, quant, Activation::Relu6).is_ok());
    assert!(avg_pool_blob(tf_window((4, 4), (1, 1), false, 5, 5), quant, quant, Activation::None).is_ok());
    let near = Quant { scale: 0.05 + 5e-7, ..quant };
    assert!(avg_pool_blob(same, quant, near, Activation::None).is_ok());
    let off = Quant { scale: 0.05 + 2e-6, ..quant };
    assert_eq!(rejected_field(avg_pool_blob(same, quant, off, Activation::None)), "output.scale");
    let zp = Quant { zero_point: 4, ..quant };
    assert_eq!(rejected_field(avg_pool_blob(same, quant, zp, Activation::None)), "output.zero_point");
    let pad = Window { pad_top: 3, ..same };
    assert_eq!(rejected_field(avg_pool_blob(pad, quant, quant, Activation::None)), "window");
    let past = Window { out_w: 3, ..same };
    assert_eq!(rejected_field(avg_pool_blob(past, quant, quant, Activation::None)), "window");
    let zero = Window { stride_h: 0, ..same };
    assert_eq!(rejected_field(avg_pool_blob(zero, quant, quant, Activation::None)), "window");
    // Zero point 127: RELU and RELU6 leave the single value 127 (TFLite gives a constant output).
    let top = Quant { scale: 1e3, zero_point: 127 };
    assert!(avg_pool_blob(same, top, top, Activation::Relu6).is_ok());
}
