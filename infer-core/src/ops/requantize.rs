//! Int8 → int8 requantize (TFLM `Requantize`): `MBQM(x − in_zp, m, shift) + out_zp`, clamped.

use crate::quant_math::multiply_by_quantized_multiplier as mbqm;

use super::q;

/// Precomputed parameters; the loader proves `255 · 2^max(shift, 0) + 128 < 2^31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequantizeParams {
    /// Input zero point.
    pub in_zp: i32,
    /// Q31 multiplier.
    pub multiplier: i32,
    /// Shift (−31..=22).
    pub shift: i32,
    /// Output zero point.
    pub out_zp: i32,
}

/// Rescale every element of `input` into `output`.
pub fn requantize(p: &RequantizeParams, input: &[u8], output: &mut [u8]) {
    for (o, &x) in output.iter_mut().zip(input) {
        let v = mbqm(q(x) - p.in_zp, p.multiplier, p.shift) + p.out_zp;
        *o = v.clamp(-128, 127) as i8 as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{activations, multiplier, ref_mbqm};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn requantize_matches_reference(
            zi in any::<i8>(), zo in any::<i8>(), m in multiplier(), shift in -31i32..=22,
            x in (1..40usize).prop_flat_map(activations),
        ) {
            let p = RequantizeParams { in_zp: i32::from(zi), multiplier: m, shift, out_zp: i32::from(zo) };
            let mut got = vec![0u8; x.len()];
            requantize(&p, &x, &mut got);
            for (g, &v) in got.iter().zip(&x) {
                let want = ref_mbqm(i64::from(v as i8) - i64::from(zi), m, shift) + i64::from(zo);
                prop_assert_eq!(i64::from(*g as i8), want.clamp(-128, 127));
            }
        }
    }
}
