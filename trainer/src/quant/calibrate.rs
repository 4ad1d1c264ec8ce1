//! Activation ranges from calibration images: every layer that gets its own quantization
//! (conv, depthwise, dense, add) is observed on training images only.
//!
//! `MinMax` takes the extreme values seen. `Percentile(p)` clips outliers: per batch it takes
//! the `p`-th and `(100 − p)`-th percentiles of the layer's output, and averages them over
//! batches weighted by batch size (TensorFlow's moving-average calibration works the same
//! way); a single stray activation then no longer stretches the scale of a whole tensor.
//! `Mse` picks each tensor's clip by measurement instead of one fixed percentile for all: per
//! batch, of the batch's [min, max] shrunk by 0.97^k (k = 0…79), the range whose 8-bit grid
//! rounds the tensor with the least mean squared error, averaged over batches the same way
//! (experiments/int8_fidelity.md, sixth addendum). A ReLU6 output piled up near 0 gets a tight
//! range, an evenly spread projection keeps its extremes.
//! Every way the range is widened to include 0, so that real 0 (ReLU's floor, padding) is
//! exactly representable.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::float_exec::TchGraph;
use super::graph::FloatGraph;
use super::quantize::activation_quant;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method", content = "percentile")]
pub enum Calibration {
    MinMax,
    /// Percentile in (50, 100], e.g. 99.99.
    Percentile(f64),
    /// The clip of [min, max] with the least 8-bit rounding error, per tensor.
    Mse,
}

/// Observed float range of one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub min: f32,
    pub max: f32,
}

/// Ranges per layer (None for layers that keep their input's quantization).
pub fn calibrate(
    graph: &FloatGraph,
    tg: &TchGraph<'_>,
    batches: impl Iterator<Item = Tensor>,
    method: Calibration,
) -> Vec<Option<Range>> {
    let n = graph.layers.len();
    let mut lo = vec![0f64; n];
    let mut hi = vec![0f64; n];
    let mut min = vec![f32::INFINITY; n];
    let mut max = vec![f32::NEG_INFINITY; n];
    let mut weight = 0f64;
    for pixels in batches {
        let batch = pixels.size()[0] as f64;
        let x = tg.input_from_pixels(&pixels);
        let _ = tg.run(&x, |i, out| {
            if !graph.layers[i].has_own_quant() {
                return;
            }
            let flat = out.flatten(0, -1);
            min[i] = min[i].min(flat.min().double_value(&[]) as f32);
            max[i] = max[i].max(flat.max().double_value(&[]) as f32);
            let clipped = match method {
                Calibration::MinMax => None,
                Calibration::Percentile(p) => Some(percentiles(&flat, p)),
                Calibration::Mse => Some(least_error_range(&flat)),
            };
            if let Some((l, h)) = clipped {
                lo[i] += l * batch;
                hi[i] += h * batch;
            }
        });
        weight += batch;
    }
    (0..n)
        .map(|i| {
            graph.layers[i].has_own_quant().then(|| {
                let (l, h) = match method {
                    Calibration::MinMax => (min[i], max[i]),
                    Calibration::Percentile(_) | Calibration::Mse => {
                        ((lo[i] / weight) as f32, (hi[i] / weight) as f32)
                    }
                };
                Range { min: l.min(0.0), max: h.max(0.0) }
            })
        })
        .collect()
}

/// The `(100 − p)`-th and `p`-th percentiles of a 1-D tensor (nearest rank).
fn percentiles(flat: &Tensor, p: f64) -> (f64, f64) {
    let n = flat.size()[0];
    let rank = |q: f64| ((q / 100.0 * (n - 1) as f64).round() as i64 + 1).clamp(1, n);
    let kth = |k: i64| flat.kthvalue(k, 0, false).0.to_kind(Kind::Double).double_value(&[]);
    (kth(rank(100.0 - p)), kth(rank(p)))
}

/// Candidate clips of the MSE search: [min, max] times 0.97^k, k = 0…79 (1 down to 0.09).
const SHRINK: f64 = 0.97;
const CANDIDATES: i32 = 80;
/// Values of a tensor the MSE search rounds (a spread-out sample: the search runs 80 grids).
const SAMPLE: i64 = 65_536;

