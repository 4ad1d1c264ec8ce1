//! The final tensor of a run: int8 logits borrowed from the arena, with helpers that leave the
//! integer domain only at the very end (dequantize, sigmoid, softmax).

use crate::schema::{Quant, Shape, TensorSpec};

/// The model's output, valid until the arena is reused.
#[derive(Clone, Copy, Debug)]
pub struct Output<'r> {
    pub(crate) data: &'r [u8],
    pub(crate) spec: TensorSpec,
}

impl<'r> Output<'r> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for an empty output (never for a loaded model).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Output shape.
    pub fn shape(&self) -> Shape {
        self.spec.shape
    }

    /// Output scale and zero point.
    pub fn quant(&self) -> Quant {
        self.spec.quant
    }

    /// Int8 value `i`.
    pub fn get(&self, i: usize) -> Option<i8> {
        self.data.get(i).map(|&b| b as i8)
    }

    /// All int8 values in NHWC order.
    pub fn values(&self) -> impl Iterator<Item = i8> + 'r {
        self.data.iter().map(|&b| b as i8)
    }

    /// `(q − zero_point) · scale` of value `i`.
    pub fn dequantize(&self, i: usize) -> Option<f32> {
        Some(self.spec.quant.dequantize(self.get(i)?))
    }

    /// Logistic sigmoid of dequantized value `i` (a one-unit head's probability).
    pub fn sigmoid(&self, i: usize) -> Option<f32> {
        Some(sigmoid(self.dequantize(i)?))
    }

    /// Probability of the positive class for a one-unit sigmoid head.
    pub fn probability(&self) -> Option<f32> {
        self.sigmoid(0)
    }

    /// Softmax over the dequantized values into `out[..len]`; returns how many were written
    /// (`None` if `out` is too short).
    pub fn softmax(&self, out: &mut [f32]) -> Option<usize> {
        let out = out.get_mut(..self.len())?;
        let max = (0..self.len()).filter_map(|i| self.dequantize(i)).fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (i, o) in out.iter_mut().enumerate() {
            *o = libm::expf(self.dequantize(i)? - max);
            sum += *o;
        }
        out.iter_mut().for_each(|o| *o /= sum);
        Some(self.len())
    }

    /// Index of the largest value (first one on ties).
    pub fn argmax(&self) -> Option<usize> {
        let mut best: Option<(usize, i8)> = None;
        for (i, v) in self.values().enumerate() {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// The logistic function `1 / (1 + e^−x)`: a one-unit head's logit → probability.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(data: &[u8]) -> Output<'_> {
        let shape = Shape { h: 1, w: 1, c: data.len() as u16 };
        Output { data, spec: TensorSpec { shape, quant: Quant { scale: 0.5, zero_point: 2 } } }
    }

    #[test]
    fn helpers() {
        let data = [2u8, 4, (-2i8) as u8];
        let o = out(&data);
        assert_eq!(o.dequantize(1), Some(1.0));
        assert_eq!(o.dequantize(2), Some(-2.0));
        assert_eq!(o.probability(), Some(0.5));
        assert_eq!(o.argmax(), Some(1));
        let mut p = [0.0f32; 3];
        assert_eq!(o.softmax(&mut p), Some(3));
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6 && p[1] > p[0] && p[0] > p[2]);
        assert_eq!(o.softmax(&mut [0.0; 2]), None);
    }
}
