//! `trainer import-tflite`: a TensorFlow Lite int8 model someone already has → an infer-core
//! blob and its card (the `tflite-import` crate does the conversion; this is the command), and
//! `trainer predict` with such a blob (its most probable class, by label).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use infer_core::Model;
use xray_decode::{decode_grey_square, decode_rgb_square};

use crate::predict::{predict_files, Prediction, Source};
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

/// `trainer predict --model <blob>`: a blob imported from TFLite (its card is
/// `<name>.import.json`) gives each file's most probable class; any other blob, or a run,
/// goes to [`crate::predict::predict_files`].
pub fn predict(source: &Source, files: &[PathBuf]) -> Result<Vec<Prediction>> {
    let Source::Int8 { blob } = source else { return predict_files(source, files) };
    let card_path = import_card_path(blob);
    if !card_path.exists() {
        return predict_files(source, files);
    }
    let card: serde_json::Value = serde_json::from_slice(&std::fs::read(&card_path)?)
        .with_context(|| format!("{} is not a card", card_path.display()))?;
    let labels: Vec<String> =
        card["labels"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string)).collect();
    let bytes = std::fs::read(blob).with_context(|| format!("cannot read the blob {}", blob.display()))?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{} is not a valid blob: {e}", blob.display()))?;
    let shape = model.input_shape();
    let mut arena = vec![0u8; model.arena_len()];
    let mut one = |file: &Path| -> Result<(usize, f64)> {
        let bytes = std::fs::read(file).map_err(|e| anyhow!("cannot read the file: {e}"))?;
        let side = u32::from(shape.h);
        let px = match shape.c {
            3 => decode_rgb_square(&bytes, side),
            _ => decode_grey_square(&bytes, side),
        }
        .map_err(|e| anyhow!(e))?;
        let out = model.run_u8(&px, &mut arena).map_err(|e| anyhow!("{e}"))?;
        let top = out.argmax().context("the model has no output")?;
        // A softmax output (scale 1/256) is a probability already; otherwise take the softmax.
        let p = if out.quant().scale == 1.0 / 256.0 {
            out.dequantize(top)
        } else {
            let mut p = vec![0f32; out.len()];
            out.softmax(&mut p).map(|_| p[top])
        };
        Ok((top, f64::from(p.context("the model has no output")?)))
    };
    let predict_one = |file: &PathBuf| {
        let (class, probability, index, error) = match one(file) {
            Ok((top, p)) => {
                let label = labels.get(top).cloned().unwrap_or_else(|| format!("class {top}"));
                (Some(label), Some(p), Some(top), None)
            }
            Err(e) => (None, None, None, Some(format!("{e:#}"))),
        };
        let file = file.display().to_string();
        Prediction { file, class, probability, class_probabilities: None, threshold: f64::NAN, index, error }
    };
    Ok(files.iter().map(predict_one).collect())
}
