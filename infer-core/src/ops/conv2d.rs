//! 2-D convolution (TFLM `ConvPerChannel`): NHWC activations, OHWI filter, per-channel
//! requantization, fused activation clamp, and an optional fused max-pool that evaluates the
//! conv only at the positions each pooled output needs, so the full-resolution conv output is
//! never stored.

use crate::schema::ChannelQuant;

use super::{clip, dot, dot4, dot4x2, Dims, Geom, OutputStage};

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

/// The valid part of the conv window at (oy, ox): for each valid kernel row, the input row
/// starts at `x_at + k · x_step` and the filter row at `w_at + k · w_step`, `row_len` values
/// each (the taps of one kernel row are contiguous in both the OHWI filter and NHWC input).
#[derive(Clone, Copy)]
struct Window {
    rows: usize,
    row_len: usize,
    x_at: usize,
    x_step: usize,
    w_at: usize,
    w_step: usize,
}

fn window(p: &Conv2dParams<'_>, oy: usize, ox: usize) -> Window {
    let (g, ic) = (&p.conv, p.input.c);
    let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, p.input.h);
    let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, p.input.w);
    Window {
        rows: ky1 - ky0,
        row_len: (kx1 - kx0) * ic,
        x_at: (iy0 * p.input.w + ix0) * ic,
        x_step: p.input.w * ic,
        w_at: (ky0 * g.kw + kx0) * ic,
        w_step: g.kw * ic,
    }
}

/// Accumulators of output channels `c..c + 4` at one window (without bias).
///
/// |acc| <= kh·kw·ic · 127 · 255 (+ |bias| in `finish`) < 2^31: checked at load.
#[inline]
fn acc4(p: &Conv2dParams<'_>, input: &[u8], win: &Window, c: usize) -> [i32; 4] {
    let filter_len = p.conv.kh * p.conv.kw * p.input.c;
    let f = |j: usize| &p.weights[(c + j) * filter_len..(c + j + 1) * filter_len];
    let (f0, f1, f2, f3) = (f(0), f(1), f(2), f(3));
    let mut acc = [0i32; 4];
    for r in 0..win.rows {
        let x = &input[win.x_at + r * win.x_step..][..win.row_len];
        let at = win.w_at + r * win.w_step;
        let w = [&f0[at..][..win.row_len], &f1[at..][..win.row_len], &f2[at..][..win.row_len], &f3[at..][..win.row_len]];
        let d = dot4(w, x, p.in_zp);
        for j in 0..4 {
            acc[j] += d[j];
        }
    }
    acc
}

/// Whether two windows use the same filter taps (only their input rows differ).
fn same_taps(a: &Window, b: &Window) -> bool {
    a.rows == b.rows && a.row_len == b.row_len && a.w_at == b.w_at
}

/// [`acc4`] at two windows with the same taps, the second starting at input `xb_at`.
#[inline]
fn acc4x2(p: &Conv2dParams<'_>, input: &[u8], win: &Window, xb_at: usize, c: usize) -> [[i32; 4]; 2] {
    let filter_len = p.conv.kh * p.conv.kw * p.input.c;
    let f = |j: usize| &p.weights[(c + j) * filter_len..(c + j + 1) * filter_len];
    let (f0, f1, f2, f3) = (f(0), f(1), f(2), f(3));
    let mut acc = [[0i32; 4]; 2];
    for r in 0..win.rows {
        let xa = &input[win.x_at + r * win.x_step..][..win.row_len];
        let xb = &input[xb_at + r * win.x_step..][..win.row_len];
        let at = win.w_at + r * win.w_step;
        let w = [&f0[at..][..win.row_len], &f1[at..][..win.row_len], &f2[at..][..win.row_len], &f3[at..][..win.row_len]];
        let d = dot4x2(w, xa, xb, p.in_zp);
        for (acc, d) in acc.iter_mut().zip(d) {
            for j in 0..4 {
                acc[j] += d[j];
            }
        }
    }
    acc
}

