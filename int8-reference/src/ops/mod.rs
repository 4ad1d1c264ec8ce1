//! One file per op, each a plain loop over its output written from INT8.md's kernel section.
//! Accumulators are exact i64 sums, checked against i32 (TFLite's accumulator type) before
//! requantization, so a blob whose bounds the engine failed to reject shows up as an error.

pub mod add;
pub mod avg_pool;
pub mod conv;
pub mod dense;
pub mod depthwise;
pub mod logistic;
pub mod max_pool;
pub mod mean;
pub mod requantize;

use crate::activation::clamp_to;
use crate::math::mbqm;
use crate::tensor::Channels;
use infer_core::{Quant, Window};

/// Input row (or column) of output position `o`, tap `k`, when it lies inside `0..n`; taps
/// outside are skipped, which equals padding with the input zero point.
pub fn tap(o: usize, k: usize, stride: u8, pad: u8, n: usize) -> Option<usize> {
    let p = (o * usize::from(stride) + k).checked_sub(usize::from(pad))?;
    (p < n).then_some(p)
}

/// Every `(ky, kx, iy, ix)` of window `win` at output `(oy, ox)` inside an `h × w` image.
pub fn taps(win: &Window, oy: usize, ox: usize, h: usize, w: usize) -> Vec<(usize, usize, usize, usize)> {
    let mut out = Vec::new();
    for ky in 0..usize::from(win.kernel_h) {
        let Some(iy) = tap(oy, ky, win.stride_h, win.pad_top, h) else { continue };
        for kx in 0..usize::from(win.kernel_w) {
            let Some(ix) = tap(ox, kx, win.stride_w, win.pad_left, w) else { continue };
            out.push((ky, kx, iy, ix));
        }
    }
    out
}

/// `clamp(MBQM(acc + bias[c], m[c], shift[c]) + out_zp)` for output channel `c`.
pub fn requantize_acc(
    acc: i64,
    ch: &Channels,
    c: usize,
    out: Quant,
    range: (i32, i32),
) -> Result<i8, String> {
    let with_bias = acc + i64::from(ch.bias[c]);
    let acc32 = i32::try_from(with_bias)
        .map_err(|_| format!("channel {c}: accumulator {with_bias} does not fit i32"))?;
    let (m, shift) = (ch.multiplier[c], ch.shift[c]);
    let v = mbqm(acc32, m, shift)
        .ok_or_else(|| format!("channel {c}: MBQM({acc32}, {m}, {shift}) overflows i32"))?;
    Ok(clamp_to(i64::from(v) + i64::from(out.zero_point), range))
}
