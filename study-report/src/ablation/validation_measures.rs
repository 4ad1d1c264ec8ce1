//! Which validation measure, if any, ranks runs the way the official test split does? Per
//! binary run: accuracy and balanced accuracy at its own threshold, ROC AUC and log loss on
//! validation, beside its test accuracy; and Spearman's rank correlation of each with test
//! accuracy over a set of runs. Test accuracy stands beside the measures and chooses nothing:
//! this is the evidence issue 11's second point asks for (does a validation predict the
//! other cohort?), over every run the report reads.

use serde::Serialize;

use super::read::{Ablation, SeedRun};
use crate::stats::spearman;

/// One binary run's validation measures and its test accuracy.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunMeasures {
    pub run: String,
    /// A fine-tuned MobileNetV2 (the family every recipe since official_recipe.toml is in).
    pub finetuned: bool,
    pub val_accuracy: f64,
    pub val_balanced_accuracy: f64,
    pub val_auc: f64,
    pub val_loss: f64,
    pub test_accuracy: f64,
    /// Balanced accuracy on the cue-conflicting validation images (`cue_validation.json`;
    /// None without it).
    pub cue_conflicting: Option<f64>,
}

/// Spearman correlations with test accuracy (None below three runs).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MeasureCorrelations {
    pub runs: usize,
    pub accuracy: Option<f64>,
    pub balanced_accuracy: Option<f64>,
    pub auc: Option<f64>,
    /// Of minus the loss, so that for every measure higher means "validation likes it".
    pub minus_loss: Option<f64>,
}

fn measures(r: &SeedRun) -> Option<RunMeasures> {
    let e = r.eval();
    if e.classes.is_some() {
        return None;
    }
    let at = &e.validation.at_chosen_threshold;
    Some(RunMeasures {
        run: r.name.clone(),
        finetuned: r.metrics.config.mode.as_deref() == Some("finetune"),
        val_accuracy: at.accuracy,
        val_balanced_accuracy: (at.recall + at.specificity) / 2.0,
        val_auc: e.validation.roc_auc?,
        val_loss: e.validation.loss,
        test_accuracy: e.test.at_chosen_threshold.accuracy,
        cue_conflicting: r.cue.as_ref().map(|c| c.conflicting.balanced_accuracy),
    })
}

/// The binary runs of `ablation` that have a validation AUC, in plan order.
pub fn run_measures(ablation: &Ablation) -> Vec<RunMeasures> {
    ablation.rows.iter().flat_map(|r| &r.finished).filter_map(measures).collect()
}

pub fn measure_correlations(runs: &[RunMeasures]) -> MeasureCorrelations {
    let col = |f: fn(&RunMeasures) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    let test = col(|r| r.test_accuracy);
    MeasureCorrelations {
        runs: runs.len(),
        accuracy: spearman(&col(|r| r.val_accuracy), &test),
        balanced_accuracy: spearman(&col(|r| r.val_balanced_accuracy), &test),
        auc: spearman(&col(|r| r.val_auc), &test),
        minus_loss: spearman(&col(|r| -r.val_loss), &test),
    }
}

/// Over the runs that have cue-conflicting validation: its Spearman correlation with test
/// accuracy beside clean validation's over the same runs (`experiments/cue_conflict_validation.md`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CueCorrelations {
    pub runs: usize,
    pub cue_conflicting: Option<f64>,
    pub accuracy: Option<f64>,
    pub balanced_accuracy: Option<f64>,
}

/// None when fewer than three of `runs` have cue-conflicting validation.
pub fn cue_correlations(runs: &[RunMeasures]) -> Option<CueCorrelations> {
    let scored: Vec<(&RunMeasures, f64)> =
        runs.iter().filter_map(|r| Some((r, r.cue_conflicting?))).collect();
    if scored.len() < 3 {
        return None;
    }
    let test: Vec<f64> = scored.iter().map(|(r, _)| r.test_accuracy).collect();
    let col = |f: fn(&RunMeasures) -> f64| scored.iter().map(|(r, _)| f(r)).collect::<Vec<_>>();
    Some(CueCorrelations {
        runs: scored.len(),
        cue_conflicting: spearman(&scored.iter().map(|&(_, c)| c).collect::<Vec<_>>(), &test),
        accuracy: spearman(&col(|r| r.val_accuracy), &test),
        balanced_accuracy: spearman(&col(|r| r.val_balanced_accuracy), &test),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, acc: f64, auc: f64, loss: f64, test: f64) -> RunMeasures {
        RunMeasures {
            run: name.into(),
            finetuned: true,
            val_accuracy: acc,
            val_balanced_accuracy: acc,
            val_auc: auc,
            val_loss: loss,
            test_accuracy: test,
            cue_conflicting: None,
        }
    }

    #[test]
    fn each_measure_is_ranked_against_test_accuracy() {
        // Accuracy ranks the runs backwards; AUC and a lower loss in test order.
        let runs = [
            run("a", 0.97, 0.990, 0.30, 0.85),
            run("b", 0.96, 0.992, 0.20, 0.88),
            run("c", 0.95, 0.995, 0.10, 0.90),
        ];
        let c = measure_correlations(&runs);
        assert_eq!(c.runs, 3);
        assert_eq!((c.accuracy, c.balanced_accuracy), (Some(-1.0), Some(-1.0)));
        assert_eq!((c.auc, c.minus_loss), (Some(1.0), Some(1.0)));
        assert_eq!(measure_correlations(&runs[..2]).auc, None);
    }

    #[test]
    fn the_cue_score_is_ranked_over_the_runs_that_have_it_and_only_those() {
        let mut runs = vec![
            run("a", 0.97, 0.990, 0.30, 0.85),
            run("b", 0.96, 0.992, 0.20, 0.88),
            run("c", 0.95, 0.995, 0.10, 0.90),
            run("d", 0.94, 0.995, 0.10, 0.80),
        ];
        assert_eq!(cue_correlations(&runs), None);
        for (r, c) in runs.iter_mut().zip([0.70, 0.75, 0.80]) {
            r.cue_conflicting = Some(c);
        }
        // Run d has no cue score: over a, b, c the cue ranks in test order, accuracy backwards.
        let c = cue_correlations(&runs).unwrap();
        assert_eq!(c.runs, 3);
        assert_eq!((c.cue_conflicting, c.accuracy, c.balanced_accuracy), (Some(1.0), Some(-1.0), Some(-1.0)));
    }
}
