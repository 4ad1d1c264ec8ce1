//! Build models with the host serializer, load them, run them, and compare bit for bit with
//! `int8-reference`, the plain integer interpreter written from `shared/INT8.md` (no arena, no
//! ping-pong, no fusion, its own rounding).

mod common;

use common::{seed_cnn, tiny_net, Net, Rng};
use infer_core::{Error, LayerDef, Model, RunError, Shape};

// ------------------------------------------------------------------------------------- tests

fn random_input(rng: &mut Rng, n: usize) -> Vec<i8> {
    rng.bytes(n).into_iter().map(|b| b as i8).collect()
}

fn check_against_reference(net: &Net, runs: u64) {
    let blob = net.blob();
    let model = Model::from_bytes(&blob).expect("valid blob");
    let mut arena = vec![0u8; model.arena_len()];
    let mut rng = Rng::new(7);
    let mut distinct = std::collections::HashSet::new();
    for _ in 0..runs {
        let x = random_input(&mut rng, model.input_shape().len());
        let out = model.run(&x, &mut arena).expect("run");
        let got: Vec<i8> = out.values().collect();
        assert_eq!(got, int8_reference::run(&blob, &x).expect("reference runs"));
        distinct.insert(got);
    }
    assert!(runs < 4 || distinct.len() > 1, "output does not depend on the input");
}

#[test]
fn tiny_model_matches_reference_interpreter() {
    for seed in 0..20 {
        check_against_reference(&tiny_net(seed), 10);
    }
}

#[test]
fn tiny_model_arena_is_the_largest_layer_pair_plus_slot() {
    let net = tiny_net(1);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    // input 7×6×2 = 84 → conv+pool 4×3×4 = 48 (pair 132); depthwise/add/… 48+48 = 96; slot 48.
    assert_eq!(model.arena_parts(), (132, [48, 0, 0, 0]));
    assert_eq!(model.arena_len(), 180);
    assert_eq!(model.layer_count(), 9);
    assert_eq!(model.output_spec().shape, Shape { h: 1, w: 1, c: 3 });
}

#[test]
fn seed_cnn_arena_and_run() {
    let net = seed_cnn(3);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    // Largest pair: conv2's input 90×90×32 (259,200) + its pooled output 45×45×64 (129,600).
    assert_eq!(model.arena_len(), 388_800);
    assert_eq!(model.input_shape(), Shape { h: 180, w: 180, c: 1 });
    assert_eq!(model.output_spec().shape, Shape { h: 1, w: 1, c: 1 });
    let params: usize = net
        .layer_defs()
        .iter()
        .map(|l| match l {
            LayerDef::Conv2d(c) => c.weights.len() + c.channels.bias.len() / 4,
            LayerDef::Dense(d) => d.weights.len() + d.channels.bias.len() / 4,
            _ => 0,
        })
        .sum();
    assert_eq!(params, 464_001);
    let mut arena = vec![0u8; model.arena_len()];
    let pixels: Vec<u8> = Rng::new(5).bytes(180 * 180);
    let p = model.run_u8(&pixels, &mut arena).unwrap().probability().unwrap();
    assert!((0.0..=1.0).contains(&p));
}

#[test]
fn run_u8_equals_run_on_shifted_pixels() {
    let net = tiny_net(2);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let pixels = Rng::new(9).bytes(model.input_shape().len());
    let q: Vec<i8> = pixels.iter().map(|&p| (i16::from(p) - 128) as i8).collect();
    let mut a1 = vec![0u8; model.arena_len()];
    let mut a2 = vec![0xAAu8; model.arena_len() + 100];
    let o1: Vec<i8> = model.run_u8(&pixels, &mut a1).unwrap().values().collect();
    let o2: Vec<i8> = model.run(&q, &mut a2).unwrap().values().collect();
    assert_eq!(o1, o2);
}

#[test]
fn caller_errors() {
    let net = tiny_net(3);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let n = model.input_shape().len();
    let mut small = vec![0u8; model.arena_len() - 1];
    assert_eq!(
        model.run(&vec![0; n], &mut small).unwrap_err(),
        RunError::ArenaTooSmall { needed: model.arena_len(), got: model.arena_len() - 1 }
    );
    let mut arena = vec![0u8; model.arena_len()];
    assert_eq!(
        model.run(&vec![0; n - 1], &mut arena).unwrap_err(),
        RunError::InputLength { expected: n, got: n - 1 }
    );
}

#[test]
fn writer_rejects_invalid_models_and_small_buffers() {
    let net = tiny_net(4);
    let mut defs = net.layer_defs();
    let def = infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs };
    let mut tiny = [0u8; 40];
    assert_eq!(infer_core::write_blob(&def, &mut tiny), Err(Error::Encode));
    // Chop a weight off the first conv: the writer's load-back names layer 0's weights.
    if let LayerDef::Conv2d(c) = &mut defs[0] {
        c.weights = &c.weights[1..];
    }
    let def = infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs };
    let mut buf = vec![0u8; 4096];
    let err = infer_core::write_blob(&def, &mut buf).unwrap_err();
    assert!(matches!(err, Error::Layer { index: 0, field: "weights", .. }), "{err}");
    assert_eq!(err.to_string(), "layer 0 (conv2d) field `weights`: length 71, expected 72");
    // A wrong declared output is caught too.
    let defs = net.layer_defs();
    let mut out = net.cur;
    out.quant.zero_point += 1;
    let def = infer_core::ModelDef { input: net.input, output: out, layers: &defs };
    let err = infer_core::write_blob(&def, &mut buf).unwrap_err();
    assert_eq!(err, Error::Model { field: "output", problem: infer_core::Problem::QuantMismatch });
}

#[test]
fn layers_decode_back_to_the_definitions() {
    let net = tiny_net(5);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let decoded: Vec<LayerDef> = model.layers().collect();
    assert_eq!(decoded, net.layer_defs());
}

#[cfg(feature = "std")]
#[test]
fn to_blob_equals_write_blob() {
    let net = tiny_net(6);
    let defs = net.layer_defs();
    let def = infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs };
    assert_eq!(infer_core::to_blob(&def).unwrap(), net.blob());
}
