//! The generic conv kernel: four output channels at a time, over every output position.
//!
//! Channel groups are the outer loop so that each group's filter sums `Σ w` are computed once
//! per layer. At a window without padding, `Σ w · (x − zp) = Σ w · x − zp · Σ w`, so the inner
//! loops do no zero-point subtraction; windows that lose taps to padding subtract per tap.
//!
//! Bounds: the result is the exact `Σ w · (x − zp)` over the valid taps, |·| <= taps · 127 · 255
//! (+ |bias| in `finish`) < 2^31 (checked at load); the intermediate `Σ w · x` and `zp · Σ w`
//! are each at most taps · 127 · 128 in magnitude.

use core::ops::Range;

use super::conv2d::Conv2dParams;
use super::{clip, dot4, dot4_rows, q};

/// The valid part of the conv window at one position: for each valid kernel row `r`, the input
/// row starts at `x_at + r · x_step` and the filter row at `w_at + r · w_step`, `row_len` values
/// each (the taps of one kernel row are contiguous in both the OHWI filter and NHWC input).
#[derive(Clone, Copy)]
pub(crate) struct Window {
    pub rows: usize,
    pub row_len: usize,
    pub x_at: usize,
    pub x_step: usize,
    pub w_at: usize,
    pub w_step: usize,
}

/// The window of conv output position (oy, ox).
pub(crate) fn window(p: &Conv2dParams<'_>, oy: usize, ox: usize) -> Window {
    let (g, ic) = (&p.conv, p.input.c);
    let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, p.input.h);
    let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, p.input.w);
    Window {
        rows: ky1 - ky0,
        row_len: (kx1 - kx0) * ic,
        x_at: (iy0 * p.input.w + ix0) * ic,
        x_step: p.input.w * ic,
        w_at: (ky0 * g.kw + kx0) * ic,
        w_step: g.kw * ic,
    }
}

/// Output channels `c..c + 4` of one layer.
pub(crate) struct Group<'a> {
    f: [&'a [u8]; 4],
    /// `Σ w` over each whole filter.
    sums: [i32; 4],
    in_zp: i32,
    /// Taps of a window without padding: kernel rows and values per row.
    full: (usize, usize),
}

impl<'a> Group<'a> {
    pub fn new(p: &Conv2dParams<'a>, c: usize) -> Self {
        let len = p.conv.kh * p.conv.kw * p.input.c;
        let f = |j: usize| &p.weights[(c + j) * len..(c + j + 1) * len];
        let f = [f(0), f(1), f(2), f(3)];
        let sums = f.map(|f| f.iter().map(|&w| q(w)).sum());
        Group { f, sums, in_zp: p.in_zp, full: (p.conv.kh, p.conv.kw * p.input.c) }
    }

    fn is_full(&self, win: &Window) -> bool {
        (win.rows, win.row_len) == self.full
    }

    /// The filters' rows `r` of a window.
    fn rows(&self, win: &Window, r: usize) -> [&'a [u8]; 4] {
        let at = win.w_at + r * win.w_step;
        let row = |j: usize| &self.f[j][at..][..win.row_len];
        [row(0), row(1), row(2), row(3)]
    }

    /// Accumulators at one window (without bias).
    fn at(&self, input: &[u8], win: &Window) -> [i32; 4] {
        if self.is_full(win) {
            let acc = dot4_rows(self.f, &input[win.x_at..], win.rows, win.row_len, win.x_step);
            return core::array::from_fn(|j| acc[j] - self.in_zp * self.sums[j]);
        }
        let mut acc = [0i32; 4];
        for r in 0..win.rows {
            let x = &input[win.x_at + r * win.x_step..][..win.row_len];
            let d = dot4(self.rows(win, r), x, self.in_zp);
            for j in 0..4 {
                acc[j] += d[j];
            }
        }
        acc
    }

    /// The largest accumulator of each channel over the conv positions `ys × xs` (not empty).
    pub fn best(&self, p: &Conv2dParams<'_>, input: &[u8], ys: Range<usize>, xs: Range<usize>) -> [i32; 4] {
        let mut best = [i32::MIN; 4];
        for cy in ys {
            for cx in xs.clone() {
                let a = self.at(input, &window(p, cy, cx));
                for j in 0..4 {
                    best[j] = best[j].max(a[j]);
                }
            }
        }
        best
    }
}

/// Accumulator of output channel `c` at one window (without bias); bound as above.
pub(crate) fn acc1(p: &Conv2dParams<'_>, input: &[u8], win: &Window, c: usize) -> i32 {
    let filter_len = p.conv.kh * p.conv.kw * p.input.c;
    let filter = &p.weights[c * filter_len..(c + 1) * filter_len];
    (0..win.rows)
        .map(|r| {
            let x = &input[win.x_at + r * win.x_step..][..win.row_len];
            super::dot(&filter[win.w_at + r * win.w_step..][..win.row_len], x, p.in_zp)
        })
        .sum()
}
