//! `trainer quantize`: a finished run → calibrated int8 blob + model card in `models/`, with
//! float and int8 measured on the run's own validation and test splits.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use infer_core::Model;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::load::{load_run_model, read_metrics, RunModel};
use super::metrics_file::{git_commit, MetricsFile};
use super::pipeline::{pick_device, prepare, Prepared};
use crate::data::cache::write_atomic;
use crate::data::device::DeviceImages;
use crate::eval::predict::{predict, Predictions};
use crate::eval::{at_threshold, evaluate, EvalReport};
use crate::models::Classifier;
use crate::quant::calibrate::{calibrate, Calibration};
use crate::quant::card::{CardInput, CardOutput, CardScores, CardSplit, ModelCard};
use crate::quant::evaluate::{label_agreement, run_engine, run_reference, to_predictions};
use crate::quant::export;
use crate::quant::float_exec::TchGraph;
use crate::quant::graph::{FloatGraph, FloatLayer};
use crate::quant::quantize::QuantModel;
use crate::train::TrainConfig;

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
    /// Remove the mean int8 − float error of the final logits, measured on the calibration
    /// images, from the last layer's bias.
    pub bias_correction: bool,
}

/// A trained float model rebuilt from its run folder.
pub struct FloatModel {
    pub vs: VarStore,
    pub net: RunModel,
    pub metrics: MetricsFile,
}

impl FloatModel {
    pub fn load(run_dir: &Path, device: Device) -> Result<FloatModel> {
        let metrics = read_metrics(run_dir)?;
        let (vs, net, _) = load_run_model(run_dir, device)?;
        Ok(FloatModel { vs, net, metrics })
    }

    pub fn config(&self) -> &TrainConfig {
        &self.metrics.config
    }

    pub fn export(&self) -> Result<FloatGraph> {
        match &self.net {
            RunModel::SeedCnn(m) => export::seed_cnn(m),
            RunModel::Transfer(m) => export::mobilenet_v2(&m.base, &m.head, m.image_size),
        }
    }

    pub fn predict(&self, images: &DeviceImages) -> Predictions {
        predict(&self.net, images, self.config().eval_batch_size())
    }

    /// Float logits `[N]` for 8-bit pixels `[N, 1, H, W]`.
    pub fn logits(&self, pixels: &Tensor) -> Tensor {
        let x = pixels.to_device(self.vs.device()).to_kind(tch::Kind::Float) / 255.0;
        tch::no_grad(|| self.net.forward_t(&x, false)).flatten(0, -1)
    }
}

/// Mean of (dequantized int8 − float) per output over a set of images.
fn mean_logit_error(model: &Model<'_>, int8: &[Vec<i8>], float: &[Vec<f32>]) -> Vec<f32> {
    let q = model.output_spec().quant;
    let outputs = float.first().map_or(0, Vec::len);
    (0..outputs)
        .map(|j| {
            let sum: f64 = int8
                .iter()
                .zip(float)
                .map(|(i, f)| {
                    f64::from(i32::from(i[j]) - i32::from(q.zero_point)) * f64::from(q.scale)
                        - f64::from(f[j])
                })
                .sum();
            (sum / int8.len().max(1) as f64) as f32
        })
        .collect()
}

/// Empirical bias correction of the final layer: per-tensor rounding errors upstream are
/// small but not zero-mean, and a 1,280-input dense layer adds them up into a systematic
/// logit shift (MobileNetV2-0.35: about +1.6 logits, enough to move the best threshold).
/// Subtracting the shift measured on calibration (training) images removes it.
fn correct_last_bias(graph: &mut FloatGraph, shift: &[f32]) -> Result<()> {
    match graph.layers.last_mut() {
        Some(FloatLayer::Dense { bias, .. }) | Some(FloatLayer::Conv { bias, .. }) => {
            ensure!(bias.len() == shift.len(), "one correction per output");
            bias.iter_mut().zip(shift).for_each(|(b, s)| *b -= s);
            Ok(())
        }
        _ => anyhow::bail!("bias correction needs a dense or conv last layer"),
    }
}

/// `[n, 1, s, s]` u8 pixels of `indices` (on the CPU; the graph moves them).
fn pixel_batch(p: &Prepared, indices: &[usize]) -> Tensor {
    DeviceImages::new(&p.data, indices, Device::Cpu).pixels
}

