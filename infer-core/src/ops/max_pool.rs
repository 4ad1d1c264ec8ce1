//! Max-pool (TFLM `MaxPool`): window clipped to the image, start at −128, keep the max. The
//! output keeps the input's scale and zero point, so no clamp beyond int8 is needed.

use super::{clip, Dims, Geom};

/// Run a max-pool with window `g` over `input` (shape `d`) into `output`.
pub fn max_pool(d: &Dims, g: &Geom, input: &[u8], output: &mut [u8]) {
    let c_n = d.c;
    for oy in 0..g.out_h {
        let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, d.h);
        for ox in 0..g.out_w {
            let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, d.w);
            let out = &mut output[(oy * g.out_w + ox) * c_n..][..c_n];
            out.fill(i8::MIN as u8);
            for iy in iy0..iy0 + (ky1 - ky0) {
                for ix in ix0..ix0 + (kx1 - kx0) {
                    let px = &input[(iy * d.w + ix) * c_n..][..c_n];
                    for (o, &v) in out.iter_mut().zip(px) {
                        if (v as i8) > (*o as i8) {
                            *o = v;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;
    use proptest::prelude::*;

    fn problem() -> impl Strategy<Value = (Dims, Geom, Vec<u8>)> {
        dims(9, 3).prop_flat_map(|d| (Just(d), geom(d.h, d.w, 4, 3), activations(d.len())))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn max_pool_matches_reference((d, g, x) in problem()) {
            let n = g.out_h * g.out_w * d.c;
            let mut got = vec![0x55u8; n + 1];
            max_pool(&d, &g, &x, &mut got);
            prop_assert_eq!(got[n], 0x55);
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for c in 0..d.c {
                        let want = ref_window_max(&g, d.h, d.w, oy, ox, |y, x2| i64::from(x[(y * d.w + x2) * d.c + c] as i8));
                        prop_assert_eq!(i64::from(got[(oy * g.out_w + ox) * d.c + c] as i8), want);
                    }
                }
            }
        }
    }

    /// TF 'same' 2×2/2 on an odd image: the last row/column windows are clipped to one tap.
    #[test]
    fn same_pool_on_odd_size() {
        let d = Dims { h: 3, w: 3, c: 1 };
        let g = Geom { kh: 2, kw: 2, sh: 2, sw: 2, pad_top: 0, pad_left: 0, out_h: 2, out_w: 2 };
        let x: Vec<u8> = [-5i8, 1, -100, 7, 2, -90, -128, -128, -128].iter().map(|&v| v as u8).collect();
        let mut out = [0u8; 4];
        max_pool(&d, &g, &x, &mut out);
        assert_eq!(out.map(|v| v as i8), [7, -90, -128, -128]);
    }
}
