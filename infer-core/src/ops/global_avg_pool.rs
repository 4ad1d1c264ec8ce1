//! Global average pool (TFLM `AveragePool` with the window covering the image): sum of q over
//! H·W, divided with rounding half away from zero; keeps scale and zero point.

use super::{q, Dims};

/// Mean over rows and columns of `input` (shape `d`) into `output[..d.c]`.
pub fn global_avg_pool(d: &Dims, input: &[u8], output: &mut [u8]) {
    let n = (d.h * d.w) as i32;
    for (c, o) in output.iter_mut().take(d.c).enumerate() {
        // |acc| <= 128 · h · w < 2^31 − n: the loader caps h · w.
        let acc: i32 = input.iter().skip(c).step_by(d.c).take(d.h * d.w).map(|&v| q(v)).sum();
        // TFLM: round half away from zero with truncating division; n >= 1 by validation.
        let avg = if acc > 0 { (acc + n / 2) / n } else { (acc - n / 2) / n };
        *o = avg.clamp(-128, 127) as i8 as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn gap_matches_reference((d, x) in dims(9, 5).prop_flat_map(|d| (Just(d), activations(d.len())))) {
            let mut got = vec![0x55u8; d.c + 1];
            global_avg_pool(&d, &x, &mut got);
            prop_assert_eq!(got[d.c], 0x55);
            let n = (d.h * d.w) as i64;
            for c in 0..d.c {
                let s: i64 = (0..d.h * d.w).map(|i| i64::from(x[i * d.c + c] as i8)).sum();
                // Round half away from zero, written as floor/ceil of a rational.
                let want = if s >= 0 { (2 * s + n).div_euclid(2 * n) } else { -((-2 * s + n).div_euclid(2 * n)) };
                prop_assert_eq!(i64::from(got[c] as i8), want);
            }
        }
    }

    /// Ties: 3/2 → 2, −3/2 → −2, 1/2 → 1, −1/2 → −1 (n = 2).
    #[test]
    fn rounding_ties() {
        let d = Dims { h: 1, w: 2, c: 4 };
        let x: Vec<u8> = [1i8, -1, 0, 0, 2, -2, 1, -1].iter().map(|&v| v as u8).collect();
        let mut out = [0u8; 4];
        global_avg_pool(&d, &x, &mut out);
        assert_eq!(out.map(|v| v as i8), [2, -2, 1, -1]);
    }
}
