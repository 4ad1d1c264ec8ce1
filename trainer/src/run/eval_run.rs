//! `trainer eval`: re-measure a finished run from its folder alone, write `eval.json` and
//! redraw its plots.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::load::{load_run_model, read_metrics};
use super::{plot_files, RunDir};
use crate::data::device::DeviceImages;
use crate::data::SplitData;
use crate::eval::{measure_test, print_report, select, EvalReport};
use crate::util::device::pick_device;
use crate::util::fs::write_atomic;

/// `trainer eval` options.
#[derive(Args, Clone, Debug)]
pub struct EvalArgs {
    /// A run folder written by `trainer train` (holds metrics.json and model.safetensors)
    #[arg(long)]
    pub run: PathBuf,
    /// Evaluate on this chest_xray folder instead of the one the run was trained on
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the CPU even when a CUDA GPU is available
    #[arg(long)]
    pub cpu: bool,
}

/// Re-evaluates a finished run (its own config, optionally another data folder), writes
/// `eval.json` and redraws the plots beside it.
pub fn eval_run(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<EvalReport> {
    let run = RunDir::new(run_dir);
    let mut cfg = read_metrics(run_dir)?.config;
    if let Some(d) = data {
        cfg.data = d.to_path_buf();
    }
    let p = SplitData::load(&cfg.split_spec())?;
    let device = pick_device(cpu);
    // A frozen transfer run is measured through the full model too: the base in
    // model.safetensors is what the head was trained on, whatever the weights file is now.
    let (_vs, net, _) = load_run_model(run_dir, device)?;
    let val = DeviceImages::with_classes(&p.data, &p.split.val, device, cfg.classes);
    let selection = select(&net, &val, cfg.eval_batch_size(), cfg.threshold_rule);
    let test = DeviceImages::with_classes(&p.data, p.split.test(&selection.frozen()), device, cfg.classes);
    let (report, _) = measure_test(&net, &selection, &test, cfg.eval_batch_size());
    write_atomic(&run.eval(), &serde_json::to_vec_pretty(&report)?)?;
    plot_files::write_pr_plot(&report, &cfg.run_name(), &run);
    plot_files::redraw_curves(&cfg.run_name(), &run);
    print_report(&report, run.path());
    Ok(report)
}
