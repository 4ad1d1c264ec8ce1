//! Host-testable core of the Cortex-M4 firmware (QEMU `mps2-an386`): the embedded model and
//! its compile-time sizes, the result line the firmware prints, and the screen it draws with
//! embedded-graphics. The device binary (`src/main.rs`, `src/device/`) adds only what needs
//! the hardware: semihosting file I/O, the instruction clock and stack painting. The host
//! tests and `examples/firmware_report.rs` use the very same code, so the screen PNG the host
//! writes is the one the device draws, and the host can rebuild every line byte for byte.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod report;
pub mod screen;

/// Compile-time facts computed by `build.rs` from the blob and its card.
mod consts {
    use crate::report::Head;
    include!(concat!(env!("OUT_DIR"), "/model_consts.rs"));
}
pub use consts::{
    ARENA_LEN, BLOB, HEAD, INPUT_CHANNELS, INPUT_SIDE, LABELS, LAYERS, MACS, MODEL_NAME, STREAMED_ARENA_LEN,
};

/// Bytes of one input image: `INPUT_SIDE²` pixels of `INPUT_CHANNELS` bytes, row-major.
pub const INPUT_LEN: usize = INPUT_SIDE * INPUT_SIDE * INPUT_CHANNELS;

/// The model type with a plan of exactly the blob's layer count.
pub type FirmwareModel = infer_core::ModelN<'static, LAYERS>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_time_sizes_match_the_blob() {
        let model = FirmwareModel::from_bytes(BLOB).unwrap();
        assert_eq!(model.arena_len(), ARENA_LEN);
        assert_eq!(model.streamed_arena_len(), STREAMED_ARENA_LEN);
        assert_eq!(model.layer_count(), LAYERS);
        assert_eq!(model.macs(), MACS);
        assert_eq!(model.input_shape().len(), INPUT_LEN);
        assert_eq!(model.macs(), MACS);
        if let report::Head::Sigmoid { threshold } = HEAD {
            assert!(threshold > 0.0 && threshold < 1.0);
        }
    }
}
