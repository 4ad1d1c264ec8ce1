//! The `.tflite` file as plain Rust data: its one subgraph's tensors (shape, type, quantization,
//! constant data) and operators (builtin code, inputs, outputs, options), read once through the
//! flatbuffer verifier, so a truncated or corrupt file is an error here and never a panic later.

use crate::error::ImportError;
use crate::tflite::{self, BuiltinOperator, TensorType};

/// One tensor of the subgraph.
#[derive(Clone, Debug)]
pub struct Tensor<'m> {
    pub name: String,
    pub shape: Vec<i32>,
    pub dtype: TensorType,
    /// Constant data (weights, biases, axes, shapes), borrowed from the file.
    pub data: Option<&'m [u8]>,
    /// Per-tensor (one value) or per-channel scales; empty when not quantized.
    pub scales: Vec<f32>,
    pub zero_points: Vec<i64>,
    /// The axis the per-channel scales run along.
    pub quantized_dimension: i32,
}

impl Tensor<'_> {
    /// The single scale and zero point of a per-tensor quantized tensor.
    pub fn quant(&self) -> Option<(f32, i64)> {
        match (self.scales.as_slice(), self.zero_points.as_slice()) {
            ([s], [z]) => Some((*s, *z)),
            _ => None,
        }
    }

    /// The constant as little-endian i32 values.
    pub fn i32_data(&self) -> Option<Vec<i32>> {
        let d = self.data?;
        (d.len() % 4 == 0).then(|| d.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// One operator, in execution order.
#[derive(Clone, Debug)]
pub struct Op<'m> {
    /// Position in the subgraph's operator list (error messages name it).
    pub index: usize,
    pub code: BuiltinOperator,
    /// Tensor indices; −1 is an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: tflite::Operator<'m>,
}

impl Op<'_> {
    /// The operator's name as TFLite spells it (e.g. `CONV_2D`).
    pub fn name(&self) -> String {
        self.code.variant_name().map_or_else(|| format!("builtin operator {}", self.code.0), str::to_string)
    }
}

/// The model's single subgraph.
pub struct Graph<'m> {
    pub tensors: Vec<Tensor<'m>>,
    pub ops: Vec<Op<'m>>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// The model's description, if any (e.g. "MLIR Converted.").
    pub description: Option<String>,
}

impl<'m> Graph<'m> {
    /// Verify and read `bytes`.
    pub fn read(bytes: &'m [u8]) -> Result<Graph<'m>, ImportError> {
        if bytes.len() < 8 || &bytes[4..8] != b"TFL3" {
            return Err(ImportError::Corrupt("not a TensorFlow Lite flatbuffer (no \"TFL3\" identifier)".into()));
        }
        let model = tflite::root_as_model(bytes).map_err(|e| ImportError::Corrupt(e.to_string()))?;
        let subgraphs = model.subgraphs().ok_or_else(|| ImportError::Corrupt("no subgraphs".into()))?;
        if subgraphs.len() != 1 {
            return Err(ImportError::Unsupported(format!("{} subgraphs (only single-subgraph models)", subgraphs.len())));
        }
        let sg = subgraphs.get(0);
        let buffers: Vec<Option<&[u8]>> =
            model.buffers().map(|b| b.iter().map(|b| b.data().filter(|d| !d.is_empty())).collect()).unwrap_or_default();
        let codes: Vec<BuiltinOperator> = model
            .operator_codes()
            .map(|cs| cs.iter().map(|c| c.builtin_code().max(BuiltinOperator(i32::from(c.deprecated_builtin_code())))).collect())
            .unwrap_or_default();
        let tensors = sg
            .tensors()
            .ok_or_else(|| ImportError::Corrupt("subgraph without tensors".into()))?
            .iter()
            .map(|t| read_tensor(&t, &buffers))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ops = Vec::new();
        for (index, op) in sg.operators().into_iter().flatten().enumerate() {
            let code = *codes
                .get(op.opcode_index() as usize)
                .ok_or_else(|| ImportError::Corrupt(format!("operator {index}: opcode index {} out of range", op.opcode_index())))?;
            let inputs = op.inputs().map(|v| v.iter().collect()).unwrap_or_default();
            let outputs = op.outputs().map(|v| v.iter().collect()).unwrap_or_default();
            ops.push(Op { index, code, inputs, outputs, options: op });
        }
        let graph = Graph {
            tensors,
            ops,
            inputs: sg.inputs().map(|v| v.iter().collect()).unwrap_or_default(),
            outputs: sg.outputs().map(|v| v.iter().collect()).unwrap_or_default(),
            description: model.description().map(str::to_string),
        };
        graph.check_indices()?;
        Ok(graph)
    }

    /// Every operator has a first input and an output, and every tensor index an operator or
    /// the subgraph names exists (or is −1 for an omitted optional input), so later lookups
    /// cannot fail.
    fn check_indices(&self) -> Result<(), ImportError> {
        let n = self.tensors.len() as i32;
        let bad = |i: &i32| *i < -1 || *i >= n;
        for op in &self.ops {
            let empty = op.inputs.is_empty() || op.outputs.is_empty() || op.inputs[0] < 0;
            if empty || op.inputs.iter().chain(&op.outputs).any(bad) || op.outputs.contains(&-1) {
                return Err(ImportError::Corrupt(format!("operator {} ({}): tensor index out of range", op.index, op.name())));
            }
        }
        if self.inputs.iter().chain(&self.outputs).any(|i| bad(i) || *i < 0) {
            return Err(ImportError::Corrupt("subgraph input or output index out of range".into()));
        }
        Ok(())
    }

    /// Tensor `i` (an index checked by [`Graph::read`]).
    pub fn tensor(&self, i: i32) -> &Tensor<'m> {
        &self.tensors[i as usize]
    }
}

fn read_tensor<'m>(t: &tflite::Tensor<'m>, buffers: &[Option<&'m [u8]>]) -> Result<Tensor<'m>, ImportError> {
    let name = t.name().unwrap_or("").to_string();
    let data = match t.buffer() {
        0 => None, // buffer 0 is the empty sentinel
        b => *buffers
            .get(b as usize)
            .ok_or_else(|| ImportError::Corrupt(format!("tensor {name:?}: buffer {b} out of range")))?,
    };
    let q = t.quantization();
    Ok(Tensor {
        shape: t.shape().map(|s| s.iter().collect()).unwrap_or_default(),
        dtype: t.type_(),
        data,
        scales: q.and_then(|q| q.scale()).map(|v| v.iter().collect()).unwrap_or_default(),
        zero_points: q.and_then(|q| q.zero_point()).map(|v| v.iter().collect()).unwrap_or_default(),
        quantized_dimension: q.map_or(0, |q| q.quantized_dimension()),
        name,
    })
}
