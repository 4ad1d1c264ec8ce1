//! Residual add (TFLM int8 `Add`): both inputs are shifted left by 20, rescaled to a common
//! scale, summed and rescaled to the output.

use crate::quant_math::{multiply_by_quantized_multiplier as mbqm, ADD_LEFT_SHIFT};

use super::q;

/// Precomputed parameters of one add; every shift is in −31..=0 (multipliers below one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// Zero point of input1 (the running tensor).
    pub zp1: i32,
    /// Zero point of input2 (the saved slot).
    pub zp2: i32,
    /// Input1 multiplier and shift.
    pub m1: (i32, i32),
    /// Input2 multiplier and shift.
    pub m2: (i32, i32),
    /// Output multiplier and shift.
    pub mo: (i32, i32),
    /// Output zero point.
    pub out_zp: i32,
    /// Lower clamp.
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// `out[i] = add(a[i], b[i])` over `out.len()` elements.
pub fn add(p: &AddParams, a: &[u8], b: &[u8], out: &mut [u8]) {
    for ((o, &x1), &x2) in out.iter_mut().zip(a).zip(b) {
        // |x − zp| <= 255, so |v| < 2^28; the multipliers are below one (shift <= 0), so each
        // scaled value stays below 2^28 and their sum below 2^29: nothing can overflow.
        let v1 = mbqm((q(x1) - p.zp1) * (1 << ADD_LEFT_SHIFT), p.m1.0, p.m1.1);
        let v2 = mbqm((q(x2) - p.zp2) * (1 << ADD_LEFT_SHIFT), p.m2.0, p.m2.1);
        let v = mbqm(v1 + v2, p.mo.0, p.mo.1) + p.out_zp;
        *o = v.clamp(p.act_min, p.act_max) as i8 as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{activations, multiplier, ref_mbqm};
    use proptest::prelude::*;

    fn params() -> impl Strategy<Value = AddParams> {
        let m = || (multiplier(), -31i32..=0);
        (any::<i8>(), any::<i8>(), m(), m(), m(), any::<i8>(), any::<i8>(), any::<i8>()).prop_map(
            |(z1, z2, m1, m2, mo, zo, a, b)| AddParams {
                zp1: i32::from(z1),
                zp2: i32::from(z2),
                m1,
                m2,
                mo,
                out_zp: i32::from(zo),
                act_min: i32::from(a.min(b)),
                act_max: i32::from(a.max(b)),
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn add_matches_reference(p in params(), (a, b) in (1..50usize).prop_flat_map(|n| (activations(n), activations(n)))) {
            let n = a.len();
            let mut got = vec![0x55u8; n + 1];
            add(&p, &a, &b, &mut got);
            prop_assert_eq!(got[n], 0x55);
            for i in 0..n {
                let v1 = ref_mbqm((i64::from(a[i] as i8) - i64::from(p.zp1)) << 20, p.m1.0, p.m1.1);
                let v2 = ref_mbqm((i64::from(b[i] as i8) - i64::from(p.zp2)) << 20, p.m2.0, p.m2.1);
                let v = ref_mbqm(v1 + v2, p.mo.0, p.mo.1) + i64::from(p.out_zp);
                prop_assert_eq!(i64::from(got[i] as i8), v.clamp(i64::from(p.act_min), i64::from(p.act_max)));
            }
        }
    }

    /// Equal scales (multipliers 0.5, 0.5, output 2 / 2^20): 10 + 20 with zero points 0 is 30.
    #[test]
    fn equal_scales_add_exactly() {
        let half = (1 << 30, 0);
        let p = AddParams {
            zp1: 0,
            zp2: 0,
            m1: half,
            m2: half,
            mo: (1 << 30, -18), // 2 / 2^20 = 0.5 · 2^-18
            out_zp: 0,
            act_min: -128,
            act_max: 127,
        };
        let mut out = [0u8; 3];
        add(&p, &[10, 100, (-100i8) as u8], &[20, 100, (-100i8) as u8], &mut out);
        assert_eq!(out.map(|v| v as i8), [30, 127, -128]);
    }
}
