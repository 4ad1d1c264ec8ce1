//! Depthwise convolution (TFLM `DepthwiseConvPerChannel`): filter [1, H, W, C·M], output
//! channel `oc = ic · M + m`.

use crate::schema::ChannelQuant;

use super::{clip, q, Dims, Geom, OutputStage};

/// Precomputed parameters of one depthwise layer.
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseParams<'a> {
    /// Input tensor.
    pub input: Dims,
    /// Window and output size.
    pub geom: Geom,
    /// Depth multiplier M.
    pub depth_multiplier: usize,
    /// Input zero point.
    pub in_zp: i32,
    /// Output zero point and clamp.
    pub out: OutputStage,
    /// H·W·(C·M) weights.
    pub weights: &'a [u8],
    /// Bias and requantization per output channel.
    pub channels: ChannelQuant<'a>,
}

impl DepthwiseParams<'_> {
    /// Output shape.
    pub fn output(&self) -> Dims {
        Dims { h: self.geom.out_h, w: self.geom.out_w, c: self.input.c * self.depth_multiplier }
    }
}

/// Run the depthwise convolution from `input` into `output[..p.output().len()]`.
///
/// With one output per input channel (MobileNetV2's case) channels go four at a time, all
/// output positions per group ([`group4`]); what remains (other depth multipliers, the last
/// `C mod 4` channels) takes the plain loop.
pub fn depthwise(p: &DepthwiseParams<'_>, input: &[u8], output: &mut [u8]) {
    let grouped = if p.depth_multiplier == 1 { p.input.c / 4 * 4 } else { 0 };
    for c in (0..grouped).step_by(4) {
        group4(p, input, output, c);
    }
    plain(p, input, output, grouped..p.input.c);
}

/// Channels `c..c + 4` (depth multiplier 1) at every output position, four accumulators at
/// a time. At windows without padding (nearly all) `Σ w·(x − zp) = Σ w·x − zp·Σ w`, and the taps
/// are one call ([`full_window4`]); windows at the edges take the taps one by one.
fn group4(p: &DepthwiseParams<'_>, input: &[u8], output: &mut [u8], c: usize) {
    let (g, d) = (&p.geom, &p.input);
    let c_n = d.c;
    let mut sums = [0i32; 4];
    for t in p.weights.chunks_exact(c_n).take(g.kh * g.kw) {
        for (s, &w) in sums.iter_mut().zip(&t[c..c + 4]) {
            *s += q(w);
        }
    }
    let filters = &p.weights[c..];
    for oy in 0..g.out_h {
        let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, d.h);
        for ox in 0..g.out_w {
            let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, d.w);
            let x = &input[(iy0 * d.w + ix0) * c_n + c..];
            let acc = if ky1 - ky0 == g.kh && kx1 - kx0 == g.kw {
                let acc = full_window4(x, filters, (g.kh, g.kw), d.w * c_n, c_n);
                core::array::from_fn(|j| acc[j] - p.in_zp * sums[j])
            } else {
                let mut acc = [0i32; 4];
                for ky in ky0..ky1 {
                    for kx in kx0..kx1 {
                        let x = &x[((ky - ky0) * d.w + (kx - kx0)) * c_n..][..4];
                        let w = &filters[(ky * g.kw + kx) * c_n..][..4];
                        for j in 0..4 {
                            acc[j] += q(w[j]) * (q(x[j]) - p.in_zp);
                        }
                    }
                }
                acc
            };
            let out = &mut output[(oy * g.out_w + ox) * c_n + c..][..4];
            for j in 0..4 {
                out[j] = p.channels.finish(c + j, acc[j], &p.out);
            }
        }
    }
}

/// `Σ w·x` of four channels over a whole `rows × cols` window: `x` starts at the window's
/// first pixel and `w` at the first tap, both at the group's first channel; pixels are `c_n`
/// apart, window rows `x_row` apart in `x` and `cols · c_n` apart in `w`.
///
/// Not inlined: on its own the loop keeps its accumulators and pointers in registers (the
/// Cortex-M4 has 13); inlined into the position loops it spilled them to the stack.
#[inline(never)]
fn full_window4(x: &[u8], w: &[u8], (rows, cols): (usize, usize), x_row: usize, c_n: usize) -> [i32; 4] {
    let mut acc = [0i32; 4];
    for r in 0..rows {
        let (xr, wr) = (&x[r * x_row..], &w[r * cols * c_n..]);
        for t in 0..cols {
            let (xs, ws) = (&xr[t * c_n..t * c_n + 4], &wr[t * c_n..t * c_n + 4]);
            for j in 0..4 {
                acc[j] += q(ws[j]) * q(xs[j]);
            }
        }
    }
    acc
}

