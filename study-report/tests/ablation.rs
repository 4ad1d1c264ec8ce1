//! Ablation folders end to end: synthetic official- and pooled-protocol runs (written like
//! `trainer train` writes them) beside a synthetic study → results.json's `ablations`, one
//! REPORT.md section per folder and the reliability diagrams; unfinished rows and malformed files.

mod synthetic;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use study_report::ablation::{build, read::read_ablation};
use study_report::bootstrap::BootstrapSettings;
use study_report::{write_report, write_report_with_ablation};
use synthetic::{write_run, Spec};

/// (row, change, its three runs, how well its probabilities separate the classes).
const ROWS: [(&str, &str, [&str; 3], f64); 3] = [
    ("baseline", "MobileNetV2 frozen, 224 px", ["baseline-s1", "baseline-s2", "baseline-s3"], 0.3),
    ("balanced", "threshold | balanced accuracy", ["balanced-s1", "balanced-s2", "balanced-s3"], 0.5),
    ("small", "128 px", ["small-s1", "small-s2", "small-s3"], 0.1),
];

fn models_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"))
}

type PlanRow = (&'static str, &'static str, [&'static str; 3], f64);

fn run_spec(name: &'static str, seed: u64, quality: f64, data_seed: u64, protocol: &'static str) -> Spec {
    Spec {
        name,
        phase: "ablation",
        task: "mobilenet_v2_frozen",
        protocol,
        optimizer: "adam",
        lr: 1e-3,
        seed,
        data_seed,
        epochs: 4,
        milestones: vec![],
        patience: None,
        quality,
    }
}

/// Writes ablation.json and every run except those in `skip`, all three rows on the official
/// protocol; the `balanced` row's runs record their threshold rule.
fn write_ablation(dir: &Path, skip: &[&str]) {
    write_ablation_as(dir, skip, "official", &ROWS);
}

/// `write_ablation` with these rows (the first is the baseline) on `protocol`, planned in
/// `experiments/official_ablation.toml` or `experiments/pooled_recipe.toml`.
fn write_ablation_as(dir: &Path, skip: &[&str], protocol: &'static str, plan_rows: &[PlanRow]) {
    std::fs::create_dir_all(dir).unwrap();
    let rows: Vec<Value> = plan_rows
        .iter()
        .map(|(name, change, runs, _)| {
            json!({"name": name, "change": change, "seeds": [1, 2, 3], "runs": runs,
                   "command": format!("trainer train --protocol {protocol} --run {name} --seed {{seed}}")})
        })
        .collect();
    let file = if protocol == "official" {
        "experiments/official_ablation.toml"
    } else {
        "experiments/pooled_recipe.toml"
    };
    let plan = json!({"file": file, "profile": "quick", "device": "cpu",
                      "commit": "e3051cf", "baseline": plan_rows[0].0, "rows": rows});
    std::fs::write(dir.join("ablation.json"), serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    for (r, (row, _, runs, quality)) in plan_rows.iter().enumerate() {
        for (s, &run) in runs.iter().enumerate().filter(|(_, run)| !skip.contains(run)) {
            write_run(dir, &run_spec(run, s as u64 + 1, *quality, 500 + 10 * r as u64 + s as u64, protocol));
            if *row == "balanced" {
                let path = dir.join(run).join("metrics.json");
                let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                m["evaluation"]["threshold_rule"] = json!("balanced_accuracy");
                std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
            }
        }
    }
}

/// A run's (validation accuracy, test accuracy) read straight from its metrics.json.
fn accuracies(dir: &Path, run: &str) -> (f64, f64) {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join(run).join("metrics.json")).unwrap()).unwrap();
    let acc = |split: &str| m["evaluation"][split]["at_chosen_threshold"]["accuracy"].as_f64().unwrap();
    (acc("validation"), acc("test"))
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let xs: Vec<f64> = xs.collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn ablation_results_section_and_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, abl, out) = (tmp.path().join("study"), tmp.path().join("ablation"), tmp.path().join("out"));
    synthetic::write_study(&study);
    write_ablation(&abl, &[]);
    let summary = write_report_with_ablation(&study, models_dir(), &out, &[&abl]).unwrap();
    let r: Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["ablations"].as_array().unwrap().len(), 1);
    let a = &r["ablations"][0];
    assert_eq!((a["profile"].as_str(), a["commit"].as_str()), (Some("quick"), Some("e3051cf")));
    assert_eq!((a["protocol"].as_str(), a["test_images"].clone()), (Some("official"), json!([90])));

    // Every number against the metrics.json files themselves.
    let means: Vec<(f64, f64)> = ROWS
        .iter()
        .map(|(_, _, runs, _)| {
            let accs: Vec<(f64, f64)> = runs.iter().map(|run| accuracies(&abl, run)).collect();
            (mean(accs.iter().map(|x| x.0)), mean(accs.iter().map(|x| x.1)))
        })
        .collect();
    let best = (0..3).fold(0, |b, i| if means[i].0 > means[b].0 { i } else { b });
    assert_eq!(a["validation_choice"], ROWS[best].0);
    for (i, row) in a["rows"].as_array().unwrap().iter().enumerate() {
        let n = &row["numbers"];
        assert_eq!(row["name"], ROWS[i].0);
        assert_eq!(row["validation_choice"], i == best);
        assert_eq!(n["n"], 3);
        assert!((n["validation_accuracy"].as_f64().unwrap() - means[i].0).abs() < 1e-12);
        let test = n["test_accuracy"].as_f64().unwrap();
        assert!((test - means[i].1).abs() < 1e-12);
        assert!((n["delta_vs_baseline"].as_f64().unwrap() - (means[i].1 - means[0].1)).abs() < 1e-12);
        let ci: Vec<f64> =
            n["test_accuracy_ci95"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert!(ci[0] <= test && test <= ci[1], "{test} in {ci:?}");
        assert!(n["test_accuracy_sd"].as_f64().unwrap() > 0.0, "{n}");
    }
    assert_eq!(a["rows"][1]["numbers"]["threshold_rule"], "balanced_accuracy");
    assert!(a["rows"][0]["numbers"]["threshold_rule"].is_null());
    let cal = &a["calibration"];
    assert_eq!(cal["row"], ROWS[best].0);
    assert_eq!(cal["seeds"].as_array().unwrap().len(), 3);
    let bins = cal["seeds"][0]["bins"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    assert_eq!(bins.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(), 90);
    assert_eq!(cal["figure"], format!("reliability-ablation-{}", ROWS[best].0));
    // The table's ECE column is the mean the calibration section reports for that row.
    let row_ece = a["rows"][best]["numbers"]["ece"].as_f64().unwrap();
    assert!((row_ece - cal["ece_mean"].as_f64().unwrap()).abs() < 1e-12, "{row_ece} vs {cal}");
    // The baseline's calibration is shown too when validation prefers another row.
    let base_cal = &a["baseline_calibration"];
    if best == 0 {
        assert!(base_cal.is_null(), "{base_cal}");
    } else {
        assert_eq!(
            (base_cal["row"].as_str(), base_cal["figure"].as_str()),
            (Some("baseline"), Some("reliability-ablation-baseline"))
        );
        assert_eq!(base_cal["seeds"].as_array().unwrap().len(), 3);
    }
    assert!(a["missing"].as_array().unwrap().is_empty());

    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let section = md
        .find(
            "## Generalizing to the official test split (ablation) (`experiments/official_ablation.toml`)\n",
        )
        .expect("no ablation section");
    assert!(section < md.find("## Float vs int8").unwrap(), "the section goes before the int8 section");
    for (i, (name, _, _, _)) in ROWS.iter().enumerate() {
        let mean_cell = format!("{:.2}% ± ", 100.0 * means[i].1);
        let line =
            md.lines().find(|l| l.contains(&format!(" {name} |")) || l.contains(&format!("**{name}**")));
        let line = line.unwrap_or_else(|| panic!("no table row for {name}"));
        assert!(line.contains(&mean_cell), "{line:?} lacks {mean_cell:?}");
        assert_eq!(line.starts_with("| ✓ |"), i == best, "{line}");
    }
    for needle in [
        "threshold \\| balanced accuracy",
        "--run small --seed {seed}`",
        "(balanced_accuracy) |",
        "| baseline |",
        "### Calibration of the validation choice",
        "| [0.9, 1.0] |",
        "| val accuracy | official test accuracy | 95% CI |",
        "on the `official` protocol: the dataset's fixed test split",
        "p(pneumonia) on the official test split",
        &format!("figures/reliability-ablation-{}.png", ROWS[best].0),
        "commit `e3051cf`",
        "at seeds 1, 2, 3",
        "(90 images)",
    ] {
        assert!(md.contains(needle), "REPORT.md lacks {needle:?}");
    }
    assert_eq!(md.contains("### Calibration of the baseline recipe (`baseline`)"), best != 0);
    let mut stems = vec![format!("reliability-ablation-{}", ROWS[best].0)];
    if best != 0 {
        stems.push("reliability-ablation-baseline".into());
    }
    assert_figures(&summary.figures, &out, &stems);
    let drawn = summary.figures.iter().filter(|f| f.to_string_lossy().contains("reliability")).count();
    assert_eq!(drawn, 2 * stems.len());

    // Without an ablation folder: no section, no figure, `ablations` empty.
    let plain = write_report(&study, models_dir(), &tmp.path().join("plain")).unwrap();
    assert!(!plain.figures.iter().any(|f| f.to_string_lossy().contains("reliability")));
    let md = std::fs::read_to_string(&plain.report_md).unwrap();
    assert!(!md.contains("(ablation)"));
    let r: Value = serde_json::from_slice(&std::fs::read(&plain.results_json).unwrap()).unwrap();
    assert_eq!(r["ablations"], json!([]));
}

/// Each stem's PNG and SVG are in the summary and on disk, not empty.
fn assert_figures(figures: &[PathBuf], out: &Path, stems: &[String]) {
    for stem in stems {
        for ext in ["png", "svg"] {
            let f = out.join("figures").join(format!("{stem}.{ext}"));
            assert!(figures.contains(&f), "{} not in the summary", f.display());
            assert!(
                f.metadata().map(|m| m.len() > 1000).unwrap_or(false),
                "{} missing or empty",
                f.display()
            );
        }
    }
}

#[test]
fn two_folders_one_official_one_pooled() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, out) = (tmp.path().join("study"), tmp.path().join("out"));
    let (official, pooled) = (tmp.path().join("abl-official"), tmp.path().join("recipe-pooled"));
    synthetic::write_study(&study);
    // The pooled folder has one row (as experiments/pooled_recipe.toml): its baseline is its
    // validation choice, so its calibration is shown once.
    write_ablation(&official, &[]);
    write_ablation_as(&pooled, &[], "pooled", &ROWS[..1]);
    let summary = write_report_with_ablation(&study, models_dir(), &out, &[&official, &pooled]).unwrap();
    let r: Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let a = r["ablations"].as_array().unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!((a[0]["protocol"].as_str(), a[1]["protocol"].as_str()), (Some("official"), Some("pooled")));
    assert_eq!(a[1]["file"], "experiments/pooled_recipe.toml");
    assert_eq!(a[1]["validation_choice"], "baseline");
    assert!(a[1]["baseline_calibration"].is_null());
    assert_eq!(a[1]["calibration"]["figure"], "reliability-recipe-pooled-baseline");
    let choice = a[0]["validation_choice"].as_str().unwrap().to_string();
    let mut stems =
        vec![format!("reliability-abl-official-{choice}"), "reliability-recipe-pooled-baseline".into()];
    if choice != "baseline" {
        stems.push("reliability-abl-official-baseline".into());
        assert_eq!(a[0]["baseline_calibration"]["figure"], "reliability-abl-official-baseline");
    }
    assert_figures(&summary.figures, &out, &stems);

    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let first = md
        .find("## Generalizing to the official test split (ablation) (`experiments/official_ablation.toml`)");
    let second = md.find("## Pooled protocol (`experiments/pooled_recipe.toml`)\n");
    let int8 = md.find("## Float vs int8").unwrap();
    let (first, second) = (first.expect("no official section"), second.expect("no pooled section"));
    // Over the official runs, after every ablation's section.
    let predicts = md.find("## Does validation predict the official test split?").expect("no validation section");
    assert!(first < second && second < predicts && predicts < int8, "sections out of order");
    let (official_md, pooled_md) = (&md[first..second], &md[second..predicts]);
    let measured = a[0]["run_measures"].as_array().unwrap();
    assert!(measured.len() >= 3 && a[1]["run_measures"].as_array().unwrap().len() >= 3);
    // The official runs alone, each once.
    let words = format!("every binary run of those ablations ({} runs, each counted once", measured.len());
    assert!(md[predicts..int8].contains(&words), "{}", &md[predicts..int8]);
    assert!(official_md.contains("| official test accuracy |"));
    assert!(pooled_md.contains("| val accuracy | test accuracy | 95% CI |"), "{pooled_md}");
    assert!(!pooled_md.contains("official test accuracy") && !pooled_md.contains("fixed test split"));
    for needle in [
        "on the `pooled` protocol: all images of the dataset pooled and split 60/20/20",
        "not on the official test split",
        "p(pneumonia) on each run's pooled test split",
        "### Calibration of the validation choice (`baseline`)",
        "figures/reliability-recipe-pooled-baseline.png",
    ] {
        assert!(pooled_md.contains(needle), "the pooled section lacks {needle:?}");
    }
    assert!(!pooled_md.contains("### Calibration of the baseline recipe"));

    // The same basename twice: the later folder's stems get a suffix, nothing is overwritten.
    let twice = write_report_with_ablation(&study, models_dir(), &tmp.path().join("o2"), &[&pooled, &pooled])
        .unwrap();
    let stems =
        ["reliability-recipe-pooled-baseline".to_string(), "reliability-recipe-pooled-baseline-2".into()];
    assert_figures(&twice.figures, &tmp.path().join("o2"), &stems);
}

