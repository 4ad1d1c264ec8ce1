//! Fixed-point requantization exactly as TFLite Micro's default ("double rounding") build.
//!
//! See `shared/INT8.md`: every function here is pinned to the check values in its table, and the
//! blob's format version records that this rounding mode is the one in force.

use crate::schema::{Activation, Multiplier, Quant};

/// `SaturatingRoundingDoublingHighMul(a, b)`: the high 32 bits of `2·a·b`, rounded half away
/// from zero; the only overflowing input pair (`i32::MIN`, `i32::MIN`) saturates.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // |ab| <= 2^62 - 2^31 here, so the sum fits i64 and the quotient fits i32. Truncating
    // division (not an arithmetic shift) is what gives the symmetric rounding.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `RoundingDivideByPOT(x, e)`: `x / 2^e` rounded half away from zero, for `0 <= e <= 31`.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent));
    // The mask is built in i64 so that e = 31 does not overflow.
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `MultiplyByQuantizedMultiplier(x, m, shift)`, double rounding: a left shift for `shift > 0`,
/// the Q31 high multiply, then a rounding right shift for `shift < 0`.
///
/// The caller guarantees `x · 2^max(shift, 0)` fits i32 and `-31 <= shift <= 30`; `Model`
/// validation proves this for every accumulator before any kernel runs.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift } else { 0 };
    let right = if shift < 0 { -shift } else { 0 };
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x * (1 << left), multiplier), right)
}

/// QuantizeMultiplier (host side): `real ≈ m · 2^(shift − 31)` with `m` in `[2^30, 2^31)`.
///
/// `(q, e) = frexp(real)`, `m = round_half_away(q · 2^31)`; a carry to `2^31` halves `m` and
/// bumps `e`; exponents below −31 flush to `(0, 0)`. Zero, NaN and infinities give `(0, 0)`.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = libm::frexp(real);
    // q · 2^31 is exact in f64 (a power-of-two scaling), so only the rounding rounds.
    let mut m = libm::round(q * 2147483648.0) as i64;
    if m == 1i64 << 31 {
        m /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (m as i32, shift)
}

/// [`quantize_multiplier`] packed into the blob's [`Multiplier`]; shifts beyond the i8 range
/// saturate (and are then rejected by the loader, which accepts −31..=30 only).
pub fn multiplier_from_real(real: f64) -> Multiplier {
    let (multiplier, shift) = quantize_multiplier(real);
    Multiplier { multiplier, shift: shift.clamp(i32::from(i8::MIN), i32::from(i8::MAX)) as i8 }
}

/// TFLite's MEAN (`reference_ops::QuantizedMeanOrSum`, compute_sum = false) folds 1/`n` into
/// its Prepare's `(multiplier, shift) = QuantizeMultiplier(s_in / s_out)` at every Eval:
/// `k = min(63 − CountLeadingZeros64(n), 32, 31 + shift)`, then `multiplier · 2^k / n`
/// (integer division in i64) with shift `shift − k`. The result may be below 2^30 (it is still
/// applied by MultiplyByQuantizedMultiplier); it rounds once, where a pool followed by a
/// requantize would round twice.
///
/// For `n >= 1`, `0 <= multiplier < 2^31` and `shift >= −31` (what the loader accepts) the
/// result lies in `[0, 2^31)` with shift in `−31..=shift`; other inputs give some value without
/// panicking.
pub fn fold_mean_multiplier(multiplier: i32, shift: i32, n: u64) -> (i32, i32) {
    let n = n.max(1);
    let log2_n = 63 - n.leading_zeros() as i32;
    // k >= 0 whenever shift >= −31; the clamp only keeps the shift below defined.
    let k = log2_n.min(32).min(31 + shift).max(0);
    // |multiplier| < 2^31 and k <= 32 keep the shifted value inside i64; 2^k <= n keeps the
    // quotient below 2^31 in magnitude.
    let folded = (i64::from(multiplier) << k) / n as i64;
    (folded as i32, shift - k)
}

/// The integer bits of the softmax's scaled input differences (Q5.26), TFLite's
/// `kScaledDiffIntegerBits`.
pub const SOFTMAX_SCALED_DIFF_INTEGER_BITS: i32 = 5;

