//! The plots of a run folder, drawn after its metrics are safe on disk: a drawing failure is
//! a warning and loses nothing.

use anyhow::Result;

use super::{history, RunDir};
use crate::eval::{plots, EvalReport};
use crate::train::EpochRecord;

/// `curves.svg` from the per-epoch history.
pub fn write_curves(history: &[EpochRecord], title: &str, run: &RunDir) {
    warn_on_err(plots::convergence(history, title, &run.curves()));
}

/// `curves.svg` from the run's history.csv, when it has one.
pub fn redraw_curves(title: &str, run: &RunDir) {
    if run.history().exists() {
        warn_on_err(history::read(&run.history()).and_then(|h| plots::convergence(&h, title, &run.curves())));
    }
}

/// `pr_curve.svg`: validation and test precision-recall over the 17 thresholds.
pub fn write_pr_plot(r: &EvalReport, title: &str, run: &RunDir) {
    warn_on_err(plots::pr_curve(&r.validation.sweep, &r.test.sweep, r.threshold, title, &run.pr_curve()));
}

fn warn_on_err(r: Result<()>) {
    if let Err(e) = r {
        eprintln!("warning: {e:#}");
    }
}
