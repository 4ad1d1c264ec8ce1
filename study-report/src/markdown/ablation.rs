//! The ablation section: how each single change to the baseline recipe does on the official
//! test split, the row validation prefers, every row's command, and that row's calibration.

use std::fmt::Write;

use super::fmt::{figure, opt3, pct, pct_ci};
use crate::ablation::table::AblationRow;
use crate::ablation::{AblationResults, ChoiceCalibration};
use crate::bootstrap::BootstrapSettings;
use crate::figures::reliability::STEM;

fn seeds_list(seeds: &[u64]) -> String {
    seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// Text inside a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn protocol_sentence(a: &AblationResults, b: &BootstrapSettings) -> String {
    let first = a.rows.first().map(|r| &r.planned_seeds);
    let seeds = match first {
        Some(s) if a.rows.iter().all(|r| &r.planned_seeds == s) => format!("at seeds {}", seeds_list(s)),
        _ => "at the seeds listed per row".into(),
    };
    let images = a
        .rows
        .iter()
        .find_map(|r| r.numbers.as_ref())
        .map_or(String::new(), |n| format!(" ({} images)", n.test_images));
    format!(
        "Each row changes one thing against the baseline recipe (`{}`) and is trained {seeds} on the \
         `official` protocol: the dataset's fixed test split{images}, validation carved from the training \
         patients. Profile `{}`, device {}, commit `{}`, planned in `{}`; folder `{}`. Test accuracy is the \
         mean ± sd (points) across the finished seeds, each at the threshold it chose on validation; the \
         95% CI is a {} bootstrap of that seed mean ({} resamples, seed {}, one draw of patients for all \
         seeds). ✓ marks the validation choice: the highest mean validation accuracy among rows with \
         every run finished. Test accuracy never chooses.\n\n",
        a.baseline, a.profile, a.device, a.commit, a.file, a.folder, b.unit, b.resamples, b.seed
    )
}

fn table_row(r: &AblationRow, baseline: &str) -> String {
    let mark = if r.validation_choice { "✓" } else { "" };
    let name = if r.validation_choice { format!("**{}**", r.name) } else { r.name.clone() };
    let Some(n) = &r.numbers else {
        let planned = r.planned_seeds.len();
        return format!(
            "| {mark} | {name} | {} | 0 of {planned} | not finished | — | — | — | — | — | — | — |\n",
            cell(&r.change)
        );
    };
    let planned = r.planned_seeds.len();
    let seeds = if n.n == planned { n.n.to_string() } else { format!("{} of {planned}", n.n) };
    let sd = n.test_accuracy_sd.map_or("—".into(), |sd| format!("{:.2}", 100.0 * sd));
    let delta = match n.delta_vs_baseline {
        _ if r.name == baseline => "baseline".into(),
        Some(d) => format!("{:+.2}", 100.0 * d),
        None => "—".into(),
    };
    let rule = n.threshold_rule.as_ref().map_or(String::new(), |r| format!(" ({r})"));
    format!(
        "| {mark} | {name} | {} | {seeds} | {} | {} ± {sd} | {} | {delta} | {:.3} | {:.3} | {} | {:.2}{rule} |\n",
        cell(&r.change),
        pct(n.validation_accuracy),
        pct(n.test_accuracy),
        pct_ci(n.test_accuracy_ci95),
        n.sensitivity,
        n.specificity,
        opt3(n.auc),
        n.threshold
    )
}

fn calibration(c: &ChoiceCalibration, figures: &[String]) -> String {
    let mut s = format!("### Calibration of the validation choice (`{}`)\n\n", c.row);
    let per_seed: Vec<String> = c.seeds.iter().map(|x| format!("seed {} {:.3}", x.seed, x.ece)).collect();
    let sd = c.ece_sd.map_or("—".into(), |sd| format!("{sd:.3}"));
    let _ = writeln!(
        s,
        "Expected calibration error of p(pneumonia) on the official test split, {} equal-width bins \
         (ECE = Σ n_b/N · |mean p − fraction with pneumonia|; 0 is perfectly calibrated): {:.3} ± {sd} \
         across {} seeds ({}).\n",
        c.bins,
        c.ece_mean,
        c.seeds.len(),
        per_seed.join(", ")
    );
    if let Some(first) = c.seeds.first() {
        let _ = writeln!(s, "Reliability bins of seed {} (`{}`):\n", first.seed, first.run);
        s += "| p(pneumonia) bin | images | mean p | fraction with pneumonia |\n|---|---|---|---|\n";
        for (i, b) in first.bins.iter().enumerate() {
            let close = if i + 1 == first.bins.len() { "]" } else { ")" };
            let _ = writeln!(
                s,
                "| [{:.1}, {:.1}{close} | {} | {} | {} |",
                b.lo,
                b.hi,
                b.count,
                opt3(b.mean_confidence),
                opt3(b.observed_frequency)
            );
        }
        s += "\n";
    }
    s + &figure(figures, STEM, "reliability diagram of the validation choice")
}

/// `## Generalizing to the official test split (ablation)`.
pub fn ablation_section(a: &AblationResults, bootstrap: &BootstrapSettings, figures: &[String]) -> String {
    let mut s = String::from("## Generalizing to the official test split (ablation)\n\n");
    s += &protocol_sentence(a, bootstrap);
    s += "| ✓ | row | change | seeds | val accuracy | official test accuracy | 95% CI | Δ vs baseline (points) \
          | sensitivity | specificity | AUC | threshold |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for r in &a.rows {
        s += &table_row(r, &a.baseline);
    }
    s += "\nCommands (`{seed}` is each seed in turn):\n\n";
    for r in &a.rows {
        let _ = writeln!(s, "- `{}` (seeds {}): `{}`", r.name, seeds_list(&r.planned_seeds), r.command);
    }
    s += "\n";
    match (&a.validation_choice, &a.calibration) {
        (_, Some(c)) => s += &calibration(c, figures),
        (Some(choice), None) => {
            let _ = writeln!(s, "No test predictions for `{choice}`, so no calibration.\n");
        }
        (None, None) => {
            s += "No row has every run finished yet, so no validation choice and no calibration.\n\n"
        }
    }
    s
}
