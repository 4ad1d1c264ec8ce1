//! TFLite's operator graph → infer-core's layer sequence.
//!
//! infer-core runs a chain: each layer reads the previous one's output, and a residual add reads
//! one saved tensor besides. So the walk keeps the "current" tensor; an operator must read it
//! (an ADD reads it and a tensor saved earlier), a tensor read by more than one operator is
//! saved into a residual slot right after it is made, and the edges are mapped to the blob's
//! input and output declarations. Anything else is refused with the operator's index and name.

use infer_core::quant_math::{add_multipliers, multiplier_from_real};
use infer_core::{AddDef, Quant, RequantizeDef, Shape, TensorSpec, MAX_SLOTS};

use crate::error::ImportError;
use crate::graph::{Graph, Op, Tensor};
use crate::layer::Layer;
use crate::ops;
use crate::tflite::{BuiltinOperator as B, TensorType};

/// How the model's edges map to the blob's int8 input and output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// int8 in the file, as in the blob.
    Int8,
    /// uint8 in the file: the blob sees `byte − 128` (zero point − 128), i.e. `run_u8`'s input
    /// and `output ^ 0x80` on the way out.
    Uint8,
    /// float32 in the file behind a QUANTIZE / DEQUANTIZE: the caller quantizes with the blob's
    /// declaration (and dequantizes its output).
    Float,
}

/// The converted model.
pub struct Converted {
    pub input: TensorSpec,
    pub output: TensorSpec,
    pub input_edge: Edge,
    pub output_edge: Edge,
    pub layers: Vec<Layer>,
}

/// The walk's state.
struct Walk<'g, 'm> {
    g: &'g Graph<'m>,
    /// How many operators read each tensor.
    readers: Vec<usize>,
    layers: Vec<Layer>,
    cur: i32,
    slots: [Option<i32>; MAX_SLOTS],
    /// A PAD waiting to be folded into the convolution after it.
    pending_pad: Option<ops::Pad>,
}

/// Convert `g` (its operators in execution order).
pub fn convert(g: &Graph<'_>) -> Result<Converted, ImportError> {
    let ([input], [output]) = (g.inputs.as_slice(), g.outputs.as_slice()) else {
        return Err(ImportError::Unsupported(format!(
            "{} inputs and {} outputs (one of each is supported)",
            g.inputs.len(),
            g.outputs.len()
        )));
    };
    let mut readers = vec![0usize; g.tensors.len()];
    for op in &g.ops {
        for &i in op.inputs.iter().filter(|&&i| i >= 0) {
            readers[i as usize] += 1;
        }
    }
    let mut w = Walk { g, readers, layers: Vec::new(), cur: *input, slots: [None; MAX_SLOTS], pending_pad: None };
    let mut ops = g.ops.iter().peekable();
    // A float input is quantized by the first operator: the blob starts after it.
    let input_edge = edge(g.tensor(*input), "input")?;
    if input_edge == Edge::Float {
        match ops.next() {
            Some(op) if op.code == B::QUANTIZE && op.inputs.first() == Some(input) => w.cur = op.outputs[0],
            _ => return Err(ImportError::Unsupported("a float input not followed by QUANTIZE".into())),
        }
    }
    let input_spec = spec(g.tensor(w.cur), "input")?;
    w.save_if_shared(w.cur)?;
    let mut output_edge = edge(g.tensor(*output), "output")?;
    while let Some(op) = ops.next() {
        let last = ops.peek().is_none();
        if last && op.code == B::DEQUANTIZE {
            w.expect_current(op, 0)?;
            output_edge = Edge::Float;
            break;
        }
        let next = ops.peek().copied();
        w.operator(op, next)?;
    }
    if w.cur != *output && output_edge != Edge::Float {
        return Err(ImportError::Unsupported("the subgraph's output is not its last operator's output".into()));
    }
    let output_spec = spec(g.tensor(w.cur), "output")?;
    Ok(Converted { input: input_spec, output: output_spec, input_edge, output_edge, layers: w.layers })
}