/// Host side: TFLite 2.14's int8 SoftmaxPrepare with the reference kernel, for `beta` (the
/// model's f32 beta, widened) and the input scale: `(input_multiplier, input_left_shift,
/// diff_min)`.
///
/// - `PreprocessSoftmaxScaling`: `real = min(beta · s_in · 2^(31 − 5), 2^31 − 1)` in double,
///   then `QuantizeMultiplierGreaterThanOne(real)` (QuantizeMultiplier; TFLite aborts unless
///   `real > 1`, which here gives a shift <= 0 that the loader rejects).
/// - `CalculateInputRadius(5, shift)`: `floor((2^5 − 1) · 2^(31 − 5) / 2^shift)` in double;
///   `diff_min` is its negation.
pub fn softmax_params(beta: f64, input_scale: f32) -> (i32, i32, i32) {
    let bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS;
    let scale = f64::from(1u32 << (31 - bits));
    let real = beta * f64::from(input_scale) * scale;
    // std::min(real, max): a NaN `real` stays NaN (and quantizes to (0, 0)).
    let max = f64::from(i32::MAX);
    let real = if max < real { max } else { real };
    let (multiplier, shift) = quantize_multiplier(real);
    let max_input_rescaled = f64::from((1i32 << bits) - 1) * scale / libm::exp2(f64::from(shift));
    // `as` saturates where C++ would be undefined (shifts the loader rejects anyway).
    let radius = libm::floor(max_input_rescaled) as i32;
    (multiplier, shift, -radius)
}

/// Host side: TFLite 2.14's int8 LOGISTIC table for the reference kernel (`SigmoidPrepare`,
/// `LUTPopulate`), indexed by the input byte (`q as u8`). All in f32 as TFLite computes it:
/// `x = s_in · (q − zp_in)`, `y = 1 / (1 + exp(−x))`, `round(y · (1 / s_out))` (half away
/// from zero) plus `zp_out`, clamped to int8.
///
/// TFLite's `exp` is the float `expf` of the C library it runs on (glibc's is correctly
/// rounded except within about 0.002 ULP of a tie); here it is `exp` in f64 rounded to f32,
/// correctly rounded except in double-rounding cases. The two can only give a different byte
/// where `256 · y` also lies within one f32 step of a half: no such case in the oracle fixtures
/// (`tests/tflite_ops.rs`, every int8 input under 60 quantizations).
pub fn logistic_table(input: Quant, output: Quant) -> [u8; 256] {
    let inverse_scale = 1.0f32 / output.scale;
    let mut table = [0u8; 256];
    for q in -128i32..=127 {
        // q − zp fits 9 bits: exact in f32.
        let x = input.scale * (q - i32::from(input.zero_point)) as f32;
        // f64 → f32 rounds to nearest and overflows to infinity, as expf does; 1 / inf = 0.
        let e = libm::exp(f64::from(-x)) as f32;
        let y = 1.0f32 / (1.0f32 + e);
        let rescaled = libm::roundf(y * inverse_scale);
        // TFLite adds the zero point in float and truncates (exact: both are integers).
        let quantized = (rescaled + f32::from(output.zero_point)) as i32;
        table[usize::from(q as i8 as u8)] = quantized.clamp(-128, 127) as i8 as u8;
    }
    table
}

/// The residual-add left shift of TFLM's int8 add (`add_common.cc`).
pub const ADD_LEFT_SHIFT: i32 = 20;

/// Host side: the three multipliers of TFLM's int8 add for input scales `s1`, `s2` and output
/// scale `s_out` (inputs scaled by `s_i / (2·max(s1, s2))`, the sum by
/// `2·max(s1, s2) / (2^20 · s_out)`), in the order input1, input2, output.
pub fn add_multipliers(s1: f32, s2: f32, s_out: f32) -> [Multiplier; 3] {
    let twice_max = 2.0 * f64::from(if s1 > s2 { s1 } else { s2 });
    [
        multiplier_from_real(f64::from(s1) / twice_max),
        multiplier_from_real(f64::from(s2) / twice_max),
        multiplier_from_real(twice_max / (f64::from(1u32 << ADD_LEFT_SHIFT) * f64::from(s_out))),
    ]
}

