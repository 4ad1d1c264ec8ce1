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
pub fn depthwise(p: &DepthwiseParams<'_>, input: &[u8], output: &mut [u8]) {
    let (g, d, m) = (&p.geom, &p.input, p.depth_multiplier);
    let oc_n = d.c * m;
    for oy in 0..g.out_h {
        let (ky0, ky1, iy0) = clip(oy, g.sh, g.pad_top, g.kh, d.h);
        for ox in 0..g.out_w {
            let (kx0, kx1, ix0) = clip(ox, g.sw, g.pad_left, g.kw, d.w);
            let out = &mut output[(oy * g.out_w + ox) * oc_n..][..oc_n];
            for ic in 0..d.c {
                for mi in 0..m {
                    let oc = ic * m + mi;
                    // |acc| <= kh·kw · 127 · 255 (+ |bias| in `finish`) < 2^31: checked at load.
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
        (dims(7, 4), 1..=3usize)
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
