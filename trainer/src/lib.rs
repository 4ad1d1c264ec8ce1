//! `trainer`: trains pneumonia classifiers on chest X-rays with tch/libtorch.
//!
//! The modules follow the data: `data` (Kaggle folder → decoded, split images) → `models` →
//! `train` → `eval` → `quant` (int8 blobs) → `run` (the run folder a user reads). `bench` measures throughput.

pub mod bench;
pub mod data;
pub mod eval;
pub mod models;
pub mod quant;
pub mod run;
pub mod train;
pub mod util;
