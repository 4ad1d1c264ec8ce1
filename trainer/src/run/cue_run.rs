//! `trainer cue-validation`: a finished run's validation images scored where the sharpness
//! cue and the label disagree (`eval/cue.rs`, `experiments/cue_conflict_validation.md`), at
//! the threshold the run froze on clean validation (none is chosen again), written to
//! `cue_validation.json` in the run folder. Reads the validation split only; the test images
//! stay closed.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::load::{load_run_model, read_metrics};
use crate::data::device::DeviceImages;
use crate::data::SplitData;
use crate::eval::cue::{cue_score, sharpness_of, CueScore};
use crate::eval::predict::predict;
use crate::util::device::pick_device;
use crate::util::fs::write_atomic;

/// The file a run folder gets.
pub const FILE: &str = "cue_validation.json";

/// `trainer cue-validation` options.
#[derive(Args, Clone, Debug)]
pub struct CueArgs {
    /// A finished binary run folder of `trainer train` (repeat for several)
    #[arg(long = "run", required = true)]
    pub runs: Vec<PathBuf>,
    /// Read the images from this chest_xray folder instead of the run's own
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the CPU even when a CUDA GPU is available
    #[arg(long)]
    pub cpu: bool,
}

/// Scores every run of `a` in turn and writes its `cue_validation.json`.
pub fn cue_runs(a: &CueArgs) -> Result<Vec<CueScore>> {
    a.runs.iter().map(|r| cue_run(r, a.data.as_deref(), a.cpu)).collect()
}

/// Scores one finished run on its validation images and writes the file.
pub fn cue_run(run_dir: &Path, data: Option<&Path>, cpu: bool) -> Result<CueScore> {
    let metrics = read_metrics(run_dir)?;
    let mut cfg = metrics.config;
    anyhow::ensure!(
        cfg.classes == 2,
        "{}: cue-conflicting validation scores binary runs; this one has {} classes",
        run_dir.display(),
        cfg.classes
    );
    if let Some(d) = data {
        cfg.data = d.to_path_buf();
    }
    let device = pick_device(cpu);
    let (_vs, net, _) = load_run_model(run_dir, device)?;
    let p = SplitData::load(&cfg.split_spec())?;
    let val = DeviceImages::with_classes(&p.data, &p.split.val, device, cfg.classes);
    let batch = cfg.eval_batch_size();
    let predictions = predict(&net, &val, batch);
    let sharp = sharpness_of(&val, batch);
    let score = cue_score(&predictions.probs, &predictions.labels, &sharp, metrics.evaluation.threshold);
    write_atomic(&run_dir.join(FILE), &serde_json::to_vec_pretty(&score)?)?;
    println!(
        "{}: cue-conflicting balanced accuracy {:.2}% (specificity {:.3} on {} blurry normals, \
         sensitivity {:.3} on {} sharp pneumonias); cue-aligned {:.2}%; at threshold {:.2}",
        run_dir.display(),
        100.0 * score.conflicting.balanced_accuracy,
        score.conflicting.specificity,
        score.conflicting.normals,
        score.conflicting.sensitivity,
        score.conflicting.pneumonias,
        100.0 * score.aligned.balanced_accuracy,
        score.threshold
    );
    Ok(score)
}
