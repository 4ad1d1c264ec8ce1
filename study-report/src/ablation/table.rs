//! The ablation table: per row, over its finished seeds, the official test accuracy (mean ± sd
//! and a patient-bootstrap interval of the seed mean), sensitivity, specificity, AUC,
//! validation accuracy and threshold, the difference from the baseline row, and which row
//! validation prefers. Test numbers are reported, never used to choose.

use serde::Serialize;

use super::read::{Ablation, Row, SeedRun};
use crate::bootstrap::{seed_mean_accuracy_ci95, BootstrapSettings};
use crate::calibration::{calibration, BINS};
use crate::predictions::correctness;
use crate::stats::mean_sd;

#[derive(Clone, Debug, Serialize)]
pub struct AblationRow {
    pub name: String,
    pub change: String,
    /// The trainer command, `{seed}` as planned.
    pub command: String,
    pub planned_seeds: Vec<u64>,
    /// Planned runs without metrics.json yet.
    pub unfinished_runs: Vec<String>,
    /// The row validation prefers (at most one per ablation).
    pub validation_choice: bool,
    /// None until one of the row's runs has finished.
    pub numbers: Option<RowNumbers>,
}

/// Means are over the finished seeds; accuracies at each seed's validation-chosen threshold
/// (the binary decision, also for a 3-class model: p(pneumonia) = p(bacterial) + p(viral)),
/// sensitivity and specificity at that threshold.
#[derive(Clone, Debug, Serialize)]
pub struct RowNumbers {
    /// Finished seeds.
    pub n: usize,
    pub runs: Vec<String>,
    pub seeds: Vec<u64>,
    pub test_images: usize,
    pub validation_accuracy: f64,
    pub test_accuracy: f64,
    /// Sample sd (n − 1) across seeds; None for one seed.
    pub test_accuracy_sd: Option<f64>,
    pub test_accuracies: Vec<f64>,
    /// Patient bootstrap of the seed-mean accuracy; None unless every finished seed has its
    /// test_predictions.csv.
    pub test_accuracy_ci95: Option<[f64; 2]>,
    /// Mean test accuracy minus the baseline row's; None while the baseline has no finished run.
    pub delta_vs_baseline: Option<f64>,
    pub sensitivity: f64,
    pub specificity: f64,
    /// Mean over the seeds that have one; None when none has.
    pub auc: Option<f64>,
    /// Expected calibration error on test (10 bins), mean over the seeds with
    /// test_predictions.csv; None when none has.
    pub ece: Option<f64>,
    /// Mean of the seeds' chosen thresholds.
    pub threshold: f64,
    /// How the thresholds were chosen (the seeds' distinct rules, comma-separated); None when
    /// the runs predate `threshold_rule`.
    pub threshold_rule: Option<String>,
    /// A 3-class row: each seed's argmax accuracy over normal / bacterial / viral on the test
    /// split (empty for a binary row).
    pub class_test_accuracies: Vec<f64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let xs: Vec<f64> = xs.collect();
    (!xs.is_empty()).then(|| mean_sd(&xs).0)
}

fn seed_mean_ci(runs: &[SeedRun], bootstrap: &BootstrapSettings) -> Option<[f64; 2]> {
    let per_seed = runs
        .iter()
        .map(|r| correctness(r.predictions.as_deref()?, false, r.eval().threshold))
        .collect::<Option<Vec<_>>>()?;
    seed_mean_accuracy_ci95(&per_seed, bootstrap.resamples, bootstrap.seed)
}

