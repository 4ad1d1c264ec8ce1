//! Cue-conflicting validation (`experiments/cue_conflict_validation.md`): inside the training
//! cohort, sharpness alone tells normal from pneumonia images (normal ones are sharper), so
//! random validation patients reward a model for reading "smooth" as "pneumonia"; another
//! clinic's detector moves every image's sharpness and that reading then fails. The images on
//! which the cue and the label disagree — the blurrier half of the validation normals, the
//! sharper half of the validation pneumonias — score a model on what is left when the cue
//! misleads. Built from validation images only.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::{at_threshold, roc_auc};
use crate::data::device::{inputs_in_order, Samples};

/// Sharpness of each image of a batch `[N, 1, H, W]` (grey, [0, 1]): the mean over interior
/// pixels of |4·x(i,j) − x(i−1,j) − x(i+1,j) − x(i,j−1) − x(i,j+1)|, the measure of
/// `scripts/sharpness_auc.py`.
pub fn sharpness(x: &Tensor) -> Vec<f64> {
    let (h, w) = (x.size()[2], x.size()[3]);
    if h < 3 || w < 3 {
        return vec![0.0; x.size()[0] as usize];
    }
    let at = |dy: i64, dx: i64| x.narrow(2, 1 + dy, h - 2).narrow(3, 1 + dx, w - 2);
    let lap = at(0, 0) * 4.0 - at(-1, 0) - at(1, 0) - at(0, -1) - at(0, 1);
    let per_image = lap.abs().to_kind(Kind::Double).mean_dim([1i64, 2, 3].as_slice(), false, Kind::Double);
    Vec::<f64>::try_from(per_image.to_device(tch::Device::Cpu))
        .expect("a 1-D f64 tensor converts to Vec<f64>")
}

/// Sharpness of every image of `samples`, in order, in batches.
pub fn sharpness_of(samples: &dyn Samples, batch_size: usize) -> Vec<f64> {
    tch::no_grad(|| inputs_in_order(samples, batch_size).flat_map(|x| sharpness(&x)).collect())
}

/// Specificity on some normal images and sensitivity on some pneumonia images, and their mean.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HalfScore {
    pub normals: usize,
    pub pneumonias: usize,
    pub specificity: f64,
    pub sensitivity: f64,
    pub balanced_accuracy: f64,
}

/// A run's cue-conflicting and cue-aligned validation scores (`cue_validation.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CueScore {
    /// The threshold the run froze on clean validation.
    pub threshold: f64,
    /// Median sharpness of the validation normal and pneumonia images.
    pub median_sharpness_normal: f64,
    pub median_sharpness_pneumonia: f64,
    /// AUC of sharpness alone for "normal is sharper" on these validation images.
    pub sharpness_auc: Option<f64>,
    /// Blurry normals (below the normals' median) and sharp pneumonias (above theirs): the
    /// score of the pre-registered rule is `conflicting.balanced_accuracy`.
    pub conflicting: HalfScore,
    /// Sharp normals and blurry pneumonias, where the cue agrees with the label.
    pub aligned: HalfScore,
    /// AUC of p(pneumonia) between the blurry normals and the sharp pneumonias.
    pub conflicting_auc: Option<f64>,
}

