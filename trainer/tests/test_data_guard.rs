//! The guard between selection and test: everything a run chooses (epochs, milestones'
//! thresholds, the final threshold) is frozen on validation before a test image is loaded,
//! the run folder records that order, and in the code only a frozen `Selection` opens the
//! split's test images.

mod common;

use std::path::Path;

use trainer::eval::ThresholdRule;
use trainer::run::metrics_file::MetricsFile;
use trainer::run::train_run;
use trainer::train::TrainConfig;

fn position(order: &[String], what: &str) -> usize {
    order.iter().position(|s| s.contains(what)).unwrap_or_else(|| panic!("no {what:?} in {order:#?}"))
}

#[test]
fn selection_is_frozen_before_the_test_images_are_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    common::make_tiny_layout(tmp.path());
    let cfg = TrainConfig {
        eval_epochs: vec![1, 3],
        threshold_rule: ThresholdRule::BalancedAccuracy,
        ..common::tiny_run_config(tmp.path(), 4)
    };
    let m: MetricsFile = train_run(&cfg, "test").unwrap();
    let order = &m.protocol_order;
    let trained = position(order, "trained 4 epochs");
    let milestones = position(order, "milestone selections frozen on validation at epochs 1, 3");
    let frozen = position(order, "selection frozen on validation");
    let test = position(order, "test images");
    assert!(trained < milestones && milestones < frozen && frozen < test, "{order:#?}");
    assert_eq!(
        order.iter().filter(|s| s.contains("test")).count(),
        2,
        "test appears only at the end: {order:#?}"
    );
    // Milestones were still measured on test, each at its own validation threshold, and
    // their weight files are gone.
    assert_eq!(m.milestones.iter().map(|x| x.epoch).collect::<Vec<_>>(), [1, 3]);
    assert!(m.milestones.iter().all(|x| x.evaluation.test.images == m.evaluation.test.images));
    assert_eq!(m.evaluation.threshold_rule, ThresholdRule::BalancedAccuracy);
    let dir = tmp.path().join("runs/tiny");
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("milestone")));
    // The final model is the last epoch's, not the last milestone's: eval reproduces it.
    let again = trainer::run::eval_run(&dir, None, true).unwrap();
    assert_eq!(again.test.at_chosen_threshold.confusion, m.evaluation.test.at_chosen_threshold.confusion);

    // Shifted validation reads the validation images only, at the threshold the run froze:
    // its clean view is the run's own validation accuracy, and metrics.json is untouched.
    let before = std::fs::read(dir.join("metrics.json")).unwrap();
    let v = trainer::run::shifted_run::shifted_run(&dir, None, true).unwrap();
    assert_eq!(v.threshold, m.evaluation.threshold);
    assert_eq!(v.images, m.evaluation.validation.images);
    assert_eq!(v.clean.accuracy, m.evaluation.validation.at_chosen_threshold.accuracy);
    let views: Vec<&str> = v.shifted.iter().map(|x| x.view.as_str()).collect();
    assert_eq!(views, ["gamma_0.67", "gamma_1.5", "contrast_0.7", "half_resolution", "zoom_in", "zoom_out"]);
    let mean = v.shifted.iter().map(|x| x.accuracy).sum::<f64>() / 6.0;
    assert!((v.mean_accuracy - mean).abs() < 1e-12);
    let written: trainer::run::shifted_run::ShiftedValidation =
        serde_json::from_slice(&std::fs::read(dir.join("shifted_validation.json")).unwrap()).unwrap();
    // serde_json reads floats to within an ulp, not always bit for bit.
    assert_eq!(written.shifted.len(), 6);
    assert!((written.mean_accuracy - v.mean_accuracy).abs() < 1e-12 && written.threshold == v.threshold);
    assert_eq!(std::fs::read(dir.join("metrics.json")).unwrap(), before);
    // A run folder copied without its weights (as reports/ keeps them) is a clear error.
    let copy = tmp.path().join("copied");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(dir.join("metrics.json"), copy.join("metrics.json")).unwrap();
    let e = format!("{:#}", trainer::run::shifted_run::shifted_run(&copy, None, true).unwrap_err());
    assert!(e.contains("copied") && e.contains("no model.safetensors"), "{e}");
}

/// `(file, line)` of every non-comment line under `dir` containing `needle`.
fn uses(dir: &Path, needle: &str, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            uses(&p, needle, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                if line.contains(needle) && !line.trim_start().starts_with("//") {
                    out.push((p.display().to_string(), line.trim().to_string()));
                }
            }
        }
    }
}

#[test]
fn only_a_frozen_selection_opens_the_test_split() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut made = Vec::new();
    uses(&src, "attest_frozen_selection()", &mut made);
    let makers: Vec<&str> =
        made.iter().map(|(f, _)| f.as_str()).filter(|f| !f.ends_with("data/sealed.rs")).collect();
    assert!(makers.iter().all(|f| f.ends_with("eval/selection.rs")), "{made:#?}");
    assert!(!makers.is_empty(), "eval/selection.rs makes the proof");
    // The unsealed view is for counting the split, never for a path that trains or chooses.
    let mut unsealed = Vec::new();
    uses(&src, "test_unsealed()", &mut unsealed);
    for (file, line) in &unsealed {
        let allowed = file.ends_with("data/split.rs") || file.ends_with("quant/card.rs");
        assert!(allowed, "{file}: {line}");
    }
}
