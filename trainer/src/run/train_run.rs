//! `trainer train`: data → model → fit → measure → `runs/<name>/` (metrics.json, history.csv,
//! model.safetensors, checkpoints, plots).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tch::nn::VarStore;
use tch::Device;

use super::metrics_file::{DataSummary, MetricsFile, Provenance, TrainingSummary};
use super::milestones::{recorder, Milestone};
use super::{plot_files, predictions_file, RunDir};
use crate::data::device::{DeviceFeatures, DeviceImages};
use crate::data::{Dataset, SplitData};
use crate::eval::predict::Predictions;
use crate::eval::{measure, print_report, val_score, EvalReport};
use crate::models::mobilenet_v2::Config;
use crate::models::transfer::features::{self, FeatureExtraction};
use crate::models::transfer::HeadKind;
use crate::models::{Classifier, FeatureHead, SeedCnn, TransferModel};
use crate::train::config::{ModelKind, TransferMode};
use crate::train::{checkpoint, fit, FitOutcome, TrainConfig};
use crate::util::device::{device_name, pick_device};
use crate::util::fs::write_atomic;
use crate::util::git::git_commit;

/// What training a model produced, before metrics.json is assembled.
struct Trained {
    outcome: FitOutcome,
    report: EvalReport,
    milestones: Vec<Milestone>,
    /// The final model on every test image (in `split.test` order).
    test_predictions: Predictions,
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
    let t = match cfg.model {
        ModelKind::SeedCnn => train_seed_cnn(&mut vs, &p, cfg, &run, device)?,
        ModelKind::MobilenetV2 => train_transfer(&mut vs, &p, cfg, &run, device)?,
    };
    checkpoint::save_atomic(&vs, &run.model())?;
    predictions_file::write(&run.test_predictions(), &p.data, &p.split.test, &t.test_predictions)?;
    let metrics = MetricsFile {
        model: model_label(cfg.model).into(),
        parameters: t.parameters,
        trainable_parameters: Some(t.trainable_parameters),
        config: cfg.clone(),
        data: data_summary(cfg, &p.data),
        split: p.split.summary.clone(),
        training: Some(TrainingSummary::from(&t.outcome)),
        features: t.features,
        evaluation: t.report,
        milestones: t.milestones,
        provenance: Provenance {
            git_commit: git_commit(),
            device: device_name(device),
            threads: tch::get_num_threads(),
            command: command.into(),
            started_unix,
            wall_seconds: wall.elapsed().as_secs_f64(),
        },
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
    device: Device,
) -> Result<Trained> {
    let net = SeedCnn::new(&vs.root(), cfg.image_size as i64, cfg.outputs());
    let (outcome, measured, milestones) = fit_on_images(&net, vs, p, cfg, run, device)?;
    let parameters = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    Ok(Trained {
        outcome,
        report: measured.0,
        test_predictions: measured.1,
        milestones,
        parameters,
        trainable_parameters: parameters,
        features: None,
    })
}

/// Trains `net` on the training images (kept on `device`), validating after every epoch, then
/// measures it: the threshold on validation, the test images touched here, once (and at
/// each milestone epoch the config asks for).
fn fit_on_images(
    net: &dyn Classifier,
    vs: &mut VarStore,
    p: &SplitData,
    cfg: &TrainConfig,
    run: &RunDir,
    device: Device,
) -> Result<(FitOutcome, (EvalReport, Predictions), Vec<Milestone>)> {
    let batch = cfg.eval_batch_size();
    let images = |indices: &[usize]| DeviceImages::with_classes(&p.data, indices, device, cfg.classes);
    let train = images(&p.split.train);
    let val = images(&p.split.val);
    // Without milestones the training images leave the device before the test images arrive.
    let mut test = (!cfg.eval_epochs.is_empty()).then(|| images(&p.split.test));
    let mut milestones = Vec::new();
    let validate = |n: &dyn Classifier| val_score(n, &val, batch);
    let on_epoch =
        recorder(run, &cfg.eval_epochs, &val, test.as_ref().map(|t| t as _), batch, &mut milestones);
    let outcome = fit(net, vs, &train, validate, cfg, run.path(), on_epoch)?;
    drop(train);
    let test = test.take().unwrap_or_else(|| images(&p.split.test));
    Ok((outcome, measure(net, &val, &test, batch), milestones))
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
    device: Device,
) -> Result<Trained> {
    let weights = cfg.weights_path()?;
    let head = (cfg.head, cfg.head_dropout);
    let mut model = TransferModel::pretrained(&vs.root(), &weights, head, cfg.image_size as i64)?;
    let (outcome, measured, milestones, features) = match cfg.mode {
        TransferMode::Frozen => {
            let batch = cfg.eval_batch_size();
            model.base.set_trainable_blocks(0);
            let (all, extraction) = features::load_or_extract(
                &p.data,
                &model.base,
                &weights,
                (&cfg.cache_dir, cfg.head == HeadKind::Seed),
                device,
                batch,
            )?;
            let head = FeatureHead(&model);
            let train = DeviceFeatures::new(&all, &p.data, &p.split.train);
            let val = DeviceFeatures::new(&all, &p.data, &p.split.val);
            // Test is touched at the end (and at milestones). head(features) equals the full
            // model's forward.
            let test = DeviceFeatures::new(&all, &p.data, &p.split.test);
            let mut milestones = Vec::new();
            let on_epoch = recorder(run, &cfg.eval_epochs, &val, Some(&test), batch, &mut milestones);
            let outcome = fit(&head, vs, &train, |n| val_score(n, &val, batch), cfg, run.path(), on_epoch)?;
            (outcome, measure(&head, &val, &test, batch), milestones, Some(extraction))
        }
        TransferMode::Finetune => {
            model.base.set_trainable_blocks(cfg.trainable_blocks);
            let (outcome, measured, milestones) = fit_on_images(&model, vs, p, cfg, run, device)?;
            (outcome, measured, milestones, None)
        }
    };
    let (parameters, trainable_parameters) = model.parameter_counts();
    let (report, test_predictions) = measured;
    Ok(Trained { outcome, report, milestones, test_predictions, parameters, trainable_parameters, features })
}

fn data_summary(cfg: &TrainConfig, d: &Dataset) -> DataSummary {
    DataSummary {
        root: cfg.data.display().to_string(),
        usable_images: d.records.len(),
        skipped_count: d.skipped.len(),
        skipped: d.skipped.clone(),
    }
}
