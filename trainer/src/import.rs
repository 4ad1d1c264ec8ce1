//! `trainer import-tflite`: a TensorFlow Lite int8 model someone already has → an infer-core
//! blob and its card (the `tflite-import` crate does the conversion; this is the command).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::util::fs::write_atomic;

/// Options of `trainer import-tflite`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The .tflite file (int8 activations, int8 per-channel weights: TFLiteConverter's int8
    /// post-training quantization)
    pub model: PathBuf,
    /// The blob to write (e.g. models/<name>.int8.postcard); its card goes beside it as
    /// <name>.import.json
    #[arg(long)]
    pub out: PathBuf,
    /// Class names, one per line, one per output (e.g. ImageNet's 1001 labels), for the card
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

/// `<dir>/<name>.import.json` for the blob `<dir>/<name>.int8.postcard`.
pub fn import_card_path(blob: &Path) -> PathBuf {
    let name = blob.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    let stem = name.strip_suffix(".int8.postcard").unwrap_or(name);
    blob.with_file_name(format!("{stem}.import.json"))
}

/// Import `args.model`, write the blob and its card, and print what was imported.
pub fn import_tflite(args: &ImportArgs) -> Result<()> {
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model.display()))?;
    let source = args.model.file_name().and_then(|n| n.to_str()).unwrap_or("model.tflite");
    let mut imported =
        tflite_import::import(&bytes, source).with_context(|| format!("{}: cannot import", args.model.display()))?;
    if let Some(path) = &args.labels {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let labels: Vec<String> = text.lines().map(str::to_string).collect();
        let outputs = usize::from(imported.card.output.shape[2]);
        anyhow::ensure!(labels.len() == outputs, "{}: {} labels for {outputs} outputs", path.display(), labels.len());
        imported.card.labels = Some(labels);
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(&args.out, &imported.blob)?;
    let card_path = import_card_path(&args.out);
    write_atomic(&card_path, (serde_json::to_string_pretty(&imported.card)? + "\n").as_bytes())?;
    let c = &imported.card;
    let ops: Vec<String> = c.operators.iter().map(|(op, n)| format!("{n} {op}")).collect();
    println!("{source}: {} → {} infer-core layers", ops.join(", "), c.layers);
    println!(
        "input {:?} {} (scale {}, zero point {}), output {:?} {}",
        c.input.shape, c.input.file_type, c.input.scale, c.input.zero_point, c.output.shape, c.output.file_type
    );
    println!(
        "blob {} B, arena {} B ({} B streamed), {} MAC per inference",
        c.blob_bytes, c.arena_bytes, c.streamed_arena_bytes, c.macs
    );
    println!("wrote {} and {}", args.out.display(), card_path.display());
    Ok(())
}
