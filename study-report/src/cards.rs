//! The shipped models' cards (`models/<name>.json`, the trainer's `ModelCard`): float vs int8
//! test figures. Only the fields the report prints are read, so the card may grow freely.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize)]
struct Card {
    name: String,
    model: String,
    protocol: String,
    source_run: String,
    float_threshold: f64,
    threshold: f64,
    float_test_accuracy: f64,
    int8_test_accuracy: f64,
    #[serde(default)]
    int8_test_accuracy_at_float_threshold: Option<f64>,
    #[serde(default)]
    float_test_auc: Option<f64>,
    #[serde(default)]
    int8_test_auc: Option<f64>,
    #[serde(default)]
    test_label_agreement: Option<f64>,
    #[serde(default)]
    test_class_agreement: Option<f64>,
    #[serde(default)]
    float_test_class_accuracy: Option<f64>,
    #[serde(default)]
    int8_test_class_accuracy: Option<f64>,
    #[serde(default)]
    blob_bytes: Option<usize>,
    #[serde(default)]
    split: Option<CardSplit>,
}

#[derive(Clone, Debug, Deserialize)]
struct CardSplit {
    test_images: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Int8Row {
    pub name: String,
    pub model: String,
    pub protocol: String,
    pub source_run: String,
    pub float_threshold: f64,
    pub int8_threshold: f64,
    pub float_test_accuracy: f64,
    pub int8_test_accuracy: f64,
    pub int8_test_accuracy_at_float_threshold: Option<f64>,
    pub float_test_auc: Option<f64>,
    pub int8_test_auc: Option<f64>,
    /// Share of test images on which float and int8 give the same label.
    pub test_label_agreement: Option<f64>,
    /// 3-class models: share of test images with the same class (argmax), and each model's
    /// class accuracy.
    pub test_class_agreement: Option<f64>,
    pub float_test_class_accuracy: Option<f64>,
    pub int8_test_class_accuracy: Option<f64>,
    pub test_images: Option<usize>,
    pub blob_bytes: Option<usize>,
    /// The card file, relative to nothing: just its file name.
    pub card: String,
}

fn row(card: Card, file: String) -> Int8Row {
    Int8Row {
        name: card.name,
        model: card.model,
        protocol: card.protocol,
        source_run: card.source_run,
        float_threshold: card.float_threshold,
        int8_threshold: card.threshold,
        float_test_accuracy: card.float_test_accuracy,
        int8_test_accuracy: card.int8_test_accuracy,
        int8_test_accuracy_at_float_threshold: card.int8_test_accuracy_at_float_threshold,
        float_test_auc: card.float_test_auc,
        int8_test_auc: card.int8_test_auc,
        test_label_agreement: card.test_label_agreement,
        test_class_agreement: card.test_class_agreement,
        float_test_class_accuracy: card.float_test_class_accuracy,
        int8_test_class_accuracy: card.int8_test_class_accuracy,
        test_images: card.split.map(|s| s.test_images),
        blob_bytes: card.blob_bytes,
        card: file,
    }
}

/// Every `*.json` card in `models_dir`, sorted by file name; an absent folder has none.
pub fn read_int8_rows(models_dir: &Path) -> Result<Vec<Int8Row>> {
    if !models_dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries =
        std::fs::read_dir(models_dir).with_context(|| format!("cannot list {}", models_dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            let card: Card = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a valid model card", p.display()))?;
            let file = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            Ok(row(card, file))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_committed_cards() {
        let rows = read_int8_rows(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")).unwrap();
        assert!(!rows.is_empty());
        for r in &rows {
            assert!(r.int8_test_accuracy > 0.5 && r.test_label_agreement.is_some(), "{}", r.name);
        }
    }
}