impl<'m> Walk<'_, 'm> {
    /// Convert one operator; `next` is the one after it (a PAD folds into it).
    fn operator(&mut self, op: &Op<'m>, next: Option<&Op<'m>>) -> Result<(), ImportError> {
        let g = self.g;
        let layer = match op.code {
            B::CONV_2D => Some(ops::conv(g, op, self.take_pad())?),
            B::DEPTHWISE_CONV_2D => Some(ops::depthwise(g, op, self.take_pad())?),
            B::FULLY_CONNECTED => Some(ops::dense(g, op)?),
            B::MAX_POOL_2D => Some(ops::max_pool(g, op)?),
            B::AVERAGE_POOL_2D => Some(ops::avg_pool(g, op)?),
            B::MEAN => Some(ops::mean(g, op)?),
            B::SOFTMAX => Some(ops::softmax(g, op)?),
            B::LOGISTIC => Some(ops::logistic(g, op)?),
            B::QUANTIZE => self.requantize(op)?,
            B::RESHAPE => {
                ops::check_reshape(g, op, next)?;
                None
            }
            B::PAD => {
                self.expect_current(op, 0)?;
                self.pending_pad = Some(ops::foldable_pad(g, op, next)?);
                self.cur = op.outputs[0];
                return Ok(());
            }
            B::ADD => return self.add(op),
            _ => {
                return Err(ImportError::op(op, "not supported by infer-core (supported: QUANTIZE, DEQUANTIZE, CONV_2D, DEPTHWISE_CONV_2D, ADD, PAD before a convolution, MEAN over H×W, MAX_POOL_2D, AVERAGE_POOL_2D, FULLY_CONNECTED, RESHAPE, SOFTMAX, LOGISTIC)"))
            }
        };
        self.expect_current(op, 0)?;
        self.layers.extend(layer);
        self.cur = op.outputs[0];
        self.save_if_shared(self.cur)
    }
}

impl<'m> Walk<'_, 'm> {
    /// Operator input `k` must be the current tensor: infer-core runs a chain.
    fn expect_current(&self, op: &Op<'m>, k: usize) -> Result<(), ImportError> {
        if op.inputs.get(k) == Some(&self.cur) {
            Ok(())
        } else {
            Err(ImportError::op(op, "reads a tensor other than the previous operator's output (only chains with residual ADDs are supported)"))
        }
    }

    /// A tensor read by more than one operator goes into a free residual slot.
    fn save_if_shared(&mut self, t: i32) -> Result<(), ImportError> {
        if self.readers[t as usize] < 2 {
            return Ok(());
        }
        let slot = self.slots.iter().position(Option::is_none).ok_or_else(|| {
            ImportError::Unsupported(format!("more than {MAX_SLOTS} tensors saved for residual adds at once"))
        })?;
        self.slots[slot] = Some(t);
        self.layers.push(Layer::Save(slot as u8));
        Ok(())
    }

    fn take_pad(&mut self) -> Option<ops::Pad> {
        self.pending_pad.take()
    }

    /// ADD of the current tensor and a saved one (in either order: the int8 add is symmetric
    /// once each input keeps its own multiplier).
    fn add(&mut self, op: &Op<'m>) -> Result<(), ImportError> {
        let [a, b] = op.inputs[..] else { return Err(ImportError::op(op, "needs two inputs")) };
        let other = if a == self.cur { b } else if b == self.cur { a } else { return self.expect_current(op, 0) };
        let slot = self.slots.iter().position(|s| *s == Some(other)).ok_or_else(|| {
            ImportError::op(op, "its second input is not a tensor saved earlier in the chain")
        })?;
        let (g, out) = (self.g, op.outputs[0]);
        let (cur, saved, o) = (spec(g.tensor(self.cur), "ADD input")?, spec(g.tensor(other), "ADD input")?, spec(g.tensor(out), "ADD output")?);
        if cur.shape != saved.shape {
            return Err(ImportError::op(op, "broadcasting ADD is not supported"));
        }
        let [input1, input2, output_multiplier] = add_multipliers(cur.quant.scale, saved.quant.scale, o.quant.scale);
        let activation = ops::activation(op, ops::add_activation(op))?;
        self.layers.push(Layer::Add(AddDef { slot: slot as u8, input1, input2, output_multiplier, output: o.quant, activation }));
        // The slot is free once every reader of the saved tensor has run (one ADD in a chain).
        self.readers[other as usize] -= 1;
        if self.readers[other as usize] <= 1 {
            self.slots[slot] = None;
        }
        self.cur = out;
        self.save_if_shared(out)
    }

    /// QUANTIZE between integer types: a rescale, or nothing when it only moves uint8 to int8.
    fn requantize(&self, op: &Op<'m>) -> Result<Option<Layer>, ImportError> {
        let g = self.g;
        let (i, o) = (spec(g.tensor(op.inputs[0]), "QUANTIZE input")?, spec(g.tensor(op.outputs[0]), "QUANTIZE output")?);
        if i.quant.scale.to_bits() == o.quant.scale.to_bits() && i.quant.zero_point == o.quant.zero_point {
            return Ok(None);
        }
        // TFLite's Requantize: QuantizeMultiplier(double(s_in) / double(s_out)).
        let multiplier = multiplier_from_real(f64::from(i.quant.scale) / f64::from(o.quant.scale));
        Ok(Some(Layer::Requantize(RequantizeDef { multiplier, output: o.quant })))
    }
}

