//! The `Mean` and `Softmax` layers against TFLite 2.14's reference kernels
//! (`OpResolverType.BUILTIN_REF`), byte for byte: every case of
//! `tests/fixtures/tflite_ops/{mean,softmax}.txt` (written by `scripts/tflite_op_fixtures.py`
//! from one-op `.tflite` models) is run through a blob holding just that layer.

use infer_core::quant_math::{multiplier_from_real, softmax_params};
use infer_core::{LayerDef, MeanDef, Model, ModelDef, Quant, Shape, SoftmaxDef, TensorSpec};

const MEAN: &str = include_str!("fixtures/tflite_ops/mean.txt");
const SOFTMAX: &str = include_str!("fixtures/tflite_ops/softmax.txt");

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

#[test]
fn fixture_decoding() {
    assert_eq!(values("0a80.7f*3.ff"), vec![10, -128, 127, 127, 127, -1]);
}
