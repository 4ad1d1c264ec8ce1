//! Frozen-mode feature cache: the base's features of every usable image — pooled `[C]` for the
//! GAP head, or the whole map `[C, s, s]` for the seed's conv head — computed once (batched,
//! no autograd) and stored under the cache folder.
//!
//! The key is the image size, the width, the SHA-256 of the weights file and a SHA-256 over
//! every usable image's SHA-256 in order; all of them go into the file name and into a
//! sidecar that is checked on load, so a changed size, width, weights file or image set never
//! reuses stale features. Both files are written atomically, the sidecar last (its presence
//! marks a complete cache).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::data::intensity::Intensity;
use crate::data::Dataset;
use crate::models::mobilenet_v2::{grey_to_input, MobileNetV2};
use crate::util::device::device_name;
use crate::util::fs::write_atomic;
use crate::util::hash::hex;
use crate::util::progress;

const MAGIC: &[u8; 8] = b"MNV2F32\x01";

/// What identifies a set of cached features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureKey {
    pub image_size: u32,
    pub width: f64,
    pub weights_sha256: String,
    /// SHA-256 over the SHA-256 of every usable image, in dataset order.
    pub images_sha256: String,
    pub images: usize,
    pub channels: i64,
    /// 0: pooled features `[C]` per image; else the side of the cached feature map.
    #[serde(default)]
    pub map_side: i64,
    /// Intensity normalisation of the images the features were computed from.
    #[serde(default)]
    pub intensity: Intensity,
}

impl FeatureKey {
    /// The key of `base` (loaded from `weights`) over `data`; `map`: whole feature maps
    /// rather than pooled features.
    pub fn new(data: &Dataset, base: &MobileNetV2, weights: &Path, map: bool) -> Result<FeatureKey> {
        let mut h = Sha256::new();
        for r in &data.records {
            h.update(r.sha256);
        }
        Ok(FeatureKey {
            image_size: data.size,
            width: base.config.width,
            weights_sha256: sha256_file(weights)?,
            images_sha256: hex(&h.finalize()),
            images: data.records.len(),
            channels: base.feature_channels(),
            map_side: if map { feature_map_side(i64::from(data.size)) } else { 0 },
            intensity: data.intensity,
        })
    }

    /// Values cached per image.
    fn per_image(&self) -> usize {
        (self.channels * self.map_side.max(1) * self.map_side.max(1)) as usize
    }

    /// The shape of the cached tensor.
    fn shape(&self) -> Vec<i64> {
        match self.map_side {
            0 => vec![self.images as i64, self.channels],
            s => vec![self.images as i64, self.channels, s, s],
        }
    }

    /// File stem: every part of the key, hashes shortened (the sidecar holds them in full).
    pub fn stem(&self) -> String {
        let map = if self.map_side > 0 { format!("-map{}", self.map_side) } else { String::new() };
        let intensity = match self.intensity {
            Intensity::None => "",
            Intensity::Equalize => "-equalized",
        };
        format!(
            "features-mnv2-w{}-{}px{map}{intensity}-weights{}-images{}",
            self.width,
            self.image_size,
            &self.weights_sha256[..16],
            &self.images_sha256[..16]
        )
    }
}

/// How a run got its features; recorded in metrics.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FeatureExtraction {
    pub cache_file: PathBuf,
    /// The features were read from the cache, not computed by this run.
    pub from_cache: bool,
    pub images: usize,
    pub image_size: u32,
    pub width: f64,
    /// Time of the extraction itself (by this run, or by the run that built the cache).
    pub extraction_seconds: f64,
    pub extraction_images_per_second: f64,
    /// Device and CPU threads the extraction ran on.
    pub extraction_device: String,
    pub extraction_threads: i32,
    /// Time this run spent getting the features (extraction or cache load).
    pub seconds_this_run: f64,
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    key: FeatureKey,
    extraction_seconds: f64,
    device: String,
    threads: i32,
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Side of MobileNetV2's feature map for an `input`-pixel image: five stride-2 'same' convs.
pub fn feature_map_side(input: i64) -> i64 {
    (0..5).fold(input, |s, _| (s + 1) / 2)
}

