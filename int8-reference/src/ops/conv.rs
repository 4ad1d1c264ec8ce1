//! Conv (`integer_ops/conv.h`, ConvPerChannel): filter OHWI, NHWC activations. Unfused: a
//! conv layer's optional max-pool runs afterwards as its own op.

use super::{requantize_acc, taps};
use crate::activation;
use crate::tensor::{dot, Channels, Tensor};
use infer_core::Conv2dDef;

/// The conv part of `def` over `x` (before any pool).
pub fn conv2d(x: &Tensor, def: &Conv2dDef<'_>) -> Result<Tensor, String> {
    let win = &def.window;
    let oc = usize::from(def.out_channels);
    let (kh, kw) = (usize::from(win.kernel_h), usize::from(win.kernel_w));
    if def.weights.len() != oc * kh * kw * x.c {
        return Err(format!("{} weights for {oc}×{kh}×{kw}×{}", def.weights.len(), x.c));
    }
    let ch = Channels::read(&def.channels, oc)?;
    let range = activation::range(def.activation, def.output);
    let (oh, ow) = (usize::from(win.out_h), usize::from(win.out_w));
    let mut values = Vec::with_capacity(oh * ow * oc);
    for oy in 0..oh {
        for ox in 0..ow {
            let window = taps(win, oy, ox, x.h, x.w);
            for o in 0..oc {
                let mut acc = 0i64;
                for &(ky, kx, iy, ix) in &window {
                    // Σ over input channels of w[o, ky, kx, i] · (x[iy, ix, i] − zp).
                    let w = &def.weights[((o * kh + ky) * kw + kx) * x.c..][..x.c];
                    acc += dot(w, x.pixel(iy, ix), x.zp());
                }
                values.push(requantize_acc(acc, &ch, o, def.output, range)?);
            }
        }
    }
    Ok(Tensor { values, h: oh, w: ow, c: oc, quant: def.output })
}

#[cfg(test)]
mod tests {
    use super::*;
    use infer_core::{Activation, ChannelQuant, Quant, Window};

    #[test]
    fn relu6_with_a_tiny_output_scale_saturates() {
        // 1×1 conv, one channel, weight 1, multiplier 0.5: out = zp + round(x / 2), clamped to
        // [zp, min(127, zp + round(6 / 1e-30))] = [zp, 127] rather than overflowing.
        let (bias, mult, shift) = (0i32.to_le_bytes(), (1i32 << 30).to_le_bytes(), [0u8]);
        let def = Conv2dDef {
            out_channels: 1,
            window: Window::symmetric(1, 1, 0, 1, 3),
            weights: &[1],
            channels: ChannelQuant { bias: &bias, multiplier: &mult, shift: &shift },
            output: Quant { scale: 1e-30, zero_point: 100 },
            activation: Activation::Relu6,
            pool: None,
        };
        let quant = Quant { scale: 1.0, zero_point: 0 };
        let x = Tensor { values: vec![-128, 40, 127], h: 1, w: 3, c: 1, quant };
        assert_eq!(conv2d(&x, &def).unwrap().values, vec![100, 120, 127]);
    }
}
