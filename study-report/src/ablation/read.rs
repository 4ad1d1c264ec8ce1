//! An ablation folder (FORMAT.md): `ablation.json`, the plan the trainer wrote, and one
//! ordinary run folder per row and seed. A run is finished exactly when its metrics.json
//! exists; an unfinished run is listed, not an error, so a report can be drawn mid-ablation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::cue::{read_cue, CueFile};
use super::shifted::{read_shifted, ShiftedFile};
use crate::metrics::{read_metrics, Evaluation, Metrics};
use crate::predictions::{read_predictions, Prediction};
use crate::study::optional;

/// `ablation.json`: only the fields the report reads.
#[derive(Clone, Debug, Deserialize)]
pub struct AblationPlan {
    /// The experiment file the ablation was planned from.
    #[serde(default)]
    pub file: String,
    pub profile: String,
    pub device: String,
    pub commit: String,
    /// The name of the row every other row is compared with.
    pub baseline: String,
    /// The shifted-validation rule the experiment file pre-registered (None: the highest
    /// shifted-validation accuracy, `experiments/shifted_validation.md`).
    #[serde(default)]
    pub shifted_rule: Option<ShiftedRule>,
    pub rows: Vec<PlannedRow>,
}

/// A pre-registered choice by shifted validation.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
pub struct ShiftedRule {
    /// `accuracy` or `specificity`: the mean over views and seeds that chooses.
    pub score: ShiftedScore,
    /// Rows whose mean shifted-validation sensitivity is below this are not candidates.
    #[serde(default)]
    pub min_sensitivity: Option<f64>,
}

#[derive(Clone, Copy, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ShiftedScore {
    Accuracy,
    Specificity,
}

/// One row: a single change against the baseline recipe, trained at several seeds.
#[derive(Clone, Debug, Deserialize)]
pub struct PlannedRow {
    pub name: String,
    /// The change in words.
    pub change: String,
    /// The trainer command, with `{seed}` where each seed goes.
    pub command: String,
    pub seeds: Vec<u64>,
    /// Run folder names inside the ablation folder, one per seed.
    pub runs: Vec<String>,
}

/// A finished run of a row.
pub struct SeedRun {
    pub name: String,
    pub metrics: Metrics,
    /// None when the folder has no test_predictions.csv.
    pub predictions: Option<Vec<Prediction>>,
    /// None when the folder has no shifted_validation.json.
    pub shifted: Option<ShiftedFile>,
    /// None when the folder has no cue_validation.json.
    pub cue: Option<CueFile>,
}

impl SeedRun {
    pub fn eval(&self) -> &Evaluation {
        &self.metrics.evaluation
    }

    pub fn seed(&self) -> u64 {
        self.metrics.config.seed
    }

    /// (p(pneumonia), has pneumonia) of every test image; None without test_predictions.csv.
    pub fn scored(&self) -> Option<Vec<(f32, bool)>> {
        Some(self.predictions.as_ref()?.iter().map(|p| (p.p_pneumonia, p.label == 1)).collect())
    }
}

pub struct Row {
    pub plan: PlannedRow,
    /// The finished runs, in plan order.
    pub finished: Vec<SeedRun>,
    /// Planned runs without metrics.json.
    pub unfinished: Vec<String>,
}

pub struct Ablation {
    pub dir: PathBuf,
    pub plan: AblationPlan,
    pub rows: Vec<Row>,
}

fn read_plan(path: &Path) -> Result<AblationPlan> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let plan: AblationPlan = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid ablation.json", path.display()))?;
    for (i, r) in plan.rows.iter().enumerate() {
        if plan.rows[..i].iter().any(|o| o.name == r.name) {
            bail!("{}: two rows are named `{}`", path.display(), r.name);
        }
    }
    if !plan.rows.iter().any(|r| r.name == plan.baseline) {
        bail!("{}: the baseline `{}` is not one of its rows", path.display(), plan.baseline);
    }
    Ok(plan)
}

fn read_row(dir: &Path, plan: &PlannedRow) -> Result<Row> {
    let mut row = Row { plan: plan.clone(), finished: Vec::new(), unfinished: Vec::new() };
    for name in &plan.runs {
        let folder = dir.join(name);
        let metrics_path = folder.join("metrics.json");
        if !metrics_path.exists() {
            row.unfinished.push(name.clone());
            continue;
        }
        row.finished.push(SeedRun {
            name: name.clone(),
            metrics: read_metrics(&metrics_path)?,
            predictions: optional(folder.join("test_predictions.csv"), read_predictions)?,
            shifted: optional(folder.join("shifted_validation.json"), read_shifted)?,
            cue: optional(folder.join("cue_validation.json"), read_cue)?,
        });
    }
    Ok(row)
}

/// Reads `<dir>/ablation.json` and every finished run it plans; errors name the file.
pub fn read_ablation(dir: &Path) -> Result<Ablation> {
    let plan = read_plan(&dir.join("ablation.json"))?;
    let rows = plan.rows.iter().map(|r| read_row(dir, r)).collect::<Result<Vec<_>>>()?;
    Ok(Ablation { dir: dir.to_path_buf(), plan, rows })
}
