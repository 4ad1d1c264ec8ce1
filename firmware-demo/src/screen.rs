//! The display: a 160×80 8-bit grey framebuffer (12,800 bytes of RAM, a small SPI panel's
//! size) with the X-ray's thumbnail on the left and, on the right, the verdict, the
//! probability and a probability bar with a tick at the decision threshold. Drawn with
//! embedded-graphics, so the same code runs on the device and on the host (which turns the
//! bytes into a PNG).

use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_7X13_BOLD};
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::pixelcolor::{Gray8, GrayColor};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};

use crate::report::{Class, Head, Verdict};

/// Screen width in pixels.
pub const WIDTH: usize = 160;
/// Screen height in pixels.
pub const HEIGHT: usize = 80;
/// Side of the thumbnail: the input image averaged over square blocks.
pub const THUMB: usize = 64;

const BAR: Rectangle = Rectangle::new(Point::new(84, 44), Size::new(68, 10));

/// An 8-bit grey framebuffer, row-major, one byte per pixel; pixels drawn outside are dropped.
pub struct Framebuffer {
    /// The pixels, `WIDTH · HEIGHT` bytes.
    pub pixels: [u8; WIDTH * HEIGHT],
}

impl Framebuffer {
    /// An all-black screen (`const`, so it can be a zero-initialised `static`).
    pub const fn new() -> Framebuffer {
        Framebuffer { pixels: [0; WIDTH * HEIGHT] }
    }
}

impl Default for Framebuffer {
    fn default() -> Self {
        Framebuffer::new()
    }
}

impl OriginDimensions for Framebuffer {
    fn size(&self) -> Size {
        Size::new(WIDTH as u32, HEIGHT as u32)
    }
}

impl DrawTarget for Framebuffer {
    type Color = Gray8;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Gray8>>>(&mut self, pixels: I) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if let (Ok(x @ 0..WIDTH), Ok(y @ 0..HEIGHT)) = (usize::try_from(p.x), usize::try_from(p.y)) {
                self.pixels[y * WIDTH + x] = c.luma();
            }
        }
        Ok(())
    }
}

/// Draw the whole screen for one image: `pixels` is the `side`×`side` input with `channels`
/// bytes a pixel (grey or RGB), `name` its file name, `labels` the class names of a
/// multi-class head (may be empty). Everything is redrawn, so the previous image leaves
/// nothing behind.
pub fn draw(fb: &mut Framebuffer, pixels: &[u8], (side, channels): (usize, usize), name: &str, verdict: &Verdict, head: &Head, labels: &[&str]) {
    draw_image(fb, pixels, side, channels);
    draw_verdict(fb, name, verdict, head, labels);
}

/// The first half of [`draw`]: clear the screen and draw the thumbnail. The firmware calls it
/// before the run, while the pixels are still in the arena (the run overwrites them).
pub fn draw_image(fb: &mut Framebuffer, pixels: &[u8], side: usize, channels: usize) {
    let Ok(()) = fb.clear(Gray8::BLACK);
    draw_thumbnail(fb, pixels, side, channels.max(1));
}

/// The second half of [`draw`]: the verdict (a multi-class head's label, cut to fit), its
/// probability bar (with a tick at a sigmoid head's threshold) and the image's name.
pub fn draw_verdict(fb: &mut Framebuffer, name: &str, verdict: &Verdict, head: &Head, labels: &[&str]) {
    let bold = MonoTextStyle::new(&FONT_7X13_BOLD, Gray8::WHITE);
    let small = MonoTextStyle::new(&FONT_6X10, Gray8::new(200));
    let text = |fb: &mut Framebuffer, s: &str, x, y, style| {
        let Ok(_) = Text::with_baseline(s, Point::new(x, y), style, Baseline::Top).draw(fb);
    };
    let class = verdict.class();
    let label = match verdict.class {
        Class::Index(i) => labels.get(i).map_or(class.as_str(), |l| l.get(..10).unwrap_or(l)),
        Class::Pneumonia(_) => class.as_str(),
    };
    text(fb, label, 84, 8, bold);
    let mut p = heapless::String::<12>::new();
    let _ = p.push_str("p=");
    let _ = p.push_str(&verdict.probability_text());
    text(fb, &p, 84, 28, small);
    let threshold = match head {
        Head::Sigmoid { threshold } => Some(*threshold),
        Head::Classes => None,
    };
    draw_bar(fb, verdict.probability, threshold);
    text(fb, name, 84, 62, small);
}

