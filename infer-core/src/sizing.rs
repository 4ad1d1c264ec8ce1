//! Sizes a firmware needs at compile time: the arena for a `static` buffer and the layer count
//! for the plan capacity of [`crate::ModelN`]. Loading is not a `const fn` (postcard decoding),
//! so a build script computes them on the host from the same blob the firmware embeds:
//!
//! ```ignore
//! // build.rs (infer-core as a build-dependency with feature "std")
//! let blob = std::fs::read("model.int8.postcard")?;
//! let sizing = infer_core::Sizing::of(&blob)?;
//! let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
//! std::fs::write(out.join("model_sizing.rs"), sizing.rust_consts())?;
//!
//! // firmware
//! include!(concat!(env!("OUT_DIR"), "/model_sizing.rs")); // ARENA_LEN, LAYERS
//! static BLOB: &[u8] = include_bytes!("../model.int8.postcard");
//! let model = infer_core::ModelN::<'static, LAYERS>::from_bytes(BLOB)?;
//! let arena: &mut [u8; ARENA_LEN] = /* a static, e.g. via static_cell */;
//! ```

use crate::error::Error;
use crate::plan::{load, MAX_LAYERS};

/// What a blob needs at run time, computed without keeping a plan (any layer count up to
/// [`MAX_LAYERS`]); `Sizing::of(blob)` succeeds exactly when the blob is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// Bytes of arena ([`crate::Model::arena_len`]).
    pub arena_len: usize,
    /// Layers in the blob: the smallest plan capacity `N` that loads it.
    pub layers: usize,
}

impl Sizing {
    /// Validate `blob` as [`crate::Model::from_bytes`] does and report its sizes.
    pub fn of(blob: &[u8]) -> Result<Sizing, Error> {
        let layout = load(blob, MAX_LAYERS, |_| Ok(()))?;
        Ok(Sizing { arena_len: layout.arena_len, layers: layout.layer_count })
    }

    /// Rust source declaring `pub const ARENA_LEN: usize` and `pub const LAYERS: usize`, for a
    /// build script to write into `OUT_DIR` and the firmware to `include!`.
    #[cfg(feature = "std")]
    pub fn rust_consts(&self) -> String {
        format!(
            "/// Bytes of arena the model needs (`Model::arena_len`).\n\
             pub const ARENA_LEN: usize = {};\n\
             /// Layers in the blob: the plan capacity for `ModelN<'_, LAYERS>`.\n\
             pub const LAYERS: usize = {};\n",
            self.arena_len, self.layers
        )
    }
}
