//! `trainer quantize`: a finished run → a calibrated int8 blob and its model card in
//! `models/`, as a sequence of named steps:
//!
//! export → check against tch → calibrate → (fine-tune toward float) → quantize →
//! bias-correct → validate (once) →
//! measure float and int8 on validation and test, with infer-core checked byte for byte
//! against the integer reference on both → only then write blob and card, each atomically.
//!
//! Any failed step returns an error before anything is written, so `models/` never holds a
//! blob that failed a check.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, ensure, Context, Result};
use infer_core::Model;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tch::Device;

use super::bias_correction::{correct_bias, correct_layer_biases, BiasCorrection};
use super::calibrate::{calibrate, Calibration, Range};
use super::card::{card_for, print_card, CardSources, Measured, ModelCard};
use super::equalize::{channel_absmax, equalize};
use super::evaluate::{class_agreement, label_agreement, run_engine, run_reference, to_predictions};
use super::float_exec::TchGraph;
use super::float_model::FloatModel;
use super::graph::FloatGraph;
use super::logit_gain::OutputCorrection;
use super::qat::{tune_toward_float, QatLog, QatOptions};
use super::quantize::{io_chain, QuantModel};
use crate::data::device::DeviceImages;
use crate::data::SplitData;
use crate::eval::Selection;
use crate::util::device::pick_device;
use crate::util::fs::write_atomic;

pub struct QuantizeOptions {
    pub run: PathBuf,
    /// Folder for `<name>.int8.postcard` and `<name>.json`.
    pub out_dir: PathBuf,
    /// Defaults to the run folder's name.
    pub name: Option<String>,
    pub calibration: Calibration,
    pub calibration_images: usize,
    /// Data folder, when not the one the run was trained on.
    pub data: Option<PathBuf>,
    pub cpu: bool,
    /// Which biases absorb the mean int8 − float error measured on the calibration images
    /// ([`super::bias_correction`]).
    pub bias_correction: BiasCorrection,
    /// Whether the final correction also undoes the int8 outputs' gain ([`super::logit_gain`]).
    pub output_correction: OutputCorrection,
    /// Equalize the linear streams' channel ranges at this strength (0–1) before calibrating
    /// ([`super::equalize`]); None: the graph as exported.
    pub equalize: Option<f64>,
    /// Quantization-aware fine-tuning toward the float model after calibration
    /// ([`super::qat`]); None: off.
    pub qat: Option<QatOptions>,
}

