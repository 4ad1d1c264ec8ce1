//! Choosing on validation: the grid's best (optimizer, lr, epochs) for a task, and whether
//! early stopping beat it. Test metrics are never looked at here.

use super::plan::{PlannedRun, Setting};
use crate::eval::EvalReport;
use crate::run::metrics_file::MetricsFile;

/// A run of the study that has finished: its plan and its metrics.json.
pub struct Finished {
    pub plan: PlannedRun,
    pub metrics: MetricsFile,
}

/// Validation accuracy: of the argmax for a 3-class model, else at the threshold chosen on
/// validation.
pub fn val_accuracy(e: &EvalReport) -> f64 {
    match &e.classes {
        Some(c) => c.validation.accuracy,
        None => e.validation.at_chosen_threshold.accuracy,
    }
}

/// The chosen setting of a model: what the headline runs repeat.
#[derive(Clone, Debug)]
pub struct Choice {
    pub setting: Setting,
    pub epochs: usize,
    pub patience: Option<usize>,
    pub val_accuracy: f64,
    pub val_loss: f64,
    /// The run it was read from.
    pub run: String,
}

/// Every (run, measured epoch) of `runs` as a candidate: each milestone, and the final
/// evaluation of a run without milestones (early stopping: the restored epoch).
fn candidates(runs: &[&Finished]) -> Vec<Choice> {
    let mut out = Vec::new();
    for f in runs {
        let p = &f.plan;
        let setting = Setting { key: p.task, protocol: p.protocol, optimizer: p.optimizer, lr: p.lr };
        let choice = |epochs, e: &EvalReport| Choice {
            setting: setting.clone(),
            epochs,
            patience: p.patience,
            val_accuracy: val_accuracy(e),
            val_loss: e.validation.loss,
            run: p.name.clone(),
        };
        if f.metrics.milestones.is_empty() {
            out.push(choice(p.epochs, &f.metrics.evaluation));
        }
        out.extend(f.metrics.milestones.iter().map(|m| choice(m.epoch, &m.evaluation)));
    }
    out
}

/// The candidate with the highest validation accuracy; ties go to the lower validation loss,
/// then to fewer epochs (cheaper), then to the earlier run in plan order.
pub fn best(runs: &[&Finished]) -> Option<Choice> {
    candidates(runs).into_iter().reduce(|a, b| {
        let better = b.val_accuracy > a.val_accuracy
            || (b.val_accuracy == a.val_accuracy
                && (b.val_loss < a.val_loss || (b.val_loss == a.val_loss && b.epochs < a.epochs)));
        if better {
            b
        } else {
            a
        }
    })
}
