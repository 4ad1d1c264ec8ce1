//! Activation ranges from calibration images: every layer that gets its own quantization
//! (conv, depthwise, dense, add) is observed on training images only.
//!
//! `MinMax` takes the extreme values seen. `Percentile(p)` clips outliers: per batch it takes
//! the `p`-th and `(100 − p)`-th percentiles of the layer's output, and averages them over
//! batches weighted by batch size (TensorFlow's moving-average calibration works the same
//! way); a single stray activation then no longer stretches the scale of a whole tensor.
//! Either way the range is widened to include 0, so that real 0 (ReLU's floor, padding) is
//! exactly representable.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::float_exec::TchGraph;
use super::graph::FloatGraph;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method", content = "percentile")]
pub enum Calibration {
    MinMax,
    /// Percentile in (50, 100], e.g. 99.99.
    Percentile(f64),
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
            if let Calibration::Percentile(p) = method {
                let (l, h) = percentiles(&flat, p);
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
                    Calibration::Percentile(_) => ((lo[i] / weight) as f32, (hi[i] / weight) as f32),
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
}
