//! Loading a blob into a plan: decode each layer record once, prepare it (validating every field)
//! and hand the resulting [`Step`] to the caller, while working out the arena layout.
//!
//! Arena layout (see README): `[ ping-pong region | slot 0 | slot 1 | … ]`. Each layer reads
//! its input from one end of the ping-pong region and writes its output at the other end, so
//! the region only has to hold the largest `input + output` pair of any layer. `Save` copies
//! the current tensor into a residual slot sized for the largest tensor saved there.

use crate::blob;
use crate::error::{Error, Problem};
use crate::ops::Dims;
use crate::prepare::{prepare, Kernel, MAX_SLOTS, MAX_TENSOR_LEN};
use crate::schema::{LayerDef, ModelHead, Shape, TensorSpec};
use crate::validate::{check_scale, check_shape};

/// Most layers a blob may hold.
pub const MAX_LAYERS: usize = 4096;

/// `Step::src` of a layer that reads the model input.
pub(crate) const INPUT: u16 = u16::MAX;

/// One entry of a model's plan: a prepared kernel, the element counts of the tensor it
/// consumes and the one it produces (for `Save`, the same tensor), and the data flow the
/// row-streamed run needs (`crate::stream`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step<'a> {
    pub kernel: Kernel<'a>,
    pub in_len: usize,
    pub out_len: usize,
    /// Shape of the tensor this step produces (for `Save`, the tensor it saves).
    pub out: Dims,
    /// The step whose output this step reads ([`INPUT`]: the model input); for `Save`, the
    /// step whose output it saves.
    pub src: u16,
    /// `Add`: the step whose output the slot holds ([`INPUT`] otherwise, or for the input).
    pub src2: u16,
    /// Where this step's rows live in a streamed run (set by `crate::stream::plan`).
    pub rows: RowBuf,
}

/// A streamed step's row buffer: its offset in the arena, the most rows it holds, and the
/// (at most two) steps that read its rows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RowBuf {
    pub offset: u32,
    pub capacity: u16,
    pub readers: [u16; 2],
}

/// Arena layout of a run over a run of steps without streaming: `[ ping-pong | slots … ]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    pub pingpong_len: usize,
    /// Offset of each residual slot from the start of the arena.
    pub slot_offset: [usize; MAX_SLOTS],
    pub slot_len: [usize; MAX_SLOTS],
    pub arena_len: usize,
}

impl Region {
    /// The region of a model with nothing loaded.
    pub const EMPTY: Region =
        Region { pingpong_len: 0, slot_offset: [0; MAX_SLOTS], slot_len: [0; MAX_SLOTS], arena_len: 0 };
}

/// Builds a [`Region`] step by step: the ping-pong region holds the largest `input + output`
/// pair, each slot the largest tensor saved in it.
pub(crate) struct RegionBuilder {
    pingpong_len: usize,
    slot_len: [usize; MAX_SLOTS],
}

impl RegionBuilder {
    /// A region whose first tensor has `first_len` elements.
    pub fn new(first_len: usize) -> Self {
        RegionBuilder { pingpong_len: first_len, slot_len: [0; MAX_SLOTS] }
    }

    pub fn add(&mut self, kernel: &Kernel<'_>, in_len: usize, out_len: usize) {
        match kernel {
            Kernel::Save { slot } => self.slot_len[*slot] = self.slot_len[*slot].max(in_len),
            _ => self.pingpong_len = self.pingpong_len.max(in_len + out_len),
        }
    }

    pub fn finish(self) -> Result<Region, Error> {
        // Each tensor is <= 2^30 elements, so these sums cannot overflow even on 32-bit.
        let too_large = Error::Model { field: "arena", problem: Problem::TooLarge };
        let mut slot_offset = [0usize; MAX_SLOTS];
        let mut arena_len = self.pingpong_len;
        for (off, &len) in slot_offset.iter_mut().zip(&self.slot_len) {
            *off = arena_len;
            arena_len = arena_len.checked_add(len).ok_or(too_large)?;
        }
        if arena_len > 2 * MAX_TENSOR_LEN {
            return Err(too_large);
        }
        Ok(Region { pingpong_len: self.pingpong_len, slot_offset, slot_len: self.slot_len, arena_len })
    }
}

/// Everything about a validated blob except its plan: declarations, where the layer records
/// lie (for [`crate::Model::layers`]), the arena layout and the MAC count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout<'a> {
    pub input: TensorSpec,
    pub output: TensorSpec,
    /// Postcard-encoded layer records, proven decodable.
    pub layers: &'a [u8],
    pub layer_count: usize,
    /// The arena of a run without streaming.
    pub region: Region,
    pub macs: u64,
}

impl Layout<'_> {
    /// The layout of a model with nothing loaded (no layers, empty tensors).
    pub const EMPTY: Self = {
        let spec = TensorSpec { shape: Shape { h: 0, w: 0, c: 0 }, quant: crate::schema::Quant { scale: 1.0, zero_point: 0 } };
        Layout { input: spec, output: spec, layers: &[], layer_count: 0, region: Region::EMPTY, macs: 0 }
    };
}

fn check_spec(field: &'static str, spec: &TensorSpec) -> Result<(), Error> {
    check_shape(&spec.shape).map_err(|problem| Error::Model { field, problem })?;
    check_scale(spec.quant.scale).map_err(|problem| Error::Model { field, problem })
}

