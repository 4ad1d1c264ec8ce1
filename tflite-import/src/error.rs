//! Why a `.tflite` file cannot be imported: each names the problem, and the operator (its index
//! in the subgraph and its TFLite name) when one is at fault.

use std::fmt;

/// An import failure.
#[derive(Debug)]
pub enum ImportError {
    /// The bytes are not a valid TFLite flatbuffer (truncated, corrupt, not TFLite).
    Corrupt(String),
    /// A valid model using something the engine does not run.
    Unsupported(String),
    /// Operator `index` (`op`) cannot be imported: `why`.
    Op { index: usize, op: String, why: String },
    /// infer-core refused the converted model.
    Engine(infer_core::Error),
}

impl ImportError {
    pub(crate) fn op(op: &crate::graph::Op<'_>, why: impl Into<String>) -> ImportError {
        ImportError::Op { index: op.index, op: op.name(), why: why.into() }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Corrupt(why) => write!(f, "not a readable TFLite model: {why}"),
            ImportError::Unsupported(why) => write!(f, "unsupported model: {why}"),
            ImportError::Op { index, op, why } => write!(f, "operator {index} ({op}): {why}"),
            ImportError::Engine(e) => write!(f, "the converted model is invalid for infer-core: {e}"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<infer_core::Error> for ImportError {
    fn from(e: infer_core::Error) -> Self {
        ImportError::Engine(e)
    }
}
