//! TFLite's requantization arithmetic ("double rounding" MultiplyByQuantizedMultiplier),
//! computed from `shared/INT8.md` with exact i64 arithmetic and explicit rounding rules instead
//! of the C++ bit tricks (mask/threshold, nudge with truncating division).
//!
//! - SaturatingRoundingDoublingHighMul is `a·b / 2^31` rounded to nearest with ties towards
//!   +∞ (INT8.md's nudge `1 − 2^30` for negative products, with truncating division, rounds
//!   −1.5 to −1: check value SRDHM(−3, 2^30) = −1), saturating only at a = b = i32::MIN.
//! - RoundingDivideByPOT is `x / 2^e` rounded to nearest with ties away from zero.

/// `n / d` rounded to nearest, ties towards +∞, for a power of two `d >= 2`:
/// `floor((n + d/2) / d)` (the caller keeps `n + d/2` inside i64).
pub fn div_round_half_up(n: i64, d: i64) -> i64 {
    (n + d / 2).div_euclid(d)
}

/// `n / d` rounded to nearest, ties away from zero, for a power of two `d >= 1`:
/// `sign(n) · floor((|n| + d/2) / d)` (d = 1 adds nothing and divides by one).
pub fn div_round_half_away(n: i64, d: i64) -> i64 {
    let magnitude = (n.abs() + d / 2) / d;
    if n < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// SaturatingRoundingDoublingHighMul(a, b): `round(2·a·b / 2^32)`, i32::MAX for MIN·MIN.
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        // 2·a·b = 2^63 is the one product whose doubled value leaves i64 (and i32 after the
        // division: 2^31); TFLite saturates it.
        return i32::MAX;
    }
    // |2·a·b| <= 2 · 2^31 · (2^31 − 1) = 2^63 − 2^32 otherwise, so adding the 2^31 nudge
    // inside `div_round_half_up` stays in i64.
    let doubled = 2 * i64::from(a) * i64::from(b);
    let r = div_round_half_up(doubled, 1i64 << 32);
    // |r| <= 2^31 − 1 when not both are i32::MIN.
    i32::try_from(r).expect("|a·b| < 2^62 keeps the high half in i32")
}

/// RoundingDivideByPOT(x, e) for 0 <= e <= 31: `x / 2^e`, ties away from zero.
pub fn rdbpot(x: i32, exponent: u32) -> i32 {
    assert!(exponent <= 31, "RoundingDivideByPOT exponent {exponent} outside 0..=31");
    let r = div_round_half_away(i64::from(x), 1i64 << exponent);
    i32::try_from(r).expect("a quotient is no larger than its dividend")
}

/// MultiplyByQuantizedMultiplier(x, m, shift), double rounding; `shift > 0` shifts left.
///
/// `None` where TFLite's i32 arithmetic would overflow (`x · 2^shift` outside i32) or the
/// shift is outside −31..=30: a validated blob never gets there.
pub fn mbqm(x: i32, m: i32, shift: i32) -> Option<i32> {
    if !(-31..=30).contains(&shift) {
        return None;
    }
    let left = shift.max(0) as u32;
    let right = (-shift).max(0) as u32;
    let scaled = i32::try_from(i64::from(x) << left).ok()?;
    Some(rdbpot(srdhm(scaled, m), right))
}

/// QuantizeMultiplier(real) → (m, shift): `real ≈ m · 2^(shift − 31)`, m in [2^30, 2^31).
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real <= 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = frexp(real);
    // q · 2^31 is exact in f64 (a power-of-two scaling); `round` is half away from zero.
    let mut m = (q * 2f64.powi(31)).round() as i64;
    if m == 1i64 << 31 {
        m /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (m as i32, shift)
}

/// TFLite's MEAN over `n` positions (`QuantizedMeanOrSum`) folds 1/n into the multiplier
/// `(m, s) = QuantizeMultiplier(s_in / s_out)`: `k = min(63 − clz64(n), 32, 31 + s)`, result
/// `(m · 2^k / n, s − k)`. The blob's `Mean` layer ([`crate::ops::mean`]); its GlobalAvgPool is
/// TFLM's AvgPool, a different op.
pub fn fold_mean(m: i32, s: i32, n: u64) -> (i32, i32) {
    let log2_n = 63 - n.max(1).leading_zeros() as i32;
    let k = log2_n.min(32).min(31 + s).max(0);
    let folded = (i64::from(m) << k) / n.max(1) as i64;
    (i32::try_from(folded).expect("m · 2^k / n < 2^31 because 2^k <= n"), s - k)
}

/// `real = q · 2^e` with q in [0.5, 1), for positive finite normal `real` (else q = 0).
fn frexp(real: f64) -> (f64, i32) {
    let biased = ((real.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: far below 2^−31, so QuantizeMultiplier returns (0, 0) anyway.
        return (0.0, -1100);
    }
    // real = 1.f · 2^(biased − 1023) = 0.1f · 2^(biased − 1022).
    let e = biased - 1022;
    // Scaling by 2^−e is exact (2^−1024 is still a representable subnormal).
    (real * 2f64.powi(-e), e)
}

#[cfg(test)]
mod tests;
