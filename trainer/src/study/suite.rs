//! `trainer suite`: a whole study from a grid file, resumable. Phase by phase — grid, then
//! early stopping and fine-tuning of the best grid settings, then the headline settings at
//! every seed — each run is an ordinary run folder under the study folder. A run whose
//! metrics.json exists is finished and never redone (it is written last, atomically); a
//! folder without it is a run cut short, deleted and trained again. So a crash or a
//! `kill -9` loses at most the run that was training.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use super::grid::{Grid, Profile, TaskKind};
use super::plan::{grid_key, grid_runs, Base, ModelKey, Phase, PlannedRun, Setting};
use super::select::{best, Finished};
use crate::run::{read_metrics, train_run};
use crate::train::TrainConfig;
use crate::util::device::{device_name, pick_device};
use crate::util::fs::write_atomic;
use crate::util::git::git_commit;
use crate::util::progress;

/// What `trainer suite` was asked to do.
pub struct SuiteOptions {
    pub grid_file: PathBuf,
    pub profile: Profile,
    /// The study folder.
    pub out: PathBuf,
    /// Data folder, cache folder and device for every run (the rest comes from the grid).
    pub template: TrainConfig,
}

/// suite.json: the plan so far (see study-report/FORMAT.md).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteFile {
    pub grid_file: String,
    pub profile: Profile,
    pub device: String,
    pub commit: String,
    pub runs: Vec<PlannedRun>,
}

/// The study's state while it runs.
struct Study<'a> {
    opts: &'a SuiteOptions,
    grid: Grid,
    base: Base,
    file: SuiteFile,
    finished: Vec<Finished>,
    bar: ProgressBar,
    command: &'a str,
}

/// Runs (or resumes) the whole study; returns suite.json's contents.
pub fn run_suite(opts: &SuiteOptions, command: &str) -> Result<SuiteFile> {
    let grid = Grid::load(&opts.grid_file)?;
    std::fs::create_dir_all(&opts.out).with_context(|| format!("cannot create {}", opts.out.display()))?;
    let mut template = opts.template.clone();
    template.runs_dir = opts.out.clone();
    let base = Base { template, split_seed: grid.split_seed };
    let file = SuiteFile {
        grid_file: opts.grid_file.display().to_string(),
        profile: opts.profile,
        device: device_name(pick_device(opts.template.cpu)),
        commit: git_commit(),
        runs: vec![],
    };
    let started = Instant::now();
    let bar = progress::overall_bar(estimated_cost(&grid, &base, opts.profile), "study");
    let mut s = Study { opts, grid, base, file, finished: vec![], bar, command };
    s.grid_phase()?;
    s.second_phase()?;
    s.seeds_phase()?;
    s.bar.finish_and_clear();
    eprintln!(
        "study finished: {} runs in {} ({:.1} min this invocation); next: trainer report --study {}",
        s.file.runs.len(),
        opts.out.display(),
        started.elapsed().as_secs_f64() / 60.0,
        opts.out.display()
    );
    Ok(s.file)
}

/// Cost of the whole plan, before the later phases' choices are known: each later run is
/// counted as long as its task's longest grid run.
fn estimated_cost(grid: &Grid, base: &Base, profile: Profile) -> u64 {
    let mut total = 0;
    for &protocol in &grid.protocols {
        for task in &grid.tasks {
            let sizes = task.sizes(profile);
            let runs = grid_runs(base, task, sizes, protocol);
            let longest = runs.iter().map(|r| r.cost).max().unwrap_or(0);
            let mut later = (1 + grid.seeds.len() as u64) * longest;
            if task.task == TaskKind::MobilenetV2 {
                let s = Setting {
                    key: ModelKey::MobilenetV2Finetune,
                    protocol,
                    optimizer: runs[0].optimizer,
                    lr: 1e-3,
                };
                let ft = base.run(
                    Phase::Finetune,
                    &s,
                    sizes,
                    (sizes.finetune_epochs.unwrap_or(1), vec![], None, 0),
                );
                later += (1 + grid.seeds.len() as u64) * ft.cost;
            }
            total += runs.iter().map(|r| r.cost).sum::<u64>() + later;
        }
    }
    total
}

