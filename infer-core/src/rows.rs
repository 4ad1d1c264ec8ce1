//! Row bands: a layer computing only output rows `o0..o1` from only the input rows they read.
//!
//! The kernels take whole tensors, but a window only tells them where rows are relative to the
//! top of their input and how many there are. So a band is the same kernel with its geometry
//! shifted: the input is the band's rows `i0..i1` (a tensor of `i1 − i0` rows), the top padding
//! is what remains of it above row `o0`'s window, and the output has `o1 − o0` rows. Every tap
//! the full layer takes for those rows lies in `i0..i1`, and every tap it skips (padding) is
//! skipped in the band too, so the band's bytes are the full layer's rows, bit for bit.

use crate::ops::{Dims, Geom};
use crate::prepare::Kernel;

impl Geom {
    /// The window for output rows `o0..o1` over an input of `in_h` rows, and the input rows
    /// `i0..i1` it reads. Validation proved every window touches the image, so `i0 < i1`.
    fn band(&self, in_h: usize, o0: usize, o1: usize) -> (Geom, usize, usize) {
        let (i0, i1) = self.rows_read(in_h, o0, o1);
        // What is left of the top padding above the band's first window (0 inside the image).
        let pad_top = (i0 + self.pad_top).saturating_sub(o0 * self.sh);
        (Geom { pad_top, out_h: o1 - o0, ..*self }, i0, i1)
    }

    /// The input rows `i0..i1` that output rows `o0..o1` read, clipped to the image.
    fn rows_read(&self, in_h: usize, o0: usize, o1: usize) -> (usize, usize) {
        let start = (o0 * self.sh) as isize - self.pad_top as isize;
        let i0 = start.clamp(0, in_h as isize) as usize;
        let end = ((o1 - 1) * self.sh + self.kh) as isize - self.pad_top as isize;
        (i0, end.clamp(i0 as isize, in_h as isize) as usize)
    }
}

/// The input's height as a band of `rows` rows.
fn rows_of(d: Dims, rows: usize) -> Dims {
    Dims { h: rows, ..d }
}

/// `kernel` restricted to output rows `o0..o1` of a tensor whose input has `in_h` rows, with
/// the input rows `i0..i1` it reads; `None` for a layer that needs its whole input (global
/// average pool, dense, mean, softmax, logistic) or computes nothing (`Save`). Windowed layers
/// (conv, depthwise, max- and average pool) read their windows' rows; elementwise layers (add,
/// requantize) read exactly their output rows.
pub(crate) fn band<'a>(kernel: &Kernel<'a>, in_h: usize, o0: usize, o1: usize) -> Option<(Kernel<'a>, usize, usize)> {
    Some(match *kernel {
        Kernel::Conv2d(mut p) => {
            // With a fused pool the band's rows are pooled rows: first the conv rows they
            // cover, then the input rows those read.
            let (c0, c1) = match p.pool {
                Some(pool) => {
                    let (pool, c0, c1) = pool.band(p.conv.out_h, o0, o1);
                    p.pool = Some(pool);
                    (c0, c1)
                }
                None => (o0, o1),
            };
            let (conv, i0, i1) = p.conv.band(in_h, c0, c1);
            p.conv = conv;
            p.input = rows_of(p.input, i1 - i0);
            (Kernel::Conv2d(p), i0, i1)
        }
        Kernel::Depthwise(mut p) => {
            let (geom, i0, i1) = p.geom.band(in_h, o0, o1);
            p.geom = geom;
            p.input = rows_of(p.input, i1 - i0);
            (Kernel::Depthwise(p), i0, i1)
        }
        Kernel::MaxPool { input, geom } => {
            let (geom, i0, i1) = geom.band(in_h, o0, o1);
            (Kernel::MaxPool { input: rows_of(input, i1 - i0), geom }, i0, i1)
        }
        Kernel::AvgPool { input, geom, act_min, act_max } => {
            // The band's windows clip to its rows exactly where the full layer's clip to the
            // image, so each keeps its tap count (the divisor).
            let (geom, i0, i1) = geom.band(in_h, o0, o1);
            (Kernel::AvgPool { input: rows_of(input, i1 - i0), geom, act_min, act_max }, i0, i1)
        }
        Kernel::Add { .. } | Kernel::Requantize(_) => (*kernel, o0, o1),
        Kernel::GlobalAvgPool { .. } | Kernel::Dense(_) | Kernel::Save { .. } => return None,
        Kernel::Mean(_) | Kernel::Softmax(_) | Kernel::Logistic { .. } => return None,
    })
}

/// The input rows `i0..i1` that output row `o` of `kernel` reads (what [`band`] returns, without
/// building the band's kernel: the streamed run's schedule asks this for every row).
pub(crate) fn reads(kernel: &Kernel<'_>, in_h: usize, o: usize) -> (usize, usize) {
    match kernel {
        Kernel::Conv2d(p) => {
            let (c0, c1) = p.pool.map_or((o, o + 1), |pool| pool.rows_read(p.conv.out_h, o, o + 1));
            p.conv.rows_read(in_h, c0, c1)
        }
        Kernel::Depthwise(p) => p.geom.rows_read(in_h, o, o + 1),
        Kernel::MaxPool { geom, .. } | Kernel::AvgPool { geom, .. } => geom.rows_read(in_h, o, o + 1),
        _ => (o, o + 1),
    }
}

/// Whether a step can run in row bands (or, for `Save`, be streamed through).
pub(crate) fn streamable(kernel: &Kernel<'_>) -> bool {
    !matches!(
        kernel,
        Kernel::GlobalAvgPool { .. } | Kernel::Dense(_) | Kernel::Mean(_) | Kernel::Softmax(_) | Kernel::Logistic { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(kh: usize, sh: usize, pad_top: usize, out_h: usize) -> Geom {
        Geom { kh, kw: kh, sh, sw: sh, pad_top, pad_left: pad_top, out_h, out_w: out_h }
    }

    #[test]
    fn bands_of_a_padded_window() {
        // 3×3 stride 1 'same' over 5 rows: row 0 reads rows 0..2 with one row of padding left.
        let w = g(3, 1, 1, 5);
        assert_eq!(w.band(5, 0, 1), (Geom { pad_top: 1, out_h: 1, ..w }, 0, 2));
        assert_eq!(w.band(5, 2, 3), (Geom { pad_top: 0, out_h: 1, ..w }, 1, 4));
        assert_eq!(w.band(5, 4, 5), (Geom { pad_top: 0, out_h: 1, ..w }, 3, 5));
        assert_eq!(w.band(5, 1, 4), (Geom { pad_top: 0, out_h: 3, ..w }, 0, 5));
    }

    #[test]
    fn bands_of_a_strided_window() {
        // 3×3 stride 2, TF 'same' on 4 rows: no top padding, the bottom row is padding.
        let w = g(3, 2, 0, 2);
        assert_eq!(w.band(4, 0, 1), (Geom { out_h: 1, ..w }, 0, 3));
        assert_eq!(w.band(4, 1, 2), (Geom { out_h: 1, ..w }, 2, 4));
        // Stride larger than the kernel: rows between windows are never read.
        let w = g(1, 2, 0, 3);
        assert_eq!(w.band(6, 1, 2), (Geom { out_h: 1, ..w }, 2, 3));
    }
}
