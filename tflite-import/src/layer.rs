//! The converted layers, owning their data: the weights are copied out of the file and the
//! per-channel multipliers computed here, so the `LayerDef`s that borrow them can be written
//! as one infer-core blob.

use infer_core::{
    Activation, AddDef, AvgPoolDef, ChannelQuant, Conv2dDef, DenseDef, DepthwiseDef, LayerDef, LogisticDef,
    MeanDef, Quant, RequantizeDef, SoftmaxDef, Window,
};

/// Bias and requantization per output channel, as infer-core stores them.
#[derive(Clone, Debug)]
pub struct Channels {
    pub bias: Vec<u8>,
    pub multiplier: Vec<u8>,
    pub shift: Vec<u8>,
}

impl Channels {
    fn def(&self) -> ChannelQuant<'_> {
        ChannelQuant { bias: &self.bias, multiplier: &self.multiplier, shift: &self.shift }
    }
}

/// One converted layer.
#[derive(Clone, Debug)]
pub enum Layer {
    Conv { out_channels: u16, window: Window, weights: Vec<u8>, channels: Channels, output: Quant, activation: Activation },
    Depthwise { multiplier: u16, window: Window, weights: Vec<u8>, channels: Channels, output: Quant, activation: Activation },
    Dense { out_features: u16, weights: Vec<u8>, channels: Channels, output: Quant, activation: Activation },
    MaxPool(Window),
    Save(u8),
    Add(AddDef),
    Requantize(RequantizeDef),
    Mean(MeanDef),
    Softmax(SoftmaxDef),
    Logistic { table: Vec<u8>, output: Quant },
    AvgPool(AvgPoolDef),
}

impl Layer {
    /// The blob's view of this layer.
    pub fn def(&self) -> LayerDef<'_> {
        match self {
            Layer::Conv { out_channels, window, weights, channels, output, activation } => LayerDef::Conv2d(Conv2dDef {
                out_channels: *out_channels,
                window: *window,
                weights,
                channels: channels.def(),
                output: *output,
                activation: *activation,
                pool: None,
            }),
            Layer::Depthwise { multiplier, window, weights, channels, output, activation } => {
                LayerDef::DepthwiseConv2d(DepthwiseDef {
                    depth_multiplier: *multiplier,
                    window: *window,
                    weights,
                    channels: channels.def(),
                    output: *output,
                    activation: *activation,
                })
            }
            Layer::Dense { out_features, weights, channels, output, activation } => LayerDef::Dense(DenseDef {
                out_features: *out_features,
                weights,
                channels: channels.def(),
                output: *output,
                activation: *activation,
            }),
            Layer::MaxPool(w) => LayerDef::MaxPool(*w),
            Layer::Save(slot) => LayerDef::Save { slot: *slot },
            Layer::Add(a) => LayerDef::Add(*a),
            Layer::Requantize(r) => LayerDef::Requantize(*r),
            Layer::Mean(m) => LayerDef::Mean(*m),
            Layer::Softmax(s) => LayerDef::Softmax(*s),
            Layer::Logistic { table, output } => LayerDef::Logistic(LogisticDef { table, output: *output }),
            Layer::AvgPool(a) => LayerDef::AvgPool(*a),
        }
    }

    /// Bytes of weights this layer holds (for the card).
    pub fn weight_count(&self) -> usize {
        match self {
            Layer::Conv { weights, .. } | Layer::Depthwise { weights, .. } | Layer::Dense { weights, .. } => weights.len(),
            _ => 0,
        }
    }
}
