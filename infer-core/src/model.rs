//! A loaded model: validated and prepared once by [`ModelN::from_bytes`] into a plan of
//! kernels with precomputed parameters, then run any number of times in a caller-provided
//! arena. Running only dispatches over the plan: it decodes nothing and prepares nothing, so
//! its only errors are the caller's ([`RunError`]).

use crate::error::{Error, RunError};
use crate::ops::{add, conv2d, dense, depthwise, global_avg_pool, max_pool, requantize};
use crate::output::Output;
use crate::plan::{load, Layout, Step};
use crate::prepare::{Kernel, MAX_SLOTS};
use crate::schema::{LayerDef, Shape, TensorSpec};

/// Plan capacity of [`Model`]: room for MobileNetV2 (74 layers in the committed blobs, `Save`
/// and `Add` included) with margin.
pub const DEFAULT_CAPACITY: usize = 128;

/// A model whose plan holds up to [`DEFAULT_CAPACITY`] layers; `Model::from_bytes(&blob)`
/// needs no type annotation. Firmware that wants a smaller plan uses [`ModelN`] directly.
pub type Model<'a> = ModelN<'a, DEFAULT_CAPACITY>;

/// A validated model whose weights are borrowed from the blob, with a plan of up to `N`
/// prepared layers stored inline (no heap).
///
/// Memory: `104 + 140 · N` bytes on 32-bit targets (Cortex-M) and `152 + 264 · N` bytes on
/// 64-bit hosts: one plan step (a prepared kernel's parameters: geometry, zero points, clamp,
/// and slices into the blob's weights and per-channel data) for every one of the `N` entries,
/// used or not, plus the declarations and arena layout. [`Model`] (N = 128) is thus 18,024
/// bytes on an MCU (and lives wherever the caller puts it: on the stack after `from_bytes`,
/// or in a `static`); firmware that knows its blob picks `N` = its layer count (see
/// [`crate::Sizing`]): 7 for the seed CNN (1,084 bytes), 74 for MobileNetV2 (10,464 bytes).
/// `core::mem::size_of::<ModelN<'static, N>>()` gives the figure for any `N`. A blob with more
/// than `N` layers is [`Error::TooManyLayers`] at load.
#[derive(Clone, Debug)]
pub struct ModelN<'a, const N: usize> {
    layout: Layout<'a>,
    plan: heapless::Vec<Step<'a>, N>,
}

impl<'a, const N: usize> ModelN<'a, N> {
    /// Most layers this model type can hold.
    pub const CAPACITY: usize = N;

