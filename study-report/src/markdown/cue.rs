//! Cue-conflicting validation in the report: a table per ablation whose runs have it, and one
//! sentence over every official-protocol run that has it (does it rank runs the way the
//! official test split does, better than clean validation over the same runs?).

use std::fmt::Write;

use super::fmt::{opt3, pct};
use crate::ablation::validation_measures::{cue_correlations, RunMeasures};
use crate::ablation::{test_split_words, AblationResults};

const PLAN: &str = "experiments/cue_conflict_validation.md";

/// The ablation's cue-conflicting subsection; empty when none of its runs has one.
pub fn cue_section(a: &AblationResults) -> String {
    let Some(rows) = &a.cue else { return String::new() };
    let test = test_split_words(&a.protocol);
    let mut s = format!("### Cue-conflicting validation (`{PLAN}`)\n\n");
    let _ = write!(
        s,
        "Each run's validation images where the sharpness cue and the label disagree: the normal images \
         blurrier than their class's median and the pneumonia images sharper than theirs, at the threshold \
         the run chose on clean validation (`trainer cue-validation --run <run folder>`); balanced accuracy \
         is the mean of the specificity on the first and the sensitivity on the second. Means over seeds; \
         the accuracy on {test} stands beside them and chooses nothing.\n\n"
    );
    s += "| row | seeds | val balanced accuracy | cue-conflicting (± sd) | its specificity | its sensitivity | cue-aligned | test accuracy |\n";
    s += "|---|---|---|---|---|---|---|---|\n";
    for r in rows {
        let sd = r.conflicting_sd.map_or(String::new(), |v| format!(" ± {:.2}", 100.0 * v));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {}{sd} | {:.3} | {:.3} | {} | {} |",
            r.name,
            r.seeds,
            pct(r.validation_balanced_accuracy),
            pct(r.conflicting_balanced_accuracy),
            r.conflicting_specificity,
            r.conflicting_sensitivity,
            pct(r.aligned_balanced_accuracy),
            pct(r.test_accuracy)
        );
    }
    s + "\n"
}

/// One paragraph over `measured` (official-protocol runs, each once); empty below three
/// runs with a cue score.
pub fn cue_correlation_paragraph(measured: &[RunMeasures]) -> String {
    let Some(c) = cue_correlations(measured) else { return String::new() };
    format!(
        "Cue-conflicting validation (`{PLAN}`), over the {} runs that have it: Spearman rank correlation \
         with the official test accuracy {}, against {} for clean validation accuracy and {} for clean \
         validation balanced accuracy over the same runs.\n\n",
        c.runs,
        opt3(c.cue_conflicting),
        opt3(c.accuracy),
        opt3(c.balanced_accuracy)
    )
}
