//! Row-streamed runs (`run_streamed`) against layer-by-layer runs and the integer reference, on
//! random chains of every streamable op (strided and padded windows, fused pools, depthwise
//! multipliers, residual blocks, requantize, TFLite's average pool with non-square 'SAME' /
//! 'VALID' windows and fused activations) with and without a global-pool + dense tail.

mod common;

use common::{q, Net, Rng};
use infer_core::{Activation, Model, RunError, Shape, Window};
use proptest::prelude::*;

/// A random chain: each op code picks a layer kind, `rng` its parameters.
fn random_net(seed: u64, ops: &[u8], shape: Shape, tail: bool) -> Net {
    let mut rng = Rng::new(seed);
    let mut n = Net::new(shape, q(1.0 / 255.0, -128), seed);
    let act = |r: &mut Rng| [Activation::None, Activation::Relu, Activation::Relu6][r.range(0, 2) as usize];
    let out = |r: &mut Rng| q(0.02 + 0.1 * r.unit() as f32, r.range(-128, 127) as i8);
    for &op in ops {
        let c = n.cur.shape.c;
        match op {
            0 => {
                let (k, s) = (rng.range(1, 4) as u8, rng.range(1, 3) as u8);
                let (oc, a, pool, o) = (rng.range(1, 5) as u16, act(&mut rng), rng.range(0, 1) == 1, out(&mut rng));
                n.conv(k, s, oc, a, pool, o);
            }
            1 => {
                let (k, s, m) = (rng.range(1, 4) as u8, rng.range(1, 2) as u8, rng.range(1, 2) as u16);
                let (a, o) = (act(&mut rng), out(&mut rng));
                n.depthwise(k, s, m, a, o);
            }
            2 => {
                n.max_pool(rng.range(1, 3) as u8, rng.range(1, 2) as u8);
            }
            3 => {
                // An inverted-residual block: save, expand, depthwise, project, add.
                let (a, o1, o2, o3, o4) = (act(&mut rng), out(&mut rng), out(&mut rng), out(&mut rng), out(&mut rng));
                n.save(0).conv(1, 1, 2 * c, a, false, o1).depthwise(3, 1, 1, a, o2);
                n.conv(1, 1, c, Activation::None, false, o3).add(0, Activation::None, o4);
            }
            4 => {
                let o = out(&mut rng);
                n.requantize(o);
            }
            5 => {
                // PyTorch's symmetric padding, stride 2.
                let s = n.cur.shape;
                let (oc, a, o) = (rng.range(1, 4) as u16, act(&mut rng), out(&mut rng));
                n.conv_window(Window::symmetric(3, 2, 1, s.h, s.w), oc, a, false, o);
            }
            6 => {
                // Two slots open at once, closed in reverse order, elementwise in between.
                let (o1, o2, o3) = (out(&mut rng), out(&mut rng), out(&mut rng));
                n.save(1).requantize(o1).save(2).add(2, Activation::None, o2).add(1, Activation::Relu, o3);
            }
            _ => {
                // TFLite's average pool: kernels 1–4 (non-square), strides 1–3, 'VALID' where
                // the kernel fits, a fused activation.
                let (k, st) = ((rng.range(1, 4) as u8, rng.range(1, 4) as u8), (rng.range(1, 3) as u8, rng.range(1, 3) as u8));
                let s = n.cur.shape;
                let fits = u16::from(k.0) <= s.h && u16::from(k.1) <= s.w;
                let same = !fits || rng.range(0, 1) == 1;
                let a = act(&mut rng);
                n.avg_pool(k, st, same, a);
            }
        }
    }
    if tail {
        n.gap().dense(3, Activation::None, q(0.1, 0));
    }
    n
}

/// Streamed = layer by layer = reference on three inputs; returns whether streaming was used.
fn check(net: &Net) -> bool {
    let blob = net.blob();
    let model = Model::from_bytes(&blob).expect("valid blob");
    assert!(model.streamed_arena_len() <= model.arena_len());
    let mut full = vec![0u8; model.arena_len()];
    let mut small = vec![0xA5u8; model.streamed_arena_len()];
    let mut rng = Rng::new(11);
    for _ in 0..3 {
        let x: Vec<i8> = rng.bytes(model.input_shape().len()).into_iter().map(|b| b as i8).collect();
        let want: Vec<i8> = model.run(&x, &mut full).unwrap().values().collect();
        let got: Vec<i8> = model.run_streamed(&x, &mut small).unwrap().values().collect();
        assert_eq!(got, want, "streamed over {} layers", model.streamed_layers());
        assert_eq!(want, int8_reference::run(&blob, &x).expect("reference runs"));
    }
    model.streamed_layers() > 0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn streamed_equals_layer_by_layer(
        seed in any::<u64>(),
        ops in proptest::collection::vec(0..8u8, 1..7),
        (h, w, c) in (8..48u16, 1..6u16, 1..3u16),
        tail in any::<bool>(),
    ) {
        check(&random_net(seed, &ops, Shape { h, w, c }, tail));
    }
}

/// Tall inputs make streaming pay off: it must be chosen, and still give the same bytes.
#[test]
fn streaming_is_chosen_when_it_saves_memory() {
    for seed in 0..20 {
        let ops = [0, 3, 1, 5, 7, 3, 6, 2];
        let net = random_net(seed, &ops[..2 + (seed as usize % 7)], Shape { h: 64, w: 5, c: 2 }, seed % 2 == 0);
        assert!(check(&net), "seed {seed}: not streamed");
    }
}

/// Average pools are windowed layers: they stream in row bands (each band's clipped windows
/// keep their tap counts), 'SAME' and 'VALID', strided, non-square.
#[test]
fn average_pools_stream() {
    for seed in 0..6 {
        let mut n = Net::new(Shape { h: 64, w: 6, c: 2 }, q(1.0 / 255.0, -128), seed);
        n.conv(3, 1, 4, Activation::Relu, false, q(0.05, -128))
            .avg_pool((3, 3), (2, 2), true, Activation::Relu6)
            .avg_pool((4, 2), (3, 1), false, Activation::None)
            .avg_pool((2, 3), (1, 2), true, Activation::Relu)
            .conv(1, 1, 3, Activation::None, false, q(0.04, 2));
        assert!(check(&n), "seed {seed}: not streamed");
        let blob = n.blob();
        let streamed = Model::from_bytes(&blob).unwrap().streamed_layers();
        assert_eq!(streamed, 5, "every layer, the three pools included, is streamed");
    }
}

#[test]
fn streamed_run_checks_the_callers_arguments() {
    let net = random_net(3, &[0, 3, 1], Shape { h: 40, w: 4, c: 1 }, true);
    let blob = net.blob();
    let model = Model::from_bytes(&blob).unwrap();
    let needed = model.streamed_arena_len();
    let mut arena = vec![0u8; needed];
    assert_eq!(
        model.run_streamed(&[0; 160], &mut arena[..needed - 1]).unwrap_err(),
        RunError::ArenaTooSmall { needed, got: needed - 1 }
    );
    assert_eq!(model.run_u8_streamed(&[0; 7], &mut arena).unwrap_err(), RunError::InputLength { expected: 160, got: 7 });
}
