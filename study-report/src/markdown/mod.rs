//! REPORT.md, generated from results.json's data: every number printed here is a field of
//! `Results` or one of the seed's published numbers in `seed_numbers`.

mod ablation;
mod cue;
mod fmt;
mod grid;
mod headline;
mod models;
mod shifted;

use std::fmt::Write;

use crate::results::Results;
use fmt::{opt3, opt_pct, pct};

fn header(r: &Results) -> String {
    let mut s = format!("# Study report: `{}` profile\n\n", r.profile);
    let _ = writeln!(s, "- study folder: `{}` ({} finished runs)", r.study, r.finished_runs);
    let _ = writeln!(s, "- device: {}; commit: `{}`; grid file: `{}`", r.device, r.commit, r.grid_file);
    let _ = writeln!(
        s,
        "- produced by: `trainer suite {} --profile {}` then `trainer report --study {}`",
        r.grid_file, r.profile, r.study
    );
    let _ = writeln!(
        s,
        "- 95% confidence intervals: {} bootstrap of test accuracy, {} resamples, seed {} ({}).",
        r.bootstrap.unit, r.bootstrap.resamples, r.bootstrap.seed, r.bootstrap.interval
    );
    s += "- Every configuration is chosen on validation; test accuracy is reported, never used to choose. \
          The machine-readable numbers are in `results.json` beside this file.\n\n";
    s
}

fn int8_section(r: &Results) -> String {
    let mut s = String::from("## Float vs int8: the shipped models (model cards)\n\n");
    if r.int8.is_empty() {
        return s + "No model cards found, so no float vs int8 comparison.\n\n";
    }
    s += "| model card | protocol | float test acc (thr) | int8 test acc (thr) | int8 at float thr | float AUC | int8 AUC | same label | blob bytes |\n";
    s += "|---|---|---|---|---|---|---|---|---|\n";
    for c in &r.int8 {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} ({:.2}) | {} ({:.2}) | {} | {} | {} | {} | {} |",
            c.name,
            c.protocol,
            pct(c.float_test_accuracy),
            c.float_threshold,
            pct(c.int8_test_accuracy),
            c.int8_threshold,
            opt_pct(c.int8_test_accuracy_at_float_threshold),
            opt3(c.float_test_auc),
            opt3(c.int8_test_auc),
            opt_pct(c.test_label_agreement),
            c.blob_bytes.map_or("—".into(), |b| b.to_string())
        );
    }
    for c in r.int8.iter().filter(|c| c.test_class_agreement.is_some()) {
        let _ = writeln!(
            s,
            "\n`{}` (3 classes): float class accuracy {}, int8 {}; the same class on {} of test images.",
            c.name,
            opt_pct(c.float_test_class_accuracy),
            opt_pct(c.int8_test_class_accuracy),
            opt_pct(c.test_class_agreement)
        );
    }
    s += "\nThe cards describe the shipped blobs in `models/`, trained outside this study (each names its \
          `source_run`); their test splits are those of their own protocol.\n\n";
    s
}

fn missing_section(r: &Results) -> String {
    let mut s = String::from("## What is missing\n\n");
    if r.missing.is_empty() {
        return s + "Nothing: every task has runs on both protocols.\n";
    }
    for m in &r.missing {
        let _ = writeln!(s, "- {m}");
    }
    s
}

fn protocol_section(r: &Results, protocol: &str, figures: &[String]) -> String {
    let mut s = format!("## Protocol `{protocol}`\n\n");
    s += &headline::headline_table(r, protocol);
    s += &headline::best_configurations(r, protocol);
    s += &grid::grid_section(r, protocol, figures);
    s += &grid::early_stopping_section(r, protocol);
    s += &models::frozen_vs_finetune(r, protocol);
    s += &models::pr_section(r, protocol, figures);
    s += &models::confusion_section(r, protocol, figures);
    s
}

/// The whole report; `figures` are the stems drawn into `figures/` (embedded when present).
pub fn render(r: &Results, figures: &[String]) -> String {
    let mut s = header(r);
    for protocol in r.protocols_present() {
        s += &protocol_section(r, protocol, figures);
    }
    if r.protocols.is_empty() {
        s += "The study has no finished runs.\n\n";
    }
    for a in &r.ablations {
        s += &ablation::ablation_section(a, &r.bootstrap, figures);
    }
    s += &shifted::pooled_correlation_section(&r.ablations);
    s += &int8_section(r);
    s += &missing_section(r);
    s
}