impl Study<'_> {
    fn grid_phase(&mut self) -> Result<()> {
        let mut plan = Vec::new();
        for &protocol in &self.grid.protocols {
            for task in &self.grid.tasks {
                plan.extend(grid_runs(&self.base, task, task.sizes(self.opts.profile), protocol));
            }
        }
        self.execute(plan)
    }

    /// Early stopping on every task's best grid setting, and fine-tuning of MobileNetV2's.
    fn second_phase(&mut self) -> Result<()> {
        let mut plan = Vec::new();
        for &protocol in &self.grid.protocols {
            for task in &self.grid.tasks {
                let sizes = task.sizes(self.opts.profile);
                let key = grid_key(task.task);
                let choice = self.best_of(protocol, key, &[Phase::Grid])?;
                let max = *sizes.epochs.last().expect("checked grid");
                let es = (max, vec![], Some(sizes.patience), self.grid.split_seed);
                plan.push(self.base.run(Phase::EarlyStopping, &choice.setting, sizes, es));
                if let Some(epochs) = sizes.finetune_epochs.filter(|_| task.task == TaskKind::MobilenetV2) {
                    let s = Setting { key: ModelKey::MobilenetV2Finetune, ..choice.setting };
                    plan.push(self.base.run(
                        Phase::Finetune,
                        &s,
                        sizes,
                        (epochs, vec![], None, self.grid.split_seed),
                    ));
                }
            }
        }
        self.execute(plan)
    }

    /// Each model's setting chosen on validation (grid point, early stopping or fine-tuning),
    /// at every headline seed.
    fn seeds_phase(&mut self) -> Result<()> {
        let mut plan = Vec::new();
        for &protocol in &self.grid.protocols {
            for task in &self.grid.tasks {
                let sizes = task.sizes(self.opts.profile).clone();
                let mut keys = vec![grid_key(task.task)];
                if task.task == TaskKind::MobilenetV2 && sizes.finetune_epochs.is_some() {
                    keys.push(ModelKey::MobilenetV2Finetune);
                }
                for key in keys {
                    let c =
                        self.best_of(protocol, key, &[Phase::Grid, Phase::EarlyStopping, Phase::Finetune])?;
                    for &seed in &self.grid.seeds {
                        let what = (c.epochs, vec![], c.patience, seed);
                        plan.push(self.base.run(Phase::Seeds, &c.setting, &sizes, what));
                    }
                }
            }
        }
        self.execute(plan)
    }

    fn best_of(
        &self,
        protocol: crate::data::Protocol,
        key: ModelKey,
        phases: &[Phase],
    ) -> Result<super::select::Choice> {
        let runs: Vec<&Finished> = self
            .finished
            .iter()
            .filter(|f| f.plan.protocol == protocol && f.plan.task == key && phases.contains(&f.plan.phase))
            .collect();
        best(&runs).with_context(|| format!("no finished {} run on {protocol:?} to choose from", key.name()))
    }

    /// Adds `plan` to suite.json, then trains every run of it that is not finished yet.
    fn execute(&mut self, plan: Vec<PlannedRun>) -> Result<()> {
        self.file.runs.extend(plan.iter().cloned());
        write_atomic(&self.opts.out.join("suite.json"), &serde_json::to_vec_pretty(&self.file)?)?;
        for p in plan {
            self.bar.set_message(p.name.clone());
            let dir = self.opts.out.join(&p.name);
            let (metrics, trained) = finish_run(&dir, &p.config, self.command, "the grid")?;
            self.bar.inc(p.cost);
            if !trained {
                // A skipped run took no time: do not let it make the ETA optimistic.
                self.bar.reset_eta();
            }
            self.finished.push(Finished { plan: p, metrics });
        }
        Ok(())
    }
}

/// The metrics of the run `cfg` trains into `dir`, training it unless it already finished
/// (a folder without metrics.json was cut short and is trained again). `planner` names what
/// asked for the run, for the error when a finished run has other settings. Returns whether
/// it trained now.
pub fn finish_run(
    dir: &Path,
    cfg: &TrainConfig,
    command: &str,
    planner: &str,
) -> Result<(crate::run::metrics_file::MetricsFile, bool)> {
    if dir.join("metrics.json").exists() {
        let m = read_metrics(dir)?;
        anyhow::ensure!(
            same_settings(&m.config, cfg)?,
            "{} finished with other settings than {planner} now asks for: move it away or use another --out",
            dir.display()
        );
        return Ok((m, false));
    }
    if dir.exists() {
        eprintln!("{} was cut short: training it again", dir.display());
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok((train_run(cfg, command)?, true))
}

/// Whether two configs train the same model (where data and caches live does not count).
fn same_settings(a: &TrainConfig, b: &TrainConfig) -> Result<bool> {
    let strip = |c: &TrainConfig| -> Result<serde_json::Value> {
        let mut v = serde_json::to_value(c)?;
        if let Some(o) = v.as_object_mut() {
            for k in ["data", "runs_dir", "cache_dir", "cpu"] {
                o.remove(k);
            }
        }
        Ok(v)
    };
    Ok(strip(a)? == strip(b)?)
}
