//! Fully connected (`integer_ops/fully_connected.h`, per channel): filter [out, in] over the
//! input flattened in H, W, C order.

use super::requantize_acc;
use crate::activation;
use crate::tensor::{dot, Channels, Tensor};
use infer_core::DenseDef;

/// `def` over `x`; the output is 1×1×out.
pub fn dense(x: &Tensor, def: &DenseDef<'_>) -> Result<Tensor, String> {
    let (n_out, n_in) = (usize::from(def.out_features), x.values.len());
    if def.weights.len() != n_out * n_in {
        return Err(format!("{} weights for {n_out}×{n_in}", def.weights.len()));
    }
    let ch = Channels::read(&def.channels, n_out)?;
    let range = activation::range(def.activation, def.output);
    let mut values = Vec::with_capacity(n_out);
    for o in 0..n_out {
        let acc = dot(&def.weights[o * n_in..][..n_in], &x.values, x.zp());
        values.push(requantize_acc(acc, &ch, o, def.output, range)?);
    }
    Ok(Tensor { values, h: 1, w: 1, c: n_out, quant: def.output })
}
