//! The blob body's schema: plain serde types whose weight data are borrowed byte slices, so a
//! postcard body in flash is used in place (no copy, no heap).
//!
//! Field order is the wire order (postcard is not self-describing): changing a struct needs a
//! new format version in [`crate::blob`]. New [`LayerDef`] variants are appended at the end
//! (`Mean`, `Softmax`, `Logistic`, `AvgPool`), so every blob written before them decodes
//! unchanged under the same version; a reader that predates them rejects such a blob as
//! undecodable.

use serde::{Deserialize, Serialize, Serializer};

/// Height, width, channels of one NHWC activation tensor (batch is always 1).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Rows.
    pub h: u16,
    /// Columns.
    pub w: u16,
    /// Channels (innermost).
    pub c: u16,
}

impl Shape {
    /// Number of elements, `h · w · c`.
    pub fn len(&self) -> usize {
        usize::from(self.h) * usize::from(self.w) * usize::from(self.c)
    }

    /// True when some dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-tensor affine quantization: `real = (q − zero_point) · scale`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Quant {
    /// Positive, finite.
    pub scale: f32,
    /// Int8 zero point.
    pub zero_point: i8,
}

impl Quant {
    /// The real value of int8 `q`: `(q − zero_point) · scale`.
    pub fn dequantize(&self, q: i8) -> f32 {
        (i32::from(q) - i32::from(self.zero_point)) as f32 * self.scale
    }
}

/// A tensor's shape and quantization (model input and output declarations).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct TensorSpec {
    /// NHWC shape.
    pub shape: Shape,
    /// Scale and zero point.
    pub quant: Quant,
}

/// Fused activation, applied as an output clamp ([`crate::quant_math::activation_range`]).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Clamp to [−128, 127] only.
    None,
    /// Clamp below at the zero point.
    Relu,
    /// Clamp to the quantized [0, 6].
    Relu6,
}

/// Sliding-window geometry with explicit top/left padding and explicit output size (bottom and
/// right padding follow from these: taps outside the image are skipped).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel rows.
    pub kernel_h: u8,
    /// Kernel columns.
    pub kernel_w: u8,
    /// Row stride.
    pub stride_h: u8,
    /// Column stride.
    pub stride_w: u8,
    /// Rows of padding above the image (must be < kernel_h).
    pub pad_top: u8,
    /// Columns of padding left of the image (must be < kernel_w).
    pub pad_left: u8,
    /// Output rows.
    pub out_h: u16,
    /// Output columns.
    pub out_w: u16,
}

impl Window {
    /// TF 'SAME' padding (the odd extra row/column goes to the bottom/right).
    pub fn same(kernel: u8, stride: u8, in_h: u16, in_w: u16) -> Window {
        let axis = |n: u16| {
            let (k, s, n) = (u32::from(kernel), u32::from(stride.max(1)), u32::from(n));
            let out = n.div_ceil(s);
            let total = ((out.saturating_sub(1)) * s + k).saturating_sub(n);
            (out as u16, (total / 2) as u8)
        };
        let ((out_h, pad_top), (out_w, pad_left)) = (axis(in_h), axis(in_w));
        Window {
            kernel_h: kernel,
            kernel_w: kernel,
            stride_h: stride,
            stride_w: stride,
            pad_top,
            pad_left,
            out_h,
            out_w,
        }
    }

    /// PyTorch-style symmetric padding `pad` on every side: `out = (n + 2·pad − k) / s + 1`.
    pub fn symmetric(kernel: u8, stride: u8, pad: u8, in_h: u16, in_w: u16) -> Window {
        let axis = |n: u16| {
            let span = (u32::from(n) + 2 * u32::from(pad)).saturating_sub(u32::from(kernel));
            (span / u32::from(stride.max(1)) + 1) as u16
        };
        Window {
            kernel_h: kernel,
            kernel_w: kernel,
            stride_h: stride,
            stride_w: stride,
            pad_top: pad,
            pad_left: pad,
            out_h: axis(in_h),
            out_w: axis(in_w),
        }
    }
}

/// A Q31 multiplier and power-of-two shift (`shift > 0` shifts left), as QuantizeMultiplier.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// 0 or in [2^30, 2^31).
    pub multiplier: i32,
    /// In −31..=30.
    pub shift: i8,
}

/// Per-output-channel requantization data, all borrowed from the blob.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelQuant<'a> {
    /// Int32 little-endian bias per channel (scale `in_scale · w_scale[c]`).
    #[serde(serialize_with = "bytes")]
    pub bias: &'a [u8],
    /// Int32 little-endian Q31 multiplier per channel.
    #[serde(serialize_with = "bytes")]
    pub multiplier: &'a [u8],
    /// One i8 shift per channel.
    #[serde(serialize_with = "bytes")]
    pub shift: &'a [u8],
}

