//! Metrics of the 3-class task (normal / bacterial / viral): accuracy of the argmax, the 3×3
//! confusion matrix (rows = true class, columns = predicted), per-class precision, recall and
//! F1, and their unweighted (macro) means. Pure Rust, so it is tested by hand.

use serde::{Deserialize, Serialize};

/// Class names in label order (the data's `Kind::ALL`).
pub const CLASS_LABELS: [&str; 3] = ["normal", "bacterial", "viral"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerClass {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// True images of this class.
    pub support: usize,
}

/// The 3-class metrics of one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassSplit {
    pub images: usize,
    pub accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub per_class: Vec<PerClass>,
    /// `confusion[true][predicted]`.
    pub confusion: [[usize; 3]; 3],
}

/// Validation and test, for metrics.json's `evaluation.classes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub labels: Vec<String>,
    pub validation: ClassSplit,
    pub test: ClassSplit,
}

/// Index of the largest probability; the first on a tie.
pub fn argmax<T: PartialOrd>(p: &[T; 3]) -> usize {
    (1..3).fold(0, |best, i| if p[i] > p[best] { i } else { best })
}

/// Metrics of the argmax of `probs` against the true `classes`.
pub fn class_split(probs: &[[f32; 3]], classes: &[u8]) -> ClassSplit {
    let mut confusion = [[0usize; 3]; 3];
    for (p, &c) in probs.iter().zip(classes) {
        confusion[usize::from(c).min(2)][argmax(p)] += 1;
    }
    from_confusion(confusion)
}

/// Everything else follows from the confusion matrix. Empty denominators give 0, never NaN.
pub fn from_confusion(confusion: [[usize; 3]; 3]) -> ClassSplit {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let images: usize = confusion.iter().flatten().sum();
    let per_class: Vec<PerClass> = (0..3)
        .map(|k| {
            let tp = confusion[k][k];
            let predicted: usize = (0..3).map(|t| confusion[t][k]).sum();
            let support: usize = confusion[k].iter().sum();
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 =
                if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            PerClass { label: CLASS_LABELS[k].into(), precision, recall, f1, support }
        })
        .collect();
    let mean = |f: fn(&PerClass) -> f64| per_class.iter().map(f).sum::<f64>() / 3.0;
    ClassSplit {
        images,
        accuracy: ratio((0..3).map(|k| confusion[k][k]).sum(), images),
        macro_precision: mean(|c| c.precision),
        macro_recall: mean(|c| c.recall),
        macro_f1: mean(|c| c.f1),
        per_class,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_per_class_metrics_by_hand() {
        // True: 3 normal, 2 bacterial, 2 viral.
        let probs = [
            [0.8, 0.1, 0.1], // normal → normal
            [0.6, 0.3, 0.1], // normal → normal
            [0.2, 0.5, 0.3], // normal → bacterial
            [0.1, 0.7, 0.2], // bacterial → bacterial
            [0.1, 0.3, 0.6], // bacterial → viral
            [0.2, 0.2, 0.6], // viral → viral
            [0.1, 0.6, 0.3], // viral → bacterial
        ];
        let classes = [0, 0, 0, 1, 1, 2, 2];
        let s = class_split(&probs, &classes);
        assert_eq!(s.confusion, [[2, 1, 0], [0, 1, 1], [0, 1, 1]]);
        assert_eq!(s.images, 7);
        assert!((s.accuracy - 4.0 / 7.0).abs() < 1e-12);
        // normal: P 2/2, R 2/3; bacterial: P 1/3, R 1/2; viral: P 1/2, R 1/2.
        let pc = &s.per_class;
        assert_eq!((pc[0].precision, pc[0].support), (1.0, 3));
        assert!((pc[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((pc[0].f1 - 0.8).abs() < 1e-12);
        assert!((pc[1].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((pc[1].f1 - 0.4).abs() < 1e-12);
        assert!((pc[2].f1 - 0.5).abs() < 1e-12);
        assert!((s.macro_f1 - (0.8 + 0.4 + 0.5) / 3.0).abs() < 1e-12);
        assert!((s.macro_precision - (1.0 + 1.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn absent_classes_give_zeros_not_nan() {
        let s = class_split(&[[0.9, 0.05, 0.05]], &[0]);
        assert_eq!(s.accuracy, 1.0);
        assert_eq!((s.per_class[2].precision, s.per_class[2].recall, s.per_class[2].f1), (0.0, 0.0, 0.0));
        assert_eq!(argmax(&[0.3, 0.3, 0.3]), 0);
    }
}
