//! `int8-reference`: the int8 graph of an infer-core blob executed by plain nested loops,
//! written from `shared/INT8.md` alone — its own exact i64 rounding ([`math`]), unfused
//! conv + pool, no streaming, no arena — so that bit-exact agreement with infer-core (or the
//! trainer's expectations) is evidence rather than tautology. It borrows only the blob schema
//! and `Model::from_bytes`'s validation and layer decoding from infer-core.
//!
//! The API takes blob bytes and returns plain values, so infer-core's own tests can use it as
//! a dev-dependency without clashes between two builds of infer-core's types.

pub mod activation;
pub mod math;
pub mod ops;
pub mod tensor;

use infer_core::{LayerDef, Model};
use tensor::Tensor;

/// One layer's output tensor (a `save` layer reports the tensor it saved, unchanged).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerOutput {
    /// The layer's op name (`conv2d`, `depthwise_conv2d`, `max_pool`, `global_avg_pool`,
    /// `dense`, `save`, `add`, `requantize`, `mean`, `logistic`, `avg_pool`; `softmax` is an
    /// "unsupported layer" error).
    pub op: &'static str,
    /// int8 values, NHWC.
    pub values: Vec<i8>,
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Scale: `real = (q − zero_point) · scale`.
    pub scale: f32,
    /// Zero point.
    pub zero_point: i8,
}

/// Run the blob's model on int8 `input` (NHWC, quantized as the model's input) and return
/// the final tensor's int8 values.
pub fn run(blob: &[u8], input: &[i8]) -> Result<Vec<i8>, String> {
    run_model(&parse(blob)?, input)
}

/// As [`run`], returning every layer's output in layer order.
pub fn run_layers(blob: &[u8], input: &[i8]) -> Result<Vec<LayerOutput>, String> {
    run_model_layers(&parse(blob)?, input)
}

/// As [`run`], on a model already loaded by `infer_core::Model::from_bytes`.
pub fn run_model(model: &Model<'_>, input: &[i8]) -> Result<Vec<i8>, String> {
    let mut last = None;
    walk(model, input, |out| last = Some(out.values.clone()))?;
    last.ok_or_else(|| "model has no layers".to_string())
}

/// As [`run_layers`], on a model already loaded by `infer_core::Model::from_bytes`.
pub fn run_model_layers(model: &Model<'_>, input: &[i8]) -> Result<Vec<LayerOutput>, String> {
    let mut outputs = Vec::new();
    walk(model, input, |t| outputs.push(t.clone()))?;
    Ok(outputs)
}

fn parse(blob: &[u8]) -> Result<Model<'_>, String> {
    Model::from_bytes(blob).map_err(|e| format!("blob rejected by infer-core: {e}"))
}

/// Run every layer from the model's input, handing each layer's output to `visit`.
fn walk(model: &Model<'_>, input: &[i8], mut visit: impl FnMut(&LayerOutput)) -> Result<(), String> {
    let spec = model.input_spec();
    let mut x = Tensor::new(input.to_vec(), spec.shape, spec.quant)?;
    let mut slots: Vec<Option<Tensor>> = vec![None; infer_core::MAX_SLOTS];
    let mut count = 0;
    for (index, layer) in model.layers().enumerate() {
        x = step(&layer, x, &mut slots).map_err(|e| format!("layer {index} ({}): {e}", layer.op_name()))?;
        visit(&LayerOutput {
            op: layer.op_name(),
            values: x.values.clone(),
            h: x.h,
            w: x.w,
            c: x.c,
            scale: x.quant.scale,
            zero_point: x.quant.zero_point,
        });
        count += 1;
    }
    if count != model.layer_count() {
        return Err(format!("decoded {count} of {} layers", model.layer_count()));
    }
    Ok(())
}

/// One layer over the current tensor `x`.
fn step(layer: &LayerDef<'_>, x: Tensor, slots: &mut [Option<Tensor>]) -> Result<Tensor, String> {
    match layer {
        LayerDef::Conv2d(d) => {
            let full = ops::conv::conv2d(&x, d)?;
            Ok(match &d.pool {
                Some(pool) => ops::max_pool::max_pool(&full, pool),
                None => full,
            })
        }
        LayerDef::DepthwiseConv2d(d) => ops::depthwise::depthwise(&x, d),
        LayerDef::MaxPool(w) => Ok(ops::max_pool::max_pool(&x, w)),
        LayerDef::GlobalAvgPool => ops::avg_pool::global_avg_pool(&x),
        LayerDef::Dense(d) => ops::dense::dense(&x, d),
        LayerDef::Save { slot } => {
            let cell = slots.get_mut(usize::from(*slot)).ok_or_else(|| format!("no slot {slot}"))?;
            *cell = Some(x.clone());
            Ok(x)
        }
        LayerDef::Add(d) => {
            let saved = slots.get(usize::from(d.slot)).and_then(Option::as_ref);
            let saved = saved.ok_or_else(|| format!("slot {} was never saved", d.slot))?;
            ops::add::add(&x, saved, d)
        }
        LayerDef::Requantize(d) => ops::requantize::requantize(&x, d),
        LayerDef::Mean(d) => ops::mean::mean(&x, d),
        // TFLite's gemmlowp softmax has no independent re-derivation here.
        LayerDef::Softmax(_) => Err("unsupported layer: softmax".into()),
        LayerDef::Logistic(d) => ops::logistic::logistic(&x, d),
        LayerDef::AvgPool(d) => ops::avg_pool::avg_pool(&x, d),
    }
}
