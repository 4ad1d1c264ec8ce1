//! `infer-core`: runs int8-quantized CNNs with integer-only arithmetic (TFLite Micro's
//! conventions, bit for bit; see `shared/INT8.md`), in `no_std`, without a heap, in a
//! caller-provided arena.
//!
//! - [`Model::from_bytes`] validates a blob completely and prepares every layer's kernel
//!   parameters once, into a fixed-capacity plan stored in the model (no heap; capacity
//!   chosen with [`ModelN`]);
//! - [`Model::run`] then only dispatches over the plan to infallible kernels (crate-private);
//!   its errors ([`RunError`]) are the caller's: input length and arena size;
//! - [`Sizing`] gives a build script the arena and plan sizes for `static`s;
//! - [`write_blob`] / `to_blob` (feature `std`) write blobs, so reader and writer share one
//!   schema ([`ModelDef`]).
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blob;
mod chain;
mod crc32;
pub mod error;
mod model;
pub(crate) mod ops;
mod output;
mod plan;
mod prepare;
pub mod quant_math;
pub mod schema;
mod rows;
#[cfg(feature = "std")]
mod sizing;
mod stream;
mod validate;

#[cfg(feature = "std")]
pub use blob::{i32_le_bytes, i8_bytes, to_blob};
pub use blob::{write_blob, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use chain::output_spec;
pub use crc32::crc32;
pub use error::{Error, Problem, RunError};
pub use model::{Model, ModelN, DEFAULT_CAPACITY};
pub use output::{sigmoid, Output};
pub use plan::MAX_LAYERS;
pub use prepare::{MAX_SLOTS, MAX_TENSOR_LEN};
pub use schema::{
    Activation, AddDef, AvgPoolDef, ChannelQuant, Conv2dDef, DenseDef, DepthwiseDef, LayerDef, LogisticDef,
    MeanDef, ModelDef, Multiplier, Quant, RequantizeDef, Shape, SoftmaxDef, TensorSpec, Window,
};
#[cfg(feature = "std")]
pub use sizing::Sizing;
