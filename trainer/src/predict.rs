//! `trainer predict`: classify a user's own X-rays with a shipped int8 blob (run by
//! infer-core, exactly as on the device) or with a run's float model. Any JPEG or PNG of any
//! size goes through the same preprocessing as training (grey, squashed to the model's side,
//! then the intensity normalisation the model was trained with); a file that cannot be
//! classified is one error line and the others still run.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use infer_core::Model;
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::data::decode::decode_grey_square;
use crate::data::intensity::Intensity;
use crate::eval::classes::{argmax, CLASS_LABELS};
use crate::models::Classifier as NetClassifier;
use crate::quant::card::{card_path_for, read_card};
use crate::quant::float_model::pixel_logits;
use crate::run::{load_ensemble, load_run_model, read_metrics};

/// The model a prediction comes from.
pub enum Source {
    /// An int8 blob and its model card (threshold, classes).
    Int8 { blob: PathBuf },
    /// A run folder's float model and the threshold chosen on its validation split; an
    /// ensemble's folder (`trainer ensemble`, with or without `--views`) rebuilds its members
    /// from their run folders.
    Float { run: PathBuf },
}

/// One file's verdict, or why it has none.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    pub file: String,
    /// "normal" or "pneumonia" (a 3-class model: "normal", "bacterial" or "viral", its
    /// argmax); None when the file could not be classified.
    pub class: Option<String>,
    /// p(pneumonia) (a 3-class model: p(bacterial) + p(viral)).
    pub probability: Option<f64>,
    /// 3-class models: p(normal), p(bacterial), p(viral).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_probabilities: Option<[f64; 3]>,
    pub threshold: f64,
    /// A model imported from TFLite: the index of its most probable class (`class` is its
    /// label); `threshold` does not apply (NaN, `null` in JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub error: Option<String>,
}

/// What a model says of one image: p(pneumonia), and the three class probabilities of a
/// 3-class model.
struct Scores {
    pneumonia: f64,
    classes: Option<[f64; 3]>,
}

impl Scores {
    /// From a model's output probabilities: one sigmoid, or a softmax over three classes.
    fn from_probs(p: &[f32]) -> Result<Scores> {
        match *p {
            [p] => Ok(Scores { pneumonia: f64::from(p), classes: None }),
            [n, b, v] => Ok(Scores { pneumonia: f64::from(b + v), classes: Some([n, b, v].map(f64::from)) }),
            _ => anyhow::bail!("the model has {} outputs; 1 or 3 can be read", p.len()),
        }
    }
}

/// The scores of one image's 8-bit grey pixels.
type ScoreFn<'a> = Box<dyn FnMut(&[u8]) -> Result<Scores> + 'a>;

/// A loaded classifier of `side`×`side` images.
struct Classifier<'a> {
    side: u32,
    /// Applied to the decoded pixels, as the training and measured splits were.
    intensity: Intensity,
    threshold: f64,
    /// normal, pneumonia; or normal, bacterial, viral.
    classes: Vec<String>,
    score: ScoreFn<'a>,
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
            let run = move |px: &[u8]| -> Result<Scores> {
                let out = model.run_u8(px, &mut arena).map_err(|e| anyhow!("{e}"))?;
                match out.len() {
                    1 => Scores::from_probs(&[out.probability().context("the model has no output")?]),
                    _ => {
                        let mut p = [0f32; 3];
                        out.softmax(&mut p).context("the model has more than 3 outputs")?;
                        Scores::from_probs(&p)
                    }
                }
            };
            let side = u32::from(card.input.shape[0]);
            let classes = class_names(&card.classes);
            let intensity = card.split.intensity;
            let mut c =
                Classifier { side, intensity, threshold: card.threshold, classes, score: Box::new(run) };
            Ok(files.iter().map(|f| classify(&mut c, f)).collect())
        }
        Source::Float { run } => {
            let metrics = read_metrics(run)?;
            let cfg = &metrics.config;
            let net: Box<dyn NetClassifier> = if metrics.members.is_empty() {
                Box::new(load_run_model(run, Device::Cpu)?.1)
            } else {
                let members: Vec<PathBuf> = metrics.members.iter().map(PathBuf::from).collect();
                let e = load_ensemble(&members, metrics.views, Device::Cpu)
                    .with_context(|| format!("cannot rebuild the ensemble {}", run.display()))?;
                Box::new(e)
            };
            let (side, three) = (cfg.image_size, cfg.classes == 3);
            let prob = move |px: &[u8]| -> Result<Scores> {
                let t = Tensor::from_slice(px).view([1, 1, i64::from(side), i64::from(side)]);
                let logits = pixel_logits(&*net, &t, Device::Cpu);
                let p = if three { logits.softmax(0, Kind::Float) } else { logits.sigmoid() };
                Scores::from_probs(&Vec::<f32>::try_from(p)?)
            };
            let names = if three { CLASS_LABELS.to_vec() } else { vec!["normal", "pneumonia"] };
            let classes = class_names(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            let threshold = metrics.evaluation.threshold;
            let mut c =
                Classifier { side, intensity: cfg.intensity, threshold, classes, score: Box::new(prob) };
            Ok(files.iter().map(|f| classify(&mut c, f)).collect())
        }
    }
}

/// The card's class names, or normal / pneumonia when it lists fewer than two.
fn class_names(names: &[String]) -> Vec<String> {
    if names.len() >= 2 {
        names.to_vec()
    } else {
        vec!["normal".into(), "pneumonia".into()]
    }
}

fn classify(c: &mut Classifier<'_>, file: &Path) -> Prediction {
    let result = std::fs::read(file)
        .map_err(|e| anyhow!("cannot read the file: {e}"))
        .and_then(|bytes| decode_grey_square(&bytes, c.side).map_err(|e| anyhow!(e)))
        .and_then(|mut px| {
            let per = px.len();
            c.intensity.apply(&mut px, per);
            (c.score)(&px)
        });
    let file_name = file.display().to_string();
    match result {
        Ok(s) => {
            let index = match s.classes {
                Some(p) => argmax(&p),
                None => usize::from(s.pneumonia >= c.threshold),
            };
            Prediction {
                file: file_name,
                class: c.classes.get(index).cloned(),
                probability: Some(s.pneumonia),
                class_probabilities: s.classes,
                threshold: c.threshold,
                index: None,
                error: None,
            }
        }
        Err(e) => Prediction {
            file: file_name,
            class: None,
            probability: None,
            class_probabilities: None,
            threshold: c.threshold,
            index: None,
            error: Some(format!("{e:#}")),
        },
    }
}

/// One line per file: `file: CLASS p=0.9731 (threshold 0.45)` (an imported model:
/// `file: label #index p=0.8125`) or `file: error: why`.
pub fn print_lines(predictions: &[Prediction]) {
    for p in predictions {
        match (&p.class, p.probability, &p.error) {
            (Some(class), Some(prob), _) if p.index.is_some() => {
                println!("{}: {class} #{} p={prob:.4}", p.file, p.index.unwrap_or_default())
            }
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
