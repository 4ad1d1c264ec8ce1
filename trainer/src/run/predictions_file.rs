//! test_predictions.csv: the final model's output for every test image, with the patient, so
//! a report can bootstrap confidence intervals by resampling patients rather than images.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::data::Dataset;
use crate::eval::predict::Predictions;
use crate::util::fs::write_atomic;

pub const HEADER: &str = "path,patient,kind,label,p_pneumonia,p_normal,p_bacterial,p_viral";

/// One line per image `indices[i]` of `data` with `p`'s i-th prediction. The class
/// probabilities are empty for a binary model.
pub fn to_csv(data: &Dataset, indices: &[usize], p: &Predictions) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for (i, &idx) in indices.iter().enumerate() {
        let r = &data.records[idx];
        // Kaggle names hold no commas or quotes; quote the path anyway for users' own sets.
        let path = r.path.display().to_string().replace('"', "\"\"");
        let classes = match p.class_probs.get(i) {
            Some(c) => format!("{:.6},{:.6},{:.6}", c[0], c[1], c[2]),
            None => ",,".into(),
        };
        let label = u8::from(r.kind.is_pneumonia());
        let _ = writeln!(s, "\"{path}\",{},{},{label},{:.6},{classes}", r.patient, r.kind.name(), p.probs[i]);
    }
    s
}

pub fn write(path: &Path, data: &Dataset, indices: &[usize], p: &Predictions) -> Result<()> {
    write_atomic(path, to_csv(data, indices, p).as_bytes())
}
