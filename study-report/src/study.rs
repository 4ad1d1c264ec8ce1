//! The study folder: suite.json plus every planned run's files. A planned run without its
//! metrics.json is an error naming the file: the report describes finished studies only.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::history::{read_history, Epoch};
use crate::metrics::{read_metrics, Evaluation, Metrics};
use crate::predictions::{read_predictions, Prediction};
use crate::suite::{read_suite, PlannedRun, Suite};

pub struct Run {
    pub plan: PlannedRun,
    pub metrics: Metrics,
    /// None when the run folder has no history.csv.
    pub history: Option<Vec<Epoch>>,
    /// None when the run folder has no test_predictions.csv (runs older than the suite).
    pub predictions: Option<Vec<Prediction>>,
}

pub struct Study {
    pub dir: PathBuf,
    pub suite: Suite,
    pub runs: Vec<Run>,
}

impl Run {
    pub fn eval(&self) -> &Evaluation {
        &self.metrics.evaluation
    }
}

impl Study {
    /// Runs of one task and protocol, in plan order, optionally of one phase only.
    pub fn runs_of<'a>(&'a self, task: &'a str, protocol: &'a str) -> impl Iterator<Item = &'a Run> + 'a {
        self.runs.iter().filter(move |r| r.plan.task == task && r.plan.protocol == protocol)
    }

    pub fn run_named(&self, name: &str) -> Option<&Run> {
        self.runs.iter().find(|r| r.plan.name == name)
    }
}

/// Reads `path` if it exists (a run may lack an optional file), else None.
pub(crate) fn optional<T>(path: PathBuf, read: fn(&Path) -> Result<T>) -> Result<Option<T>> {
    if path.exists() {
        read(&path).map(Some)
    } else {
        Ok(None)
    }
}

fn read_run(dir: &Path, plan: &PlannedRun) -> Result<Run> {
    let folder = dir.join(&plan.name);
    let metrics_path = folder.join("metrics.json");
    if !metrics_path.exists() {
        bail!(
            "{} is missing: run {} is not finished (is `trainer suite` still running?)",
            metrics_path.display(),
            plan.name
        );
    }
    Ok(Run {
        plan: plan.clone(),
        metrics: read_metrics(&metrics_path)?,
        history: optional(folder.join("history.csv"), read_history)?,
        predictions: optional(folder.join("test_predictions.csv"), read_predictions)?,
    })
}

/// Reads suite.json and every run it plans.
pub fn read_study(dir: &Path) -> Result<Study> {
    let suite = read_suite(&dir.join("suite.json"))?;
    let runs = suite.runs.iter().map(|plan| read_run(dir, plan)).collect::<Result<Vec<_>>>()?;
    Ok(Study { dir: dir.to_path_buf(), suite, runs })
}
