//! `trainer train` and `trainer eval` end to end: data → split → model → fit → evaluate →
//! run folder. Test images are predicted once, after training, and choose nothing.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tch::nn::VarStore;
use tch::Device;

use super::history;
use super::metrics_file::{git_commit, DataSummary, MetricsFile, Provenance, TrainingSummary};
use super::RunDir;
use crate::data::cache::write_atomic;
use crate::data::device::DeviceImages;
use crate::data::{split, Dataset};
use crate::eval::predict::predict;
use crate::eval::{evaluate, plots, EvalReport};
use crate::models::SeedCnn;
use crate::train::{checkpoint, fit, TrainConfig};

/// The device a run uses: CUDA when present unless `cpu` is set.
pub fn pick_device(cpu: bool) -> Device {
    if cpu {
        Device::Cpu
    } else {
        Device::cuda_if_available()
    }
}

fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

pub(crate) struct Prepared {
    pub data: Dataset,
    pub split: split::Split,
}

pub(crate) fn prepare(cfg: &TrainConfig) -> Result<Prepared> {
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

/// Trains the seed CNN as `cfg` says and writes `runs/<name>/`. Returns the metrics written.
pub fn train_run(cfg: &TrainConfig, command: &str) -> Result<MetricsFile> {
    cfg.validate()?;
    let wall = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
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
    let net = SeedCnn::new(&vs.root(), cfg.image_size as i64, 1);
    let train = DeviceImages::new(&p.data, &p.split.train, device);
    let val = DeviceImages::new(&p.data, &p.split.val, device);
    let outcome = fit(&net, &mut vs, &train, &val, cfg, run.path(), |h| history::write(&run.history(), h))?;
    checkpoint::save_atomic(&vs, &run.model())?;

    // Test is touched here, once.
    let report = measure(&net, &val, &p, cfg, device);
    let metrics = MetricsFile {
        model: "seed_cnn".into(),
        parameters: vs.trainable_variables().iter().map(|t| t.numel() as i64).sum(),
        config: cfg.clone(),
        data: data_summary(cfg, &p.data),
        split: p.split.summary.clone(),
        training: Some(TrainingSummary::from(&outcome)),
        evaluation: report,
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
    warn_on_err(plots::convergence(&outcome.history, &title, &run.curves()));
    write_pr_plot(&metrics.evaluation, &title, &run);
    print_report(&metrics.evaluation, run.path());
    Ok(metrics)
}

/// Re-evaluates a finished run (its own config, optionally another data folder), writes
/// `eval.json` and redraws the plots beside it.
pub fn eval_run(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<EvalReport> {
    let run = RunDir::new(run_dir);
    let text = std::fs::read(run.metrics())
        .with_context(|| format!("{} is not a finished run: cannot read metrics.json", run_dir.display()))?;
    let old: MetricsFile = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid metrics file", run.metrics().display()))?;
    let mut cfg = old.config;
    if let Some(d) = data {
        cfg.data = d.to_path_buf();
    }
    let p = prepare(&cfg)?;
    let device = pick_device(cpu);
    let mut vs = VarStore::new(device);
    let net = SeedCnn::new(&vs.root(), cfg.image_size as i64, 1);
    checkpoint::load(&mut vs, &run.model())?;
    let val = DeviceImages::new(&p.data, &p.split.val, device);
    let report = measure(&net, &val, &p, &cfg, device);
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
fn measure(net: &SeedCnn, val: &DeviceImages, p: &Prepared, cfg: &TrainConfig, device: Device) -> EvalReport {
    let test = DeviceImages::new(&p.data, &p.split.test, device);
    let batch = cfg.eval_batch_size();
    evaluate(&predict(net, val, batch), &predict(net, &test, batch))
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
