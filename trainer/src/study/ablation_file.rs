//! An ablation file (`experiments/official_ablation.toml`): a baseline recipe and rows that
//! each change it, every row at the same seeds; a row may train (`trainer train`, optionally
//! at seed + k on the seed's split) or average other rows' runs (`trainer ensemble`). This
//! module reads the file and writes each row's command line; `ablation` runs them.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};

use super::grid::located;

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
    /// The rule the report's shifted-validation table chooses by, when the file pre-registers
    /// one (default: the highest shifted-validation accuracy, `shifted_validation.md`).
    #[serde(default)]
    pub shifted_rule: Option<ShiftedRule>,
    #[serde(rename = "row")]
    pub rows: Vec<AblationRow>,
}

/// A pre-registered choice among rows by shifted validation (`experiments/specificity_selection.md`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftedRule {
    /// The mean over views and seeds that chooses: `accuracy` or `specificity`.
    pub score: ShiftedScore,
    /// Rows whose mean shifted-validation sensitivity is below this are not candidates.
    #[serde(default)]
    pub min_sensitivity: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftedScore {
    Accuracy,
    Specificity,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationRow {
    pub name: String,
    /// What the row changes, in words.
    pub change: String,
    /// Options added to `common` (later options win); for a row with `members`, options of
    /// `trainer ensemble`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Trains at `--seed` seed + this, on the split of the file's seed (`--split-seed`): one
    /// more initialisation on the same patients, for an ensemble.
    #[serde(default)]
    pub seed_offset: u64,
    /// Rows whose runs at the same seed this row averages (`trainer ensemble`); such a row
    /// trains nothing, and its `args` go to `trainer ensemble` (e.g. `--views crops`).
    #[serde(default)]
    pub members: Vec<String>,
}

impl AblationRow {
    /// The run folder (and `--name`) of this row at `seed`, which may be the `{seed}` placeholder.
    pub fn run_name(&self, seed: impl std::fmt::Display) -> String {
        run_name(&self.name, seed)
    }
}

impl AblationFile {
    pub fn load(path: &Path) -> Result<AblationFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read ablation file {}", path.display()))?;
        let f: AblationFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!(located(&text, &e)))
            .with_context(|| format!("ablation file {} is not valid", path.display()))?;
        ensure!(!f.seeds.is_empty(), "ablation file {}: `seeds` is empty", path.display());
        let floor = f.shifted_rule.as_ref().and_then(|r| r.min_sensitivity);
        ensure!(
            floor.is_none_or(|m| (0.0..=1.0).contains(&m)),
            "ablation file {}: shifted_rule.min_sensitivity must be in [0, 1], got {floor:?}",
            path.display()
        );
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
            let trained = |m: &String| f.rows.iter().any(|o| &o.name == m && o.members.is_empty());
            let viewed = r.args.iter().any(|a| a == "--views");
            ensure!(
                r.members.iter().all(trained)
                    && (r.members.is_empty() || r.members.len() >= 2 || (r.members.len() == 1 && viewed)),
                "ablation file {}: row {:?} needs two or more `members` that are rows which train \
                 (one is enough with `args = [\"--views\", …]`)",
                path.display(),
                r.name
            );
            ensure!(
                r.members.is_empty() || r.seed_offset == 0,
                "ablation file {}: row {:?} averages members, so it takes no `seed_offset`",
                path.display(),
                r.name
            );
        }
        Ok(f)
    }

    /// The `trainer ensemble` arguments of the ensemble `row` at `seed`: its members' runs at
    /// that seed, under `out`.
    pub fn ensemble_args(&self, row: &AblationRow, seed: &str, out: &Path, data: &Path) -> Vec<String> {
        let mut a: Vec<String> = vec!["ensemble".into()];
        for m in &row.members {
            a.extend(["--run".into(), out.join(run_name(m, seed)).display().to_string()]);
        }
        a.extend(row.args.iter().cloned());
        a.extend(folder_args(row, seed, out, data));
        if self.common.iter().any(|o| o == "--cpu") {
            a.push("--cpu".into());
        }
        a
    }

    /// The command of `row` at `seed` (`trainer train`, or `trainer ensemble` for members).
    pub fn command(&self, row: &AblationRow, seed: &str, out: &Path, data: (&Path, &Path)) -> Vec<String> {
        if row.members.is_empty() {
            self.args(row, seed, out, data)
        } else {
            self.ensemble_args(row, seed, out, data.0)
        }
    }

    /// The `trainer train` arguments of `row` at `seed`, its run folder under `out`.
    pub fn args(&self, row: &AblationRow, seed: &str, out: &Path, data: (&Path, &Path)) -> Vec<String> {
        let mut a: Vec<String> = vec!["train".into()];
        a.extend(without_options(&self.common, &row.args));
        a.extend(row.args.iter().cloned());
        let (data, cache) = data;
        // With an offset the seed moves and the split stays: `{seed+10}` in a printed command.
        let trained_at = match (row.seed_offset, seed.parse::<u64>()) {
            (0, _) => seed.to_string(),
            (k, Ok(s)) => (s + k).to_string(),
            (k, Err(_)) => format!("{{seed+{k}}}"),
        };
        a.extend(["--seed".into(), trained_at]);
        if row.seed_offset > 0 {
            a.extend(["--split-seed".into(), seed.into()]);
        }
        a.extend(folder_args(row, seed, out, data));
        a.extend(["--cache-dir".into(), cache.display().to_string()]);
        a
    }
}

