//! One look for every progress bar: `<prefix> [=====>    ] 120/624 <unit> 35.1/s eta 12s`.
//! All bars share one `MultiProgress`, so a suite's overall bar stays above the bar of the
//! epoch being trained.

use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

fn multi() -> &'static MultiProgress {
    static MULTI: OnceLock<MultiProgress> = OnceLock::new();
    MULTI.get_or_init(MultiProgress::new)
}

fn style(template: &str, chars: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars(chars)
}

/// A bar over `len` items counted in `unit` ("images", "batches"), labelled `prefix`.
pub fn bar(len: u64, prefix: impl Into<String>, unit: &str) -> ProgressBar {
    let template = format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}} {{msg}}");
    multi().add(ProgressBar::new(len).with_style(style(&template, "=> ")).with_prefix(prefix.into()))
}

/// A bar whose ETA is over the whole of `len` units of work (e.g. a study's training
/// epochs), showing elapsed time too.
pub fn overall_bar(len: u64, prefix: impl Into<String>) -> ProgressBar {
    let template = "{prefix} [{bar:30}] {pos}/{len} work units, {elapsed} elapsed, eta {eta} {msg}";
    multi().insert(0, ProgressBar::new(len).with_style(style(template, "#> ")).with_prefix(prefix.into()))
}
