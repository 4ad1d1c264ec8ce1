//! Patient-disjoint, content-disjoint train/validation/test splits.
//!
//! Images are first joined into groups: two images share a group when they share a patient id
//! or byte-identical content (union-find). A group is assigned to one side, once. Groups are
//! stratified by the *set* of kinds they carry (normal, bacterial only, viral only, both), so
//! a patient with bacterial and viral images is never assigned twice and the class mix of the
//! small sides is not skewed. Within a stratum, shuffled groups go one by one to the side that
//! is furthest below its target share of images.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{bail, Result};
use clap::ValueEnum;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::filename::Kind;
use super::kaggle::{ImageRecord, OfficialSplit};
pub use super::sealed::SelectionFrozen;
use super::val_split::assign_lowest_ids;
pub use super::val_split::ValSplit;

/// How test data is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Test = the official test split (624 images); validation carved from train by patient.
    Official,
    /// All images pooled and split 60/20/20 by patient (comparable with the seed report).
    Pooled,
}

/// Minimum images per kind (normal, bacterial, viral) on a side.
pub type Minimum = [usize; 3];
pub const MIN_VALIDATION: Minimum = [50, 25, 25];
pub const MIN_TEST_POOLED: Minimum = [200, 100, 100];

/// Which side each image went to; indices into the record slice given to `split`.
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    /// Sealed: a run reaches it through [`Split::test`], which asks for proof that its
    /// selection is frozen; audits of the split itself use [`Split::test_unsealed`].
    test: Vec<usize>,
    /// Official protocol: training images left out because their patient id or content also
    /// occurs in the official test split.
    pub excluded: Vec<usize>,
    pub summary: SplitSummary,
}

/// What a user needs to see about a split; goes into metrics.json.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SplitSummary {
    pub protocol: Option<Protocol>,
    pub seed: u64,
    /// Images per kind on each side, as {"normal": n, "bacterial": n, "viral": n}.
    pub train: BTreeMap<String, usize>,
    pub val: BTreeMap<String, usize>,
    pub test: BTreeMap<String, usize>,
    pub patients: BTreeMap<String, usize>,
    /// Official protocol: patient ids of the official test split that also occur in official
    /// train/val (the numbering is ambiguous; those training images are excluded).
    pub official_test_ids_also_in_train: usize,
    pub excluded_train_images: usize,
    /// Official protocol: how validation was carved out of the training patients.
    #[serde(default)]
    pub val_split: ValSplit,
    /// Groups of byte-identical images that were kept together.
    pub duplicate_content_groups: usize,
}

impl Split {
    /// The test images, once the selection is frozen.
    pub fn test(&self, _frozen: &SelectionFrozen) -> &[usize] {
        &self.test
    }

    /// The test images for checks of the split itself (sizes, disjointness, model cards):
    /// never in a path that trains or chooses.
    pub fn test_unsealed(&self) -> &[usize] {
        &self.test
    }
}

/// Splits `records` by `protocol`. `val_fraction` is the share of the training pool (official)
/// that goes to validation; the pooled protocol is always 60/20/20.
pub fn split(records: &[ImageRecord], protocol: Protocol, seed: u64, val_fraction: f64) -> Result<Split> {
    split_with(records, protocol, seed, (val_fraction, ValSplit::Random))
}

/// [`split`] with the official protocol's validation carved by `val_split`.
pub fn split_with(
    records: &[ImageRecord],
    protocol: Protocol,
    seed: u64,
    (val_fraction, val_split): (f64, ValSplit),
) -> Result<Split> {
    if !(0.0..1.0).contains(&val_fraction) || val_fraction == 0.0 {
        bail!("validation fraction must be in (0, 1), got {val_fraction}");
    }
    let groups = group_images(records);
    let mut s = Split::default();
    match protocol {
        Protocol::Pooled => {
            let all: Vec<&Vec<usize>> = groups.iter().collect();
            let sides = assign(records, &all, &[0.6, 0.2, 0.2], seed);
            [s.train, s.val, s.test] = sides;
        }
        Protocol::Official => {
            let mut pool = Vec::new();
            for g in &groups {
                let has_test = g.iter().any(|&i| records[i].official == OfficialSplit::Test);
                if has_test {
                    for &i in g {
                        if records[i].official == OfficialSplit::Test {
                            s.test.push(i);
                        } else {
                            s.excluded.push(i);
                        }
                    }
                } else {
                    pool.push(g);
                }
            }
            let [train, val, _] = match val_split {
                ValSplit::Random => assign(records, &pool, &[1.0 - val_fraction, val_fraction, 0.0], seed),
                ValSplit::LowestIds => assign_lowest_ids(records, &pool, val_fraction),
            };
            s.train = train;
            s.val = val;
            s.test.sort_unstable();
            s.excluded.sort_unstable();
            let test_ids: HashSet<&str> = records
                .iter()
                .filter(|r| r.official == OfficialSplit::Test)
                .map(|r| r.patient.as_str())
                .collect();
            let train_ids: HashSet<&str> = records
                .iter()
                .filter(|r| r.official != OfficialSplit::Test)
                .map(|r| r.patient.as_str())
                .collect();
            s.summary.official_test_ids_also_in_train = test_ids.intersection(&train_ids).count();
        }
    }
    verify_disjoint(records, &s)?;
    check_minimum(records, &s.val, MIN_VALIDATION, "validation")?;
    if protocol == Protocol::Pooled {
        check_minimum(records, &s.test, MIN_TEST_POOLED, "test")?;
    }
    s.summary.protocol = Some(protocol);
    s.summary.seed = seed;
    s.summary.train = kind_counts(records, &s.train);
    s.summary.val = kind_counts(records, &s.val);
    s.summary.test = kind_counts(records, &s.test);
    for (name, side) in [("train", &s.train), ("val", &s.val), ("test", &s.test)] {
        let ids: HashSet<&str> = side.iter().map(|&i| records[i].patient.as_str()).collect();
        s.summary.patients.insert(name.into(), ids.len());
    }
    s.summary.excluded_train_images = s.excluded.len();
    s.summary.val_split = val_split;
    s.summary.duplicate_content_groups = duplicate_content_groups(records);
    Ok(s)
}

