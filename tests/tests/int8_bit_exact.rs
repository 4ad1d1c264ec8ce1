//! Every committed int8 blob in `models/`, on every image of the official test split (624 real
//! X-rays): infer-core's output bytes equal the trainer's integer reference's, and the int8
//! accuracy at the card's threshold is what the card recorded (for blobs made on the official
//! protocol). The engine runs through `Model::run_u8` on the 8-bit pixels, as a device fed
//! by a camera would, and on every 8th image also through `run_u8_streamed` (the firmware's
//! row-streamed run), which must give the same bytes (on all 624 images this test took 927 s
//! instead of about 650 s on the 2-core dev machine). Set CHEST_XRAY_DIR to test another copy
//! of the data.

use std::path::{Path, PathBuf};

use infer_core::Model;
use rayon::prelude::*;
use trainer::data::{Dataset, OfficialSplit};
use trainer::eval::metrics::at_threshold;
use trainer::quant::card::{card_path_for, read_card};
use trainer::quant::evaluate::{run_reference, to_predictions};
use trainer::quant::reference;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data_dir() -> PathBuf {
    std::env::var_os("CHEST_XRAY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data/chest_xray"))
}

fn blobs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("models"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.to_string_lossy().ends_with(".int8.postcard"));
    out.sort();
    out
}

fn check(blob_path: &Path) {
    let card = read_card(&card_path_for(blob_path)).unwrap();
    let blob = std::fs::read(blob_path).unwrap();
    let model = Model::from_bytes(&blob).unwrap_or_else(|e| panic!("{}: {e}", blob_path.display()));
    assert_eq!(blob.len(), card.blob_bytes, "{}", card.name);
    assert_eq!(model.arena_len(), card.arena_bytes, "{}", card.name);

    let data = Dataset::load(&data_dir(), card.split.image_size, &repo().join(".cache"))
        .unwrap_or_else(|e| panic!("the real data set is needed at {}: {e:#}", data_dir().display()));
    let test: Vec<usize> =
        (0..data.records.len()).filter(|&i| data.records[i].official == OfficialSplit::Test).collect();
    assert_eq!(test.len(), 624);
    // The engine is fed 8-bit pixels through `run_u8` (q = pixel − 128, the card's
    // preprocessing); infer-core's own tests prove `run_u8` equals `run` on shifted pixels.
    let engine: Vec<Vec<i8>> = test
        .par_iter()
        .map_init(
            || (vec![0u8; model.arena_len()], vec![0u8; model.streamed_arena_len()]),
            |(arena, small), &i| {
                let path = data.records[i].path.display();
                let out: Vec<i8> = match model.run_u8(data.image(i), arena) {
                    Ok(out) => out.values().collect(),
                    Err(e) => panic!("{}: run_u8 refused {path}: {e}", card.name),
                };
                if i % 8 == 0 {
                    let streamed: Vec<i8> = model.run_u8_streamed(data.image(i), small).unwrap().values().collect();
                    assert_eq!(streamed, out, "{}: streamed run differs on {path}", card.name);
                }
                out
            },
        )
        .collect();
    let reference = run_reference(&model, &data, &test, &reference::run).unwrap();
    for (k, (e, r)) in engine.iter().zip(&reference).enumerate() {
        assert_eq!(
            e,
            r,
            "{}: infer-core and the reference differ on {}",
            card.name,
            data.records[test[k]].path.display()
        );
    }
    if card.split.protocol == trainer::data::Protocol::Official {
        let p = to_predictions(&model, &engine, &data, &test);
        let acc = at_threshold(&p.probs, &p.labels, card.threshold).accuracy;
        assert!(
            (acc - card.int8_test_accuracy).abs() < 1e-9,
            "{}: accuracy {acc} vs card {}",
            card.name,
            card.int8_test_accuracy
        );
    }
    eprintln!("{}: {} official test images bit-exact", card.name, test.len());
}

#[test]
fn committed_blobs_are_bit_exact_with_the_reference_on_the_official_test_split() {
    let blobs = blobs();
    assert!(!blobs.is_empty(), "no models/*.int8.postcard committed");
    for b in &blobs {
        check(b);
    }
}