/// Pooled features `[n, C]` (or, with `map`, feature maps `[n, C, s, s]`; f32, on `device`)
/// of every image of `data`, in order: from the cache in `cache_dir` when its key matches,
/// else computed in batches of `batch` and cached.
pub fn load_or_extract(
    data: &Dataset,
    base: &MobileNetV2,
    weights: &Path,
    (cache_dir, map): (&Path, bool),
    device: Device,
    batch: usize,
) -> Result<(Tensor, FeatureExtraction)> {
    let started = Instant::now();
    let key = FeatureKey::new(data, base, weights, map)?;
    let bin = cache_dir.join(format!("{}.f32", key.stem()));
    let json = cache_dir.join(format!("{}.json", key.stem()));
    let report = |from_cache, side: &Sidecar| FeatureExtraction {
        cache_file: bin.clone(),
        from_cache,
        images: key.images,
        image_size: key.image_size,
        width: key.width,
        extraction_seconds: side.extraction_seconds,
        extraction_images_per_second: key.images as f64 / side.extraction_seconds.max(1e-9),
        extraction_device: side.device.clone(),
        extraction_threads: side.threads,
        seconds_this_run: started.elapsed().as_secs_f64(),
    };
    if let Some((features, side)) = try_load(&key, &bin, &json) {
        let r = report(true, &side);
        eprintln!(
            "features: {} images from {} (extracted in {:.1} s on {})",
            key.images,
            bin.display(),
            side.extraction_seconds,
            side.device
        );
        return Ok((features.to_device(device), r));
    }
    let t = Instant::now();
    let features = extract(data, base, device, batch, map);
    let seconds = t.elapsed().as_secs_f64();
    let side = Sidecar {
        key: key.clone(),
        extraction_seconds: seconds,
        device: device_name(device),
        threads: tch::get_num_threads(),
    };
    eprintln!(
        "feature extraction: {} images at {} px, width {}, in {:.1} s ({:.1} images/s) on {} ({} threads)",
        key.images,
        key.image_size,
        key.width,
        seconds,
        key.images as f64 / seconds.max(1e-9),
        side.device,
        side.threads
    );
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create cache folder {}", cache_dir.display()))?;
    let cpu = features.to_device(Device::Cpu).contiguous();
    let values = Vec::<f32>::try_from(cpu.flatten(0, -1)).context("features are not f32")?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 4 * values.len());
    bytes.extend_from_slice(MAGIC);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    write_atomic(&bin, &bytes)?;
    write_atomic(&json, &serde_json::to_vec_pretty(&side)?)?;
    Ok((features, report(false, &side)))
}

/// The cached features when both files exist and agree with `key` in full.
fn try_load(key: &FeatureKey, bin: &Path, json: &Path) -> Option<(Tensor, Sidecar)> {
    let side: Sidecar = serde_json::from_slice(&std::fs::read(json).ok()?).ok()?;
    if side.key != *key {
        eprintln!("warning: feature cache {} has another key; recomputing", json.display());
        return None;
    }
    let bytes = std::fs::read(bin).ok()?;
    let n = key.images * key.per_image();
    if bytes.len() != MAGIC.len() + 4 * n || &bytes[..MAGIC.len()] != MAGIC {
        eprintln!("warning: feature cache {} is damaged; recomputing", bin.display());
        return None;
    }
    let values: Vec<f32> =
        bytes[MAGIC.len()..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Some((Tensor::from_slice(&values).view(key.shape().as_slice()), side))
}

/// Pooled features (or feature maps) of every image of `data`, in eval mode and without
/// autograd.
fn extract(data: &Dataset, base: &MobileNetV2, device: Device, batch: usize, map: bool) -> Tensor {
    let n = data.records.len();
    let side = data.size as i64;
    let per = (data.size * data.size) as usize;
    let batch = batch.max(1);
    let bar = progress::bar(n as u64, "features", "images");
    let mut parts = Vec::with_capacity(n.div_ceil(batch));
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        let px = &data.pixels[start * per..(start + len) * per];
        let x =
            Tensor::from_slice(px).view([len as i64, 1, side, side]).to_device(device).to_kind(Kind::Float)
                / 255.0;
        let input = grey_to_input(&x);
        parts.push(if map {
            tch::no_grad(|| base.forward_features_t(&input, false))
        } else {
            base.pooled_features(&input)
        });
        start += len;
        bar.inc(len as u64);
    }
    bar.finish_and_clear();
    Tensor::cat(&parts, 0)
}