/// Median of a non-empty slice (the mean of the two middle values for an even count); 0 when empty.
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Scores p(pneumonia) `probs` with labels `labels` (true = pneumonia) and image sharpness
/// `sharp`, all in the same order, at `threshold`. Images at exactly their class's median are
/// in neither half.
pub fn cue_score(probs: &[f32], labels: &[bool], sharp: &[f64], threshold: f64) -> CueScore {
    assert!(
        probs.len() == labels.len() && sharp.len() == labels.len(),
        "one probability, label and sharpness per image"
    );
    let class_sharpness = |pneumonia: bool| -> Vec<f64> {
        labels.iter().zip(sharp).filter(|(&y, _)| y == pneumonia).map(|(_, &s)| s).collect()
    };
    let (m_normal, m_pneumonia) = (median(&class_sharpness(false)), median(&class_sharpness(true)));
    // Which images a half holds: normals on one side of their median, pneumonias on the other.
    let pick = |blurry_normals: bool| -> (Vec<f32>, Vec<bool>) {
        let keep = |pneumonia: bool, s: f64| match (pneumonia, blurry_normals) {
            (false, true) => s < m_normal,
            (false, false) => s > m_normal,
            (true, true) => s > m_pneumonia,
            (true, false) => s < m_pneumonia,
        };
        let ix: Vec<usize> = (0..labels.len()).filter(|&i| keep(labels[i], sharp[i])).collect();
        (ix.iter().map(|&i| probs[i]).collect(), ix.iter().map(|&i| labels[i]).collect())
    };
    let half = |(p, y): &(Vec<f32>, Vec<bool>)| {
        let at = at_threshold(p, y, threshold);
        let pneumonias = y.iter().filter(|&&b| b).count();
        HalfScore {
            normals: y.len() - pneumonias,
            pneumonias,
            specificity: at.specificity,
            sensitivity: at.recall,
            balanced_accuracy: (at.specificity + at.recall) / 2.0,
        }
    };
    let (conflicting, aligned) = (pick(true), pick(false));
    // "Normal is sharper" as an AUC: rank by sharpness with normal as the positive class.
    let sharp_f32: Vec<f32> = sharp.iter().map(|&s| s as f32).collect();
    let normal: Vec<bool> = labels.iter().map(|&y| !y).collect();
    CueScore {
        threshold,
        median_sharpness_normal: m_normal,
        median_sharpness_pneumonia: m_pneumonia,
        sharpness_auc: roc_auc(&sharp_f32, &normal),
        conflicting_auc: roc_auc(&conflicting.0, &conflicting.1),
        conflicting: half(&conflicting),
        aligned: half(&aligned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn sharpness_is_zero_on_flat_images_and_the_laplacian_mean_on_a_checkerboard() {
        let flat = Tensor::full([2, 1, 8, 8], 0.3, (Kind::Float, Device::Cpu));
        assert_eq!(sharpness(&flat), vec![0.0, 0.0]);
        // A 0/1 checkerboard: every interior pixel has four opposite neighbours, |4·x − Σ| = 4.
        let board: Vec<f32> = (0..36).map(|i| ((i / 6 + i % 6) % 2) as f32).collect();
        let x = Tensor::from_slice(&board).view([1, 1, 6, 6]);
        assert!((sharpness(&x)[0] - 4.0).abs() < 1e-9);
        // A single vertical step 0 | 1 between columns 2 and 3 of a 5-row, 6-column image:
        // the interior columns 2 and 3 each differ by 1 from one neighbour; columns 1 and 4 by 0.
        let step: Vec<f32> = (0..30).map(|i| if i % 6 >= 3 { 1.0 } else { 0.0 }).collect();
        let x = Tensor::from_slice(&step).view([1, 1, 5, 6]);
        assert!((sharpness(&x)[0] - 0.5).abs() < 1e-9, "{:?}", sharpness(&x));
    }

    #[test]
    fn conflicting_halves_are_the_blurry_normals_and_the_sharp_pneumonias() {
        // Normals with sharpness 1..=5 (median 3), pneumonias 1..=5 (median 3).
        let sharp = [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let labels = [false, false, false, false, false, true, true, true, true, true];
        // A model that reads the cue: blurry → pneumonia. Normals 1, 2 are called pneumonia,
        // pneumonias 4, 5 are called normal; it is right on every cue-aligned image.
        let probs = [0.9, 0.8, 0.5, 0.2, 0.1, 0.9, 0.8, 0.5, 0.2, 0.1];
        let s = cue_score(&probs, &labels, &sharp, 0.5);
        assert_eq!((s.median_sharpness_normal, s.median_sharpness_pneumonia), (3.0, 3.0));
        assert_eq!((s.conflicting.normals, s.conflicting.pneumonias), (2, 2));
        assert_eq!(
            (s.conflicting.specificity, s.conflicting.sensitivity, s.conflicting.balanced_accuracy),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(
            (s.aligned.specificity, s.aligned.sensitivity, s.aligned.balanced_accuracy),
            (1.0, 1.0, 1.0)
        );
        // Blurry normals score higher than sharp pneumonias: ranked exactly backwards.
        assert_eq!(s.conflicting_auc, Some(0.0));
        assert_eq!(s.sharpness_auc, Some(0.5));
        // A model that reads the lungs, not the cue, is right on both halves.
        let lungs = [0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9];
        let s = cue_score(&lungs, &labels, &sharp, 0.5);
        assert_eq!((s.conflicting.balanced_accuracy, s.aligned.balanced_accuracy), (1.0, 1.0));
        assert_eq!(s.conflicting_auc, Some(1.0));
    }

    #[test]
    fn the_median_of_an_even_count_splits_it_in_two() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let s = cue_score(&[0.1, 0.1, 0.9, 0.9], &[false, false, true, true], &[1.0, 2.0, 1.0, 2.0], 0.5);
        assert_eq!((s.conflicting.normals, s.conflicting.pneumonias), (1, 1));
        assert_eq!(s.sharpness_auc, Some(0.5));
    }
}
