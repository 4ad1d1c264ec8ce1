//! The gemmlowp fixed-point functions TFLite's reference int8 softmax uses
//! (`fixedpoint/fixedpoint.h`, and `GetReciprocal` from TFLite's `internal/common.h`), on the
//! raw i32 of a `FixedPoint<int32_t, I>` (value = raw / 2^(31 − I)).
//!
//! Every intermediate is in range (by the argument in each comment, by the exhaustive test of
//! the exp polynomial over every input the softmax can give it, and by the dense sampled test
//! of the reciprocal), so the plain i32 operators here do not overflow: the same results as
//! the C++ in its defined range.

use crate::quant_math::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul as srdhm};

/// `SaturatingRoundingMultiplyByPOT<e>` for `1 <= e <= 30`: `x · 2^e`, saturated to i32.
#[inline]
fn saturating_shl(x: i32, e: u32) -> i32 {
    let threshold = (1i32 << (31 - e)) - 1;
    if x > threshold {
        i32::MAX
    } else if x < -threshold {
        i32::MIN
    } else {
        x << e
    }
}

/// gemmlowp `RoundingHalfSum(a, b)`: `(a + b) / 2` rounded half away from zero.
#[inline]
fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = i64::from(a) + i64::from(b);
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `exp_on_interval_between_negative_one_quarter_and_0_excl` (Q0.31 → Q0.31): the Taylor
/// expansion of exp around −1/8, for `a` in [−1/4, 0).
#[inline]
fn exp_on_quarter_interval(a: i32) -> i32 {
    const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668; // exp(−1/8)
    const ONE_THIRD: i32 = 715_827_883;
    let x = a + (1 << 28); // a + 1/8
    let x2 = srdhm(x, x);
    let x3 = srdhm(x2, x);
    let x4 = srdhm(x2, x2);
    let x4_over_4 = rounding_divide_by_pot(x4, 2);
    let poly = rounding_divide_by_pot(srdhm(x4_over_4 + x3, ONE_THIRD) + x2, 1);
    EXP_MINUS_ONE_EIGHTH + srdhm(EXP_MINUS_ONE_EIGHTH, x + poly)
}

/// `exp_on_negative_values` for a Q5.26 input `a <= 0` (gemmlowp, `tIntegerBits = 5`): exp of
/// `a mod 1/4` by the interval polynomial, then one multiplier per set bit of the rest
/// (exp(−1/4), exp(−1/2), …, exp(−16)); `exp(0)` is the largest Q0.31 value. Q0.31 result.
pub(crate) fn exp_on_negative_values(a: i32) -> i32 {
    const FRACTIONAL_BITS: u32 = 26;
    const ONE_QUARTER: i32 = 1 << (FRACTIONAL_BITS - 2);
    // The barrel shifter: exp(−2^e) in Q0.31 for e = −2..=4 (all below 5 integer bits).
    const BARREL: [(u32, i32); 7] = [
        (FRACTIONAL_BITS - 2, 1_672_461_947),
        (FRACTIONAL_BITS - 1, 1_302_514_674),
        (FRACTIONAL_BITS, 790_015_084),
        (FRACTIONAL_BITS + 1, 290_630_308),
        (FRACTIONAL_BITS + 2, 39_332_535),
        (FRACTIONAL_BITS + 3, 720_401),
        (FRACTIONAL_BITS + 4, 242),
    ];
    // In [−1/4, 0).
    let a_mod_quarter_minus_quarter = (a & (ONE_QUARTER - 1)) - ONE_QUARTER;
    // Rescale<0> from Q5.26: a saturating ×2^5, exact here (|value| <= 2^24).
    let mut result = exp_on_quarter_interval(saturating_shl(a_mod_quarter_minus_quarter, 5));
    // a <= 0 and the first term lies in [−2^24, 0): the difference fits i32.
    let remainder = a_mod_quarter_minus_quarter - a;
    for (bit, multiplier) in BARREL {
        if remainder & (1 << bit) != 0 {
            result = srdhm(result, multiplier);
        }
    }
    if a == 0 {
        i32::MAX
    } else {
        result
    }
}