/// Activation range as TFLM's `CalculateActivationRangeQuantized` for an int8 output with
/// `scale` and `zero_point`: none → [−128, 127]; ReLU → [max(−128, zp), 127];
/// ReLU6 → [max(−128, zp), min(127, zp + round(6.0f32 / scale))].
pub fn activation_range(activation: Activation, scale: f32, zero_point: i32) -> (i32, i32) {
    let (qmin, qmax) = (i32::from(i8::MIN), i32::from(i8::MAX));
    // `as` saturates (C++ would be undefined for huge quotients); either way the clamp wins.
    let quantize = |f: f32| zero_point.saturating_add(libm::roundf(f / scale) as i32);
    match activation {
        Activation::None => (qmin, qmax),
        Activation::Relu => (qmin.max(quantize(0.0)), qmax),
        Activation::Relu6 => (qmin.max(quantize(0.0)), qmax.min(quantize(6.0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P30: i32 = 1 << 30;

    #[test]
    fn srdhm_check_values() {
        assert_eq!(saturating_rounding_doubling_high_mul(3, P30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, P30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), 2147483647);
    }

    #[test]
    fn rdbpot_check_values() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-3, 1), -2);
        // Edge exponents.
        assert_eq!(rounding_divide_by_pot(-7, 0), -7);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(1 << 30, 31), 1); // 0.5 rounds away from zero
        assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1);
    }

    #[test]
    fn rdbpot_ties_round_away_from_zero() {
        // Exact halves: the threshold is one lower for negative x, so both signs round away.
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 → 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(2, 2), 1); // 0.5 → 1
        assert_eq!(rounding_divide_by_pot(-2, 2), -1); // −0.5 → −1
    }

    #[test]
    fn mbqm_check_values_double_rounding() {
        assert_eq!(multiply_by_quantized_multiplier(29875, 1972563514, -2), 6861);
        assert_eq!(multiply_by_quantized_multiplier(-83457, 2079011274, -3), -10100);
        assert_eq!(multiply_by_quantized_multiplier(99827, 1673091988, -1), 38888);
    }

    #[test]
    fn mbqm_left_shift() {
        // m = 2^30 is 0.5; a left shift of 1 makes the multiplier 1.0.
        assert_eq!(multiply_by_quantized_multiplier(12345, P30, 1), 12345);
        assert_eq!(multiply_by_quantized_multiplier(-12345, P30, 1), -12345);
    }

    #[test]
    fn quantize_multiplier_check_values() {
        assert_eq!(quantize_multiplier(0.0037), (2034096511, -8));
        assert_eq!(quantize_multiplier(0.5), (1073741824, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(1e-20), (0, 0)); // exponent below −31 flushes
        assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
        // Just below 1.0 rounds up to 2^31 and carries into the shift.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
    }

    /// INT8.md's check value: Google's int8 MobileNetV2 MEAN (op 63: tensor 171 → 172, 7×7
    /// positions), scales as `get_tensor_details()` reads them from
    /// `tf2_mobilenet_v2_1.0_224_ptq.tflite`.
    #[test]
    fn mean_folding_mobilenet_v2() {
        // 0.0235294 and 0.0190778.
        let (s_in, s_out) = (f32::from_bits(0x3cc0_c0c1), f32::from_bits(0x3c9c_491d));
        let m = multiplier_from_real(f64::from(s_in) / f64::from(s_out));
        assert_eq!((m.multiplier, m.shift), (1_324_286_437, 1));
        assert_eq!(fold_mean_multiplier(m.multiplier, i32::from(m.shift), 49), (864_840_122, -4));
    }

    #[test]
    fn mean_folding_edges() {
        // n = 1: nothing to fold.
        assert_eq!(fold_mean_multiplier(P30, 3, 1), (P30, 3));
        // A power of two folds exactly into the shift.
        assert_eq!(fold_mean_multiplier(1_500_000_000, -2, 64), (1_500_000_000, -8));
        // k is clamped to 31 + shift: the multiplier keeps less precision.
        assert_eq!(fold_mean_multiplier(P30, -28, 196), (43_826_196, -31)); // 2^33 / 196
        assert_eq!(fold_mean_multiplier(0, 0, 49), (0, -5));
        // Huge n: k is capped at 32.
        assert_eq!(fold_mean_multiplier(i32::MAX, 1, 1 << 40), (8_388_607, -31));
    }

    /// Values TFLite's SoftmaxPrepare gives (recomputed by `scripts/tflite_op_fixtures.py`,
    /// confirmed by the fixtures' outputs in `tests/tflite_ops.rs`).
    #[test]
    fn softmax_params_check_values() {
        // MobileNetV2's softmax input (scale 0.063365..., beta 1).
        assert_eq!(softmax_params(1.0, f32::from_bits(0x3d81_c585)), (1_088_602_752, 23, -248));
        assert_eq!(softmax_params(1.0, 0.0625), (1 << 30, 23, -248));
        assert_eq!(softmax_params(1.0, 0.5), (1 << 30, 26, -31));
        // Capped at 2^31 − 1: the largest shift, and only the maximum itself passes diff_min.
        assert_eq!(softmax_params(1.0, 40.0), (i32::MAX, 31, 0));
        assert_eq!(softmax_params(1.0, 0.001), (1_099_511_680, 17, -15_872));
    }

    #[test]
    fn activation_ranges() {
        assert_eq!(activation_range(Activation::None, 0.1, 5), (-128, 127));
        assert_eq!(activation_range(Activation::Relu, 0.1, -20), (-20, 127));
        // 6 / 0.05 = 120 → zp + 120 = 100.
        assert_eq!(activation_range(Activation::Relu6, 0.05, -20), (-20, 100));
        assert_eq!(activation_range(Activation::Relu6, 0.01, -128), (-128, 127));
        assert_eq!(activation_range(Activation::Relu6, 1e-30, 0), (0, 127));
    }

    #[test]
    fn add_multipliers_are_below_one() {
        for m in add_multipliers(0.02, 0.05, 0.06) {
            assert!(m.shift <= 0 && m.multiplier >= P30, "{m:?}");
        }
        // Equal scales: each input multiplier is exactly 0.5.
        let [a, b, _] = add_multipliers(0.1, 0.1, 0.1);
        assert_eq!((a.multiplier, a.shift), (P30, 0));
        assert_eq!((b.multiplier, b.shift), (P30, 0));
    }
}
