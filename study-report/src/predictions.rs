//! A run's `test_predictions.csv`: one line per test image of the final model, with the
//! patient it belongs to (the bootstrap's resampling unit).

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use crate::history::read_csv;

/// The 3-class labels in the order of the 3-class model's outputs and confusion matrix.
pub const THREE_CLASSES: [&str; 3] = ["normal", "bacterial", "viral"];

#[derive(Clone, Debug, Deserialize)]
pub struct Prediction {
    pub patient: String,
    /// `normal`, `bacterial` or `viral`.
    pub kind: String,
    /// 1 for pneumonia.
    pub label: u8,
    pub p_pneumonia: f32,
    #[serde(default)]
    pub p_normal: Option<f32>,
    #[serde(default)]
    pub p_bacterial: Option<f32>,
    #[serde(default)]
    pub p_viral: Option<f32>,
}

impl Prediction {
    /// Binary decision at `threshold`, compared in f32 like the trainer does (p = 0.7f32 is
    /// "≥ 0.70"), so the counts match metrics.json.
    pub fn correct_at(&self, threshold: f64) -> bool {
        (self.p_pneumonia >= threshold as f32) == (self.label == 1)
    }

    /// Argmax over the three class probabilities (None for a binary model's row).
    pub fn correct_argmax(&self) -> Option<bool> {
        let p = [self.p_normal?, self.p_bacterial?, self.p_viral?];
        // The first maximum wins, as in an argmax over the model's outputs.
        let best = (0..3).fold(0, |b, i| if p[i] > p[b] { i } else { b });
        Some(THREE_CLASSES[best] == self.kind)
    }
}

/// Per-image (patient, correct) pairs of a binary or 3-class model's test predictions.
pub fn correctness(preds: &[Prediction], three_class: bool, threshold: f64) -> Option<Vec<(String, bool)>> {
    preds
        .iter()
        .map(|p| {
            let ok = if three_class { p.correct_argmax()? } else { p.correct_at(threshold) };
            Some((p.patient.clone(), ok))
        })
        .collect()
}

pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>> {
    read_csv(path, "test_predictions.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: &str, label: u8, pp: f32, three: Option<[f32; 3]>) -> Prediction {
        Prediction {
            patient: "x".into(),
            kind: kind.into(),
            label,
            p_pneumonia: pp,
            p_normal: three.map(|t| t[0]),
            p_bacterial: three.map(|t| t[1]),
            p_viral: three.map(|t| t[2]),
        }
    }

    #[test]
    fn binary_and_argmax_decisions() {
        assert!(p("viral", 1, 0.7, None).correct_at(0.7));
        assert!(!p("normal", 0, 0.7, None).correct_at(0.7));
        assert_eq!(p("viral", 1, 0.9, None).correct_argmax(), None);
        assert_eq!(p("viral", 1, 0.9, Some([0.1, 0.3, 0.6])).correct_argmax(), Some(true));
        assert_eq!(p("bacterial", 1, 0.9, Some([0.1, 0.3, 0.6])).correct_argmax(), Some(false));
    }
}
