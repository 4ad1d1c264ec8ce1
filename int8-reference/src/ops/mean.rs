//! MEAN over H and W, TFLite's int8 `reference_ops::QuantizedMeanOrSum` (compute_sum = false),
//! as INT8.md writes it: `(m, s)` = the blob's QuantizeMultiplier(s_in / s_out), 1/N folded in
//! by [`fold_mean`], then per channel `clamp(MBQM(Σ (q − zp_in), m', s') + zp_out)`; 1×1×C.

use crate::activation::clamp_to;
use crate::math::{fold_mean, mbqm};
use crate::tensor::Tensor;
use infer_core::MeanDef;

/// `def` over `x`.
pub fn mean(x: &Tensor, def: &MeanDef) -> Result<Tensor, String> {
    let n = (x.h * x.w) as u64;
    if n == 0 {
        return Err("mean over no positions".into());
    }
    let (m, shift) = fold_mean(def.multiplier.multiplier, i32::from(def.multiplier.shift), n);
    let mut values = Vec::with_capacity(x.c);
    for c in 0..x.c {
        let mut acc = 0i64;
        for y in 0..x.h {
            for xx in 0..x.w {
                acc += i64::from(x.at(y, xx, c)) - i64::from(x.zp());
            }
        }
        let acc32 = i32::try_from(acc).map_err(|_| format!("channel {c}: sum {acc} does not fit i32"))?;
        let v = mbqm(acc32, m, shift)
            .ok_or_else(|| format!("channel {c}: MBQM({acc32}, {m}, {shift}) overflows i32"))?;
        values.push(clamp_to(i64::from(v) + i64::from(def.output.zero_point), (-128, 127)));
    }
    Ok(Tensor { values, h: 1, w: 1, c: x.c, quant: def.output })
}
