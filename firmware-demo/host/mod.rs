//! Host side of the firmware tests and report (not part of the firmware): picks real test
//! X-rays, preprocesses them exactly as the trainer does, builds the firmware, boots it in
//! QEMU and parses what it prints. Included with `#[path]` by `tests/qemu.rs` and
//! `examples/firmware_report.rs`, which each use a part of it.
#![allow(dead_code)]

pub mod elf;
pub mod qemu;

use std::path::{Path, PathBuf};

/// The models the tests and the report build the firmware with (`FIRMWARE_MODEL`; the first is
/// `build.rs`'s default): the seed CNN and MobileNetV2-0.35, both from the pooled protocol.
pub const MODELS: [&str; 2] = [
    "seed_cnn-pooled-adam-lr0.0001-e10-b20-128px-s42",
    "mobilenet_v2-w0.35-frozen-pooled-adam-lr0.001-e30-b32-224px-s42",
];

/// What the host knows of a model the firmware embeds: its blob and card in `models/`.
pub struct Embedded {
    pub name: String,
    pub blob: Vec<u8>,
    /// The card's decision threshold.
    pub threshold: f32,
    /// Side of the square grey input.
    pub side: usize,
}

impl Embedded {
    pub fn load(name: &str) -> Result<Embedded, String> {
        let models = workspace_root().join("models");
        let read = |p: PathBuf| std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let blob = read(models.join(format!("{name}.int8.postcard")))?;
        let card: serde_json::Value = serde_json::from_slice(&read(models.join(format!("{name}.json")))?)
            .map_err(|e| format!("{name}.json: {e}"))?;
        let threshold = card["threshold"].as_f64().ok_or(format!("{name}.json: no threshold"))? as f32;
        let side = usize::from(infer_core::Model::from_bytes(&blob).map_err(|e| format!("{name}: {e}"))?.input_shape().h);
        Ok(Embedded { name: name.to_string(), blob, threshold, side })
    }

    pub fn model(&self) -> infer_core::Model<'_> {
        infer_core::Model::from_bytes(&self.blob).expect("loaded once in Embedded::load")
    }

    /// The model's family, the first part of its name (`seed_cnn`, `mobilenet_v2`).
    pub fn family(&self) -> &str {
        self.name.split('-').next().unwrap_or(&self.name)
    }
}

/// The workspace root (this crate's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Kermany set's official test split, beside the project (`../shared/data`).
pub fn test_split_dir() -> PathBuf {
    workspace_root().join("../shared/data/chest_xray/test")
}

/// The build folder of the outer cargo (`target/`), found from this executable's path
/// (`target/<profile>/{deps,examples}/<exe>`), so no environment variable is needed.
pub fn outer_target_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this executable: {e}"))?;
    exe.ancestors().nth(3).map(Path::to_path_buf).ok_or_else(|| format!("unexpected path {}", exe.display()))
}

/// One real test image: its file name without extension, its kind, and its path.
#[derive(Clone, Debug)]
pub struct TestImage {
    pub name: String,
    pub kind: &'static str,
    pub path: PathBuf,
}

/// The first `per_kind` normal, bacterial and viral images of the test split, each in sorted
/// file-name order (deterministic; the kinds as the trainer reads them from the file names).
pub fn select_images(per_kind: usize) -> Result<Vec<TestImage>, String> {
    let root = test_split_dir();
    let mut picked = Vec::new();
    for (folder, kind, marker) in [
        ("NORMAL", "normal", ""),
        ("PNEUMONIA", "bacterial", "_bacteria_"),
        ("PNEUMONIA", "viral", "_virus_"),
    ] {
        let dir = root.join(folder);
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(marker)))
            .filter(|p| p.extension().is_some_and(|x| x == "jpeg" || x == "jpg" || x == "png"))
            .collect();
        files.sort();
        if files.len() < per_kind {
            return Err(format!("{} has only {} {kind} images", dir.display(), files.len()));
        }
        for path in files.into_iter().take(per_kind) {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            picked.push(TestImage { name, kind, path });
        }
    }
    Ok(picked)
}

/// The trainer's preprocessing, from the same crate (`xray-decode`): decode, refuse a damaged
/// file, grey, squash to `side`×`side` with the triangle filter.
pub fn preprocess(path: &Path, side: u32) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    xray_decode::decode_grey_square(&bytes, side).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write what the firmware reads into `dir`: `<name>.gray` for every image and `list.txt`.
/// Returns the pixels, in list order.
pub fn prepare_dir(dir: &Path, images: &[TestImage], side: u32) -> Result<Vec<Vec<u8>>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut list = String::new();
    let mut all = Vec::new();
    for img in images {
        let pixels = preprocess(&img.path, side)?;
        let file = dir.join(format!("{}.gray", img.name));
        std::fs::write(&file, &pixels).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        list.push_str(&img.name);
        list.push('\n');
        all.push(pixels);
    }
    let file = dir.join("list.txt");
    std::fs::write(&file, list).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(all)
}

/// The verdict infer-core on the host gives for `pixels`, with the layer-by-layer run (the
/// device streams rows, so agreement also checks the streamed run against it).
pub fn host_verdict(
    model: &infer_core::Model<'_>,
    arena: &mut [u8],
    name: &str,
    pixels: &[u8],
    threshold: f32,
) -> Result<firmware_demo::report::Verdict, String> {
    let out = model.run_u8(pixels, arena).map_err(|e| format!("{name}: {e}"))?;
    firmware_demo::report::Verdict::of(&out, threshold)
        .ok_or_else(|| format!("{name}: unexpected output of {} values", out.len()))
}

/// Save an 8-bit grey framebuffer as a PNG.
pub fn save_png(path: &Path, pixels: &[u8], width: u32, height: u32) -> Result<(), String> {
    let img = image::GrayImage::from_raw(width, height, pixels.to_vec())
        .ok_or_else(|| format!("framebuffer is {} bytes, not {width}×{height}", pixels.len()))?;
    img.save(path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
