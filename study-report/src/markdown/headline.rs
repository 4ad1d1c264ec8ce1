//! Per protocol: the headline models beside the published numbers, and the configuration
//! each task chose on validation.

use std::fmt::Write;

use super::fmt::{acc_with_ci, lr, opt3, pct, seeds_cell, task_name};
use crate::results::grid::grid_choice;
use crate::results::Results;
use crate::seed_numbers::{seed_headline, KERMANY_2018_ACCURACY};
use crate::suite::TASKS;

fn published(protocol: &str, task: &str) -> String {
    match protocol {
        "pooled" => {
            seed_headline(task).map_or("—".into(), |s| format!("{} ({})", pct(s.accuracy), s.setting))
        }
        "official" if task != "cnn_3class" => format!("Kermany et al. 2018: {}", pct(KERMANY_2018_ACCURACY)),
        _ => "—".into(),
    }
}

pub fn headline_table(r: &Results, protocol: &str) -> String {
    let mut s = String::from("### Headline models\n\n");
    s += "Test accuracy at the threshold chosen on validation (argmax for 3 classes), with the 95% patient \
          bootstrap interval of the reported run; with a `seeds` phase, the mean ± sd (points) across seeds.\n\n";
    s += "| model | chosen by | test accuracy [95% CI] | across seeds | F1 | ROC AUC | threshold | published |\n";
    s += "|---|---|---|---|---|---|---|---|\n";
    for task in TASKS {
        let Some(m) = r.model(protocol, task) else {
            let _ = writeln!(
                s,
                "| {} | not in the study | — | — | — | — | — | {} |",
                task_name(task),
                published(protocol, task)
            );
            continue;
        };
        let chosen = if m.source == "seeds" {
            "seeds phase".to_string()
        } else {
            format!("best validation ({})", m.source)
        };
        let _ = writeln!(
            s,
            "| {} | {chosen} | {} | {} | {:.3} | {} | {:.2} | {} |",
            task_name(task),
            acc_with_ci(m),
            seeds_cell(m),
            m.test.f1,
            opt3(m.test.auc),
            m.test.threshold,
            published(protocol, task)
        );
    }
    s += "\n";
    s += match protocol {
        "pooled" => "The seed project split all images at random, so images of one patient sat on both sides: its \
                     numbers are optimistic and comparable only to this `pooled` protocol.\n\n",
        _ => "The `official` protocol tests on the dataset's own test folder (patient-disjoint), the split Kermany \
              et al. 2018 report 92.8% on; the seed project's numbers are not comparable here.\n\n",
    };
    s += &headline_runs(r, protocol);
    s
}

fn headline_runs(r: &Results, protocol: &str) -> String {
    let mut s = String::from("Reported runs: ");
    let names: Vec<String> = TASKS
        .iter()
        .filter_map(|t| r.model(protocol, t).map(|m| format!("{} → `{}`", task_name(t), m.run)))
        .collect();
    s += &names.join("; ");
    s + ".\n\n"
}

pub fn best_configurations(r: &Results, protocol: &str) -> String {
    let mut s = String::from("### Best configuration per task (chosen on validation)\n\n");
    s += "| model | optimizer | lr | epochs | batch | image size | val accuracy | test accuracy | from |\n";
    s += "|---|---|---|---|---|---|---|---|---|\n";
    for task in TASKS {
        let Some(m) = r.model(protocol, task) else { continue };
        let c = &m.config;
        let grid = grid_choice(&r.optimizer_grid, task, protocol);
        let (opt, rate, epochs, val, test, from) = match &grid {
            Some(g) => (
                &g.optimizer,
                g.lr,
                g.epochs,
                g.val_accuracy,
                g.test_accuracy,
                format!("grid run `{}`", g.run),
            ),
            None => (
                &c.optimizer,
                c.lr,
                c.epochs,
                m.validation_accuracy,
                m.test.accuracy,
                format!("`{}` (no grid)", m.run),
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {opt} | {} | {epochs} | {} | {} px | {} | {} | {from} |",
            task_name(task),
            lr(rate),
            c.batch_size,
            c.image_size,
            pct(val),
            pct(test)
        );
    }
    s + "\n"
}
