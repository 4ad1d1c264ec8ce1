//! Loading pretrained weights from a safetensors file into a network's named tensors.
//!
//! The check is strict: every tensor the network expects must be in the file with the same
//! shape, and the file may hold nothing else (apart from prefixes the caller says it leaves
//! out, such as an ImageNet classifier under a base without head). Errors name the tensor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{Kind, TchError, Tensor};

/// Why a weights file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error(
        "weights file {} not found: the ImageNet MobileNetV2 bases live in ../shared/weights/ \
         (see WEIGHTS.md there); point the trainer at one with --weights <file>",
        path.display()
    )]
    NotFound { path: PathBuf },
    #[error("cannot read weights file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: TchError,
    },
    #[error("weights file {} lacks tensor {}", path.display(), list(names))]
    Missing { path: PathBuf, names: Vec<String> },
    #[error("weights file {} has tensor {} that the network does not use", path.display(), list(names))]
    Unexpected { path: PathBuf, names: Vec<String> },
    #[error(
        "weights file {}: tensor {name} has shape {found:?}, the network expects {expected:?}",
        path.display()
    )]
    Shape { path: PathBuf, name: String, expected: Vec<i64>, found: Vec<i64> },
    #[error("weights file {}: tensor {name} is {kind:?}, expected floating point", path.display())]
    Kind { path: PathBuf, name: String, kind: Kind },
    #[error("weights file {}: bad safetensors header: {reason}", path.display())]
    Header { path: PathBuf, reason: String },
    #[error("weights file {}: {reason}", path.display())]
    Unrecognised { path: PathBuf, reason: String },
    #[error("weights file {}: cannot copy tensor {name}: {source}", path.display())]
    Copy {
        path: PathBuf,
        name: String,
        #[source]
        source: TchError,
    },
}

/// The first few names, then how many more.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 4;
    let head = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    match names.len().saturating_sub(SHOWN) {
        0 => head,
        more => format!("{head} (and {more} more)"),
    }
}

/// Tensor names and shapes from the header of a safetensors file, without reading the data.
///
/// The file starts with the header length (u64, little endian) and a JSON object mapping
/// each name to `{dtype, shape, data_offsets}`, plus an optional `__metadata__` entry.
pub fn read_shapes(path: &Path) -> Result<BTreeMap<String, Vec<i64>>, WeightsError> {
    use std::io::Read;
    const MAX_HEADER: u64 = 100 << 20;
    if !path.is_file() {
        return Err(WeightsError::NotFound { path: path.to_path_buf() });
    }
    let bad = |reason: String| WeightsError::Header { path: path.to_path_buf(), reason };
    let mut file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(|e| bad(e.to_string()))?;
    let len = u64::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(bad(format!("header length {len} is implausible")));
    }
    let mut json = vec![0u8; len as usize];
    file.read_exact(&mut json).map_err(|e| bad(e.to_string()))?;
    let header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, v)| {
            let shape = v["shape"]
                .as_array()
                .and_then(|dims| dims.iter().map(|d| d.as_i64()).collect::<Option<Vec<_>>>())
                .ok_or_else(|| bad(format!("tensor {name} has no integer shape")))?;
            Ok((name, shape))
        })
        .collect()
}

