//! A loaded model: validated once by [`Model::from_bytes`], then run any number of times in a
//! caller-provided arena.
//!
//! Arena layout (see README): `[ ping-pong region | slot 0 | slot 1 | … ]`. Each layer reads
//! its input from one end of the ping-pong region and writes its output at the other end, so
//! the region only has to hold the largest `input + output` pair of any layer. `Save` copies
//! the current tensor into a residual slot sized for the largest tensor saved there.

use crate::blob;
use crate::error::{Error, Problem};
use crate::ops::{add, conv2d, dense, depthwise, global_avg_pool, max_pool, requantize};
use crate::output::Output;
use crate::prepare::{prepare, Kernel, Prepared, MAX_SLOTS, MAX_TENSOR_LEN};
use crate::schema::{LayerDef, ModelHead, Shape, TensorSpec};
use crate::validate::{check_scale, check_shape};

/// Most layers a blob may hold.
pub const MAX_LAYERS: usize = 4096;

/// A validated model whose weights are borrowed from the blob.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    input: TensorSpec,
    output: TensorSpec,
    /// Postcard-encoded layer records (decoded lazily; proven decodable at load).
    layers: &'a [u8],
    layer_count: usize,
    pingpong_len: usize,
    slot_offset: [usize; MAX_SLOTS],
    slot_len: [usize; MAX_SLOTS],
    arena_len: usize,
    macs: u64,
}

