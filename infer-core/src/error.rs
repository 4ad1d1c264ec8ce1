//! Everything that can go wrong: loading or writing a blob ([`Error`]), and running a loaded
//! model with the caller's input and arena ([`RunError`]).

use core::fmt;

/// What is wrong with one field (the field itself is named by [`Error`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A byte slice or count has the wrong length.
    Length {
        /// What the shapes require.
        expected: usize,
        /// What the blob holds.
        got: usize,
    },
    /// A value lies outside its allowed range.
    OutOfRange {
        /// The offending value.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A per-channel value lies outside its allowed range.
    ChannelOutOfRange {
        /// Channel index.
        channel: usize,
        /// The offending value.
        value: i64,
    },
    /// An int8 weight is −128 (weights are symmetric, [−127, 127]).
    WeightIsMinus128 {
        /// Index into the weight bytes.
        index: usize,
    },
    /// `taps · 127 · 255 + |bias|`, shifted left by the multiplier's left shift (plus the
    /// output zero point), could overflow an i32 accumulator.
    AccumulatorOverflow {
        /// Channel index.
        channel: usize,
        /// The bound that does not fit.
        bound: i64,
    },
    /// A scale is not finite and positive.
    BadScale,
    /// The shape differs from what the previous layer (or the declaration) gives.
    ShapeMismatch {
        /// Expected shape (h, w, c).
        expected: (u16, u16, u16),
        /// Actual shape (h, w, c).
        got: (u16, u16, u16),
    },
    /// The quantization differs from what the previous layer gives.
    QuantMismatch,
    /// A sliding window would have a row or column with no tap inside the image.
    WindowOutsideImage,
    /// A tensor or the arena is too large to address.
    TooLarge,
    /// The residual slot was never saved.
    SlotEmpty,
}

/// Errors from [`crate::Model::from_bytes`] (a blob that is not a valid model) and the blob
/// writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The blob is shorter than its header plus the body length it declares.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The first four bytes are not [`crate::blob::MAGIC`].
    BadMagic([u8; 4]),
    /// The format version is not [`crate::blob::FORMAT_VERSION`].
    UnsupportedVersion(u16),
    /// The reserved header field is not zero.
    ReservedNotZero(u16),
    /// Bytes follow the declared body.
    TrailingBytes(usize),
    /// The body's CRC-32 differs from the header's.
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC of the body.
        computed: u32,
    },
    /// Postcard could not decode a part of the body.
    Decode {
        /// Which part ("model header", "layer count", "layer").
        part: &'static str,
        /// Layer index for layer records.
        layer: usize,
    },
    /// Bytes remain in the body after the last layer.
    TrailingBody(usize),
    /// A model-level field is invalid.
    Model {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// A layer field is invalid.
    Layer {
        /// Layer index (0-based).
        index: usize,
        /// Op name.
        op: &'static str,
        /// Field name.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// The blob has more layers than the model type's plan can hold
    /// ([`crate::ModelN`]'s `N`).
    TooManyLayers {
        /// Layers in the blob.
        layers: usize,
        /// Plan capacity `N`.
        capacity: usize,
    },
    /// The blob writer failed (buffer too small or serialization error).
    Encode,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Length { expected, got } => write!(f, "length {got}, expected {expected}"),
            Problem::OutOfRange { value, min, max } => {
                write!(f, "value {value} outside {min}..={max}")
            }
            Problem::ChannelOutOfRange { channel, value } => {
                write!(f, "channel {channel}: value {value} out of range")
            }
            Problem::WeightIsMinus128 { index } => {
                write!(f, "weight {index} is -128 (allowed: -127..=127)")
            }
            Problem::AccumulatorOverflow { channel, bound } => {
                write!(f, "channel {channel}: accumulator bound {bound} does not fit i32")
            }
            Problem::BadScale => write!(f, "scale must be finite and positive"),
            Problem::ShapeMismatch { expected, got } => {
                write!(f, "shape {got:?}, expected {expected:?}")
            }
            Problem::QuantMismatch => {
                write!(f, "quantization differs from the tensor it describes")
            }
            Problem::WindowOutsideImage => write!(f, "a window has no tap inside the image"),
            Problem::TooLarge => write!(f, "too large to address"),
            Problem::SlotEmpty => write!(f, "slot used before any save"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, got } => {
                write!(f, "blob truncated: {got} bytes, need {needed}")
            }
            Error::BadMagic(m) => write!(f, "bad magic {m:?}"),
            Error::UnsupportedVersion(v) => write!(f, "unsupported format version {v:#06x}"),
            Error::ReservedNotZero(v) => write!(f, "reserved header field is {v}, must be 0"),
            Error::TrailingBytes(n) => write!(f, "{n} bytes after the declared body"),
            Error::CrcMismatch { stored, computed } => {
                write!(f, "body CRC-32 {computed:#010x} differs from header {stored:#010x}")
            }
            Error::Decode { part, layer } => write!(f, "cannot decode {part} (layer {layer})"),
            Error::TrailingBody(n) => write!(f, "{n} body bytes after the last layer"),
            Error::Model { field, problem } => write!(f, "model field `{field}`: {problem}"),
            Error::Layer { index, op, field, problem } => {
                write!(f, "layer {index} ({op}) field `{field}`: {problem}")
            }
            Error::TooManyLayers { layers, capacity } => {
                write!(f, "{layers} layers, the model's plan holds at most {capacity}")
            }
            Error::Encode => write!(f, "cannot encode the blob"),
        }
    }
}

/// Errors from [`crate::Model::run`] and [`crate::Model::run_u8`]: only the caller's, since
/// loading proved everything about the model itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The caller's arena is smaller than [`crate::Model::arena_len`].
    ArenaTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The input slice has the wrong length.
    InputLength {
        /// `input_shape().len()`.
        expected: usize,
        /// Length given.
        got: usize,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RunError::ArenaTooSmall { needed, got } => {
                write!(f, "arena has {got} bytes, needs {needed}")
            }
            RunError::InputLength { expected, got } => {
                write!(f, "input has {got} values, expected {expected}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(feature = "std")]
impl std::error::Error for RunError {}