/// Copies the tensors of the safetensors file at `path` into `targets` (name → variable).
///
/// File tensors whose name starts with one of `ignore_prefixes` are skipped. Nothing is
/// copied unless every name and shape checks out, so a failed load leaves the network as it was.
pub fn load_safetensors(
    path: &Path,
    targets: &[(String, Tensor)],
    ignore_prefixes: &[&str],
) -> Result<(), WeightsError> {
    if !path.is_file() {
        return Err(WeightsError::NotFound { path: path.to_path_buf() });
    }
    let read = Tensor::read_safetensors(path)
        .map_err(|source| WeightsError::Read { path: path.to_path_buf(), source })?;
    let mut file: BTreeMap<String, Tensor> =
        read.into_iter().filter(|(name, _)| !ignore_prefixes.iter().any(|p| name.starts_with(p))).collect();

    let missing: Vec<String> =
        targets.iter().filter(|(n, _)| !file.contains_key(n)).map(|(n, _)| n.clone()).collect();
    if !missing.is_empty() {
        return Err(WeightsError::Missing { path: path.to_path_buf(), names: missing });
    }
    let wanted: BTreeMap<&str, &Tensor> = targets.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let unexpected: Vec<String> = file.keys().filter(|n| !wanted.contains_key(n.as_str())).cloned().collect();
    if !unexpected.is_empty() {
        return Err(WeightsError::Unexpected { path: path.to_path_buf(), names: unexpected });
    }
    for (name, dst) in targets {
        let src = &file[name];
        if src.size() != dst.size() {
            let (expected, found) = (dst.size(), src.size());
            return Err(WeightsError::Shape {
                path: path.to_path_buf(),
                name: name.clone(),
                expected,
                found,
            });
        }
        if !src.is_floating_point() {
            let kind = src.kind();
            return Err(WeightsError::Kind { path: path.to_path_buf(), name: name.clone(), kind });
        }
    }
    for (name, dst) in targets {
        let src = file.remove(name).expect("checked above");
        // The destinations are leaf variables that may require grad: copy outside autograd.
        tch::no_grad(|| dst.shallow_clone().f_copy_(&src)).map_err(|source| WeightsError::Copy {
            path: path.to_path_buf(),
            name: name.clone(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn write(dir: &Path, tensors: &[(&str, Tensor)]) -> PathBuf {
        let path = dir.join("w.safetensors");
        Tensor::write_safetensors(tensors, &path).unwrap();
        path
    }

    fn target(name: &str, dims: &[i64]) -> (String, Tensor) {
        (name.to_string(), Tensor::zeros(dims, (Kind::Float, Device::Cpu)))
    }

    #[test]
    fn copies_matching_tensors_and_skips_ignored_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let a = Tensor::from_slice(&[1.0f32, 2.0]);
        let head = Tensor::from_slice(&[5.0f32]);
        let path = write(dir.path(), &[("a.weight", a), ("classifier.1.bias", head)]);
        let targets = [target("a.weight", &[2])];
        load_safetensors(&path, &targets, &["classifier."]).unwrap();
        assert_eq!(Vec::<f32>::try_from(&targets[0].1).unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn errors_name_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &[("a.weight", Tensor::from_slice(&[1.0f32, 2.0]))]);
        let err = load_safetensors(&path, &[target("a.weight", &[3])], &[]).unwrap_err();
        assert!(matches!(err, WeightsError::Shape { .. }));
        assert!(err.to_string().contains("a.weight"), "{err}");
        let two = [target("a.weight", &[2]), target("b.bias", &[1])];
        let err = load_safetensors(&path, &two, &[]).unwrap_err();
        assert!(err.to_string().contains("lacks tensor b.bias"), "{err}");
        let err = load_safetensors(&path, &[], &[]).unwrap_err();
        assert!(err.to_string().contains("a.weight"), "{err}");
        let err = load_safetensors(&dir.path().join("nope"), &[], &[]).unwrap_err();
        assert!(err.to_string().contains("--weights"), "{err}");
    }

    #[test]
    fn header_gives_names_and_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let w = Tensor::zeros([2, 3, 1, 1], (Kind::Float, Device::Cpu));
        let path =
            write(dir.path(), &[("x.weight", w), ("x.bias", Tensor::zeros([2], (Kind::Float, Device::Cpu)))]);
        let shapes = read_shapes(&path).unwrap();
        assert_eq!(shapes.len(), 2);
        assert_eq!(shapes["x.weight"], vec![2, 3, 1, 1]);
        std::fs::write(&path, [200u8, 0, 0, 0, 0, 0, 0, 0, b'{']).unwrap();
        assert!(matches!(read_shapes(&path), Err(WeightsError::Header { .. })));
    }

    #[test]
    fn list_truncates() {
        let names: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
        assert_eq!(list(&names), "t0, t1, t2, t3 (and 2 more)");
    }
}
