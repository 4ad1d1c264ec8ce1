//! 2-D convolution (TFLM `ConvPerChannel`): NHWC activations, OHWI filter, per-channel
//! requantization, fused activation clamp, and an optional fused max-pool that evaluates the
//! conv only at the positions each pooled output needs, so the full-resolution conv output is
//! never stored.

use crate::schema::ChannelQuant;

use core::ops::Range;

use super::conv_group::{acc1, window, Group};
use super::{clip, Dims, Geom, OutputStage};

/// Precomputed parameters of one conv layer.
#[derive(Clone, Copy, Debug)]
pub struct Conv2dParams<'a> {
    /// Input tensor.
    pub input: Dims,
    /// Conv window; `out_h × out_w` is the conv output (before any pool).
    pub conv: Geom,
    /// Output channels.
    pub out_c: usize,
    /// Max-pool window over the conv output, fused.
    pub pool: Option<Geom>,
    /// Input zero point.
    pub in_zp: i32,
    /// Output zero point and clamp.
    pub out: OutputStage,
    /// O·H·W·I weights.
    pub weights: &'a [u8],
    /// Bias and requantization per output channel.
    pub channels: ChannelQuant<'a>,
}

impl Conv2dParams<'_> {
    /// Shape written by [`conv2d`] (after the fused pool, if any).
    pub fn output(&self) -> Dims {
        match self.pool {
            Some(p) => Dims { h: p.out_h, w: p.out_w, c: self.out_c },
            None => Dims { h: self.conv.out_h, w: self.conv.out_w, c: self.out_c },
        }
    }
}

/// Run the convolution (and fused pool) from `input` into `output[..p.output().len()]`.
///
/// Each output is the max over its pool window of the conv outputs. `finish` is non-decreasing
/// in the accumulator (validation keeps every multiplier >= 0, and the bias add, both roundings,
/// the zero-point add and the clamp are monotone), so that max is `finish` of the largest
/// accumulator: one requantization per output instead of one per window position, with the
/// same bits. Without a pool each window is one conv position; an empty window gives -128.
pub fn conv2d(p: &Conv2dParams<'_>, input: &[u8], output: &mut [u8]) {
    let oc = p.out_c;
    let one_channel_3x3 = p.input.c == 1 && p.conv.kh == 3 && p.conv.kw == 3;
    each_output(p, |i, ys, xs| {
        let out = &mut output[i * oc..][..oc];
        if ys.is_empty() || xs.is_empty() {
            out.fill(i8::MIN as u8);
        } else if one_channel_3x3 {
            super::conv1ch::pool_at(p, input, ys, xs, out);
        }
    });
    if one_channel_3x3 {
        return;
    }
    let groups = oc / 4 * 4;
    for c in (0..groups).step_by(4) {
        let group = Group::new(p, c);
        each_output(p, |i, ys, xs| {
            if !ys.is_empty() && !xs.is_empty() {
                let best = group.best(p, input, ys, xs);
                for (j, b) in best.into_iter().enumerate() {
                    output[i * oc + c + j] = p.channels.finish(c + j, b, &p.out);
                }
            }
        });
    }
    for c in groups..oc {
        each_output(p, |i, ys, xs| {
            let mut best = None;
            for cy in ys {
                for cx in xs.clone() {
                    let a = acc1(p, input, &window(p, cy, cx), c);
                    best = Some(best.map_or(a, |b: i32| b.max(a)));
                }
            }
            if let Some(b) = best {
                output[i * oc + c] = p.channels.finish(c, b, &p.out);
            }
        });
    }
}

