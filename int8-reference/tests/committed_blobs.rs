//! The committed real blobs (`models/*.int8.postcard`): infer-core and the reference agree
//! byte for byte on deterministic pseudo-random inputs and on the two constant extremes.

use infer_core::Model;
use std::path::{Path, PathBuf};

/// xorshift64*: deterministic, dependency-free input bytes.
fn pseudo_random(seed: u64, n: usize) -> Vec<i8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8 as i8
        })
        .collect()
}

fn committed_blobs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut blobs: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".int8.postcard"))
        .collect();
    blobs.sort();
    blobs
}

fn engine(model: &Model<'_>, input: &[i8]) -> Vec<i8> {
    let mut arena = vec![0u8; model.arena_len()];
    model.run(input, &mut arena).expect("infer-core runs").values().collect()
}

#[test]
fn engine_equals_reference_on_committed_blobs() {
    let blobs = committed_blobs();
    assert!(!blobs.is_empty(), "no models/*.int8.postcard found");
    for path in blobs {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let model = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let n = model.input_shape().len();
        let inputs = [pseudo_random(1, n), pseudo_random(2, n), vec![-128; n], vec![127; n]];
        let mut outputs = Vec::new();
        for (k, input) in inputs.iter().enumerate() {
            let reference = int8_reference::run(&bytes, input).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(engine(&model, input), reference, "{} input {k}", path.display());
            outputs.push(reference);
        }
        assert!(outputs.iter().any(|o| *o != outputs[0]), "{}: output ignores the input", path.display());
    }
}

#[test]
fn per_layer_outputs_cover_every_layer() {
    let path = committed_blobs().into_iter().next().expect("a committed blob");
    let bytes = std::fs::read(&path).expect("readable blob");
    let model = Model::from_bytes(&bytes).expect("valid blob");
    let input = pseudo_random(3, model.input_shape().len());
    let layers = int8_reference::run_layers(&bytes, &input).expect("reference runs");
    assert_eq!(layers.len(), model.layer_count());
    let last = layers.last().expect("at least one layer");
    assert_eq!(last.values, int8_reference::run(&bytes, &input).expect("reference runs"));
    let spec = model.output_spec();
    assert_eq!((last.h, last.w, last.c), (spec.shape.h.into(), spec.shape.w.into(), spec.shape.c.into()));
    assert_eq!((last.scale, last.zero_point), (spec.quant.scale, spec.quant.zero_point));
    for (def, out) in model.layers().zip(&layers) {
        assert_eq!(def.op_name(), out.op);
        assert_eq!(out.values.len(), out.h * out.w * out.c);
    }
    // Wrong input length and a corrupted blob are errors, not panics.
    assert!(int8_reference::run(&bytes, &input[1..]).is_err());
    let mut bad = bytes.clone();
    bad[bytes.len() / 2] ^= 1;
    assert!(int8_reference::run(&bad, &input).is_err());
}
