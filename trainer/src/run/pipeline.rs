//! `trainer train` and `trainer eval` end to end: data → split → model → fit → evaluate →
//! run folder. Test images are predicted once, after training, and choose nothing.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tch::nn::VarStore;
use tch::Device;

use super::history;
use super::load::load_run_model;
use super::metrics_file::{git_commit, DataSummary, MetricsFile, Provenance, TrainingSummary};
use super::RunDir;
use crate::data::cache::write_atomic;
use crate::data::device::{DeviceFeatures, DeviceImages, Samples};
use crate::data::{split, Dataset};
use crate::eval::predict::predict;
use crate::eval::{evaluate, plots, EvalReport};
use crate::models::mobilenet_v2::Config;
use crate::models::transfer::features::{self, FeatureExtraction};
use crate::models::{Classifier, FeatureHead, SeedCnn, TransferModel};
use crate::train::config::{ModelKind, TransferMode};
use crate::train::{checkpoint, fit, FitOutcome, TrainConfig};

/// The device a run uses: CUDA when present unless `cpu` is set.
pub fn pick_device(cpu: bool) -> Device {
    if cpu {
        Device::Cpu
    } else {
        Device::cuda_if_available()
    }
}

/// "cuda:0" or "cpu".
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

pub struct Prepared {
    pub data: Dataset,
    pub split: split::Split,
}

pub fn prepare(cfg: &TrainConfig) -> Result<Prepared> {
    let data = Dataset::load(&cfg.data, cfg.image_size, &cfg.cache_dir)?;
    let split = split::split(&data.records, cfg.protocol, cfg.seed, cfg.val_fraction)
        .with_context(|| format!("cannot split the images under {}", cfg.data.display()))?;
    let s = &split.summary;
    eprintln!(
        "{} usable images ({} skipped); split {:?}: train {:?}, val {:?}, test {:?}",
        data.records.len(),
        data.skipped.len(),
        cfg.protocol,
        s.train,
        s.val,
        s.test
    );
    if split.summary.excluded_train_images > 0 {
        eprintln!(
            "note: {} official test patient ids also occur in train; their {} training images are left out",
            s.official_test_ids_also_in_train, s.excluded_train_images
        );
    }
    Ok(Prepared { data, split })
}

/// What training a model produced, before metrics.json is assembled.
struct Trained {
    outcome: FitOutcome,
    report: EvalReport,
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
    let p = prepare(cfg)?;
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
    warn_on_err(plots::convergence(&t.outcome.history, &title, &run.curves()));
    write_pr_plot(&metrics.evaluation, &title, &run);
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
    p: &Prepared,
    cfg: &TrainConfig,
    run: &RunDir,
    device: Device,
) -> Result<Trained> {
    let net = SeedCnn::new(&vs.root(), cfg.image_size as i64, 1);
    let train = DeviceImages::new(&p.data, &p.split.train, device);
    let val = DeviceImages::new(&p.data, &p.split.val, device);
    let outcome = fit(&net, vs, &train, &val, cfg, run.path(), |h| history::write(&run.history(), h))?;
    drop(train);
    // Test is touched here, once.
    let test = DeviceImages::new(&p.data, &p.split.test, device);
    let report = measure(&net, &val, &test, cfg);
    let parameters = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    Ok(Trained { outcome, report, parameters, trainable_parameters: parameters, features: None })
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
    p: &Prepared,
    cfg: &TrainConfig,
    run: &RunDir,
    device: Device,
) -> Result<Trained> {
    let weights = cfg.weights_path()?;
    let mut model = TransferModel::pretrained(&vs.root(), &weights, cfg.head_dropout, cfg.image_size as i64)?;
    let on_epoch = |h: &[crate::train::EpochRecord]| history::write(&run.history(), h);
    let (outcome, report, features) = match cfg.mode {
        TransferMode::Frozen => {
            model.base.set_trainable_blocks(0);
            let (all, extraction) = features::load_or_extract(
                &p.data,
                &model.base,
                &weights,
                &cfg.cache_dir,
                device,
                cfg.eval_batch_size(),
            )?;
            let head = FeatureHead(&model);
            let train = DeviceFeatures::new(&all, &p.data, &p.split.train);
            let val = DeviceFeatures::new(&all, &p.data, &p.split.val);
            let outcome = fit(&head, vs, &train, &val, cfg, run.path(), on_epoch)?;
            // Test is touched here, once. head(features) equals the full model's forward.
            let test = DeviceFeatures::new(&all, &p.data, &p.split.test);
            (outcome, measure(&head, &val, &test, cfg), Some(extraction))
        }
        TransferMode::Finetune => {
            model.base.set_trainable_blocks(cfg.trainable_blocks);
            let train = DeviceImages::new(&p.data, &p.split.train, device);
            let val = DeviceImages::new(&p.data, &p.split.val, device);
            let outcome = fit(&model, vs, &train, &val, cfg, run.path(), on_epoch)?;
            drop(train);
            let test = DeviceImages::new(&p.data, &p.split.test, device);
            (outcome, measure(&model, &val, &test, cfg), None)
        }
    };
    let (parameters, trainable_parameters) = model.parameter_counts();
    Ok(Trained { outcome, report, parameters, trainable_parameters, features })
}