/// Calls `f(i, ys, xs)` for each output pixel `i` (row-major) with the conv positions its pool
/// window covers (one position without a pool).
fn each_output(p: &Conv2dParams<'_>, mut f: impl FnMut(usize, Range<usize>, Range<usize>)) {
    let (h, w) = (p.conv.out_h, p.conv.out_w);
    let single = Geom { kh: 1, kw: 1, sh: 1, sw: 1, pad_top: 0, pad_left: 0, out_h: h, out_w: w };
    let pool = p.pool.unwrap_or(single);
    for py in 0..pool.out_h {
        let (ry0, ry1, cy0) = clip(py, pool.sh, pool.pad_top, pool.kh, h);
        for px in 0..pool.out_w {
            let (rx0, rx1, cx0) = clip(px, pool.sw, pool.pad_left, pool.kw, w);
            f(py * pool.out_w + px, cy0..cy0 + (ry1 - ry0), cx0..cx0 + (rx1 - rx0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct Problem {
        input: Dims,
        conv: Geom,
        out_c: usize,
        pool: Option<Geom>,
        in_zp: i32,
        out: OutputStage,
        weights: Vec<u8>,
        chan: Chan,
        x: Vec<u8>,
    }

    impl Problem {
        fn params(&self) -> Conv2dParams<'_> {
            Conv2dParams {
                input: self.input,
                conv: self.conv,
                out_c: self.out_c,
                pool: self.pool,
                in_zp: self.in_zp,
                out: self.out,
                weights: &self.weights,
                channels: self.chan.params(),
            }
        }

        /// Naive i64 conv over every tap (skipping those outside the image), then a naive pool.
        fn reference(&self) -> Vec<u8> {
            let (g, d) = (&self.conv, &self.input);
            let mut full = vec![0u8; g.out_h * g.out_w * self.out_c];
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for c in 0..self.out_c {
                        let mut acc = 0i64;
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let y = (oy * g.sh + ky) as i64 - g.pad_top as i64;
                                let x = (ox * g.sw + kx) as i64 - g.pad_left as i64;
                                if y < 0 || x < 0 || y >= d.h as i64 || x >= d.w as i64 {
                                    continue;
                                }
                                for i in 0..d.c {
                                    let xv = self.x[((y as usize) * d.w + x as usize) * d.c + i] as i8;
                                    let wv = self.weights[((c * g.kh + ky) * g.kw + kx) * d.c + i] as i8;
                                    acc += i64::from(wv) * (i64::from(xv) - i64::from(self.in_zp));
                                }
                            }
                        }
                        full[(oy * g.out_w + ox) * self.out_c + c] =
                            ref_finish(acc, &self.chan, c, &self.out);
                    }
                }
            }
            let Some(pool) = self.pool else { return full };
            let mut out = vec![0u8; pool.out_h * pool.out_w * self.out_c];
            for py in 0..pool.out_h {
                for px in 0..pool.out_w {
                    for c in 0..self.out_c {
                        let m = ref_window_max(&pool, g.out_h, g.out_w, py, px, |y, x| {
                            i64::from(full[(y * g.out_w + x) * self.out_c + c] as i8)
                        });
                        out[(py * pool.out_w + px) * self.out_c + c] = m as i8 as u8;
                    }
                }
            }
            out
        }

        fn check(&self) {
            let p = self.params();
            let mut got = vec![0x55u8; p.output().len() + 3];
            conv2d(&p, &self.x, &mut got);
            assert_eq!(&got[p.output().len()..], &[0x55; 3], "wrote past the output");
            got.truncate(p.output().len());
            assert_eq!(got, self.reference());
        }
    }

    /// `one_channel`: one input channel and a 3×3 kernel (the `conv1ch` fast path), with
    /// enough output channels to fill more than one of its blocks.
    fn problem(fused: bool, one_channel: bool) -> impl Strategy<Value = Problem> {
        let (c, k, oc) = if one_channel { (1, 3..=3, 1..=70usize) } else { (4, 1..=4, 1..=6usize) };
        (dims(7, c), oc)
            .prop_flat_map(move |(input, out_c)| {
                (Just(input), Just(out_c), geom_k(input.h, input.w, k.clone(), 3))
            })
            .prop_flat_map(move |(input, out_c, conv)| {
                let taps = conv.kh * conv.kw * input.c;
                let pool = if fused {
                    geom(conv.out_h, conv.out_w, 3, 2).prop_map(Some).boxed()
                } else {
                    Just(None).boxed()
                };
                (
                    Just((input, out_c, conv)),
                    pool,
                    any::<i8>(),
                    output_stage(),
                    weights(out_c * taps),
                    channels(out_c, taps),
                    activations(input.len()),
                )
            })
            .prop_map(|((input, out_c, conv), pool, zp, out, weights, chan, x)| Problem {
                input,
                conv,
                out_c,
                pool,
                in_zp: i32::from(zp),
                out,
                weights,
                chan,
                x,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn conv_matches_reference(p in problem(false, false)) { p.check(); }
        #[test]
        fn fused_pool_matches_reference(p in problem(true, false)) { p.check(); }
        #[test]
        fn one_channel_3x3_matches_reference(p in problem(false, true)) { p.check(); }
        #[test]
        fn one_channel_3x3_fused_pool_matches_reference(p in problem(true, true)) { p.check(); }
    }

    /// Worst case accumulator: every tap at +127 · (−128 − 127) with the largest legal bias.
    #[test]
    fn saturation_extremes() {
        let input = Dims { h: 3, w: 3, c: 2 };
        let conv = Geom { kh: 3, kw: 3, sh: 1, sw: 1, pad_top: 1, pad_left: 1, out_h: 3, out_w: 3 };
        let taps = 18i64;
        let bias = (ACC_LIMIT - taps * 127 * 255) as i32;
        let p = Problem {
            input,
            conv,
            out_c: 2,
            pool: Some(Geom { kh: 2, kw: 2, sh: 2, sw: 2, pad_top: 0, pad_left: 0, out_h: 2, out_w: 2 }),
            in_zp: 127,
            out: OutputStage { zero_point: -128, act_min: -128, act_max: 127 },
            weights: vec![127u8; 36],
            chan: Chan::new(vec![-bias, bias], vec![i32::MAX, 1 << 30], vec![0, 0]),
            x: vec![0x80; 18],
        };
        p.check();
    }
}
