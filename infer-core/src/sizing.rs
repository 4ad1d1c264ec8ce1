//! Sizes a firmware needs at compile time: the arena for a `static` buffer (with and without
//! streaming) and the layer count for the plan capacity of [`crate::ModelN`]. Loading is not a
//! `const fn` (postcard decoding), so a build script computes them on the host from the same
//! blob the firmware embeds (hence feature `std`):
//!
//! ```ignore
//! // build.rs (infer-core as a build-dependency with feature "std")
//! let blob = std::fs::read("model.int8.postcard")?;
//! let sizing = infer_core::Sizing::of(&blob)?;
//! let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
//! std::fs::write(out.join("model_sizing.rs"), sizing.rust_consts())?;
//!
//! // firmware
//! include!(concat!(env!("OUT_DIR"), "/model_sizing.rs")); // ARENA_LEN, STREAMED_ARENA_LEN, LAYERS
//! static BLOB: &[u8] = include_bytes!("../model.int8.postcard");
//! let model = infer_core::ModelN::<'static, LAYERS>::from_bytes(BLOB)?;
//! let arena: &mut [u8; STREAMED_ARENA_LEN] = /* a static, e.g. via static_cell */;
//! let out = model.run_u8_streamed(&pixels, arena)?;
//! ```

use crate::error::Error;
use crate::plan::{load, MAX_LAYERS};
use crate::stream::{self, Cursor};

/// What a blob needs at run time; `Sizing::of(blob)` succeeds exactly when the blob is valid,
/// for any layer count up to [`MAX_LAYERS`] (the plan is kept on the heap, not in a `ModelN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// Bytes of arena for `run` / `run_u8` ([`crate::Model::arena_len`]).
    pub arena_len: usize,
    /// Bytes of arena for `run_streamed` / `run_u8_streamed`
    /// ([`crate::Model::streamed_arena_len`]).
    pub streamed_arena_len: usize,
    /// Layers in the blob: the smallest plan capacity `N` that loads it.
    pub layers: usize,
}

impl Sizing {
    /// Validate `blob` as [`crate::Model::from_bytes`] does and report its sizes.
    pub fn of(blob: &[u8]) -> Result<Sizing, Error> {
        let mut steps = Vec::new();
        let layout = load(blob, MAX_LAYERS, |step| {
            steps.push(step);
            Ok(())
        })?;
        let s = layout.input.shape;
        let input = crate::ops::Dims { h: usize::from(s.h), w: usize::from(s.w), c: usize::from(s.c) };
        let mut cursors = vec![Cursor::default(); steps.len()];
        let streamed = stream::plan(&mut steps, input, &layout.region, &mut cursors)?;
        Ok(Sizing {
            arena_len: layout.region.arena_len,
            streamed_arena_len: streamed.arena_len,
            layers: layout.layer_count,
        })
    }

    /// Rust source declaring `pub const ARENA_LEN`, `STREAMED_ARENA_LEN` and `LAYERS`
    /// (`usize`), for a build script to write into `OUT_DIR` and the firmware to `include!`.
    pub fn rust_consts(&self) -> String {
        format!(
            "/// Bytes of arena for `run` / `run_u8` (`Model::arena_len`).\n\
             pub const ARENA_LEN: usize = {};\n\
             /// Bytes of arena for `run_streamed` / `run_u8_streamed` (`Model::streamed_arena_len`).\n\
             pub const STREAMED_ARENA_LEN: usize = {};\n\
             /// Layers in the blob: the plan capacity for `ModelN<'_, LAYERS>`.\n\
             pub const LAYERS: usize = {};\n",
            self.arena_len, self.streamed_arena_len, self.layers
        )
    }
}
