//! Int8 → int8 rescale: `clamp(MBQM(q − in_zp, m, shift) + out_zp, −128, 127)`.

use crate::activation::clamp_to;
use crate::math::mbqm;
use crate::tensor::Tensor;
use infer_core::RequantizeDef;

/// `def` over `x`; same shape, new scale and zero point.
pub fn requantize(x: &Tensor, def: &RequantizeDef) -> Result<Tensor, String> {
    let (m, shift) = (def.multiplier.multiplier, i32::from(def.multiplier.shift));
    let mut values = Vec::with_capacity(x.values.len());
    for &q in &x.values {
        let d = i32::from(q) - x.zp();
        let v = mbqm(d, m, shift).ok_or_else(|| format!("MBQM({d}, {m}, {shift}) overflows i32"))?;
        values.push(clamp_to(i64::from(v) + i64::from(def.output.zero_point), (-128, 127)));
    }
    Ok(Tensor { values, h: x.h, w: x.w, c: x.c, quant: def.output })
}
