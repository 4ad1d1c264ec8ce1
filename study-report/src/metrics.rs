//! The parts of a run's `metrics.json` the report reads (the shapes of the trainer's
//! `eval::report` and `eval::metrics`). Fields newer than the oldest committed runs
//! (`milestones`, `classes`, the config's `model`/`mode`) default, so old folders still load.
//! Mirrored rather than imported because the trainer crate needs libtorch to build; a tch-free
//! crate holding these types for both would remove the copy.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize)]
pub struct Metrics {
    /// Older runs name the model at the top level; newer ones also in `config.model`.
    #[serde(default)]
    pub model: Option<String>,
    pub config: RunConfig,
    #[serde(default)]
    pub training: Option<Training>,
    pub evaluation: Evaluation,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunConfig {
    pub optimizer: String,
    pub lr: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub image_size: u32,
    pub seed: u64,
    pub protocol: String,
    #[serde(default)]
    pub patience: Option<usize>,
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Training {
    pub epochs_run: usize,
    #[serde(default)]
    pub best_epoch: Option<usize>,
    #[serde(default)]
    pub stopped_early: bool,
    #[serde(default)]
    pub restored_best: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Milestone {
    pub epoch: usize,
    pub evaluation: Evaluation,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Evaluation {
    /// The threshold chosen on the validation sweep (best F1 unless `threshold_rule` says otherwise).
    pub threshold: f64,
    /// How `threshold` was chosen (`best_f1`, `balanced_accuracy`, …); absent in older runs.
    #[serde(default, deserialize_with = "rule_name")]
    pub threshold_rule: Option<String>,
    pub validation: SplitEval,
    pub test: SplitEval,
    #[serde(default)]
    pub classes: Option<ClassesEval>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SplitEval {
    pub images: usize,
    pub loss: f64,
    #[serde(default)]
    pub roc_auc: Option<f64>,
    pub at_chosen_threshold: AtThreshold,
    #[serde(default)]
    pub sweep: Vec<AtThreshold>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
pub struct AtThreshold {
    pub threshold: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub specificity: f64,
    pub f1: f64,
    pub confusion: Confusion,
}

/// Positive = pneumonia.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Confusion {
    pub tn: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub tp: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ClassesEval {
    pub labels: Vec<String>,
    pub validation: ClassEval,
    pub test: ClassEval,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ClassEval {
    pub images: usize,
    pub accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub per_class: Vec<PerClass>,
    /// Rows = true class, columns = predicted class, in `labels` order.
    pub confusion: Vec<Vec<usize>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PerClass {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

impl Evaluation {
    /// Validation accuracy: argmax for a 3-class model, else at the chosen threshold.
    pub fn val_accuracy(&self) -> f64 {
        self.classes.as_ref().map_or(self.validation.at_chosen_threshold.accuracy, |c| c.validation.accuracy)
    }

    /// Test accuracy, measured the same way as `val_accuracy`.
    pub fn test_accuracy(&self) -> f64 {
        self.classes.as_ref().map_or(self.test.at_chosen_threshold.accuracy, |c| c.test.accuracy)
    }
}

impl Metrics {
    /// The evaluations at each measured epoch: the milestones, or (older runs without them)
    /// the final model at the number of epochs it ran.
    pub fn by_epoch(&self) -> Vec<(usize, &Evaluation)> {
        if self.milestones.is_empty() {
            let epochs = self.training.as_ref().map_or(self.config.epochs, |t| t.epochs_run);
            return vec![(epochs, &self.evaluation)];
        }
        self.milestones.iter().map(|m| (m.epoch, &m.evaluation)).collect()
    }
}

pub fn read_metrics(path: &Path) -> Result<Metrics> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("{} is not a valid metrics.json", path.display()))
}

/// A threshold rule's name as the trainer's command line spells it: runs of the first day of
/// the one-standard-error rule recorded serde's own spelling, `balanced_accuracy1se`.
fn rule_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let rule = Option::<String>::deserialize(d)?;
    Ok(rule.map(|r| if r == "balanced_accuracy1se" { "balanced_accuracy_1se".into() } else { r }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_spelling_of_the_1se_rule_reads_as_the_new() {
        let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/recipe/recipe-s4/metrics.json");
        let raw = std::fs::read_to_string(&run).unwrap();
        assert!(raw.contains("\"balanced_accuracy1se\""), "the committed run should hold the old spelling");
        let m = read_metrics(&run).unwrap();
        assert_eq!(m.evaluation.threshold_rule.as_deref(), Some("balanced_accuracy_1se"));
    }

    #[test]
    fn reads_a_committed_run_of_the_older_format() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../reports/foundation/seed_cnn-official-adam-lr0.0001-e10-b20-128px-s42/metrics.json");
        let m = read_metrics(&dir).unwrap();
        assert!(m.milestones.is_empty());
        assert!(m.evaluation.classes.is_none());
        assert_eq!(m.evaluation.test.sweep.len(), 17);
        assert_eq!(m.by_epoch()[0].0, 10);
        assert_eq!(m.evaluation.test_accuracy(), m.evaluation.test.at_chosen_threshold.accuracy);
    }
}
