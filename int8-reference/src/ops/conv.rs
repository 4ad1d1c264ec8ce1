//! Conv (`integer_ops/conv.h`, ConvPerChannel): filter OHWI, NHWC activations. Unfused: a
//! conv layer's optional max-pool runs afterwards as its own op.

use super::{requantize_acc, taps};
use crate::activation;
use crate::tensor::{weight, Channels, Tensor};
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
                    for i in 0..x.c {
                        let f = weight(def.weights, ((o * kh + ky) * kw + kx) * x.c + i);
                        acc += i64::from(f) * i64::from(x.at(iy, ix, i) - x.zp());
                    }
                }
                values.push(requantize_acc(acc, &ch, o, def.output, range)?);
            }
        }
    }
    Ok(Tensor { values, h: oh, w: ow, c: oc, quant: def.output })
}
