//! Fully connected layer (TFLM `FullyConnectedPerChannel`): filter [out, in] over the input
//! flattened in H, W, C order.

use crate::schema::ChannelQuant;

use super::{dot, OutputStage};

/// Precomputed parameters of one dense layer.
#[derive(Clone, Copy, Debug)]
pub struct DenseParams<'a> {
    /// Input features (the whole input tensor).
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Input zero point.
    pub in_zp: i32,
    /// Output zero point and clamp.
    pub out: OutputStage,
    /// out·in weights.
    pub weights: &'a [u8],
    /// Bias and requantization per output feature.
    pub channels: ChannelQuant<'a>,
}

/// Run the layer from `input[..in]` into `output[..out]`.
pub fn dense(p: &DenseParams<'_>, input: &[u8], output: &mut [u8]) {
    let x = &input[..p.in_features];
    for (o, row) in p.weights.chunks_exact(p.in_features).take(p.out_features).enumerate() {
        // |acc| <= in · 127 · 255 (+ |bias| in `finish`) < 2^31: checked at load.
        output[o] = p.channels.finish(o, dot(row, x, p.in_zp), &p.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;
    use proptest::prelude::*;

    fn problem() -> impl Strategy<Value = (usize, usize, i8, OutputStage, Vec<u8>, Chan, Vec<u8>)> {
        (1..=40usize, 1..=5usize).prop_flat_map(|(i, o)| {
            (Just(i), Just(o), any::<i8>(), output_stage(), weights(i * o), channels(o, i), activations(i))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn dense_matches_reference((i, o, zp, out, w, chan, x) in problem()) {
            let p = DenseParams { in_features: i, out_features: o, in_zp: i32::from(zp), out, weights: &w, channels: chan.params() };
            let mut got = vec![0x55u8; o + 1];
            dense(&p, &x, &mut got);
            prop_assert_eq!(got[o], 0x55);
            for k in 0..o {
                let acc: i64 = (0..i).map(|j| i64::from(w[k * i + j] as i8) * (i64::from(x[j] as i8) - i64::from(zp))).sum();
                prop_assert_eq!(got[k], ref_finish(acc, &chan, k, &out), "feature {}", k);
            }
        }
    }
}