/// The range, among [min, max] shrunk by [`SHRINK`]^k, whose 8-bit grid rounds `flat` (a
/// sample of it) with the least mean squared error.
fn least_error_range(flat: &Tensor) -> (f64, f64) {
    let x = spread_sample(flat).to_kind(Kind::Double);
    let min = x.min().double_value(&[]).min(0.0);
    let max = x.max().double_value(&[]).max(0.0);
    (0..CANDIDATES)
        .map(|k| {
            let a = SHRINK.powi(k);
            let (l, h) = (min * a, max * a);
            ((l, h), rounding_error(&x, l, h))
        })
        .fold(((min, max), f64::INFINITY), |best, c| if c.1 < best.1 { c } else { best })
        .0
}

/// At most [`SAMPLE`] values spread over the whole of `flat`: one per stride, at an offset
/// that moves within the stride, so the sample does not keep landing on one channel or one
/// pixel position of a channel-major tensor.
fn spread_sample(flat: &Tensor) -> Tensor {
    let n = flat.size()[0];
    if n <= SAMPLE {
        return flat.shallow_clone();
    }
    let stride = (n + SAMPLE - 1) / SAMPLE;
    let idx: Vec<i64> = (0..n / stride).map(|i| i * stride + (i * 7919) % stride).collect();
    flat.index_select(0, &Tensor::from_slice(&idx).to_device(flat.device()))
}

/// Mean squared error of `x` against its rounding to the grid the engine gives the range
/// [lo, hi] ([`activation_quant`]: 256 levels, zero point rounded so that 0 is a level; values
/// outside are clipped).
fn rounding_error(x: &Tensor, lo: f64, hi: f64) -> f64 {
    let q = activation_quant(Range { min: lo as f32, max: hi as f32 });
    let (scale, zero) = (f64::from(q.scale), f64::from(q.zero_point));
    let levels = ((x / scale).round() + zero).clamp(-128.0, 127.0);
    let back = (levels - zero) * scale;
    (x - back).square().mean(Kind::Double).double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_clip_outliers() {
        let mut v: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        v[0] = -50.0;
        v[999] = 100.0;
        let (l, h) = percentiles(&Tensor::from_slice(&v), 99.0);
        assert!((0.0..0.02).contains(&l), "{l}");
        assert!((0.98..1.0).contains(&h), "{h}");
        let (l, h) = percentiles(&Tensor::from_slice(&v), 100.0);
        assert_eq!((l, h), (-50.0, 100.0));
    }

    #[test]
    fn least_error_range_clips_a_long_tail_and_keeps_an_even_spread() {
        // An even spread over [-1, 1]: clipping only adds error, so the range stays whole.
        let even: Vec<f32> = (0..10_000).map(|i| i as f32 / 5_000.0 - 1.0).collect();
        let (l, h) = least_error_range(&Tensor::from_slice(&even));
        assert!(l <= -0.97 && h >= 0.97, "({l}, {h})");
        // ReLU-like with a long tail (exponential quantiles, max ≈ 11.7): a grid over the
        // whole range is coarse where the mass is; the search clips the tail and keeps 0.
        let n = 60_000;
        let tail: Vec<f64> = (0..n).map(|i| -(1.0 - (f64::from(i) + 0.5) / f64::from(n)).ln()).collect();
        let t = Tensor::from_slice(&tail);
        let max = t.max().double_value(&[]);
        let (l, h) = least_error_range(&t);
        assert_eq!(l, 0.0);
        assert!(h < 0.95 * max, "{h} of {max}");
        assert!(rounding_error(&t, l, h) < rounding_error(&t, 0.0, max));
    }

    #[test]
    fn rounding_error_is_zero_on_the_engine_grid_and_a_sample_spans_the_tensor() {
        // The engine's grid over [0, 1]: level k is k times the f32 scale.
        let step = f64::from(activation_quant(Range { min: 0.0, max: 1.0 }).scale);
        let grid: Vec<f64> = (0..=255).map(|k| f64::from(k) * step).collect();
        assert!(rounding_error(&Tensor::from_slice(&grid), 0.0, 1.0) < 1e-20);
        let big = Tensor::arange(1_000_003, (Kind::Float, tch::Device::Cpu));
        let s = spread_sample(&big);
        assert!(s.size()[0] <= SAMPLE);
        assert!(s.max().double_value(&[]) > 990_000.0 && s.min().double_value(&[]) < 20.0);
    }
}
