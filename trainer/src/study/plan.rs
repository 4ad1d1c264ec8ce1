//! The runs of a study, as suite.json lists them: one [`PlannedRun`] per training run, with
//! the phase it belongs to, the model it stands for in the report, and its full config.

use serde::{Deserialize, Serialize};

use super::grid::{Sizes, Task, TaskKind};
use crate::data::Protocol;
use crate::train::config::{ModelKind, TransferMode};
use crate::train::{OptimizerKind, TrainConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Grid,
    EarlyStopping,
    Finetune,
    Seeds,
}

/// The model a run stands for in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKey {
    Cnn,
    MobilenetV2Frozen,
    MobilenetV2Finetune,
    #[serde(rename = "cnn_3class")]
    Cnn3class,
}

impl ModelKey {
    pub const ALL: [ModelKey; 4] =
        [ModelKey::Cnn, ModelKey::MobilenetV2Frozen, ModelKey::MobilenetV2Finetune, ModelKey::Cnn3class];

    pub fn name(self) -> &'static str {
        match self {
            ModelKey::Cnn => "cnn",
            ModelKey::MobilenetV2Frozen => "mobilenet_v2_frozen",
            ModelKey::MobilenetV2Finetune => "mobilenet_v2_finetune",
            ModelKey::Cnn3class => "cnn_3class",
        }
    }
}

/// One run of the study.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedRun {
    pub name: String,
    pub phase: Phase,
    pub task: ModelKey,
    pub protocol: Protocol,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub seed: u64,
    pub epochs: usize,
    pub milestones: Vec<usize>,
    pub patience: Option<usize>,
    /// Relative cost, for the overall progress bar's ETA: epochs × pixels, with a frozen
    /// base's head nearly free and fine-tuning a MobileNetV2 dearer than the small CNN.
    pub cost: u64,
    pub config: TrainConfig,
}

/// A setting to train: everything but the phase-specific fields.
#[derive(Clone, Debug)]
pub struct Setting {
    pub key: ModelKey,
    pub protocol: Protocol,
    pub optimizer: OptimizerKind,
    pub lr: f64,
}

/// What every run of a study shares (data, caches, device).
#[derive(Clone, Debug)]
pub struct Base {
    pub template: TrainConfig,
    pub split_seed: u64,
}

impl Base {
    /// The run `phase` of `s` trained for `epochs` at `seed`, measured at `milestones`.
    pub fn run(
        &self,
        phase: Phase,
        s: &Setting,
        sizes: &Sizes,
        (epochs, milestones, patience, seed): (usize, Vec<usize>, Option<usize>, u64),
    ) -> PlannedRun {
        let mut c = self.template.clone();
        (c.protocol, c.optimizer, c.lr, c.seed, c.split_seed) =
            (s.protocol, s.optimizer, s.lr, seed, Some(self.split_seed));
        (c.epochs, c.eval_epochs, c.patience) = (epochs, milestones.clone(), patience);
        (c.image_size, c.batch_size) = (sizes.image_size, sizes.batch_size);
        c.model = match s.key {
            ModelKey::Cnn | ModelKey::Cnn3class => ModelKind::SeedCnn,
            _ => ModelKind::MobilenetV2,
        };
        c.classes = if s.key == ModelKey::Cnn3class { 3 } else { 2 };
        c.mode = if s.key == ModelKey::MobilenetV2Finetune {
            TransferMode::Finetune
        } else {
            TransferMode::Frozen
        };
        c.width = sizes.width.unwrap_or(c.width);
        c.trainable_blocks = sizes.trainable_blocks.unwrap_or(c.trainable_blocks);
        c.head = sizes.head.unwrap_or(c.head);
        let protocol = format!("{:?}", s.protocol).to_lowercase();
        let patience_tag = patience.map(|p| format!("-p{p}")).unwrap_or_default();
        let name = format!(
            "{}-{}-{protocol}-{:?}-lr{}-e{epochs}{patience_tag}-s{seed}",
            phase_name(phase),
            s.key.name(),
            s.optimizer,
            s.lr
        )
        .to_lowercase();
        c.name = Some(name.clone());
        c.runs_dir = self.template.runs_dir.clone();
        let pixels = u64::from(sizes.image_size).pow(2);
        let cost = match s.key {
            ModelKey::MobilenetV2Frozen => pixels / 8 + epochs as u64 * 16,
            ModelKey::MobilenetV2Finetune => epochs as u64 * pixels * 2,
            _ => epochs as u64 * pixels,
        } / 256;
        PlannedRun {
            name,
            phase,
            task: s.key,
            protocol: s.protocol,
            optimizer: s.optimizer,
            lr: s.lr,
            seed,
            epochs,
            milestones,
            patience,
            cost: cost.max(1),
            config: c,
        }
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Grid => "grid",
        Phase::EarlyStopping => "es",
        Phase::Finetune => "finetune",
        Phase::Seeds => "seeds",
    }
}

/// The model key of a task's grid runs.
pub fn grid_key(t: TaskKind) -> ModelKey {
    match t {
        TaskKind::Cnn => ModelKey::Cnn,
        TaskKind::MobilenetV2 => ModelKey::MobilenetV2Frozen,
        TaskKind::Cnn3class => ModelKey::Cnn3class,
    }
}

/// The grid phase of `task` on `protocol`: one run per optimizer × lr, to the largest epoch
/// count, measured at every listed one.
pub fn grid_runs(base: &Base, task: &Task, sizes: &Sizes, protocol: Protocol) -> Vec<PlannedRun> {
    let max = *sizes.epochs.last().expect("the grid file was checked");
    task.grid
        .iter()
        .flat_map(|row| row.lr.iter().map(move |&lr| (row.optimizer, lr)))
        .map(|(optimizer, lr)| {
            let s = Setting { key: grid_key(task.task), protocol, optimizer, lr };
            base.run(Phase::Grid, &s, sizes, (max, sizes.epochs.clone(), None, base.split_seed))
        })
        .collect()
}
