//! Compile-time facts about the embedded model, written to `OUT_DIR/model_consts.rs` and
//! `include!`d by the library: the blob itself (`include_bytes!` of its absolute path), the
//! arena and plan sizes (`infer_core::Sizing`, so the `static` arena is exactly the streamed
//! run's size), its input side, channels and MACs, and how to read its output: the decision
//! threshold from a trainer model card (`<name>.json`), or the classes and labels of an
//! imported model (`<name>.import.json`, written by `trainer import-tflite`). For the ARM target
//! it also writes `memory.x` onto the linker's search path, with the RAM budget.
//!
//! - `FIRMWARE_MODEL`: `<name>` of `models/<name>.int8.postcard`, or a path to any
//!   `<dir>/<name>.int8.postcard` (default: the pooled seed CNN).
//! - `FIRMWARE_RAM_KIB`: the RAM the linker may use (default 256, an nRF52840's SRAM).

use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "host/card_check.rs"]
mod card_check;

/// The model embedded when `FIRMWARE_MODEL` is not set.
const DEFAULT_MODEL: &str = "seed_cnn-pooled-adam-lr0.0001-e10-b20-128px-s42";
type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    println!("cargo:rerun-if-env-changed=FIRMWARE_RAM_KIB");
    let model = env::var("FIRMWARE_MODEL").unwrap_or_else(|_| DEFAULT_MODEL.to_string());
    let blob_path = match model.strip_suffix(".int8.postcard") {
        Some(_) => PathBuf::from(&model),
        None => manifest.join("../models").join(format!("{model}.int8.postcard")),
    };
    let blob_path = blob_path.canonicalize().map_err(|e| format!("FIRMWARE_MODEL={model}: {}: {e}", blob_path.display()))?;
    let name = blob_path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".int8.postcard")).ok_or("bad blob name")?;
    let card = blob_path.with_file_name(format!("{name}.json"));
    let import_card = blob_path.with_file_name(format!("{name}.import.json"));
    for p in [&blob_path, &card, &import_card, &manifest.join("memory.x")] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    fs::write(out.join("model_consts.rs"), model_consts(name, &blob_path, &card, &import_card)?)?;

    if env::var("TARGET")?.starts_with("thumb") {
        let kib: u32 = env::var("FIRMWARE_RAM_KIB").map_or(Ok(256), |v| v.parse())?;
        let memory = fs::read_to_string(manifest.join("memory.x"))?;
        fs::write(out.join("memory.x"), memory.replace("LENGTH = 256K", &format!("LENGTH = {kib}K")))?;
        println!("cargo:rustc-link-search={}", out.display());
        // cortex-m-rt's linker script (it INCLUDEs memory.x); --nmagic keeps sections unpadded.
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
    }
    Ok(())
}

/// `HEAD` and `LABELS`: a trainer card's threshold, or an import card's classes and labels.
fn head(card: &Path, import_card: &Path) -> Res<(String, Vec<String>)> {
    let json = |p: &Path| -> Res<serde_json::Value> { Ok(serde_json::from_slice(&fs::read(p)?)?) };
    if card.exists() {
        let c = json(card)?;
        card_check::refuse_intensity(&card.display().to_string(), &c)?;
        let threshold =
            c["threshold"].as_f64().ok_or_else(|| format!("{}: no numeric \"threshold\"", card.display()))?;
        return Ok((format!("Head::Sigmoid {{ threshold: {threshold:?} }}"), vec![]));
    }
    let c = json(import_card).map_err(|e| format!("neither {} nor {}: {e}", card.display(), import_card.display()))?;
    let labels = c["labels"].as_array().map(|l| l.iter().filter_map(|s| s.as_str().map(str::to_string)).collect());
    Ok(("Head::Classes".to_string(), labels.unwrap_or_default()))
}

fn model_consts(name: &str, blob_path: &Path, card: &Path, import_card: &Path) -> Res<String> {
    let blob = fs::read(blob_path).map_err(|e| format!("cannot read {}: {e}", blob_path.display()))?;
    let sizing = infer_core::Sizing::of(&blob).map_err(|e| format!("{}: {e}", blob_path.display()))?;
    let model = infer_core::Model::from_bytes(&blob).map_err(|e| format!("{}: {e}", blob_path.display()))?;
    let shape = model.input_shape();
    if shape.h != shape.w || !(shape.c == 1 || shape.c == 3) {
        return Err(format!("{}: input {shape:?} is not a square grey or RGB image", blob_path.display()).into());
    }
    let (head, labels) = head(card, import_card)?;
    Ok(format!(
        "{}/// Name of the embedded model (its blob and card).\n\
         pub const MODEL_NAME: &str = {name:?};\n\
         /// The embedded blob, used in place from flash.\n\
         pub static BLOB: &[u8] = include_bytes!({:?});\n\
         /// How the output is read (a card's threshold, or an imported model's classes).\n\
         pub const HEAD: Head = {head};\n\
         /// Class names of a multi-class head (empty otherwise).\n\
         pub static LABELS: &[&str] = &{labels:?};\n\
         /// Side of the square input image in pixels.\n\
         pub const INPUT_SIDE: usize = {};\n\
         /// Bytes a pixel: 1 (grey) or 3 (RGB).\n\
         pub const INPUT_CHANNELS: usize = {};\n\
         /// Multiply-accumulates per image.\n\
         pub const MACS: u64 = {};\n",
        sizing.rust_consts(),
        blob_path.display().to_string(),
        shape.h,
        shape.c,
        model.macs()
    ))
}
