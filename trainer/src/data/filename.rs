//! What a Kaggle file name says: the pneumonia kind and the patient id.
//!
//! Pneumonia files are `personN_bacteria_M.jpeg` / `personN_virus_M.jpeg` (a few carry an extra
//! `_K` suffix); normal files are `IM-PPPP-SSSS.jpeg` or `NORMAL2-IM-PPPP-SSSS.jpeg`. The two
//! normal prefixes are kept as distinct patient namespaces: that reproduces the 3,118 ids that
//! DATASET.md counts, and nothing documents that they are the same people.

use serde::{Deserialize, Serialize};

/// The three diagnoses in the set; `Normal` vs the other two is the binary task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Normal,
    Bacterial,
    Viral,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Normal, Kind::Bacterial, Kind::Viral];

    /// Index in `ALL`, also the 3-class label.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Binary label: 1 for pneumonia of either kind.
    pub fn is_pneumonia(self) -> bool {
        self != Kind::Normal
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Normal => "normal",
            Kind::Bacterial => "bacterial",
            Kind::Viral => "viral",
        }
    }
}

/// Kind and patient id parsed from a file name in the given class folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameInfo {
    pub kind: Kind,
    pub patient: String,
}

/// Parses a file name found in `NORMAL/` (`in_normal_folder`) or `PNEUMONIA/`.
/// Returns a human-readable reason when the name does not follow the Kaggle convention.
pub fn parse_file_name(file_name: &str, in_normal_folder: bool) -> Result<NameInfo, String> {
    let stem = file_name.rsplit_once('.').map(|(s, _)| s).unwrap_or(file_name);
    if in_normal_folder {
        let (prefix, rest) = match stem.strip_prefix("NORMAL2-IM-") {
            Some(rest) => ("NORMAL2-IM-", rest),
            None => match stem.strip_prefix("IM-") {
                Some(rest) => ("IM-", rest),
                None => {
                    return Err(format!(
                    "a NORMAL file should be named IM-PPPP-SSSS or NORMAL2-IM-PPPP-SSSS, got {file_name:?}"
                ))
                }
            },
        };
        let mut parts = rest.split('-');
        let patient = parts.next().unwrap_or("");
        let image = parts.next().unwrap_or("");
        if !all_digits(patient) || !all_digits(image) || parts.any(|p| !all_digits(p)) {
            return Err(format!("cannot read the patient number in NORMAL file {file_name:?}"));
        }
        return Ok(NameInfo { kind: Kind::Normal, patient: format!("{prefix}{patient}") });
    }
    let mut parts = stem.split('_');
    let person = parts.next().unwrap_or("");
    let kind = parts.next().unwrap_or("");
    let number = person.strip_prefix("person").unwrap_or("");
    if !all_digits(number) {
        return Err(format!(
            "a PNEUMONIA file should be named personN_bacteria_M or personN_virus_M, got {file_name:?}"
        ));
    }
    let kind = match kind {
        "bacteria" => Kind::Bacterial,
        "virus" => Kind::Viral,
        other => {
            return Err(format!(
                "pneumonia kind {other:?} in {file_name:?} is neither 'bacteria' nor 'virus'"
            ))
        }
    };
    Ok(NameInfo { kind, patient: format!("person{number}") })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_three_conventions() {
        let b = parse_file_name("person1689_bacteria_4474.jpeg", false).unwrap();
        assert_eq!((b.kind, b.patient.as_str()), (Kind::Bacterial, "person1689"));
        let v = parse_file_name("person447_virus_921_1.jpeg", false).unwrap();
        assert_eq!((v.kind, v.patient.as_str()), (Kind::Viral, "person447"));
        let n = parse_file_name("IM-0521-0001.jpeg", true).unwrap();
        assert_eq!((n.kind, n.patient.as_str()), (Kind::Normal, "IM-0521"));
        let n2 = parse_file_name("NORMAL2-IM-1302-0001.jpeg", true).unwrap();
        assert_eq!(n2.patient, "NORMAL2-IM-1302");
        let n3 = parse_file_name("IM-0011-0001-0002.jpeg", true).unwrap();
        assert_eq!(n3.patient, "IM-0011");
    }

    #[test]
    fn rejects_names_outside_the_convention() {
        assert!(parse_file_name("scan.jpeg", true).is_err());
        assert!(parse_file_name("IM-abc-0001.jpeg", true).is_err());
        assert!(parse_file_name("person12_fungus_3.jpeg", false).is_err());
        assert!(parse_file_name("personX_virus_3.jpeg", false).is_err());
        assert!(parse_file_name("IM-0001-0001.jpeg", false).is_err());
    }
}