#[test]
fn unfinished_runs_are_listed_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    // `balanced` lacks a seed, `small` has not started: validation chooses among full rows only.
    write_ablation(tmp.path(), &["balanced-s3", "small-s1", "small-s2", "small-s3"]);
    let a = build(&read_ablation(tmp.path()).unwrap(), &BootstrapSettings::default());
    assert_eq!(a.validation_choice.as_deref(), Some("baseline"));
    assert_eq!(a.rows[1].unfinished_runs, ["balanced-s3"]);
    assert_eq!(a.rows[1].numbers.as_ref().unwrap().n, 2);
    assert!(a.rows[2].numbers.is_none());
    assert_eq!(a.missing.len(), 2);
    assert!(a.missing[0].contains("`balanced`") && a.missing[0].contains("balanced-s3"), "{:?}", a.missing);
    assert!(a.missing[1].contains("`small`: 3 of 3 runs not finished"), "{:?}", a.missing);

    let study = tmp.path().join("study");
    synthetic::write_study(&study);
    let s = write_report_with_ablation(&study, models_dir(), &tmp.path().join("out"), &[tmp.path()]).unwrap();
    assert!(s.missing.iter().any(|m| m.contains("balanced-s3")), "{:?}", s.missing);
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(md.contains("| 2 of 3 |") && md.contains("| small | 128 px | 0 of 3 | not finished |"), "{md}");
}

