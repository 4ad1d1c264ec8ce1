//! Activation tensors (NHWC, batch 1, values widened to i32) and the per-channel
//! requantization data read out of the blob's little-endian byte slices.

use infer_core::{ChannelQuant, Quant, Shape};

/// One activation tensor with its quantization.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// int8 values, NHWC.
    pub values: Vec<i8>,
    /// Rows, columns, channels.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels (innermost).
    pub c: usize,
    /// Scale and zero point.
    pub quant: Quant,
}

impl Tensor {
    /// A tensor of shape `shape` holding `values`; errors when the lengths differ.
    pub fn new(values: Vec<i8>, shape: Shape, quant: Quant) -> Result<Tensor, String> {
        let (h, w, c) = (usize::from(shape.h), usize::from(shape.w), usize::from(shape.c));
        if values.len() != h * w * c {
            return Err(format!("input has {} values, shape {h}×{w}×{c} needs {}", values.len(), h * w * c));
        }
        Ok(Tensor { values, h, w, c, quant })
    }

    /// Value at row `y`, column `x`, channel `c`, as i32.
    pub fn at(&self, y: usize, x: usize, c: usize) -> i32 {
        i32::from(self.values[(y * self.w + x) * self.c + c])
    }

    /// The `c` values of pixel (`y`, `x`).
    pub fn pixel(&self, y: usize, x: usize) -> &[i8] {
        &self.values[(y * self.w + x) * self.c..][..self.c]
    }

    /// The zero point as i32.
    pub fn zp(&self) -> i32 {
        i32::from(self.quant.zero_point)
    }
}

/// Bias, multiplier and shift of every output channel.
pub struct Channels {
    /// int32 bias per channel.
    pub bias: Vec<i32>,
    /// Q31 multiplier per channel.
    pub multiplier: Vec<i32>,
    /// Shift per channel (> 0 shifts left).
    pub shift: Vec<i32>,
}

impl Channels {
    /// Decode `n` channels; errors when a slice is not exactly `n` entries long.
    pub fn read(ch: &ChannelQuant<'_>, n: usize) -> Result<Channels, String> {
        let lens = (ch.bias.len(), ch.multiplier.len(), ch.shift.len());
        if lens != (4 * n, 4 * n, n) {
            return Err(format!("channel data lengths {lens:?} for {n} channels"));
        }
        let i32s = |b: &[u8]| -> Vec<i32> {
            b.chunks_exact(4).map(|x| i32::from_le_bytes([x[0], x[1], x[2], x[3]])).collect()
        };
        Ok(Channels {
            bias: i32s(ch.bias),
            multiplier: i32s(ch.multiplier),
            shift: ch.shift.iter().map(|&s| i32::from(s as i8)).collect(),
        })
    }
}

/// Terms summed exactly in i32: |w · (x − zp)| <= 128 · 255 = 32,640, and
/// 65,536 · 32,640 < 2^31.
const EXACT_I32_TERMS: usize = 1 << 16;

/// `Σ w[i] · (x[i] − zp)` over equal-length weight bytes and int8 values, exact: chunks of
/// at most [`EXACT_I32_TERMS`] terms sum in i32 (which cannot overflow, see there), and the
/// chunks in i64.
pub fn dot(weights: &[u8], x: &[i8], zp: i32) -> i64 {
    weights
        .chunks(EXACT_I32_TERMS)
        .zip(x.chunks(EXACT_I32_TERMS))
        .map(|(w, x)| {
            let sum: i32 = w.iter().zip(x).map(|(&w, &v)| i32::from(w as i8) * (i32::from(v) - zp)).sum();
            i64::from(sum)
        })
        .sum()
}

/// Weight byte `i` as a signed value.
pub fn weight(weights: &[u8], i: usize) -> i32 {
    i32::from(weights[i] as i8)
}
