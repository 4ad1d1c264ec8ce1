//! `trainer report`: turns a `trainer suite` study folder (FORMAT.md) and the model cards in
//! `models/` into `results.json`, `REPORT.md` and `figures/`, optionally with one or more
//! ablation folders (`write_report_with_ablation`). No libtorch: it only reads files.

pub mod ablation;
pub mod bootstrap;
pub mod calibration;
pub mod cards;
pub mod figures;
pub mod history;
mod markdown;
pub mod metrics;
pub mod predictions;
pub mod results;
pub mod seed_numbers;
pub mod select;
pub mod stats;
pub mod study;
pub mod suite;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use results::Results;

/// What `write_report` wrote.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    pub results_json: PathBuf,
    pub report_md: PathBuf,
    /// Every figure file written (PNG and SVG).
    pub figures: Vec<PathBuf>,
    pub finished_runs: usize,
    /// What the study lacks, as also listed in REPORT.md.
    pub missing: Vec<String>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads the study folder and the model cards in `models_dir` (absent: no int8 section) and
/// writes `out_dir/results.json`, `out_dir/REPORT.md` and `out_dir/figures/*.{png,svg}`.
pub fn write_report(study: &Path, models_dir: &Path, out_dir: &Path) -> Result<ReportSummary> {
    write_report_with_ablation::<&Path>(study, models_dir, out_dir, &[])
}

/// `write_report`, plus, per ablation folder (FORMAT.md) in the order given: a section named
/// after its protocol and planning file, one entry of results.json's `ablations` and the
/// reliability diagrams of its validation choice and baseline.
pub fn write_report_with_ablation<P: AsRef<Path>>(
    study: &Path,
    models_dir: &Path,
    out_dir: &Path,
    ablations: &[P],
) -> Result<ReportSummary> {
    let study = study::read_study(study)?;
    let mut results = results::build(&study, cards::read_int8_rows(models_dir)?);
    for dir in ablations {
        let a = ablation::build(&ablation::read::read_ablation(dir.as_ref())?, &results.bootstrap);
        results = results.with_ablation(a);
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let stems = figures::draw_all(&study, &results, &out_dir.join("figures"))?;
    let results_json = out_dir.join("results.json");
    write(&results_json, &serde_json::to_vec_pretty(&results)?)?;
    let report_md = out_dir.join("REPORT.md");
    write(&report_md, markdown::render(&results, &stems).as_bytes())?;
    let figures = stems
        .iter()
        .flat_map(|s| ["png", "svg"].map(|ext| out_dir.join("figures").join(format!("{s}.{ext}"))))
        .collect();
    Ok(ReportSummary {
        results_json,
        report_md,
        figures,
        finished_runs: results.finished_runs,
        missing: results.missing,
    })
}
