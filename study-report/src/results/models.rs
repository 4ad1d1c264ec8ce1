//! One model's headline entry in results.json: its test figures with the patient-bootstrap
//! interval, the spread across seeds, the PR sweep (binary) or per-class figures (3-class).

use serde::Serialize;

use crate::bootstrap::{accuracy_ci95, BootstrapSettings};
use crate::metrics::{AtThreshold, ClassEval, Confusion, PerClass};
use crate::predictions::correctness;
use crate::select::Headline;
pub use crate::stats::mean_sd;
use crate::study::Run;
use crate::suite::is_three_class;

#[derive(Clone, Debug, Serialize)]
pub struct ModelResult {
    pub run: String,
    /// `seeds`, or the phase of the best-validation run.
    pub source: String,
    pub config: RunSettings,
    pub validation_accuracy: f64,
    pub test: TestSummary,
    pub seeds: Option<SeedsSummary>,
    pub pr_sweep: Option<PrSweep>,
    pub classes: Option<ClassesOut>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunSettings {
    pub optimizer: String,
    pub lr: f64,
    /// Epochs actually trained (fewer than `max_epochs` when early stopping ended the run).
    pub epochs: usize,
    pub max_epochs: usize,
    pub best_epoch: Option<usize>,
    pub patience: Option<usize>,
    pub batch_size: usize,
    pub image_size: u32,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestSummary {
    pub images: usize,
    /// Binary: at the validation-chosen threshold; 3-class: argmax.
    pub accuracy: f64,
    /// Patient bootstrap; None without test_predictions.csv.
    pub accuracy_ci95: Option<[f64; 2]>,
    /// Binary: F1 of pneumonia; 3-class: macro F1.
    pub f1: f64,
    pub precision: f64,
    pub recall: f64,
    /// Pneumonia vs normal (for 3 classes on p(bacterial) + p(viral)).
    pub auc: Option<f64>,
    pub threshold: f64,
    pub confusion: ConfusionOut,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ConfusionOut {
    Binary(Confusion),
    /// Rows = true class, columns = predicted, in `classes.labels` order.
    Matrix(Vec<Vec<usize>>),
}

#[derive(Clone, Debug, Serialize)]
pub struct SeedsSummary {
    pub mean: f64,
    /// Sample standard deviation (n − 1); None for a single seed.
    pub sd: Option<f64>,
    pub n: usize,
    pub runs: Vec<String>,
    pub seeds: Vec<u64>,
    pub test_accuracies: Vec<f64>,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct PrPoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PrSweep {
    /// The 17 test points, thresholds 0.10 … 0.90.
    pub points: Vec<PrPoint>,
    /// Highest test F1 (ties: nearest 0.5, then lower), as the seed reported it.
    pub best_f1: Option<PrPoint>,
    /// The threshold chosen on validation, which the headline accuracy uses.
    pub validation_threshold: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClassesOut {
    pub labels: Vec<String>,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub per_class: Vec<PerClass>,
}

fn settings(run: &Run) -> RunSettings {
    let c = &run.metrics.config;
    let t = run.metrics.training.as_ref();
    RunSettings {
        optimizer: c.optimizer.clone(),
        lr: c.lr,
        epochs: t.map_or(c.epochs, |t| t.epochs_run),
        max_epochs: c.epochs,
        best_epoch: t.and_then(|t| t.best_epoch),
        patience: c.patience,
        batch_size: c.batch_size,
        image_size: c.image_size,
        seed: c.seed,
    }
}

fn pr_point(a: &AtThreshold) -> PrPoint {
    PrPoint { threshold: a.threshold, precision: a.precision, recall: a.recall, f1: a.f1 }
}

/// The point with the highest F1; on a tie the one nearest 0.5, then the lower (the trainer's rule).
pub fn best_f1(points: &[PrPoint]) -> Option<PrPoint> {
    points.iter().copied().max_by(|a, b| {
        a.f1.total_cmp(&b.f1)
            .then((b.threshold - 0.5).abs().total_cmp(&(a.threshold - 0.5).abs()))
            .then(b.threshold.total_cmp(&a.threshold))
    })
}

fn test_summary(run: &Run, bootstrap: &BootstrapSettings) -> TestSummary {
    let e = run.eval();
    let three = is_three_class(&run.plan.task);
    let ci = run
        .predictions
        .as_deref()
        .and_then(|p| correctness(p, three, e.threshold))
        .and_then(|items| accuracy_ci95(&items, bootstrap.resamples, bootstrap.seed));
    let at = &e.test.at_chosen_threshold;
    let (f1, precision, recall, confusion) = match (&e.classes, three) {
        (Some(c), true) => (c.test.macro_f1, c.test.macro_precision, c.test.macro_recall, matrix(&c.test)),
        _ => (at.f1, at.precision, at.recall, ConfusionOut::Binary(at.confusion)),
    };
    TestSummary {
        images: e.test.images,
        accuracy: e.test_accuracy(),
        accuracy_ci95: ci,
        f1,
        precision,
        recall,
        auc: e.test.roc_auc,
        threshold: e.threshold,
        confusion,
    }
}

fn matrix(c: &ClassEval) -> ConfusionOut {
    ConfusionOut::Matrix(c.confusion.clone())
}

fn seeds_summary(h: &Headline<'_>) -> Option<SeedsSummary> {
    if h.source != "seeds" {
        return None;
    }
    let accs: Vec<f64> = h.runs.iter().map(|r| r.eval().test_accuracy()).collect();
    let (mean, sd) = mean_sd(&accs);
    Some(SeedsSummary {
        mean,
        sd,
        n: accs.len(),
        runs: h.runs.iter().map(|r| r.plan.name.clone()).collect(),
        seeds: h.runs.iter().map(|r| r.plan.seed).collect(),
        test_accuracies: accs,
    })
}

pub fn model_result(h: &Headline<'_>, bootstrap: &BootstrapSettings) -> ModelResult {
    let run = h.run();
    let e = run.eval();
    let three = is_three_class(h.task);
    let pr_sweep = (!three).then(|| {
        let points: Vec<PrPoint> = e.test.sweep.iter().map(pr_point).collect();
        PrSweep { best_f1: best_f1(&points), points, validation_threshold: e.threshold }
    });
    let classes = e.classes.as_ref().filter(|_| three).map(|c| ClassesOut {
        labels: c.labels.clone(),
        macro_precision: c.test.macro_precision,
        macro_recall: c.test.macro_recall,
        macro_f1: c.test.macro_f1,
        per_class: c.test.per_class.clone(),
    });
    ModelResult {
        run: run.plan.name.clone(),
        source: h.source.clone(),
        config: settings(run),
        validation_accuracy: e.val_accuracy(),
        test: test_summary(run, bootstrap),
        seeds: seeds_summary(h),
        pr_sweep,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_f1_ties_go_nearest_half() {
        let p = |t, f1| PrPoint { threshold: t, precision: 0.0, recall: 0.0, f1 };
        let pts = [p(0.3, 0.9), p(0.45, 0.95), p(0.55, 0.95), p(0.6, 0.95)];
        assert_eq!(best_f1(&pts).unwrap().threshold, 0.45);
    }
}
