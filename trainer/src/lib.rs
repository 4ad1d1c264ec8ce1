//! `trainer`: trains pneumonia classifiers on chest X-rays with tch/libtorch.
//!
//! The modules follow the data, and imports point the same way (see ARCHITECTURE.md):
//! `util` (helpers) → `data` (Kaggle folder → decoded, split images) → `models` → `train` →
//! `eval` → `run` (the run folder a user reads) → `quant` (int8 blobs and their checks) →
//! `bench` (throughput), `predict` (a user's own images), `study` (a whole grid of runs,
//! resumable) and `import` (TFLite models users already have).

pub mod bench;
pub mod data;
pub mod eval;
pub mod import;
pub mod models;
pub mod predict;
pub mod quant;
pub mod run;
pub mod study;
pub mod train;
pub mod util;