fn scores(r: &EvalReport) -> (CardScores, CardScores) {
    let s = |e: &crate::eval::SplitEval| CardScores {
        accuracy: e.at_chosen_threshold.accuracy,
        f1: e.at_chosen_threshold.f1,
        auc: e.roc_auc,
    };
    (s(&r.validation), s(&r.test))
}

pub fn quantize_run(opts: &QuantizeOptions, command: &str) -> Result<ModelCard> {
    let started = Instant::now();
    ensure!(opts.calibration_images > 0, "--calibration-images must be at least 1");
    if let Calibration::Percentile(p) = opts.calibration {
        ensure!(p > 50.0 && p <= 100.0, "--percentile must be in (50, 100], got {p}");
    }
    let device = pick_device(opts.cpu);
    let float = FloatModel::load(&opts.run, device)?;
    let mut cfg = float.config().clone();
    if let Some(d) = &opts.data {
        cfg.data = d.clone();
    }
    let p = prepare(&cfg)?;
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => {
            opts.run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| cfg.run_name())
        }
    };

    // Export, then check the export against the tch model on validation images.
    let mut graph = float.export()?;
    let tg = TchGraph::new(&graph, device);
    let check: Vec<usize> = p.split.val.iter().copied().take(64).collect();
    let px = pixel_batch(&p, &check);
    let graph_logits = tg.run(&tg.input_from_pixels(&px), |_, _| ()).flatten(0, -1);
    let export_err = (graph_logits - float.logits(&px)).abs().max().double_value(&[]);
    eprintln!("export check: max |logit difference| float graph vs tch model = {export_err:.2e}");
    ensure!(
        export_err < 0.05,
        "the exported graph does not reproduce the model (max logit error {export_err})"
    );

    // Calibrate on training images only.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut pool = p.split.train.clone();
    pool.shuffle(&mut rng);
    pool.truncate(opts.calibration_images);
    eprintln!("calibrating {:?} on {} training images", opts.calibration, pool.len());
    let ranges = calibrate(&graph, &tg, pool.chunks(32).map(|c| pixel_batch(&p, c)), opts.calibration);
    let mut blob = QuantModel::new(&graph, &ranges)?.blob()?;
    let mut logit_correction = None;
    if opts.bias_correction {
        let float_logits: Vec<Vec<f32>> = pool
            .chunks(32)
            .flat_map(|c| {
                let out = tg.run(&tg.input_from_pixels(&pixel_batch(&p, c)), |_, _| ()).flatten(1, -1);
                Vec::<Vec<f32>>::try_from(out.to_device(Device::Cpu)).expect("float logits")
            })
            .collect();
        let model = Model::from_bytes(&blob).map_err(|e| anyhow::anyhow!("{e}"))?;
        let int8 = run_engine(&model, &p.data, &pool)?;
        let shift = mean_logit_error(&model, &int8, &float_logits);
        eprintln!("bias correction: mean int8 - float logit on the calibration images {shift:?}, removed");
        correct_last_bias(&mut graph, &shift)?;
        blob = QuantModel::new(&graph, &ranges)?.blob()?;
        logit_correction = Some(shift);
    }
    let model = Model::from_bytes(&blob).map_err(|e| anyhow::anyhow!("{e}"))?;

    // Float and int8 on validation (threshold) and test (measured once).
    let val_images = DeviceImages::new(&p.data, &p.split.val, device);
    let test_images = DeviceImages::new(&p.data, &p.split.test, device);
    let float_test = float.predict(&test_images);
    let float_report = evaluate(&float.predict(&val_images), &float_test);
    eprintln!(
        "running infer-core and the integer reference on {} + {} images",
        p.split.val.len(),
        p.split.test.len()
    );
    let val_out = run_engine(&model, &p.data, &p.split.val)?;
    let test_out = run_engine(&model, &p.data, &p.split.test)?;
    let test_ref = run_reference(&model, &p.data, &p.split.test);
    let bit_exact = test_out.iter().zip(&test_ref).filter(|(a, b)| a == b).count();
    let int8_test = to_predictions(&model, &test_out, &p.data, &p.split.test);
    let int8_report = evaluate(&to_predictions(&model, &val_out, &p.data, &p.split.val), &int8_test);
    let agree = label_agreement(&float_test, float_report.threshold, &int8_test, int8_report.threshold);

    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("cannot create {}", opts.out_dir.display()))?;
    let blob_path = opts.out_dir.join(format!("{name}.int8.postcard"));
    write_atomic(&blob_path, &blob)?;
    let (float_val, float_t) = scores(&float_report);
    let (int8_val, int8_t) = scores(&int8_report);
    let spec = model.input_spec();
    let out = model.output_spec();
    let card = ModelCard {
        name: name.clone(),
        model: float.metrics.model.clone(),
        classes: graph.classes.clone(),
        input: CardInput {
            shape: [spec.shape.h, spec.shape.w, spec.shape.c],
            preprocessing: format!(
                "decode to 8-bit grey, resize (squash) to {}x{} with a triangle filter, q = pixel - 128",
                spec.shape.w, spec.shape.h
            ),
            scale: spec.quant.scale,
            zero_point: spec.quant.zero_point,
            float_normalisation: graph.float_input.into(),
        },
        output: CardOutput {
            scale: out.quant.scale,
            zero_point: out.quant.zero_point,
            meaning: "p(pneumonia) = sigmoid((q - zero_point) * scale)".into(),
        },
        threshold: int8_report.threshold,
        float_threshold: float_report.threshold,
        protocol: cfg.protocol,
        split: CardSplit {
            protocol: cfg.protocol,
            seed: cfg.seed,
            val_fraction: cfg.val_fraction,
            image_size: cfg.image_size,
            validation_images: p.split.val.len(),
            test_images: p.split.test.len(),
        },
        calibration: opts.calibration,
        calibration_images: pool.len(),
        logit_bias_correction: logit_correction,
        float_test_accuracy: float_t.accuracy,
        int8_test_accuracy: int8_t.accuracy,
        float_test_auc: float_t.auc,
        int8_test_auc: int8_t.auc,
        float_validation: float_val,
        int8_validation: int8_val,
        float_test: float_t,
        int8_test: int8_t,
        int8_test_accuracy_at_float_threshold: at_threshold(
            &int8_test.probs,
            &int8_test.labels,
            float_report.threshold,
        )
        .accuracy,
        test_label_agreement: agree,
        test_bit_exact: bit_exact,
        export_max_logit_error: export_err,
        blob: blob_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        blob_bytes: blob.len(),
        arena_bytes: model.arena_len(),
        macs: model.macs(),
        layers: model.layer_count(),
        format_version: format!("{:#06x}", infer_core::FORMAT_VERSION),
        sha256: Sha256::digest(&blob).iter().map(|b| format!("{b:02x}")).collect(),
        source_run: opts.run.display().to_string(),
        command: command.into(),
        git_commit: git_commit(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let card_path = opts.out_dir.join(format!("{name}.json"));
    write_atomic(&card_path, &serde_json::to_vec_pretty(&card)?)?;
    print_card(&card);
    println!("wrote {} and {}", blob_path.display(), card_path.display());
    ensure!(
        bit_exact == p.split.test.len(),
        "infer-core and the integer reference disagree on {} test images",
        p.split.test.len() - bit_exact
    );
    Ok(card)
}

pub fn print_card(c: &ModelCard) {
    let auc = |a: Option<f64>| a.map(|a| format!("{a:.4}")).unwrap_or_else(|| "n/a".into());
    println!(
        "{}: blob {} bytes, arena {} bytes, {:.1} M MAC/image, {} layers",
        c.name,
        c.blob_bytes,
        c.arena_bytes,
        c.macs as f64 / 1e6,
        c.layers
    );
    println!(
        "test ({} images, {:?}): float accuracy {:.2}% AUC {} (threshold {:.2}) | int8 accuracy {:.2}% AUC {} (threshold {:.2})",
        c.split.test_images,
        c.protocol,
        100.0 * c.float_test_accuracy,
        auc(c.float_test_auc),
        c.float_threshold,
        100.0 * c.int8_test_accuracy,
        auc(c.int8_test_auc),
        c.threshold
    );
    println!(
        "int8 - float: {:+.2} points ({:+.2} at the float threshold); same label on {:.2}% of test images; \
         infer-core = reference on {}/{}",
        100.0 * (c.int8_test_accuracy - c.float_test_accuracy),
        100.0 * (c.int8_test_accuracy_at_float_threshold - c.float_test_accuracy),
        100.0 * c.test_label_agreement,
        c.test_bit_exact,
        c.split.test_images
    );
}
