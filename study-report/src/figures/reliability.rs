//! The reliability diagrams of each ablation's validation choice and (when it is another row)
//! its baseline: per seed, the observed fraction of pneumonia against the mean predicted
//! p(pneumonia) of each non-empty bin, with the diagonal a perfectly calibrated model would
//! follow. Each is drawn under its calibration's `figure` stem.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, save, series_colour, unit_square, DrawResult, Figure};
use crate::ablation::{test_split_words, ChoiceCalibration};
use crate::results::Results;

struct Reliability<'a> {
    title: String,
    calibration: &'a ChoiceCalibration,
}

impl Figure for Reliability<'_> {
    fn size(&self) -> (u32, u32) {
        (820, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut chart = unit_square(
            root,
            (&self.title, 20),
            ("mean predicted p(pneumonia) in the bin", "observed fraction with pneumonia"),
        )?;
        let grey = BLACK.mix(0.4);
        chart
            .draw_series(DashedLineSeries::new([(0.0, 0.0), (1.0, 1.0)], 5, 5, grey.stroke_width(1)))?
            .label("perfect calibration")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
        for (i, s) in self.calibration.seeds.iter().enumerate() {
            let colour = series_colour(i);
            let pts: Vec<(f64, f64)> =
                s.bins.iter().filter_map(|b| Some((b.mean_confidence?, b.observed_frequency?))).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                .label(format!("seed {} ({}): ECE {:.3}", s.seed, s.run, s.ece))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 14)
    }
}

/// One diagram per calibrated validation choice and baseline, ablation by ablation.
pub fn draw(results: &Results, dir: &Path) -> Result<Vec<String>> {
    let mut stems = Vec::new();
    for a in &results.ablations {
        for c in a.calibrations() {
            let role = if a.validation_choice.as_deref() == Some(c.row.as_str()) {
                "validation choice"
            } else {
                "baseline recipe"
            };
            let split = test_split_words(&a.protocol);
            let title = format!("Reliability on {split}: {} ({role}), {} bins", c.row, c.bins);
            save(&Reliability { title, calibration: c }, dir, &c.figure)?;
            stems.push(c.figure.clone());
        }
    }
    Ok(stems)
}
