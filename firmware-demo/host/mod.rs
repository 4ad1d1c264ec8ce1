//! Host side of the firmware tests and report (not part of the firmware): picks real test
//! X-rays, preprocesses them exactly as the trainer does, builds the firmware, boots it in
//! QEMU and parses what it prints. Included with `#[path]` by `tests/qemu.rs` and
//! `examples/firmware_report.rs`, which each use a part of it.
#![allow(dead_code)]

mod card_check;
pub mod elf;
pub mod qemu;

use std::path::{Path, PathBuf};

pub use card_check::refuse_intensity;
use firmware_demo::report::{Head, Verdict};

/// The models the tests and the report build the firmware with (`FIRMWARE_MODEL`; the first is
/// `build.rs`'s default): the pooled seed CNN, and the shipped MobileNetV2-0.35 recipe trained
/// on the official protocol (top 10 blocks fine-tuned, base at 0.3 × lr, focal loss γ 2, sharpness
/// jitter, 224 px; `experiments/official_shipped.toml`).
pub const MODELS: [&str; 2] = [
    "seed_cnn-pooled-adam-lr0.0001-e10-b20-128px-s42",
    "mobilenet_v2-w0.35-finetune10-blr0.3-focal2-sharpness-official-adam-lr0.001-cosine-e6-b32-224px-s10",
];

/// What the host knows of a model the firmware embeds: its blob and card.
pub struct Embedded {
    pub name: String,
    /// The blob's absolute path (`FIRMWARE_MODEL` takes it).
    pub blob_path: PathBuf,
    pub blob: Vec<u8>,
    /// How the output is read (the card's threshold, or an imported model's classes).
    pub head: Head,
    pub labels: Vec<String>,
    /// Side of the square input, and bytes a pixel (1 grey, 3 RGB).
    pub side: usize,
    pub channels: usize,
    /// The RAM budget the firmware is linked with (`FIRMWARE_RAM_KIB`).
    pub ram_kib: u32,
}

impl Embedded {
    /// The model `models/<name>.int8.postcard` with its trainer card `<name>.json`.
    pub fn load(name: &str) -> Result<Embedded, String> {
        Embedded::at(&workspace_root().join("models").join(format!("{name}.int8.postcard")), 256)
    }

    /// The blob at `blob_path` (`<dir>/<name>.int8.postcard`) with its card beside it: a
    /// trainer card `<name>.json` (sigmoid head) or an import card `<name>.import.json`.
    pub fn at(blob_path: &Path, ram_kib: u32) -> Result<Embedded, String> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let blob_path = blob_path.canonicalize().map_err(|e| format!("{}: {e}", blob_path.display()))?;
        let file = blob_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let name = file.strip_suffix(".int8.postcard").ok_or(format!("{file}: not a .int8.postcard"))?.to_string();
        let blob = read(&blob_path)?;
        let json = |p: PathBuf| -> Result<serde_json::Value, String> {
            serde_json::from_slice(&read(&p)?).map_err(|e| format!("{}: {e}", p.display()))
        };
        let (head, labels) = match json(blob_path.with_file_name(format!("{name}.json"))) {
            Ok(card) => {
                refuse_intensity(&format!("{name}.json"), &card)?;
                let threshold = card["threshold"].as_f64().ok_or(format!("{name}.json: no threshold"))? as f32;
                (Head::Sigmoid { threshold }, vec![])
            }
            Err(_) => {
                let card = json(blob_path.with_file_name(format!("{name}.import.json")))?;
                let labels = card["labels"].as_array().into_iter().flatten();
                (Head::Classes, labels.filter_map(|l| l.as_str().map(str::to_string)).collect())
            }
        };
        let shape = infer_core::Model::from_bytes(&blob).map_err(|e| format!("{name}: {e}"))?.input_shape();
        let (side, channels) = (usize::from(shape.h), usize::from(shape.c));
        Ok(Embedded { name, blob_path, blob, head, labels, side, channels, ram_kib })
    }

    pub fn model(&self) -> infer_core::Model<'_> {
        infer_core::Model::from_bytes(&self.blob).expect("loaded once in Embedded::at")
    }

    /// The model's family, the first part of its name (`seed_cnn`, `mobilenet_v2`, `google`).
    pub fn family(&self) -> &str {
        self.name.split('-').next().unwrap_or(&self.name)
    }
}

