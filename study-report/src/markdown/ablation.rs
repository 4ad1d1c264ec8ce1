//! One section per ablation folder: how each single change to the baseline recipe does on the
//! test split of the runs' protocol (the official one, or each run's pooled split), the row
//! validation prefers, every row's command, and the calibration of that row and the baseline.

use std::fmt::Write;

use super::fmt::{figure, opt3, pct, pct_ci};
use crate::ablation::table::AblationRow;
use crate::ablation::{test_split_words, AblationResults, ChoiceCalibration};
use crate::bootstrap::BootstrapSettings;

fn seeds_list(seeds: &[u64]) -> String {
    seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// Text inside a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// " (90 images)", " (585–590 images, by run)" or nothing before any run has finished.
fn images(a: &AblationResults) -> String {
    match a.test_images.as_slice() {
        [] => String::new(),
        [n] => format!(" ({n} images)"),
        [lo, .., hi] => format!(" ({lo}–{hi} images, by run)"),
    }
}

/// The planning file, or the folder for an ablation.json without one.
fn plan_label(a: &AblationResults) -> &str {
    if a.file.is_empty() {
        &a.folder
    } else {
        &a.file
    }
}

/// The section's title, naming the protocol and the planning file.
fn title(a: &AblationResults) -> String {
    let file = plan_label(a);
    match a.protocol.as_str() {
        "official" => format!("## Generalizing to the official test split (ablation) (`{file}`)\n\n"),
        "pooled" => format!("## Pooled protocol (`{file}`)\n\n"),
        "mixed" => format!("## Ablation on mixed protocols (`{file}`)\n\n"),
        _ => format!("## Ablation (`{file}`)\n\n"),
    }
}

/// What the runs were trained and tested on.
fn protocol_words(a: &AblationResults) -> String {
    let images = images(a);
    match a.protocol.as_str() {
        "official" => format!(
            "on the `official` protocol: the dataset's fixed test split{images}, validation carved from the \
             training patients"
        ),
        "pooled" => format!(
            "on the `pooled` protocol: all images of the dataset pooled and split 60/20/20 into training, \
             validation and test by patient, with the run's split seed (its `--split-seed`, else its seed); \
             test accuracy is on that split's test patients{images}, drawn from the same pool as the \
             training patients, not on the official test split"
        ),
        "mixed" => format!(
            "on runs that do not share one protocol (`official` and `pooled`, see the missing list), so \
             each run is tested on its own protocol's test split{images} and the rows are not measured \
             on the same images"
        ),
        _ => "on a protocol not known yet (no run has finished and the commands name none)".into(),
    }
}

fn protocol_sentence(a: &AblationResults, b: &BootstrapSettings) -> String {
    let first = a.rows.first().map(|r| &r.planned_seeds);
    let seeds = match first {
        Some(s) if a.rows.iter().all(|r| &r.planned_seeds == s) => format!("at seeds {}", seeds_list(s)),
        _ => "at the seeds listed per row".into(),
    };
    let draw = if a.protocol == "official" {
        "one draw of patients for all seeds"
    } else {
        "one draw of patients for all seeds from the union of their test patients, each seed counting the \
         drawn patients of its own split"
    };
    format!(
        "Each row changes one thing against the baseline recipe (`{}`) and is trained {seeds} {}. \
         Profile `{}`, device {}, commit `{}`, planned in `{}`; folder `{}`. Test accuracy is the \
         mean ± sd (points) across the finished seeds, each at the threshold it chose on validation; the \
         95% CI is a {} bootstrap of that seed mean ({} resamples, seed {}, {draw}). ✓ marks the \
         validation choice: the highest mean validation accuracy among rows with every run finished. \
         Test accuracy never chooses.\n\n",
        a.baseline,
        protocol_words(a),
        a.profile,
        a.device,
        a.commit,
        a.file,
        a.folder,
        b.unit,
        b.resamples,
        b.seed
    )
}

fn table_row(r: &AblationRow, baseline: &str) -> String {
    let mark = if r.validation_choice { "✓" } else { "" };
    let name = if r.validation_choice { format!("**{}**", r.name) } else { r.name.clone() };
    let Some(n) = &r.numbers else {
        let planned = r.planned_seeds.len();
        return format!(
            "| {mark} | {name} | {} | 0 of {planned} | not finished | — | — | — | — | — | — | — | — |\n",
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
        "| {mark} | {name} | {} | {seeds} | {} | {} ± {sd} | {} | {delta} | {:.3} | {:.3} | {} | {} | {:.2}{rule} |\n",
        cell(&r.change),
        pct(n.validation_accuracy),
        pct(n.test_accuracy),
        pct_ci(n.test_accuracy_ci95),
        n.sensitivity,
        n.specificity,
        opt3(n.auc),
        opt3(n.ece),
        n.threshold
    )
}

/// The 3-class argmax accuracy of a 3-class row (the table shows its binary view).
fn class_accuracy_line(r: &AblationRow) -> String {
    let Some(n) = r.numbers.as_ref().filter(|n| !n.class_test_accuracies.is_empty()) else {
        return String::new();
    };
    let (mean, sd) = crate::stats::mean_sd(&n.class_test_accuracies);
    let each: Vec<String> = n.class_test_accuracies.iter().map(|&a| pct(a)).collect();
    let sd = sd.map_or("—".into(), |sd| format!("{:.2}", 100.0 * sd));
    format!(
        "\n`{}` is a 3-class model; the table reads its binary view (p(bacterial) + p(viral)). Its \
         argmax accuracy over normal / bacterial / viral on the test split: {} ± {sd} ({}).\n",
        r.name,
        pct(mean),
        each.join(", ")
    )
}

fn calibration(c: &ChoiceCalibration, protocol: &str, heading: &str, figures: &[String]) -> String {
    let mut s = format!("### Calibration of the {heading} (`{}`)\n\n", c.row);
    let per_seed: Vec<String> = c.seeds.iter().map(|x| format!("seed {} {:.3}", x.seed, x.ece)).collect();
    let sd = c.ece_sd.map_or("—".into(), |sd| format!("{sd:.3}"));
    let _ = writeln!(
        s,
        "Expected calibration error of p(pneumonia) on {}, {} equal-width bins \
         (ECE = Σ n_b/N · |mean p − fraction with pneumonia|; 0 is perfectly calibrated): {:.3} ± {sd} \
         across {} seeds ({}).\n",
        test_split_words(protocol),
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
    s + &figure(figures, &c.figure, &format!("reliability diagram of the {heading}"))
}

/// The validation choice's calibration, then the baseline's when it is another row, then the
/// shifted-validation choice's when it is a third.
fn calibrations(a: &AblationResults, figures: &[String]) -> String {
    let mut s = choice_calibrations(a, figures);
    if let Some(c) = &a.shifted_calibration {
        s += &calibration(c, &a.protocol, "shifted-validation choice", figures);
    }
    s
}

fn choice_calibrations(a: &AblationResults, figures: &[String]) -> String {
    let mut s = String::new();
    match (&a.validation_choice, &a.calibration) {
        (_, Some(c)) => s += &calibration(c, &a.protocol, "validation choice", figures),
        (Some(choice), None) => {
            let _ = writeln!(s, "No test predictions for `{choice}`, so no calibration.\n");
        }
        (None, None) => {
            let and = if a.baseline_calibration.is_some() { "" } else { " and no calibration" };
            let _ = writeln!(s, "No row has every run finished yet, so no validation choice{and}.\n");
        }
    }
    if a.validation_choice.as_deref() == Some(a.baseline.as_str()) {
        return s;
    }
    match &a.baseline_calibration {
        Some(c) => s += &calibration(c, &a.protocol, "baseline recipe", figures),
        None if a.validation_choice.is_some() => {
            let _ = writeln!(
                s,
                "No test predictions for the baseline `{}`, so no calibration of it.\n",
                a.baseline
            );
        }
        None => {}
    }
    s
}

/// One ablation folder's section, titled by its protocol and planning file.
pub fn ablation_section(a: &AblationResults, bootstrap: &BootstrapSettings, figures: &[String]) -> String {
    let mut s = title(a);
    s += &protocol_sentence(a, bootstrap);
    let test = if a.protocol == "official" { "official test accuracy" } else { "test accuracy" };
    let _ = writeln!(
        s,
        "| ✓ | row | change | seeds | val accuracy | {test} | 95% CI | Δ vs baseline (points) \
         | sensitivity | specificity | AUC | ECE | threshold |"
    );
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for r in &a.rows {
        s += &table_row(r, &a.baseline);
    }
    for r in &a.rows {
        s += &class_accuracy_line(r);
    }
    s += "\nCommands (`{seed}` is each seed in turn):\n\n";
    for r in &a.rows {
        let _ = writeln!(s, "- `{}` (seeds {}): `{}`", r.name, seeds_list(&r.planned_seeds), r.command);
    }
    s += "\n";
    s += &super::shifted::shifted_section(a);
    s += &super::cue::cue_section(a);
    s + &calibrations(a, figures)
}