/// Multiply-accumulates of one prepared layer (for throughput figures; saturating).
fn layer_macs(k: &Kernel<'_>) -> u64 {
    let product = |xs: &[usize]| xs.iter().fold(1u64, |acc, &x| acc.saturating_mul(x as u64));
    match k {
        Kernel::Conv2d(p) => {
            let per_pool = p.pool.map_or(1, |q| q.kh * q.kw);
            product(&[p.output().h, p.output().w, per_pool, p.out_c, p.conv.kh, p.conv.kw, p.input.c])
        }
        Kernel::Depthwise(p) => product(&[p.output().h, p.output().w, p.output().c, p.geom.kh, p.geom.kw]),
        Kernel::Dense(p) => product(&[p.in_features, p.out_features]),
        _ => 0,
    }
}

/// Decode the header and the layer count; `capacity` is the most layers the caller can hold.
fn open(bytes: &[u8], capacity: usize) -> Result<(ModelHead, usize, &[u8]), Error> {
    let body = blob::open(bytes)?;
    let (head, rest) = postcard::take_from_bytes::<ModelHead>(body)
        .map_err(|_| Error::Decode { part: "model header", layer: 0 })?;
    // Postcard writes a sequence length as a varint, the same bytes as a u32 varint.
    let (count, layers) = postcard::take_from_bytes::<u32>(rest)
        .map_err(|_| Error::Decode { part: "layer count", layer: 0 })?;
    let count = count as usize;
    check_spec("input", &head.input)?;
    check_spec("output", &head.output)?;
    if !(1..=MAX_LAYERS).contains(&count) {
        let problem = Problem::OutOfRange { value: count as i64, min: 1, max: MAX_LAYERS as i64 };
        return Err(Error::Model { field: "layers", problem });
    }
    if count > capacity {
        return Err(Error::TooManyLayers { layers: count, capacity });
    }
    Ok((head, count, layers))
}

/// The last tensor must be the declared output, bit for bit.
fn check_output(last: &TensorSpec, declared: &TensorSpec) -> Result<(), Error> {
    if last.shape != declared.shape {
        let t = |s: Shape| (s.h, s.w, s.c);
        let problem = Problem::ShapeMismatch { expected: t(last.shape), got: t(declared.shape) };
        return Err(Error::Model { field: "output", problem });
    }
    if last.quant.scale.to_bits() != declared.quant.scale.to_bits()
        || last.quant.zero_point != declared.quant.zero_point
    {
        return Err(Error::Model { field: "output", problem: Problem::QuantMismatch });
    }
    Ok(())
}

/// Validate a blob completely (header, CRC, version, every layer's shapes, slice lengths, zero
/// points, multipliers, shifts, accumulator bounds, layer chaining, declared output, arena
/// size), calling `push` with each layer's step in order. A blob with more than `capacity`
/// layers is [`Error::TooManyLayers`] before any layer is decoded.
pub(crate) fn load<'a>(
    bytes: &'a [u8],
    capacity: usize,
    mut push: impl FnMut(Step<'a>) -> Result<(), Error>,
) -> Result<Layout<'a>, Error> {
    let (head, count, layers) = open(bytes, capacity)?;
    let mut rest = layers;
    let mut cur = head.input;
    let mut saved = [None; MAX_SLOTS];
    let mut region = RegionBuilder::new(head.input.shape.len());
    let mut macs = 0u64;
    // Data flow: the step producing the current tensor and each slot's tensor.
    let (mut cur_src, mut slot_src) = (INPUT, [INPUT; MAX_SLOTS]);
    for index in 0..count {
        let (def, r) = postcard::take_from_bytes::<LayerDef<'a>>(rest)
            .map_err(|_| Error::Decode { part: "layer", layer: index })?;
        rest = r;
        let prep = prepare(index, &def, &cur, &saved)?;
        let (in_len, out_len) = (cur.shape.len(), prep.output.shape.len());
        region.add(&prep.kernel, in_len, out_len);
        macs = macs.saturating_add(layer_macs(&prep.kernel));
        let (src, mut src2) = (cur_src, INPUT);
        match prep.kernel {
            Kernel::Save { slot } => {
                saved[slot] = Some(cur);
                slot_src[slot] = cur_src;
            }
            Kernel::Add { slot, .. } => {
                src2 = slot_src[slot];
                cur_src = index as u16; // index < MAX_LAYERS = 4096
            }
            _ => cur_src = index as u16,
        }
        let s = prep.output.shape;
        let out = Dims { h: usize::from(s.h), w: usize::from(s.w), c: usize::from(s.c) };
        push(Step { kernel: prep.kernel, in_len, out_len, out, src, src2, rows: RowBuf::default() })?;
        cur = prep.output;
    }
    if !rest.is_empty() {
        return Err(Error::TrailingBody(rest.len()));
    }
    check_output(&cur, &head.output)?;
    Ok(Layout {
        input: head.input,
        output: head.output,
        layers,
        layer_count: count,
        region: region.finish()?,
        macs,
    })
}

/// Validate a blob as [`load`] does, keeping nothing (any layer count up to [`MAX_LAYERS`]).
pub(crate) fn validate(bytes: &[u8]) -> Result<(), Error> {
    load(bytes, MAX_LAYERS, |_| Ok(())).map(|_| ())
}
