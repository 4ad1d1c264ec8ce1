//! The images of one experiment, decoded and split: what training, evaluation, quantization
//! and int8 validation all start from. [`SplitSpec`] names everything that decides it, so a
//! model card can reproduce its split without a training config.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::intensity::Intensity;
use super::split::{self, Protocol, Split, ValSplit};
use super::Dataset;

/// Where the images are and how they are decoded and split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitSpec {
    /// The chest_xray folder in the Kaggle layout.
    pub data: PathBuf,
    /// Where decoded images are cached.
    pub cache_dir: PathBuf,
    /// Square side in pixels.
    pub image_size: u32,
    pub protocol: Protocol,
    pub seed: u64,
    /// Official protocol: share of the training patients held out for validation.
    pub val_fraction: f64,
    /// Intensity normalisation applied after decoding.
    #[serde(default)]
    pub intensity: Intensity,
    /// Official protocol: how validation is carved out of the training patients.
    #[serde(default)]
    pub val_split: ValSplit,
}

/// Decoded usable images and their patient-disjoint split.
pub struct SplitData {
    pub data: Dataset,
    pub split: Split,
}

impl SplitData {
    /// Scans, decodes (through the cache) and splits; prints a one-line summary to stderr.
    pub fn load(spec: &SplitSpec) -> Result<SplitData> {
        let data = Dataset::load_normalised(&spec.data, spec.image_size, &spec.cache_dir, spec.intensity)?;
        let split =
            split::split_with(&data.records, spec.protocol, spec.seed, (spec.val_fraction, spec.val_split))
                .with_context(|| format!("cannot split the images under {}", spec.data.display()))?;
        let s = &split.summary;
        eprintln!(
            "{} usable images ({} skipped); split {:?}: train {:?}, val {:?}, test {:?}",
            data.records.len(),
            data.skipped.len(),
            spec.protocol,
            s.train,
            s.val,
            s.test
        );
        if s.excluded_train_images > 0 {
            eprintln!(
                "note: {} official test patient ids also occur in train; their {} training images are left out",
                s.official_test_ids_also_in_train, s.excluded_train_images
            );
        }
        Ok(SplitData { data, split })
    }
}
