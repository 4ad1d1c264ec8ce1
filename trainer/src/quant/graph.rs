//! The float graph a model is exported to before quantization: the same layer sequence the
//! int8 blob will hold ([`infer_core::LayerDef`]), with f32 weights already in the engine's
//! layouts (conv OHWI, depthwise [1, H, W, C·M], dense [out, in] with `in` flattened H, W, C)
//! and BatchNorm already folded. One exporter per model turns tch weights into this; every
//! later step (float execution, calibration, quantization) is model-agnostic.

use infer_core::{Activation, Quant, Shape, Window};

#[derive(Clone, Debug, PartialEq)]
pub enum FloatLayer {
    /// Convolution, weights OHWI, optional fused max-pool after the activation.
    Conv {
        out_channels: usize,
        window: Window,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
        pool: Option<Window>,
    },
    /// Depthwise convolution, weights [1, H, W, C·M], output channel `ic · M + m`.
    Depthwise {
        depth_multiplier: usize,
        window: Window,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    },
    /// Fully connected over the input flattened H, W, C; weights [out, in].
    Dense {
        out_features: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
    },
    MaxPool(Window),
    GlobalAvgPool,
    /// Keep the current tensor for a later residual add.
    Save {
        slot: u8,
    },
    /// Current tensor + saved slot.
    Add {
        slot: u8,
        activation: Activation,
    },
}

impl FloatLayer {
    /// True for layers whose output gets its own quantization (the others keep their
    /// input's scale and zero point, or produce no tensor).
    pub fn has_own_quant(&self) -> bool {
        matches!(
            self,
            FloatLayer::Conv { .. }
                | FloatLayer::Depthwise { .. }
                | FloatLayer::Dense { .. }
                | FloatLayer::Add { .. }
        )
    }
}

#[derive(Clone, Debug)]
pub struct FloatGraph {
    /// Input NHWC shape (batch 1); channels is 1 (grey) for every model here.
    pub input: Shape,
    /// The int8 input declaration. Every model here is fed `q = pixel − 128` (one XOR on the
    /// device); this quantization says what real value that is: the seed CNN's
    /// `pixel / 255` is (1/255, −128) exactly; MobileNetV2's `2·pixel/255 − 1` becomes
    /// (2/255, 0), i.e. `(pixel − 128)·2/255`, half a grey level below the float model's
    /// input but with the same zero-valued padding.
    pub input_quant: Quant,
    /// The float model's own input normalisation, in words, for the model card.
    pub float_input: &'static str,
    pub layers: Vec<FloatLayer>,
    /// Class names in output order (one output: p(pneumonia) = sigmoid(logit)).
    pub classes: Vec<String>,
}
