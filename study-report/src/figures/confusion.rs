//! Confusion-matrix heat maps of the headline runs: 2×2 for the binary models, 3×3 for the
//! 3-class CNN; shaded by the share of the true class's row, counts written in the cells.

use std::path::Path;

use anyhow::Result;

use super::heat::HeatMap;
use super::save;
use crate::results::models::ConfusionOut;
use crate::results::Results;

fn heat_map(title: String, labels: Vec<String>, counts: Vec<Vec<usize>>) -> HeatMap {
    let mut shade = Vec::new();
    let mut text = Vec::new();
    for row in &counts {
        let total: usize = row.iter().sum();
        let share = |n: usize| if total == 0 { 0.0 } else { n as f64 / total as f64 };
        shade.push(row.iter().map(|&n| Some(share(n))).collect());
        text.push(
            row.iter().map(|&n| vec![n.to_string(), format!("{:.1}% of row", 100.0 * share(n))]).collect(),
        );
    }
    HeatMap {
        title,
        row_title: "true class".into(),
        col_title: "predicted class".into(),
        rows: labels.clone(),
        cols: labels,
        shade,
        text,
    }
}

pub fn draw(results: &Results, dir: &Path) -> Result<Vec<String>> {
    let mut stems = Vec::new();
    for (protocol, models) in &results.protocols {
        for (task, m) in models {
            let title = format!("{task} ({protocol}): test confusion, {}", m.run);
            let fig = match (&m.test.confusion, &m.classes) {
                (ConfusionOut::Binary(c), _) => heat_map(
                    format!("{title} at {:.2}", m.test.threshold),
                    vec!["normal".into(), "pneumonia".into()],
                    vec![vec![c.tn, c.fp], vec![c.fn_, c.tp]],
                ),
                (ConfusionOut::Matrix(rows), Some(c)) => heat_map(title, c.labels.clone(), rows.clone()),
                (ConfusionOut::Matrix(_), None) => continue,
            };
            let stem = format!("confusion-{task}-{protocol}");
            save(&fig, dir, &stem)?;
            stems.push(stem);
        }
    }
    Ok(stems)
}