/// The int8 model's output bytes for one int8 input, as the integer reference computes them.
pub type ReferenceFn = dyn Fn(&Model<'_>, &[i8]) -> Result<Vec<i8>, String> + Sync;

/// Quantizes `opts.run` and writes blob and card; `command` is recorded in the card.
pub fn quantize_run(opts: &QuantizeOptions, command: &str) -> Result<ModelCard> {
    quantize_run_with(opts, command, &super::reference::run)
}

/// [`quantize_run`] against a given integer reference (tests inject a wrong one to prove
/// that a failed bit-exact check writes nothing).
pub fn quantize_run_with(
    opts: &QuantizeOptions,
    command: &str,
    reference: &ReferenceFn,
) -> Result<ModelCard> {
    let started = Instant::now();
    check_options(opts)?;
    let device = pick_device(opts.cpu);
    let float = FloatModel::load(&opts.run, device)?;
    let mut spec = float.config().split_spec();
    if let Some(d) = &opts.data {
        spec.data = d.clone();
    }
    let p = SplitData::load(&spec)?;

    let mut graph = float.export()?;
    let export_err = check_export(&float, &TchGraph::new(&graph, device), &p)?;
    let calibration = calibration_images(&p, float.config().seed, opts.calibration_images);
    let batches = || calibration.chunks(32).map(|c| DeviceImages::new(&p.data, c, Device::Cpu).pixels);
    if let Some(strength) = opts.equalize {
        let absmax = channel_absmax(&graph, &TchGraph::new(&graph, device), batches());
        let n = equalize(&mut graph, &absmax, strength);
        eprintln!("equalized the channel ranges of {n} linear streams (strength {strength})");
    }
    let tg = TchGraph::new(&graph, device);
    eprintln!("calibrating {:?} on {} training images", opts.calibration, calibration.len());
    let ranges = calibrate(&graph, &tg, batches(), opts.calibration);
    let (tuned, qat) = match opts.qat {
        Some(q) => {
            let (tuned, log) = fine_tune(&graph, &ranges, &tg, &p, float.config().seed, q, device)?;
            (tuned, Some(log))
        }
        None => (graph.clone(), None),
    };
    // Bias correction below measures against the float model (`tg`), not the tuned graph.
    let mut qm = QuantModel::new(tuned, &ranges)?;
    if opts.bias_correction == BiasCorrection::Layers {
        let pixels = DeviceImages::new(&p.data, &calibration, Device::Cpu).pixels.to_device(device);
        let largest = correct_layer_biases(&mut qm, &tg, &pixels)?;
        let top = largest.iter().fold(0f32, |m, &s| m.max(s));
        eprintln!("per-layer bias correction: largest shift {top:.2} output steps");
    }
    let fix = match opts.bias_correction {
        BiasCorrection::None => None,
        _ => Some(correct_bias(&mut qm, &tg, &p, &calibration, opts.output_correction)?),
    };
    let blob = qm.blob()?;
    let model = Model::from_bytes(&blob).map_err(|e| anyhow!("{e}"))?;
    let measured = measure(&float, &model, &p, device, reference)?;

    let name = output_name(opts);
    let card = card_for(&CardSources {
        name: &name,
        float: &float,
        graph: &graph,
        model: &model,
        blob: &blob,
        p: &p,
        opts,
        calibration_images: calibration.len(),
        fix,
        qat,
        export_err,
        measured: &measured,
        command,
        seconds: started.elapsed().as_secs_f64(),
    });
    write_outputs(&opts.out_dir, &name, &blob, &card)?;
    print_card(&card);
    Ok(card)
}

fn check_options(opts: &QuantizeOptions) -> Result<()> {
    ensure!(
        opts.equalize.is_none_or(|s| (0.0..=1.0).contains(&s)),
        "--equalize takes a strength in [0, 1], got {:?}",
        opts.equalize
    );
    ensure!(opts.calibration_images > 0, "--calibration-images must be at least 1");
    if let Some(q) = opts.qat {
        ensure!(q.lr > 0.0 && q.lr.is_finite(), "--qat-lr must be a positive number, got {}", q.lr);
        ensure!(q.batch > 0, "the QAT batch must be at least 1");
    }
    if let Calibration::Percentile(p) = opts.calibration {
        ensure!(p > 50.0 && p <= 100.0, "--percentile must be in (50, 100], got {p}");
    }
    Ok(())
}

fn output_name(opts: &QuantizeOptions) -> String {
    opts.name.clone().unwrap_or_else(|| {
        opts.run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
    })
}

/// The exported graph reproduces the tch model on (up to 64) validation images; returns the
/// largest |logit| difference.
fn check_export(float: &FloatModel, tg: &TchGraph<'_>, p: &SplitData) -> Result<f64> {
    let check: Vec<usize> = p.split.val.iter().copied().take(64).collect();
    let px = DeviceImages::new(&p.data, &check, Device::Cpu).pixels;
    let graph_logits = tg.run(&tg.input_from_pixels(&px), |_, _| ()).flatten(0, -1);
    let err = (graph_logits - float.logits(&px)).abs().max().double_value(&[]);
    eprintln!("export check: max |logit difference| float graph vs tch model = {err:.2e}");
    ensure!(err < 0.05, "the exported graph does not reproduce the model (max logit error {err})");
    Ok(err)
}

/// A seeded random sample of at most all the training images, each once (never validation
/// or test).
fn calibration_images(p: &SplitData, seed: u64, n: usize) -> Vec<usize> {
    training_sample(p, seed, n.min(p.split.train.len()))
}

/// [`tune_toward_float`] on the training split: the tuned graph and its log.
fn fine_tune(
    graph: &FloatGraph,
    ranges: &[Option<Range>],
    tg: &TchGraph<'_>,
    p: &SplitData,
    seed: u64,
    q: QatOptions,
    device: Device,
) -> Result<(FloatGraph, QatLog)> {
    let outputs = io_chain(graph, ranges)?.iter().map(|io| io.output).collect();
    let images = tuning_images(p, seed, q.steps * q.batch);
    let batches = images.chunks(q.batch).map(|c| DeviceImages::new(&p.data, c, Device::Cpu).pixels);
    eprintln!("fine-tuning the int8 simulation toward the float model: {} steps of {}", q.steps, q.batch);
    let (tuned, log) = tune_toward_float(graph, outputs, tg, batches, q, device)?;
    eprintln!(
        "QAT: mean squared logit error {:.4} (first tenth) → {:.4} (last)",
        log.first_loss, log.last_loss
    );
    Ok((tuned, log))
}

/// `n` training images for fine-tuning, drawn apart from the calibration sample (seed + 1).
fn tuning_images(p: &SplitData, seed: u64, n: usize) -> Vec<usize> {
    training_sample(p, seed.wrapping_add(1), n)
}

/// `n` training images: the training split shuffled by a generator seeded with `seed`, and
/// shuffled again and appended as often as `n` needs.
fn training_sample(p: &SplitData, seed: u64, n: usize) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    while out.len() < n && !p.split.train.is_empty() {
        let mut epoch = p.split.train.clone();
        epoch.shuffle(&mut rng);
        out.extend(epoch.into_iter().take(n - out.len()));
    }
    out
}

