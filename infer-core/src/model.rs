//! A loaded model: validated and prepared once by [`ModelN::from_bytes`] into a plan of
//! kernels with precomputed parameters, then run any number of times in a caller-provided
//! arena. Running only dispatches over the plan: it decodes nothing and prepares nothing, so
//! its only errors are the caller's ([`RunError`]).

use crate::error::{Error, RunError};
use crate::ops::{
    add, avg_pool, conv2d, dense, depthwise, global_avg_pool, logistic, max_pool, mean, requantize,
    softmax,
};
use crate::output::Output;
use crate::ops::Dims;
use crate::plan::{load, Layout, Region, Step};
use crate::prepare::{Kernel, MAX_SLOTS};
use crate::schema::{LayerDef, Shape, TensorSpec};
use crate::stream::{self, Cursor, Streamed};

/// Plan capacity of [`Model`]: room for MobileNetV2 (74 layers in the committed blobs, `Save`
/// and `Add` included) with margin.
pub const DEFAULT_CAPACITY: usize = 128;

/// A model whose plan holds up to [`DEFAULT_CAPACITY`] layers; `Model::from_bytes(&blob)`
/// needs no type annotation. Firmware that wants a smaller plan uses [`ModelN`] directly.
pub type Model<'a> = ModelN<'a, DEFAULT_CAPACITY>;

/// A validated model whose weights are borrowed from the blob, with a plan of up to `N`
/// prepared layers stored inline (no heap).
///
/// Memory: `160 + 168 · N` bytes on 32-bit targets (Cortex-M) and `264 + 304 · N` bytes on
/// 64-bit hosts: one plan step (a prepared kernel's parameters: geometry, zero points, clamp,
/// slices into the blob's weights and per-channel data, and its place in a streamed run) for
/// every one of the `N` entries, used or not, plus the declarations and both arena layouts.
/// [`Model`] (N = 128) is thus 21,664 bytes on an MCU (and lives wherever the caller puts it:
/// on the stack after `from_bytes`, or in a `static`); firmware that knows its blob picks `N` =
/// its layer count (see [`crate::Sizing`]): 7 for the seed CNN (1,336 bytes), 74 for
/// MobileNetV2 (12,592 bytes). A run also keeps 6 bytes per plan entry on the stack (the row
/// cursors of a streamed run).
/// `core::mem::size_of::<ModelN<'static, N>>()` gives the figure for any `N`. A blob with more
/// than `N` layers is [`Error::TooManyLayers`] at load.
#[derive(Clone, Debug)]
pub struct ModelN<'a, const N: usize> {
    layout: Layout<'a>,
    streamed: Streamed,
    plan: heapless::Vec<Step<'a>, N>,
}

impl<'a, const N: usize> ModelN<'a, N> {
    /// Most layers this model type can hold.
    pub const CAPACITY: usize = N;

    /// A model with nothing loaded, to [`ModelN::load`] a blob into where it lies: a `static`
    /// on an MCU, so the plan never passes through the stack. Running it gives an empty output.
    pub const EMPTY: Self = ModelN { layout: Layout::EMPTY, streamed: Streamed::none(Region::EMPTY), plan: heapless::Vec::new() };

