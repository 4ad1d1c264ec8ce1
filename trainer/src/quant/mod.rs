//! Post-training int8 quantization (`trainer quantize`) and its checks (`trainer validate-int8`).
//!
//! The data flow: a trained tch model → [`export`] → [`graph::FloatGraph`] (engine layouts, BN
//! folded) → [`calibrate`] on training images → [`quantize`] → a blob validated by infer-core →
//! [`evaluate`] with infer-core and with the independent [`reference`]; [`card`] records it all.

pub mod bench;
pub mod calibrate;
pub mod card;
pub mod evaluate;
pub mod export;
pub mod float_exec;
pub mod graph;
pub mod quantize;
pub mod reference;
