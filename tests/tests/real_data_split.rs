//! On the real data set in ../shared/data: both protocols are patient- and content-disjoint
//! and meet the minimum images per kind, and the numbers users will see are what DATASET.md
//! says. Set CHEST_XRAY_DIR to test another copy.

use std::collections::HashSet;
use std::path::PathBuf;

use trainer::data::kaggle::{scan, Scan};
use trainer::data::split::{count_kinds, split, verify_disjoint, MIN_TEST_POOLED, MIN_VALIDATION};
use trainer::data::{OfficialSplit, Protocol};

fn data_dir() -> PathBuf {
    std::env::var_os("CHEST_XRAY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/chest_xray"))
}

fn real_scan() -> Scan {
    let dir = data_dir();
    scan(&dir).unwrap_or_else(|e| panic!("the real data set is needed at {}: {e:#}", dir.display()))
}

#[test]
fn the_real_set_scans_completely() {
    let s = real_scan();
    assert_eq!(s.images.len(), 5856);
    assert!(s.skipped.is_empty(), "{:?}", s.skipped);
    let ids: HashSet<&str> = s.images.iter().map(|r| r.patient.as_str()).collect();
    assert_eq!(ids.len(), 3118);
    assert_eq!(count_kinds(&s.images, &(0..s.images.len()).collect::<Vec<_>>()), [1583, 2780, 1493]);
}

#[test]
fn both_protocols_are_disjoint_and_large_enough_for_several_seeds() {
    let s = real_scan();
    let recs = &s.images;
    for seed in [1, 42, 2024] {
        for protocol in [Protocol::Official, Protocol::Pooled] {
            let sp = split(recs, protocol, seed, 0.1).unwrap();
            verify_disjoint(recs, &sp).unwrap();
            // Independent re-check of disjointness, by patient id and by content.
            let side = |idx: &[usize]| -> (HashSet<String>, HashSet<[u8; 32]>) {
                (
                    idx.iter().map(|&i| recs[i].patient.clone()).collect(),
                    idx.iter().map(|&i| recs[i].sha256).collect(),
                )
            };
            let (tp, tc) = side(&sp.train);
            let (vp, vc) = side(&sp.val);
            let (sp_, sc) = side(sp.test_unsealed());
            assert!(
                tp.is_disjoint(&vp) && tp.is_disjoint(&sp_) && vp.is_disjoint(&sp_),
                "{protocol:?} seed {seed}: patient leak"
            );
            assert!(
                tc.is_disjoint(&vc) && tc.is_disjoint(&sc) && vc.is_disjoint(&sc),
                "{protocol:?} seed {seed}: content leak"
            );
            let val = count_kinds(recs, &sp.val);
            let test = count_kinds(recs, sp.test_unsealed());
            for k in 0..3 {
                assert!(val[k] >= MIN_VALIDATION[k], "{protocol:?} seed {seed}: validation {val:?}");
            }
            match protocol {
                Protocol::Official => {
                    // Test is exactly the official test split.
                    assert_eq!(test, [234, 242, 148]);
                    assert!(sp.test_unsealed().iter().all(|&i| recs[i].official == OfficialSplit::Test));
                    assert!(sp.summary.official_test_ids_also_in_train > 0);
                }
                Protocol::Pooled => {
                    for k in 0..3 {
                        assert!(test[k] >= MIN_TEST_POOLED[k], "seed {seed}: test {test:?}");
                    }
                    let share = sp.test_unsealed().len() as f64 / recs.len() as f64;
                    assert!((share - 0.2).abs() < 0.01, "test share {share}");
                    assert!(sp.excluded.is_empty());
                }
            }
        }
    }
}
