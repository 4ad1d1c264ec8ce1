//! An ablation (FORMAT.md): rows that each change one thing against a baseline recipe, each
//! trained at several seeds on one protocol (`official`: the fixed official test split;
//! `pooled`: each run's own 60/20/20 patient split). Read from its folder (`read`), summed up
//! per row (`table`), and the calibration per seed of the validation choice and of the
//! baseline: one object of results.json's `ablations`.

pub mod cue;
pub mod read;
pub mod shifted;
pub mod table;
pub mod validation_measures;

use std::path::Path;

use serde::Serialize;

use crate::bootstrap::BootstrapSettings;
use crate::calibration::{calibration, ReliabilityBin, BINS};
use crate::stats::mean_sd;
use cue::{cue_rows, CueRow};
use read::{Ablation, SeedRun};
use shifted::{shifted_validation, ShiftedValidation};
use table::{table, AblationRow};
use validation_measures::{run_measures, RunMeasures};

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
    /// The protocol of the finished runs (`config.protocol`): `official`, `pooled`, `mixed`
    /// when they differ; without a finished run, the `--protocol` of the rows' commands, else
    /// `unknown`.
    pub protocol: String,
    /// The distinct test-set sizes of the finished runs, ascending (one value when every run
    /// was tested on a split of the same size).
    pub test_images: Vec<usize>,
    pub rows: Vec<AblationRow>,
    /// The name of the row with the best mean validation accuracy (`table::validation_choice`).
    pub validation_choice: Option<String>,
    /// Calibration of the validation choice on its runs' test splits; None without a choice
    /// or without its test predictions.
    pub calibration: Option<ChoiceCalibration>,
    /// Calibration of the baseline row when it is not the validation choice; None when it is,
    /// or without its test predictions.
    pub baseline_calibration: Option<ChoiceCalibration>,
    /// Calibration of the shifted-validation choice when it is neither the validation choice
    /// nor the baseline (it may be what ships); None otherwise, or without its test predictions.
    pub shifted_calibration: Option<ChoiceCalibration>,
    /// Shifted validation (`shifted_validation.json` in the run folders); None when no run
    /// has it.
    pub shifted: Option<ShiftedValidation>,
    /// Cue-conflicting validation (`cue_validation.json` in the run folders), per row with every
    /// run scored; None when no run has it.
    pub cue: Option<Vec<CueRow>>,
    /// Every finished binary run's validation measures beside its test accuracy.
    pub run_measures: Vec<RunMeasures>,
    /// What the ablation lacks, in words (also in the report's missing list).
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChoiceCalibration {
    pub row: String,
    /// The reliability diagram's stem in `figures/` (`figure_stem`, made unique in the report).
    pub figure: String,
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
    let c = calibration(&run.scored()?, BINS)?;
    Some(SeedCalibration { run: run.name.clone(), seed: run.seed(), ece: c.ece, bins: c.bins })
}

/// `reliability-<folder basename>-<row>`, with characters other than letters, digits, `-`,
/// `_` and `.` replaced by `-`.
pub fn figure_stem(folder: &str, row: &str) -> String {
    let base = Path::new(folder).file_name().map_or("ablation".into(), |b| b.to_string_lossy().into_owned());
    let stem = format!("reliability-{base}-{row}");
    stem.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect()
}

fn row_calibration(ablation: &Ablation, name: &str) -> Option<ChoiceCalibration> {
    let row = ablation.rows.iter().find(|r| r.plan.name == name)?;
    let seeds: Vec<SeedCalibration> = row.finished.iter().filter_map(seed_calibration).collect();
    let eces: Vec<f64> = seeds.iter().map(|s| s.ece).collect();
    let (ece_mean, ece_sd) = (!eces.is_empty()).then(|| mean_sd(&eces))?;
    let figure = figure_stem(&ablation.dir.display().to_string(), name);
    Some(ChoiceCalibration { row: name.to_string(), figure, bins: BINS, ece_mean, ece_sd, seeds })
}

/// Where the ablation's test numbers come from, in words ("… on {this}").
pub fn test_split_words(protocol: &str) -> &'static str {
    match protocol {
        "official" => "the official test split",
        "pooled" => "each run's pooled test split",
        _ => "each run's test split",
    }
}

fn finished_runs(ablation: &Ablation) -> impl Iterator<Item = &SeedRun> {
    ablation.rows.iter().flat_map(|r| &r.finished)
}

/// The `--protocol` value of a planned command, if it names one.
fn command_protocol(command: &str) -> Option<&str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "--protocol")
        .map(|w| w[1])
        .or_else(|| words.iter().find_map(|w| w.strip_prefix("--protocol=")))
}

/// The distinct protocols of the finished runs (else of the planned commands), in plan order.
fn protocols(ablation: &Ablation) -> Vec<String> {
    let mut found: Vec<&str> = finished_runs(ablation).map(|r| r.metrics.config.protocol.as_str()).collect();
    if found.is_empty() {
        found = ablation.rows.iter().filter_map(|r| command_protocol(&r.plan.command)).collect();
    }
    let mut seen: Vec<String> = Vec::new();
    for p in found {
        if !seen.iter().any(|s| s == p) {
            seen.push(p.to_string());
        }
    }
    seen
}