/// Re-evaluates a finished run (its own config, optionally another data folder), writes
/// `eval.json` and redraws the plots beside it.
pub fn eval_run(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<EvalReport> {
    let run = RunDir::new(run_dir);
    let mut cfg = super::load::read_metrics(run_dir)?.config;
    if let Some(d) = data {
        cfg.data = d.to_path_buf();
    }
    let p = prepare(&cfg)?;
    let device = pick_device(cpu);
    // A frozen transfer run is measured through the full model too: the base in
    // model.safetensors is what the head was trained on, whatever the weights file is now.
    let (_vs, net, _) = load_run_model(run_dir, device)?;
    let val = DeviceImages::new(&p.data, &p.split.val, device);
    let test = DeviceImages::new(&p.data, &p.split.test, device);
    let report = measure(&net, &val, &test, &cfg);
    write_atomic(&run.eval(), &serde_json::to_vec_pretty(&report)?)?;
    write_pr_plot(&report, &cfg.run_name(), &run);
    if run.history().exists() {
        warn_on_err(
            history::read(&run.history())
                .and_then(|h| plots::convergence(&h, &cfg.run_name(), &run.curves())),
        );
    }
    print_report(&report, run.path());
    Ok(report)
}

/// Chooses the threshold on `val` and measures the test split at it.
pub fn measure(net: &dyn Classifier, val: &dyn Samples, test: &dyn Samples, cfg: &TrainConfig) -> EvalReport {
    let batch = cfg.eval_batch_size();
    evaluate(&predict(net, val, batch), &predict(net, test, batch))
}

fn write_pr_plot(r: &EvalReport, title: &str, run: &RunDir) {
    warn_on_err(plots::pr_curve(&r.validation.sweep, &r.test.sweep, r.threshold, title, &run.pr_curve()));
}

fn warn_on_err(r: Result<()>) {
    if let Err(e) = r {
        eprintln!("warning: {e:#}");
    }
}

fn data_summary(cfg: &TrainConfig, d: &Dataset) -> DataSummary {
    DataSummary {
        root: cfg.data.display().to_string(),
        usable_images: d.records.len(),
        skipped_count: d.skipped.len(),
        skipped: d.skipped.clone(),
    }
}

/// The test metrics a user reads first, plus the validation-chosen threshold.
pub fn print_report(r: &EvalReport, dir: &Path) {
    let t = &r.test.at_chosen_threshold;
    let c = t.confusion;
    println!("threshold (best F1 on validation): {:.2}", r.threshold);
    println!(
        "validation: accuracy {:.2}%  F1 {:.3}  AUC {}",
        100.0 * r.validation.at_chosen_threshold.accuracy,
        r.validation.at_chosen_threshold.f1,
        fmt_auc(r.validation.roc_auc)
    );
    println!(
        "test ({} images): accuracy {:.2}%  precision {:.3}  recall {:.3}  specificity {:.3}  F1 {:.3}  AUC {}",
        r.test.images,
        100.0 * t.accuracy,
        t.precision,
        t.recall,
        t.specificity,
        t.f1,
        fmt_auc(r.test.roc_auc)
    );
    println!("test confusion: TN {}  FP {}  FN {}  TP {}", c.tn, c.fp, c.fn_, c.tp);
    println!("test accuracy at 0.5: {:.2}%", 100.0 * r.test.at_0_5.accuracy);
    println!("wrote {}", dir.display());
}

fn fmt_auc(a: Option<f64>) -> String {
    a.map(|a| format!("{a:.4}")).unwrap_or_else(|| "n/a".into())
}
