//! The two building blocks of MobileNetV2: a conv unit (conv, optional BatchNorm, optional
//! ReLU6) and the inverted residual block made of three (or two) of them.
//!
//! Every unit keeps the var-store names of its conv and BN (torchvision state-dict keys,
//! relative to the path the network was built under), so the weight loader and a later
//! quantizer reach each conv and BN by name.

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// How the convs of a network carry their normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Norm {
    /// BatchNorm already folded into the conv: each conv has a bias, there is no BN layer.
    Folded,
    /// Bias-free conv followed by BatchNorm (Keras exports use `eps = 1e-3`).
    BatchNorm { eps: f64, momentum: f64 },
}

impl Norm {
    /// Keras's BatchNorm as the 0.35 export has it: eps 1e-3 (which the file does not
    /// record); momentum 0.1 (torch convention) lets the statistics adapt when fine-tuned.
    pub const KERAS: Norm = Norm::BatchNorm { eps: 1e-3, momentum: 0.1 };

    /// The flavour of a weights file, from its tensor names: running statistics of the stem's
    /// BatchNorm (`<prefix>features.0.1.running_var`) mean BatchNorm layers, else folded.
    pub fn detect<V>(tensors: &std::collections::BTreeMap<String, V>, prefix: &str) -> Norm {
        if tensors.contains_key(&format!("{prefix}features.0.1.running_var")) {
            Norm::KERAS
        } else {
            Norm::Folded
        }
    }
}

/// TensorFlow 'SAME' padding `(before, after)` along one axis of length `size`.
///
/// The output has `ceil(size / stride)` samples, which needs `(out - 1)·stride + kernel - size`
/// padded samples in all; TF puts the odd one after. So a stride-2 3×3 conv over an even side
/// pads (0, 1), over an odd side (1, 1); a stride-1 3×3 conv always pads (1, 1).
pub fn same_padding(size: i64, kernel: i64, stride: i64) -> (i64, i64) {
    let out = (size + stride - 1) / stride;
    let total = ((out - 1) * stride + kernel - size).max(0);
    (total / 2, total - total / 2)
}

/// A BatchNorm layer and its var-store name (e.g. `features.2.conv.1.1`).
#[derive(Debug)]
pub struct NamedBatchNorm {
    pub name: String,
    pub bn: nn::BatchNorm,
}

/// Conv → optional BatchNorm → optional ReLU6, with TF 'SAME' padding.
#[derive(Debug)]
pub struct ConvUnit {
    /// Var-store name of the conv (e.g. `features.2.conv.1.0`).
    pub name: String,
    /// Weight `[out, in / groups, k, k]`; a bias only in the folded flavour.
    pub conv: nn::Conv2D,
    pub bn: Option<NamedBatchNorm>,
    pub kernel: i64,
    pub stride: i64,
    /// 1 for a full conv, the channel count for a depthwise one.
    pub groups: i64,
    pub relu6: bool,
}

/// The sub-path of `p` named by a dotted torchvision key such as `features.2.conv.1.0`.
pub(crate) fn sub_path<'a>(p: &nn::Path<'a>, dotted: &str) -> nn::Path<'a> {
    let mut parts = dotted.split('.');
    let head = parts.next().unwrap_or_default();
    parts.fold(p.sub(head), |q, c| q.sub(c))
}

/// Geometry of one conv unit.
#[derive(Debug, Clone, Copy)]
pub struct ConvSpec {
    pub c_in: i64,
    pub c_out: i64,
    pub kernel: i64,
    pub stride: i64,
    pub depthwise: bool,
    pub relu6: bool,
}

impl ConvUnit {
    /// Creates the conv at `conv_name` and, with [`Norm::BatchNorm`], its BN at `bn_name`.
    pub fn new(p: &nn::Path, conv_name: &str, bn_name: &str, spec: ConvSpec, norm: Norm) -> Self {
        let groups = if spec.depthwise { spec.c_in } else { 1 };
        let cfg = nn::ConvConfig {
            stride: spec.stride,
            padding: 0,
            groups,
            bias: norm == Norm::Folded,
            ..Default::default()
        };
        let conv = nn::conv2d(sub_path(p, conv_name), spec.c_in, spec.c_out, spec.kernel, cfg);
        let bn = match norm {
            Norm::Folded => None,
            Norm::BatchNorm { eps, momentum } => {
                let cfg = nn::BatchNormConfig { eps, momentum, ..Default::default() };
                let bn = nn::batch_norm2d(sub_path(p, bn_name), spec.c_out, cfg);
                Some(NamedBatchNorm { name: bn_name.to_string(), bn })
            }
        };
        ConvUnit {
            name: conv_name.to_string(),
            conv,
            bn,
            kernel: spec.kernel,
            stride: spec.stride,
            groups,
            relu6: spec.relu6,
        }
    }

