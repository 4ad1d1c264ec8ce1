//! Google's int8 post-training-quantized MobileNetV2 1.0 (`../shared/weights/
//! tf2_mobilenet_v2_1.0_224_ptq.tflite`), imported and run by infer-core on the five reference
//! photos: the 1001 output bytes equal TFLite 2.14's reference kernels' (fixtures written by
//! `scripts/tflite_fixtures.py`, which fed TFLite the very input bytes stored beside them), and
//! the top-1 class is the one `expected_top1.csv` names. Also: both runs (layer by layer and
//! row-streamed) agree, and the older uint8 model is refused with a clear reason.

use std::path::PathBuf;

use infer_core::Model;
use tflite_import::{import, Edge, ImportError};

fn weights() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/weights")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mobilenet_v2_1.0_224_ptq")
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (photo, expected top-1 index) from `expected_top1.csv`.
fn photos() -> Vec<(String, usize)> {
    let csv = String::from_utf8(read(weights().join("test_images/expected_top1.csv"))).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            let file = f.next().unwrap();
            (file.rsplit_once('.').unwrap().0.to_string(), f.next().unwrap().parse().unwrap())
        })
        .collect()
}

#[test]
fn google_mobilenet_v2_equals_tflite_reference_kernels_on_five_photos() {
    let file = read(weights().join("tf2_mobilenet_v2_1.0_224_ptq.tflite"));
    let imported = import(&file, "tf2_mobilenet_v2_1.0_224_ptq.tflite").unwrap();
    let card = &imported.card;
    println!("{}", serde_json::to_string_pretty(card).unwrap());
    assert_eq!((card.input.file_type, card.output.file_type), ("uint8", "uint8"));
    assert_eq!(card.input.shape, [224, 224, 3]);
    assert_eq!(card.output.shape, [1, 1, 1001]);
    let model = Model::from_bytes(&imported.blob).unwrap();
    let mut arena = vec![0u8; model.arena_len()];
    let mut small = vec![0u8; model.streamed_arena_len()];
    for (photo, top1) in photos() {
        let input = read(fixtures().join(format!("{photo}.input.u8")));
        let want = read(fixtures().join(format!("{photo}.output.u8")));
        // uint8 edges: the blob takes `byte − 128` (run_u8) and gives `uint8 − 128`.
        let got: Vec<u8> = model.run_u8(&input, &mut arena).unwrap().values().map(|q| q as u8 ^ 0x80).collect();
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{photo}: {differ} of 1001 output bytes differ from TFLite");
        let best = (0..got.len()).max_by_key(|&i| (got[i], std::cmp::Reverse(i))).unwrap();
        assert_eq!(best, top1, "{photo}: top-1");
        let streamed: Vec<u8> = model.run_u8_streamed(&input, &mut small).unwrap().values().map(|q| q as u8 ^ 0x80).collect();
        assert_eq!(streamed, got, "{photo}: streamed run");
    }
    let _ = Edge::Uint8;
}

/// TFLite's older quantization (uint8, per-tensor asymmetric weights) is refused at the first
/// operator, saying why and what to do.
#[test]
fn uint8_weights_are_refused_with_the_operator_named() {
    let file = read(weights().join("mobilenet_v2_1.0_224_quant.tflite"));
    let err = import(&file, "mobilenet_v2_1.0_224_quant.tflite").err().expect("refused");
    assert!(matches!(err, ImportError::Op { index: 0, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("operator 0 (CONV_2D): uint8 weights"), "{msg}");
}

/// A truncated file, a file cut anywhere, flipped bytes, and files that are not TFLite at all
/// are errors, never panics.
#[test]
fn damaged_files_are_errors_not_panics() {
    let file = read(weights().join("tf2_mobilenet_v2_1.0_224_ptq.tflite"));
    // Cuts inside the flatbuffer (the file ends with a zip of labels, TFLite's metadata
    // convention, which the model does not need).
    for cut in [0, 3, 8, 100, 4096, file.len() / 2, file.len() * 9 / 10] {
        let err = import(&file[..cut], "cut.tflite").err().unwrap_or_else(|| panic!("cut at {cut} imported"));
        assert!(matches!(err, ImportError::Corrupt(_)), "cut at {cut}: {err}");
    }
    assert!(matches!(import(b"\x89PNG\r\n\x1a\n not a model", "x.png"), Err(ImportError::Corrupt(_))));
    // Flip bytes across the structure (not the weights, which any value is valid for): each
    // import either fails with an error or yields a blob infer-core accepts.
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut damaged = file.clone();
        let at = (rng % 65_536) as usize % damaged.len();
        damaged[at] ^= 1 << (rng >> 61);
        if let Ok(imported) = import(&damaged, "flipped.tflite") {
            Model::from_bytes(&imported.blob).expect("an imported blob always loads");
        }
    }
}
