//! Decode-once cache: every scanned image decoded to `size`×`size` u8, stored in one file.
//!
//! The key hashes the image size, the decoder's version and every file's SHA-256 in scan
//! order, so adding, removing or changing any image, asking for another size, or a decoder
//! that refuses other files builds a new cache instead of reusing a stale one. Files are
//! written to a temporary name and renamed, so a killed run never leaves a half-written cache
//! behind.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::decode::{decode_grey_square, DECODER_VERSION};
use super::kaggle::{Scan, Skipped};
use crate::util::fs::write_atomic;
use crate::util::hash::hex;
use crate::util::progress;

/// Pixels of all scanned images (failed ones are zero-filled and flagged).
pub struct Decoded {
    pub size: u32,
    pub pixels: Vec<u8>,
    pub ok: Vec<bool>,
    pub failures: Vec<Skipped>,
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    size: u32,
    count: usize,
    /// (index in scan order, reason) of images that could not be decoded.
    failed: Vec<(usize, String)>,
}

const MAGIC: &[u8; 8] = b"XRAYU8v1";

/// Cache file stem for this scan and size.
pub fn cache_stem(scan: &Scan, size: u32) -> String {
    let mut h = Sha256::new();
    h.update(size.to_le_bytes());
    h.update(DECODER_VERSION.to_le_bytes());
    for r in &scan.images {
        h.update(r.sha256);
    }
    format!("images-{size}px-{}", &hex(&h.finalize())[..16])
}

/// Loads the cache for (`scan`, `size`) from `cache_dir`, or decodes everything and writes it.
pub fn load_or_decode(scan: &Scan, size: u32, cache_dir: &Path) -> Result<Decoded> {
    if size == 0 {
        bail!("image size must be at least 1 pixel");
    }
    let stem = cache_stem(scan, size);
    let bin = cache_dir.join(format!("{stem}.u8"));
    let json = cache_dir.join(format!("{stem}.json"));
    if let Some(d) = try_load(scan, size, &bin, &json)? {
        return Ok(d);
    }
    let decoded = decode_all(scan, size);
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create cache folder {}", cache_dir.display()))?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + decoded.pixels.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&decoded.pixels);
    write_atomic(&bin, &bytes)?;
    let failed = scan
        .images
        .iter()
        .enumerate()
        .filter(|(i, _)| !decoded.ok[*i])
        .zip(&decoded.failures)
        .map(|((i, _), f)| (i, f.reason.clone()))
        .collect();
    let sidecar = Sidecar { size, count: scan.images.len(), failed };
    // The sidecar goes last: its presence marks a complete cache.
    write_atomic(&json, &serde_json::to_vec_pretty(&sidecar)?)?;
    Ok(decoded)
}

fn try_load(scan: &Scan, size: u32, bin: &Path, json: &Path) -> Result<Option<Decoded>> {
    let (Ok(meta), Ok(bytes)) = (std::fs::read(json), std::fs::read(bin)) else {
        return Ok(None);
    };
    let Ok(sidecar) = serde_json::from_slice::<Sidecar>(&meta) else {
        return Ok(None);
    };
    let per = (size * size) as usize;
    let n = scan.images.len();
    if sidecar.size != size
        || sidecar.count != n
        || bytes.len() != MAGIC.len() + n * per
        || &bytes[..MAGIC.len()] != MAGIC
    {
        return Ok(None);
    }
    let mut ok = vec![true; n];
    let mut failures = Vec::new();
    for (i, reason) in sidecar.failed {
        if i >= n {
            return Ok(None);
        }
        ok[i] = false;
        failures.push(Skipped { path: scan.images[i].path.clone(), reason });
    }
    Ok(Some(Decoded { size, pixels: bytes[MAGIC.len()..].to_vec(), ok, failures }))
}

fn decode_all(scan: &Scan, size: u32) -> Decoded {
    let per = (size * size) as usize;
    let bar = progress::bar(scan.images.len() as u64, "decoding", "images");
    let results: Vec<Result<Vec<u8>, String>> = scan
        .images
        .par_iter()
        .map(|r| {
            let out = std::fs::read(&r.path)
                .map_err(|e| format!("cannot read the file: {e}"))
                .and_then(|b| decode_grey_square(&b, size));
            bar.inc(1);
            out
        })
        .collect();
    bar.finish_and_clear();
    let mut pixels = Vec::with_capacity(per * results.len());
    let mut ok = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for (r, rec) in results.into_iter().zip(&scan.images) {
        match r {
            Ok(px) => {
                pixels.extend_from_slice(&px);
                ok.push(true);
            }
            Err(reason) => {
                pixels.resize(pixels.len() + per, 0);
                ok.push(false);
                failures.push(Skipped { path: rec.path.clone(), reason });
            }
        }
    }
    Decoded { size, pixels, ok, failures }
}
