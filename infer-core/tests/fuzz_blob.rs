//! Hostile blobs: random bytes, truncations, bit flips (with and without a repaired CRC),
//! overwritten bytes and oversized length fields. `from_bytes` must return Err or a model that
//! then runs without panicking — in a debug build, so any integer overflow the validator missed
//! would panic here. 11,500 generated cases plus every single-bit flip of the body, and the
//! same mutations (1,500 cases, every single-bit flip) of a blob with `Mean` and `Softmax`, and
//! (750 cases, every single-bit flip) of one ending in `Logistic`, and (1,500 cases, every
//! single-bit flip, run streamed too) of one with two `AvgPool`s.

mod common;

use common::{avg_pool_net, keras_head_net, tflite_head_net, tiny_net, Rng};
use infer_core::{crc32, Error, Model, RunError, HEADER_LEN};
use proptest::prelude::*;
use std::sync::OnceLock;

fn base() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| tiny_net(11).blob())
}

/// A blob with the TFLite-import layers (softmax per pixel, mean, softmax).
fn head() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| tflite_head_net(12).blob())
}

/// A blob ending dense → logistic (a 256-byte table).
fn keras_head() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| keras_head_net(13).blob())
}

/// A blob with two average pools ('SAME' with RELU6, 'VALID' 2×3 with RELU) between a conv and
/// a dense layer.
fn pools() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| avg_pool_net(14).blob())
}

/// Flip `flips` (or overwrite with `edits`) in `base`'s body, repair the CRC, load and run.
fn mutate_and_run(base: &[u8], flips: &[(prop::sample::Index, u8)], edits: &[(prop::sample::Index, u8)], seed: u64) {
    let mut b = base.to_vec();
    let body = b.len() - HEADER_LEN;
    for (i, bit) in flips {
        b[HEADER_LEN + i.index(body)] ^= 1 << bit;
    }
    for (i, v) in edits {
        b[HEADER_LEN + i.index(body)] = *v;
    }
    repair(&mut b);
    let _ = load_and_run(&b, seed);
}

