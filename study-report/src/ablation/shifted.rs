//! Shifted validation (`experiments/shifted_validation.md`): per row, the mean over seeds of
//! the validation accuracy through six acquisition shifts at each run's own threshold (the
//! `shifted_validation.json` that `trainer shifted-validation` writes into a run folder),
//! the row that score prefers, and how well clean and shifted validation rank the runs and
//! rows by their test accuracy (Spearman). Test accuracy is set beside the scores, never
//! used to choose.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::read::{Ablation, Row, SeedRun, ShiftedRule, ShiftedScore};
use super::table::first_highest;
use crate::stats::{mean_sd, spearman};

/// `shifted_validation.json`: only the fields the report reads.
#[derive(Clone, Debug, Deserialize)]
pub struct ShiftedFile {
    /// Mean over the shifted views of the validation accuracy at the run's threshold.
    pub mean_accuracy: f64,
    pub mean_specificity: f64,
    #[serde(default)]
    pub mean_sensitivity: f64,
}

pub fn read_shifted(path: &Path) -> Result<ShiftedFile> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid shifted_validation.json", path.display()))
}

/// One run's three numbers, for the correlations.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunScores {
    pub run: String,
    pub validation_accuracy: f64,
    pub shifted_accuracy: f64,
    pub shifted_specificity: f64,
    pub test_accuracy: f64,
}

/// A row whose planned runs have all finished and all have shifted validation.
#[derive(Clone, Debug, Serialize)]
pub struct ShiftedRow {
    pub name: String,
    pub seeds: usize,
    pub validation_accuracy: f64,
    pub shifted_accuracy: f64,
    pub shifted_specificity: f64,
    pub shifted_sensitivity: f64,
    pub test_accuracy: f64,
}