fn threshold_rule(runs: &[SeedRun]) -> Option<String> {
    let mut rules: Vec<&str> = Vec::new();
    for rule in runs.iter().filter_map(|r| r.eval().threshold_rule.as_deref()) {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    (!rules.is_empty()).then(|| rules.join(", "))
}

fn numbers(runs: &[SeedRun], bootstrap: &BootstrapSettings) -> Option<RowNumbers> {
    let first = runs.first()?;
    let at = |r: &SeedRun| r.eval().test.at_chosen_threshold;
    let test_accuracies: Vec<f64> = runs.iter().map(|r| r.eval().test.at_chosen_threshold.accuracy).collect();
    let (test_accuracy, test_accuracy_sd) = mean_sd(&test_accuracies);
    Some(RowNumbers {
        n: runs.len(),
        runs: runs.iter().map(|r| r.name.clone()).collect(),
        seeds: runs.iter().map(SeedRun::seed).collect(),
        test_images: first.eval().test.images,
        validation_accuracy: mean(runs.iter().map(|r| r.eval().validation.at_chosen_threshold.accuracy))?,
        test_accuracy,
        test_accuracy_sd,
        test_accuracies,
        test_accuracy_ci95: seed_mean_ci(runs, bootstrap),
        delta_vs_baseline: None,
        sensitivity: mean(runs.iter().map(|r| at(r).recall))?,
        specificity: mean(runs.iter().map(|r| at(r).specificity))?,
        auc: mean(runs.iter().filter_map(|r| r.eval().test.roc_auc)),
        ece: mean(runs.iter().filter_map(|r| Some(calibration(&r.scored()?, BINS)?.ece))),
        threshold: mean(runs.iter().map(|r| r.eval().threshold))?,
        threshold_rule: threshold_rule(runs),
        class_test_accuracies: runs
            .iter()
            .filter_map(|r| Some(r.eval().classes.as_ref()?.test.accuracy))
            .collect(),
    })
}

fn row(r: &Row, bootstrap: &BootstrapSettings) -> AblationRow {
    AblationRow {
        name: r.plan.name.clone(),
        change: r.plan.change.clone(),
        command: r.plan.command.clone(),
        planned_seeds: r.plan.seeds.clone(),
        unfinished_runs: r.unfinished.clone(),
        validation_choice: false,
        numbers: numbers(&r.finished, bootstrap),
    }
}

/// The first item with the highest score (ties: the earlier one); None for no items.
pub fn first_highest<T>(scored: impl Iterator<Item = (T, f64)>) -> Option<T> {
    scored
        .fold(None, |best: Option<(T, f64)>, (x, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((x, v)),
        })
        .map(|(x, _)| x)
}

/// The first row with the highest mean validation accuracy among the rows with every planned
/// run finished (a row still missing seeds is not yet comparable); None when no row is.
pub fn validation_choice(rows: &[AblationRow]) -> Option<usize> {
    let finished = rows.iter().enumerate().filter(|(_, r)| r.unfinished_runs.is_empty());
    first_highest(finished.filter_map(|(i, r)| Some((i, r.numbers.as_ref()?.validation_accuracy))))
}

/// Every row of the ablation in plan order, with Δ vs `baseline` and the validation choice marked.
pub fn table(ablation: &Ablation, bootstrap: &BootstrapSettings) -> Vec<AblationRow> {
    let mut rows: Vec<AblationRow> = ablation.rows.iter().map(|r| row(r, bootstrap)).collect();
    let baseline = rows
        .iter()
        .find(|r| r.name == ablation.plan.baseline)
        .and_then(|r| r.numbers.as_ref())
        .map(|n| n.test_accuracy);
    for n in rows.iter_mut().filter_map(|r| r.numbers.as_mut()) {
        n.delta_vs_baseline = baseline.map(|b| n.test_accuracy - b);
    }
    if let Some(i) = validation_choice(&rows) {
        rows[i].validation_choice = true;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, val: Option<f64>, unfinished: &[&str]) -> AblationRow {
        AblationRow {
            name: name.into(),
            change: String::new(),
            command: String::new(),
            planned_seeds: vec![1, 2, 3],
            unfinished_runs: unfinished.iter().map(|s| s.to_string()).collect(),
            validation_choice: false,
            numbers: val.map(|v| RowNumbers {
                n: 3,
                runs: vec![],
                seeds: vec![],
                test_images: 624,
                validation_accuracy: v,
                test_accuracy: 0.9,
                test_accuracy_sd: None,
                test_accuracies: vec![],
                test_accuracy_ci95: None,
                delta_vs_baseline: None,
                sensitivity: 0.9,
                specificity: 0.9,
                auc: None,
                ece: None,
                threshold: 0.5,
                threshold_rule: None,
                class_test_accuracies: vec![],
            }),
        }
    }

    #[test]
    fn validation_prefers_the_first_best_finished_row() {
        let rows = [row("a", Some(0.90), &[]), row("b", Some(0.93), &[]), row("c", Some(0.93), &[])];
        assert_eq!(validation_choice(&rows), Some(1));
        // A partly finished row is not a candidate, however good its seeds so far.
        let rows = [row("a", Some(0.90), &[]), row("b", Some(0.99), &["b-s3"]), row("c", None, &["c-s1"])];
        assert_eq!(validation_choice(&rows), Some(0));
        assert_eq!(validation_choice(&[row("a", None, &["a-s1"])]), None);
    }
}
