//! What a layer sequence produces, without weights scanned or a blob written: the host uses
//! it to declare a new model's output, so the engine's own shape rules are the only ones.

use crate::error::Error;
use crate::prepare::{prepare, Kernel, MAX_SLOTS};
use crate::schema::{LayerDef, TensorSpec};

/// The tensor `layers` produce from `input` (shape and quantization), checking each layer's
/// geometry and parameters as [`crate::Model::from_bytes`] does, except the data scans.
pub fn output_spec(input: TensorSpec, layers: &[LayerDef<'_>]) -> Result<TensorSpec, Error> {
    let mut cur = input;
    let mut slots = [None; MAX_SLOTS];
    for (index, def) in layers.iter().enumerate() {
        let prepared = prepare(index, def, &cur, &slots)?;
        if let Kernel::Save { slot } = prepared.kernel {
            slots[slot] = Some(cur);
        }
        cur = prepared.output;
    }
    Ok(cur)
}
