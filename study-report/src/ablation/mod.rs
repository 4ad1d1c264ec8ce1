//! An ablation on the `official` protocol (FORMAT.md): rows that each change one thing against
//! a baseline recipe, each trained at several seeds, tested on the fixed official test split.
//! Read from its folder (`read`), summed up per row (`table`), and the validation choice's
//! calibration per seed: results.json's `ablation` object.

pub mod read;
pub mod table;

use serde::Serialize;

use crate::bootstrap::BootstrapSettings;
use crate::calibration::{calibration, ReliabilityBin, BINS};
use crate::stats::mean_sd;
use read::{Ablation, SeedRun};
use table::{table, AblationRow};

#[derive(Clone, Debug, Serialize)]
pub struct AblationResults {
    /// The ablation folder as it was given to the report.
    pub folder: String,
    /// The experiment file it was planned from.
    pub file: String,
    pub profile: String,
    pub device: String,
    pub commit: String,
    pub baseline: String,
    pub rows: Vec<AblationRow>,
    /// The name of the row with the best mean validation accuracy (`table::validation_choice`).
    pub validation_choice: Option<String>,
    /// Calibration of the validation choice on the official test split; None without a choice
    /// or without its test predictions.
    pub calibration: Option<ChoiceCalibration>,
    /// What the ablation lacks, in words (also in the report's missing list).
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChoiceCalibration {
    pub row: String,
    pub bins: usize,
    /// Mean and sample sd of the seeds' ECE (sd None for one seed).
    pub ece_mean: f64,
    pub ece_sd: Option<f64>,
    /// The row's seeds that have test predictions, in plan order.
    pub seeds: Vec<SeedCalibration>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SeedCalibration {
    pub run: String,
    pub seed: u64,
    pub ece: f64,
    pub bins: Vec<ReliabilityBin>,
}

fn seed_calibration(run: &SeedRun) -> Option<SeedCalibration> {
    let scored: Vec<(f32, bool)> =
        run.predictions.as_ref()?.iter().map(|p| (p.p_pneumonia, p.label == 1)).collect();
    let c = calibration(&scored, BINS)?;
    Some(SeedCalibration { run: run.name.clone(), seed: run.seed(), ece: c.ece, bins: c.bins })
}

fn choice_calibration(ablation: &Ablation, choice: &str) -> Option<ChoiceCalibration> {
    let row = ablation.rows.iter().find(|r| r.plan.name == choice)?;
    let seeds: Vec<SeedCalibration> = row.finished.iter().filter_map(seed_calibration).collect();
    let eces: Vec<f64> = seeds.iter().map(|s| s.ece).collect();
    let (ece_mean, ece_sd) = (!eces.is_empty()).then(|| mean_sd(&eces))?;
    Some(ChoiceCalibration { row: choice.to_string(), bins: BINS, ece_mean, ece_sd, seeds })
}

fn missing_notes(ablation: &Ablation, choice: Option<&str>) -> Vec<String> {
    let mut notes = Vec::new();
    for row in &ablation.rows {
        if !row.unfinished.is_empty() {
            notes.push(format!(
                "ablation row `{}`: {} of {} runs not finished (no metrics.json): {}",
                row.plan.name,
                row.unfinished.len(),
                row.plan.runs.len(),
                row.unfinished.join(", ")
            ));
        }
        for run in row.finished.iter().filter(|r| r.predictions.is_none()) {
            notes.push(format!(
                "ablation run {}: no test_predictions.csv, so no confidence interval for row `{}`{}",
                run.name,
                row.plan.name,
                if choice == Some(row.plan.name.as_str()) { " and no calibration for this seed" } else { "" }
            ));
        }
    }
    if choice.is_none() {
        notes.push(
            "ablation: no row has all its runs finished, so no validation choice and no calibration".into(),
        );
    }
    notes
}

/// The ablation's numbers, with the same bootstrap settings as the rest of the report.
pub fn build(ablation: &Ablation, bootstrap: &BootstrapSettings) -> AblationResults {
    let rows = table(ablation, bootstrap);
    let choice = rows.iter().find(|r| r.validation_choice).map(|r| r.name.clone());
    let p = &ablation.plan;
    AblationResults {
        folder: ablation.dir.display().to_string(),
        file: p.file.clone(),
        profile: p.profile.clone(),
        device: p.device.clone(),
        commit: p.commit.clone(),
        baseline: p.baseline.clone(),
        calibration: choice.as_deref().and_then(|c| choice_calibration(ablation, c)),
        missing: missing_notes(ablation, choice.as_deref()),
        validation_choice: choice,
        rows,
    }
}