/// The run folder of the row named `row` at `seed` (for an ensemble, of each member row too).
fn run_name(row: &str, seed: impl std::fmt::Display) -> String {
    format!("{row}-s{seed}")
}

/// Where the run of `row` at `seed` goes and which data it reads (either command).
fn folder_args(row: &AblationRow, seed: &str, out: &Path, data: &Path) -> [String; 6] {
    [
        "--name".into(),
        row.run_name(seed),
        "--runs-dir".into(),
        out.display().to_string(),
        "--data".into(),
        data.display().to_string(),
    ]
}

/// `common` without the options `row` sets (an option and its value, when one follows), so
/// the row's value replaces the shared one.
pub fn without_options(common: &[String], row: &[String]) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_file_may_pre_register_its_shifted_rule() {
        let f = AblationFile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/official_specificity.toml"),
        )
        .unwrap();
        let rule = ShiftedRule { score: ShiftedScore::Specificity, min_sensitivity: Some(0.9) };
        assert_eq!(f.shifted_rule, Some(rule));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        let row = "[[row]]\nname = \"b\"\nchange = \"x\"\n";
        let head = "seeds = [1]\nbaseline = \"b\"\ncommon = []\n[shifted_rule]\n";
        std::fs::write(&p, format!("{head}score = \"specificity\"\nmin_sensitivity = 1.5\n{row}")).unwrap();
        assert!(format!("{:#}", AblationFile::load(&p).unwrap_err()).contains("min_sensitivity"));
        std::fs::write(&p, format!("{head}score = \"auc\"\n{row}")).unwrap();
        assert!(format!("{:#}", AblationFile::load(&p).unwrap_err()).contains("r.toml"));
    }

    #[test]
    fn an_ensemble_needs_rows_that_train() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.toml");
        let head = "seeds = [1]\nbaseline = \"b\"\ncommon = []\n[[row]]\nname = \"b\"\nchange = \"x\"\n";
        std::fs::write(
            &p,
            format!("{head}[[row]]\nname = \"e\"\nchange = \"y\"\nmembers = [\"b\", \"nope\"]\n"),
        )
        .unwrap();
        let e = format!("{:#}", AblationFile::load(&p).unwrap_err());
        assert!(e.contains("e.toml") && e.contains("\"e\"") && e.contains("members"), "{e}");
        // One member averages nothing unless it is seen through several views.
        std::fs::write(&p, format!("{head}[[row]]\nname = \"e\"\nchange = \"y\"\nmembers = [\"b\"]\n"))
            .unwrap();
        assert!(format!("{:#}", AblationFile::load(&p).unwrap_err()).contains("--views"));
        let viewed =
            "[[row]]\nname = \"e\"\nchange = \"y\"\nmembers = [\"b\"]\nargs = [\"--views\", \"crops\"]\n";
        std::fs::write(&p, format!("{head}{viewed}")).unwrap();
        let f = AblationFile::load(&p).unwrap();
        let cmd = f.command(&f.rows[1], "1", Path::new("out"), (Path::new("d"), Path::new("c"))).join(" ");
        assert!(cmd.starts_with("ensemble --run out/b-s1 --views crops --name e-s1"), "{cmd}");
    }

    #[test]
    fn an_offset_row_prints_its_seed_and_keeps_the_split() {
        let f = AblationFile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/official_variants.toml"),
        )
        .unwrap();
        let row = f.rows.iter().find(|r| r.seed_offset == 10).unwrap();
        let cmd = f.command(row, "{seed}", Path::new("out"), (Path::new("d"), Path::new("c"))).join(" ");
        assert!(cmd.contains("--seed {seed+10} --split-seed {seed} --name recipe_init10-s{seed}"), "{cmd}");
        let e = f.rows.iter().find(|r| !r.members.is_empty()).unwrap();
        let cmd = f.command(e, "4", Path::new("out"), (Path::new("d"), Path::new("c"))).join(" ");
        assert!(cmd.starts_with("ensemble --run out/recipe-s4 --run out/"), "{cmd}");
    }
}