#[test]
fn runs_of_different_protocols_are_called_mixed() {
    let tmp = tempfile::tempdir().unwrap();
    let abl = tmp.path().join("abl");
    write_ablation(&abl, &[]);
    let path = abl.join("small-s2").join("metrics.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["config"]["protocol"] = json!("pooled");
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let a = build(&read_ablation(&abl).unwrap(), &BootstrapSettings::default());
    assert_eq!(a.protocol, "mixed");
    assert!(
        a.missing.iter().any(|m| m.contains("do not share one protocol (official, pooled)")),
        "{:?}",
        a.missing
    );

    let study = tmp.path().join("study");
    synthetic::write_study(&study);
    let s = write_report_with_ablation(&study, models_dir(), &tmp.path().join("out"), &[&abl]).unwrap();
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(md.contains("## Ablation on mixed protocols (`experiments/official_ablation.toml`)\n"), "{md}");
    assert!(md.contains("| val accuracy | test accuracy |") && !md.contains("(ablation)"));
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    write_ablation(tmp.path(), &[]);
    let err = |dir: &Path| format!("{:#}", read_ablation(dir).err().expect("an error"));

    let metrics = tmp.path().join("small-s2").join("metrics.json");
    std::fs::write(&metrics, "{ not json").unwrap();
    assert!(err(tmp.path()).contains(&metrics.display().to_string()), "{}", err(tmp.path()));

    let plan = tmp.path().join("ablation.json");
    std::fs::write(&plan, r#"{"profile": "quick", "rows": 3}"#).unwrap();
    let e = err(tmp.path());
    assert!(e.contains(&plan.display().to_string()) && e.contains("not a valid ablation.json"), "{e}");

    let rows = json!([{"name": "a", "change": "", "command": "", "seeds": [1], "runs": ["a-s1"]}]);
    let wrong_baseline =
        json!({"profile": "quick", "device": "cpu", "commit": "x", "baseline": "b", "rows": rows});
    std::fs::write(&plan, wrong_baseline.to_string()).unwrap();
    let e = err(tmp.path());
    assert!(e.contains(&plan.display().to_string()) && e.contains("baseline `b`"), "{e}");

    std::fs::remove_file(&plan).unwrap();
    assert!(err(tmp.path()).contains(&plan.display().to_string()));
}

#[test]
fn a_three_class_row_reports_its_argmax_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, abl, out) = (tmp.path().join("study"), tmp.path().join("ablation"), tmp.path().join("out"));
    synthetic::write_study(&study);
    write_ablation(&abl, &[]);
    // The `small` row's runs become 3-class models (their binary view stays in the table).
    for (s, &run) in ROWS[2].2.iter().enumerate() {
        write_run(
            &abl,
            &Spec { task: "cnn_3class", ..run_spec(run, s as u64 + 1, 0.1, 520 + s as u64, "official") },
        );
    }
    write_report_with_ablation(&study, models_dir(), &out, &[&abl]).unwrap();
    let r: Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let rows = r["ablations"][0]["rows"].as_array().unwrap();
    let want: Vec<f64> = ROWS[2]
        .2
        .iter()
        .map(|run| {
            let m: Value =
                serde_json::from_slice(&std::fs::read(abl.join(run).join("metrics.json")).unwrap()).unwrap();
            m["evaluation"]["classes"]["test"]["accuracy"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(rows[2]["numbers"]["class_test_accuracies"], json!(want));
    assert_eq!(rows[0]["numbers"]["class_test_accuracies"], json!([]));
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let line = md.lines().find(|l| l.starts_with("`small` is a 3-class model")).expect("no 3-class line");
    assert!(line.contains(&format!("{:.2}% ± ", 100.0 * mean(want.iter().copied()))), "{line}");
    assert!(!md.contains("`baseline` is a 3-class model"));
}

/// Writes `shifted_validation.json` (only the fields the report reads) into `run`.
fn write_shifted(dir: &Path, run: &str, accuracy: f64) {
    let v = json!({"threshold": 0.5, "mean_accuracy": accuracy, "mean_specificity": accuracy - 0.1});
    std::fs::write(dir.join(run).join("shifted_validation.json"), serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn shifted_validation_chooses_among_fully_measured_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, abl, out) = (tmp.path().join("study"), tmp.path().join("ablation"), tmp.path().join("out"));
    synthetic::write_study(&study);
    write_ablation(&abl, &[]);
    // `balanced` scores best but one of its runs has no shifted validation: not a candidate.
    let scores = [("baseline", 0.80), ("balanced", 0.95), ("small", 0.85)];
    for (row, acc) in scores {
        for s in 1..=3 {
            if format!("{row}-s{s}") != "balanced-s3" {
                write_shifted(&abl, &format!("{row}-s{s}"), acc + 0.01 * s as f64);
            }
        }
    }
    write_report_with_ablation(&study, models_dir(), &out, &[&abl]).unwrap();
    let r: Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let v = &r["ablations"][0]["shifted"];
    assert_eq!(v["choice"], "small");
    let rows: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(rows, ["baseline", "small"]);
    assert!((v["rows"][1]["shifted_accuracy"].as_f64().unwrap() - 0.87).abs() < 1e-12);
    assert!((v["rows"][1]["shifted_specificity"].as_f64().unwrap() - 0.77).abs() < 1e-12);
    assert_eq!(v["runs"].as_array().unwrap().len(), 8);
    // The run correlation against the metrics files themselves.
    let runs: Vec<(f64, f64)> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["shifted_accuracy"].as_f64().unwrap(), accuracies(&abl, x["run"].as_str().unwrap()).1))
        .collect();
    let (a, b): (Vec<f64>, Vec<f64>) = runs.into_iter().unzip();
    let expected = study_report::stats::spearman(&a, &b).unwrap();
    assert!((v["correlations"]["runs_shifted"].as_f64().unwrap() - expected).abs() < 1e-12);
    assert_eq!(v["correlations"]["rows"], 2);
    assert!(v["correlations"]["rows_shifted"].is_null(), "two rows give no rank correlation");

    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(md.contains("### Shifted validation (`experiments/shifted_validation.md`)"), "{md}");
    assert!(md.contains("| ◆ | **small** | 3 |"), "{md}");
    assert!(md.contains("## Does validation predict the official test split?"));
    assert!(md.contains("(8 runs, each counted once)"));
    // The shifted choice is a third row here (neither the validation choice nor the
    // baseline), so its calibration is shown too.
    let a = &r["ablations"][0];
    assert_ne!(a["validation_choice"], "small");
    assert_eq!(a["shifted_calibration"]["row"], "small");
    assert!(md.contains("### Calibration of the shifted-validation choice (`small`)"));

    // A damaged file is an error naming it.
    std::fs::write(abl.join("small-s2").join("shifted_validation.json"), b"{\"mean_acc").unwrap();
    let e = format!("{:#}", read_ablation(&abl).err().expect("a damaged file must fail"));
    assert!(e.contains("small-s2") && e.contains("shifted_validation.json"), "{e}");
}
