//! End to end: a synthetic study folder in a tempdir → results.json, REPORT.md and figures.

mod synthetic;

use std::path::Path;

use serde_json::Value;
use study_report::write_report;

fn models_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"))
}

fn report(study: &Path, out: &Path) -> Value {
    let summary = write_report(study, models_dir(), out).unwrap();
    assert_eq!(summary.finished_runs, synthetic::plan().len());
    serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn writes_results_report_and_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, out) = (tmp.path().join("study"), tmp.path().join("out"));
    synthetic::write_study(&study);
    let r = report(&study, &out);
    assert_eq!(r["profile"], "quick");
    assert_eq!(r["device"], "cpu");
    assert_eq!(r["commit"], "582f467-dirty");

    let cnn = &r["protocols"]["pooled"]["cnn"];
    assert_eq!(cnn["source"], "seeds");
    assert_eq!(cnn["run"], "seeds-cnn-pooled-adam-lr0.001-s1");
    assert_eq!(cnn["seeds"]["n"], 3);
    let ci = cnn["test"]["accuracy_ci95"].as_array().unwrap();
    let acc = cnn["test"]["accuracy"].as_f64().unwrap();
    assert!(ci[0].as_f64().unwrap() <= acc && acc <= ci[1].as_f64().unwrap(), "{acc} in {ci:?}");
    assert!(cnn["test"]["confusion"]["tp"].is_u64());
    assert_eq!(cnn["pr_sweep"]["points"].as_array().unwrap().len(), 17);

    // Without a seeds phase the best-validation run speaks; the official CNN has only a grid.
    assert_eq!(r["protocols"]["official"]["cnn"]["source"], "grid");
    let three = &r["protocols"]["pooled"]["cnn_3class"];
    assert_eq!(three["test"]["confusion"].as_array().unwrap().len(), 3);
    assert!(three["pr_sweep"].is_null());
    assert_eq!(three["classes"]["per_class"].as_array().unwrap().len(), 3);

    // 4 pooled CNN runs + 1 frozen + 1 3-class + 2 official, two milestones each.
    let grid = r["optimizer_grid"].as_array().unwrap();
    assert_eq!(grid.len(), 16);
    let chosen = |model: &str, p: &str| {
        grid.iter().filter(|g| g["model"] == model && g["protocol"] == p && g["chosen"] == true).count()
    };
    assert_eq!(chosen("cnn", "pooled"), 1);
    assert_eq!(chosen("mobilenet_v2", "pooled"), 1);
    let es = &r["early_stopping"][0];
    assert_eq!(es["task"], "cnn");
    assert!(es["grid_choice"]["test_accuracy"].is_f64());
    assert_eq!(r["frozen_vs_finetune"][0]["protocol"], "pooled");
    assert!(r["frozen_vs_finetune"][0]["better_on_validation"].is_string());
    assert!(!r["int8"].as_array().unwrap().is_empty());
    let missing: Vec<&str> = r["missing"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(missing.iter().any(|m| m.contains("`cnn_3class` (official)")), "{missing:?}");

    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    for needle in [
        "trainer suite experiments/seed_study.toml --profile quick",
        "trainer report --study",
        "Kermany et al. 2018: 92.80%",
        "94.97%",
        "← best F1",
        "figures/pr-cnn-pooled.png",
        "| true \\ predicted |",
        "## What is missing",
    ] {
        assert!(md.contains(needle), "REPORT.md lacks {needle:?}");
    }
    for stem in [
        "curves-cnn-pooled",
        "pr-cnn-pooled",
        "roc-pooled",
        "roc-official",
        "confusion-cnn_3class-pooled",
        "grid-cnn-pooled",
    ] {
        for ext in ["png", "svg"] {
            let f = out.join("figures").join(format!("{stem}.{ext}"));
            assert!(
                f.metadata().map(|m| m.len() > 1000).unwrap_or(false),
                "{} missing or empty",
                f.display()
            );
        }
    }
}

#[test]
fn same_study_gives_the_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    synthetic::write_study(&study);
    let a = report(&study, &tmp.path().join("a"));
    let b = report(&study, &tmp.path().join("b"));
    assert_eq!(a["protocols"], b["protocols"]);
}

#[test]
fn missing_or_malformed_metrics_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    let specs = synthetic::write_study(&study);
    let metrics = study.join(specs[1].name).join("metrics.json");

    std::fs::write(&metrics, "{ not json").unwrap();
    let err = format!("{:#}", write_report(&study, models_dir(), &tmp.path().join("o1")).unwrap_err());
    assert!(err.contains(&metrics.display().to_string()), "{err}");

    std::fs::remove_file(&metrics).unwrap();
    let err = format!("{:#}", write_report(&study, models_dir(), &tmp.path().join("o2")).unwrap_err());
    assert!(err.contains(&metrics.display().to_string()) && err.contains("missing"), "{err}");
}
