//! `trainer quantize` end to end on a small seed CNN trained on generated data (CPU): blob and
//! card are written only after every check has passed. An integer reference that disagrees
//! with infer-core (an injected fault) leaves nothing in the output folder.

mod common;

use infer_core::Model;
use trainer::predict::{predict_files, Source};
use trainer::quant::bias_correction::BiasCorrection;
use trainer::quant::calibrate::Calibration;
use trainer::quant::logit_gain::OutputCorrection;
use trainer::quant::pipeline::{quantize_run, quantize_run_with, QuantizeOptions};
use trainer::quant::qat::QatOptions;
use trainer::quant::reference;
use trainer::run::train_run;

/// Quantizes the run "tiny" under `tmp` into `tmp/models` (min/max on 64 images, CPU).
fn tiny_quantize_options(tmp: &std::path::Path) -> QuantizeOptions {
    QuantizeOptions {
        run: tmp.join("runs/tiny"),
        out_dir: tmp.join("models"),
        name: None,
        calibration: Calibration::MinMax,
        calibration_images: 64,
        data: None,
        cpu: true,
        bias_correction: BiasCorrection::Layers,
        output_correction: OutputCorrection::Offset,
        equalize: None,
        qat: None,
    }
}

#[test]
fn a_failed_bit_exact_check_writes_nothing_and_a_passing_one_writes_blob_and_card() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    common::make_tiny_layout(tmp.path());
    let cfg = common::tiny_run_config(tmp.path(), 2);
    train_run(&cfg, "test").unwrap();
    let out = tmp.path().join("models");
    let opts = tiny_quantize_options(tmp.path());

    // A reference off by one in the last output byte of every image.
    let wrong = |m: &Model<'_>, x: &[i8]| {
        let mut bytes = reference::run(m, x)?;
        if let Some(last) = bytes.last_mut() {
            *last = last.wrapping_add(1);
        }
        Ok(bytes)
    };
    let err = quantize_run_with(&opts, "test", &wrong).unwrap_err();
    assert!(format!("{err:#}").contains("disagree"), "{err:#}");
    let left: Vec<_> =
        std::fs::read_dir(&out).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "a failed check left {left:?} behind");

    let card = quantize_run(&opts, "test").unwrap();
    assert_eq!(card.test_bit_exact, card.split.test_images);
    let blob = std::fs::read(out.join("tiny.int8.postcard")).unwrap();
    assert_eq!(blob.len(), card.blob_bytes);
    assert!(Model::from_bytes(&blob).is_ok());
    assert!(out.join("tiny.json").is_file());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2, "no temporary files");
    assert!(card.qat.is_none() && card.validation_label_agreement.is_some());
    // The int8 model keeps the float model's threshold; the one it would pick is a diagnostic.
    assert_eq!(card.threshold, card.float_threshold);
    assert_eq!(card.int8_test_accuracy, card.int8_test_accuracy_at_float_threshold);
    assert!(card.int8_own_threshold.is_some() && card.int8_test_accuracy_at_own_threshold.is_some());

    // Fine-tuned toward the float model first: still bit-exact, and the card says so.
    let qat = QatOptions { steps: 6, lr: 1e-4, batch: 32 };
    let tuned = QuantizeOptions {
        name: Some("tiny-qat".into()),
        qat: Some(qat),
        output_correction: OutputCorrection::Affine,
        ..tiny_quantize_options(tmp.path())
    };
    let tuned_card = quantize_run(&tuned, "test").unwrap();
    assert_eq!(tuned_card.test_bit_exact, tuned_card.split.test_images);
    assert_eq!(tuned_card.qat.as_ref().map(|l| l.options), Some(qat));
    // ... and with the outputs' gain undone too (the first card: offset only).
    let gain = tuned_card.logit_gain.expect("affine output correction records the gain");
    assert!(gain > 0.5 && gain < 2.0, "{gain}");
    assert_eq!(card.logit_gain, None);
    assert!(out.join("tiny-qat.int8.postcard").is_file());
    std::fs::remove_file(out.join("tiny-qat.int8.postcard")).unwrap();
    std::fs::remove_file(out.join("tiny-qat.json")).unwrap();

    // `trainer predict` with the blob and with the run's float model agree on a bright
    // (pneumonia-like) and a dark (normal-like) generated training image.
    let images: Vec<_> = ["train/PNEUMONIA/person1_bacteria_0.png", "train/NORMAL/IM-0003-0000.png"]
        .iter()
        .map(|f| tmp.path().join("chest_xray").join(f))
        .collect();
    let int8 = predict_files(&Source::Int8 { blob: out.join("tiny.int8.postcard") }, &images).unwrap();
    let float = predict_files(&Source::Float { run: tmp.path().join("runs/tiny") }, &images).unwrap();
    for (q, f) in int8.iter().zip(&float) {
        assert!(q.error.is_none() && f.error.is_none(), "{q:?} {f:?}");
        assert!((q.probability.unwrap() - f.probability.unwrap()).abs() < 0.1, "{q:?} {f:?}");
    }
    assert!(
        float[0].probability > float[1].probability,
        "the bright image is the likelier pneumonia: {float:?}"
    );
}

/// The 3-class seed CNN goes through `trainer quantize` too: three int8 logits, the same class
/// as the float model on (nearly) every test image, infer-core equal to the reference.
#[test]
fn a_three_class_model_quantizes_with_classes_kept() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("chest_xray");
    // Normal, bacterial and viral images have clearly different brightness.
    common::make_learnable_layout(&data, &common::Layout { patients: 525, side: 12, bases: [40, 200, 120] });
    // 10 epochs: at 4 the tiny net sometimes still lumped viral with bacterial (CI, once).
    let cfg = trainer::train::TrainConfig { classes: 3, ..common::tiny_run_config(tmp.path(), 10) };
    let metrics = train_run(&cfg, "test").unwrap();
    let classes = metrics.evaluation.classes.as_ref().expect("a 3-class run reports its classes");
    assert!(classes.test.accuracy > 0.8, "{classes:?}");
    let opts = tiny_quantize_options(tmp.path());
    let card = quantize_run(&opts, "test").unwrap();
    assert_eq!(card.classes, ["normal", "bacterial", "viral"]);
    assert_eq!(card.test_bit_exact, card.split.test_images);
    let agreement = card.test_class_agreement.expect("3-class cards carry the class agreement");
    assert!(agreement >= 0.97, "float and int8 classes agree on only {agreement}");
    assert!(card.int8_test_class_accuracy.unwrap() > 0.8, "{card:?}");
    let blob = std::fs::read(tmp.path().join("models/tiny.int8.postcard")).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(model.output_spec().shape.c, 3);

    // `trainer predict` names the class of a bacterial-bright and a normal-dark image.
    let images: Vec<_> = ["train/PNEUMONIA/person1_bacteria_0.png", "train/NORMAL/IM-0003-0000.png"]
        .iter()
        .map(|f| data.join(f))
        .collect();
    for source in [
        Source::Int8 { blob: tmp.path().join("models/tiny.int8.postcard") },
        Source::Float { run: tmp.path().join("runs/tiny") },
    ] {
        let p = predict_files(&source, &images).unwrap();
        assert_eq!(p[0].class.as_deref(), Some("bacterial"), "{p:?}");
        assert_eq!(p[1].class.as_deref(), Some("normal"), "{p:?}");
        let c = p[0].class_probabilities.unwrap();
        assert!(
            (c.iter().sum::<f64>() - 1.0).abs() < 1e-4
                && (p[0].probability.unwrap() - c[1] - c[2]).abs() < 1e-6
        );
    }
}
