//! The whole `trainer train` / `trainer eval` path on a small generated data set whose classes
//! are learnable (pneumonia images are brighter), on the CPU: the run folder holds every file,
//! the network actually learns, and early stopping restores the best epoch.

mod common;

use trainer::run::metrics_file::MetricsFile;
use trainer::run::{eval_run, train_run};
use trainer::train::TrainConfig;

#[test]
fn trains_evaluates_and_writes_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    common::make_tiny_layout(tmp.path());
    let cfg = TrainConfig { patience: Some(2), ..common::tiny_run_config(tmp.path(), 6) };
    let m: MetricsFile = train_run(&cfg, "test").unwrap();
    let dir = tmp.path().join("runs/tiny");
    for f in [
        "metrics.json",
        "history.csv",
        "model.safetensors",
        "best.safetensors",
        "last.safetensors",
        "curves.svg",
        "pr_curve.svg",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    // No temporary files are left behind.
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with('.')));
    let t = &m.evaluation.test;
    assert!(t.at_chosen_threshold.accuracy > 0.9, "did not learn: {:?}", t.at_chosen_threshold);
    assert_eq!(t.sweep.len(), 17);
    assert_eq!(m.split.test.values().sum::<usize>(), t.images);
    assert_eq!(t.images, 210);
    let training = m.training.as_ref().unwrap();
    assert!(training.restored_best);
    let history = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 1 + training.epochs_run);
    // The written file parses back and eval reproduces the test metrics from the saved model.
    let back: MetricsFile =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(back.config.image_size, 12);
    let again = eval_run(&dir, None, true).unwrap();
    assert_eq!(again.threshold, m.evaluation.threshold);
    assert_eq!(again.test.at_chosen_threshold.confusion, t.at_chosen_threshold.confusion);
}
