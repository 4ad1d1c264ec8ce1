//! Cue-conflicting validation (`experiments/cue_conflict_validation.md`): the
//! `cue_validation.json` that `trainer cue-validation` writes into a run folder (a run's
//! validation images where the sharpness cue and the label disagree), per row the mean over
//! seeds beside clean validation and test accuracy. Test accuracy stands beside the scores and
//! chooses nothing; the pre-registered rule is applied in the experiment file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::read::{Ablation, Row};
use crate::stats::mean_sd;

/// One half of `cue_validation.json`: only the fields the report reads.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct HalfFile {
    pub specificity: f64,
    pub sensitivity: f64,
    pub balanced_accuracy: f64,
}

/// `cue_validation.json`: only the fields the report reads.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CueFile {
    /// Blurry normals and sharp pneumonias: where the cue and the label disagree.
    pub conflicting: HalfFile,
    /// Sharp normals and blurry pneumonias.
    pub aligned: HalfFile,
}

pub fn read_cue(path: &Path) -> Result<CueFile> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid cue_validation.json", path.display()))
}

/// A row whose finished runs all have cue-conflicting validation: means over its seeds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CueRow {
    pub name: String,
    pub seeds: usize,
    /// Clean validation balanced accuracy at each run's threshold.
    pub validation_balanced_accuracy: f64,
    pub conflicting_balanced_accuracy: f64,
    /// Its sd over seeds (None for one seed).
    pub conflicting_sd: Option<f64>,
    pub conflicting_specificity: f64,
    pub conflicting_sensitivity: f64,
    pub aligned_balanced_accuracy: f64,
    pub test_accuracy: f64,
}

fn cue_row(row: &Row) -> Option<CueRow> {
    if row.finished.is_empty() || !row.unfinished.is_empty() {
        return None;
    }
    let cues: Vec<&CueFile> = row.finished.iter().map(|r| r.cue.as_ref()).collect::<Option<_>>()?;
    let mean = |v: Vec<f64>| mean_sd(&v).0;
    let conflicting: Vec<f64> = cues.iter().map(|c| c.conflicting.balanced_accuracy).collect();
    let (m, sd) = mean_sd(&conflicting);
    Some(CueRow {
        name: row.plan.name.clone(),
        seeds: cues.len(),
        validation_balanced_accuracy: mean(
            row.finished
                .iter()
                .map(|r| {
                    let at = &r.eval().validation.at_chosen_threshold;
                    (at.recall + at.specificity) / 2.0
                })
                .collect(),
        ),
        conflicting_balanced_accuracy: m,
        conflicting_sd: sd,
        conflicting_specificity: mean(cues.iter().map(|c| c.conflicting.specificity).collect()),
        conflicting_sensitivity: mean(cues.iter().map(|c| c.conflicting.sensitivity).collect()),
        aligned_balanced_accuracy: mean(cues.iter().map(|c| c.aligned.balanced_accuracy).collect()),
        test_accuracy: mean(
            row.finished.iter().map(|r| r.eval().test.at_chosen_threshold.accuracy).collect(),
        ),
    })
}

/// The rows of `ablation` with every run scored, in plan order; None when no run has a
/// `cue_validation.json`.
pub fn cue_rows(ablation: &Ablation) -> Option<Vec<CueRow>> {
    let any = ablation.rows.iter().flat_map(|r| &r.finished).any(|r| r.cue.is_some());
    any.then(|| ablation.rows.iter().filter_map(cue_row).collect())
}
