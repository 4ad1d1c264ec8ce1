//! Max pool (`integer_ops/pooling.h`): window clipped to the image, start at −128, take the
//! max, clamp to [−128, 127] (a no-op without an activation); keeps scale and zero point.

use super::taps;
use crate::tensor::Tensor;
use infer_core::Window;

/// `win` over `x`.
pub fn max_pool(x: &Tensor, win: &Window) -> Tensor {
    let (oh, ow) = (usize::from(win.out_h), usize::from(win.out_w));
    let mut values = Vec::with_capacity(oh * ow * x.c);
    for oy in 0..oh {
        for ox in 0..ow {
            let window = taps(win, oy, ox, x.h, x.w);
            for c in 0..x.c {
                let mut m = -128i32;
                for &(_, _, iy, ix) in &window {
                    m = m.max(x.at(iy, ix, c));
                }
                values.push(m.clamp(-128, 127) as i8);
            }
        }
    }
    Tensor { values, h: oh, w: ow, c: x.c, quant: x.quant }
}
