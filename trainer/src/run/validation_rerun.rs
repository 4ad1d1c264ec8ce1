//! Finished runs scored again on their own validation images, with the threshold each froze
//! (`trainer shifted-validation`, `trainer cue-validation`): the options both take, and a run's
//! model loaded beside its validation images. The test images stay closed.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use tch::nn::VarStore;

use super::load::{load_run_model, read_metrics, RunModel};
use super::metrics_file::MetricsFile;
use crate::data::device::DeviceImages;
use crate::data::SplitData;
use crate::util::device::pick_device;

/// Options of the commands that score finished runs on their validation images.
#[derive(Args, Clone, Debug)]
pub struct ValidationRerunArgs {
    /// A finished run folder of `trainer train` (repeat for several)
    #[arg(long = "run", required = true)]
    pub runs: Vec<PathBuf>,
    /// Read the images from this chest_xray folder instead of the run's own
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the CPU even when a CUDA GPU is available
    #[arg(long)]
    pub cpu: bool,
}

/// A finished run's model and its validation images.
pub struct RunOnValidation {
    /// The run's `metrics.json`, its config's data folder replaced by `--data` when given.
    pub metrics: MetricsFile,
    pub net: RunModel,
    pub val: DeviceImages,
    /// The run's evaluation batch size.
    pub batch: usize,
    /// Holds the weights `net` reads.
    _vs: VarStore,
}

/// Loads the run in `run_dir` and its validation split (from `data` when given).
pub fn load_on_validation(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<RunOnValidation> {
    let mut metrics = read_metrics(run_dir)?;
    if let Some(d) = data {
        metrics.config.data = d.to_path_buf();
    }
    let cfg = &metrics.config;
    let device = pick_device(cpu);
    let (vs, net, _) = load_run_model(run_dir, device)?;
    let p = SplitData::load(&cfg.split_spec())?;
    let val = DeviceImages::with_classes(&p.data, &p.split.val, device, cfg.classes);
    let batch = cfg.eval_batch_size();
    Ok(RunOnValidation { metrics, net, val, batch, _vs: vs })
}
