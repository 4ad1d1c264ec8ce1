//! Compile-time facts about the embedded model, written to `OUT_DIR/model_consts.rs` and
//! `include!`d by the library: the blob itself (`include_bytes!` of its absolute path), the
//! arena and plan sizes (`infer_core::Sizing`, so the `static` arena is exactly the streamed
//! run's size), its input side and MACs, and the decision threshold from its model card. For
//! the ARM target it also puts `memory.x` on the linker's search path.
//!
//! The model is `models/<FIRMWARE_MODEL>.int8.postcard` with its card `<FIRMWARE_MODEL>.json`
//! (environment variable at build time; default: the seed CNN), e.g.
//! `FIRMWARE_MODEL=mobilenet_v2-w0.35-frozen-pooled-adam-lr0.001-e30-b32-224px-s42`.

use std::path::{Path, PathBuf};
use std::{env, fs};

/// The model embedded when `FIRMWARE_MODEL` is not set.
const DEFAULT_MODEL: &str = "seed_cnn-pooled-adam-lr0.0001-e10-b20-128px-s42";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    let model = env::var("FIRMWARE_MODEL").unwrap_or_else(|_| DEFAULT_MODEL.to_string());
    let models = manifest.join("../models").canonicalize()?;
    let blob_path = models.join(format!("{model}.int8.postcard"));
    let card_path = models.join(format!("{model}.json"));
    for p in [&blob_path, &card_path, &manifest.join("memory.x")] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    fs::write(out.join("model_consts.rs"), model_consts(&model, &blob_path, &card_path)?)?;

    if env::var("TARGET")?.starts_with("thumb") {
        fs::copy(manifest.join("memory.x"), out.join("memory.x"))?;
        println!("cargo:rustc-link-search={}", out.display());
        // cortex-m-rt's linker script (it INCLUDEs memory.x); --nmagic keeps sections unpadded.
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
    }
    Ok(())
}

fn model_consts(name: &str, blob_path: &Path, card_path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let read = |p: &Path| fs::read(p).map_err(|e| format!("FIRMWARE_MODEL={name}: cannot read {}: {e}", p.display()));
    let blob = read(blob_path)?;
    let sizing = infer_core::Sizing::of(&blob).map_err(|e| format!("{}: {e}", blob_path.display()))?;
    let model = infer_core::Model::from_bytes(&blob).map_err(|e| format!("{}: {e}", blob_path.display()))?;
    let card: serde_json::Value = serde_json::from_slice(&read(card_path)?)?;
    let threshold = card["threshold"]
        .as_f64()
        .ok_or_else(|| format!("{}: no numeric \"threshold\"", card_path.display()))?;
    let shape = model.input_shape();
    if shape.h != shape.w || shape.c != 1 {
        return Err(format!("{}: input {shape:?} is not one square grey channel", blob_path.display()).into());
    }
    Ok(format!(
        "{}/// Name of the embedded model (its blob and card in `models/`).\n\
         pub const MODEL_NAME: &str = {name:?};\n\
         /// The embedded blob, used in place from flash.\n\
         pub static BLOB: &[u8] = include_bytes!({:?});\n\
         /// Decision threshold on p(pneumonia), from the model card (chosen on validation).\n\
         pub const THRESHOLD: f32 = {threshold:?};\n\
         /// Side of the square grey input image in pixels.\n\
         pub const INPUT_SIDE: usize = {};\n\
         /// Multiply-accumulates per image.\n\
         pub const MACS: u64 = {};\n",
        sizing.rust_consts(),
        blob_path.display().to_string(),
        shape.h,
        model.macs()
    ))
}
