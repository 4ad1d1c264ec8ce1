//! Number formatting shared by the report's tables.

use crate::results::models::ModelResult;

pub fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

pub fn pct_ci(ci: Option<[f64; 2]>) -> String {
    ci.map_or("no CI (no test predictions)".into(), |[lo, hi]| {
        format!("[{:.2}, {:.2}]%", 100.0 * lo, 100.0 * hi)
    })
}

pub fn opt3(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.3}"))
}

pub fn opt_pct(x: Option<f64>) -> String {
    x.map_or("—".into(), pct)
}

/// A learning rate as written in the grid files (0.0001, 1e-5).
pub fn lr(x: f64) -> String {
    if x >= 1e-4 {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// "94.10% [92.0, 95.9]%" — every headline accuracy is printed with its interval.
pub fn acc_with_ci(m: &ModelResult) -> String {
    format!("{} {}", pct(m.test.accuracy), pct_ci(m.test.accuracy_ci95))
}

/// "93.8% ± 0.6 (n = 3)" across seeds, or a dash.
pub fn seeds_cell(m: &ModelResult) -> String {
    match &m.seeds {
        Some(s) => format!(
            "{} ± {} (n = {})",
            pct(s.mean),
            s.sd.map_or("—".into(), |sd| format!("{:.2}", 100.0 * sd)),
            s.n
        ),
        None => "— (no seeds phase)".into(),
    }
}

/// The name a model key has in prose.
pub fn task_name(task: &str) -> &'static str {
    match task {
        "cnn" => "CNN (scratch)",
        "mobilenet_v2_frozen" => "MobileNetV2, base frozen",
        "mobilenet_v2_finetune" => "MobileNetV2, fine-tuned",
        "cnn_3class" => "3-class CNN",
        _ => "unknown task",
    }
}

/// An embedded figure if it was drawn.
pub fn figure(figures: &[String], stem: &str, caption: &str) -> String {
    if figures.iter().any(|f| f == stem) {
        format!("![{caption}](figures/{stem}.png) ([SVG](figures/{stem}.svg))\n\n")
    } else {
        String::new()
    }
}
