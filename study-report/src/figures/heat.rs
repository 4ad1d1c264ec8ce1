//! A labelled heat map (confusion matrices, the optimizer × lr grid): cells shaded by a value
//! in [0, 1], with text written in each cell.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawResult, Figure};

pub struct HeatMap {
    pub title: String,
    pub row_title: String,
    pub col_title: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// Shade per cell in [0, 1]; None leaves the cell white.
    pub shade: Vec<Vec<Option<f64>>>,
    /// Lines written in each cell.
    pub text: Vec<Vec<Vec<String>>>,
}

fn colour(v: f64) -> RGBColor {
    // White to a strong blue; text switches to white on dark cells.
    let v = v.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * v) as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 69.0), mix(255.0, 148.0))
}

impl Figure for HeatMap {
    fn size(&self) -> (u32, u32) {
        // Wide enough for the title too (about 13 px per character at 26 px).
        let width = (260 + 190 * self.cols.len() as u32).max(13 * self.title.chars().count() as u32 + 40);
        (width, 110 + 100 * self.rows.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let root = root.titled(&self.title, ("sans-serif", 26))?;
        let (left, top, cw, ch) = (230i32, 70i32, 190i32, 100i32);
        let centre = Pos::new(HPos::Center, VPos::Center);
        let label = TextStyle::from(("sans-serif", 18).into_font()).pos(centre);
        root.draw_text(&self.col_title, &label, (left + cw * self.cols.len() as i32 / 2, 15))?;
        root.draw_text(&self.row_title, &label, (70, top - 25))?;
        for (j, c) in self.cols.iter().enumerate() {
            root.draw_text(c, &label, (left + cw * j as i32 + cw / 2, top - 25))?;
        }
        for (i, r) in self.rows.iter().enumerate() {
            let y = top + ch * i as i32;
            root.draw_text(r, &label, (left / 2, y + ch / 2))?;
            for j in 0..self.cols.len() {
                let x = left + cw * j as i32;
                let v = self.shade[i][j];
                let fill = v.map_or(WHITE, colour);
                root.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], fill.filled()))?;
                root.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], BLACK.stroke_width(1)))?;
                let ink = if v.is_some_and(|v| v > 0.55) { WHITE } else { BLACK };
                let lines = &self.text[i][j];
                for (k, line) in lines.iter().enumerate() {
                    let size = if k == 0 { 22 } else { 16 };
                    let style = TextStyle::from(("sans-serif", size).into_font()).color(&ink).pos(centre);
                    // Lines 24 px apart, the block centred on the cell.
                    let dy = ((k as f64 - (lines.len() as f64 - 1.0) / 2.0) * 24.0) as i32;
                    root.draw_text(line, &style, (x + cw / 2, y + ch / 2 + dy))?;
                }
            }
        }
        Ok(())
    }
}
