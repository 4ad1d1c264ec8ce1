//! Field checks shared by the prepare step: shapes, windows, scales, weight and per-channel
//! slices, multipliers and the accumulator-overflow bound. Each returns an error naming the
//! layer, op and field.

use crate::error::{Error, Problem};
use crate::ops::{Dims, Geom, OutputStage};
use crate::prepare::MAX_TENSOR_LEN;
use crate::quant_math::activation_range;
use crate::schema::{Activation, ChannelQuant, Multiplier, Quant, Shape, Window};

/// Largest |accumulator| after the left shift, leaving room to add an int8 zero point.
const ACC_LIMIT: i64 = i32::MAX as i64 - 128;
/// Largest |w · (x − zp)| of one tap: weights in [−127, 127], inputs minus zero point in
/// [−255, 255].
const TAP_MAX: i64 = 127 * 255;

/// Names the layer in errors.
pub(crate) struct Ctx {
    pub index: usize,
    pub op: &'static str,
}

impl Ctx {
    pub fn err(&self, field: &'static str, problem: Problem) -> Error {
        Error::Layer { index: self.index, op: self.op, field, problem }
    }

    pub fn range(&self, field: &'static str, value: i64, min: i64, max: i64) -> Result<(), Error> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(self.err(field, Problem::OutOfRange { value, min, max }))
        }
    }

    pub fn len(&self, field: &'static str, bytes: &[u8], expected: u64) -> Result<(), Error> {
        if bytes.len() as u64 == expected {
            Ok(())
        } else {
            let expected = usize::try_from(expected).unwrap_or(usize::MAX);
            Err(self.err(field, Problem::Length { expected, got: bytes.len() }))
        }
    }
}

/// A scale must be finite and positive.
pub(crate) fn check_scale(scale: f32) -> Result<(), Problem> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(Problem::BadScale)
    }
}

/// A shape must be non-empty and at most [`MAX_TENSOR_LEN`] elements.
pub(crate) fn check_shape(shape: &Shape) -> Result<Dims, Problem> {
    let len = u64::from(shape.h) * u64::from(shape.w) * u64::from(shape.c);
    if len == 0 || len > MAX_TENSOR_LEN as u64 {
        return Err(if len == 0 {
            Problem::OutOfRange { value: 0, min: 1, max: MAX_TENSOR_LEN as i64 }
        } else {
            Problem::TooLarge
        });
    }
    Ok(Dims { h: usize::from(shape.h), w: usize::from(shape.w), c: usize::from(shape.c) })
}

pub(crate) fn dims_to_shape(ctx: &Ctx, d: Dims) -> Result<Shape, Error> {
    let c = u16::try_from(d.c).map_err(|_| ctx.err("channels", Problem::TooLarge))?;
    // h and w come from u16 window fields.
    let shape = Shape { h: d.h as u16, w: d.w as u16, c };
    check_shape(&shape).map_err(|p| ctx.err("output shape", p))?;
    Ok(shape)
}

/// Window geometry over an `h × w` input; every window must touch the image.
pub(crate) fn window(ctx: &Ctx, field: &'static str, w: &Window, h: usize, wd: usize) -> Result<Geom, Error> {
    let g = Geom {
        kh: usize::from(w.kernel_h),
        kw: usize::from(w.kernel_w),
        sh: usize::from(w.stride_h),
        sw: usize::from(w.stride_w),
        pad_top: usize::from(w.pad_top),
        pad_left: usize::from(w.pad_left),
        out_h: usize::from(w.out_h),
        out_w: usize::from(w.out_w),
    };
    if g.kh == 0 || g.kw == 0 || g.sh == 0 || g.sw == 0 || g.out_h == 0 || g.out_w == 0 {
        return Err(ctx.err(field, Problem::OutOfRange { value: 0, min: 1, max: 65535 }));
    }
    // First window: pad < k leaves at least one tap in the image. Last window: it must start
    // no lower than the last row, (out − 1) · s − pad <= n − 1.
    let inside =
        |k: usize, s: usize, pad: usize, out: usize, n: usize| pad < k && (out - 1) * s <= n - 1 + pad;
    if !inside(g.kh, g.sh, g.pad_top, g.out_h, h) || !inside(g.kw, g.sw, g.pad_left, g.out_w, wd) {
        return Err(ctx.err(field, Problem::WindowOutsideImage));
    }
    Ok(g)
}

pub(crate) fn quant(ctx: &Ctx, q: &Quant) -> Result<(), Error> {
    check_scale(q.scale).map_err(|p| ctx.err("output.scale", p))
}

