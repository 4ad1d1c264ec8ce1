//! A generated Kaggle-layout data set whose classes are learnable (pneumonia images are
//! brighter), shared by the end-to-end tests.

#![allow(dead_code)] // each test binary uses a different part

pub mod images;

use std::path::Path;

use image::{GrayImage, ImageFormat, Luma};
use trainer::data::Protocol;
use trainer::train::{OptimizerKind, TrainConfig};

/// The shape of a generated set: two images per patient, a fifth of the patients in the
/// official test split, patient `i` of kind normal / bacterial / viral by `i % 3`.
pub struct Layout {
    pub patients: u32,
    /// Side of each square PNG.
    pub side: u32,
    /// Base grey level of normal, bacterial and viral images (plus a 0..40 pattern).
    pub bases: [u32; 3],
}

/// The layout `tiny_run_config` trains on: 1,050 images of 525 patients, 12 px.
pub const TINY: Layout = Layout { patients: 525, side: 12, bases: [60, 170, 150] };

/// Writes the [`TINY`] layout to `tmp/chest_xray`, where `tiny_run_config` reads; returns that
/// folder.
pub fn make_tiny_layout(tmp: &Path) -> std::path::PathBuf {
    let data = tmp.join("chest_xray");
    make_learnable_layout(&data, &TINY);
    data
}

pub fn make_learnable_layout(root: &Path, layout: &Layout) {
    for split in ["train", "test"] {
        for class in ["NORMAL", "PNEUMONIA"] {
            std::fs::create_dir_all(root.join(split).join(class)).unwrap();
        }
    }
    for i in 0..layout.patients {
        let split = if i % 5 == 0 { "test" } else { "train" };
        // Two images per patient, distinct content (noise pattern depends on i and j).
        for j in 0..2u32 {
            let kind = ["normal", "bacteria", "virus"][(i % 3) as usize];
            let base = layout.bases[(i % 3) as usize];
            let mut img = GrayImage::from_fn(layout.side, layout.side, |x, y| {
                Luma([(base + (x * 7 + y * 13 + i * 31 + j * 17) % 40) as u8])
            });
            // Three pixels make every image's content unique, so no two patients merge.
            img.put_pixel(0, 0, Luma([(i % 256) as u8]));
            img.put_pixel(1, 0, Luma([(i / 256) as u8]));
            img.put_pixel(2, 0, Luma([j as u8]));
            let path = if kind == "normal" {
                root.join(format!("{split}/NORMAL/IM-{i:04}-{j:04}.png"))
            } else {
                root.join(format!("{split}/PNEUMONIA/person{i}_{kind}_{j}.png"))
            };
            img.save_with_format(path, ImageFormat::Png).unwrap();
        }
    }
}

/// A run named "tiny" on the generated layout in `tmp/chest_xray` (12 px, Adam 3e-3, batch 32,
/// CPU), writing under `tmp`. Official protocol: validation (≥ 50 normal, 25 bacterial,
/// 25 viral) is carved from train.
pub fn tiny_run_config(tmp: &Path, epochs: usize) -> TrainConfig {
    TrainConfig {
        name: Some("tiny".into()),
        data: tmp.join("chest_xray"),
        runs_dir: tmp.join("runs"),
        cache_dir: tmp.join("cache"),
        protocol: Protocol::Official,
        val_fraction: 0.25,
        image_size: 12,
        optimizer: OptimizerKind::Adam,
        lr: 3e-3,
        epochs,
        batch_size: 32,
        cpu: true,
        ..TrainConfig::default()
    }
}

/// Held by each test that trains, so that two tests of one binary never train at once:
/// `train_run` seeds torch's global generator, which threads share, and a second training
/// started midway would change the first one's draws (a 3-class test once failed so).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that panicked while holding the lock leaves nothing shared half-written.
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The first `n` rows of a run's `test_predictions.csv`: (file, p(pneumonia)).
pub fn measured_predictions(csv: &str, n: usize) -> Vec<(std::path::PathBuf, f64)> {
    csv.lines()
        .skip(1)
        .take(n)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (std::path::PathBuf::from(cols[0].trim_matches('"')), cols[4].parse().unwrap())
        })
        .collect()
}

/// Asserts that `trainer predict`'s probabilities equal the measured ones.
pub fn assert_same_probabilities(
    got: &[trainer::predict::Prediction],
    measured: &[(std::path::PathBuf, f64)],
) {
    assert_eq!(got.len(), measured.len());
    for (p, (file, want)) in got.iter().zip(measured) {
        let prob = p.probability.unwrap_or_else(|| panic!("{}: {:?}", file.display(), p.error));
        assert!((prob - want).abs() < 1e-4, "{}: predict {prob}, measured {want}", file.display());
    }
}
