//! The report's figures, each drawn once through a backend-generic `Figure` and written as PNG
//! (bitmap + ab_glyph text) and SVG. `draw_all` returns the stems it wrote; REPORT.md embeds
//! exactly those.

mod confusion;
mod curves;
pub mod font;
mod grid_heat;
mod heat;
mod pr;
pub mod reliability;
mod roc;

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::results::Results;
use crate::study::Study;

/// Series colours (Tableau 10): distinguishable on white, unlike plotters' yellow picks.
pub fn series_colour(i: usize) -> RGBColor {
    const C: [(u8, u8, u8); 6] =
        [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart whose axes both run over numbers.
pub type UnitChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart of both axes over [0, 1] with its mesh drawn: the ROC curves and the reliability
/// diagram (the y range reaches 1.01 so a curve along the top edge stays visible).
pub fn unit_square<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    (title, font_size): (&str, u32),
    (x_desc, y_desc): (&str, &str),
) -> Result<UnitChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", font_size))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..1f64, 0f64..1.01f64)?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw()?;
    Ok(chart)
}

pub trait Figure {
    fn size(&self) -> (u32, u32) {
        (960, 640)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// The figures' legend box: white, framed, at `position`.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", font_size))
        .draw()
}

fn render<DB: DrawingBackend>(fig: &impl Figure, root: DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    fig.draw(&root)?;
    root.present()
}

/// Writes `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
pub fn save(fig: &impl Figure, dir: &Path, stem: &str) -> Result<()> {
    font::register();
    let size = fig.size();
    let png = dir.join(format!("{stem}.png"));
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    render(fig, BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area())
        .map_err(|e| anyhow!("cannot draw {}: {e}", png.display()))?;
    image::save_buffer(&png, &rgb, size.0, size.1, image::ExtendedColorType::Rgb8)
        .with_context(|| format!("cannot write {}", png.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    render(fig, SVGBackend::new(&svg, size).into_drawing_area())
        .map_err(|e| anyhow!("cannot draw {}: {e}", svg.display()))
}

/// Every figure the study supports, into `dir`; returns the stems written.
pub fn draw_all(study: &Study, results: &Results, dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut stems = Vec::new();
    stems.extend(curves::draw(study, dir)?);
    stems.extend(pr::draw(results, dir)?);
    stems.extend(roc::draw(study, results, dir)?);
    stems.extend(confusion::draw(results, dir)?);
    stems.extend(grid_heat::draw(results, dir)?);
    stems.extend(reliability::draw(results, dir)?);
    Ok(stems)
}
