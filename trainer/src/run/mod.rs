//! A run's folder `runs/<name>/` and what goes in it:
//! `metrics.json` (config, split, training summary, validation and test metrics, provenance),
//! `history.csv` (per-epoch loss and accuracy), `test_predictions.csv` (the final model on
//! every test image, with its patient), `curves.svg` and `pr_curve.svg`, `model.safetensors` (final weights) and the
//! `best` / `last` checkpoints.

pub mod cue_run;
pub mod ensemble_run;
pub mod eval_run;
pub mod history;
pub mod load;
pub mod metrics_file;
pub mod milestones;
pub mod plot_files;
pub mod predictions_file;
pub mod shifted_run;
pub mod train_run;
pub mod validation_rerun;

pub use cue_run::cue_runs;
pub use ensemble_run::{ensemble_run, load_ensemble, EnsembleArgs};
pub use eval_run::{eval_run, EvalArgs};
pub use load::{load_run_model, read_metrics, RunModel};
pub use shifted_run::shifted_runs;
pub use train_run::train_run;
pub use validation_rerun::ValidationRerunArgs;

use std::path::{Path, PathBuf};

/// Paths inside one run folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub dir: PathBuf,
}

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> RunDir {
        RunDir { dir: dir.into() }
    }
    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.json")
    }
    pub fn history(&self) -> PathBuf {
        self.dir.join("history.csv")
    }
    pub fn model(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }
    pub fn eval(&self) -> PathBuf {
        self.dir.join("eval.json")
    }
    pub fn curves(&self) -> PathBuf {
        self.dir.join("curves.svg")
    }
    pub fn test_predictions(&self) -> PathBuf {
        self.dir.join("test_predictions.csv")
    }
    pub fn pr_curve(&self) -> PathBuf {
        self.dir.join("pr_curve.svg")
    }
    pub fn path(&self) -> &Path {
        &self.dir
    }
}