    /// `[N, C_in, H, W]` → `[N, C_out, ceil(H/s), ceil(W/s)]`; `train` only affects the BN.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let size = xs.size();
        let (top, bottom) = same_padding(size[2], self.kernel, self.stride);
        let (left, right) = same_padding(size[3], self.kernel, self.stride);
        let (k, s, g) = (&self.conv.ws, [self.stride, self.stride], self.groups);
        let bias = self.conv.bs.as_ref();
        let y = if top == bottom && left == right {
            xs.conv2d(k, bias, s, [top, left], [1, 1], g)
        } else {
            // Asymmetric TF padding cannot be expressed by the conv itself.
            xs.constant_pad_nd([left, right, top, bottom]).conv2d(k, bias, s, [0, 0], [1, 1], g)
        };
        let y = match &self.bn {
            Some(b) => b.bn.forward_t(&y, train),
            None => y,
        };
        if self.relu6 {
            y.relu6()
        } else {
            y
        }
    }

    /// `(name, tensor)` for every variable of the unit, running statistics included.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![(format!("{}.weight", self.name), self.conv.ws.shallow_clone())];
        if let Some(b) = &self.conv.bs {
            out.push((format!("{}.bias", self.name), b.shallow_clone()));
        }
        if let Some(NamedBatchNorm { name, bn }) = &self.bn {
            if let Some(w) = &bn.ws {
                out.push((format!("{name}.weight"), w.shallow_clone()));
            }
            if let Some(b) = &bn.bs {
                out.push((format!("{name}.bias"), b.shallow_clone()));
            }
            out.push((format!("{name}.running_mean"), bn.running_mean.shallow_clone()));
            out.push((format!("{name}.running_var"), bn.running_var.shallow_clone()));
        }
        out
    }

    /// The learnable tensors (conv weight/bias, BN weight/bias), not the running statistics.
    pub fn parameters(&self) -> Vec<Tensor> {
        let mut out = vec![self.conv.ws.shallow_clone()];
        out.extend(self.conv.bs.iter().map(Tensor::shallow_clone));
        if let Some(b) = &self.bn {
            out.extend(b.bn.ws.iter().chain(b.bn.bs.iter()).map(Tensor::shallow_clone));
        }
        out
    }
}

/// MobileNetV2's inverted residual: 1×1 expand (skipped when t = 1) → 3×3 depthwise →
/// 1×1 linear project, plus the input when the stride is 1 and the channels match.
#[derive(Debug)]
pub struct InvertedResidual {
    /// Index in `features` (1 ..= 17).
    pub index: usize,
    pub expand: Option<ConvUnit>,
    pub depthwise: ConvUnit,
    pub project: ConvUnit,
    pub residual: bool,
}

impl InvertedResidual {
    /// Block `features.{index}` with expansion `t`, taking `c_in` to `c_out` channels.
    ///
    /// Names follow torchvision: with t = 1 the block is `conv.0` (depthwise ConvBNReLU),
    /// `conv.1` (project conv), `conv.2` (its BN); otherwise `conv.0` expands, `conv.1` is the
    /// depthwise unit, `conv.2` the project conv and `conv.3` its BN.
    pub fn new(p: &nn::Path, index: usize, io: (i64, i64), t: i64, stride: i64, norm: Norm) -> Self {
        let (c_in, c_out) = io;
        let hidden = c_in * t;
        let pre = format!("features.{index}.conv");
        let unit = |conv: String, bn: String, spec| ConvUnit::new(p, &conv, &bn, spec, norm);
        let pw = |c_in, c_out, relu6| ConvSpec { c_in, c_out, kernel: 1, stride: 1, depthwise: false, relu6 };
        let dw = ConvSpec { c_in: hidden, c_out: hidden, kernel: 3, stride, depthwise: true, relu6: true };
        let (expand, next) = if t == 1 {
            (None, 0)
        } else {
            (Some(unit(format!("{pre}.0.0"), format!("{pre}.0.1"), pw(c_in, hidden, true))), 1)
        };
        let depthwise = unit(format!("{pre}.{next}.0"), format!("{pre}.{next}.1"), dw);
        let project =
            unit(format!("{pre}.{}", next + 1), format!("{pre}.{}", next + 2), pw(hidden, c_out, false));
        InvertedResidual { index, expand, depthwise, project, residual: stride == 1 && c_in == c_out }
    }

    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let h = match &self.expand {
            Some(e) => e.forward_t(xs, train),
            None => xs.shallow_clone(),
        };
        let y = self.project.forward_t(&self.depthwise.forward_t(&h, train), train);
        if self.residual {
            y + xs
        } else {
            y
        }
    }

    /// The block's conv units in forward order.
    pub fn units(&self) -> Vec<&ConvUnit> {
        self.expand.iter().chain([&self.depthwise, &self.project]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(14, 3, 2), (0, 1));
        assert_eq!(same_padding(45, 3, 2), (1, 1));
        assert_eq!(same_padding(7, 3, 1), (1, 1));
        assert_eq!(same_padding(7, 1, 1), (0, 0));
        assert_eq!(same_padding(2, 3, 2), (0, 1));
    }
}
