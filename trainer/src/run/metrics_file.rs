//! The schema of metrics.json: everything needed to trust and reproduce a run.

use serde::{Deserialize, Serialize};

use super::milestones::Milestone;
use crate::data::split::SplitSummary;
use crate::data::Skipped;
use crate::eval::EvalReport;
use crate::models::transfer::features::FeatureExtraction;
use crate::models::Views;
use crate::train::{FitOutcome, TrainConfig};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSummary {
    pub root: String,
    pub usable_images: usize,
    pub skipped_count: usize,
    /// Every file that was left out, with the reason.
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MetricsFile {
    pub model: String,
    /// Learnable parameters of the whole model (BatchNorm running statistics excluded).
    pub parameters: i64,
    /// Of those, the ones training updated (a frozen base's are not).
    #[serde(default)]
    pub trainable_parameters: Option<i64>,
    pub config: TrainConfig,
    pub data: DataSummary,
    pub split: SplitSummary,
    /// Training summary (the per-epoch history is in history.csv).
    pub training: Option<TrainingSummary>,
    /// Frozen transfer runs: how the base's pooled features were obtained (and how long
    /// extracting them took).
    #[serde(default)]
    pub features: Option<FeatureExtraction>,
    pub evaluation: EvalReport,
    /// The model measured at the `eval_epochs` of its config (empty when none were asked).
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    /// What the run touched, in order: the selection is frozen on validation before the
    /// test images are loaded (empty in runs made before this was recorded).
    #[serde(default)]
    pub protocol_order: Vec<String>,
    /// An ensemble's member run folders (`trainer ensemble`); empty for a trained run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// The test-time views every member was averaged over (`trainer ensemble --views`).
    #[serde(default, skip_serializing_if = "Views::is_none")]
    pub views: Views,
    pub provenance: Provenance,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub epochs_run: usize,
    pub best_epoch: Option<usize>,
    pub stopped_early: bool,
    pub restored_best: bool,
    pub seconds: f64,
    pub mean_train_images_per_second: f64,
}

impl From<&FitOutcome> for TrainingSummary {
    fn from(f: &FitOutcome) -> Self {
        let ips = if f.history.is_empty() {
            0.0
        } else {
            f.history.iter().map(|h| h.train_images_per_second).sum::<f64>() / f.history.len() as f64
        };
        TrainingSummary {
            epochs_run: f.history.len(),
            best_epoch: f.best_epoch,
            stopped_early: f.stopped_early,
            restored_best: f.restored_best,
            seconds: f.seconds,
            mean_train_images_per_second: ips,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Provenance {
    /// `git rev-parse HEAD` of the working tree, with "-dirty" when it had changes.
    pub git_commit: String,
    pub device: String,
    pub threads: i32,
    pub command: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    pub wall_seconds: f64,
}

impl Provenance {
    /// This working tree, `device` and the thread count now; `started` is when the run began.
    pub fn now(
        device: tch::Device,
        command: &str,
        started_unix: u64,
        started: std::time::Instant,
    ) -> Provenance {
        Provenance {
            git_commit: crate::util::git::git_commit(),
            device: crate::util::device::device_name(device),
            threads: tch::get_num_threads(),
            command: command.into(),
            started_unix,
            wall_seconds: started.elapsed().as_secs_f64(),
        }
    }
}
