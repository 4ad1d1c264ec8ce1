//! `infer-core`: runs int8-quantized classifiers with integer-only arithmetic, in `no_std`,
//! without a heap. See `../shared/INT8.md` for the exact integer conventions.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
