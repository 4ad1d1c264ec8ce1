//! A study as data: `experiments/<name>.toml` lists the tasks, each task's optimizer × learning
//! rate grid, and each profile's sizes (`full`: the seed's; `quick`: the same structure,
//! smaller images and fewer epochs, for a 2-core CPU). A malformed file is an error naming
//! the file, the line and the problem.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::Protocol;
use crate::models::transfer::HeadKind;
use crate::train::OptimizerKind;

/// The three tasks of the seed report's study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// The seed CNN, normal vs pneumonia.
    Cnn,
    /// MobileNetV2 transfer: the grid runs with the base frozen, then the best setting is
    /// fine-tuned too.
    MobilenetV2,
    /// The seed CNN with 3 outputs: normal / bacterial / viral.
    #[serde(rename = "cnn_3class")]
    #[value(name = "cnn_3class")]
    Cnn3class,
}

/// Which profile's sizes a suite runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Quick,
    Full,
}

/// One optimizer and the learning rates it is tried at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerRow {
    pub optimizer: OptimizerKind,
    pub lr: Vec<f64>,
}

/// A task's sizes in one profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    pub image_size: u32,
    pub batch_size: usize,
    /// The epoch counts the grid compares; one run trains to the largest and is measured at
    /// each.
    pub epochs: Vec<usize>,
    /// Early stopping's patience (validation loss) for the task's best setting.
    pub patience: usize,
    /// MobileNetV2 only: width multiplier (0.35 or 1.0).
    #[serde(default)]
    pub width: Option<f64>,
    /// MobileNetV2 only: epochs of the fine-tuning runs.
    #[serde(default)]
    pub finetune_epochs: Option<usize>,
    /// MobileNetV2 only: features of the base that fine-tuning trains, from the top.
    #[serde(default)]
    pub trainable_blocks: Option<usize>,
    /// MobileNetV2 only: `gap` (default) or `seed`, the seed report's conv head.
    #[serde(default)]
    pub head: Option<HeadKind>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub task: TaskKind,
    pub grid: Vec<OptimizerRow>,
    pub quick: Sizes,
    pub full: Sizes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub protocols: Vec<Protocol>,
    /// Seeds of the headline runs (weights, shuffling, dropout; the split stays the grid's).
    pub seeds: Vec<u64>,
    /// Seed of the grid runs and of every run's split.
    pub split_seed: u64,
    #[serde(rename = "tasks")]
    pub tasks: Vec<Task>,
}

impl Task {
    pub fn sizes(&self, profile: Profile) -> &Sizes {
        match profile {
            Profile::Quick => &self.quick,
            Profile::Full => &self.full,
        }
    }
}

impl Grid {
    /// Reads and checks a grid file.
    pub fn load(path: &Path) -> Result<Grid> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read grid file {}", path.display()))?;
        Grid::parse(&text).with_context(|| format!("grid file {} is not valid", path.display()))
    }

    /// Parses a grid from TOML; errors say the line and column.
    pub fn parse(text: &str) -> Result<Grid> {
        let grid: Grid = toml::from_str(text).map_err(|e| anyhow::anyhow!(located(text, &e)))?;
        grid.check()?;
        Ok(grid)
    }

    fn check(&self) -> Result<()> {
        ensure!(!self.protocols.is_empty(), "`protocols` is empty");
        ensure!(!self.seeds.is_empty(), "`seeds` is empty: the headline runs need at least one");
        ensure!(!self.tasks.is_empty(), "no [[tasks]]");
        for t in &self.tasks {
            let name = format!("{:?}", t.task);
            ensure!(!t.grid.is_empty(), "task {name}: `grid` is empty");
            for row in &t.grid {
                ensure!(!row.lr.is_empty(), "task {name}: {:?} has no learning rate", row.optimizer);
                for &lr in &row.lr {
                    ensure!(lr > 0.0 && lr.is_finite(), "task {name}: learning rate {lr} is not positive");
                }
            }
            for (profile, s) in [("quick", &t.quick), ("full", &t.full)] {
                ensure!(!s.epochs.is_empty(), "task {name}, {profile}: `epochs` is empty");
                ensure!(
                    s.epochs.windows(2).all(|w| w[0] < w[1]) && s.epochs[0] > 0,
                    "task {name}, {profile}: `epochs` must be positive and increasing, got {:?}",
                    s.epochs
                );
                ensure!(
                    s.batch_size > 0 && s.image_size >= 8,
                    "task {name}, {profile}: batch or image size too small"
                );
                if t.task == TaskKind::MobilenetV2 {
                    ensure!(
                        s.width.is_some() && s.finetune_epochs.is_some(),
                        "task {name}, {profile}: MobileNetV2 needs `width` and `finetune_epochs`"
                    );
                }
            }
        }
        Ok(())
    }
}

/// The parser's message with the line number spelled out (`line 12, column 7: …`).
pub fn located(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_study_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        let g = Grid::load(&dir.join("seed_study.toml")).unwrap();
        assert_eq!(g.tasks.len(), 3);
        let cnn = &g.tasks[0];
        assert_eq!(cnn.task, TaskKind::Cnn);
        assert_eq!(cnn.full.epochs, vec![10, 15, 20, 30]);
        assert_eq!(cnn.full.image_size, 180);
        let lrs: usize = cnn.grid.iter().map(|r| r.lr.len()).sum();
        assert_eq!(lrs, 10, "the seed's CNN grid has ten optimizer × lr settings");
        let mnv2 = &g.tasks[1];
        assert_eq!(
            (mnv2.full.head, mnv2.full.image_size),
            (Some(HeadKind::Seed), 180),
            "the seed's transfer setting"
        );
    }

    #[test]
    fn a_malformed_file_names_the_line() {
        let good = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/seed_study.toml"),
        )
        .unwrap();
        // An unknown optimizer on a known line.
        let line = good.lines().position(|l| l.contains("optimizer = \"adam\"")).unwrap();
        let bad = good.replacen("optimizer = \"adam\"", "optimizer = \"adamw\"", 1);
        let err = format!("{:#}", Grid::parse(&bad).unwrap_err());
        assert!(err.contains(&format!("line {}", line + 1)), "{err}");
        assert!(err.contains("adamw"), "{err}");
        // A typo in a field name.
        let bad = good.replacen("patience = 5", "patients = 5", 1);
        let err = format!("{:#}", Grid::parse(&bad).unwrap_err());
        assert!(err.contains("line ") && err.contains("patients"), "{err}");
        // Not TOML at all.
        let err = format!("{:#}", Grid::parse("protocols = [\"pooled\"\nseeds = 1").unwrap_err());
        assert!(err.contains("line 1") || err.contains("line 2"), "{err}");
        // Valid TOML, invalid study.
        let bad = good.replacen("epochs = [10, 15, 20, 30]", "epochs = [30, 20]", 1);
        assert!(format!("{:#}", Grid::parse(&bad).unwrap_err()).contains("increasing"));
    }

    #[test]
    fn a_missing_file_names_it() {
        let err = format!("{:#}", Grid::load(Path::new("no/such/grid.toml")).unwrap_err());
        assert!(err.contains("no/such/grid.toml"), "{err}");
    }
}