/// 2-D convolution, filter OHWI, optionally followed by a fused max-pool.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Conv2dDef<'a> {
    /// Output channels O.
    pub out_channels: u16,
    /// Kernel, stride, padding, conv output size.
    pub window: Window,
    /// O·H·W·I int8 weights in [−127, 127], as raw bytes.
    #[serde(serialize_with = "bytes")]
    pub weights: &'a [u8],
    /// Bias and requantization per output channel.
    #[serde(borrow)]
    pub channels: ChannelQuant<'a>,
    /// Output quantization.
    pub output: Quant,
    /// Fused activation clamp.
    pub activation: Activation,
    /// Max-pool over the conv output, fused so the full-resolution output never exists.
    pub pool: Option<Window>,
}

/// Depthwise convolution, filter [1, H, W, C·M], output channel `ic · M + m`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct DepthwiseDef<'a> {
    /// Depth multiplier M.
    pub depth_multiplier: u16,
    /// Kernel, stride, padding, output size.
    pub window: Window,
    /// H·W·C·M int8 weights.
    #[serde(serialize_with = "bytes")]
    pub weights: &'a [u8],
    /// Bias and requantization per output channel.
    #[serde(borrow)]
    pub channels: ChannelQuant<'a>,
    /// Output quantization.
    pub output: Quant,
    /// Fused activation clamp.
    pub activation: Activation,
}

/// Fully connected layer over the whole input tensor flattened in H, W, C order.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct DenseDef<'a> {
    /// Output features (output shape 1×1×out).
    pub out_features: u16,
    /// [out, in] int8 weights.
    #[serde(serialize_with = "bytes")]
    pub weights: &'a [u8],
    /// Bias and requantization per output feature.
    #[serde(borrow)]
    pub channels: ChannelQuant<'a>,
    /// Output quantization.
    pub output: Quant,
    /// Fused activation clamp.
    pub activation: Activation,
}

/// Residual add of the current tensor (input1) and a saved slot (input2), TFLM int8 add.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct AddDef {
    /// Slot written earlier by [`LayerDef::Save`].
    pub slot: u8,
    /// s1 / (2·max(s1, s2)); shift ≤ 0.
    pub input1: Multiplier,
    /// s2 / (2·max(s1, s2)); shift ≤ 0.
    pub input2: Multiplier,
    /// 2·max(s1, s2) / (2^20 · s_out); shift ≤ 0.
    pub output_multiplier: Multiplier,
    /// Output quantization.
    pub output: Quant,
    /// Fused activation clamp.
    pub activation: Activation,
}

/// Int8 → int8 rescale: `out = MBQM(x − in_zp, m, shift) + out_zp`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct RequantizeDef {
    /// in_scale / out_scale.
    pub multiplier: Multiplier,
    /// Output quantization.
    pub output: Quant,
}

/// Mean over H and W of an int8 tensor, exactly TFLite 2.14's int8 MEAN with the reference
/// kernel (`reference_ops::QuantizedMeanOrSum`, compute_sum = false): output 1×1×C.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct MeanDef {
    /// `QuantizeMultiplier(double(s_in) / double(s_out))`, as TFLite's Prepare computes it
    /// ([`crate::quant_math::multiplier_from_real`]); not yet folded with 1/(H·W): the loader
    /// folds it exactly as TFLite's Eval does
    /// ([`crate::quant_math::fold_mean_multiplier`]).
    pub multiplier: Multiplier,
    /// Output quantization.
    pub output: Quant,
}

/// Int8 softmax over the channels (last axis) of each pixel, exactly TFLite 2.14's reference
/// int8 softmax (gemmlowp fixed point, kScaledDiffIntegerBits = 5, kAccumulationIntegerBits =
/// 12).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxDef {
    /// `input_multiplier` as TFLite's Prepare computes it from beta and the input scale
    /// (`PreprocessSoftmaxScaling`, in double; see [`crate::quant_math::softmax_params`]).
    pub input_multiplier: i32,
    /// `input_left_shift` (0..=31), from the same computation.
    pub input_left_shift: i32,
    /// `diff_min` (<= 0): `−CalculateInputRadius(5, input_left_shift)`.
    pub diff_min: i32,
    /// Output quantization (TFLite requires scale 1/256, zero point −128 for int8).
    pub output: Quant,
}

/// Int8 logistic (sigmoid) of every value, exactly TFLite 2.14's int8 LOGISTIC with the
/// reference kernel: its Prepare fills a 256-entry table in float
/// (`round(256 · 1 / (1 + exp(−s_in · (q − zp_in)))) + zp_out`, clamped) and its Eval looks
/// every value up. The blob holds that table ([`crate::quant_math::logistic_table`]).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct LogisticDef<'a> {
    /// 256 int8 outputs indexed by the input's byte (`q as u8`: TFLite's order, q = 0..=127
    /// then −128..=−1); non-decreasing in q.
    #[serde(serialize_with = "bytes")]
    pub table: &'a [u8],
    /// Output quantization (TFLite requires scale 1/256 exactly; any zero point).
    pub output: Quant,
}