/// The thumbnail at (8, 8): each `THUMB`² pixel is the mean of a block of the input, over all
/// its channels (blocks of `side / THUMB` pixels; an input smaller than `THUMB` is drawn 1:1).
fn draw_thumbnail(fb: &mut Framebuffer, pixels: &[u8], side: usize, channels: usize) {
    let k = (side / THUMB).max(1);
    let n = (side / k).min(THUMB);
    let block = |bx: usize, by: usize| {
        let mut sum = 0u32;
        for y in by * k..(by + 1) * k {
            let row = pixels.get((y * side + bx * k) * channels..(y * side + (bx + 1) * k) * channels).unwrap_or(&[]);
            sum += row.iter().map(|&v| u32::from(v)).sum::<u32>();
        }
        let count = (k * k * channels) as u32;
        Gray8::new(((sum + count / 2) / count) as u8)
    };
    let area = Rectangle::new(Point::new(8, 8), Size::new(n as u32, n as u32));
    let colors = (0..n * n).map(|i| block(i % n, i / n));
    let Ok(()) = fb.fill_contiguous(&area, colors);
}

/// Outlined bar filled in proportion to `p`, with a tick across it at the threshold, if any.
fn draw_bar(fb: &mut Framebuffer, p: f32, threshold: Option<f32>) {
    let inner = BAR.size.width as i32 - 2;
    let at = |v: f32| BAR.top_left.x + 1 + (v.clamp(0.0, 1.0) * inner as f32 + 0.5) as i32;
    let Ok(()) = BAR.into_styled(PrimitiveStyle::with_stroke(Gray8::new(160), 1)).draw(fb);
    let fill = Rectangle::with_corners(
        BAR.top_left + Point::new(1, 1),
        Point::new(at(p) - 1, BAR.top_left.y + BAR.size.height as i32 - 2),
    );
    if at(p) > BAR.top_left.x + 1 {
        let Ok(()) = fill.into_styled(PrimitiveStyle::with_fill(Gray8::WHITE)).draw(fb);
    }
    let Some(threshold) = threshold else { return };
    let x = at(threshold);
    let tick = Line::new(Point::new(x, BAR.top_left.y - 3), Point::new(x, BAR.top_left.y + 12));
    let Ok(()) = tick.into_styled(PrimitiveStyle::with_stroke(Gray8::new(96), 1)).draw(fb);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(p: f32) -> Verdict {
        Verdict { q: heapless::Vec::new(), probability: p, class: Class::Pneumonia(p >= 0.25) }
    }

    #[test]
    fn thumbnail_is_the_block_mean_and_text_and_bar_are_drawn() {
        let side = 128;
        let pixels: Vec<u8> = (0..side * side).map(|i| if (i % side) % 2 == 0 { 100 } else { 201 }).collect();
        let mut fb = Framebuffer::new();
        let head = Head::Sigmoid { threshold: 0.25 };
        draw(&mut fb, &pixels, (side, 1), "img", &verdict(1.0), &head, &[]);
        // 2×2 blocks of 100 and 201 average to 150.5, rounded to 151.
        assert_eq!(fb.pixels[8 * WIDTH + 8], 151);
        assert_eq!(fb.pixels[71 * WIDTH + 71], 151);
        assert_eq!(fb.pixels[72 * WIDTH + 72], 0);
        // A full bar is white inside; text left white pixels in the verdict's area.
        assert_eq!(fb.pixels[49 * WIDTH + 150], 255);
        assert!(fb.pixels[8 * WIDTH..21 * WIDTH].contains(&255));
        // An empty bar: only the outline and the threshold tick.
        draw(&mut fb, &pixels, (side, 1), "img", &verdict(0.0), &head, &[]);
        assert_eq!(fb.pixels[49 * WIDTH + 150], 0);
        let tick_x = 85 + (0.25f32 * 66.0 + 0.5) as usize;
        assert_eq!(fb.pixels[49 * WIDTH + tick_x], 96);
    }
}