/// Google's int8 MobileNetV2 1.0 (`../shared/weights/tf2_mobilenet_v2_1.0_224_ptq.tflite`),
/// imported with `tflite-import` into `<target>/imported/` with the ImageNet labels, for a
/// firmware with 512 KiB of RAM (its streamed arena is 326,144 B).
pub fn import_google_mobilenet(target: &Path) -> Result<Embedded, String> {
    let weights = workspace_root().join("../shared/weights");
    let tflite = weights.join("tf2_mobilenet_v2_1.0_224_ptq.tflite");
    let bytes = std::fs::read(&tflite).map_err(|e| format!("cannot read {}: {e}", tflite.display()))?;
    let mut imported = tflite_import::import(&bytes, "tf2_mobilenet_v2_1.0_224_ptq.tflite").map_err(|e| e.to_string())?;
    let labels = std::fs::read_to_string(weights.join("imagenet_labels.txt")).map_err(|e| e.to_string())?;
    imported.card.labels = Some(labels.lines().map(str::to_string).collect());
    let dir = target.join("imported");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let blob = dir.join("google-mobilenet_v2_1.0_224_ptq.int8.postcard");
    let card = serde_json::to_vec_pretty(&imported.card).map_err(|e| e.to_string())?;
    for (path, data) in [(&blob, &imported.blob), (&dir.join("google-mobilenet_v2_1.0_224_ptq.import.json"), &card)] {
        // Rewritten only when changed, so the firmware is not rebuilt for nothing.
        if std::fs::read(path).ok().as_ref() != Some(data) {
            std::fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    Embedded::at(&blob, 512)
}

/// The five reference photos as fed to TFLite for the import fixtures (224×224 RGB bytes).
pub fn photo_inputs() -> Result<Vec<(String, Vec<u8>)>, String> {
    let dir = workspace_root().join("tflite-import/tests/fixtures/mobilenet_v2_1.0_224_ptq");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".input.u8").map(str::to_string))
        .collect();
    names.sort();
    names.into_iter().map(|n| Ok((n.clone(), std::fs::read(dir.join(format!("{n}.input.u8"))).map_err(|e| e.to_string())?))).collect()
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

/// The trainer's preprocessing of each image at `side` px: (name, grey pixels).
pub fn xray_inputs(images: &[TestImage], side: u32) -> Result<Vec<(String, Vec<u8>)>, String> {
    images.iter().map(|img| Ok((img.name.clone(), preprocess(&img.path, side)?))).collect()
}

/// Write what the firmware reads into `dir`: `<name>.pixels` for every input and `list.txt`.
pub fn prepare_dir(dir: &Path, inputs: &[(String, Vec<u8>)]) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut list = String::new();
    for (name, pixels) in inputs {
        let file = dir.join(format!("{name}.pixels"));
        std::fs::write(&file, pixels).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        list.push_str(name);
        list.push('\n');
    }
    let file = dir.join("list.txt");
    std::fs::write(&file, list).map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// The verdict infer-core on the host gives for `pixels`, with the layer-by-layer run (the
/// device streams rows, so agreement also checks the streamed run against it).
pub fn host_verdict(e: &Embedded, model: &infer_core::Model<'_>, arena: &mut [u8], name: &str, pixels: &[u8]) -> Result<Verdict, String> {
    let out = model.run_u8(pixels, arena).map_err(|err| format!("{name}: {err}"))?;
    Verdict::of(&out, &e.head).ok_or_else(|| format!("{name}: unexpected output of {} values", out.len()))
}

/// Save an 8-bit grey framebuffer as a PNG.
pub fn save_png(path: &Path, pixels: &[u8], width: u32, height: u32) -> Result<(), String> {
    let img = image::GrayImage::from_raw(width, height, pixels.to_vec())
        .ok_or_else(|| format!("framebuffer is {} bytes, not {width}×{height}", pixels.len()))?;
    img.save(path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
