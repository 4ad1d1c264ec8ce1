//! Int8 softmax over each pixel's channels, TFLite 2.14's reference kernel
//! (`reference_ops::Softmax<int8_t, int8_t>` in `internal/reference/softmax.h`, with the
//! parameters of `SoftmaxPrepare` for `kReference`): gemmlowp fixed point, differences from
//! the pixel's maximum scaled to Q5.26 (`kScaledDiffIntegerBits = 5`), exps summed in Q12.19
//! (`kAccumulationIntegerBits = 12`), one reciprocal per pixel, output scale 1/256 with zero
//! point −128.

use super::fixedpoint::{exp_on_negative_values, reciprocal};
use super::q;
use crate::quant_math::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul as srdhm};

/// Most channels: the sum of exps (each at most 2^19 in Q12.19) stays below 2^31.
pub const MAX_DEPTH: usize = 4095;

/// Precomputed parameters; the loader proves `depth <= MAX_DEPTH`, `0 <= input_left_shift <=
/// 31`, `0 <= input_multiplier < 2^31` and `min(255, −diff_min) · 2^input_left_shift < 2^31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// Pixels (H·W).
    pub pixels: usize,
    /// Channels per pixel, 1..=[`MAX_DEPTH`].
    pub depth: usize,
    /// Q31 multiplier of beta · s_in (TFLite's `input_multiplier`).
    pub input_multiplier: i32,
    /// Its left shift.
    pub input_left_shift: i32,
    /// Differences below this (<= 0) give −128 and are left out of the sum.
    pub diff_min: i32,
}

/// Softmax of every pixel of `input` into `output`.
pub fn softmax(p: &SoftmaxParams, input: &[u8], output: &mut [u8]) {
    let pixels = input.chunks_exact(p.depth).zip(output.chunks_exact_mut(p.depth)).take(p.pixels);
    for (x, out) in pixels {
        pixel(p, x, out);
    }
}

/// exp of one difference from the maximum: `MultiplyByQuantizedMultiplierGreaterThanOne`
/// (double rounding build: SRDHM of `diff · 2^left`) into Q5.26, then gemmlowp's
/// `exp_on_negative_values` (Q0.31).
#[inline]
fn exp_of_diff(p: &SoftmaxParams, diff: i32) -> i32 {
    // diff in [max(diff_min, −255), 0]: the loader proved `|diff| · 2^left < 2^31`.
    exp_on_negative_values(srdhm(diff << p.input_left_shift, p.input_multiplier))
}

fn pixel(p: &SoftmaxParams, x: &[u8], out: &mut [u8]) {
    let max = x.iter().map(|&b| q(b)).fold(-128, i32::max);
    // Σ Rescale<12>(exp) in Q12.19: the maximum adds 2^19 (exp(0)), every term at most 2^19,
    // so 2^19 <= sum <= depth · 2^19 < 2^31.
    let mut sum = 0i32;
    for &b in x {
        let diff = q(b) - max;
        if diff >= p.diff_min {
            sum += rounding_divide_by_pot(exp_of_diff(p, diff), 12);
        }
    }
    // GetReciprocal(sum, 12): num_bits_over_unit = 12 − clz(sum), in 0..=11.
    let (scale, bits_over_unit) = reciprocal(sum, 12);
    for (o, &b) in out.iter_mut().zip(x) {
        let diff = q(b) - max;
        let v = if diff >= p.diff_min {
            // (shifted_scale · exp).raw() is in [0, 2^31 − 2]; divided by 2^(bits + 31 − 8).
            let unsat = divide_by_pot_as_tflite(srdhm(scale, exp_of_diff(p, diff)), bits_over_unit + 23);
            unsat - 128
        } else {
            -128
        };
        *o = v.clamp(-128, 127) as i8 as u8;
    }
}

