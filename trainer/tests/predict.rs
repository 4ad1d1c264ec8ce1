//! `trainer predict` on a committed int8 blob: real X-rays and unusual but valid images are
//! classified, each damaged file is one clear error and the others still run, and the command
//! exits non-zero only when nothing could be classified.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::images::{cmyk_jpeg, grey16_png, one_pixel_png, png_header, rgba_png};
use trainer::predict::{predict_files, Source};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn blob() -> PathBuf {
    repo().join("models/seed_cnn-pooled-adam-lr0.0001-e10-b20-128px-s42.int8.postcard")
}

fn xray(rel: &str) -> PathBuf {
    repo().join("../shared/data/chest_xray").join(rel)
}

/// Writes the test files into `dir`: `(name, bytes, should classify)`.
fn files(dir: &Path) -> Vec<(PathBuf, bool)> {
    let real = std::fs::read(xray("test/PNEUMONIA/person100_bacteria_475.jpeg")).unwrap();
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("cut.jpeg", real[..real.len() / 2].to_vec(), false),
        ("notes.png", b"this is not an image".to_vec(), false),
        ("empty.jpeg", Vec::new(), false),
        ("huge.png", png_header(30000, 30000), false),
        ("grey16.png", grey16_png(300), true),
        ("rgba.png", rgba_png(97), true),
        ("cmyk.jpeg", cmyk_jpeg(150), true),
        ("one_pixel.png", one_pixel_png(), true),
    ];
    let mut out = vec![
        (xray("test/NORMAL/IM-0001-0001.jpeg"), true),
        (xray("test/PNEUMONIA/person100_bacteria_475.jpeg"), true),
    ];
    for (name, bytes, ok) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        out.push((path, ok));
    }
    out
}

#[test]
fn damaged_files_are_one_error_each_and_unusual_images_are_classified() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = files(tmp.path());
    let paths: Vec<PathBuf> = cases.iter().map(|(p, _)| p.clone()).collect();
    let predictions = predict_files(&Source::Int8 { blob: blob() }, &paths).unwrap();
    assert_eq!(predictions.len(), cases.len());
    for (p, (path, ok)) in predictions.iter().zip(&cases) {
        assert_eq!(p.file, path.display().to_string());
        assert_eq!(p.class.is_some(), *ok, "{p:?}");
        if *ok {
            let prob = p.probability.unwrap();
            assert!((0.0..=1.0).contains(&prob), "{p:?}");
            let expected = if prob >= p.threshold { "pneumonia" } else { "normal" };
            assert_eq!(p.class.as_deref(), Some(expected));
        } else {
            assert!(!p.error.as_deref().unwrap_or("").is_empty(), "{p:?}");
        }
    }
    let reason = |name: &str| {
        predictions.iter().find(|p| p.file.ends_with(name)).and_then(|p| p.error.clone()).unwrap()
    };
    assert!(reason("cut.jpeg").contains("ends before its end-of-image marker"), "{}", reason("cut.jpeg"));
    assert!(reason("huge.png").contains("30000×30000"), "{}", reason("huge.png"));
    assert!(reason("empty.jpeg").contains("cannot decode"), "{}", reason("empty.jpeg"));
}

#[test]
fn the_command_exits_non_zero_only_when_nothing_was_classified() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.jpeg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let run = |images: &[&Path], json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainer"));
        cmd.arg("predict").arg("--model").arg(blob()).args(images);
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let good = xray("test/NORMAL/IM-0001-0001.jpeg");
    let mixed = run(&[&bad, &good], false);
    assert!(mixed.status.success(), "{mixed:?}");
    let stdout = String::from_utf8_lossy(&mixed.stdout);
    assert!(stdout.contains("IM-0001-0001.jpeg: ") && stdout.contains("(threshold 0.25)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&mixed.stderr);
    assert_eq!(stderr.lines().filter(|l| l.contains("bad.jpeg: error:")).count(), 1, "{stderr}");

    let json = run(&[&good], true);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed[0]["threshold"], 0.25);
    assert!(run(&[&bad], false).status.code() != Some(0));
}

/// A blob imported from TFLite (Google's MobileNetV2 1.0, with the ImageNet labels) predicts
/// its most probable class by label through the same `trainer predict` path; a cut photo is one
/// error line among them.
#[test]
fn imported_tflite_blob_predicts_labels() {
    let weights = repo().join("../shared/weights");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("google.int8.postcard");
    let args = trainer::import::ImportArgs {
        model: weights.join("tf2_mobilenet_v2_1.0_224_ptq.tflite"),
        out: out.clone(),
        labels: Some(weights.join("imagenet_labels.txt")),
    };
    trainer::import::import_tflite(&args).unwrap();
    let photos = weights.join("test_images");
    let cut = tmp.path().join("cut.jpg");
    std::fs::write(&cut, &std::fs::read(photos.join("parrot.jpg")).unwrap()[..30_000]).unwrap();
    let files = [photos.join("hot_dog.jpg"), photos.join("parrot.jpg"), cut];
    let got = trainer::import::predict(&Source::Int8 { blob: out }, &files).unwrap();
    let classes: Vec<_> = got.iter().map(|p| (p.class.as_deref(), p.index)).collect();
    assert_eq!(
        classes,
        [(Some("hotdog, hot dog, red hot"), Some(935)), (Some("macaw"), Some(89)), (None, None)]
    );
    assert!(got[2].error.as_deref().unwrap().contains("ends before"), "{:?}", got[2].error);
}

/// A run trained on equalised images is given equalised images by `predict` too: its
/// probabilities for test files equal the ones the run measured on its own test split.
#[test]
fn a_float_run_gets_the_intensity_normalisation_it_was_trained_with() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    common::make_tiny_layout(tmp.path());
    let cfg = trainer::train::TrainConfig {
        intensity: trainer::data::intensity::Intensity::Equalize,
        ..common::tiny_run_config(tmp.path(), 2)
    };
    trainer::run::train_run(&cfg, "test").unwrap();
    let run = tmp.path().join("runs/tiny");
    let csv = std::fs::read_to_string(run.join("test_predictions.csv")).unwrap();
    let measured = common::measured_predictions(&csv, 12);
    let files: Vec<PathBuf> = measured.iter().map(|(f, _)| f.clone()).collect();
    let got = predict_files(&Source::Float { run }, &files).unwrap();
    common::assert_same_probabilities(&got, &measured);
}
