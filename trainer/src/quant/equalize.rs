//! Range equalization of the linear streams (after Nagel et al. 2019, "Data-Free Quantization
//! through Weight Equalization and Bias Correction"), an exact rewrite of the float graph
//! before calibration.
//!
//! Why: activations are quantized per tensor. MobileNetV2's linear bottlenecks (a projection
//! conv with no activation, its residual adds, and the expansion convs that read them) carry
//! channels whose ranges differ by orders of magnitude, so one scale per tensor leaves the
//! small channels a few levels: the fine-tuned official model lost 20 dB of signal-to-noise
//! in its first projection (`examples/int8_drift.rs`).
//!
//! How: a *stream* is a set of tensors that must share a per-channel scale `s`: the outputs of
//! convs without activation, joined by residual adds (`a/s + b/s = (a + b)/s`), passed through
//! max / average pools. Each producer's output channel `c` (weights and bias) is divided by
//! `s_c`, each consumer conv's input channel `c` is multiplied by it: the float function is
//! unchanged, and channel `c` of every stream tensor now spans `r_c / s_c`. A stream that
//! reaches anything that cannot absorb `s` (an activation that clips at 6, a depthwise or dense
//! consumer, the graph's output, a saved tensor never added) is left as it is.

use tch::Tensor;

use super::float_exec::TchGraph;
use super::graph::{FloatGraph, FloatLayer};
use infer_core::Activation;

/// One stream: the layers that write it (their output channels are divided by `s`), the
/// layers that read it (their input channels are multiplied by `s`), and the layers whose
/// outputs are stream tensors (for the ranges).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    pub producers: Vec<usize>,
    pub consumers: Vec<usize>,
    pub tensors: Vec<usize>,
}

/// The streams of `graph` that can be rescaled exactly.
pub fn streams(graph: &FloatGraph) -> Vec<Stream> {
    let mut f = Finder {
        slots: vec![None; infer_core::MAX_SLOTS],
        saved_unused: vec![false; infer_core::MAX_SLOTS],
        ..Finder::default()
    };
    for (i, layer) in graph.layers.iter().enumerate() {
        let cur = f.current.map(|g| f.root(g));
        f.current = f.step(i, layer, cur);
    }
    // The graph's output, and tensors saved but never added, cannot be rescaled.
    if let Some(g) = f.current {
        f.disable(Some(g));
    }
    for s in 0..f.slots.len() {
        if f.saved_unused[s] {
            f.disable(f.slots[s]);
        }
    }
    let Finder { found, usable, parent, .. } = f;
    found
        .into_iter()
        .enumerate()
        .filter(|(g, s)| parent[*g] == *g && usable[*g] && !s.consumers.is_empty())
        .map(|(_, mut s)| {
            s.producers.sort_unstable();
            s.tensors.sort_unstable();
            s
        })
        .collect()
}

/// The walk over the layers behind [`streams`]: streams found so far (merged ones point to
/// their `parent`, a small union-find), which can still be rescaled, the stream of the current
/// tensor and of each saved slot, and whether a slot's tensor still waits for its add.
#[derive(Default)]
struct Finder {
    found: Vec<Stream>,
    usable: Vec<bool>,
    parent: Vec<usize>,
    current: Option<usize>,
    slots: Vec<Option<usize>>,
    saved_unused: Vec<bool>,
}

impl Finder {
    fn root(&self, mut g: usize) -> usize {
        while self.parent[g] != g {
            g = self.parent[g];
        }
        g
    }

    fn disable(&mut self, g: Option<usize>) {
        if let Some(g) = g {
            let r = self.root(g);
            self.usable[r] = false;
        }
    }

    /// Layer `i` reads the current tensor (of stream `cur`); returns the stream of its output.
    fn step(&mut self, i: usize, layer: &FloatLayer, cur: Option<usize>) -> Option<usize> {
        match layer {
            FloatLayer::Conv { activation, pool, .. } => {
                if let Some(g) = cur {
                    self.found[g].consumers.push(i);
                }
                (*activation == Activation::None && pool.is_none()).then(|| {
                    self.found.push(Stream { producers: vec![i], consumers: vec![], tensors: vec![i] });
                    self.usable.push(true);
                    self.parent.push(self.found.len() - 1);
                    self.found.len() - 1
                })
            }
            FloatLayer::Depthwise { .. } | FloatLayer::Dense { .. } => {
                self.disable(cur);
                None
            }
            FloatLayer::MaxPool(_) | FloatLayer::GlobalAvgPool => cur,
            FloatLayer::Save { slot } => {
                let s = usize::from(*slot);
                if self.saved_unused[s] {
                    self.disable(self.slots[s]);
                }
                self.slots[s] = cur;
                self.saved_unused[s] = true;
                cur
            }
            FloatLayer::Add { slot, activation } => {
                let s = usize::from(*slot);
                self.saved_unused[s] = false;
                let other = self.slots[s].map(|g| self.root(g));
                let (Some(a), Some(b)) = (cur, other) else {
                    self.disable(cur);
                    self.disable(other);
                    return None;
                };
                if a != b {
                    self.merge(a, b);
                }
                if *activation == Activation::None {
                    self.found[a].tensors.push(i);
                    Some(a)
                } else {
                    self.disable(Some(a));
                    None
                }
            }
        }
    }

