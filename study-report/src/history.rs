//! A run's `history.csv`: one row per epoch (accuracy = argmax for 3 classes, at 0.5 for binary).

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Epoch {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
}

/// Reads any of a run's CSV files into rows; errors name the file.
pub fn read_csv<T: DeserializeOwned>(path: &Path, what: &str) -> Result<Vec<T>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .with_context(|| format!("{} is not a valid {what}", path.display()))
}

pub fn read_history(path: &Path) -> Result<Vec<Epoch>> {
    read_csv(path, "history.csv")
}
