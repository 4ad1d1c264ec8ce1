//! Networks, as typed structs so the quantizer can reach every conv by name.

pub mod seed_cnn;

pub use seed_cnn::SeedCnn;
