//! One look for every progress bar: `<prefix> [=====>    ] 120/624 <unit> 35.1/s eta 12s`.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` items counted in `unit` ("images", "batches"), labelled `prefix`.
pub fn bar(len: u64, prefix: impl Into<String>, unit: &str) -> ProgressBar {
    let template = format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}} {{msg}}");
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(len).with_style(style).with_prefix(prefix.into())
}
