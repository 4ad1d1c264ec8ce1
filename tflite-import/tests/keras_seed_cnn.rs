//! The seed CNN in its own toolchain: built in Keras (SEED.md's architecture at 90×90×1),
//! trained briefly on the X-rays and converted with TFLiteConverter's int8 post-training
//! quantization by `scripts/keras_seed_cnn_tflite.py`, which also ran six official-test X-rays
//! (two normal, two bacterial, two viral) through TFLite 2.14's reference kernels and stored
//! the exact int8 inputs it fed and the outputs it got (`tests/fixtures/keras_seed_cnn/`).
//! Imported here and run by infer-core: every output byte equals TFLite's, in both runs (layer
//! by layer and row-streamed) and from `run_u8` on the pixels; the integer reference gives the
//! same bytes, and its FULLY_CONNECTED output (the LOGISTIC's input) equals TFLite's too.

use std::collections::BTreeMap;
use std::path::PathBuf;

use infer_core::Model;
use tflite_import::import;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras_seed_cnn")
}

fn read(name: &str) -> Vec<u8> {
    let p = fixtures().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One row of `cases.csv`.
struct Case {
    name: String,
    source: String,
    /// TFLite's FULLY_CONNECTED output (the LOGISTIC's input).
    fc: i8,
    /// TFLite's output.
    output: i8,
}

fn cases() -> Vec<Case> {
    let csv = String::from_utf8(read("cases.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("case,source,kind,keras_p,tflite_fc_output,tflite_output,tflite_p"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Case {
                name: f[0].into(),
                source: f[1].into(),
                fc: f[4].parse().unwrap(),
                output: f[5].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn keras_seed_cnn_equals_tflite_reference_kernels_on_six_xrays() {
    let imported = import(&read("model.tflite"), "keras_seed_cnn/model.tflite").unwrap();
    let card = &imported.card;
    println!("{}", serde_json::to_string_pretty(card).unwrap());
    let ops: BTreeMap<&str, usize> = card.operators.iter().map(|(k, &v)| (k.as_str(), v)).collect();
    let want = [("CONV_2D", 6), ("FULLY_CONNECTED", 1), ("LOGISTIC", 1), ("MAX_POOL_2D", 6), ("RESHAPE", 1)];
    assert_eq!(ops, BTreeMap::from(want));
    assert_eq!((card.input.file_type, card.input.shape, card.input.zero_point), ("int8", [90, 90, 1], -128));
    assert_eq!((card.output.file_type, card.output.shape), ("int8", [1, 1, 1]));
    assert_eq!(card.layers, 14, "6 conv, 6 max-pool, dense, logistic (the RESHAPE is no layer)");

    let model = Model::from_bytes(&imported.blob).unwrap();
    let mut arena = vec![0u8; model.arena_len()];
    let mut small = vec![0u8; model.streamed_arena_len()];
    let cases = cases();
    assert_eq!(cases.len(), 6);
    for case in &cases {
        let input: Vec<i8> = read(&format!("{}.input.i8", case.name)).into_iter().map(|b| b as i8).collect();
        let want: Vec<i8> = read(&format!("{}.output.i8", case.name)).into_iter().map(|b| b as i8).collect();
        assert_eq!(want, [case.output], "{}: cases.csv", case.name);
        let got: Vec<i8> = model.run(&input, &mut arena).unwrap().values().collect();
        assert_eq!(got, want, "{} ({}): infer-core vs TFLite", case.name, case.source);
        let streamed: Vec<i8> = model.run_streamed(&input, &mut small).unwrap().values().collect();
        assert_eq!(streamed, want, "{}: streamed run", case.name);
        // The input is pixel / 255 quantized with scale 1/255, zero point −128: pixel − 128.
        let pixels: Vec<u8> = input.iter().map(|&q| q as u8 ^ 0x80).collect();
        let from_pixels: Vec<i8> = model.run_u8(&pixels, &mut arena).unwrap().values().collect();
        assert_eq!(from_pixels, want, "{}: run_u8", case.name);

        let layers = int8_reference::run_layers(&imported.blob, &input).unwrap();
        let dense = layers.iter().find(|l| l.op == "dense").unwrap();
        assert_eq!(dense.values, [case.fc], "{}: FULLY_CONNECTED output", case.name);
        assert_eq!(layers.last().unwrap().values, want, "{}: integer reference", case.name);
    }
}
