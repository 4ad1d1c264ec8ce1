//! `trainer ensemble --views`: one trained run averaged over test-time views of each image
//! is measured like any run (threshold frozen on validation, then test), and records the
//! views it used; one run without views averages nothing and is refused; `trainer predict`
//! rebuilds it from its folder.

mod common;

use std::path::{Path, PathBuf};

use trainer::models::Views;
use trainer::predict::{predict_files, Source};
use trainer::run::{ensemble_run, train_run, EnsembleArgs};

fn args(tmp: &Path, views: Views) -> EnsembleArgs {
    EnsembleArgs {
        runs: vec![tmp.join("runs/tiny")],
        views,
        name: "tiny_views".into(),
        runs_dir: tmp.join("runs"),
        data: None,
        cpu: true,
    }
}

#[test]
fn one_run_through_views_is_measured_and_says_so() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    common::make_tiny_layout(tmp.path());
    train_run(&common::tiny_run_config(tmp.path(), 4), "test").unwrap();

    let refused = format!("{:#}", ensemble_run(&args(tmp.path(), Views::None), "test").unwrap_err());
    assert!(refused.contains("--views"), "{refused}");
    assert!(!tmp.path().join("runs/tiny_views").exists(), "a refused ensemble wrote a folder");

    let m = ensemble_run(&args(tmp.path(), Views::Crops), "test").unwrap();
    assert_eq!(m.views, Views::Crops);
    assert_eq!(m.members.len(), 1);
    assert!(m.protocol_order[0].contains("6 view(s)"), "{:?}", m.protocol_order);
    // The order the guard requires: selection frozen on validation before test is loaded.
    assert!(m.protocol_order[1].starts_with("selection frozen") && m.protocol_order[2].contains("test"));
    // Brightness, what the classes differ by, survives the crops.
    let t = &m.evaluation.test.at_chosen_threshold;
    assert!(t.accuracy > 0.9, "{t:?}");
    let dir = tmp.path().join("runs/tiny_views");
    let back: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(back["views"], "crops");
    // The views reached the network: the same test images, other probabilities.
    let read = |d: &Path| std::fs::read_to_string(d.join("test_predictions.csv")).unwrap();
    let (viewed, plain) = (read(&dir), read(&tmp.path().join("runs/tiny")));
    assert_eq!(viewed.lines().count(), plain.lines().count());
    assert_ne!(viewed, plain);

    // `trainer predict --run` on the ensemble's folder rebuilds it, views included: its
    // probabilities for test files are the ones the ensemble measured.
    let measured = common::measured_predictions(&viewed, 8);
    let files: Vec<PathBuf> = measured.iter().map(|(f, _)| f.clone()).collect();
    let got = predict_files(&Source::Float { run: dir.clone() }, &files).unwrap();
    common::assert_same_probabilities(&got, &measured);
    assert!(got.iter().all(|p| p.threshold == m.evaluation.threshold));
}