    /// Validate a blob completely (header, CRC, version, every layer's shapes, slice lengths,
    /// zero points, multipliers, shifts, accumulator bounds, layer chaining, declared output,
    /// arena size), prepare every layer's kernel parameters once, plan the row-streamed run
    /// (where it stops, each row buffer's size and place; see [`ModelN::run_streamed`]), and
    /// keep the blob borrowed. After this, running cannot fail except for the caller's input or
    /// arena, and cannot overflow or index out of bounds.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut model = Self::EMPTY;
        model.load(bytes)?;
        Ok(model)
    }

    /// [`ModelN::from_bytes`] into this model, replacing what it held. On an error the model is
    /// left empty ([`ModelN::EMPTY`]).
    pub fn load(&mut self, bytes: &'a [u8]) -> Result<(), Error> {
        let (layout, streamed) = (&mut self.layout, &mut self.streamed);
        *layout = Layout::EMPTY;
        *streamed = Streamed::none(Region::EMPTY);
        let plan = &mut self.plan;
        plan.clear();
        let loaded = load(bytes, N, |step| {
            plan.push(step).map_err(|_| Error::TooManyLayers { layers: plan.len() + 1, capacity: N })
        })
        .and_then(|loaded| {
            let input = dims(loaded.input.shape);
            let s = stream::plan(plan, input, &loaded.region, &mut [Cursor::default(); N])?;
            Ok((loaded, s))
        });
        match loaded {
            Ok((l, s)) => {
                (*layout, *streamed) = (l, s);
                Ok(())
            }
            Err(e) => {
                plan.clear();
                Err(e)
            }
        }
    }

    /// Bytes of arena [`ModelN::run`] needs. To size a `static` arena at compile time, compute
    /// it on the host in a build script with [`crate::Sizing`].
    pub fn arena_len(&self) -> usize {
        self.layout.region.arena_len
    }

    /// Bytes of arena [`ModelN::run_streamed`] needs (at most [`ModelN::arena_len`]).
    pub fn streamed_arena_len(&self) -> usize {
        self.streamed.arena_len
    }

    /// Layers the streamed run computes row by row (the rest run layer by layer; 0 when
    /// streaming would not save memory).
    pub fn streamed_layers(&self) -> usize {
        self.streamed.end
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
        (self.layout.region.pingpong_len, self.layout.region.slot_len)
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
        self.run_with(arena, false, |dst| dst.iter_mut().zip(input).for_each(|(d, &s)| *d = s as u8))
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
        self.run_with(arena, false, |dst| dst.iter_mut().zip(pixels).for_each(|(d, &p)| *d = p ^ 0x80))
    }

    /// [`ModelN::run`] in [`ModelN::streamed_arena_len`] bytes: the first layers compute one
    /// row at a time (see the README, "Streaming"), so their full-resolution tensors never
    /// exist. Same output bytes; a little slower (rows are moved within their buffers).
    pub fn run_streamed<'r>(&self, input: &[i8], arena: &'r mut [u8]) -> Result<Output<'r>, RunError> {
        self.check_input(input.len())?;
        self.run_with(arena, true, |dst| dst.iter_mut().zip(input).for_each(|(d, &s)| *d = s as u8))
    }

    /// [`ModelN::run_u8`] in [`ModelN::streamed_arena_len`] bytes (see [`ModelN::run_streamed`]).
    pub fn run_u8_streamed<'r>(&self, pixels: &[u8], arena: &'r mut [u8]) -> Result<Output<'r>, RunError> {
        self.check_input(pixels.len())?;
        self.run_with(arena, true, |dst| dst.iter_mut().zip(pixels).for_each(|(d, &p)| *d = p ^ 0x80))
    }

    /// The bytes of `arena` where a streamed run takes its input (`input_shape().len()` of
    /// them). Writing the pixels there (straight from a file, a camera, a host link) and then
    /// calling [`ModelN::run_u8_streamed_in_place`] spares the caller an input buffer of its
    /// own: on the MCU, a whole image of RAM.
    pub fn streamed_input<'r>(&self, arena: &'r mut [u8]) -> Result<&'r mut [u8], RunError> {
        let (needed, got) = (self.streamed.arena_len, arena.len());
        let at = if self.streamed.end > 0 { self.streamed.input_offset } else { 0 };
        let arena = arena.get_mut(..needed).ok_or(RunError::ArenaTooSmall { needed, got })?;
        Ok(&mut arena[at..][..self.layout.input.shape.len()])
    }

    /// [`ModelN::run_u8_streamed`] on the 8-bit pixels already written to
    /// [`ModelN::streamed_input`] (they are turned into `pixel − 128` where they lie).
    pub fn run_u8_streamed_in_place<'r>(&self, arena: &'r mut [u8]) -> Result<Output<'r>, RunError> {
        self.run_with(arena, true, |input| input.iter_mut().for_each(|p| *p ^= 0x80))
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
        streamed: bool,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Output<'r>, RunError> {
        let s = &self.streamed;
        let streamed = streamed && s.end > 0;
        let needed = if streamed { s.arena_len } else { self.layout.region.arena_len };
        let got = arena.len();
        let arena = arena.get_mut(..needed).ok_or(RunError::ArenaTooSmall { needed, got })?;
        let input_len = self.layout.input.shape.len();
        if !streamed {
            fill(&mut arena[..input_len]);
            return Ok(self.run_layers(arena, &self.layout.region, &self.plan));
        }
        fill(&mut arena[s.input_offset..][..input_len]);
        let input = dims(self.layout.input.shape);
        stream::run(&self.plan, s, input, arena, &mut [Cursor::default(); N]);
        Ok(self.run_layers(arena, &s.rest, &self.plan[s.end..]))
    }

    /// Run `steps` layer by layer in `region`, their input at the start of the ping-pong region.
    fn run_layers<'r>(&self, arena: &'r mut [u8], region: &Region, steps: &[Step<'a>]) -> Output<'r> {
        let (pp, slots) = arena[..region.arena_len].split_at_mut(region.pingpong_len);
        let n = pp.len();
        // `front`: the current tensor starts at pp[0]; otherwise it ends at pp[n].
        let mut front = true;
        for step in steps {
            let (in_len, out_len) = (step.in_len, step.out_len);
            if let Kernel::Save { slot } = step.kernel {
                let src = if front { &pp[..in_len] } else { &pp[n - in_len..] };
                slots[region.slot_offset[slot] - n..][..in_len].copy_from_slice(src);
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
            execute(&step.kernel, src, dst, slots, region);
            front = !front;
        }
        // The last step's output is the declared output (checked at load).
        let len = self.layout.output.shape.len();
        let pp: &'r [u8] = pp;
        let data = if front { &pp[..len] } else { &pp[n - len..] };
        Output { data, spec: self.layout.output }
    }
}

/// A tensor shape as kernel dimensions.
fn dims(s: Shape) -> Dims {
    Dims { h: usize::from(s.h), w: usize::from(s.w), c: usize::from(s.c) }
}

/// Dispatch one kernel; `slots` is the arena after `region`'s ping-pong region.
fn execute(kernel: &Kernel<'_>, src: &[u8], dst: &mut [u8], slots: &[u8], region: &Region) {
    match kernel {
        Kernel::Conv2d(p) => conv2d::conv2d(p, src, dst),
        Kernel::Depthwise(p) => depthwise::depthwise(p, src, dst),
        Kernel::MaxPool { input, geom } => max_pool::max_pool(input, geom, src, dst),
        Kernel::GlobalAvgPool { input } => global_avg_pool::global_avg_pool(input, src, dst),
        Kernel::Dense(p) => dense::dense(p, src, dst),
        Kernel::Add { slot, params } => {
            let saved = &slots[region.slot_offset[*slot] - region.pingpong_len..][..src.len()];
            add::add(params, src, saved, &mut dst[..src.len()]);
        }
        Kernel::Requantize(p) => requantize::requantize(p, src, &mut dst[..src.len()]),
        Kernel::Mean(p) => mean::mean(p, src, dst),
        Kernel::Softmax(p) => softmax::softmax(p, src, &mut dst[..src.len()]),
        Kernel::Logistic { table } => logistic::logistic(table, src, &mut dst[..src.len()]),
        Kernel::AvgPool { input, geom, act_min, act_max } => {
            avg_pool::avg_pool(input, geom, (*act_min, *act_max), src, dst)
        }
        Kernel::Save { .. } => {}
    }
}

// The 32-bit figures documented on `ModelN`, checked whenever the crate is built for an MCU.
#[cfg(target_pointer_width = "32")]
const _: () = assert!(
    core::mem::size_of::<Step<'static>>() == 168 && core::mem::size_of::<ModelN<'static, 0>>() == 160
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
        assert_eq!((step, empty), (304, 264));
        assert_eq!(model, empty + DEFAULT_CAPACITY * step);
    }
}
