//! Weights written atomically: a temporary file in the same folder, then a rename, so a
//! killed run leaves either the previous checkpoint or the new one, never half a file.

use std::path::Path;

use anyhow::{Context, Result};
use tch::nn::VarStore;

use crate::util::fs::write_atomic_with;

/// Saves `vs` to `path` (safetensors when the name ends in `.safetensors`).
pub fn save_atomic(vs: &VarStore, path: &Path) -> Result<()> {
    write_atomic_with(path, |tmp| {
        vs.save(tmp).with_context(|| format!("cannot write weights to {}", tmp.display()))
    })
}

/// Loads weights saved by `save_atomic` into `vs`; names and shapes must match.
pub fn load(vs: &mut VarStore, path: &Path) -> Result<()> {
    vs.load(path).with_context(|| format!("cannot load weights from {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    #[test]
    fn round_trip_and_no_temporary_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[4], nn::Init::Uniform { lo: -1.0, up: 1.0 });
        save_atomic(&vs, &path).unwrap();
        let mut other = VarStore::new(Device::Cpu);
        let w2 = other.root().var("w", &[4], nn::Init::Const(0.0));
        load(&mut other, &path).unwrap();
        assert!(w.equal(&w2));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