pub(crate) fn stage(ctx: &Ctx, q: &Quant, act: Activation) -> Result<OutputStage, Error> {
    quant(ctx, q)?;
    let zero_point = i32::from(q.zero_point);
    let (act_min, act_max) = activation_range(act, q.scale, zero_point);
    if act_min > act_max {
        return Err(ctx.err(
            "activation",
            Problem::OutOfRange { value: act_min.into(), min: -128, max: act_max.into() },
        ));
    }
    Ok(OutputStage { zero_point, act_min, act_max })
}

/// Check a weight blob's length and that no weight is −128.
pub(crate) fn weights<'a>(ctx: &Ctx, w: &'a [u8], expected: u64) -> Result<&'a [u8], Error> {
    ctx.len("weights", w, expected)?;
    if let Some(index) = w.iter().position(|&b| b == 0x80) {
        return Err(ctx.err("weights", Problem::WeightIsMinus128 { index }));
    }
    Ok(w)
}

/// A Q31 multiplier is 0 or normalized into [2^30, 2^31), as QuantizeMultiplier produces.
pub(crate) fn multiplier_ok(m: i32) -> bool {
    m == 0 || m >= 1 << 30
}

/// Largest left shift that keeps `bound · 2^left` within [`ACC_LIMIT`] (None if none does).
pub(crate) fn max_left(bound: i64) -> Option<i64> {
    if bound > ACC_LIMIT {
        return None;
    }
    let mut left = 0;
    while left < 30 && bound << (left + 1) <= ACC_LIMIT {
        left += 1;
    }
    Some(left)
}

/// Per-channel data: lengths, multiplier/shift ranges and the accumulator bound
/// `(taps · 127 · 255 + |bias|) · 2^max(shift, 0) + 128 < 2^31`.
pub(crate) fn channels<'a>(
    ctx: &Ctx,
    cq: &ChannelQuant<'a>,
    n: usize,
    taps: u64,
) -> Result<ChannelQuant<'a>, Error> {
    let n64 = n as u64;
    ctx.len("bias", cq.bias, 4 * n64)?;
    ctx.len("multiplier", cq.multiplier, 4 * n64)?;
    ctx.len("shift", cq.shift, n64)?;
    let tap_bound = i64::try_from(taps).unwrap_or(i64::MAX).saturating_mul(TAP_MAX);
    for c in 0..n {
        let m = crate::ops::le_i32(cq.multiplier, c);
        if !multiplier_ok(m) {
            return Err(ctx.err("multiplier", Problem::ChannelOutOfRange { channel: c, value: m.into() }));
        }
        let shift = i64::from(cq.shift[c] as i8);
        let bound = tap_bound.saturating_add(i64::from(crate::ops::le_i32(cq.bias, c)).abs());
        let Some(left) = max_left(bound) else {
            return Err(ctx.err("bias", Problem::AccumulatorOverflow { channel: c, bound }));
        };
        if !(-31..=left).contains(&shift) {
            return Err(ctx.err("shift", Problem::ChannelOutOfRange { channel: c, value: shift }));
        }
    }
    Ok(*cq)
}

/// A scalar multiplier whose shift lies in `-31..=max_shift`.
pub(crate) fn scalar(
    ctx: &Ctx,
    field: &'static str,
    m: &Multiplier,
    max_shift: i64,
) -> Result<(i32, i32), Error> {
    if !multiplier_ok(m.multiplier) {
        return Err(ctx.err(
            field,
            Problem::OutOfRange { value: m.multiplier.into(), min: 1 << 30, max: i32::MAX.into() },
        ));
    }
    ctx.range(field, m.shift.into(), -31, max_shift)?;
    Ok((m.multiplier, i32::from(m.shift)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_shift_bounds() {
        assert_eq!(max_left(255), Some(23));
        assert_eq!(max_left(ACC_LIMIT), Some(0));
        assert_eq!(max_left(ACC_LIMIT + 1), None);
        assert_eq!(max_left(1), Some(30));
    }

    #[test]
    fn window_must_touch_the_image() {
        let ctx = Ctx { index: 0, op: "t" };
        let w = Window {
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            pad_top: 0,
            pad_left: 0,
            out_h: 3,
            out_w: 3,
        };
        assert!(window(&ctx, "w", &w, 5, 5).is_ok()); // last window starts at row 4
        assert!(window(&ctx, "w", &w, 4, 4).is_err()); // would start at row 4 of 4
        let w = Window { pad_top: 2, ..w };
        assert!(window(&ctx, "w", &w, 5, 5).is_err()); // pad >= kernel
    }
}
