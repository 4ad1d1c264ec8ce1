//! Loading a blob into a plan: decode each layer record once, prepare it (validating every field)
//! and hand the resulting [`Step`] to the caller, while working out the arena layout.
//!
//! Arena layout (see README): `[ ping-pong region | slot 0 | slot 1 | … ]`. Each layer reads
//! its input from one end of the ping-pong region and writes its output at the other end, so
//! the region only has to hold the largest `input + output` pair of any layer. `Save` copies
//! the current tensor into a residual slot sized for the largest tensor saved there.

use crate::blob;
use crate::error::{Error, Problem};
use crate::prepare::{prepare, Kernel, MAX_SLOTS, MAX_TENSOR_LEN};
use crate::schema::{LayerDef, ModelHead, Shape, TensorSpec};
use crate::validate::{check_scale, check_shape};

/// Most layers a blob may hold.
pub const MAX_LAYERS: usize = 4096;

/// One entry of a model's plan: a prepared kernel and the element counts of the tensor it
/// consumes and the one it produces (for `Save`, the same tensor).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step<'a> {
    pub kernel: Kernel<'a>,
    pub in_len: usize,
    pub out_len: usize,
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
    pub pingpong_len: usize,
    /// Offset of each residual slot from the start of the arena.
    pub slot_offset: [usize; MAX_SLOTS],
    pub slot_len: [usize; MAX_SLOTS],
    pub arena_len: usize,
    pub macs: u64,
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
    let mut pingpong_len = head.input.shape.len();
    let mut slot_len = [0usize; MAX_SLOTS];
    let mut macs = 0u64;
    for index in 0..count {
        let (def, r) = postcard::take_from_bytes::<LayerDef<'a>>(rest)
            .map_err(|_| Error::Decode { part: "layer", layer: index })?;
        rest = r;
        let prep = prepare(index, &def, &cur, &saved)?;
        let (in_len, out_len) = (cur.shape.len(), prep.output.shape.len());
        match prep.kernel {
            Kernel::Save { slot } => {
                slot_len[slot] = slot_len[slot].max(in_len);
                saved[slot] = Some(cur);
            }
            ref k => {
                pingpong_len = pingpong_len.max(in_len + out_len);
                macs = macs.saturating_add(layer_macs(k));
            }
        }
        push(Step { kernel: prep.kernel, in_len, out_len })?;
        cur = prep.output;
    }
    if !rest.is_empty() {
        return Err(Error::TrailingBody(rest.len()));
    }
    check_output(&cur, &head.output)?;

    // Each tensor is <= 2^30 elements, so these sums cannot overflow even on 32-bit.
    let too_large = Error::Model { field: "arena", problem: Problem::TooLarge };
    let mut slot_offset = [0usize; MAX_SLOTS];
    let mut arena_len = pingpong_len;
    for (off, &len) in slot_offset.iter_mut().zip(&slot_len) {
        *off = arena_len;
        arena_len = arena_len.checked_add(len).ok_or(too_large)?;
    }
    if arena_len > 2 * MAX_TENSOR_LEN {
        return Err(too_large);
    }
    Ok(Layout {
        input: head.input,
        output: head.output,
        layers,
        layer_count: count,
        pingpong_len,
        slot_offset,
        slot_len,
        arena_len,
        macs,
    })
}
