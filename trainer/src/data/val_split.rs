//! How the official protocol carves validation out of the training patients: at random
//! (stratified, in `split`), or by the lowest patient ids, a validation set from another
//! stretch of acquisition built from training data alone.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::kaggle::ImageRecord;
use super::split::strata;

/// How the official protocol carves validation out of the training patients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ValSplit {
    /// Random patients (stratified by the kinds they carry).
    #[default]
    Random,
    /// The patients with the lowest ids of each stratum: the dataset's ids follow
    /// acquisition, and the official test split's normal ids are low (IM-0001…0381 against
    /// IM-0115…1423 in train), so this is a validation set from another stretch of time,
    /// built from training data alone.
    #[value(name = "lowest_ids")]
    LowestIds,
}

/// The number in a patient id (`person123`, `IM-0115`, `NORMAL2-IM-0001` → 123, 115, 1).
fn id_number(patient: &str) -> u64 {
    let digits: String = patient.chars().rev().take_while(|c| c.is_ascii_digit()).collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or(u64::MAX)
}

/// Validation = the groups with the lowest id numbers of each stratum, until validation
/// holds `val_fraction` of the stratum's images; the rest is train. `[train, val, empty]`.
pub(super) fn assign_lowest_ids(
    records: &[ImageRecord],
    groups: &[&Vec<usize>],
    val_fraction: f64,
) -> [Vec<usize>; 3] {
    let strata = strata(records, groups);
    let mut sides: [Vec<usize>; 3] = Default::default();
    for (_, mut members) in strata {
        let key = |g: &Vec<usize>| {
            g.iter().map(|&i| (id_number(&records[i].patient), records[i].patient.clone())).min()
        };
        members.sort_by_cached_key(|g| key(g));
        let total: usize = members.iter().map(|g| g.len()).sum();
        let mut in_val = 0;
        for g in members {
            let side = if (in_val as f64) < val_fraction * total as f64 { 1 } else { 0 };
            if side == 1 {
                in_val += g.len();
            }
            sides[side].extend_from_slice(g);
        }
    }
    for s in &mut sides {
        s.sort_unstable();
    }
    sides
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::data::split::{split_with, verify_disjoint, Protocol};

    #[test]
    fn lowest_ids_take_the_earliest_patients_of_each_stratum() {
        assert_eq!(
            (id_number("person123"), id_number("IM-0115"), id_number("NORMAL2-IM-0001")),
            (123, 115, 1)
        );
        let recs = super::super::split::tests::synthetic();
        let s = split_with(&recs, Protocol::Official, 1, (0.2, ValSplit::LowestIds)).unwrap();
        verify_disjoint(&recs, &s).unwrap();
        let share = s.val.len() as f64 / (s.val.len() + s.train.len()) as f64;
        assert!((share - 0.2).abs() < 0.02, "{share}");
        // Per stratum (the set of kinds a patient carries), every validation id comes before
        // every training id.
        let mut masks: HashMap<&str, u8> = HashMap::new();
        for r in &recs {
            *masks.entry(r.patient.as_str()).or_default() |= 1 << r.kind.index();
        }
        for mask in masks.values().copied().collect::<HashSet<u8>>() {
            let ids = |side: &[usize]| -> Vec<u64> {
                side.iter()
                    .filter(|&&i| masks[recs[i].patient.as_str()] == mask)
                    .map(|&i| id_number(&recs[i].patient))
                    .collect()
            };
            let (val, train) = (ids(&s.val), ids(&s.train));
            assert!(val.iter().max() < train.iter().min(), "stratum {mask}");
        }
    }
}
