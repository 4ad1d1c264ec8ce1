//! Post-training int8 quantization (`trainer quantize`) and its checks (`trainer validate-int8`,
//! `trainer bench-int8`).
//!
//! The data flow ([`pipeline`] runs it): a run's model ([`float_model`]) → [`export`] →
//! [`graph::FloatGraph`] (engine layouts, BN folded; [`float_exec`] runs it in tch) →
//! [`calibrate`] on training images → optionally [`qat`] (fine-tune the int8 simulation toward
//! the float model's logits) → [`quantize`] → [`bias_correction`] → a blob validated by
//! infer-core → [`evaluate`] with infer-core and with the independent [`reference`] → [`card`].

pub mod args;
pub mod bench;
pub mod bias_correction;
pub mod calibrate;
pub mod card;
pub mod equalize;
pub mod evaluate;
pub mod export;
pub mod float_exec;
pub mod float_model;
pub mod graph;
pub mod logit_gain;
pub mod pipeline;
pub mod qat;
pub mod quantize;
pub mod reference;
#[cfg(test)]
mod test_graph;
pub mod validate;

pub use args::QuantizeArgs;
pub use float_model::FloatModel;
pub use pipeline::{quantize_run, QuantizeOptions};
pub use validate::{validate_int8, ValidateOptions};