/// Accumulator of output channel `c` at one window (without bias); bound as [`acc4`].
#[inline]
fn acc1(p: &Conv2dParams<'_>, input: &[u8], win: &Window, c: usize) -> i32 {
    let filter_len = p.conv.kh * p.conv.kw * p.input.c;
    let filter = &p.weights[c * filter_len..(c + 1) * filter_len];
    (0..win.rows)
        .map(|r| {
            let x = &input[win.x_at + r * win.x_step..][..win.row_len];
            dot(&filter[win.w_at + r * win.w_step..][..win.row_len], x, p.in_zp)
        })
        .sum()
}

/// Run the convolution (and fused pool) from `input` into `output[..p.output().len()]`.
pub fn conv2d(p: &Conv2dParams<'_>, input: &[u8], output: &mut [u8]) {
    let oc = p.out_c;
    // Without a pool, each output is the max over a window of one conv position.
    let (h, w) = (p.conv.out_h, p.conv.out_w);
    let single = Geom { kh: 1, kw: 1, sh: 1, sw: 1, pad_top: 0, pad_left: 0, out_h: h, out_w: w };
    let pool = p.pool.unwrap_or(single);
    let one_channel_3x3 = p.input.c == 1 && p.conv.kh == 3 && p.conv.kw == 3;
    for py in 0..pool.out_h {
        let (ry0, ry1, cy0) = clip(py, pool.sh, pool.pad_top, pool.kh, h);
        for px in 0..pool.out_w {
            let (rx0, rx1, cx0) = clip(px, pool.sw, pool.pad_left, pool.kw, w);
            let out = &mut output[(py * pool.out_w + px) * oc..][..oc];
            let (ys, xs) = (cy0..cy0 + (ry1 - ry0), cx0..cx0 + (rx1 - rx0));
            if ys.is_empty() || xs.is_empty() {
                out.fill(i8::MIN as u8);
            } else if one_channel_3x3 {
                super::conv1ch::pool_at(p, input, ys, xs, out);
            } else {
                pool_at(p, input, ys, xs, out);
            }
        }
    }
}

/// One pooled output pixel: the max over the pool window of each channel's conv output.
///
/// `finish` is non-decreasing in the accumulator (validation keeps every multiplier >= 0, and
/// the bias add, both roundings, the zero-point add and the clamp are monotone), so the max of
/// the finished values is `finish` of the largest accumulator: one requantization per pooled
/// value instead of one per window position, with the same bits. The window is not empty.
pub(crate) fn pool_at(p: &Conv2dParams<'_>, input: &[u8], ys: core::ops::Range<usize>, xs: core::ops::Range<usize>, out: &mut [u8]) {
    let oc = p.out_c;
    let groups = oc / 4 * 4;
    for c in (0..groups).step_by(4) {
        let mut best = [i32::MIN; 4];
        let mut keep = |a: [i32; 4]| {
            for j in 0..4 {
                best[j] = best[j].max(a[j]);
            }
        };
        for cy in ys.clone() {
            let mut cx = xs.start;
            while cx < xs.end {
                let wa = window(p, cy, cx);
                if cx + 1 < xs.end {
                    let wb = window(p, cy, cx + 1);
                    if same_taps(&wa, &wb) {
                        let [a, b] = acc4x2(p, input, &wa, wb.x_at, c);
                        keep(a);
                        keep(b);
                        cx += 2;
                        continue;
                    }
                }
                keep(acc4(p, input, &wa, c));
                cx += 1;
            }
        }
        for (j, b) in best.into_iter().enumerate() {
            out[c + j] = p.channels.finish(c + j, b, &p.out);
        }
    }
    for c in groups..oc {
        let mut best = i32::MIN;
        for cy in ys.clone() {
            for cx in xs.clone() {
                best = best.max(acc1(p, input, &window(p, cy, cx), c));
            }
        }
        out[c] = p.channels.finish(c, best, &p.out);
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
            .prop_flat_map(move |(input, out_c)| (Just(input), Just(out_c), geom_k(input.h, input.w, k.clone(), 3)))
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
