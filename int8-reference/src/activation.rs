//! Fused activation clamps (`kernel_util.cc`, CalculateActivationRangeQuantized), saturating
//! to the int8 range exactly as INT8.md writes them: `min(127, zp + round(6 / scale))` is
//! evaluated without overflow however small the output scale is.

use infer_core::{Activation, Quant};

/// `[lo, hi]` for an activation over an output tensor quantized as `q`.
pub fn range(activation: Activation, q: Quant) -> (i32, i32) {
    let zp = i32::from(q.zero_point);
    match activation {
        Activation::None => (-128, 127),
        Activation::Relu => ((-128).max(zp), 127),
        Activation::Relu6 => ((-128).max(zp), relu6_top(q)),
    }
}

/// `min(127, zp + round(6.0f32 / scale))`, the quotient in f32 as TFLite, rounded half away
/// from zero (`std::round`), the sum taken exactly.
fn relu6_top(q: Quant) -> i32 {
    let steps = (6.0f32 / q.scale).round();
    // `steps` is >= 0 for a positive scale; anything from 255 up already reaches 127 from
    // the lowest zero point, so the exact sum is only needed below that (+∞ included; NaN
    // cannot come from a positive scale, and is treated as unbounded too).
    if steps.is_nan() || steps >= 255.0 {
        return 127;
    }
    (i32::from(q.zero_point) + steps as i32).min(127)
}

/// Clamp an exact (i64) pre-activation value and narrow it to int8.
pub fn clamp_to(v: i64, (lo, hi): (i32, i32)) -> i8 {
    let c = v.clamp(i64::from(lo), i64::from(hi));
    i8::try_from(c).expect("activation ranges lie inside int8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(scale: f32, zero_point: i8) -> Quant {
        Quant { scale, zero_point }
    }

    #[test]
    fn ranges() {
        assert_eq!(range(Activation::None, q(0.1, 5)), (-128, 127));
        assert_eq!(range(Activation::Relu, q(0.1, -20)), (-20, 127));
        // 6 / 0.05 = 120 → −20 + 120.
        assert_eq!(range(Activation::Relu6, q(0.05, -20)), (-20, 100));
        // 6 / 0.8 = 7.5 → rounds half away to 8 (f32 quotient is exactly 7.5).
        assert_eq!(range(Activation::Relu6, q(0.8, 0)), (0, 8));
    }

    #[test]
    fn relu6_saturates_for_tiny_scales() {
        // zp + round(6/scale) would overflow i32 (or be +∞): the top is simply 127.
        assert_eq!(range(Activation::Relu6, q(1e-30, 0)), (0, 127));
        assert_eq!(range(Activation::Relu6, q(1e-38, 127)), (127, 127));
        assert_eq!(range(Activation::Relu6, q(f32::MIN_POSITIVE / 4.0, -128)), (-128, 127));
        assert_eq!(range(Activation::Relu6, q(6.0 / 254.0, -128)), (-128, 126));
        assert_eq!(range(Activation::Relu6, q(0.01, -128)), (-128, 127));
    }

    #[test]
    fn clamp_narrows() {
        assert_eq!(clamp_to(i64::MAX, (-128, 127)), 127);
        assert_eq!(clamp_to(-1 << 40, (-5, 127)), -5);
    }
}
