//! The reliability diagram of the ablation's validation choice: per seed, the observed
//! fraction of pneumonia against the mean predicted p(pneumonia) of each non-empty bin, with
//! the diagonal a perfectly calibrated model would follow.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, save, series_colour, unit_square, DrawResult, Figure};
use crate::ablation::ChoiceCalibration;
use crate::results::Results;

/// The figure's stem in `figures/`.
pub const STEM: &str = "reliability-ablation";

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

/// The diagram when the ablation has a calibrated validation choice.
pub fn draw(results: &Results, dir: &Path) -> Result<Vec<String>> {
    let Some(c) = results.ablation.as_ref().and_then(|a| a.calibration.as_ref()) else {
        return Ok(Vec::new());
    };
    let title =
        format!("Reliability on the official test split: {} (validation choice), {} bins", c.row, c.bins);
    save(&Reliability { title, calibration: c }, dir, STEM)?;
    Ok(vec![STEM.to_string()])
}
