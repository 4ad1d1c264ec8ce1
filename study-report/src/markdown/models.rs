//! Per protocol: frozen vs fine-tuned MobileNetV2, the PR sweeps, ROC, and the confusion
//! matrices (2×2 beside the seed's, 3×3 with per-class precision/recall/F1).

use std::fmt::Write;

use super::fmt::{figure, pct, pct_ci, task_name};
use crate::results::compare::Side;
use crate::results::models::{ConfusionOut, ModelResult};
use crate::results::Results;
use crate::seed_numbers::{seed_headline, SEED_FROZEN_VS_FINETUNE};
use crate::suite::TASKS;

const BINARY: [&str; 3] = ["cnn", "mobilenet_v2_frozen", "mobilenet_v2_finetune"];

fn side_row(name: &str, side: &Option<Side>) -> String {
    match side {
        Some(x) => format!(
            "| {name} | `{}` | {} lr {} | {} | {} | {} {} | {} |\n",
            x.run,
            x.optimizer,
            x.lr,
            x.epochs,
            pct(x.val_accuracy),
            pct(x.test_accuracy),
            pct_ci(x.test_accuracy_ci95),
            x.seeds_mean.map_or("—".into(), pct)
        ),
        None => format!("| {name} | not in the study | — | — | — | — | — |\n"),
    }
}

pub fn frozen_vs_finetune(r: &Results, protocol: &str) -> String {
    let mut s = String::from("### MobileNetV2: base frozen vs fine-tuned\n\n");
    let Some(c) = r.frozen_vs_finetune.iter().find(|c| c.protocol == protocol) else {
        return s + "No MobileNetV2 runs in this study for this protocol.\n\n";
    };
    s += "| variant | run | optimizer | epochs | val accuracy | test accuracy [95% CI] | seeds mean |\n";
    s += "|---|---|---|---|---|---|---|\n";
    s += &side_row("frozen", &c.frozen);
    s += &side_row("fine-tuned", &c.finetune);
    match &c.better_on_validation {
        Some(b) => {
            let _ = writeln!(s, "\nBetter on validation: **{b}**.");
        }
        None => s += "\nOnly one variant is in the study, so there is no comparison.\n",
    }
    if protocol == "pooled" {
        let _ = writeln!(s, "The seed project: {SEED_FROZEN_VS_FINETUNE}.");
    }
    s + "\n"
}

fn pr_table(m: &ModelResult, protocol: &str, task: &str) -> String {
    let Some(pr) = &m.pr_sweep else { return String::new() };
    let mut s = String::from("| threshold | precision | recall | F1 |\n|---|---|---|---|\n");
    for p in &pr.points {
        let best = pr.best_f1.is_some_and(|b| b.threshold == p.threshold);
        let mark = if best { " **← best F1**" } else { "" };
        let _ =
            writeln!(s, "| {:.2} | {:.3} | {:.3} | {:.3}{mark} |", p.threshold, p.precision, p.recall, p.f1);
    }
    if let Some(b) = pr.best_f1 {
        let _ = write!(
            s,
            "\nBest test F1 {:.3} at threshold {:.2} (the seed's way of choosing); the headline uses {:.2}, chosen on validation.",
            b.f1, b.threshold, pr.validation_threshold
        );
    }
    if protocol == "pooled" {
        if let Some((t, f1)) = seed_headline(task).and_then(|h| h.best_f1) {
            let _ = write!(s, " The seed's best F1: {f1:.3} at {t:.2}.");
        }
    }
    s + "\n\n"
}

pub fn pr_section(r: &Results, protocol: &str, figures: &[String]) -> String {
    let mut s = String::from("### Precision–recall sweep (test, thresholds 0.10 … 0.90)\n\n");
    for task in BINARY {
        let Some(m) = r.model(protocol, task) else { continue };
        let _ = writeln!(s, "#### {} (`{}`)\n", task_name(task), m.run);
        s += &pr_table(m, protocol, task);
        s += &figure(figures, &format!("pr-{task}-{protocol}"), "precision-recall sweep");
    }
    s += "### ROC curves (test)\n\n";
    let roc = figure(figures, &format!("roc-{protocol}"), "ROC curves of the binary models");
    s += if roc.is_empty() { "No test predictions to draw ROC curves from.\n\n" } else { &roc };
    s
}

fn binary_confusion(m: &ModelResult, protocol: &str, task: &str) -> String {
    let ConfusionOut::Binary(c) = &m.test.confusion else { return String::new() };
    let mut s = format!(
        "| | predicted normal | predicted pneumonia |\n|---|---|---|\n| normal | {} | {} |\n| pneumonia | {} | {} |\n\n",
        c.tn, c.fp, c.fn_, c.tp
    );
    let _ = writeln!(
        s,
        "At threshold {:.2}: precision {:.3}, recall {:.3}, F1 {:.3}.",
        m.test.threshold, m.test.precision, m.test.recall, m.test.f1
    );
    let seed = seed_headline(task).filter(|_| protocol == "pooled");
    if let Some((sc, h)) = seed.and_then(|h| h.confusion.as_ref().map(|c| (c, h))) {
        let _ = writeln!(
            s,
            "The seed's: TN {}, FP {}, FN {}, TP {}; precision {}, recall {}.",
            sc.tn,
            sc.fp,
            sc.fn_,
            sc.tp,
            h.precision.map_or("—".into(), |p| format!("{p:.3}")),
            h.recall.map_or("—".into(), |p| format!("{p:.3}"))
        );
    }
    s + "\n"
}

fn three_class(m: &ModelResult) -> String {
    let (ConfusionOut::Matrix(rows), Some(c)) = (&m.test.confusion, &m.classes) else {
        return "The 3-class run has no per-class evaluation (`classes` in metrics.json).\n\n".into();
    };
    let mut s = String::from("| true \\ predicted |");
    c.labels.iter().for_each(|l| s += &format!(" {l} |"));
    s += &format!("\n|---|{}\n", "---|".repeat(c.labels.len()));
    for (label, row) in c.labels.iter().zip(rows) {
        let cells: Vec<String> = row.iter().map(|n| n.to_string()).collect();
        let _ = writeln!(s, "| {label} | {} |", cells.join(" | "));
    }
    s += "\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n";
    for p in &c.per_class {
        let _ = writeln!(
            s,
            "| {} | {:.3} | {:.3} | {:.3} | {} |",
            p.label, p.precision, p.recall, p.f1, p.support
        );
    }
    let _ = writeln!(
        s,
        "| macro | {:.3} | {:.3} | {:.3} | {} |\n",
        c.macro_precision, c.macro_recall, c.macro_f1, m.test.images
    );
    s
}

pub fn confusion_section(r: &Results, protocol: &str, figures: &[String]) -> String {
    let mut s = String::from("### Confusion matrices (test, headline runs)\n\n");
    for task in TASKS {
        let Some(m) = r.model(protocol, task) else { continue };
        let _ = writeln!(s, "#### {} (`{}`)\n", task_name(task), m.run);
        s += &if task == "cnn_3class" { three_class(m) } else { binary_confusion(m, protocol, task) };
        s += &figure(figures, &format!("confusion-{task}-{protocol}"), "confusion matrix");
    }
    s
}
