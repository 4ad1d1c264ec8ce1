//! Training: configuration, optimizers, the epoch loop, weight averaging, early stopping,
//! checkpoints.

pub mod augment;
pub mod checkpoint;
pub mod config;
pub mod early_stopping;
pub mod fit;
pub mod loss;
pub mod lr_schedule;
pub mod mixup;
pub mod optimizer;
pub mod threshold_rule;
pub mod weight_average;

pub use config::TrainConfig;
pub use fit::{fit, EpochRecord, FitOutcome, ValScore};
pub use optimizer::OptimizerKind;
