//! `trainer ensemble`: finished runs that share a split, averaged into one classifier
//! ([`Ensemble`]), each optionally over test-time views of every image ([`Viewed`]; then one
//! run is enough), measured like a trained run: the threshold is chosen on the ensemble's
//! validation predictions by the first member's rule and frozen before the test images are
//! loaded. Writes a run folder (`metrics.json` with `members`, `test_predictions.csv`,
//! `pr_curve.svg`) that reports read like any other; no weights are copied.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use clap::Args;

use super::load::{load_run_model, read_metrics, RunModel};
use super::metrics_file::{MetricsFile, Provenance};
use super::train_run::data_summary;
use super::{plot_files, predictions_file, RunDir};
use crate::data::device::{DeviceImages, Samples};
use crate::data::SplitData;
use crate::eval::{measure_test, print_report, select};
use crate::models::{Ensemble, Viewed, Views};
use crate::util::device::pick_device;
use crate::util::fs::write_atomic;

/// `trainer ensemble` options.
#[derive(Args, Clone, Debug)]
pub struct EnsembleArgs {
    /// A member: a run folder of `trainer train` (repeat; at least two, all on the same split,
    /// or one with --views)
    #[arg(long = "run", required = true)]
    pub runs: Vec<PathBuf>,
    /// Average every member over these views of each image (models/test_time_views.rs)
    #[arg(long, value_enum, default_value = "none")]
    pub views: Views,
    /// Name of the ensemble's run folder
    #[arg(long)]
    pub name: String,
    /// Where the run folder goes
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Measure on this chest_xray folder instead of the one the members were trained on
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the CPU even when a CUDA GPU is available
    #[arg(long)]
    pub cpu: bool,
}

/// Builds, measures and writes the ensemble `a` describes. Returns the metrics written.
pub fn ensemble_run(a: &EnsembleArgs, command: &str) -> Result<MetricsFile> {
    ensure!(
        a.runs.len() >= 2 || (!a.runs.is_empty() && !a.views.is_none()),
        "an ensemble needs at least two --run folders, or one with --views; got {} and --views {:?}",
        a.runs.len(),
        a.views
    );
    let wall = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let members = a.runs.iter().map(|r| read_metrics(r)).collect::<Result<Vec<_>>>()?;
    let mut cfg = members[0].config.clone();
    if let Some(d) = &a.data {
        cfg.data = d.clone();
    }
    // The ensemble is named by its split: its seed is the members' split seed.
    cfg.seed = cfg.split_spec().seed;
    cfg.split_seed = None;
    cfg.name = Some(a.name.clone());
    cfg.runs_dir = a.runs_dir.clone();
    for (dir, m) in a.runs.iter().zip(&members) {
        let mut spec = m.config.split_spec();
        (spec.data, spec.cache_dir) = (cfg.data.clone(), cfg.cache_dir.clone());
        // A member on another split trained on some of these validation patients.
        ensure!(
            spec == cfg.split_spec() && m.config.classes == cfg.classes,
            "{} is not on the split of {} (data, image size, protocol, split seed, validation and \
             classes must match)",
            dir.display(),
            a.runs[0].display()
        );
    }
    let p = SplitData::load(&cfg.split_spec())?;
    let run = RunDir::new(a.runs_dir.join(&a.name));
    std::fs::create_dir_all(run.path()).with_context(|| format!("cannot create {}", run.path().display()))?;
    let device = pick_device(a.cpu);
    let net = load_ensemble(&a.runs, a.views, device)?;
    let batch = cfg.eval_batch_size();
    let images = |ix: &[usize]| DeviceImages::with_classes(&p.data, ix, device, cfg.classes);
    let val = images(&p.split.val);
    let mut order = vec![format!(
        "loaded {} validation images and {} member models ({} view(s) each)",
        val.len(),
        a.runs.len(),
        a.views.count()
    )];
    let selection = select(&net, &val, batch, cfg.threshold_rule);
    order.push(format!(
        "selection frozen on validation: threshold {:.2} ({})",
        selection.threshold(),
        selection.rule().name()
    ));
    let indices = p.split.test(&selection.frozen());
    let test = images(indices);
    order.push(format!("loaded {} test images", test.len()));
    let (report, predictions) = measure_test(&net, &selection, &test, batch);
    order.push("measured test: the ensemble".into());
    predictions_file::write(&run.test_predictions(), &p.data, indices, &predictions)?;
    let metrics = MetricsFile {
        model: members[0].model.clone(),
        parameters: members.iter().map(|m| m.parameters).sum(),
        trainable_parameters: None,
        config: cfg.clone(),
        data: data_summary(&cfg, &p.data),
        split: p.split.summary.clone(),
        training: None,
        features: None,
        evaluation: report,
        milestones: Vec::new(),
        protocol_order: order,
        members: a.runs.iter().map(|r| r.display().to_string()).collect(),
        views: a.views,
        provenance: Provenance::now(device, command, started_unix, wall),
    };
    write_atomic(&run.metrics(), &serde_json::to_vec_pretty(&metrics)?)?;
    plot_files::write_pr_plot(&metrics.evaluation, &a.name, &run);
    print_report(&metrics.evaluation, run.path());
    Ok(metrics)
}

/// The classifier of an ensemble: `members` (run folders of `trainer train`), each averaged
/// over `views`; what an ensemble run folder's `members` and `views` describe.
pub fn load_ensemble(
    members: &[PathBuf],
    views: Views,
    device: tch::Device,
) -> Result<Ensemble<Viewed<RunModel>>> {
    let members = members
        .iter()
        .map(|r| {
            let (_, net, _) =
                load_run_model(r, device).with_context(|| format!("ensemble member {}", r.display()))?;
            Ok(Viewed { net, views })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Ensemble { members })
}
