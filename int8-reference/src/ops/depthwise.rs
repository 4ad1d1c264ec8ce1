//! Depthwise conv (`integer_ops/depthwise_conv.h`): filter [1, H, W, C·M], output channel
//! `oc = m + ic · M` reads input channel `ic`; otherwise as conv.

use super::{requantize_acc, taps};
use crate::activation;
use crate::tensor::{weight, Channels, Tensor};
use infer_core::DepthwiseDef;

/// `def` over `x`.
pub fn depthwise(x: &Tensor, def: &DepthwiseDef<'_>) -> Result<Tensor, String> {
    let win = &def.window;
    let mult = usize::from(def.depth_multiplier);
    let oc_n = x.c * mult;
    let (kh, kw) = (usize::from(win.kernel_h), usize::from(win.kernel_w));
    if def.weights.len() != kh * kw * oc_n {
        return Err(format!("{} weights for 1×{kh}×{kw}×{oc_n}", def.weights.len()));
    }
    let ch = Channels::read(&def.channels, oc_n)?;
    let range = activation::range(def.activation, def.output);
    let (oh, ow) = (usize::from(win.out_h), usize::from(win.out_w));
    let mut values = vec![0i8; oh * ow * oc_n];
    for oy in 0..oh {
        for ox in 0..ow {
            let window = taps(win, oy, ox, x.h, x.w);
            for ic in 0..x.c {
                for m in 0..mult {
                    let oc = m + ic * mult;
                    let mut acc = 0i64;
                    for &(ky, kx, iy, ix) in &window {
                        let f = weight(def.weights, (ky * kw + kx) * oc_n + oc);
                        acc += i64::from(f) * i64::from(x.at(iy, ix, ic) - x.zp());
                    }
                    values[(oy * ow + ox) * oc_n + oc] = requantize_acc(acc, &ch, oc, def.output, range)?;
                }
            }
        }
    }
    Ok(Tensor { values, h: oh, w: ow, c: oc_n, quant: def.output })
}
