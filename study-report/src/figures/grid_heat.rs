//! Per task and protocol: optimizer × lr → validation accuracy at the run's best milestone,
//! shaded from the grid's lowest to highest validation accuracy; test accuracy and the epoch
//! count are written in the cell too.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;

use super::heat::HeatMap;
use super::save;
use crate::results::grid::GridRow;
use crate::results::Results;
use crate::suite::{PROTOCOLS, TASKS};

/// The best-validation milestone of one optimizer and lr (first on ties).
fn best_cell<'a>(rows: &[&'a GridRow], optimizer: &str, lr: f64) -> Option<&'a GridRow> {
    rows.iter().filter(|r| r.optimizer == optimizer && r.lr == lr).fold(None, |best, r| match best {
        Some(b) if b.val_accuracy >= r.val_accuracy => Some(b),
        _ => Some(*r),
    })
}

fn heat_map(task: &str, protocol: &str, rows: &[&GridRow]) -> HeatMap {
    let mut optimizers: Vec<&str> = Vec::new();
    rows.iter().for_each(|r| {
        if !optimizers.contains(&r.optimizer.as_str()) {
            optimizers.push(&r.optimizer)
        }
    });
    let lrs: Vec<f64> = rows
        .iter()
        .map(|r| r.lr.to_bits())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(f64::from_bits)
        .collect();
    let (lo, hi) = rows
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r.val_accuracy), hi.max(r.val_accuracy)));
    let span = (hi - lo).max(1e-9);
    let cells: Vec<Vec<Option<&GridRow>>> =
        optimizers.iter().map(|o| lrs.iter().map(|&l| best_cell(rows, o, l)).collect()).collect();
    let shade = cells
        .iter()
        .map(|row| row.iter().map(|c| c.map(|c| (c.val_accuracy - lo) / span)).collect())
        .collect();
    let text = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Some(c) => vec![
                        format!("val {:.2}%{}", 100.0 * c.val_accuracy, if c.chosen { " *" } else { "" }),
                        format!("test {:.2}%", 100.0 * c.test_accuracy),
                        format!("at {} epochs", c.epochs),
                    ],
                    None => vec!["not run".into()],
                })
                .collect()
        })
        .collect();
    HeatMap {
        title: format!("{task} ({protocol}): validation accuracy at the best epoch (* = chosen)"),
        row_title: "optimizer".into(),
        col_title: "learning rate".into(),
        rows: optimizers.iter().map(|o| o.to_string()).collect(),
        cols: lrs.iter().map(|l| format!("lr {l}")).collect(),
        shade,
        text,
    }
}

pub fn draw(results: &Results, dir: &Path) -> Result<Vec<String>> {
    let mut stems = Vec::new();
    for protocol in PROTOCOLS {
        for task in TASKS {
            let rows: Vec<&GridRow> =
                results.optimizer_grid.iter().filter(|r| r.task == task && r.protocol == protocol).collect();
            if rows.is_empty() {
                continue;
            }
            let stem = format!("grid-{task}-{protocol}");
            save(&heat_map(task, protocol, &rows), dir, &stem)?;
            stems.push(stem);
        }
    }
    Ok(stems)
}
