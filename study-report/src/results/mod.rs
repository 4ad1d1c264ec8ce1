//! results.json: everything the report says, as data. REPORT.md and the figures are drawn from
//! this (and the study's per-epoch files), so the markdown never computes a number itself.

pub mod compare;
pub mod grid;
pub mod models;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ablation::AblationResults;
use crate::bootstrap::BootstrapSettings;
use crate::cards::Int8Row;
use crate::select::headline;
use crate::study::Study;
use crate::suite::{PROTOCOLS, TASKS};
use compare::{frozen_vs_finetune, FrozenVsFinetune};
use grid::{early_stopping_rows, grid_rows, EarlyStoppingRow, GridRow};
use models::{model_result, ModelResult};

#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub profile: String,
    pub device: String,
    pub commit: String,
    pub grid_file: String,
    /// The study folder as it was given to the report.
    pub study: String,
    pub finished_runs: usize,
    pub bootstrap: BootstrapSettings,
    /// protocol → model key → headline entry.
    pub protocols: BTreeMap<String, BTreeMap<String, ModelResult>>,
    pub optimizer_grid: Vec<GridRow>,
    pub early_stopping: Vec<EarlyStoppingRow>,
    pub frozen_vs_finetune: Vec<FrozenVsFinetune>,
    pub int8: Vec<Int8Row>,
    /// One entry per ablation folder the report was given, in the order given.
    pub ablations: Vec<AblationResults>,
    /// What the study or the model folder lacks, in words (also listed in REPORT.md).
    pub missing: Vec<String>,
}

impl Results {
    pub fn model(&self, protocol: &str, task: &str) -> Option<&ModelResult> {
        self.protocols.get(protocol)?.get(task)
    }

    /// Adds an ablation's numbers after those already added (its figure stems made unique
    /// among theirs), and what it lacks to the missing list.
    pub fn with_ablation(mut self, mut ablation: AblationResults) -> Self {
        let mut taken: Vec<String> =
            self.ablations.iter().flat_map(|a| a.calibrations().map(|c| c.figure.clone())).collect();
        ablation.make_figures_unique(&mut taken);
        self.missing.extend(ablation.missing.iter().cloned());
        self.ablations.push(ablation);
        self
    }

    /// The protocols with at least one run, in report order.
    pub fn protocols_present(&self) -> impl Iterator<Item = &'static str> + '_ {
        PROTOCOLS.into_iter().filter(|p| self.protocols.contains_key(*p))
    }
}

fn missing_notes(study: &Study, protocols: &BTreeMap<String, BTreeMap<String, ModelResult>>) -> Vec<String> {
    let mut notes = Vec::new();
    for protocol in PROTOCOLS {
        let Some(models) = protocols.get(protocol) else {
            notes.push(format!("protocol `{protocol}`: not in the study"));
            continue;
        };
        for task in TASKS {
            match models.get(task) {
                None => notes.push(format!("`{task}` ({protocol}): no runs in the study")),
                Some(m) if m.test.accuracy_ci95.is_none() => notes.push(format!(
                    "`{task}` ({protocol}): run {} has no usable test_predictions.csv, so no confidence interval \
                     or ROC curve",
                    m.run
                )),
                Some(_) => {}
            }
        }
    }
    for run in study.runs.iter().filter(|r| r.history.is_none()) {
        notes.push(format!("run {}: no history.csv, so no training curves", run.plan.name));
    }
    notes
}

pub fn build(study: &Study, int8: Vec<Int8Row>) -> Results {
    let bootstrap = BootstrapSettings::default();
    let mut protocols: BTreeMap<String, BTreeMap<String, ModelResult>> = BTreeMap::new();
    for protocol in PROTOCOLS {
        for task in TASKS {
            if let Some(h) = headline(study, task, protocol) {
                let entry = protocols.entry(protocol.to_string()).or_default();
                entry.insert(task.to_string(), model_result(&h, &bootstrap));
            }
        }
    }
    let optimizer_grid = grid_rows(study);
    let mut missing = missing_notes(study, &protocols);
    if int8.is_empty() {
        missing.push("no model cards (models/*.json): no float vs int8 comparison".into());
    }
    Results {
        profile: study.suite.profile.clone(),
        device: study.suite.device.clone(),
        commit: study.suite.commit.clone(),
        grid_file: study.suite.grid_file.clone(),
        study: study.dir.display().to_string(),
        finished_runs: study.runs.len(),
        bootstrap,
        early_stopping: early_stopping_rows(study, &optimizer_grid),
        frozen_vs_finetune: frozen_vs_finetune(&protocols),
        optimizer_grid,
        protocols,
        int8,
        ablations: Vec::new(),
        missing,
    }
}
