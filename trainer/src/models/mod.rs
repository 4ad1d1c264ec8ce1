//! Networks, as typed structs so the quantizer can reach every conv by name.

pub mod mobilenet_v2;
pub mod seed_cnn;
pub mod weights;

pub use seed_cnn::SeedCnn;
