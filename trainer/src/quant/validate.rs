//! `trainer validate-int8`: a blob over its card's whole test split with infer-core, the
//! integer reference and (when its run folder is present) the float model.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use infer_core::Model;

use super::card::{card_path_for, read_card};
use super::evaluate::{class_agreement, label_agreement, run_engine, run_reference, to_predictions};
use super::float_model::FloatModel;
use super::reference;
use crate::data::SplitData;
use crate::eval::metrics::{at_threshold, roc_auc};
use crate::eval::predict::Predictions;
use crate::eval::{fmt_auc, Selection};
use crate::util::device::pick_device;
use crate::util::hash::sha256_hex;

pub struct ValidateOptions {
    pub blob: PathBuf,
    /// Defaults to the blob's path with `.json` for `.int8.postcard`.
    pub card: Option<PathBuf>,
    /// The float run; defaults to the card's `source_run` when that folder exists.
    pub run: Option<PathBuf>,
    pub data: PathBuf,
    pub cache_dir: PathBuf,
    pub cpu: bool,
}

/// What validate-int8 measured (also printed).
#[derive(Debug, Clone)]
pub struct Validation {
    pub images: usize,
    pub bit_exact: usize,
    pub int8_accuracy: f64,
    pub int8_auc: Option<f64>,
    pub float_accuracy: Option<f64>,
    pub label_agreement: Option<f64>,
}

fn line(name: &str, p: &Predictions, threshold: f64) -> f64 {
    let m = at_threshold(&p.probs, &p.labels, threshold);
    let auc = fmt_auc(roc_auc(&p.probs, &p.labels));
    println!(
        "{name:<17} accuracy {:.2}%  F1 {:.3}  AUC {auc}  (threshold {threshold:.2})",
        100.0 * m.accuracy,
        m.f1
    );
    m.accuracy
}

pub fn validate_int8(opts: &ValidateOptions) -> Result<Validation> {
    let started = Instant::now();
    let blob = std::fs::read(&opts.blob).with_context(|| format!("cannot read {}", opts.blob.display()))?;
    let model = Model::from_bytes(&blob)
        .map_err(|e| anyhow::anyhow!("{} is not a valid blob: {e}", opts.blob.display()))?;
    let card_path = opts.card.clone().unwrap_or_else(|| card_path_for(&opts.blob));
    let card = read_card(&card_path)?;
    if sha256_hex(&blob) != card.sha256 {
        eprintln!("warning: {} does not match the sha256 in {}", opts.blob.display(), card_path.display());
    }
    let p = SplitData::load(&card.split.spec(opts.data.clone(), opts.cache_dir.clone()))?;
    // The card's threshold was frozen on validation when the blob was made.
    let frozen = Selection::recorded(card.threshold, Default::default(), Predictions::default());
    let test = p.split.test(&frozen.frozen());
    println!(
        "{}: {} test images ({:?} protocol), blob {} bytes, arena {} bytes",
        card.name,
        test.len(),
        card.split.protocol,
        blob.len(),
        model.arena_len()
    );

    let engine = run_engine(&model, &p.data, test)?;
    let reference = run_reference(&model, &p.data, test, &reference::run)?;
    let bit_exact = engine.iter().zip(&reference).filter(|(a, b)| a == b).count();
    let int8 = to_predictions(&model, &engine, &p.data, test);
    let int8_accuracy = line("int8 infer-core", &int8, card.threshold);
    line("int8 reference", &to_predictions(&model, &reference, &p.data, test), card.threshold);

    let run = opts
        .run
        .clone()
        .or_else(|| Some(PathBuf::from(&card.source_run)).filter(|r| r.join("model.safetensors").exists()));
    let (float_accuracy, label_agreement) = match run {
        Some(run) => {
            let device = pick_device(opts.cpu);
            let float = FloatModel::load(&run, device)?;
            let f = float.predict(&float.images(&p.data, test, device));
            let acc = line("float (tch)", &f, card.float_threshold);
            if let Some(a) = class_agreement(&f, &int8) {
                println!("3 classes: float and int8 give the same class on {:.2}% of test images", 100.0 * a);
            }
            (Some(acc), Some(label_agreement(&f, card.float_threshold, &int8, card.threshold)))
        }
        None => {
            println!("float (tch)       skipped: no run folder (pass --run runs/<name>)");
            (None, None)
        }
    };
    if let (Some(f), Some(a)) = (float_accuracy, label_agreement) {
        println!(
            "int8 - float: {:+.2} points; same label on {:.2}% of test images",
            100.0 * (int8_accuracy - f),
            100.0 * a
        );
    }
    println!(
        "infer-core = integer reference (all output bytes) on {bit_exact}/{} images; {:.1}s",
        test.len(),
        started.elapsed().as_secs_f64()
    );
    if bit_exact != test.len() {
        bail!(
            "infer-core and the integer reference differ on {} of {} images",
            test.len() - bit_exact,
            test.len()
        );
    }
    Ok(Validation {
        images: test.len(),
        bit_exact,
        int8_accuracy,
        int8_auc: roc_auc(&int8.probs, &int8.labels),
        float_accuracy,
        label_agreement,
    })
}
