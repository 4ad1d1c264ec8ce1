//! Pictures a person looks at: convergence curves (loss and accuracy per epoch, train and
//! validation) and the precision-recall curve of the threshold sweep with F1 written at every
//! point. SVG, so no font files are needed and any browser shows them.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::metrics::AtThreshold;
use crate::train::EpochRecord;

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VAL: RGBColor = RGBColor(255, 127, 14);

/// `curves.svg`: loss (left) and accuracy (right) against epoch.
pub fn convergence(history: &[EpochRecord], title: &str, path: &Path) -> Result<()> {
    // Text is measured with a registered font (plotters' ab_glyph, shared with the report).
    study_report::figures::font::register();
    let root = SVGBackend::new(path, (1100, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(plot_err)?;
    let (left, right) = root.split_horizontally(550);
    let epochs = history.len().max(1) as f64;
    type Pick = fn(&EpochRecord) -> f64;
    let panels: [(&DrawingArea<_, _>, &str, Pick, Pick); 2] = [
        (&left, "loss (binary cross-entropy)", |r| r.train_loss, |r| r.val_loss),
        (&right, "accuracy at p = 0.5", |r| r.train_accuracy, |r| r.val_accuracy),
    ];
    for (area, label, train, val) in panels {
        let values = history.iter().flat_map(|r| [train(r), val(r)]).filter(|v| v.is_finite());
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.1).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0.5..epochs + 0.5, (lo - pad)..(hi + pad))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (name, color, pick) in [("train", TRAIN, train), ("validation", VAL, val)] {
            let pts: Vec<(f64, f64)> = history.iter().map(|r| (r.epoch as f64, pick(r))).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

/// `pr_curve.svg`: precision against recall for the validation and test sweeps, F1 written at
/// each test point, and the validation-chosen threshold ringed on both curves.
pub fn pr_curve(
    val: &[AtThreshold],
    test: &[AtThreshold],
    chosen: f64,
    title: &str,
    path: &Path,
) -> Result<()> {
    study_report::figures::font::register();
    let root = SVGBackend::new(path, (900, 650)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let all = val.iter().chain(test);
    let lo_p = all.clone().map(|m| m.precision).fold(1.0f64, f64::min);
    let lo_r = all.map(|m| m.recall).fold(1.0f64, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(20)
        .margin_right(110)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((lo_r - 0.03).max(0.0)..1.01, (lo_p - 0.03).max(0.0)..1.01)
        .map_err(plot_err)?;
    chart.configure_mesh().x_desc("recall (sensitivity)").y_desc("precision").draw().map_err(plot_err)?;
    for (name, color, sweep) in [("validation", VAL, val), ("test", TRAIN, test)] {
        let pts: Vec<(f64, f64)> = sweep.iter().map(|m| (m.recall, m.precision)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(format!("{name} (thresholds 0.10…0.90)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(plot_err)?;
        if let Some(m) = sweep.iter().find(|m| (m.threshold - chosen).abs() < 1e-9) {
            chart
                .draw_series(std::iter::once(Circle::new((m.recall, m.precision), 9, color.stroke_width(2))))
                .map_err(plot_err)?;
        }
    }
    // F1 beside every test point, with its threshold.
    chart
        .draw_series(test.iter().map(|m| {
            Text::new(
                format!("t={:.2} F1={:.3}", m.threshold, m.f1),
                (m.recall, m.precision),
                ("sans-serif", 10).into_font().color(&BLACK.mix(0.75)),
            )
        }))
        .map_err(plot_err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.draw(&Text::new(
        format!("ringed: threshold {chosen:.2}, best F1 on validation"),
        (90, 620),
        ("sans-serif", 13),
    ))
    .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("cannot draw plot: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::sweep;

    #[test]
    fn both_plots_are_written_as_svg() {
        let dir = tempfile::tempdir().unwrap();
        let h: Vec<EpochRecord> = (1..=4)
            .map(|e| EpochRecord {
                epoch: e,
                train_loss: 1.0 / e as f64,
                train_accuracy: 0.7 + 0.05 * e as f64,
                val_loss: 1.2 / e as f64,
                val_accuracy: 0.68 + 0.05 * e as f64,
                seconds: 1.0,
                train_images_per_second: 10.0,
            })
            .collect();
        convergence(&h, "test run", &dir.path().join("c.svg")).unwrap();
        let p = [0.1, 0.3, 0.45, 0.6, 0.8, 0.9];
        let y = [false, false, true, false, true, true];
        let s = sweep(&p, &y);
        pr_curve(&s, &s, 0.5, "test run", &dir.path().join("pr.svg")).unwrap();
        for f in ["c.svg", "pr.svg"] {
            let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
            assert!(text.starts_with("<svg") && text.contains("</svg>"), "{f}");
        }
        let pr = std::fs::read_to_string(dir.path().join("pr.svg")).unwrap();
        assert!(pr.contains("F1="));
    }
}
