//! Convergence plots: per task and protocol, train (solid) and validation (dashed) loss and
//! accuracy per epoch from history.csv, one colour per optimizer, each at the learning rate
//! that did best on validation.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, save, series_colour, DrawResult, Figure};
use crate::history::Epoch;
use crate::study::{Run, Study};
use crate::suite::{PROTOCOLS, TASKS};

struct Curves {
    title: String,
    /// (legend, epochs) per optimizer.
    series: Vec<(String, Vec<Epoch>)>,
}

type Pick = fn(&Epoch) -> (f64, f64);

fn panel<DB: DrawingBackend>(
    c: &Curves,
    area: &DrawingArea<DB, Shift>,
    what: &str,
    pick: Pick,
) -> DrawResult<DB> {
    let max_epoch = c.series.iter().flat_map(|s| s.1.iter().map(|e| e.epoch)).max().unwrap_or(1).max(2);
    let values = c.series.iter().flat_map(|s| s.1.iter().flat_map(|e| [pick(e).0, pick(e).1]));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(what, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..max_epoch as f64, (lo - pad)..(hi + pad))?;
    chart.configure_mesh().x_desc("epoch").y_desc(what).draw()?;
    for (i, (label, epochs)) in c.series.iter().enumerate() {
        let colour = series_colour(i);
        let train = epochs.iter().map(|e| (e.epoch as f64, pick(e).0));
        chart
            .draw_series(LineSeries::new(train, colour.stroke_width(2)))?
            .label(format!("{label} train"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        let val = epochs.iter().map(|e| (e.epoch as f64, pick(e).1));
        chart
            .draw_series(DashedLineSeries::new(val, 6, 4, colour.stroke_width(2)))?
            .label(format!("{label} val (dashed)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], colour.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::MiddleRight, 13)
}

impl Figure for Curves {
    fn size(&self) -> (u32, u32) {
        (1400, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let root = root.titled(&self.title, ("sans-serif", 24))?;
        let (left, right) = root.split_horizontally(700);
        panel(self, &left, "loss", |e| (e.train_loss, e.val_loss))?;
        panel(self, &right, "accuracy", |e| (e.train_accuracy, e.val_accuracy))
    }
}

fn best_val(run: &Run) -> f64 {
    run.metrics.by_epoch().iter().map(|(_, e)| e.val_accuracy()).fold(f64::MIN, f64::max)
}

/// Per optimizer (plan order), its best-validation run among the grid runs, or among all runs
/// of the task when it has no grid (the fine-tuned MobileNetV2).
fn series(study: &Study, task: &str, protocol: &str) -> Vec<(String, Vec<Epoch>)> {
    let with_history = |r: &&Run| r.history.as_ref().is_some_and(|h| !h.is_empty());
    let grid: Vec<&Run> =
        study.runs_of(task, protocol).filter(|r| r.plan.phase == "grid").filter(with_history).collect();
    let pool =
        if grid.is_empty() { study.runs_of(task, protocol).filter(with_history).collect() } else { grid };
    let mut best: Vec<&Run> = Vec::new();
    for r in pool {
        match best.iter_mut().find(|b| b.plan.optimizer == r.plan.optimizer) {
            Some(b) if best_val(b) >= best_val(r) => {}
            Some(b) => *b = r,
            None => best.push(r),
        }
    }
    best.iter()
        .map(|r| (format!("{} lr {}", r.plan.optimizer, r.plan.lr), r.history.clone().unwrap_or_default()))
        .collect()
}

pub fn draw(study: &Study, dir: &Path) -> Result<Vec<String>> {
    let mut stems = Vec::new();
    for protocol in PROTOCOLS {
        for task in TASKS {
            let series = series(study, task, protocol);
            if series.is_empty() {
                continue;
            }
            let title =
                format!("{task} ({protocol}): training curves, each optimizer at its best-validation lr");
            let stem = format!("curves-{task}-{protocol}");
            save(&Curves { title, series }, dir, &stem)?;
            stems.push(stem);
        }
    }
    Ok(stems)
}
