//! The seed's precision-recall figure: the 17 test sweep points of each binary headline model
//! joined in threshold order, F1 written at every point, the best-F1 point marked.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{legend, save, DrawResult, Figure};
use crate::results::models::PrSweep;
use crate::results::Results;

struct PrFigure<'a> {
    title: String,
    sweep: &'a PrSweep,
}

impl Figure for PrFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let pts = &self.sweep.points;
        let lo = |f: fn(&crate::results::models::PrPoint) -> f64| {
            (pts.iter().map(f).fold(1.0, f64::min) - 0.03).clamp(0.0, 0.97)
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo(|p| p.recall)..1.01, lo(|p| p.precision)..1.01)?;
        chart.configure_mesh().x_desc("recall").y_desc("precision").draw()?;
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.recall, p.precision)).collect();
        chart.draw_series(LineSeries::new(xy.clone(), BLUE.stroke_width(2)))?;
        chart.draw_series(xy.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))?;
        // Labels sit beside their point, on the side with room (left of points near recall 1).
        let mid = (lo(|p| p.recall) + 1.0) / 2.0;
        chart.draw_series(pts.iter().map(|p| {
            let (h, dx) = if p.recall > mid { (HPos::Right, -8) } else { (HPos::Left, 8) };
            let style = ("sans-serif", 12).into_font().into_text_style(root).pos(Pos::new(h, VPos::Center));
            let text = format!("{:.2}: F1 {:.3}", p.threshold, p.f1);
            EmptyElement::at((p.recall, p.precision)) + Text::new(text, (dx, 0), style)
        }))?;
        if let Some(b) = self.sweep.best_f1 {
            chart
                .draw_series(std::iter::once(Circle::new((b.recall, b.precision), 9, RED.stroke_width(3))))?
                .label(format!("best F1 {:.3} at threshold {:.2}", b.f1, b.threshold))
                .legend(|(x, y)| Circle::new((x + 10, y), 6, RED.stroke_width(3)));
            legend(&mut chart, SeriesLabelPosition::LowerLeft, 16)?;
        }
        Ok(())
    }
}

pub fn draw(results: &Results, dir: &Path) -> Result<Vec<String>> {
    let mut stems = Vec::new();
    for (protocol, models) in &results.protocols {
        for (task, m) in models {
            let Some(sweep) = m.pr_sweep.as_ref().filter(|s| !s.points.is_empty()) else { continue };
            let title = format!("{task} ({protocol}): test precision-recall, labels = threshold: F1");
            let stem = format!("pr-{task}-{protocol}");
            save(&PrFigure { title, sweep }, dir, &stem)?;
            stems.push(stem);
        }
    }
    Ok(stems)
}
