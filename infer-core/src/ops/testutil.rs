//! Test-only helpers: proptest strategies for valid problems and an independent i64 reference
//! of the requantization (round-half formulations instead of TFLM's bit tricks).

use proptest::prelude::*;

use super::{Dims, Geom, OutputStage};
use crate::schema::ChannelQuant;

/// Largest |acc| allowed after the left shift and the zero point (see `ChannelQuant::finish`).
pub const ACC_LIMIT: i64 = (1i64 << 31) - 1 - 128;

/// `floor(n / d)` for d > 0.
fn floor_div(n: i128, d: i128) -> i128 {
    n.div_euclid(d)
}

/// SRDHM as "round half toward +inf of a·b / 2^31", saturating the single overflow.
pub fn ref_srdhm(a: i64, b: i64) -> i64 {
    let r = floor_div(i128::from(a) * i128::from(b) + (1 << 30), 1 << 31);
    r.min(i128::from(i32::MAX)) as i64
}

/// RDBPOT as "round half away from zero of x / 2^e".
pub fn ref_rdbpot(x: i64, e: u32) -> i64 {
    if e == 0 {
        return x;
    }
    let d = 1i64 << e;
    let mag = (x.abs() + d / 2) / d;
    if x < 0 {
        -mag
    } else {
        mag
    }
}

/// MultiplyByQuantizedMultiplier on i64, asserting the i32 preconditions the loader proves.
pub fn ref_mbqm(x: i64, m: i32, shift: i32) -> i64 {
    let left = shift.max(0) as u32;
    let right = (-shift).max(0) as u32;
    let shifted = x << left;
    assert!(i32::try_from(shifted).is_ok(), "x · 2^left overflows: {x} << {left}");
    ref_rdbpot(ref_srdhm(shifted, i64::from(m)), right)
}

/// Reference output stage: bias, requantize, zero point, clamp.
pub fn ref_finish(acc: i64, ch: &Chan, c: usize, out: &OutputStage) -> u8 {
    let acc = acc + i64::from(ch.bias[c]);
    assert!(acc.abs() << ch.shift[c].max(0) <= ACC_LIMIT, "accumulator bound violated");
    let v = ref_mbqm(acc, ch.mult[c], i32::from(ch.shift[c])) + i64::from(out.zero_point);
    v.clamp(i64::from(out.act_min), i64::from(out.act_max)) as i8 as u8
}

/// Owned per-channel parameters, convertible to the kernel's borrowed form.
#[derive(Clone, Debug)]
pub struct Chan {
    pub bias: Vec<i32>,
    pub mult: Vec<i32>,
    pub shift: Vec<i8>,
    bias_b: Vec<u8>,
    mult_b: Vec<u8>,
    shift_b: Vec<u8>,
}

impl Chan {
    pub fn new(bias: Vec<i32>, mult: Vec<i32>, shift: Vec<i8>) -> Chan {
        let bias_b = bias.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mult_b = mult.iter().flat_map(|v| v.to_le_bytes()).collect();
        let shift_b = shift.iter().map(|&s| s as u8).collect();
        Chan { bias, mult, shift, bias_b, mult_b, shift_b }
    }

    pub fn params(&self) -> ChannelQuant<'_> {
        ChannelQuant { bias: &self.bias_b, multiplier: &self.mult_b, shift: &self.shift_b }
    }
}

/// A multiplier in the normalized Q31 range, biased towards the edges.
pub fn multiplier() -> impl Strategy<Value = i32> {
    prop_oneof![Just(1 << 30), Just(i32::MAX), Just(0), (1 << 30)..=i32::MAX]
}

/// One channel's (bias, multiplier, shift) such that `taps` worst-case taps cannot overflow.
fn channel(taps: usize) -> impl Strategy<Value = (i32, i32, i8)> {
    let tap_bound = taps as i64 * 127 * 255;
    let bias_max = (ACC_LIMIT - tap_bound).min(1 << 20);
    let bias = prop_oneof![-300i64..300, -bias_max..=bias_max, Just(bias_max), Just(-bias_max)];
    bias.prop_flat_map(move |b| {
        let bound = tap_bound + b.abs();
        let mut max_left = 0;
        while max_left < 30 && bound << (max_left + 1) <= ACC_LIMIT {
            max_left += 1;
        }
        let shift = prop_oneof![-31i32..=max_left, -12i32..=max_left.min(2), Just(max_left), Just(-31)];
        (Just(b as i32), multiplier(), shift.prop_map(|s| s as i8))
    })
}

