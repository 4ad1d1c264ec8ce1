//! Helpers every layer may use, at the bottom of the module graph (they import nothing from
//! the crate): atomic file writes, SHA-256 in hex, the compute device, progress bars.

pub mod device;
pub mod fs;
pub mod git;
pub mod hash;
pub mod progress;
