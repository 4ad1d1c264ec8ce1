//! Int8 logistic (sigmoid), TFLite 2.14's reference kernel: for int8, `SigmoidPrepare` with
//! `kReference` fills a 256-entry lookup table in float (`LUTPopulate`) and `SigmoidEval` looks
//! every value up (`reference_integer_ops::Logistic`, the fixed-point version, is not on that
//! path). The table is computed on the host ([`crate::quant_math::logistic_table`]) and stored
//! in the blob; the kernel only indexes it.

/// Every value of `input` through `table` (indexed by the input byte) into `output`.
pub fn logistic(table: &[u8; 256], input: &[u8], output: &mut [u8]) {
    for (o, &x) in output.iter_mut().zip(input) {
        *o = table[usize::from(x)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::activations;
    use crate::quant_math::logistic_table;
    use crate::schema::Quant;
    use proptest::prelude::*;

    /// `round(256 · σ(s · (q − zp))) + zp_out`, clamped, in f64, and how far `256 · σ` lies
    /// from the nearest rounding tie.
    fn reference(s: f32, zp: i8, zp_out: i8, q: i32) -> (i64, f64) {
        let x = f64::from(s) * f64::from(q - i32::from(zp));
        let y = 256.0 / (1.0 + (-x).exp());
        let tie_distance = ((y - y.floor()) - 0.5).abs();
        (((y.round() as i64) + i64::from(zp_out)).clamp(-128, 127), tie_distance)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// The table is the float logistic rounded: equal to the f64 reference wherever that is
        /// not within 1e−4 of a tie (f32 carries about 7 digits), within one step everywhere,
        /// and non-decreasing in q.
        #[test]
        fn table_is_the_rounded_logistic(
            s in prop_oneof![1e-4f32..0.05, 0.05f32..2.0, 2.0f32..50.0],
            zp in any::<i8>(),
            zp_out in prop_oneof![Just(-128i8), any::<i8>()],
        ) {
            let table = logistic_table(Quant { scale: s, zero_point: zp }, Quant { scale: 1.0 / 256.0, zero_point: zp_out });
            let mut prev = -128;
            for q in -128i32..=127 {
                let got = i64::from(table[usize::from(q as i8 as u8)] as i8);
                let (want, tie_distance) = reference(s, zp, zp_out, q);
                prop_assert!((got - want).abs() <= 1, "q {q}: got {got}, want {want}");
                if tie_distance > 1e-4 {
                    prop_assert_eq!(got, want, "q {}", q);
                }
                prop_assert!(got >= prev, "q {q}: {got} after {prev}");
                prev = got;
            }
        }

        /// The kernel is the table, value by value, and writes nothing past the input's length.
        #[test]
        fn kernel_looks_every_value_up(x in activations(300), s in 1e-3f32..5.0, zp in any::<i8>()) {
            let table = logistic_table(Quant { scale: s, zero_point: zp }, Quant { scale: 1.0 / 256.0, zero_point: -128 });
            let mut out = vec![0x55u8; x.len() + 1];
            logistic(&table, &x, &mut out[..x.len()]);
            prop_assert_eq!(out[x.len()], 0x55);
            for (&o, &v) in out.iter().zip(&x) {
                prop_assert_eq!(o, table[usize::from(v)]);
            }
        }
    }

    #[test]
    fn pinned_values() {
        let out = Quant { scale: 1.0 / 256.0, zero_point: -128 };
        let t = logistic_table(Quant { scale: 0.1, zero_point: 0 }, out);
        let at = |q: i8| t[usize::from(q as u8)] as i8;
        // σ(0) = 1/2 → 128 − 128 = 0; σ(12.7) · 256 rounds to 256 → clamped to 127;
        // σ(−12.8) · 256 = 0.0007 → −128.
        assert_eq!((at(0), at(127), at(-128)), (0, 127, -128));
        // σ(1) · 256 = 187.15 → 59; σ(−1) · 256 = 68.85 → −59.
        assert_eq!((at(10), at(-10)), (59, -59));
        // Another output zero point shifts the table (TFLite accepts any).
        let t0 = logistic_table(Quant { scale: 0.1, zero_point: 0 }, Quant { zero_point: 0, ..out });
        assert_eq!((t0[0] as i8, t0[10] as i8, t0[usize::from(-10i8 as u8)] as i8), (127, 127, 69));
    }
}
