//! The optimizer grid (one row per grid run per measured epoch, the validation choice marked)
//! and the early-stopping reruns set beside the grid's choice.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::study::Study;
use crate::suite::grid_model;

#[derive(Clone, Debug, Serialize)]
pub struct GridRow {
    /// `cnn`, `mobilenet_v2` (the frozen runs) or `cnn_3class`.
    pub model: String,
    pub task: String,
    pub protocol: String,
    pub optimizer: String,
    pub lr: f64,
    pub epochs: usize,
    pub val_accuracy: f64,
    pub test_accuracy: f64,
    pub run: String,
    /// The best validation accuracy of this task and protocol's grid.
    pub chosen: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct EarlyStoppingRow {
    pub task: String,
    pub protocol: String,
    pub run: String,
    pub optimizer: String,
    pub lr: f64,
    pub patience: Option<usize>,
    pub max_epochs: usize,
    /// Epochs trained before stopping.
    pub stopped_epoch: usize,
    pub best_epoch: Option<usize>,
    pub stopped_early: bool,
    pub restored_best: bool,
    pub val_accuracy: f64,
    pub test_accuracy: f64,
    /// The grid configuration it retrains, at the grid's chosen epoch count.
    pub grid_choice: Option<GridRow>,
    /// Test accuracy minus the grid choice's.
    pub test_difference: Option<f64>,
}

/// Every grid run at every measured epoch, in plan order; `chosen` marks the first row with
/// the best validation accuracy per task and protocol.
pub fn grid_rows(study: &Study) -> Vec<GridRow> {
    let mut rows: Vec<GridRow> = Vec::new();
    for run in study.runs.iter().filter(|r| r.plan.phase == "grid") {
        for (epochs, e) in run.metrics.by_epoch() {
            rows.push(GridRow {
                model: grid_model(&run.plan.task).to_string(),
                task: run.plan.task.clone(),
                protocol: run.plan.protocol.clone(),
                optimizer: run.plan.optimizer.clone(),
                lr: run.plan.lr,
                epochs,
                val_accuracy: e.val_accuracy(),
                test_accuracy: e.test_accuracy(),
                run: run.plan.name.clone(),
                chosen: false,
            });
        }
    }
    let mut best: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let key = (r.task.clone(), r.protocol.clone());
        match best.get(&key) {
            Some(&b) if rows[b].val_accuracy >= r.val_accuracy => {}
            _ => {
                best.insert(key, i);
            }
        }
    }
    for i in best.into_values() {
        rows[i].chosen = true;
    }
    rows
}

/// The chosen row of a task and protocol's grid.
pub fn grid_choice(rows: &[GridRow], task: &str, protocol: &str) -> Option<GridRow> {
    rows.iter().find(|r| r.chosen && r.task == task && r.protocol == protocol).cloned()
}

pub fn early_stopping_rows(study: &Study, grid: &[GridRow]) -> Vec<EarlyStoppingRow> {
    let runs = study.runs.iter().filter(|r| r.plan.phase == "early_stopping");
    runs.map(|run| {
        let t = run.metrics.training.as_ref();
        let choice = grid_choice(grid, &run.plan.task, &run.plan.protocol);
        let test_accuracy = run.eval().test_accuracy();
        EarlyStoppingRow {
            task: run.plan.task.clone(),
            protocol: run.plan.protocol.clone(),
            run: run.plan.name.clone(),
            optimizer: run.plan.optimizer.clone(),
            lr: run.plan.lr,
            patience: run.plan.patience.or(run.metrics.config.patience),
            max_epochs: run.metrics.config.epochs,
            stopped_epoch: t.map_or(run.metrics.config.epochs, |t| t.epochs_run),
            best_epoch: t.and_then(|t| t.best_epoch),
            stopped_early: t.is_some_and(|t| t.stopped_early),
            restored_best: t.is_some_and(|t| t.restored_best),
            val_accuracy: run.eval().val_accuracy(),
            test_accuracy,
            test_difference: choice.as_ref().map(|c| test_accuracy - c.test_accuracy),
            grid_choice: choice,
        }
    })
    .collect()
}