    /// Validate a blob completely (header, CRC, version, every layer's shapes, slice lengths,
    /// zero points, multipliers, shifts, accumulator bounds, layer chaining, declared output,
    /// arena size), prepare every layer's kernel parameters once, and keep the blob borrowed.
    /// After this, running cannot fail except for the caller's input or arena, and cannot
    /// overflow or index out of bounds.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut plan = heapless::Vec::new();
        let layout = load(bytes, N, |step| {
            plan.push(step).map_err(|_| Error::TooManyLayers { layers: plan.len() + 1, capacity: N })
        })?;
        Ok(ModelN { layout, plan })
    }

    /// Bytes of arena [`ModelN::run`] needs. To size a `static` arena at compile time, compute
    /// it on the host in a build script with [`crate::Sizing`].
    pub fn arena_len(&self) -> usize {
        self.layout.arena_len
    }

    /// Input shape (NHWC, batch 1).
    pub fn input_shape(&self) -> Shape {
        self.layout.input.shape
    }

    /// Input tensor declaration (shape, scale, zero point).
    pub fn input_spec(&self) -> TensorSpec {
        self.layout.input
    }

    /// Output tensor declaration.
    pub fn output_spec(&self) -> TensorSpec {
        self.layout.output
    }

    /// Number of layers.
    pub fn layer_count(&self) -> usize {
        self.layout.layer_count
    }

    /// Multiply-accumulates per inference (convolutions and dense layers; a fused pool
    /// recomputes the conv at each of its window's positions).
    pub fn macs(&self) -> u64 {
        self.layout.macs
    }

    /// Bytes of the ping-pong region and of each residual slot (arena accounting).
    pub fn arena_parts(&self) -> (usize, [usize; MAX_SLOTS]) {
        (self.layout.pingpong_len, self.layout.slot_len)
    }

    /// The layer definitions, decoded from the blob again (host tools, tests; `run` does not
    /// use them).
    pub fn layers(&self) -> impl Iterator<Item = LayerDef<'a>> + 'a {
        let mut rest = self.layout.layers;
        (0..self.layout.layer_count).map_while(move |_| {
            let (def, r) = postcard::take_from_bytes::<LayerDef<'a>>(rest).ok()?;
            rest = r;
            Some(def)
        })
    }

    /// Run on int8 input values (NHWC, already quantized with the input's scale/zero point).
    pub fn run<'r>(&self, input: &[i8], arena: &'r mut [u8]) -> Result<Output<'r>, RunError> {
        self.check_input(input.len())?;
        self.run_with(arena, |dst| dst.iter_mut().zip(input).for_each(|(d, &s)| *d = s as u8))
    }

    /// Run on 8-bit pixels, feeding `q = pixel − 128` (NHWC, one byte per value).
    ///
    /// That is the input every blob the trainer writes expects (the model card's
    /// preprocessing): the seed CNN declares scale 1/255, zero point −128 (real = pixel / 255)
    /// and MobileNetV2 scale 2/255, zero point 0 (real = (pixel − 128) · 2/255, i.e. its
    /// [−1, 1] normalisation); both quantize a pixel to `pixel − 128`. For any other input
    /// convention, quantize yourself and call [`ModelN::run`].
    pub fn run_u8<'r>(&self, pixels: &[u8], arena: &'r mut [u8]) -> Result<Output<'r>, RunError> {
        self.check_input(pixels.len())?;
        self.run_with(arena, |dst| dst.iter_mut().zip(pixels).for_each(|(d, &p)| *d = p ^ 0x80))
    }

    fn check_input(&self, got: usize) -> Result<(), RunError> {
        let expected = self.layout.input.shape.len();
        if got == expected {
            Ok(())
        } else {
            Err(RunError::InputLength { expected, got })
        }
    }

    fn run_with<'r>(
        &self,
        arena: &'r mut [u8],
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Output<'r>, RunError> {
        let l = &self.layout;
        let got = arena.len();
        let arena =
            arena.get_mut(..l.arena_len).ok_or(RunError::ArenaTooSmall { needed: l.arena_len, got })?;
        let (pp, slots) = arena.split_at_mut(l.pingpong_len);
        let n = pp.len();
        fill(&mut pp[..l.input.shape.len()]);
        // `front`: the current tensor starts at pp[0]; otherwise it ends at pp[n].
        let mut front = true;
        for step in &self.plan {
            let (in_len, out_len) = (step.in_len, step.out_len);
            if let Kernel::Save { slot } = step.kernel {
                let src = if front { &pp[..in_len] } else { &pp[n - in_len..] };
                slots[l.slot_offset[slot] - n..][..in_len].copy_from_slice(src);
                continue;
            }
            // in_len + out_len <= n for every layer (proven at load), so these never overlap.
            let (src, dst): (&[u8], &mut [u8]) = if front {
                let (a, b) = pp.split_at_mut(n - out_len);
                (&a[..in_len], b)
            } else {
                let (a, b) = pp.split_at_mut(out_len);
                (&b[b.len() - in_len..], a)
            };
            self.execute(&step.kernel, src, dst, slots);
            front = !front;
        }
        // The last step's output is the declared output (checked at load).
        let len = l.output.shape.len();
        let pp: &'r [u8] = pp;
        let data = if front { &pp[..len] } else { &pp[n - len..] };
        Ok(Output { data, spec: l.output })
    }

    /// Dispatch one kernel; `slots` is the arena after the ping-pong region.
    fn execute(&self, kernel: &Kernel<'_>, src: &[u8], dst: &mut [u8], slots: &[u8]) {
        match kernel {
            Kernel::Conv2d(p) => conv2d::conv2d(p, src, dst),
            Kernel::Depthwise(p) => depthwise::depthwise(p, src, dst),
            Kernel::MaxPool { input, geom } => max_pool::max_pool(input, geom, src, dst),
            Kernel::GlobalAvgPool { input } => global_avg_pool::global_avg_pool(input, src, dst),
            Kernel::Dense(p) => dense::dense(p, src, dst),
            Kernel::Add { slot, params } => {
                let saved = &slots[self.layout.slot_offset[*slot] - self.layout.pingpong_len..][..src.len()];
                add::add(params, src, saved, &mut dst[..src.len()]);
            }
            Kernel::Requantize(p) => requantize::requantize(p, src, &mut dst[..src.len()]),
            Kernel::Save { .. } => {}
        }
    }
}

// The 32-bit figures documented on `ModelN`, checked whenever the crate is built for an MCU.
#[cfg(target_pointer_width = "32")]
const _: () = assert!(
    core::mem::size_of::<Step<'static>>() == 140 && core::mem::size_of::<ModelN<'static, 0>>() == 104
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory figures in [`ModelN`]'s documentation.
    #[test]
    fn plan_step_size() {
        let step = core::mem::size_of::<Step<'static>>();
        let model = core::mem::size_of::<Model<'static>>();
        let empty = core::mem::size_of::<ModelN<'static, 0>>();
        std::println!("step {step} bytes, Model {model} bytes, ModelN<0> {empty} bytes");
        #[cfg(target_pointer_width = "64")]
        assert_eq!((step, empty), (264, 152));
        assert_eq!(model, empty + DEFAULT_CAPACITY * step);
    }
}
