//! Residual add (`integer_ops/add.h`, `micro/kernels/add_common.cc`): both inputs brought to a
//! common scale 2·max(s1, s2) with 20 bits of headroom, summed, and rescaled to the output.

use crate::activation::{self, clamp_to};
use crate::math::{rdbpot, srdhm};
use crate::tensor::Tensor;
use infer_core::{AddDef, Multiplier};

/// TFLM's `left_shift` for int8 add.
pub const LEFT_SHIFT: u32 = 20;

/// `RDBPOT(SRDHM(v, M), −shift)` for one multiplier whose shift must be in −31..=0.
fn scale(v: i32, m: Multiplier) -> Result<i32, String> {
    let shift = i32::from(m.shift);
    if !(-31..=0).contains(&shift) {
        return Err(format!("add multiplier shift {shift} outside −31..=0"));
    }
    Ok(rdbpot(srdhm(v, m.multiplier), (-shift) as u32))
}

/// `x` (input1, the current tensor) plus `saved` (input2, the slot) as `def` says.
pub fn add(x: &Tensor, saved: &Tensor, def: &AddDef) -> Result<Tensor, String> {
    if (x.h, x.w, x.c) != (saved.h, saved.w, saved.c) {
        let (a, b) = ((x.h, x.w, x.c), (saved.h, saved.w, saved.c));
        return Err(format!("add of shapes {a:?} and {b:?}"));
    }
    let range = activation::range(def.activation, def.output);
    let mut values = Vec::with_capacity(x.values.len());
    for (&a, &b) in x.values.iter().zip(&saved.values) {
        // |q − zp| <= 255, so each v is below 2^28 and their rescaled sum below 2^29.
        let v1 = (i32::from(a) - x.zp()) << LEFT_SHIFT;
        let v2 = (i32::from(b) - saved.zp()) << LEFT_SHIFT;
        let sum = scale(v1, def.input1)? + scale(v2, def.input2)?;
        let out = scale(sum, def.output_multiplier)?;
        values.push(clamp_to(i64::from(out) + i64::from(def.output.zero_point), range));
    }
    Ok(Tensor { values, h: x.h, w: x.w, c: x.c, quant: def.output })
}