/// gemmlowp's `RoundingDivideByPOT(x, e)` as TFLite's release builds execute it, for
/// `0 <= x < 2^31 − 1` and `0 <= e <= 63`.
///
/// TFLite calls it with `e = num_bits_over_unit + 23`, which exceeds gemmlowp's limit of 31
/// (an `assert`, compiled out) once the sum of exps reaches 2^28 (about 512 channels at the
/// maximum, e.g. 1001 equal logits). The C++ then computes its mask `(1ll << e) − 1` in 64
/// bits and truncates it to all ones, and shifts the int32 by `e`, which x86-64 (`sar`) and
/// AArch64 (`asr`) take modulo 32: the result is `(x >> (e − 32)) + 1`, so such pixels come
/// out near 127 instead of near −128. The oracle fixtures (`tests/tflite_ops.rs`) pin this for
/// e = 32, 33 and 34.
#[inline]
fn divide_by_pot_as_tflite(x: i32, e: i32) -> i32 {
    if e <= 31 {
        return rounding_divide_by_pot(x, e);
    }
    // mask = −1: remainder = x, threshold = (−1 >> 1) + (x < 0) = −1 + (x < 0).
    let threshold = -1 + i32::from(x < 0);
    (x >> (e & 31)) + i32::from(x > threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::activations;
    use proptest::prelude::*;

    fn run(p: &SoftmaxParams, x: &[i8]) -> Vec<i8> {
        let bytes: Vec<u8> = x.iter().map(|&v| v as u8).collect();
        let mut out = vec![0x55u8; bytes.len() + 1];
        softmax(p, &bytes, &mut out);
        assert_eq!(out[bytes.len()], 0x55);
        out[..bytes.len()].iter().map(|&v| v as i8).collect()
    }

    /// Parameters as TFLite's Prepare makes them for an input scale `s` (beta 1).
    fn params(s: f32, pixels: usize, depth: usize) -> SoftmaxParams {
        let (input_multiplier, input_left_shift, diff_min) = crate::quant_math::softmax_params(1.0, s);
        SoftmaxParams { pixels, depth, input_multiplier, input_left_shift, diff_min }
    }

    /// The plain reference: f64 softmax of the differences the kernel keeps (those >=
    /// diff_min), with the effective beta · s_in of the quantized multiplier, times 256, minus
    /// 128, rounded and clamped. The fixed point is within one step of it while the sum of exps
    /// stays below 2^28 (TFLite's divisor exponent <= 31).
    fn ref_pixel(p: &SoftmaxParams, x: &[i8]) -> Vec<Option<i64>> {
        let per_step = f64::from(p.input_multiplier) * 2f64.powi(p.input_left_shift - 31 - 26);
        let max = x.iter().copied().max().map_or(-128, i32::from);
        let keep = |v: i8| i32::from(v) - max >= p.diff_min;
        let e = |v: i8| (f64::from(i32::from(v) - max) * per_step).exp();
        let sum: f64 = x.iter().filter(|&&v| keep(v)).map(|&v| e(v)).sum();
        if sum >= 512.0 {
            return vec![None; x.len()];
        }
        x.iter()
            .map(|&v| {
                Some(if keep(v) {
                    ((e(v) / sum * 256.0).round() as i64 - 128).clamp(-128, 127)
                } else {
                    -128
                })
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn softmax_near_float_reference(
            (depth, pixels, x) in (1..80usize, 1..4usize)
                .prop_flat_map(|(d, n)| (Just(d), Just(n), activations(d * n))),
            s in prop_oneof![0.001f32..0.5, 0.5f32..40.0, Just(0.0634f32), Just(40.0f32)],
        ) {
            let p = params(s, pixels, depth);
            let x: Vec<i8> = x.iter().map(|&v| v as i8).collect();
            let got = run(&p, &x);
            for (px, out) in x.chunks(depth).zip(got.chunks(depth)) {
                for (w, &g) in ref_pixel(&p, px).into_iter().zip(out) {
                    if let Some(w) = w {
                        prop_assert!((i64::from(g) - w).abs() <= 1, "got {g}, want {w}");
                    }
                }
            }
        }
    }

    #[test]
    fn pinned_values() {
        let p = params(0.0625, 1, 10);
        // All equal: 1/10 of 256 is 25.6 → −128 + 26.
        assert_eq!(run(&p, &[37; 10]), vec![-102; 10]);
        // One maximum, the rest beyond diff_min (−248): exactly 127 and −128.
        let mut x = [-128i8; 10];
        x[3] = 127;
        assert_eq!(run(&p, &x)[2..5], [-128, 127, -128]);
        // Two channels, equal: 1/2 → 0.
        assert_eq!(run(&params(0.0625, 1, 2), &[5, 5]), vec![0, 0]);
    }

    /// TFLite's quirk (see `divide_by_pot_as_tflite`): 1001 equal logits give 127 everywhere.
    #[test]
    fn many_equal_maxima_as_tflite() {
        let p = params(f32::from_bits(0x3d81_c585), 1, 1001);
        assert_eq!(run(&p, &[37; 1001]), vec![127; 1001]);
        assert_eq!(divide_by_pot_as_tflite(1000, 32), 1001);
        assert_eq!(divide_by_pot_as_tflite(1000, 34), 251);
        assert_eq!(divide_by_pot_as_tflite(1000, 3), 125);
    }
}
