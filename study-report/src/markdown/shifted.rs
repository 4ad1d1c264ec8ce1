//! Shifted validation in the report: a table per ablation (the row the shifted views prefer,
//! beside clean validation and test accuracy), and one paragraph over every ablation's runs
//! together: does clean or shifted validation rank the runs the way the test split does?

use std::fmt::Write;

use super::fmt::{opt3, pct};
use crate::ablation::read::{ShiftedRule, ShiftedScore};
use crate::ablation::shifted::{correlations, Correlations, RunScores, ShiftedRow};
use crate::ablation::validation_measures::{measure_correlations, MeasureCorrelations, RunMeasures};
use crate::ablation::{test_split_words, AblationResults};

const PLAN: &str = "experiments/shifted_validation.md";
/// Where the pre-registered specificity rule is written down.
const SPECIFICITY_PLAN: &str = "experiments/specificity_selection.md";

/// What ◆ marks, in words.
fn rule_words(rule: &ShiftedRule) -> String {
    let floor = match rule.min_sensitivity {
        Some(m) => format!(" and a shifted-validation sensitivity of at least {m:.2}"),
        None => String::new(),
    };
    match rule.score {
        ShiftedScore::Accuracy => {
            format!("the highest shifted-validation accuracy among rows with every run measured{floor}")
        }
        ShiftedScore::Specificity => format!(
            "the highest shifted-validation specificity among rows with every run measured{floor}, the rule \
             `{SPECIFICITY_PLAN}` fixed before its rows were trained"
        ),
    }
}

fn correlation_sentence(c: &Correlations, test: &str) -> String {
    let rows = if c.rows >= 3 {
        format!(
            "; over the {} rows with every run measured, {} for clean and {} for shifted validation",
            c.rows,
            opt3(c.rows_clean),
            opt3(c.rows_shifted)
        )
    } else {
        String::new()
    };
    format!(
        "Spearman rank correlation with the accuracy on {test}: over the {} runs measured, {} for clean \
         validation and {} for shifted validation ({} for its specificity alone){rows}.\n\n",
        c.runs,
        opt3(c.runs_clean),
        opt3(c.runs_shifted),
        opt3(c.runs_shifted_specificity)
    )
}

fn table_row(r: &ShiftedRow, choice: Option<&str>) -> String {
    let chosen = choice == Some(r.name.as_str());
    let (mark, name) = if chosen { ("◆", format!("**{}**", r.name)) } else { ("", r.name.clone()) };
    format!(
        "| {mark} | {name} | {} | {} | {} | {:.3} | {:.3} | {} |\n",
        r.seeds,
        pct(r.validation_accuracy),
        pct(r.shifted_accuracy),
        r.shifted_sensitivity,
        r.shifted_specificity,
        pct(r.test_accuracy)
    )
}

/// The ablation's shifted-validation subsection; empty when none of its runs has one.
pub fn shifted_section(a: &AblationResults) -> String {
    let Some(v) = &a.shifted else { return String::new() };
    let test = test_split_words(&a.protocol);
    let mut s = format!("### Shifted validation (`{PLAN}`)\n\n");
    let _ = write!(
        s,
        "Each run's validation images through six fixed acquisition shifts (gamma 0.67 and 1.5, contrast \
         × 0.7, half resolution, zoom in to the central 80%, zoom out to 80%), at the threshold the run \
         chose on clean validation; `trainer shifted-validation --run <run folder>` writes them. Means over \
         the views, then over seeds. ◆ marks the row with {}; the accuracy on {test} stands beside it and \
         chooses nothing.\n\n",
        rule_words(&v.rule)
    );
    s += "| ◆ | row | seeds | val accuracy | shifted val accuracy | shifted val sensitivity | shifted val specificity | test accuracy |\n";
    s += "|---|---|---|---|---|---|---|---|\n";
    for r in &v.rows {
        s += &table_row(r, v.choice.as_deref());
    }
    s += "\n";
    s + &correlation_sentence(&v.correlations, test)
}

/// Every official-protocol ablation's measured runs together (a run copied into two
/// folders, same name and numbers, counts once): one paragraph on clean against shifted
/// validation, one on four validation measures; empty when neither has three runs.
pub fn pooled_correlation_section(ablations: &[AblationResults]) -> String {
    let official: Vec<&AblationResults> = ablations.iter().filter(|a| a.protocol == "official").collect();
    let runs: Vec<RunScores> =
        distinct(official.iter().filter_map(|a| a.shifted.as_ref()).flat_map(|v| &v.runs));
    let measured: Vec<RunMeasures> = distinct(official.iter().flat_map(|a| &a.run_measures));
    if runs.len() < 3 && measured.len() < 3 {
        return String::new();
    }
    let mut s = String::from("## Does validation predict the official test split?\n\n");
    if runs.len() >= 3 {
        let c = correlations(&runs, &[]);
        let _ = write!(
            s,
            "All runs of the official-protocol ablations above that have shifted validation ({} runs, each \
             counted once). {}",
            c.runs,
            correlation_sentence(&c, "the official test split")
        );
    }
    if measured.len() >= 3 {
        let finetuned: Vec<RunMeasures> = measured.iter().filter(|r| r.finetuned).cloned().collect();
        let (all, ft) = (measure_correlations(&measured), measure_correlations(&finetuned));
        let words = |c: &MeasureCorrelations| {
            format!(
                "accuracy {}, balanced accuracy {}, AUC {}, minus the loss {}",
                opt3(c.accuracy),
                opt3(c.balanced_accuracy),
                opt3(c.auc),
                opt3(c.minus_loss)
            )
        };
        let _ = write!(
            s,
            "Four validation measures against the official test accuracy, Spearman rank correlation over \
             every binary run of those ablations ({} runs, each counted once; accuracy and balanced \
             accuracy at each run's own threshold): {}. Over the {} fine-tuned MobileNetV2 runs alone: {}. \
             A measure that predicted the other cohort would be near 1.\n\n",
            all.runs,
            words(&all),
            ft.runs,
            words(&ft)
        );
        s += &super::cue::cue_correlation_paragraph(&measured);
    }
    s
}

/// Each item once, in first-seen order (a run copied into two ablation folders is equal to
/// itself in both).
fn distinct<'a, T: PartialEq + Clone + 'a>(items: impl Iterator<Item = &'a T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for r in items {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}
