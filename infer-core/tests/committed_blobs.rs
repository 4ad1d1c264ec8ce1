//! The blobs committed in `models/` (written by the trainer): they load, `run_u8` on 8-bit
//! pixels equals `run` on `q = pixel − 128` for every one of them (both input conventions the
//! trainer writes), and their outputs are the ones recorded before the engine's plan refactor.

mod common;

use std::path::PathBuf;

use common::Rng;
use infer_core::{Error, Model, ModelN, Sizing};

/// Every `*.int8.postcard` in the repository's `models/`, sorted by name.
fn blobs() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".int8.postcard"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no blobs in {}", dir.display());
    paths
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Image `k` of a blob's test set: 0 is a diagonal gradient, the others xorshift noise.
fn pixels(k: u64, h: usize, w: usize) -> Vec<u8> {
    if k == 0 {
        (0..h * w).map(|i| ((i / w + i % w) * 255 / (h + w - 2).max(1)) as u8).collect()
    } else {
        Rng::new(k).bytes(h * w)
    }
}

fn shifted(p: &[u8]) -> Vec<i8> {
    p.iter().map(|&v| (i16::from(v) - 128) as i8).collect()
}

/// Output of images 0, 1, 2 (via `run` on `pixel − 128`) of each blob, recorded with the
/// engine as it was before the plan refactor (which re-prepared every layer on each run).
const RECORDED: [(&str, [i8; 3]); 4] = [
    ("mobilenet_v2-w0.35-frozen-official-adam-lr0.001-e30-b32-224px-s42.int8.postcard", [19, -5, 1]),
    ("mobilenet_v2-w0.35-frozen-pooled-adam-lr0.001-e30-b32-224px-s42.int8.postcard", [17, 17, 14]),
    ("seed_cnn-official-adam-lr0.0001-e6-b20-128px-s42.int8.postcard", [55, 51, 48]),
    ("seed_cnn-pooled-adam-lr0.0001-e10-b20-128px-s42.int8.postcard", [74, 54, 63]),
];

/// `run_u8(pixels)` and `run(pixels − 128)` on images 0..3 of `model`'s input size.
fn both_entry_points<const N: usize>(model: &ModelN<'_, N>) -> Vec<(Vec<i8>, Vec<i8>)> {
    let s = model.input_spec().shape;
    assert_eq!(s.c, 1);
    let mut arena = vec![0u8; model.arena_len()];
    (0..3)
        .map(|k| {
            let p = pixels(k, usize::from(s.h), usize::from(s.w));
            let by_u8: Vec<i8> = model.run_u8(&p, &mut arena).unwrap().values().collect();
            let by_i8: Vec<i8> = model.run(&shifted(&p), &mut arena).unwrap().values().collect();
            (by_u8, by_i8)
        })
        .collect()
}

#[test]
fn run_u8_equals_run_on_shifted_pixels_for_every_committed_blob() {
    let blobs = blobs();
    // Both input conventions the trainer writes are among them.
    let zero_points: Vec<i8> =
        blobs.iter().map(|(_, b)| Model::from_bytes(b).unwrap().input_spec().quant.zero_point).collect();
    assert!(zero_points.contains(&-128) && zero_points.contains(&0), "{zero_points:?}");
    for (name, blob) in &blobs {
        let model = Model::from_bytes(blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (k, (by_u8, by_i8)) in both_entry_points(&model).into_iter().enumerate() {
            assert_eq!(by_u8, by_i8, "{name}, image {k}");
        }
    }
}

/// Blobs committed later (e.g. the 3-class CNN) have no pre-refactor record; the bit-exact
/// test in `tests/` checks every blob against the integer reference instead.
#[test]
fn committed_blobs_keep_their_outputs() {
    let blobs = blobs();
    for (want_name, want) in RECORDED {
        let (name, blob) = blobs
            .iter()
            .find(|(n, _)| n == want_name)
            .unwrap_or_else(|| panic!("{want_name} is no longer in models/"));
        let model = Model::from_bytes(blob).unwrap();
        let got: Vec<i8> = both_entry_points(&model).into_iter().flat_map(|(_, by_i8)| by_i8).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn sizing_matches_the_loaded_model() {
    for (name, blob) in blobs() {
        let model = Model::from_bytes(&blob).unwrap();
        let sizing = Sizing::of(&blob).unwrap();
        assert_eq!(sizing, Sizing { arena_len: model.arena_len(), layers: model.layer_count() }, "{name}");
    }
    let (_, seed) = blobs().into_iter().find(|(n, _)| n.starts_with("seed_cnn")).unwrap();
    assert_eq!(Sizing::of(&seed).unwrap(), Sizing { arena_len: 196_608, layers: 7 });
    #[cfg(feature = "std")]
    assert_eq!(
        Sizing::of(&seed).unwrap().rust_consts(),
        "/// Bytes of arena the model needs (`Model::arena_len`).\n\
         pub const ARENA_LEN: usize = 196608;\n\
         /// Layers in the blob: the plan capacity for `ModelN<'_, LAYERS>`.\n\
         pub const LAYERS: usize = 7;\n"
    );
}

/// A plan exactly as large as the blob works and gives the same outputs; one smaller is a
/// load error naming both numbers.
#[test]
fn plan_capacity_is_chosen_by_the_caller() {
    let (_, seed) = blobs().into_iter().find(|(n, _)| n.starts_with("seed_cnn")).unwrap();
    let exact = ModelN::<'_, 7>::from_bytes(&seed).unwrap();
    assert_eq!(both_entry_points(&exact), both_entry_points(&Model::from_bytes(&seed).unwrap()));
    let err = ModelN::<'_, 6>::from_bytes(&seed).unwrap_err();
    assert_eq!(err, Error::TooManyLayers { layers: 7, capacity: 6 });
    assert_eq!(err.to_string(), "7 layers, the model's plan holds at most 6");
    assert_eq!(ModelN::<'_, 6>::CAPACITY, 6);
}
