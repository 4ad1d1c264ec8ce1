//! An ablation as data (`experiments/official_ablation.toml`): a baseline recipe and rows
//! that each change it, every row trained at the same seeds. `trainer ablation` runs them
//! resumably into one folder (a run is finished when its metrics.json exists) and writes
//! `ablation.json`, which `trainer report --ablation` turns into the report's table.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, FromArgMatches};
use serde::Serialize;

use super::ablation_file::{without_options, AblationFile, AblationRow, ShiftedRule};
use super::suite::finish_run;
use crate::run::{ensemble_run, EnsembleArgs};
use crate::train::TrainConfig;
use crate::util::fs::write_atomic;
use crate::util::git::git_commit;
use crate::util::progress;

/// What `trainer ablation` writes beside the runs (study-report/FORMAT.md).
#[derive(Clone, Debug, Serialize)]
pub struct AblationJson {
    pub file: String,
    pub profile: String,
    pub device: String,
    pub commit: String,
    pub baseline: String,
    /// The file's pre-registered shifted-validation rule, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shifted_rule: Option<ShiftedRule>,
    pub rows: Vec<AblationJsonRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AblationJsonRow {
    pub name: String,
    pub change: String,
    /// The `trainer train` (or `trainer ensemble`) command of one seed (`{seed}` stands for it).
    pub command: String,
    pub seeds: Vec<u64>,
    pub runs: Vec<String>,
}

/// `trainer ablation` options.
#[derive(Args)]
pub struct AblationArgs {
    /// The ablation file (TOML, see experiments/official_ablation.toml)
    pub file: PathBuf,
    /// The folder the runs and ablation.json go to
    #[arg(long, default_value = "runs/ablation")]
    pub out: PathBuf,
    /// The chest_xray folder in the Kaggle layout
    #[arg(long, default_value = "../shared/data/chest_xray")]
    pub data: PathBuf,
    /// Where decoded images and frozen features are cached between runs
    #[arg(long, default_value = ".cache")]
    pub cache_dir: PathBuf,
    /// A name for the settings (written to ablation.json; the file's rows decide the sizes)
    #[arg(long, default_value = "cpu")]
    pub profile: String,
    /// Run only these rows (comma-separated); the others keep what they have (ablation.json
    /// lists a row left out only if this folder already holds a finished run of it)
    #[arg(long, value_delimiter = ',')]
    pub rows: Vec<String>,
    /// More `trainer train` options for every row, after the file's `common` (one quoted
    /// string, e.g. "--val-split lowest_ids")
    #[arg(long, allow_hyphen_values = true)]
    pub add: Option<String>,
}

/// `args` (a subcommand's command line) parsed by the options of `A`.
fn matches<A: Args>(name: &'static str, args: &[String]) -> Result<clap::ArgMatches> {
    let cmd = A::augment_args(clap::Command::new(name).no_binary_name(false));
    cmd.try_get_matches_from(args).with_context(|| format!("bad options: {}", args.join(" ")))
}

/// The config `args` (a `trainer train` command line) describes.
fn parse_train(args: &[String]) -> Result<TrainConfig> {
    let m = matches::<TrainConfig>("train", args)?;
    let cli = TrainConfig::from_arg_matches(&m)?;
    TrainConfig::from_command_line(cli, None, &m)
}

/// The ensemble `args` (a `trainer ensemble` command line) describes.
fn parse_ensemble(args: &[String]) -> Result<EnsembleArgs> {
    Ok(EnsembleArgs::from_arg_matches(&matches::<EnsembleArgs>("ensemble", args)?)?)
}

/// Runs every row at every seed (finished runs are kept), then writes `ablation.json`.
pub fn run_ablation(a: &AblationArgs) -> Result<AblationJson> {
    let mut file = AblationFile::load(&a.file)?;
    if let Some(add) = &a.add {
        let extra: Vec<String> = add.split_whitespace().map(String::from).collect();
        file.common = without_options(&file.common, &extra);
        file.common.extend(extra);
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let todo: Vec<&AblationRow> =
        file.rows.iter().filter(|r| a.rows.is_empty() || a.rows.contains(&r.name)).collect();
    let bar = progress::bar((todo.len() * file.seeds.len()) as u64, "ablation", "runs");
    let mut device = String::from("cpu");
    // Rows that train first, then the ensembles of their runs.
    let (trained, ensembles): (Vec<&AblationRow>, Vec<&AblationRow>) =
        todo.iter().partition(|r| r.members.is_empty());
    for row in trained {
        for seed in &file.seeds {
            let args = file.args(row, &seed.to_string(), &a.out, (&a.data, &a.cache_dir));
            let cfg = parse_train(&args)?;
            let dir = a.out.join(cfg.run_name());
            let command = format!("trainer {}", args.join(" "));
            let planner = a.file.display().to_string();
            device = finish_run(&dir, &cfg, &command, &planner)?.0.provenance.device;
            bar.inc(1);
        }
    }
    for row in ensembles {
        for seed in &file.seeds {
            if !a.out.join(row.run_name(seed)).join("metrics.json").exists() {
                let args = file.ensemble_args(row, &seed.to_string(), &a.out, &a.data);
                let e = parse_ensemble(&args)?;
                device = ensemble_run(&e, &format!("trainer {}", args.join(" ")))?.provenance.device;
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    // ablation.json lists the baseline, the rows run now and those a run folder already holds;
    // a row never run in this folder (left out by --rows) is not part of its results.
    let ran = |row: &AblationRow| {
        row.name == file.baseline
            || todo.iter().any(|t| t.name == row.name)
            || file.seeds.iter().any(|s| a.out.join(row.run_name(s)).join("metrics.json").exists())
    };
    let rows = file
        .rows
        .iter()
        .filter(|row| ran(row))
        .map(|row| AblationJsonRow {
            name: row.name.clone(),
            change: row.change.clone(),
            command: format!(
                "trainer {}",
                file.command(row, "{seed}", &a.out, (&a.data, &a.cache_dir)).join(" ")
            ),
            seeds: file.seeds.clone(),
            runs: file.seeds.iter().map(|s| row.run_name(s)).collect(),
        })
        .collect();
    let json = AblationJson {
        file: a.file.display().to_string(),
        profile: a.profile.clone(),
        device,
        commit: git_commit(),
        baseline: file.baseline.clone(),
        shifted_rule: file.shifted_rule.clone(),
        rows,
    };
    write_atomic(&a.out.join("ablation.json"), &serde_json::to_vec_pretty(&json)?)?;
    println!("{} rows → {}", json.rows.len(), a.out.join("ablation.json").display());
    Ok(json)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_committed_ablation_parses_and_every_row_is_a_valid_run() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        // Every TOML with rows is an ablation file: a new one is checked without listing it here.
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if path.extension().is_some_and(|e| e == "toml") && text.contains("[[row]]") {
                files.push(path);
            }
        }
        assert!(files.len() >= 6, "{files:?}");
        for file in files {
            let f = AblationFile::load(&file).unwrap();
            assert!(f.seeds.len() >= 3);
            check_rows(&f);
        }
    }

    fn check_rows(f: &AblationFile) {
        for row in &f.rows {
            if !row.members.is_empty() {
                let args = f.command(row, "7", Path::new("x"), (Path::new("d"), Path::new("c")));
                let e = parse_ensemble(&args).unwrap();
                assert_eq!(e.runs.len(), row.members.len());
                assert_eq!(e.name, format!("{}-s7", row.name));
                continue;
            }
            let cfg =
                parse_train(&f.args(row, "7", Path::new("x"), (Path::new("d"), Path::new("c")))).unwrap();
            cfg.validate().unwrap();
            assert_eq!(cfg.seed, 7 + row.seed_offset);
            assert_eq!(cfg.split_spec().seed, 7);
            assert_eq!(cfg.run_name(), format!("{}-s7", row.name));
        }
    }

    #[test]
    fn the_shipped_recipe_is_the_row_the_cue_rule_chose() {
        // experiments/cue_conflict_validation.md chose official_cue_seeds.toml's
        // `deeper_224_base03_focal_sharpness`; the file scripts/run.sh trains must train exactly
        // that model (names and folders aside), not the rows it replaced.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        let config = |file: &str, row: &str| {
            let f = AblationFile::load(&dir.join(file)).unwrap();
            let r = f.rows.iter().find(|r| r.name == row).unwrap();
            let mut cfg =
                parse_train(&f.args(r, "4", Path::new("x"), (Path::new("d"), Path::new("c")))).unwrap();
            cfg.name = None;
            serde_json::to_value(&cfg).unwrap()
        };
        let shipped = config("official_shipped.toml", "shipped");
        assert_eq!(shipped, config("official_cue_seeds.toml", "deeper_224_base03_focal_sharpness"));
        // The tenth addendum's challenger was the same recipe at seeds 7–9.
        assert_eq!(shipped, config("official_fresh_seeds.toml", "deeper_224_base03_focal_sharpness"));
        // The rows it replaced: the focal recipe (eighth addendum; with its fresh-seed re-runs,
        // which must all be that one recipe) and those before it.
        let focal = config("official_resolution.toml", "deeper_224_base03_focal");
        assert_ne!(shipped, focal);
        for file in ["official_fresh_seeds.toml", "official_more_seeds.toml", "official_cue_seeds.toml"] {
            assert_eq!(focal, config(file, "deeper_224_base03_focal"), "{file}");
        }
        for replaced in ["deeper_224_base03", "deeper_224"] {
            assert_ne!(shipped, config("official_resolution.toml", replaced));
        }
        assert_ne!(shipped, config("official_specificity.toml", "deeper_mixup"));
    }
}
