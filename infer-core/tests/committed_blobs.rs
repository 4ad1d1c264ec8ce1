//! The blobs committed in `models/` (written by the trainer): they load, `run_u8` on 8-bit
//! pixels equals `run` on `q = pixel − 128` for every one of them (both input conventions the
//! trainer writes), and their outputs are the ones recorded before the engine's plan refactor.

mod common;

use std::path::PathBuf;

use common::Rng;
#[cfg(feature = "std")]
use infer_core::Sizing;
use infer_core::{Error, Model, ModelN, RunError};

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
/// (The frozen MobileNetV2 blobs recorded here were replaced by the fine-tuned recipe's.)
const RECORDED: [(&str, [i8; 3]); 2] = [
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

/// The streamed run gives the same bytes as the layer-by-layer one, in its smaller arena (and
/// refuses one byte less), for every committed blob; the firmware test does the same on real
/// X-rays on the device.
#[test]
fn streamed_runs_equal_layer_by_layer_runs() {
    for (name, blob) in blobs() {
        let model = Model::from_bytes(&blob).unwrap();
        let s = model.input_spec().shape;
        let (full, streamed) = (model.arena_len(), model.streamed_arena_len());
        println!("{name}: arena {full} B, streamed {streamed} B over {} layers", model.streamed_layers());
        assert!(model.streamed_layers() > 0 && streamed < full / 2, "{name}: {streamed} of {full}");
        let mut big = vec![0u8; full];
        let mut small = vec![0x5Au8; streamed];
        for k in 0..3 {
            let p = pixels(k, usize::from(s.h), usize::from(s.w));
            let want: Vec<i8> = model.run_u8(&p, &mut big).unwrap().values().collect();
            let got: Vec<i8> = model.run_u8_streamed(&p, &mut small).unwrap().values().collect();
            assert_eq!(got, want, "{name}, image {k}");
            let by_i8: Vec<i8> = model.run_streamed(&shifted(&p), &mut small).unwrap().values().collect();
            assert_eq!(by_i8, want, "{name}, image {k}");
            model.streamed_input(&mut small).unwrap().copy_from_slice(&p);
            let in_place: Vec<i8> = model.run_u8_streamed_in_place(&mut small).unwrap().values().collect();
            assert_eq!(in_place, want, "{name}, image {k}");
        }
        let err = model.run_u8_streamed(&pixels(0, 1, s.h as usize * s.w as usize), &mut small[..streamed - 1]);
        assert_eq!(err.unwrap_err(), RunError::ArenaTooSmall { needed: streamed, got: streamed - 1 }, "{name}");
    }
}

#[cfg(feature = "std")] // Sizing is for build scripts
#[test]
fn sizing_matches_the_loaded_model() {
    for (name, blob) in blobs() {
        let model = Model::from_bytes(&blob).unwrap();
        let sizing = Sizing::of(&blob).unwrap();
        let want = Sizing {
            arena_len: model.arena_len(),
            streamed_arena_len: model.streamed_arena_len(),
            layers: model.layer_count(),
        };
        assert_eq!(sizing, want, "{name}");
    }
    let (_, seed) = blobs().into_iter().find(|(n, _)| n.starts_with("seed_cnn")).unwrap();
    let sizing = Sizing::of(&seed).unwrap();
    assert_eq!((sizing.arena_len, sizing.layers), (196_608, 7));
    assert_eq!(
        sizing.rust_consts(),
        format!(
            "/// Bytes of arena for `run` / `run_u8` (`Model::arena_len`).\n\
             pub const ARENA_LEN: usize = 196608;\n\
             /// Bytes of arena for `run_streamed` / `run_u8_streamed` (`Model::streamed_arena_len`).\n\
             pub const STREAMED_ARENA_LEN: usize = {};\n\
             /// Layers in the blob: the plan capacity for `ModelN<'_, LAYERS>`.\n\
             pub const LAYERS: usize = 7;\n",
            sizing.streamed_arena_len
        )
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

/// `load` fills a model where it lies (a `static` on the device) exactly as `from_bytes`
/// builds one; a failed load leaves it empty, and an empty model runs to an empty output.
#[test]
fn load_in_place_equals_from_bytes() {
    let blobs = blobs();
    let mut model = Model::EMPTY;
    assert!(model.run(&[], &mut []).unwrap().is_empty());
    for (name, blob) in &blobs {
        model.load(blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(both_entry_points(&model), both_entry_points(&Model::from_bytes(blob).unwrap()), "{name}");
        assert_eq!(model.streamed_arena_len(), Model::from_bytes(blob).unwrap().streamed_arena_len());
    }
    assert!(model.load(&blobs[0].1[..100]).is_err());
    assert_eq!((model.layer_count(), model.arena_len(), model.streamed_arena_len()), (0, 0, 0));
}
