//! An ablation as data (`experiments/official_ablation.toml`): a baseline recipe and rows
//! that each change it, every row trained at the same seeds. `trainer ablation` runs them
//! resumably into one folder (a run is finished when its metrics.json exists) and writes
//! `ablation.json`, which `trainer report --ablation` turns into the report's table.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use clap::{Args, FromArgMatches};
use serde::{Deserialize, Serialize};

use super::grid::located;
use super::suite::finish_run;
use crate::train::TrainConfig;
use crate::util::fs::write_atomic;
use crate::util::git::git_commit;
use crate::util::progress;

/// The ablation file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationFile {
    /// Seeds every row runs at (split of the validation patients, weights, shuffling).
    pub seeds: Vec<u64>,
    /// The row the others are compared with.
    pub baseline: String,
    /// `trainer train` options every row shares.
    pub common: Vec<String>,
    #[serde(rename = "row")]
    pub rows: Vec<AblationRow>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationRow {
    pub name: String,
    /// What the row changes, in words.
    pub change: String,
    /// Options added to `common` (later options win).
    #[serde(default)]
    pub args: Vec<String>,
}

/// What `trainer ablation` writes beside the runs (study-report/FORMAT.md).
#[derive(Clone, Debug, Serialize)]
pub struct AblationJson {
    pub file: String,
    pub profile: String,
    pub device: String,
    pub commit: String,
    pub baseline: String,
    pub rows: Vec<AblationJsonRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AblationJsonRow {
    pub name: String,
    pub change: String,
    /// The `trainer train` command of one seed (`{seed}` stands for it).
    pub command: String,
    pub seeds: Vec<u64>,
    pub runs: Vec<String>,
}

impl AblationFile {
    pub fn load(path: &Path) -> Result<AblationFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read ablation file {}", path.display()))?;
        let f: AblationFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!(located(&text, &e)))
            .with_context(|| format!("ablation file {} is not valid", path.display()))?;
        ensure!(!f.seeds.is_empty(), "ablation file {}: `seeds` is empty", path.display());
        ensure!(
            f.rows.iter().any(|r| r.name == f.baseline),
            "ablation file {}: the baseline {:?} is not a [[row]]",
            path.display(),
            f.baseline
        );
        for (i, r) in f.rows.iter().enumerate() {
            ensure!(
                !r.name.is_empty()
                    && r.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "ablation file {}: row name {:?} must be letters, digits, '-' or '_'",
                path.display(),
                r.name
            );
            ensure!(
                f.rows[..i].iter().all(|o| o.name != r.name),
                "ablation file {}: row {:?} appears twice",
                path.display(),
                r.name
            );
        }
        Ok(f)
    }

    /// The `trainer train` arguments of `row` at `seed`, its run folder under `out`.
    fn args(&self, row: &AblationRow, seed: &str, out: &Path, data: (&Path, &Path)) -> Vec<String> {
        let mut a: Vec<String> = vec!["train".into()];
        a.extend(without_options(&self.common, &row.args));
        a.extend(row.args.iter().cloned());
        let (data, cache) = data;
        a.extend([
            "--seed".into(),
            seed.into(),
            "--name".into(),
            format!("{}-s{seed}", row.name),
            "--runs-dir".into(),
            out.display().to_string(),
            "--data".into(),
            data.display().to_string(),
            "--cache-dir".into(),
            cache.display().to_string(),
        ]);
        a
    }
}

/// `common` without the options `row` sets (an option and its value, when one follows), so
/// the row's value replaces the shared one.
fn without_options(common: &[String], row: &[String]) -> Vec<String> {
    let set: Vec<&String> = row.iter().filter(|a| a.starts_with("--")).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < common.len() {
        let takes_value = common.get(i + 1).is_some_and(|v| !v.starts_with("--"));
        let len = if common[i].starts_with("--") && takes_value { 2 } else { 1 };
        if !set.contains(&&common[i]) {
            out.extend_from_slice(&common[i..i + len]);
        }
        i += len;
    }
    out
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

/// The config `args` (a `trainer train` command line) describes.
fn parse_train(args: &[String]) -> Result<TrainConfig> {
    let cmd = TrainConfig::augment_args(clap::Command::new("train").no_binary_name(false));
    let m = cmd.try_get_matches_from(args).with_context(|| format!("bad options: {}", args.join(" ")))?;
    let cli = TrainConfig::from_arg_matches(&m)?;
    TrainConfig::from_command_line(cli, None, &m)
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
    for row in &todo {
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
    bar.finish_and_clear();
    // ablation.json lists the baseline, the rows run now and those a run folder already holds;
    // a row never run in this folder (left out by --rows) is not part of its results.
    let ran = |row: &AblationRow| {
        row.name == file.baseline
            || todo.iter().any(|t| t.name == row.name)
            || file.seeds.iter().any(|s| a.out.join(format!("{}-s{s}", row.name)).join("metrics.json").exists())
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
                file.args(row, "{seed}", &a.out, (&a.data, &a.cache_dir)).join(" ")
            ),
            seeds: file.seeds.clone(),
            runs: file.seeds.iter().map(|s| format!("{}-s{s}", row.name)).collect(),
        })
        .collect();
    let json = AblationJson {
        file: a.file.display().to_string(),
        profile: a.profile.clone(),
        device,
        commit: git_commit(),
        baseline: file.baseline.clone(),
        rows,
    };
    write_atomic(&a.out.join("ablation.json"), &serde_json::to_vec_pretty(&json)?)?;
    println!("{} rows → {}", json.rows.len(), a.out.join("ablation.json").display());
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_ablation_parses_and_every_row_is_a_valid_run() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        let files = [
            "official_ablation.toml",
            "official_ablation_gpu.toml",
            "official_finetune_cpu.toml",
            "official_recipe.toml",
            "pooled_recipe.toml",
        ];
        for file in files {
            let f = AblationFile::load(&dir.join(file)).unwrap();
            assert!(f.seeds.len() >= 3);
            check_rows(&f);
        }
    }

    fn check_rows(f: &AblationFile) {
        for row in &f.rows {
            let cfg =
                parse_train(&f.args(row, "7", Path::new("x"), (Path::new("d"), Path::new("c")))).unwrap();
            cfg.validate().unwrap();
            assert_eq!(cfg.seed, 7);
            assert_eq!(cfg.run_name(), format!("{}-s7", row.name));
        }
    }

    #[test]
    fn a_row_option_replaces_the_shared_one() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let common = s(&["--width", "1.0", "--cpu", "--lr", "0.001"]);
        assert_eq!(without_options(&common, &s(&["--width", "0.35"])), s(&["--cpu", "--lr", "0.001"]));
        assert_eq!(without_options(&common, &s(&["--cpu"])), s(&["--width", "1.0", "--lr", "0.001"]));
    }

    #[test]
    fn a_bad_file_names_itself_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(
            &p,
            "seeds = [1]\nbaseline = \"b\"\ncommon = []\n[[row]]\nname = \"a\"\nchange = \"x\"\n",
        )
        .unwrap();
        let e = format!("{:#}", AblationFile::load(&p).unwrap_err());
        assert!(e.contains("a.toml") && e.contains("baseline"), "{e}");
        std::fs::write(&p, "seeds = [1]\nbaseline = 3\n").unwrap();
        let e = format!("{:#}", AblationFile::load(&p).unwrap_err());
        assert!(e.contains("line 2"), "{e}");
    }
}
