//! `trainer train`: data → model → fit → measure → `runs/<name>/` (metrics.json, history.csv,
//! model.safetensors, checkpoints, plots).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tch::nn::VarStore;
use tch::Device;

use super::metrics_file::{DataSummary, MetricsFile, Provenance, TrainingSummary};
use super::milestones::{measure_pending, recorder, Milestone, Pending};
use super::{plot_files, predictions_file, RunDir};
use crate::data::device::{DeviceFeatures, DeviceImages, Samples};
use crate::data::{Dataset, Split, SplitData};
use crate::eval::predict::Predictions;
use crate::eval::{measure_test, print_report, select, val_score, EvalReport, Selection};
use crate::models::mobilenet_v2::Config;
use crate::models::transfer::features::{self, FeatureExtraction};
use crate::models::transfer::HeadKind;
use crate::models::{Classifier, FeatureHead, SeedCnn, TransferModel};
use crate::train::config::{ModelKind, TransferMode};
use crate::train::{checkpoint, fit, FitOutcome, TrainConfig};
use crate::util::device::{device_name, pick_device};
use crate::util::fs::write_atomic;

/// What training a model produced, before metrics.json is assembled.
struct Trained {
    outcome: FitOutcome,
    measured: Measured,
    parameters: i64,
    trainable_parameters: i64,
    features: Option<FeatureExtraction>,
}

/// Trains the model `cfg` names and writes `runs/<name>/`. Returns the metrics written.
pub fn train_run(cfg: &TrainConfig, command: &str) -> Result<MetricsFile> {
    cfg.validate()?;
    let wall = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if cfg.model == ModelKind::MobilenetV2 {
        // A missing or wrong weights file stops the run before the images are decoded.
        check_weights(cfg)?;
    }
    // Data first: bad input stops the run before an empty run folder is made.
    let p = SplitData::load(&cfg.split_spec())?;
    let run = RunDir::new(cfg.runs_dir.join(cfg.run_name()));
    std::fs::create_dir_all(run.path()).with_context(|| format!("cannot create {}", run.path().display()))?;
    let device = pick_device(cfg.cpu);
    eprintln!(
        "training on {} ({} CPU threads) → {}",
        device_name(device),
        tch::get_num_threads(),
        run.path().display()
    );

    tch::manual_seed(cfg.seed as i64);
    let mut vs = VarStore::new(device);
    let mut order = Vec::new();
    let t = match cfg.model {
        ModelKind::SeedCnn => train_seed_cnn(&mut vs, &p, cfg, &run, (device, &mut order))?,
        ModelKind::MobilenetV2 => train_transfer(&mut vs, &p, cfg, &run, (device, &mut order))?,
    };
    let m = t.measured;
    predictions_file::write(&run.test_predictions(), &p.data, &m.indices, &m.predictions)?;
    let metrics = MetricsFile {
        model: model_label(cfg.model).into(),
        parameters: t.parameters,
        trainable_parameters: Some(t.trainable_parameters),
        config: cfg.clone(),
        data: data_summary(cfg, &p.data),
        split: p.split.summary.clone(),
        training: Some(TrainingSummary::from(&t.outcome)),
        features: t.features,
        evaluation: m.report,
        milestones: m.milestones,
        protocol_order: order,
        members: Vec::new(),
        views: Default::default(),
        provenance: Provenance::now(device, command, started_unix, wall),
    };
    write_atomic(&run.metrics(), &serde_json::to_vec_pretty(&metrics)?)?;
    // Plots come after the metrics are safe on disk: a drawing failure loses nothing.
    let title = cfg.run_name();
    plot_files::write_curves(&t.outcome.history, &title, &run);
    plot_files::write_pr_plot(&metrics.evaluation, &title, &run);
    print_report(&metrics.evaluation, run.path());
    Ok(metrics)
}

fn model_label(m: ModelKind) -> &'static str {
    match m {
        ModelKind::SeedCnn => "seed_cnn",
        ModelKind::MobilenetV2 => "mobilenet_v2",
    }
}

fn train_seed_cnn(
    vs: &mut VarStore,
    p: &SplitData,
    cfg: &TrainConfig,
    run: &RunDir,
    (device, order): (Device, &mut Vec<String>),
) -> Result<Trained> {
    let net = SeedCnn::new(&vs.root(), cfg.image_size as i64, cfg.outputs());
    let images = |indices: &[usize]| DeviceImages::with_classes(&p.data, indices, device, cfg.classes);
    let train = images(&p.split.train);
    let val = images(&p.split.val);
    let (outcome, selection, pending) = fit_and_select(&net, vs, (&train, &val), cfg, run, order)?;
    // The training images leave the device before the test images arrive.
    drop(train);
    let measured =
        measure_after_selection(&net, vs, &selection, pending, (cfg, run, order), (&p.split, images))?;
    let parameters = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    Ok(Trained { outcome, measured, parameters, trainable_parameters: parameters, features: None })
}

