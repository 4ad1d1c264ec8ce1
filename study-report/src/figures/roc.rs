//! Per protocol, ROC curves of the binary headline models computed from test_predictions.csv
//! (p_pneumonia against the label), with the area under each in the legend.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, save, series_colour, unit_square, DrawResult, Figure};
use crate::results::Results;
use crate::study::Study;

/// (false positive rate, true positive rate) from (0, 0) to (1, 1), one step per distinct
/// score (tied scores move diagonally, as a threshold cannot split them). None without both classes.
pub fn roc_points(scored: &[(f32, bool)]) -> Option<Vec<(f64, f64)>> {
    let pos = scored.iter().filter(|s| s.1).count();
    let neg = scored.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut points = vec![(0.0, 0.0)];
    for (i, (p, y)) in sorted.iter().enumerate() {
        if *y {
            tp += 1;
        } else {
            fp += 1;
        }
        if sorted.get(i + 1).is_none_or(|next| next.0 != *p) {
            points.push((fp as f64 / neg as f64, tp as f64 / pos as f64));
        }
    }
    Some(points)
}

/// Trapezoid area under the curve (equals the rank AUC with ties counted one half).
pub fn area(points: &[(f64, f64)]) -> f64 {
    points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0).sum()
}

struct RocFigure {
    title: String,
    curves: Vec<(String, Vec<(f64, f64)>)>,
}

impl Figure for RocFigure {
    fn size(&self) -> (u32, u32) {
        (760, 720)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut chart = unit_square(
            root,
            (&self.title, 22),
            ("false positive rate (1 - specificity)", "true positive rate (recall)"),
        )?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            5,
            5,
            BLACK.mix(0.4).stroke_width(1),
        ))?;
        for (i, (label, pts)) in self.curves.iter().enumerate() {
            let colour = series_colour(i);
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                .label(format!("{label}, AUC {:.4}", area(pts)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 15)
    }
}

pub fn draw(study: &Study, results: &Results, dir: &Path) -> Result<Vec<String>> {
    let mut stems = Vec::new();
    for (protocol, models) in &results.protocols {
        let mut curves = Vec::new();
        for (task, m) in models.iter().filter(|(_, m)| m.pr_sweep.is_some()) {
            let preds = study.run_named(&m.run).and_then(|r| r.predictions.as_ref());
            let scored: Vec<(f32, bool)> =
                preds.into_iter().flatten().map(|p| (p.p_pneumonia, p.label == 1)).collect();
            if let Some(points) = roc_points(&scored) {
                curves.push((task.clone(), points));
            }
        }
        if curves.is_empty() {
            continue;
        }
        let stem = format!("roc-{protocol}");
        save(&RocFigure { title: format!("ROC on test ({protocol}), headline runs"), curves }, dir, &stem)?;
        stems.push(stem);
    }
    Ok(stems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_matches_known_rank_aucs() {
        let y = [false, false, true, true];
        let auc = |p: [f32; 4]| {
            let s: Vec<(f32, bool)> = p.iter().copied().zip(y).collect();
            area(&roc_points(&s).unwrap())
        };
        assert_eq!(auc([0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(auc([0.9, 0.8, 0.2, 0.1]), 0.0);
        assert_eq!(auc([0.5, 0.5, 0.5, 0.5]), 0.5);
        assert_eq!(auc([0.1, 0.7, 0.6, 0.9]), 0.75);
        assert!(roc_points(&[(0.3, true)]).is_none());
    }
}
