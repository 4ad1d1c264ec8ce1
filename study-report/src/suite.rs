//! `<study>/suite.json`: the plan `trainer suite` wrote (FORMAT.md). Only the fields the report
//! needs are read; anything else the suite adds later is ignored.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The four model keys, in the order the report lists them.
pub const TASKS: [&str; 4] = ["cnn", "mobilenet_v2_frozen", "mobilenet_v2_finetune", "cnn_3class"];
/// The two split protocols, in report order.
pub const PROTOCOLS: [&str; 2] = ["official", "pooled"];

#[derive(Clone, Debug, Deserialize)]
pub struct Suite {
    #[serde(default)]
    pub grid_file: String,
    pub profile: String,
    pub device: String,
    pub commit: String,
    pub runs: Vec<PlannedRun>,
}

/// One run of the plan; `name` is its folder inside the study.
#[derive(Clone, Debug, Deserialize)]
pub struct PlannedRun {
    pub name: String,
    pub phase: String,
    pub task: String,
    pub protocol: String,
    pub optimizer: String,
    pub lr: f64,
    pub seed: u64,
    pub epochs: usize,
    #[serde(default)]
    pub milestones: Vec<usize>,
    #[serde(default)]
    pub patience: Option<usize>,
}

/// The grid's `model` column: the frozen MobileNetV2 runs are "the" MobileNetV2 grid.
pub fn grid_model(task: &str) -> &str {
    match task {
        "mobilenet_v2_frozen" => "mobilenet_v2",
        other => other,
    }
}

/// True for the 3-class task (argmax accuracy, 3×3 confusion).
pub fn is_three_class(task: &str) -> bool {
    task == "cnn_3class"
}

pub fn read_suite(path: &Path) -> Result<Suite> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("{} is not a valid suite.json", path.display()))
}