/// Input channels `ics` (all their `M` outputs) at every output position, one tap at a time.
fn plain(p: &DepthwiseParams<'_>, input: &[u8], output: &mut [u8], ics: core::ops::Range<usize>) {
    let (g, d, m) = (&p.geom, &p.input, p.depth_multiplier);
    let oc_n = d.c * m;
    for oy in 0..g.out_h {
        let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, d.h);
        for ox in 0..g.out_w {
            let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, d.w);
            let out = &mut output[(oy * g.out_w + ox) * oc_n..][..oc_n];
            for ic in ics.clone() {
                for mi in 0..m {
                    let oc = ic * m + mi;
                    let mut acc = 0i32;
                    for ky in ky0..ky1 {
                        let iy = iy0 + (ky - ky0);
                        for kx in kx0..kx1 {
                            let ix = ix0 + (kx - kx0);
                            let x = q(input[(iy * d.w + ix) * d.c + ic]);
                            let w = q(p.weights[(ky * g.kw + kx) * oc_n + oc]);
                            acc += w * (x - p.in_zp);
                        }
                    }
                    out[oc] = p.channels.finish(oc, acc, &p.out);
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

    #[derive(Clone, Debug)]
    struct Problem {
        input: Dims,
        geom: Geom,
        m: usize,
        in_zp: i32,
        out: OutputStage,
        weights: Vec<u8>,
        chan: Chan,
        x: Vec<u8>,
    }

    impl Problem {
        fn reference(&self) -> Vec<u8> {
            let (g, d, m) = (&self.geom, &self.input, self.m);
            let oc_n = d.c * m;
            let mut out = vec![0u8; g.out_h * g.out_w * oc_n];
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for oc in 0..oc_n {
                        let ic = oc / m;
                        let mut acc = 0i64;
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let y = (oy * g.sh + ky) as i64 - g.pad_top as i64;
                                let x = (ox * g.sw + kx) as i64 - g.pad_left as i64;
                                if y < 0 || x < 0 || y >= d.h as i64 || x >= d.w as i64 {
                                    continue;
                                }
                                let xv = self.x[((y as usize) * d.w + x as usize) * d.c + ic] as i8;
                                let wv = self.weights[(ky * g.kw + kx) * oc_n + oc] as i8;
                                acc += i64::from(wv) * (i64::from(xv) - i64::from(self.in_zp));
                            }
                        }
                        out[(oy * g.out_w + ox) * oc_n + oc] = ref_finish(acc, &self.chan, oc, &self.out);
                    }
                }
            }
            out
        }

        fn check(&self) {
            let p = DepthwiseParams {
                input: self.input,
                geom: self.geom,
                depth_multiplier: self.m,
                in_zp: self.in_zp,
                out: self.out,
                weights: &self.weights,
                channels: self.chan.params(),
            };
            let n = p.output().len();
            let mut got = vec![0x55u8; n + 2];
            depthwise(&p, &self.x, &mut got);
            assert_eq!(&got[n..], &[0x55; 2]);
            got.truncate(n);
            assert_eq!(got, self.reference());
        }
    }

    fn problem() -> impl Strategy<Value = Problem> {
        (dims(7, 9), 1..=3usize)
            .prop_flat_map(|(input, m)| (Just(input), Just(m), geom(input.h, input.w, 4, 3)))
            .prop_flat_map(|(input, m, geom)| {
                let oc = input.c * m;
                (
                    Just((input, m, geom)),
                    any::<i8>(),
                    output_stage(),
                    weights(geom.kh * geom.kw * oc),
                    channels(oc, geom.kh * geom.kw),
                    activations(input.len()),
                )
            })
            .prop_map(|((input, m, geom), zp, out, weights, chan, x)| Problem {
                input,
                geom,
                m,
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
        fn depthwise_matches_reference(p in problem()) { p.check(); }
    }
}