/// Trains `net` on `train`, validating after every epoch (and freezing each milestone
/// epoch's selection), then freezes the final selection on `val`. No test image exists yet.
fn fit_and_select(
    net: &dyn Classifier,
    vs: &mut VarStore,
    (train, val): (&dyn Samples, &dyn Samples),
    cfg: &TrainConfig,
    run: &RunDir,
    order: &mut Vec<String>,
) -> Result<(FitOutcome, Selection, Vec<Pending>)> {
    let batch = cfg.eval_batch_size();
    order.push(format!("loaded {} training and {} validation images", train.len(), val.len()));
    let mut pending = Vec::new();
    let on_epoch = recorder(run, &cfg.eval_epochs, val, (batch, cfg.threshold_rule), &mut pending);
    let outcome = fit(net, vs, train, |n| val_score(n, val, batch), cfg, run.path(), on_epoch)?;
    order.push(format!(
        "trained {} epochs (validation loss each epoch{})",
        outcome.history.len(),
        if outcome.restored_best { ", best epoch restored" } else { "" }
    ));
    if !pending.is_empty() {
        let epochs: Vec<String> = pending.iter().map(|m| m.epoch.to_string()).collect();
        order.push(format!("milestone selections frozen on validation at epochs {}", epochs.join(", ")));
    }
    let selection = select(net, val, batch, cfg.threshold_rule);
    order.push(format!(
        "selection frozen on validation: threshold {:.2} ({})",
        selection.threshold(),
        selection.rule().name()
    ));
    Ok((outcome, selection, pending))
}

/// The test measurement of a run.
struct Measured {
    report: EvalReport,
    /// The final model on every test image, in `indices` order.
    predictions: Predictions,
    milestones: Vec<Milestone>,
    /// The test images, opened after the selection was frozen.
    indices: Vec<usize>,
}

/// Opens the test split with the frozen `selection`, measures the final model and then
/// every pending milestone. `load` builds a split's samples from its indices.
fn measure_after_selection<S: Samples>(
    net: &dyn Classifier,
    vs: &mut VarStore,
    selection: &Selection,
    pending: Vec<Pending>,
    (cfg, run, order): (&TrainConfig, &RunDir, &mut Vec<String>),
    (split, load): (&Split, impl Fn(&[usize]) -> S),
) -> Result<Measured> {
    let batch = cfg.eval_batch_size();
    // The final weights are kept first: measuring the milestones swaps weights in and out.
    checkpoint::save_atomic(vs, &run.model())?;
    let indices = split.test(&selection.frozen());
    let test = load(indices);
    order.push(format!("loaded {} test images", test.len()));
    let (report, predictions) = measure_test(net, selection, &test, batch);
    let milestones = measure_pending(pending, (net, vs), &test, batch, &run.model())?;
    order.push(format!("measured test: the final model and {} milestones", milestones.len()));
    Ok(Measured { report, predictions, milestones, indices: indices.to_vec() })
}

/// The weights file exists, is a MobileNetV2 and has the configured width.
fn check_weights(cfg: &TrainConfig) -> Result<()> {
    let weights = cfg.weights_path()?;
    let detected = Config::detect(&weights)?;
    anyhow::ensure!(
        detected.width == cfg.width,
        "weights file {} holds a width-{} MobileNetV2, but the run asks for width {} (--width)",
        weights.display(),
        detected.width,
        cfg.width
    );
    Ok(())
}

/// MobileNetV2 + head. Frozen: the head trains on cached pooled features. Fine-tune: the top
/// `cfg.trainable_blocks` features of the base train too, at `lr × base_lr_factor`.
fn train_transfer(
    vs: &mut VarStore,
    p: &SplitData,
    cfg: &TrainConfig,
    run: &RunDir,
    (device, order): (Device, &mut Vec<String>),
) -> Result<Trained> {
    let weights = cfg.weights_path()?;
    let head = (cfg.head, cfg.head_dropout, cfg.outputs());
    let mut model = TransferModel::pretrained(&vs.root(), &weights, head, cfg.image_size as i64)?;
    let ctx = (cfg, run, &mut *order);
    let (outcome, measured, features) = match cfg.mode {
        TransferMode::Frozen => {
            model.base.set_trainable_blocks(0);
            // The frozen base's features of every image, labels unseen: computing them
            // chooses nothing, and the test rows are only taken after the selection.
            let (all, extraction) = features::load_or_extract(
                &p.data,
                &model.base,
                &weights,
                (&cfg.cache_dir, cfg.head == HeadKind::Seed),
                device,
                cfg.eval_batch_size(),
            )?;
            ctx.2.push(format!("base features of all {} images (no labels used)", p.data.records.len()));
            // head(features) equals the full model's forward.
            let head = FeatureHead(&model);
            let rows = |ix: &[usize]| DeviceFeatures::new(&all, &p.data, ix, cfg.classes);
            let (train, val) = (rows(&p.split.train), rows(&p.split.val));
            let (outcome, selection, pending) = fit_and_select(&head, vs, (&train, &val), cfg, run, ctx.2)?;
            let measured = measure_after_selection(&head, vs, &selection, pending, ctx, (&p.split, rows))?;
            (outcome, measured, Some(extraction))
        }
        TransferMode::Finetune => {
            model.base.set_trainable_blocks(cfg.trainable_blocks);
            let images = |ix: &[usize]| DeviceImages::with_classes(&p.data, ix, device, cfg.classes);
            let (train, val) = (images(&p.split.train), images(&p.split.val));
            let (outcome, selection, pending) = fit_and_select(&model, vs, (&train, &val), cfg, run, ctx.2)?;
            drop(train);
            let measured = measure_after_selection(&model, vs, &selection, pending, ctx, (&p.split, images))?;
            (outcome, measured, None)
        }
    };
    let (parameters, trainable_parameters) = model.parameter_counts();
    Ok(Trained { outcome, measured, parameters, trainable_parameters, features })
}

pub(super) fn data_summary(cfg: &TrainConfig, d: &Dataset) -> DataSummary {
    DataSummary {
        root: cfg.data.display().to_string(),
        usable_images: d.records.len(),
        skipped_count: d.skipped.len(),
        skipped: d.skipped.clone(),
    }
}
