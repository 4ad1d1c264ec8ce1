//! Average pool, TFLite 2.14's int8 AVERAGE_POOL_2D with the reference kernel
//! (`reference_integer_ops::AveragePool`): per channel the sum of q (not q − zp: input and
//! output share the quantization) over the window's taps inside the image, divided by their
//! count n rounding half away from zero — `sum > 0 ? (sum + n/2) / n : (sum − n/2) / n` with
//! truncating division — then clamped to the fused activation's range.

use super::{clip, q, Dims, Geom};

/// Channels summed at once (a stack buffer: no heap).
const CHUNK: usize = 16;

/// Run an average pool with window `g` over `input` (shape `d`) into `output`, clamping to
/// `act_min..=act_max`.
///
/// |sum| <= 128 · 255 · 255 < 2^31 for any u8 kernel sides, and the loader proved every window
/// has a tap inside the image (n >= 1; `max(1)` only keeps a division by zero unreachable).
pub fn avg_pool(d: &Dims, g: &Geom, (act_min, act_max): (i32, i32), input: &[u8], output: &mut [u8]) {
    let c_n = d.c;
    for oy in 0..g.out_h {
        let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, d.h);
        for ox in 0..g.out_w {
            let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, d.w);
            let n = ((ky1 - ky0) * (kx1 - kx0)).max(1) as i32;
            let out = &mut output[(oy * g.out_w + ox) * c_n..][..c_n];
            for (chunk, out) in out.chunks_mut(CHUNK).enumerate() {
                let c0 = chunk * CHUNK;
                let mut sum = [0i32; CHUNK];
                for iy in iy0..iy0 + (ky1 - ky0) {
                    for ix in ix0..ix0 + (kx1 - kx0) {
                        let px = &input[(iy * d.w + ix) * c_n + c0..][..out.len()];
                        for (s, &v) in sum.iter_mut().zip(px) {
                            *s += q(v);
                        }
                    }
                }
                for (o, &s) in out.iter_mut().zip(&sum) {
                    let avg = if s > 0 { (s + n / 2) / n } else { (s - n / 2) / n };
                    *o = avg.clamp(act_min, act_max) as i8 as u8;
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

    /// Dims with up to 40 channels (more than one chunk), a window, an input and a clamp range.
    fn problem() -> impl Strategy<Value = (Dims, Geom, Vec<u8>, (i32, i32))> {
        let clamp = (any::<i8>(), any::<i8>()).prop_map(|(a, b)| (i32::from(a.min(b)), i32::from(a.max(b))));
        let full = Just((-128, 127));
        (dims(9, 3), prop_oneof![Just(1usize), 1..=40usize]).prop_flat_map(move |(d, c)| {
            let d = Dims { c, ..d };
            (Just(d), geom(d.h, d.w, 4, 3), activations(d.len()), prop_oneof![full, clamp.clone()])
        })
    }

    /// The plain reference: the taps inside the image, their exact mean rounded half away from
    /// zero (written with floor of a rational), clamped.
    fn reference(d: &Dims, g: &Geom, x: &[u8], oy: usize, ox: usize, c: usize, (lo, hi): (i32, i32)) -> i64 {
        let (mut sum, mut n) = (0i64, 0i64);
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let y = (oy * g.sh + ky) as i64 - g.pad_top as i64;
                let xx = (ox * g.sw + kx) as i64 - g.pad_left as i64;
                if y >= 0 && xx >= 0 && (y as usize) < d.h && (xx as usize) < d.w {
                    sum += i64::from(x[(y as usize * d.w + xx as usize) * d.c + c] as i8);
                    n += 1;
                }
            }
        }
        assert!(n > 0, "a window without taps");
        let mag = (2 * sum.abs() + n).div_euclid(2 * n);
        (sum.signum() * mag).clamp(i64::from(lo), i64::from(hi))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn avg_pool_matches_reference((d, g, x, range) in problem()) {
            let n = g.out_h * g.out_w * d.c;
            let mut got = vec![0x55u8; n + 1];
            avg_pool(&d, &g, range, &x, &mut got[..n]);
            prop_assert_eq!(got[n], 0x55);
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for c in 0..d.c {
                        let want = reference(&d, &g, &x, oy, ox, c, range);
                        prop_assert_eq!(i64::from(got[(oy * g.out_w + ox) * d.c + c] as i8), want, "({}, {}, {})", oy, ox, c);
                    }
                }
            }
        }
    }

    /// TF 'SAME' 2×2/2 on a 3×3 image: the edge windows are clipped to 2 and 1 taps, and ties
    /// round away from zero (3/2 → 2, −3/2 → −2, −5/4 → −1).
    #[test]
    fn clipped_windows_and_ties() {
        let d = Dims { h: 3, w: 3, c: 1 };
        let g = Geom { kh: 2, kw: 2, sh: 2, sw: 2, pad_top: 0, pad_left: 0, out_h: 2, out_w: 2 };
        let x: Vec<u8> = [-1i8, 0, 1, -2, -2, 2, -128, -127, 127].iter().map(|&v| v as u8).collect();
        let mut out = [0u8; 4];
        avg_pool(&d, &g, (-128, 127), &x, &mut out);
        // (−1 + 0 − 2 − 2) / 4 = −5/4 → −1; (1 + 2) / 2 → 2; (−128 − 127) / 2 → −128; 127.
        assert_eq!(out.map(|v| v as i8), [-1, 2, -128, 127]);
        let x: Vec<u8> = [1i8, 2, 0, 0, 0, -3, 0, 0, 0].iter().map(|&v| v as u8).collect();
        avg_pool(&d, &g, (-128, 127), &x, &mut out);
        assert_eq!(out.map(|v| v as i8), [1, -2, 0, 0]); // 3/4 → 1, −3/2 → −2
                                                         // RELU with zero point 5: everything below 5 becomes 5.
        avg_pool(&d, &g, (5, 127), &x, &mut out);
        assert_eq!(out.map(|v| v as i8), [5, 5, 5, 5]);
    }
}
