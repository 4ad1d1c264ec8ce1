//! The conv's fast path for one input channel and a 3×3 window (an image model's first layer).
//!
//! There the generic kernel's dot products are 3 taps long, so loop and call overhead dominate.
//! Here the 9 taps of a window position are gathered once, as `x − zp`, into a local array
//! that stays in registers while every filter (9 weights) is applied to it.

use core::ops::Range;

use super::conv2d::Conv2dParams;
use super::q;

/// Output channels per pass (one `i32` running max each, on the stack).
const BLOCK: usize = 32;

/// The 9 taps of the window at conv position (oy, ox) as `x − zp`, 0 where a tap falls in the
/// padding (the reference skips those taps; a zero term gives the same sum).
fn taps(p: &Conv2dParams<'_>, input: &[u8], oy: usize, ox: usize) -> [i32; 9] {
    let (g, d) = (&p.conv, &p.input);
    let mut t = [0i32; 9];
    for ky in 0..3 {
        // Above the image the subtraction wraps to a huge index, which the test rejects.
        let y = (oy * g.sh + ky).wrapping_sub(g.pad_top);
        if y >= d.h {
            continue;
        }
        for kx in 0..3 {
            let x = (ox * g.sw + kx).wrapping_sub(g.pad_left);
            if x < d.w {
                t[ky * 3 + kx] = q(input[y * d.w + x]) - p.in_zp;
            }
        }
    }
    t
}

/// One output pixel of [`super::conv2d::conv2d`] (same bits) for `input.c == 1`, `kh == kw == 3`:
/// the largest accumulator over the positions `ys × xs` (not empty), requantized.
///
/// |acc| <= 9 · 127 · 255 (+ |bias| in `finish`) < 2^31: checked at load.
pub(crate) fn pool_at(
    p: &Conv2dParams<'_>,
    input: &[u8],
    ys: Range<usize>,
    xs: Range<usize>,
    out: &mut [u8],
) {
    let weights = &p.weights[..p.out_c * 9];
    for (b, (ws, out)) in weights.chunks(BLOCK * 9).zip(out.chunks_mut(BLOCK)).enumerate() {
        let mut best = [i32::MIN; BLOCK];
        for cy in ys.clone() {
            for cx in xs.clone() {
                let t = taps(p, input, cy, cx);
                for (best, f) in best.iter_mut().zip(ws.chunks_exact(9)) {
                    let acc: i32 = f.iter().zip(&t).map(|(&w, &x)| q(w) * x).sum();
                    *best = (*best).max(acc);
                }
            }
        }
        for (j, (o, &a)) in out.iter_mut().zip(&best).enumerate() {
            *o = p.channels.finish(b * BLOCK + j, a, &p.out);
        }
    }
}