fn protocol_name(protocols: &[String]) -> String {
    match protocols {
        [] => "unknown".into(),
        [one] => one.clone(),
        _ => "mixed".into(),
    }
}

fn missing_notes(ablation: &Ablation, choice: Option<&str>, protocols: &[String]) -> Vec<String> {
    let mut notes = Vec::new();
    let folder = ablation.dir.display();
    let calibrated = |row: &str| choice == Some(row) || row == ablation.plan.baseline;
    for row in &ablation.rows {
        if !row.unfinished.is_empty() {
            notes.push(format!(
                "ablation `{folder}` row `{}`: {} of {} runs not finished (no metrics.json): {}",
                row.plan.name,
                row.unfinished.len(),
                row.plan.runs.len(),
                row.unfinished.join(", ")
            ));
        }
        for run in row.finished.iter().filter(|r| r.predictions.is_none()) {
            notes.push(format!(
                "ablation `{folder}` run {}: no test_predictions.csv, so no confidence interval for row `{}`{}",
                run.name,
                row.plan.name,
                if calibrated(&row.plan.name) { " and no calibration for this seed" } else { "" }
            ));
        }
    }
    if protocols.len() > 1 {
        notes.push(format!(
            "ablation `{folder}`: its runs do not share one protocol ({}), so their test sets differ",
            protocols.join(", ")
        ));
    }
    if choice.is_none() {
        notes.push(format!(
            "ablation `{folder}`: no row has all its runs finished, so no validation choice (nor its \
             calibration)"
        ));
    }
    notes
}

/// The ablation's numbers, with the same bootstrap settings as the rest of the report.
pub fn build(ablation: &Ablation, bootstrap: &BootstrapSettings) -> AblationResults {
    let rows = table(ablation, bootstrap);
    let choice = rows.iter().find(|r| r.validation_choice).map(|r| r.name.clone());
    let p = &ablation.plan;
    let protocols = protocols(ablation);
    let mut test_images: Vec<usize> = finished_runs(ablation).map(|r| r.eval().test.images).collect();
    test_images.sort_unstable();
    test_images.dedup();
    let baseline_differs = choice.as_deref() != Some(p.baseline.as_str());
    let shifted = shifted_validation(ablation);
    let shifted_choice = shifted.as_ref().and_then(|v| v.choice.clone());
    let shifted_differs = |c: &String| choice.as_ref() != Some(c) && c != &p.baseline;
    AblationResults {
        folder: ablation.dir.display().to_string(),
        file: p.file.clone(),
        profile: p.profile.clone(),
        device: p.device.clone(),
        commit: p.commit.clone(),
        baseline: p.baseline.clone(),
        protocol: protocol_name(&protocols),
        test_images,
        calibration: choice.as_deref().and_then(|c| row_calibration(ablation, c)),
        baseline_calibration: baseline_differs.then(|| row_calibration(ablation, &p.baseline)).flatten(),
        missing: missing_notes(ablation, choice.as_deref(), &protocols),
        shifted_calibration: shifted_choice
            .filter(shifted_differs)
            .and_then(|c| row_calibration(ablation, &c)),
        shifted,
        cue: cue_rows(ablation),
        run_measures: run_measures(ablation),
        validation_choice: choice,
        rows,
    }
}

impl AblationResults {
    /// The calibrations it shows (validation choice, baseline, shifted-validation choice).
    pub fn calibrations(&self) -> impl Iterator<Item = &ChoiceCalibration> {
        self.calibration.iter().chain(&self.baseline_calibration).chain(&self.shifted_calibration)
    }

    /// Renames its figure stems that are in `taken` (another folder with the same basename)
    /// by appending `-2`, `-3`, …, and adds its stems to `taken`.
    pub fn make_figures_unique(&mut self, taken: &mut Vec<String>) {
        let all = self.calibration.iter_mut().chain(&mut self.baseline_calibration);
        for c in all.chain(&mut self.shifted_calibration) {
            let base = c.figure.clone();
            let mut k = 2;
            while taken.contains(&c.figure) {
                c.figure = format!("{base}-{k}");
                k += 1;
            }
            taken.push(c.figure.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_stems_name_the_folder_and_row() {
        assert_eq!(figure_stem("runs/recipe-official", "recipe"), "reliability-recipe-official-recipe");
        assert_eq!(figure_stem("runs/my ablation/", "a"), "reliability-my-ablation-a");
        assert_eq!(figure_stem("..", "a"), "reliability-ablation-a");
    }

    #[test]
    fn protocol_of_the_runs_else_of_the_commands() {
        assert_eq!(command_protocol("trainer train --protocol pooled --seed {seed}"), Some("pooled"));
        assert_eq!(command_protocol("trainer train --protocol=official"), Some("official"));
        assert_eq!(command_protocol("trainer train --seed 1"), None);
        let names = |ps: &[&str]| protocol_name(&ps.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(names(&["pooled"]), "pooled");
        assert_eq!(names(&["official", "pooled"]), "mixed");
        assert_eq!(names(&[]), "unknown");
    }
}
