//! Int8 logistic: the layer is its table (TFLite computes it in float, see the blob's
//! `LogisticDef`), so the output is the table entry of each value. Not taken on trust: every
//! entry must lie within one step of `round(256 · σ(s_in · (q − zp_in))) + zp_out` (clamped),
//! computed here in f64 from the tensors' quantization, or the layer is an error.

use crate::activation::clamp_to;
use crate::tensor::Tensor;
use infer_core::LogisticDef;

/// `def` over `x`; same shape, the output's scale and zero point.
pub fn logistic(x: &Tensor, def: &LogisticDef<'_>) -> Result<Tensor, String> {
    let table: &[u8; 256] =
        def.table.try_into().map_err(|_| format!("table of {} bytes", def.table.len()))?;
    let entry = |q: i8| table[usize::from(q as u8)] as i8;
    let out_scale = f64::from(def.output.scale);
    for q in i8::MIN..=i8::MAX {
        let real = f64::from(x.quant.scale) * f64::from(i32::from(q) - x.zp());
        let sigmoid = 1.0 / (1.0 + (-real).exp());
        let want =
            clamp_to((sigmoid / out_scale).round() as i64 + i64::from(def.output.zero_point), (-128, 127));
        if (i32::from(entry(q)) - i32::from(want)).abs() > 1 {
            return Err(format!("table entry for q = {q} is {}, the logistic gives {want}", entry(q)));
        }
    }
    let values = x.values.iter().map(|&q| entry(q)).collect();
    Ok(Tensor { values, h: x.h, w: x.w, c: x.c, quant: def.output })
}
