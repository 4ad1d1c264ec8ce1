//! Measuring a trained network: probabilities on a split, then metrics and the threshold sweep.

pub mod classes;
pub mod cue;
pub mod measure;
pub mod metrics;
pub mod plots;
pub mod predict;
pub mod report;
pub mod selection;
pub mod shift;
pub mod threshold;

pub use measure::{fmt_auc, measure_test, print_report, select, val_score};
pub use metrics::{at_threshold, best_f1, roc_auc, sweep, AtThreshold};
pub use report::{evaluate, EvalReport, SplitEval};
pub use selection::Selection;
pub use threshold::ThresholdRule;
