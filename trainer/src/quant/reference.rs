//! The integer reference every blob is checked against: the `int8-reference` crate, plain
//! loops written from `shared/INT8.md` with exact i64 rounding, independent of the engine's
//! kernels (it shares only the blob schema). infer-core's own end-to-end tests use it too.

use infer_core::Model;

pub use int8_reference::{run_model_layers as run_layers, LayerOutput};

/// The int8 output bytes the reference computes for one int8 input (an error names the
/// layer and channel of a blob the engine should not have accepted).
pub fn run(model: &Model<'_>, input: &[i8]) -> Result<Vec<i8>, String> {
    int8_reference::run_model(model, input)
}
