//! Networks, as typed structs so the quantizer can reach every conv by name.

pub mod classifier;
pub mod ensemble;
pub mod mobilenet_v2;
pub mod seed_cnn;
pub mod test_time_views;
pub mod transfer;
pub mod weights;

pub use classifier::Classifier;
pub use ensemble::Ensemble;
pub use seed_cnn::SeedCnn;
pub use test_time_views::{Viewed, Views};
pub use transfer::{FeatureHead, TransferModel};