/// Recompute the header's body length and CRC so mutations reach the decoder and validator.
fn repair(blob: &mut [u8]) {
    let body_len = (blob.len() - HEADER_LEN) as u32;
    let crc = crc32(&blob[HEADER_LEN..]);
    blob[8..12].copy_from_slice(&body_len.to_le_bytes());
    blob[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// Load, and if that works, run (with both entry points) on a few inputs.
fn load_and_run(bytes: &[u8], seed: u64) -> Result<(), Error> {
    let model = Model::from_bytes(bytes)?;
    let mut rng = Rng::new(seed);
    // Cap the arena so a model inflated by a mutation cannot exhaust memory; too small an
    // arena must be an error, not a panic.
    let mut arena = vec![0u8; model.arena_len().min(1 << 20)];
    let n = model.input_shape().len();
    if n > 1 << 20 {
        return Ok(());
    }
    let x: Vec<i8> = rng.bytes(n).into_iter().map(|b| b as i8).collect();
    match model.run(&x, &mut arena) {
        Ok(out) => {
            assert_eq!(out.len(), model.output_spec().shape.len());
            let _ = (out.probability(), out.argmax());
        }
        Err(e) => {
            assert!(matches!(e, RunError::ArenaTooSmall { .. }), "run failed after a successful load: {e}")
        }
    }
    let _ = model.run_u8(&rng.bytes(n), &mut arena);
    // The row-streamed run as well (its bands re-derive every window).
    let mut arena = vec![0u8; model.streamed_arena_len().min(1 << 20)];
    if let Err(e) = model.run_streamed(&x, &mut arena) {
        assert!(matches!(e, RunError::ArenaTooSmall { .. }), "streamed run failed after a successful load: {e}")
    }
    Ok(())
}

#[test]
fn base_blob_loads_and_runs() {
    load_and_run(base(), 0).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2500))]

    /// Pure garbage, with and without a valid header in front of it.
    #[test]
    fn random_bytes(mut body in proptest::collection::vec(any::<u8>(), 0..400), header in any::<bool>()) {
        if header {
            let mut b = base()[..HEADER_LEN].to_vec();
            b.extend_from_slice(&body);
            repair(&mut b);
            body = b;
        }
        let _ = load_and_run(&body, 1);
    }

    /// Flipped bits without repairing the CRC: always an error.
    #[test]
    fn bit_flips_are_caught(flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4)) {
        let mut b = base().to_vec();
        let n = b.len();
        for (i, bit) in &flips {
            b[i.index(n)] ^= 1 << bit;
        }
        prop_assume!(b != base());
        prop_assert!(Model::from_bytes(&b).is_err());
    }

    /// Flipped bits in the body with the CRC repaired: reaches the validator and the kernels.
    #[test]
    fn bit_flips_with_valid_crc(flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..5), seed in any::<u64>()) {
        let mut b = base().to_vec();
        let body = b.len() - HEADER_LEN;
        for (i, bit) in &flips {
            b[HEADER_LEN + i.index(body)] ^= 1 << bit;
        }
        repair(&mut b);
        let _ = load_and_run(&b, seed);
    }

    /// Bytes overwritten with extremes (huge varints, 0x80 weights, zeroed lengths), CRC repaired.
    #[test]
    fn overwritten_bytes(edits in proptest::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(0xFFu8), Just(0x80), Just(0), Just(0x7F), any::<u8>()]), 1..4), seed in any::<u64>()) {
        let mut b = base().to_vec();
        let body = b.len() - HEADER_LEN;
        for (i, v) in &edits {
            b[HEADER_LEN + i.index(body)] = *v;
        }
        repair(&mut b);
        let _ = load_and_run(&b, seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(750))]

    /// The TFLite-import layers' fields, flipped.
    #[test]
    fn head_bit_flips_with_valid_crc(flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..5), seed in any::<u64>()) {
        mutate_and_run(head(), &flips, &[], seed);
    }

    /// The TFLite-import layers' fields, overwritten with extremes.
    #[test]
    fn head_overwritten_bytes(edits in proptest::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(0xFFu8), Just(0x80), Just(0), Just(0x7F), Just(0x3E), any::<u8>()]), 1..4), seed in any::<u64>()) {
        mutate_and_run(head(), &[], &edits, seed);
    }

    /// The average pools' windows, quantization and activations, flipped.
    #[test]
    fn pools_bit_flips_with_valid_crc(flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..5), seed in any::<u64>()) {
        mutate_and_run(pools(), &flips, &[], seed);
    }

    /// The average pools' fields overwritten with extremes.
    #[test]
    fn pools_overwritten_bytes(edits in proptest::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(0xFFu8), Just(0x80), Just(0), Just(0x7F), Just(0x01), any::<u8>()]), 1..4), seed in any::<u64>()) {
        mutate_and_run(pools(), &[], &edits, seed);
    }

    /// The logistic's table and output quantization among the bytes overwritten.
    #[test]
    fn keras_head_overwritten_bytes(edits in proptest::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(0xFFu8), Just(0x80), Just(0), Just(0x7F), any::<u8>()]), 1..4), seed in any::<u64>()) {
        mutate_and_run(keras_head(), &[], &edits, seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every strict prefix is an error, with the header as written or repaired to match.
    #[test]
    fn truncations(cut in any::<prop::sample::Index>(), fix in any::<bool>()) {
        let mut b = base().to_vec();
        b.truncate(cut.index(b.len()));
        if fix && b.len() >= HEADER_LEN {
            repair(&mut b);
            let _ = load_and_run(&b, 3);
        } else {
            prop_assert!(Model::from_bytes(&b).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A body length larger than the bytes present is `Truncated`, never an out-of-bounds read.
    #[test]
    fn oversized_length_field(extra in 1u32..=u32::MAX) {
        let mut b = base().to_vec();
        let len = ((b.len() - HEADER_LEN) as u32).saturating_add(extra);
        prop_assume!(len as usize > b.len() - HEADER_LEN);
        b[8..12].copy_from_slice(&len.to_le_bytes());
        let truncated = matches!(Model::from_bytes(&b), Err(Error::Truncated { .. }));
        prop_assert!(truncated);
    }
}

/// Each single-bit flip of the body with a repaired CRC, exhaustively (deterministic coverage
/// of every field the property tests might miss).
#[test]
fn every_single_bit_flip_with_valid_crc() {
    single_bit_flips(base());
}

#[test]
fn head_loads_runs_and_every_single_bit_flip() {
    load_and_run(head(), 0).unwrap();
    single_bit_flips(head());
}

#[test]
fn keras_head_loads_runs_and_every_single_bit_flip() {
    load_and_run(keras_head(), 0).unwrap();
    single_bit_flips(keras_head());
}

#[test]
fn pools_load_run_and_every_single_bit_flip() {
    load_and_run(pools(), 0).unwrap();
    single_bit_flips(pools());
}

fn single_bit_flips(base: &[u8]) {
    let (mut ok, mut err) = (0, 0);
    for i in HEADER_LEN..base.len() {
        for bit in 0..8 {
            let mut b = base.to_vec();
            b[i] ^= 1 << bit;
            repair(&mut b);
            match load_and_run(&b, i as u64) {
                Ok(()) => ok += 1,
                Err(_) => err += 1,
            }
        }
    }
    // Weight bits mostly survive (new weights), structural bits mostly do not.
    eprintln!("single-bit flips with repaired CRC: {ok} loaded and ran, {err} rejected");
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}
