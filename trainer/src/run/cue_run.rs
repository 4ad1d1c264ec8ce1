//! `trainer cue-validation`: a finished run's validation images scored where the sharpness
//! cue and the label disagree (`eval/cue.rs`, `experiments/cue_conflict_validation.md`), at
//! the threshold the run froze on clean validation (none is chosen again), written to
//! `cue_validation.json` in the run folder. Reads the validation split only; the test images
//! stay closed.

use std::path::Path;

use anyhow::Result;

use super::load::read_metrics;
use super::validation_rerun::{load_on_validation, ValidationRerunArgs};
use crate::eval::cue::{cue_score, sharpness_of, CueScore};
use crate::eval::predict::predict;
use crate::util::fs::write_atomic;

/// The file a run folder gets.
pub const FILE: &str = "cue_validation.json";

/// Scores every run of `a` in turn and writes its `cue_validation.json`.
pub fn cue_runs(a: &ValidationRerunArgs) -> Result<Vec<CueScore>> {
    a.runs.iter().map(|r| cue_run(r, a.data.as_deref(), a.cpu)).collect()
}

/// Scores one finished run on its validation images and writes the file.
pub fn cue_run(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<CueScore> {
    // Refused before the model and images are loaded.
    let classes = read_metrics(run_dir)?.config.classes;
    anyhow::ensure!(
        classes == 2,
        "{}: cue-conflicting validation scores binary runs; this one has {classes} classes",
        run_dir.display()
    );
    let run = load_on_validation(run_dir, data, cpu)?;
    let predictions = predict(&run.net, &run.val, run.batch);
    let sharp = sharpness_of(&run.val, run.batch);
    let score = cue_score(&predictions.probs, &predictions.labels, &sharp, run.metrics.evaluation.threshold);
    write_atomic(&run_dir.join(FILE), &serde_json::to_vec_pretty(&score)?)?;
    println!(
        "{}: cue-conflicting balanced accuracy {:.2}% (specificity {:.3} on {} blurry normals, \
         sensitivity {:.3} on {} sharp pneumonias); cue-aligned {:.2}%; at threshold {:.2}",
        run_dir.display(),
        100.0 * score.conflicting.balanced_accuracy,
        score.conflicting.specificity,
        score.conflicting.normals,
        score.conflicting.sensitivity,
        score.conflicting.pneumonias,
        100.0 * score.aligned.balanced_accuracy,
        score.threshold
    );
    Ok(score)
}