/// Per-channel parameters for `n` channels with `taps` taps each.
pub fn channels(n: usize, taps: usize) -> impl Strategy<Value = Chan> {
    proptest::collection::vec(channel(taps), n).prop_map(|v| {
        let (mut b, mut m, mut s) = (vec![], vec![], vec![]);
        for (x, y, z) in v {
            b.push(x);
            m.push(y);
            s.push(z);
        }
        Chan::new(b, m, s)
    })
}

/// Output zero point and a clamp range inside [−128, 127].
pub fn output_stage() -> impl Strategy<Value = OutputStage> {
    (any::<i8>(), any::<i8>(), any::<i8>()).prop_map(|(zp, a, b)| OutputStage {
        zero_point: i32::from(zp),
        act_min: i32::from(a.min(b)),
        act_max: i32::from(a.max(b)),
    })
}

/// `n` weights in [−127, 127], often at the extremes.
pub fn weights(n: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![-127i8..=127, Just(127), Just(-127)].prop_map(|v| v as u8), n)
}

/// `n` activations, often at the extremes.
pub fn activations(n: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![any::<i8>(), Just(-128), Just(127)].prop_map(|v| v as u8), n)
}

/// A valid window over an `h × w` input: every row/column of windows touches the image.
pub fn geom(h: usize, w: usize, max_k: usize, max_s: usize) -> impl Strategy<Value = Geom> {
    geom_k(h, w, 1..=max_k, max_s)
}

/// As [`geom`] with the kernel sides drawn from `k`.
pub fn geom_k(
    h: usize,
    w: usize,
    k: std::ops::RangeInclusive<usize>,
    max_s: usize,
) -> impl Strategy<Value = Geom> {
    (k.clone(), k, 1..=max_s, 1..=max_s)
        .prop_flat_map(move |(kh, kw, sh, sw)| (Just((kh, kw, sh, sw)), 0..kh, 0..kw))
        .prop_flat_map(move |((kh, kw, sh, sw), pt, pl)| {
            // Last window start (o−1)·s − pad must be <= n − 1.
            let max_oh = (h - 1 + pt) / sh + 1;
            let max_ow = (w - 1 + pl) / sw + 1;
            (1..=max_oh, 1..=max_ow).prop_map(move |(out_h, out_w)| Geom {
                kh,
                kw,
                sh,
                sw,
                pad_top: pt,
                pad_left: pl,
                out_h,
                out_w,
            })
        })
}

/// Small input dimensions including 1s and odd sizes.
pub fn dims(max_hw: usize, max_c: usize) -> impl Strategy<Value = Dims> {
    (1..=max_hw, 1..=max_hw, 1..=max_c).prop_map(|(h, w, c)| Dims { h, w, c })
}

/// Reference max over the window taps inside the image (`get(y, x)`), starting at −128.
pub fn ref_window_max(
    g: &Geom,
    h: usize,
    w: usize,
    oy: usize,
    ox: usize,
    get: impl Fn(usize, usize) -> i64,
) -> i64 {
    let mut best = -128i64;
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            let y = (oy * g.sh + ky) as i64 - g.pad_top as i64;
            let x = (ox * g.sw + kx) as i64 - g.pad_left as i64;
            if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                best = best.max(get(y as usize, x as usize));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant_math::multiply_by_quantized_multiplier;

    #[test]
    fn reference_matches_check_values() {
        assert_eq!(ref_mbqm(29875, 1972563514, -2), 6861);
        assert_eq!(ref_mbqm(-83457, 2079011274, -3), -10100);
        assert_eq!(ref_mbqm(99827, 1673091988, -1), 38888);
        assert_eq!(ref_srdhm(-3, 1 << 30), -1);
        assert_eq!(ref_srdhm(i64::from(i32::MIN), i64::from(i32::MIN)), i64::from(i32::MAX));
        assert_eq!(ref_rdbpot(-3, 1), -2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// TFLM's bit-trick formulation equals the round-half reference everywhere it is defined.
        #[test]
        fn mbqm_matches_reference(
            (x, shift) in (-31i32..=8).prop_flat_map(|s| {
                let lim = i32::MAX >> s.max(0);
                (prop_oneof![any::<i32>().prop_map(move |v| v % lim), Just(lim), Just(-lim)], Just(s))
            }),
            m in prop_oneof![any::<i32>(), multiplier()],
        ) {
            prop_assert_eq!(i64::from(multiply_by_quantized_multiplier(x, m, shift)), ref_mbqm(i64::from(x), m, shift));
        }
    }
}