/// The spearman correlations with test accuracy (None for fewer than three points).
#[derive(Clone, Debug, Serialize)]
pub struct Correlations {
    pub runs: usize,
    pub runs_clean: Option<f64>,
    pub runs_shifted: Option<f64>,
    /// Shifted-validation specificity alone (what the official split punishes is normal
    /// images read as pneumonia).
    pub runs_shifted_specificity: Option<f64>,
    pub rows: usize,
    pub rows_clean: Option<f64>,
    pub rows_shifted: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShiftedValidation {
    pub rows: Vec<ShiftedRow>,
    /// The rule `choice` follows: the ablation's pre-registered one, else the highest accuracy.
    pub rule: ShiftedRule,
    /// The first candidate row with the highest score under `rule`.
    pub choice: Option<String>,
    /// Every run with shifted validation, rows complete or not.
    pub runs: Vec<RunScores>,
    pub correlations: Correlations,
}

fn run_scores(r: &SeedRun) -> Option<RunScores> {
    let shifted = r.shifted.as_ref()?;
    Some(RunScores {
        run: r.name.clone(),
        validation_accuracy: r.eval().validation.at_chosen_threshold.accuracy,
        shifted_accuracy: shifted.mean_accuracy,
        shifted_specificity: shifted.mean_specificity,
        test_accuracy: r.eval().test.at_chosen_threshold.accuracy,
    })
}

fn shifted_row(r: &Row) -> Option<ShiftedRow> {
    if !r.unfinished.is_empty() || r.finished.is_empty() {
        return None;
    }
    let shifted = r.finished.iter().map(|s| s.shifted.as_ref()).collect::<Option<Vec<_>>>()?;
    let mean = |xs: Vec<f64>| mean_sd(&xs).0;
    let at = |s: &SeedRun| s.eval().validation.at_chosen_threshold.accuracy;
    Some(ShiftedRow {
        name: r.plan.name.clone(),
        seeds: r.finished.len(),
        validation_accuracy: mean(r.finished.iter().map(at).collect()),
        shifted_accuracy: mean(shifted.iter().map(|s| s.mean_accuracy).collect()),
        shifted_specificity: mean(shifted.iter().map(|s| s.mean_specificity).collect()),
        shifted_sensitivity: mean(shifted.iter().map(|s| s.mean_sensitivity).collect()),
        test_accuracy: mean(r.finished.iter().map(|s| s.eval().test.at_chosen_threshold.accuracy).collect()),
    })
}

/// Spearman correlations of clean and of shifted validation with test accuracy, over `runs`
/// and over `rows`.
pub fn correlations(runs: &[RunScores], rows: &[ShiftedRow]) -> Correlations {
    let col = |f: fn(&RunScores) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    let row_col = |f: fn(&ShiftedRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    let test = col(|r| r.test_accuracy);
    let row_test = row_col(|r| r.test_accuracy);
    Correlations {
        runs: runs.len(),
        runs_clean: spearman(&col(|r| r.validation_accuracy), &test),
        runs_shifted: spearman(&col(|r| r.shifted_accuracy), &test),
        runs_shifted_specificity: spearman(&col(|r| r.shifted_specificity), &test),
        rows: rows.len(),
        rows_clean: spearman(&row_col(|r| r.validation_accuracy), &row_test),
        rows_shifted: spearman(&row_col(|r| r.shifted_accuracy), &row_test),
    }
}

/// The ablation's shifted validation; None when none of its runs has any.
pub fn shifted_validation(ablation: &Ablation) -> Option<ShiftedValidation> {
    let runs: Vec<RunScores> =
        ablation.rows.iter().flat_map(|r| &r.finished).filter_map(run_scores).collect();
    if runs.is_empty() {
        return None;
    }
    let rows: Vec<ShiftedRow> = ablation.rows.iter().filter_map(shifted_row).collect();
    let rule = ablation
        .plan
        .shifted_rule
        .clone()
        .unwrap_or(ShiftedRule { score: ShiftedScore::Accuracy, min_sensitivity: None });
    let choice = choose(&rows, &rule);
    let correlations = correlations(&runs, &rows);
    Some(ShiftedValidation { rows, rule, choice, runs, correlations })
}

/// The first row with the highest score under `rule` among those it admits.
pub fn choose(rows: &[ShiftedRow], rule: &ShiftedRule) -> Option<String> {
    let admitted = rows.iter().filter(|r| rule.min_sensitivity.is_none_or(|m| r.shifted_sensitivity >= m));
    first_highest(admitted.map(|r| {
        let score = match rule.score {
            ShiftedScore::Accuracy => r.shifted_accuracy,
            ShiftedScore::Specificity => r.shifted_specificity,
        };
        (r.name.clone(), score)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, val: f64, shifted: f64, test: f64) -> RunScores {
        RunScores {
            run: name.into(),
            validation_accuracy: val,
            shifted_accuracy: shifted,
            shifted_specificity: 1.0 - shifted,
            test_accuracy: test,
        }
    }

    fn row(name: &str, accuracy: f64, specificity: f64, sensitivity: f64) -> ShiftedRow {
        ShiftedRow {
            name: name.into(),
            seeds: 3,
            validation_accuracy: 0.95,
            shifted_accuracy: accuracy,
            shifted_specificity: specificity,
            shifted_sensitivity: sensitivity,
            test_accuracy: 0.9,
        }
    }

    #[test]
    fn the_rule_chooses_by_its_score_among_rows_it_admits() {
        let rows = [row("a", 0.95, 0.94, 0.96), row("b", 0.94, 0.97, 0.92), row("c", 0.93, 0.99, 0.85)];
        let accuracy = ShiftedRule { score: ShiftedScore::Accuracy, min_sensitivity: None };
        assert_eq!(choose(&rows, &accuracy).as_deref(), Some("a"));
        let specificity = ShiftedRule { score: ShiftedScore::Specificity, min_sensitivity: None };
        assert_eq!(choose(&rows, &specificity).as_deref(), Some("c"));
        let guarded = ShiftedRule { min_sensitivity: Some(0.90), ..specificity };
        assert_eq!(choose(&rows, &guarded).as_deref(), Some("b"));
        let none = ShiftedRule { min_sensitivity: Some(0.99), ..guarded };
        assert_eq!(choose(&rows, &none), None);
    }

    #[test]
    fn correlations_rank_runs_and_rows_separately() {
        // Clean validation ranks the runs backwards, shifted validation in test order.
        let runs = [run("a", 0.97, 0.90, 0.85), run("b", 0.96, 0.91, 0.88), run("c", 0.95, 0.93, 0.90)];
        let c = correlations(&runs, &[]);
        assert_eq!((c.runs, c.runs_clean, c.runs_shifted), (3, Some(-1.0), Some(1.0)));
        assert_eq!(c.runs_shifted_specificity, Some(-1.0));
        assert_eq!((c.rows, c.rows_clean, c.rows_shifted), (0, None, None));
    }
}