/// How an edge tensor is typed.
fn edge(t: &Tensor<'_>, what: &str) -> Result<Edge, ImportError> {
    match t.dtype {
        TensorType::INT8 => Ok(Edge::Int8),
        TensorType::UINT8 => Ok(Edge::Uint8),
        TensorType::FLOAT32 => Ok(Edge::Float),
        other => Err(ImportError::Unsupported(format!("{what} tensor {:?} of type {:?}", t.name, other.variant_name()))),
    }
}

/// The blob's declaration of an int8 (or uint8, seen as `byte − 128`) per-tensor quantized
/// tensor: NHWC with batch 1; `[1, C]` is 1×1×C.
pub fn spec(t: &Tensor<'_>, what: &str) -> Result<TensorSpec, ImportError> {
    let shift = match t.dtype {
        TensorType::INT8 => 0,
        TensorType::UINT8 => 128,
        other => {
            return Err(ImportError::Unsupported(format!(
                "{what} tensor {:?} is {} (int8 or uint8 activations only)",
                t.name,
                other.variant_name().unwrap_or("of an unknown type")
            )))
        }
    };
    let (scale, zp) = t
        .quant()
        .ok_or_else(|| ImportError::Unsupported(format!("{what} tensor {:?} is not per-tensor quantized", t.name)))?;
    let zero_point = i8::try_from(zp - shift)
        .map_err(|_| ImportError::Unsupported(format!("{what} tensor {:?}: zero point {zp} out of range", t.name)))?;
    Ok(TensorSpec { shape: shape(t)?, quant: Quant { scale, zero_point } })
}

/// `[1, H, W, C]` → H×W×C, `[1, C]` / `[C]` → 1×1×C.
pub fn shape(t: &Tensor<'_>) -> Result<Shape, ImportError> {
    let dim = |d: i32| u16::try_from(d).map_err(|_| ImportError::Unsupported(format!("tensor {:?}: dimension {d}", t.name)));
    match t.shape.as_slice() {
        [1, h, w, c] => Ok(Shape { h: dim(*h)?, w: dim(*w)?, c: dim(*c)? }),
        [1, c] | [c] => Ok(Shape { h: 1, w: 1, c: dim(*c)? }),
        s => Err(ImportError::Unsupported(format!("tensor {:?} of shape {s:?} (batch 1, NHWC or [1, C])", t.name))),
    }
}