/// `one_over_one_plus_x_for_x_in_0_1` (Q0.31 → Q0.31): three Newton–Raphson steps on
/// `1 / (1 + a)` for `a` in [0, 1), in Q2.29.
fn one_over_one_plus_x(a: i32) -> i32 {
    const ONE_Q2: i32 = 1 << 29;
    const C48_OVER_17: i32 = 1_515_870_810; // Q2.29
    const NEG_32_OVER_17: i32 = -1_010_580_540; // Q2.29
    let half_denominator = rounding_half_sum(a, i32::MAX); // (a + 1) / 2, in [1/2, 1)
    let mut x = C48_OVER_17 + srdhm(half_denominator, NEG_32_OVER_17);
    for _ in 0..3 {
        let one_minus_half_denominator_times_x = ONE_Q2 - srdhm(half_denominator, x);
        // Q2.29 · Q2.29 is Q4.27; Rescale<2> is a saturating ×4.
        x += saturating_shl(srdhm(x, one_minus_half_denominator_times_x), 2);
    }
    // ExactMulByPot<−1> makes it Q1.30; Rescale<0> is a saturating ×2.
    saturating_shl(x, 1)
}

/// TFLite's `GetReciprocal(x, x_integer_digits)` for `x > 0`: the Q0.31 `1 / (x normalized to
/// [1, 2))` and `num_bits_over_unit = x_integer_digits − CountLeadingZeros(x)`.
pub(crate) fn reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros(); // <= 30 for x > 0
    let num_bits_over_unit = x_integer_digits - headroom_plus_one as i32;
    let shifted_minus_one = ((x as u32) << headroom_plus_one).wrapping_sub(1 << 31) as i32;
    (one_over_one_plus_x(shifted_minus_one), num_bits_over_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value the softmax can feed the interval polynomial (Rescale<0> of [−2^24, 0) in
    /// steps of 2^5): no i32 overflow (debug builds check), and within 3e−7 of exp (a 4th-order
    /// Taylor polynomial around −1/8).
    #[test]
    fn quarter_interval_exhaustive() {
        let mut worst = 0f64;
        for r in -(1i32 << 24)..0 {
            let a = r << 5;
            let got = f64::from(exp_on_quarter_interval(a)) / 2f64.powi(31);
            worst = worst.max((got - (f64::from(a) / 2f64.powi(31)).exp()).abs());
        }
        assert!(worst < 3e-7, "worst error {worst}");
    }

    #[test]
    fn exp_matches_f64() {
        assert_eq!(exp_on_negative_values(0), i32::MAX);
        for raw in
            [-1, -2, -1000, -(1 << 24), -(1 << 26), -(3 << 25) - 12345, -(31 << 26), i32::MIN + 1, i32::MIN]
        {
            let got = f64::from(exp_on_negative_values(raw)) / 2f64.powi(31);
            let want = (f64::from(raw) / 2f64.powi(26)).exp();
            assert!((got - want).abs() < 5e-7, "exp({raw}) = {got}, want {want}");
        }
    }

    /// 1 / (1 + a) over [0, 1): every 2^7-th raw value and both ends densely; no i32 overflow
    /// (debug builds check) and within 1e−8.
    #[test]
    fn one_over_one_plus_x_sampled() {
        let check = |a: i32| {
            let got = f64::from(one_over_one_plus_x(a)) / 2f64.powi(31);
            let want = 1.0 / (1.0 + f64::from(a) / 2f64.powi(31));
            assert!((got - want).abs() < 1e-8, "1 / (1 + {a}): {got}, want {want}");
        };
        (0..i32::MAX).step_by(128).chain(0..4096).chain(i32::MAX - 4096..=i32::MAX).for_each(check);
    }

    #[test]
    fn reciprocal_matches_f64() {
        // Sums of exps in Q12.19: one exact 1.0, 1.5, 1000.25 and the largest.
        for x in [1 << 19, 3 << 18, (1000 << 19) + (1 << 17), i32::MAX] {
            let (r, bits) = reciprocal(x, 12);
            let value = f64::from(x) / 2f64.powi(19);
            let got = f64::from(r) / 2f64.powi(31) / 2f64.powi(bits);
            assert!((got * value - 1.0).abs() < 1e-8, "1/{value}: {got}");
        }
        assert_eq!(reciprocal(1 << 19, 12).1, 0);
        assert_eq!(reciprocal(i32::MAX, 12).1, 11);
    }
}