/// Average pool over a window clipped to the image, exactly TFLite 2.14's int8 AVERAGE_POOL_2D
/// with the reference kernel (`reference_integer_ops::AveragePool`): the sum of q over the taps
/// inside the image divided by their count, rounded half away from zero, clamped to the fused
/// activation's range (computed from `output` as TFLite's `CalculateActivationRangeQuantized`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct AvgPoolDef {
    /// Kernel, stride, padding, output size.
    pub window: Window,
    /// Output quantization: TFLite's Prepare requires the input's (zero point equal, scales
    /// within 1e−6).
    pub output: Quant,
    /// Fused activation clamp.
    pub activation: Activation,
}

/// One layer; layers run in sequence, each consuming the previous one's output.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub enum LayerDef<'a> {
    /// Convolution (+ ReLU/ReLU6 + optional fused max-pool).
    Conv2d(#[serde(borrow)] Conv2dDef<'a>),
    /// Depthwise convolution.
    DepthwiseConv2d(#[serde(borrow)] DepthwiseDef<'a>),
    /// Max-pool, window clipped to the image; keeps scale and zero point.
    MaxPool(Window),
    /// Mean over H and W (rounded as TFLM); keeps scale and zero point.
    GlobalAvgPool,
    /// Fully connected.
    Dense(#[serde(borrow)] DenseDef<'a>),
    /// Copy the current tensor into residual slot `slot` (no new tensor).
    Save {
        /// Slot index, < [`crate::MAX_SLOTS`].
        slot: u8,
    },
    /// Residual add with a saved slot.
    Add(AddDef),
    /// Rescale to a new scale / zero point.
    Requantize(RequantizeDef),
    /// TFLite's int8 MEAN over H and W (appended: older blobs decode unchanged).
    Mean(MeanDef),
    /// TFLite's int8 softmax over each pixel's channels (appended).
    Softmax(SoftmaxDef),
    /// TFLite's int8 logistic, a table lookup per value (appended).
    Logistic(#[serde(borrow)] LogisticDef<'a>),
    /// TFLite's int8 average pool with a fused activation (appended).
    AvgPool(AvgPoolDef),
}

impl LayerDef<'_> {
    /// Short op name used in error messages.
    pub fn op_name(&self) -> &'static str {
        match self {
            LayerDef::Conv2d(_) => "conv2d",
            LayerDef::DepthwiseConv2d(_) => "depthwise_conv2d",
            LayerDef::MaxPool(_) => "max_pool",
            LayerDef::GlobalAvgPool => "global_avg_pool",
            LayerDef::Dense(_) => "dense",
            LayerDef::Save { .. } => "save",
            LayerDef::Add(_) => "add",
            LayerDef::Requantize(_) => "requantize",
            LayerDef::Mean(_) => "mean",
            LayerDef::Softmax(_) => "softmax",
            LayerDef::Logistic(_) => "logistic",
            LayerDef::AvgPool(_) => "avg_pool",
        }
    }
}

/// The whole model as the host writes it: input declaration, output declaration, layers.
///
/// On the wire the layers are a postcard sequence (varint count, then each layer); the device
/// reads that sequence lazily with [`crate::Model`], so no layer table is ever materialised.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct ModelDef<'a> {
    /// Input tensor (the caller supplies exactly `input.shape.len()` int8 values).
    pub input: TensorSpec,
    /// Output tensor; must equal what the last layer produces.
    pub output: TensorSpec,
    /// Layers in execution order.
    pub layers: &'a [LayerDef<'a>],
}

/// The fixed-size prefix of [`ModelDef`] on the wire (everything before the layer count).
#[derive(Deserialize, Clone, Copy, Debug)]
pub(crate) struct ModelHead {
    pub input: TensorSpec,
    pub output: TensorSpec,
}

/// Serialize a borrowed slice with `serialize_bytes` (postcard: varint length + raw bytes), the
/// form its zero-copy `&[u8]` deserializer expects.
fn bytes<S: Serializer>(v: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_window_matches_tf() {
        // 2×2/2 'same' on odd sizes: ceil(n/2), no top pad, the missing row is at the bottom.
        let w = Window::same(2, 2, 45, 23);
        assert_eq!((w.out_h, w.out_w, w.pad_top, w.pad_left), (23, 12, 0, 0));
        // 3×3/1 'same': pad 1 on each side.
        let w = Window::same(3, 1, 180, 180);
        assert_eq!((w.out_h, w.pad_top), (180, 1));
        // 3×3/2 'same' on even size: total pad 1, all of it at the bottom.
        let w = Window::same(3, 2, 4, 4);
        assert_eq!((w.out_h, w.pad_top), (2, 0));
        let t = Window::symmetric(3, 2, 1, 4, 4);
        assert_eq!((t.out_h, t.pad_top), (2, 1));
    }
}