/// Decode and prepare each layer in turn, calling `visit(prepared, input_spec)`; returns the
/// final tensor and the bytes after the last layer.
fn walk<'a>(
    mut rest: &'a [u8],
    count: usize,
    input: TensorSpec,
    deep: bool,
    mut visit: impl FnMut(&Prepared<'a>, &TensorSpec) -> Result<(), Error>,
) -> Result<(TensorSpec, &'a [u8]), Error> {
    let mut cur = input;
    let mut slots = [None; MAX_SLOTS];
    for index in 0..count {
        let (def, r) = postcard::take_from_bytes::<LayerDef<'a>>(rest)
            .map_err(|_| Error::Decode { part: "layer", layer: index })?;
        rest = r;
        let prep = prepare(index, &def, &cur, &slots, deep)?;
        visit(&prep, &cur)?;
        if let Kernel::Save { slot } = prep.kernel {
            slots[slot] = Some(cur);
        }
        cur = prep.output;
    }
    Ok((cur, rest))
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

impl<'a> Model<'a> {
    /// Validate a blob completely (header, CRC, version, every layer's shapes, slice lengths,
    /// zero points, multipliers, shifts, accumulator bounds, layer chaining, declared output,
    /// arena size) and keep it borrowed. After this, running cannot overflow or index out of
    /// bounds.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
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

        let too_large = Error::Model { field: "arena", problem: Problem::TooLarge };
        let mut pingpong_len = head.input.shape.len();
        let mut slot_len = [0usize; MAX_SLOTS];
        let mut macs = 0u64;
        let (last, trailing) = walk(layers, count, head.input, true, |prep, input| {
            let in_len = input.shape.len();
            match prep.kernel {
                Kernel::Save { slot } => slot_len[slot] = slot_len[slot].max(in_len),
                ref k => {
                    pingpong_len = pingpong_len.max(in_len + prep.output.shape.len());
                    macs = macs.saturating_add(layer_macs(k));
                }
            }
            Ok(())
        })?;
        if !trailing.is_empty() {
            return Err(Error::TrailingBody(trailing.len()));
        }
        if last.shape != head.output.shape {
            let t = |s: Shape| (s.h, s.w, s.c);
            let problem = Problem::ShapeMismatch { expected: t(last.shape), got: t(head.output.shape) };
            return Err(Error::Model { field: "output", problem });
        }
        if last.quant.scale.to_bits() != head.output.quant.scale.to_bits()
            || last.quant.zero_point != head.output.quant.zero_point
        {
            return Err(Error::Model { field: "output", problem: Problem::QuantMismatch });
        }

        // Each tensor is <= 2^30 elements, so these sums cannot overflow even on 32-bit.
        let mut slot_offset = [0usize; MAX_SLOTS];
        let mut arena_len = pingpong_len;
        for (off, &len) in slot_offset.iter_mut().zip(&slot_len) {
            *off = arena_len;
            arena_len = arena_len.checked_add(len).ok_or(too_large)?;
        }
        if arena_len > 2 * MAX_TENSOR_LEN {
            return Err(too_large);
        }
        Ok(Model {
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

    /// Bytes of arena [`Model::run`] needs.
    pub fn arena_len(&self) -> usize {
        self.arena_len
    }

    /// Input shape (NHWC, batch 1).
    pub fn input_shape(&self) -> Shape {
        self.input.shape
    }

    /// Input tensor declaration (shape, scale, zero point).
    pub fn input_spec(&self) -> TensorSpec {
        self.input
    }

    /// Output tensor declaration.
    pub fn output_spec(&self) -> TensorSpec {
        self.output
    }

    /// Number of layers.
    pub fn layer_count(&self) -> usize {
        self.layer_count
    }

    /// Multiply-accumulates per inference (convolutions and dense layers; a fused pool
    /// recomputes the conv at each of its window's positions).
    pub fn macs(&self) -> u64 {
        self.macs
    }

    /// Bytes of the ping-pong region and of each residual slot (arena accounting).
    pub fn arena_parts(&self) -> (usize, [usize; MAX_SLOTS]) {
        (self.pingpong_len, self.slot_len)
    }

    /// The layer definitions, decoded from the blob (host tools, tests).
    pub fn layers(&self) -> impl Iterator<Item = LayerDef<'a>> + 'a {
        let mut rest = self.layers;
        (0..self.layer_count).map_while(move |_| {
            let (def, r) = postcard::take_from_bytes::<LayerDef<'a>>(rest).ok()?;
            rest = r;
            Some(def)
        })
    }

    /// Run on int8 input values (NHWC, already quantized with the input's scale/zero point).
    pub fn run<'r>(&self, input: &[i8], arena: &'r mut [u8]) -> Result<Output<'r>, Error> {
        self.check_input(input.len())?;
        self.run_with(arena, |dst| dst.iter_mut().zip(input).for_each(|(d, &s)| *d = s as u8))
    }

    /// Run on 8-bit pixels when the model's input is quantized as pixel / 255 (scale 1/255,
    /// zero point −128), so `q = pixel − 128` exactly.
    pub fn run_u8<'r>(&self, pixels: &[u8], arena: &'r mut [u8]) -> Result<Output<'r>, Error> {
        let q = self.input.quant;
        if q.zero_point != -128 || (q.scale * 255.0 - 1.0).abs() > 1e-6 {
            return Err(Error::InputNotU8);
        }
        self.check_input(pixels.len())?;
        self.run_with(arena, |dst| dst.iter_mut().zip(pixels).for_each(|(d, &p)| *d = p ^ 0x80))
    }

    fn check_input(&self, got: usize) -> Result<(), Error> {
        let expected = self.input.shape.len();
        if got == expected {
            Ok(())
        } else {
            Err(Error::InputLength { expected, got })
        }
    }

    fn run_with<'r>(&self, arena: &'r mut [u8], fill: impl FnOnce(&mut [u8])) -> Result<Output<'r>, Error> {
        let got = arena.len();
        let arena =
            arena.get_mut(..self.arena_len).ok_or(Error::ArenaTooSmall { needed: self.arena_len, got })?;
        let (pp, slots) = arena.split_at_mut(self.pingpong_len);
        let n = pp.len();
        fill(&mut pp[..self.input.shape.len()]);
        // `front`: the current tensor starts at pp[0]; otherwise it ends at pp[n].
        let mut front = true;
        let (last, _) = walk(self.layers, self.layer_count, self.input, false, |prep, input| {
            let (in_len, out_len) = (input.shape.len(), prep.output.shape.len());
            if let Kernel::Save { slot } = prep.kernel {
                let src = if front { &pp[..in_len] } else { &pp[n - in_len..] };
                slots[self.slot_offset[slot] - n..][..in_len].copy_from_slice(src);
                return Ok(());
            }
            // in_len + out_len <= n for every layer (proven at load), so these never overlap.
            let (src, dst): (&[u8], &mut [u8]) = if front {
                let (a, b) = pp.split_at_mut(n - out_len);
                (&a[..in_len], b)
            } else {
                let (a, b) = pp.split_at_mut(out_len);
                (&b[b.len() - in_len..], a)
            };
            self.execute(&prep.kernel, src, dst, slots);
            front = !front;
            Ok(())
        })?;
        let len = last.shape.len();
        let pp: &'r [u8] = pp;
        let data = if front { &pp[..len] } else { &pp[n - len..] };
        Ok(Output { data, spec: last })
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
                let saved = &slots[self.slot_offset[*slot] - self.pingpong_len..][..src.len()];
                add::add(params, src, saved, &mut dst[..src.len()]);
            }
            Kernel::Requantize(p) => requantize::requantize(p, src, &mut dst[..src.len()]),
            Kernel::Save { .. } => {}
        }
    }
}