/// Connected components of "same patient id or same content".
pub(super) fn group_images(records: &[ImageRecord]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..records.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut first_by_patient: HashMap<&str, usize> = HashMap::new();
    let mut first_by_hash: HashMap<[u8; 32], usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        for first in [
            *first_by_patient.entry(r.patient.as_str()).or_insert(i),
            *first_by_hash.entry(r.sha256).or_insert(i),
        ] {
            let (a, b) = (find(&mut parent, first), find(&mut parent, i));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..records.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    groups.into_values().collect()
}

/// Stratified greedy assignment of groups to three sides with target image shares `target`.
/// Groups by stratum: the set of kinds a group carries, as a bit mask of kind indices.
pub(super) fn strata<'a>(
    records: &[ImageRecord],
    groups: &[&'a Vec<usize>],
) -> BTreeMap<u8, Vec<&'a Vec<usize>>> {
    let mut strata: BTreeMap<u8, Vec<&Vec<usize>>> = BTreeMap::new();
    for g in groups {
        let mask = g.iter().fold(0u8, |m, &i| m | 1 << records[i].kind.index());
        strata.entry(mask).or_default().push(g);
    }
    strata
}

pub(super) fn assign(
    records: &[ImageRecord],
    groups: &[&Vec<usize>],
    target: &[f64; 3],
    seed: u64,
) -> [Vec<usize>; 3] {
    let strata = strata(records, groups);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sides: [Vec<usize>; 3] = Default::default();
    for (_, mut members) in strata {
        members.shuffle(&mut rng);
        let mut assigned = [0usize; 3];
        for g in members {
            let total = (assigned.iter().sum::<usize>() + g.len()) as f64;
            // The side furthest below its share after this group lands (ties: first side).
            let side = (0..3)
                .filter(|&s| target[s] > 0.0)
                .max_by(|&a, &b| {
                    let da = target[a] * total - assigned[a] as f64;
                    let db = target[b] * total - assigned[b] as f64;
                    da.partial_cmp(&db).unwrap_or(std::cmp::Ordering::Equal).then(b.cmp(&a))
                })
                .unwrap_or(0);
            assigned[side] += g.len();
            sides[side].extend_from_slice(g);
        }
    }
    for s in &mut sides {
        s.sort_unstable();
    }
    sides
}

/// Fails if any patient id or image content sits on two sides (train, val, test, excluded
/// count as one side each, except that excluded may share with test by construction).
pub fn verify_disjoint(records: &[ImageRecord], s: &Split) -> Result<()> {
    let sides: [(&str, &[usize]); 3] = [("train", &s.train), ("val", &s.val), ("test", &s.test)];
    let mut patient_side: HashMap<&str, &str> = HashMap::new();
    let mut content_side: HashMap<[u8; 32], &str> = HashMap::new();
    for (name, idx) in sides {
        for &i in idx {
            let r = &records[i];
            if let Some(other) = patient_side.insert(r.patient.as_str(), name) {
                if other != name {
                    bail!("patient {} is in both {other} and {name} ({})", r.patient, r.path.display());
                }
            }
            if let Some(other) = content_side.insert(r.sha256, name) {
                if other != name {
                    bail!("the content of {} is in both {other} and {name}", r.path.display());
                }
            }
        }
    }
    let total = s.train.len() + s.val.len() + s.test.len() + s.excluded.len();
    if total != records.len() {
        bail!("split lost images: {total} assigned of {}", records.len());
    }
    Ok(())
}

fn check_minimum(records: &[ImageRecord], side: &[usize], min: Minimum, name: &str) -> Result<()> {
    let counts = count_kinds(records, side);
    for k in Kind::ALL {
        if counts[k.index()] < min[k.index()] {
            bail!(
                "the {name} side has {} {} images, fewer than the {} required; the data set is too small for this protocol",
                counts[k.index()],
                k.name(),
                min[k.index()]
            );
        }
    }
    Ok(())
}

