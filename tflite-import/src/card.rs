//! The imported model's card: where it came from, how its edges are quantized (and how a
//! caller feeds and reads them), what it costs to run.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::convert::{Converted, Edge};
use crate::error::ImportError;
use crate::graph::Graph;

/// One edge of the model.
#[derive(Clone, Debug, Serialize)]
pub struct EdgeCard {
    /// `[h, w, c]`.
    pub shape: [u16; 3],
    /// The blob's int8 declaration.
    pub scale: f32,
    pub zero_point: i8,
    /// The type in the `.tflite` file: `int8`, `uint8` (the blob sees `byte − 128`: feed
    /// uint8 pixels with `run_u8`, read uint8 outputs as `q ^ 0x80`), or `float32` (quantize
    /// with scale and zero point).
    pub file_type: &'static str,
}

/// What `trainer import-tflite` writes beside the blob.
#[derive(Clone, Debug, Serialize)]
pub struct ImportCard {
    pub source: String,
    pub source_sha256: String,
    pub description: Option<String>,
    /// TFLite operators in the file, by name.
    pub operators: BTreeMap<String, usize>,
    /// infer-core layers in the blob.
    pub layers: usize,
    pub input: EdgeCard,
    pub output: EdgeCard,
    pub blob_bytes: usize,
    pub weight_bytes: usize,
    pub arena_bytes: usize,
    pub streamed_arena_bytes: usize,
    pub macs: u64,
    /// Class names, one per output, when given.
    pub labels: Option<Vec<String>>,
}

fn edge_card(spec: &infer_core::TensorSpec, edge: Edge) -> EdgeCard {
    let s = spec.shape;
    let file_type = match edge {
        Edge::Int8 => "int8",
        Edge::Uint8 => "uint8",
        Edge::Float => "float32",
    };
    EdgeCard { shape: [s.h, s.w, s.c], scale: spec.quant.scale, zero_point: spec.quant.zero_point, file_type }
}

impl ImportCard {
    pub fn new(bytes: &[u8], source: &str, g: &Graph<'_>, c: &Converted, blob: &[u8]) -> Result<ImportCard, ImportError> {
        let model = infer_core::Model::from_bytes(blob)?;
        let mut operators = BTreeMap::new();
        for op in &g.ops {
            *operators.entry(op.name()).or_insert(0) += 1;
        }
        Ok(ImportCard {
            source: source.to_string(),
            source_sha256: Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
            description: g.description.clone(),
            operators,
            layers: model.layer_count(),
            input: edge_card(&c.input, c.input_edge),
            output: edge_card(&c.output, c.output_edge),
            blob_bytes: blob.len(),
            weight_bytes: c.layers.iter().map(|l| l.weight_count()).sum(),
            arena_bytes: model.arena_len(),
            streamed_arena_bytes: model.streamed_arena_len(),
            macs: model.macs(),
            labels: None,
        })
    }
}