    /// Stream `b` joins stream `a` (an add of the two must see one scale).
    fn merge(&mut self, a: usize, b: usize) {
        let moved = std::mem::take(&mut self.found[b]);
        self.found[a].producers.extend(moved.producers);
        self.found[a].consumers.extend(moved.consumers);
        self.found[a].tensors.extend(moved.tensors);
        self.usable[a] = self.usable[a] && self.usable[b];
        self.parent[b] = a;
    }
}

/// Per output channel, the largest |value| each layer with its own quantization produced on
/// the calibration `batches` (None for the other layers).
pub fn channel_absmax(
    graph: &FloatGraph,
    tg: &TchGraph<'_>,
    batches: impl Iterator<Item = Tensor>,
) -> Vec<Option<Vec<f32>>> {
    let mut out: Vec<Option<Vec<f32>>> = vec![None; graph.layers.len()];
    for pixels in batches {
        let _ = tg.run(&tg.input_from_pixels(&pixels), |i, y| {
            if !graph.layers[i].has_own_quant() {
                return;
            }
            let m = y.abs().amax([0i64, 2, 3].as_slice(), false);
            let m = Vec::<f32>::try_from(m).unwrap_or_default();
            let slot = out[i].get_or_insert_with(|| vec![0.0; m.len()]);
            slot.iter_mut().zip(&m).for_each(|(a, &b)| *a = a.max(b));
        });
    }
    out
}

/// Rescales every exact stream of `graph` so that channel `c` spans `r_c^(1−strength) ·
/// R^strength` (R: the stream's largest channel range; strength 1 equalizes fully, 0 leaves the
/// graph alone); `absmax` are the per-channel ranges [`channel_absmax`] observed. Channels
/// that were never nonzero keep scale 1. Returns the number of streams rescaled.
pub fn equalize(graph: &mut FloatGraph, absmax: &[Option<Vec<f32>>], strength: f64) -> usize {
    let mut rescaled = 0;
    for stream in streams(graph) {
        let Some(ranges) = stream_ranges(&stream, absmax) else { continue };
        let top = ranges.iter().copied().fold(0f32, f32::max);
        if top <= 0.0 {
            continue;
        }
        // Dividing channel c by s_c makes its range r_c / s_c = r_c^(1−strength) R^strength.
        let s: Vec<f32> = ranges
            .iter()
            .map(|&r| if r > 0.0 { (f64::from(r) / f64::from(top)).powf(strength) as f32 } else { 1.0 })
            .collect();
        for &p in &stream.producers {
            scale_outputs(&mut graph.layers[p], &s);
        }
        for &c in &stream.consumers {
            scale_inputs(&mut graph.layers[c], &s);
        }
        rescaled += 1;
    }
    rescaled
}

/// Channel-wise max over the stream's tensors, if all were observed with the same width.
fn stream_ranges(stream: &Stream, absmax: &[Option<Vec<f32>>]) -> Option<Vec<f32>> {
    let mut acc: Option<Vec<f32>> = None;
    for &t in &stream.tensors {
        let r = absmax.get(t)?.as_ref()?;
        match &mut acc {
            None => acc = Some(r.clone()),
            Some(a) if a.len() == r.len() => a.iter_mut().zip(r).for_each(|(x, &y)| *x = x.max(y)),
            Some(_) => return None,
        }
    }
    acc
}

/// Divides output channel `c` of a conv (weights OHWI, bias) by `s[c]`.
fn scale_outputs(layer: &mut FloatLayer, s: &[f32]) {
    if let FloatLayer::Conv { out_channels, weights, bias, .. } = layer {
        let per = weights.len() / (*out_channels).max(1);
        for (i, w) in weights.iter_mut().enumerate() {
            *w /= s[i / per];
        }
        bias.iter_mut().zip(s).for_each(|(b, &k)| *b /= k);
    }
}

/// Multiplies input channel `c` of a conv (weights OHWI: the innermost index) by `s[c]`.
fn scale_inputs(layer: &mut FloatLayer, s: &[f32]) {
    if let FloatLayer::Conv { weights, .. } = layer {
        let n = s.len();
        for (i, w) in weights.iter_mut().enumerate() {
            *w *= s[i % n];
        }
    }
}

#[cfg(test)]
mod tests;
