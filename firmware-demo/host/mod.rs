//! Host side of the firmware tests and report (not part of the firmware): picks real test
//! X-rays, preprocesses them exactly as the trainer does, builds the firmware, boots it in
//! QEMU and parses what it prints. Included with `#[path]` by `tests/qemu.rs` and
//! `examples/firmware_report.rs`, which each use a part of it.
#![allow(dead_code)]

pub mod elf;
pub mod qemu;

use std::path::{Path, PathBuf};

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

/// The line infer-core on the host gives for `pixels` (the device's line without `instr`).
pub fn host_line(
    model: &infer_core::Model<'_>,
    arena: &mut [u8],
    name: &str,
    pixels: &[u8],
) -> Result<String, String> {
    let out = model.run_u8(pixels, arena).map_err(|e| format!("{name}: {e}"))?;
    let verdict = firmware_demo::report::Verdict::of(&out, firmware_demo::THRESHOLD)
        .ok_or_else(|| format!("{name}: unexpected output of {} values", out.len()))?;
    Ok(verdict.line(name, None).to_string())
}

/// Save an 8-bit grey framebuffer as a PNG.
pub fn save_png(path: &Path, pixels: &[u8], width: u32, height: u32) -> Result<(), String> {
    let img = image::GrayImage::from_raw(width, height, pixels.to_vec())
        .ok_or_else(|| format!("framebuffer is {} bytes, not {width}×{height}", pixels.len()))?;
    img.save(path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
