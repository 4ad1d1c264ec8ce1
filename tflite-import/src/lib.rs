//! `tflite-import`: TensorFlow Lite int8 models (`.tflite`) → infer-core blobs.
//!
//! [`import`] reads the flatbuffer through its verifier ([`graph`]), walks the operators into
//! infer-core's layer chain ([`convert`], one operator at a time in [`ops`]), writes the blob
//! (validated by infer-core as the device would) and a card describing it ([`card`]). The
//! arithmetic follows TFLite's reference kernels, so the blob's outputs are TFLite's, byte for
//! byte (tests/google_mobilenet_v2.rs checks Google's MobileNetV2 on five photos,
//! tests/keras_seed_cnn.rs the seed CNN converted from Keras on six X-rays).

pub mod card;
pub mod convert;
pub mod error;
pub mod graph;
pub mod layer;
pub mod ops;

#[allow(warnings, clippy::all, missing_docs)]
#[rustfmt::skip]
mod schema_generated;
/// The flatbuffer types flatc generated from TensorFlow's `schema.fbs` (`schema/`).
pub use schema_generated::tflite;

pub use card::ImportCard;
pub use convert::Edge;
pub use error::ImportError;

/// An imported model: the blob and its card.
pub struct Imported {
    pub blob: Vec<u8>,
    pub card: ImportCard,
}

/// Import the `.tflite` file `bytes` (named `source` in the card).
pub fn import(bytes: &[u8], source: &str) -> Result<Imported, ImportError> {
    let graph = graph::Graph::read(bytes)?;
    let converted = convert::convert(&graph)?;
    let defs: Vec<infer_core::LayerDef<'_>> = converted.layers.iter().map(layer::Layer::def).collect();
    let def = infer_core::ModelDef { input: converted.input, output: converted.output, layers: &defs };
    let blob = infer_core::to_blob(&def)?;
    let card = card::ImportCard::new(bytes, source, &graph, &converted, &blob)?;
    Ok(Imported { blob, card })
}
