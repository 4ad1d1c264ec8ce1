//! `trainer predict`: classify a user's own X-rays with a shipped int8 blob (run by
//! infer-core, exactly as on the device) or with a run's float model. Any JPEG or PNG of any
//! size goes through the same preprocessing as training (grey, squashed to the model's side);
//! a file that cannot be classified is one error line and the others still run.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use infer_core::Model;
use serde::Serialize;
use tch::{Device, Tensor};

use crate::data::decode::decode_grey_square;
use crate::quant::card::{card_path_for, read_card};
use crate::quant::FloatModel;

/// The model a prediction comes from.
pub enum Source {
    /// An int8 blob and its model card (threshold, classes).
    Int8 { blob: PathBuf },
    /// A run folder's float model and the threshold chosen on its validation split.
    Float { run: PathBuf },
}

/// One file's verdict, or why it has none.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    pub file: String,
    /// "normal" or "pneumonia"; None when the file could not be classified.
    pub class: Option<String>,
    /// p(pneumonia).
    pub probability: Option<f64>,
    pub threshold: f64,
    pub error: Option<String>,
}

/// p(pneumonia) of one image's 8-bit grey pixels.
type ProbabilityFn<'a> = Box<dyn FnMut(&[u8]) -> Result<f64> + 'a>;

/// A loaded classifier of `side`×`side` images.
struct Classifier<'a> {
    side: u32,
    threshold: f64,
    classes: [String; 2],
    probability: ProbabilityFn<'a>,
}

/// Classifies every file with the model of `source`.
pub fn predict_files(source: &Source, files: &[PathBuf]) -> Result<Vec<Prediction>> {
    match source {
        Source::Int8 { blob } => {
            let bytes =
                std::fs::read(blob).with_context(|| format!("cannot read the blob {}", blob.display()))?;
            let model = Model::from_bytes(&bytes)
                .map_err(|e| anyhow!("{} is not a valid blob: {e}", blob.display()))?;
            let card = read_card(&card_path_for(blob))?;
            let mut arena = vec![0u8; model.arena_len()];
            let run = move |px: &[u8]| -> Result<f64> {
                let out = model.run_u8(px, &mut arena).map_err(|e| anyhow!("{e}"))?;
                out.probability().map(f64::from).context("the model has no output")
            };
            let side = u32::from(card.input.shape[0]);
            let classes = two_classes(&card.classes);
            let mut c = Classifier { side, threshold: card.threshold, classes, probability: Box::new(run) };
            Ok(files.iter().map(|f| classify(&mut c, f)).collect())
        }
        Source::Float { run } => {
            let float = FloatModel::load(run, Device::Cpu)?;
            let side = float.config().image_size;
            let threshold = float.metrics.evaluation.threshold;
            let prob = |px: &[u8]| -> Result<f64> {
                let t = Tensor::from_slice(px).view([1, 1, i64::from(side), i64::from(side)]);
                Ok(float.logits(&t).sigmoid().double_value(&[0]))
            };
            let classes = two_classes(&["normal".into(), "pneumonia".into()]);
            let mut c = Classifier { side, threshold, classes, probability: Box::new(prob) };
            Ok(files.iter().map(|f| classify(&mut c, f)).collect())
        }
    }
}

fn two_classes(names: &[String]) -> [String; 2] {
    let name = |i: usize, default: &str| names.get(i).cloned().unwrap_or_else(|| default.into());
    [name(0, "normal"), name(1, "pneumonia")]
}

fn classify(c: &mut Classifier<'_>, file: &Path) -> Prediction {
    let result = std::fs::read(file)
        .map_err(|e| anyhow!("cannot read the file: {e}"))
        .and_then(|bytes| decode_grey_square(&bytes, c.side).map_err(|e| anyhow!(e)))
        .and_then(|px| (c.probability)(&px));
    let file_name = file.display().to_string();
    match result {
        Ok(p) => {
            let class = c.classes[usize::from(p >= c.threshold)].clone();
            Prediction {
                file: file_name,
                class: Some(class),
                probability: Some(p),
                threshold: c.threshold,
                error: None,
            }
        }
        Err(e) => Prediction {
            file: file_name,
            class: None,
            probability: None,
            threshold: c.threshold,
            error: Some(format!("{e:#}")),
        },
    }
}

/// One line per file: `file: CLASS p=0.9731 (threshold 0.45)` or `file: error: why`.
pub fn print_lines(predictions: &[Prediction]) {
    for p in predictions {
        match (&p.class, p.probability, &p.error) {
            (Some(class), Some(prob), _) => println!(
                "{}: {} p(pneumonia)={prob:.4} (threshold {:.2})",
                p.file,
                class.to_uppercase(),
                p.threshold
            ),
            (_, _, e) => eprintln!("{}: error: {}", p.file, e.as_deref().unwrap_or("not classified")),
        }
    }
}
