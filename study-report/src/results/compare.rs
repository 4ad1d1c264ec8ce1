//! MobileNetV2 with its base frozen against fine-tuned, per protocol: each side is that
//! model's headline entry; validation says which is better, test is reported beside it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::models::ModelResult;

#[derive(Clone, Debug, Serialize)]
pub struct Side {
    pub run: String,
    pub source: String,
    pub optimizer: String,
    pub lr: f64,
    pub epochs: usize,
    pub val_accuracy: f64,
    pub test_accuracy: f64,
    pub test_accuracy_ci95: Option<[f64; 2]>,
    /// Mean test accuracy across seeds when the side has `seeds` runs.
    pub seeds_mean: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FrozenVsFinetune {
    pub protocol: String,
    pub frozen: Option<Side>,
    pub finetune: Option<Side>,
    /// `frozen` or `finetune` by validation accuracy (None unless both exist; ties: frozen,
    /// the cheaper one).
    pub better_on_validation: Option<String>,
}

fn side(m: &ModelResult) -> Side {
    Side {
        run: m.run.clone(),
        source: m.source.clone(),
        optimizer: m.config.optimizer.clone(),
        lr: m.config.lr,
        epochs: m.config.epochs,
        val_accuracy: m.validation_accuracy,
        test_accuracy: m.test.accuracy,
        test_accuracy_ci95: m.test.accuracy_ci95,
        seeds_mean: m.seeds.as_ref().map(|s| s.mean),
    }
}

pub fn frozen_vs_finetune(
    protocols: &BTreeMap<String, BTreeMap<String, ModelResult>>,
) -> Vec<FrozenVsFinetune> {
    protocols
        .iter()
        .map(|(protocol, models)| {
            let frozen = models.get("mobilenet_v2_frozen").map(side);
            let finetune = models.get("mobilenet_v2_finetune").map(side);
            let better = match (&frozen, &finetune) {
                (Some(a), Some(b)) if a.val_accuracy >= b.val_accuracy => Some("frozen".to_string()),
                (Some(_), Some(_)) => Some("finetune".to_string()),
                _ => None,
            };
            FrozenVsFinetune { protocol: protocol.clone(), frozen, finetune, better_on_validation: better }
        })
        .filter(|c| c.frozen.is_some() || c.finetune.is_some())
        .collect()
}