/// Float and int8 on validation (thresholds) and test (measured once); fails unless
/// infer-core equals the integer reference on every validation and test image.
fn measure(
    float: &FloatModel,
    model: &Model<'_>,
    p: &SplitData,
    device: Device,
    reference: &ReferenceFn,
) -> Result<Measured> {
    let rule = float.config().threshold_rule;
    let float_val = float.predict(&float.images(&p.data, &p.split.val, device));
    let float_selection = Selection::freeze(float_val.clone(), rule);
    let (val, test): (&[usize], &[usize]) = (&p.split.val, p.split.test(&float_selection.frozen()));
    let float_test = float.predict(&float.images(&p.data, test, device));
    let float_report = float_selection.report(&float_test);
    eprintln!("running infer-core and the integer reference on {} + {} images", val.len(), test.len());
    let val_out = run_engine(model, &p.data, val)?;
    let test_out = run_engine(model, &p.data, test)?;
    for (split, indices, out) in [("validation", val, &val_out), ("test", test, &test_out)] {
        let reference_out = run_reference(model, &p.data, indices, reference)?;
        let differ = out.iter().zip(&reference_out).filter(|(a, b)| a != b).count();
        ensure!(
            differ == 0,
            "infer-core and the integer reference disagree on {differ} of {} {split} images: nothing written",
            indices.len()
        );
    }
    let int8_test = to_predictions(model, &test_out, &p.data, test);
    let int8_val = to_predictions(model, &val_out, &p.data, val);
    let t = float_selection.threshold();
    let validation_agreement = label_agreement(&float_val, t, &int8_val, t);
    // The int8 model is the float model made integer: it keeps the float model's frozen
    // threshold rather than making a second, noisier choice on the same validation images.
    let int8_own_threshold = Selection::freeze(int8_val.clone(), rule).threshold();
    let int8_report = Selection::recorded(t, rule, int8_val).report(&int8_test);
    let agreement = label_agreement(&float_test, float_report.threshold, &int8_test, int8_report.threshold);
    let class_agreement = class_agreement(&float_test, &int8_test);
    Ok(Measured {
        float_report,
        int8_report,
        int8_own_threshold,
        int8_test,
        agreement,
        validation_agreement,
        class_agreement,
        bit_exact: test.len(),
    })
}

/// Blob, then card, each written atomically once every check has passed.
fn write_outputs(dir: &Path, name: &str, blob: &[u8], card: &ModelCard) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let blob_path = dir.join(&card.blob);
    let card_path = dir.join(format!("{name}.json"));
    write_atomic(&blob_path, blob)?;
    write_atomic(&card_path, &serde_json::to_vec_pretty(card)?)?;
    println!("wrote {} and {}", blob_path.display(), card_path.display());
    Ok(())
}