/// Images per kind, indexed by `Kind::index`.
pub fn count_kinds(records: &[ImageRecord], side: &[usize]) -> [usize; 3] {
    let mut c = [0; 3];
    for &i in side {
        c[records[i].kind.index()] += 1;
    }
    c
}

fn kind_counts(records: &[ImageRecord], side: &[usize]) -> BTreeMap<String, usize> {
    let c = count_kinds(records, side);
    Kind::ALL.iter().map(|k| (k.name().to_string(), c[k.index()])).collect()
}

fn duplicate_content_groups(records: &[ImageRecord]) -> usize {
    let mut n: HashMap<[u8; 32], usize> = HashMap::new();
    for r in records {
        *n.entry(r.sha256).or_default() += 1;
    }
    n.values().filter(|&&c| c > 1).count()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::path::PathBuf;

    fn rec(i: usize, official: OfficialSplit, kind: Kind, patient: &str, content: u8) -> ImageRecord {
        let mut sha256 = [0u8; 32];
        sha256[0] = content;
        sha256[1..9].copy_from_slice(&(i as u64).to_le_bytes());
        if content != 0 {
            sha256[1..9].fill(0);
        }
        ImageRecord { path: PathBuf::from(format!("f{i}")), official, kind, patient: patient.into(), sha256 }
    }

    /// A synthetic set big enough for the minima (pooled test needs 200 normal): 3,000 images,
    /// two per patient.
    pub(crate) fn synthetic() -> Vec<ImageRecord> {
        let mut v = Vec::new();
        for i in 0..3000 {
            let kind = Kind::ALL[i % 3];
            let official = if i % 5 == 0 { OfficialSplit::Test } else { OfficialSplit::Train };
            v.push(rec(i, official, kind, &format!("p{}", i / 2), 0));
        }
        v
    }

    #[test]
    fn two_kind_patient_is_assigned_once() {
        let mut v = synthetic();
        // Patient "both" has a bacterial and a viral image.
        v.push(rec(5000, OfficialSplit::Train, Kind::Bacterial, "both", 0));
        v.push(rec(5001, OfficialSplit::Train, Kind::Viral, "both", 0));
        for seed in 0..5 {
            let s = split(&v, Protocol::Pooled, seed, 0.1).unwrap();
            let side_of = |i: usize| [&s.train, &s.val, &s.test].iter().position(|x| x.contains(&i));
            assert_eq!(side_of(v.len() - 1), side_of(v.len() - 2));
        }
    }

    #[test]
    fn identical_content_under_two_patients_stays_together() {
        let mut v = synthetic();
        v.push(rec(6000, OfficialSplit::Train, Kind::Normal, "a", 9));
        v.push(rec(6001, OfficialSplit::Train, Kind::Normal, "b", 9));
        let s = split(&v, Protocol::Pooled, 3, 0.1).unwrap();
        verify_disjoint(&v, &s).unwrap();
        assert_eq!(s.summary.duplicate_content_groups, 1);
    }

    #[test]
    fn official_keeps_test_and_excludes_overlapping_train_patients() {
        let mut v = synthetic();
        let test_before = v.iter().filter(|r| r.official == OfficialSplit::Test).count();
        // Patient p0 has image 0 in test and image 1 in train.
        let s = split(&v, Protocol::Official, 1, 0.1).unwrap();
        assert_eq!(s.test.len(), test_before);
        assert!(s.excluded.contains(&1));
        assert!(s.summary.official_test_ids_also_in_train > 0);
        // Minimum counts are enforced.
        v.truncate(100);
        assert!(split(&v, Protocol::Official, 1, 0.1).is_err());
    }

    #[test]
    fn pooled_shares_are_close_to_60_20_20_and_seeded() {
        let v = synthetic();
        let a = split(&v, Protocol::Pooled, 7, 0.1).unwrap();
        let b = split(&v, Protocol::Pooled, 7, 0.1).unwrap();
        assert_eq!(a.train, b.train);
        let n = v.len() as f64;
        assert!((a.train.len() as f64 / n - 0.6).abs() < 0.02);
        assert!((a.test.len() as f64 / n - 0.2).abs() < 0.02);
        let c = split(&v, Protocol::Pooled, 8, 0.1).unwrap();
        assert_ne!(a.test, c.test);
    }

    #[test]
    fn verify_catches_a_leak() {
        let v = synthetic();
        let mut s = split(&v, Protocol::Pooled, 7, 0.1).unwrap();
        let moved = s.train.pop().unwrap();
        // Put one image of a training patient into test.
        s.test.push(moved);
        let partner = moved ^ 1; // images 2k and 2k+1 share a patient
        if s.test.contains(&partner) {
            return; // the whole patient moved; nothing leaked
        }
        assert!(verify_disjoint(&v, &s).is_err());
    }
}
