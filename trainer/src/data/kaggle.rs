//! Scans a folder in the Kaggle layout `{train,val,test}/{NORMAL,PNEUMONIA}/*` into image
//! records: label, patient id and a SHA-256 of the file's bytes (to catch duplicates that sit
//! under different names). Nothing is decoded here; see `decode.rs` and `cache.rs`.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::filename::{parse_file_name, Kind};

/// The split a file sits in on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfficialSplit {
    Train,
    Val,
    Test,
}

impl OfficialSplit {
    pub const ALL: [OfficialSplit; 3] = [OfficialSplit::Train, OfficialSplit::Val, OfficialSplit::Test];

    pub fn folder(self) -> &'static str {
        match self {
            OfficialSplit::Train => "train",
            OfficialSplit::Val => "val",
            OfficialSplit::Test => "test",
        }
    }
}

/// One image file found in the layout.
#[derive(Clone, Debug)]
pub struct ImageRecord {
    pub path: PathBuf,
    pub official: OfficialSplit,
    pub kind: Kind,
    pub patient: String,
    pub sha256: [u8; 32],
}

/// A file that was left out, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// Everything found under the data folder, in a stable order (split, class, file name).
#[derive(Clone, Debug)]
pub struct Scan {
    pub root: PathBuf,
    pub images: Vec<ImageRecord>,
    pub skipped: Vec<Skipped>,
}

const CLASS_FOLDERS: [(&str, bool); 2] = [("NORMAL", true), ("PNEUMONIA", false)];
const IMAGE_EXTENSIONS: [&str; 3] = ["jpeg", "jpg", "png"];

/// Scans `root`. `train/` and `test/` are required; `val/` is optional (it holds only 16 images
/// and the protocols fold it back into the training pool). Every class folder that exists must
/// contain files. Files that are not images or whose names break the convention are skipped
/// and reported, not fatal.
pub fn scan(root: &Path) -> Result<Scan> {
    check_layout(root)?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for split in OfficialSplit::ALL {
        let split_dir = root.join(split.folder());
        if split == OfficialSplit::Val && !split_dir.exists() {
            continue;
        }
        for (class, is_normal) in CLASS_FOLDERS {
            for path in list_class_folder(&split_dir.join(class))? {
                match classify(&path, is_normal) {
                    Ok((kind, patient)) => files.push((path, split, kind, patient)),
                    Err(reason) => skipped.push(Skipped { path, reason }),
                }
            }
        }
    }

    // Hashing reads every byte (about 56 MB for the full set): parallel, order kept.
    let hashed: Vec<Result<ImageRecord, Skipped>> = files
        .into_par_iter()
        .map(|(path, official, kind, patient)| match std::fs::read(&path) {
            Ok(bytes) => {
                Ok(ImageRecord { sha256: Sha256::digest(&bytes).into(), path, official, kind, patient })
            }
            Err(e) => Err(Skipped { reason: format!("cannot read the file: {e}"), path }),
        })
        .collect();
    let mut images = Vec::with_capacity(hashed.len());
    for h in hashed {
        match h {
            Ok(r) => images.push(r),
            Err(s) => skipped.push(s),
        }
    }
    if images.is_empty() {
        bail!("no usable images under {}", root.display());
    }
    Ok(Scan { root: root.to_path_buf(), images, skipped })
}

/// `root` exists, is a folder, and holds `train/` and `test/`.
fn check_layout(root: &Path) -> Result<()> {
    if !root.exists() {
        bail!(
            "data folder {} does not exist; download the Kermany chest X-ray set (Kaggle \
             'paultimothymooney/chest-xray-pneumonia' or Mendeley doi:10.17632/rscbjbr9sj) and \
             pass its chest_xray folder with --data",
            root.display()
        );
    }
    if !root.is_dir() {
        bail!("data path {} is a file, not a folder in the Kaggle layout", root.display());
    }
    for required in ["train", "test"] {
        let dir = root.join(required);
        if !dir.is_dir() {
            let hint = if root.join("chest_xray").is_dir() {
                format!(" (did you mean {}?)", root.join("chest_xray").display())
            } else {
                String::new()
            };
            bail!(
                "{} is not in the Kaggle layout: {} is missing; expected \
                 {{train,val,test}}/{{NORMAL,PNEUMONIA}}/<images>{hint}",
                root.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// The files (not folders) in one class folder, sorted; the folder must exist and hold some.
fn list_class_folder(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!(
            "class folder {} is missing (the Kaggle layout has NORMAL and PNEUMONIA in every split)",
            dir.display()
        );
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    names.retain(|p| !p.is_dir());
    names.sort();
    if names.is_empty() {
        bail!("class folder {} is empty", dir.display());
    }
    Ok(names)
}

fn classify(path: &Path, is_normal: bool) -> Result<(Kind, String), String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| "file name is not valid UTF-8".to_string())?;
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
    if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        return Err(format!("not an image file (extension {ext:?}; expected .jpeg, .jpg or .png)"));
    }
    let info = parse_file_name(name, is_normal)?;
    Ok((info.kind, info.patient))
}
