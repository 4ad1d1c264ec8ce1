//! Mean over H and W, TFLite 2.14's int8 MEAN with the reference kernel
//! (`reference_ops::QuantizedMeanOrSum`, compute_sum = false, which `reduce.cc` runs for every
//! int8 MEAN): per channel `MBQM(Σ q − zp_in · n, m', s') + zp_out`, clamped to int8, where
//! `(m', s')` is the blob's `QuantizeMultiplier(s_in / s_out)` with 1/n folded in
//! ([`crate::quant_math::fold_mean_multiplier`], done once at load). One rounding, unlike a
//! global average pool followed by a requantize.

use super::{q, Dims};
use crate::quant_math::multiply_by_quantized_multiplier as mbqm;

/// Precomputed parameters; the loader caps `h · w` at 2^23 and proves
/// `|Σ (q − zp_in)| · 2^max(shift, 0) + 128 < 2^31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeanParams {
    /// Input shape (output 1×1×C).
    pub input: Dims,
    /// Input zero point.
    pub in_zp: i32,
    /// The folded multiplier (may be below 2^30).
    pub multiplier: i32,
    /// The folded shift (−31..=30).
    pub shift: i32,
    /// Output zero point.
    pub out_zp: i32,
}

/// Mean of each channel of `input` into `output[..c]`.
pub fn mean(p: &MeanParams, input: &[u8], output: &mut [u8]) {
    let (n, c) = (p.input.h * p.input.w, p.input.c);
    for (ch, o) in output.iter_mut().take(c).enumerate() {
        // TFLite sums the raw values (|Σ q| <= 128 · n <= 2^30), then subtracts zp · n.
        let sum: i32 = input.iter().skip(ch).step_by(c).take(n).map(|&v| q(v)).sum();
        let shifted = sum - p.in_zp * n as i32;
        let v = mbqm(shifted, p.multiplier, p.shift) + p.out_zp;
        *o = v.clamp(-128, 127) as i8 as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;
    use proptest::prelude::*;

    /// The folding written from its definition: `k = min(⌊log2 n⌋, 32, 31 + s)`,
    /// `m' = ⌊m · 2^k / n⌋`.
    fn ref_fold(m: i32, s: i32, n: i64) -> (i32, i32) {
        let log2 = (0..63).rev().find(|&b| n >> b != 0).unwrap_or(0);
        let k = log2.min(32).min(31 + s);
        ((i128::from(m) * (1i128 << k) / i128::from(n)) as i32, s - k)
    }

    /// A problem the loader accepts: dims, zero points, (m, s) whose folded left shift fits.
    fn problem() -> impl Strategy<Value = (Dims, Vec<u8>, i8, i8, i32, i32)> {
        (dims(12, 6), any::<i8>(), any::<i8>(), multiplier(), -31i32..=12).prop_flat_map(
            |(d, zi, zo, m, s)| (Just(d), activations(d.len()), Just(zi), Just(zo), Just(m), Just(s)),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn mean_matches_reference((d, x, zi, zo, m, s) in problem()) {
            let n = (d.h * d.w) as i64;
            let (fm, fs) = ref_fold(m, s, n);
            prop_assert_eq!((fm, fs), crate::quant_math::fold_mean_multiplier(m, s, n as u64));
            let bound = n * 255;
            prop_assume!(bound << fs.max(0) <= ACC_LIMIT);
            let (in_zp, out_zp) = (i32::from(zi), i32::from(zo));
            let p = MeanParams { input: d, in_zp, multiplier: fm, shift: fs, out_zp };
            let mut got = vec![0x55u8; d.c + 1];
            mean(&p, &x, &mut got);
            prop_assert_eq!(got[d.c], 0x55);
            for c in 0..d.c {
                let s: i64 = (0..d.h * d.w).map(|i| i64::from(x[i * d.c + c] as i8) - i64::from(zi)).sum();
                let want = (ref_mbqm(s, fm, fs) + i64::from(zo)).clamp(-128, 127);
                prop_assert_eq!(i64::from(got[c] as i8), want);
            }
        }
    }

    /// Equal scales and zero points over 2×2: the folded multiplier is 2^30 with shift −1, so
    /// MultiplyByQuantizedMultiplier's double rounding applies (halve, round, halve, round).
    #[test]
    fn equal_quantization_is_the_rounded_mean() {
        let d = Dims { h: 2, w: 2, c: 3 };
        let x: Vec<u8> = [1i8, -1, 5, 2, -2, 5, 0, 0, 5, 0, 0, 6].iter().map(|&v| v as u8).collect();
        let (m, s) = crate::quant_math::fold_mean_multiplier(1 << 30, 1, 4);
        let p = MeanParams { input: d, in_zp: 0, multiplier: m, shift: s, out_zp: 0 };
        let mut out = [0u8; 3];
        mean(&p, &x, &mut out);
        // 3/4 → 1, −3/4 → −1; 21/4: 21/2 → 11, 11/2 → 6.
        assert_eq!(out.map(|v| v as i8), [1, -1, 6]);
    }
}
