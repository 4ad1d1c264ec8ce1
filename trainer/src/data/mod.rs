//! From a Kaggle-layout folder to labelled, decoded, split images.
//!
//! `kaggle` scans and hashes files, `decode` (the `xray-decode` crate) turns one file into
//! pixels, refusing damaged files, `cache` decodes the whole set once per image size, `split` assigns patients to train/validation/test, and
//! `split_data` is both together for one [`SplitSpec`], and `device` holds a split's pixels as a
//! tensor that batches are sliced from; `warp` resamples a batch through an affine view.

pub mod cache;
pub mod device;
pub mod filename;
pub mod intensity;
pub mod kaggle;
pub mod sealed;
pub mod split;
pub mod split_data;
pub mod val_split;
pub mod warp;

use std::path::Path;

use anyhow::{bail, Result};

pub use filename::Kind;
pub use kaggle::{ImageRecord, OfficialSplit, Skipped};
pub use split::{Protocol, Split};
pub use split_data::{SplitData, SplitSpec};
/// One file → pixels, refusing damaged files (the `xray-decode` crate, shared with the
/// firmware's host side).
pub use xray_decode as decode;

/// Prints the first skipped files to stderr; metrics.json lists them all.
pub fn warn_skipped(skipped: &[Skipped]) {
    const SHOWN: usize = 20;
    for s in skipped.iter().take(SHOWN) {
        eprintln!("warning: skipped {s}");
    }
    if skipped.len() > SHOWN {
        eprintln!("warning: … and {} more skipped files (all listed in metrics.json)", skipped.len() - SHOWN);
    }
}

/// Decoded images that are usable for training, in scan order, and what was skipped.
pub struct Dataset {
    pub records: Vec<ImageRecord>,
    /// `records.len()` images of `size`×`size` bytes, row-major, one channel.
    pub pixels: Vec<u8>,
    pub size: u32,
    pub skipped: Vec<Skipped>,
    /// The normalisation already applied to `pixels`.
    pub intensity: intensity::Intensity,
}

impl Dataset {
    /// Scans `root`, decodes through the cache in `cache_dir`, drops undecodable files with a
    /// warning on stderr, and fails when nothing usable is left.
    pub fn load(root: &Path, size: u32, cache_dir: &Path) -> Result<Dataset> {
        Dataset::load_normalised(root, size, cache_dir, intensity::Intensity::None)
    }

    /// [`Dataset::load`], then `intensity` applied to every image.
    pub fn load_normalised(
        root: &Path,
        size: u32,
        cache_dir: &Path,
        intensity: intensity::Intensity,
    ) -> Result<Dataset> {
        let scan = kaggle::scan(root)?;
        let decoded = cache::load_or_decode(&scan, size, cache_dir)?;
        let per = (size * size) as usize;
        let mut records = Vec::with_capacity(scan.images.len());
        let mut pixels = Vec::with_capacity(decoded.pixels.len());
        for (i, r) in scan.images.into_iter().enumerate() {
            if decoded.ok[i] {
                pixels.extend_from_slice(&decoded.pixels[i * per..(i + 1) * per]);
                records.push(r);
            }
        }
        let mut skipped = scan.skipped;
        skipped.extend(decoded.failures);
        warn_skipped(&skipped);
        if records.is_empty() {
            bail!("no usable images under {}: every file was skipped", root.display());
        }
        intensity.apply(&mut pixels, per);
        Ok(Dataset { records, pixels, size, skipped, intensity })
    }

    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let per = (self.size * self.size) as usize;
        &self.pixels[i * per..(i + 1) * per]
    }
}
