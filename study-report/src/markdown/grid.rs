//! The optimizer grid tables (optimizer × lr rows, epoch columns, the validation choice
//! marked) with the seed's grid beside ours, and the effect of early stopping.

use std::fmt::Write;

use super::fmt::{figure, lr, pct, task_name};
use crate::results::grid::GridRow;
use crate::results::Results;
use crate::seed_numbers::{seed_grid_cell, SEED_EARLY_STOPPING, SEED_GRID};
use crate::suite::{grid_model, TASKS};

/// (optimizer, lr, epochs, cell text) rows pivoted to rows optimizer × lr, columns epochs.
fn pivot(cells: &[(String, f64, usize, String)]) -> String {
    let mut keys: Vec<(&str, f64)> = Vec::new();
    let mut epochs: Vec<usize> = Vec::new();
    for (o, l, e, _) in cells {
        if !keys.iter().any(|k| k.0 == o && k.1 == *l) {
            keys.push((o, *l));
        }
        if !epochs.contains(e) {
            epochs.push(*e);
        }
    }
    epochs.sort_unstable();
    let mut s = String::from("| optimizer | lr |");
    epochs.iter().for_each(|e| s += &format!(" {e} epochs |"));
    s += "\n|---|---|";
    s += &"---|".repeat(epochs.len());
    s += "\n";
    for (o, l) in keys {
        let _ = write!(s, "| {o} | {} |", lr(l));
        for e in &epochs {
            let cell =
                cells.iter().find(|c| c.0 == o && c.1 == l && c.2 == *e).map_or("—", |c| c.3.as_str());
            let _ = write!(s, " {cell} |");
        }
        s += "\n";
    }
    s + "\n"
}

fn our_cell(r: &GridRow, protocol: &str) -> String {
    let mut cell = format!("**{}** (val {})", pct(r.test_accuracy), pct(r.val_accuracy));
    if r.chosen {
        cell += " ✓";
    }
    if protocol == "pooled" {
        if let Some(seed) = seed_grid_cell(&r.model, &r.optimizer, r.lr, r.epochs) {
            let _ = write!(cell, " · seed {}", pct(seed));
        }
    }
    cell
}

fn seed_grid(model: &str) -> String {
    let cells: Vec<(String, f64, usize, String)> = SEED_GRID
        .iter()
        .filter(|c| c.model == model)
        .map(|c| (c.optimizer.to_string(), c.lr, c.epochs, pct(c.accuracy)))
        .collect();
    if cells.is_empty() {
        return String::new();
    }
    format!(
        "The seed project's grid for this model (test accuracy on its random image split, SEED.md):\n\n{}",
        pivot(&cells)
    )
}

pub fn grid_section(r: &Results, protocol: &str, figures: &[String]) -> String {
    let mut s = String::from("### Optimizer grid\n\n");
    s += "Cells: **test accuracy** (validation accuracy) of each grid run at each measured epoch; ✓ marks the \
          validation choice. Test accuracy chooses nothing.\n\n";
    for task in TASKS {
        let rows: Vec<&GridRow> =
            r.optimizer_grid.iter().filter(|g| g.task == task && g.protocol == protocol).collect();
        if rows.is_empty() {
            let _ = writeln!(s, "**{}**: no grid runs in this study.\n", task_name(task));
            continue;
        }
        let _ = writeln!(s, "#### {} (grid model `{}`)\n", task_name(task), grid_model(task));
        let cells: Vec<_> =
            rows.iter().map(|g| (g.optimizer.clone(), g.lr, g.epochs, our_cell(g, protocol))).collect();
        s += &pivot(&cells);
        s += &figure(figures, &format!("grid-{task}-{protocol}"), "validation accuracy per optimizer and lr");
        s += &figure(figures, &format!("curves-{task}-{protocol}"), "training curves per optimizer");
        if protocol == "pooled" {
            s += &seed_grid(grid_model(task));
        }
    }
    s
}

pub fn early_stopping_section(r: &Results, protocol: &str) -> String {
    let mut s = String::from("### Effect of early stopping\n\n");
    let rows: Vec<_> = r.early_stopping.iter().filter(|e| e.protocol == protocol).collect();
    if rows.is_empty() {
        s += "No early-stopping runs in this study for this protocol.\n\n";
    } else {
        s += "Each task's grid choice retrained with early stopping, against the grid choice itself.\n\n";
        s += "| model | optimizer | lr | patience | max epochs | stopped at | best epoch | val | test | grid choice: epochs, test | test difference |\n";
        s += "|---|---|---|---|---|---|---|---|---|---|---|\n";
        for e in rows {
            let grid = e
                .grid_choice
                .as_ref()
                .map_or("—".into(), |g| format!("{} ep, {}", g.epochs, pct(g.test_accuracy)));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {}{} | {} | {} | {} | {grid} | {} |",
                task_name(&e.task),
                e.optimizer,
                lr(e.lr),
                e.patience.map_or("—".into(), |p| p.to_string()),
                e.max_epochs,
                e.stopped_epoch,
                if e.stopped_early { " (stopped early)" } else { "" },
                e.best_epoch.map_or("—".into(), |b| b.to_string()),
                pct(e.val_accuracy),
                pct(e.test_accuracy),
                e.test_difference.map_or("—".into(), |d| format!("{:+.2} points", 100.0 * d)),
            );
        }
        s += "\n";
    }
    if protocol == "pooled" {
        s += "The seed project's early stopping:\n\n";
        for (task, text) in SEED_EARLY_STOPPING {
            let _ = writeln!(s, "- {}: {text}", task_name(task));
        }
        s += "\n";
    }
    s
}
