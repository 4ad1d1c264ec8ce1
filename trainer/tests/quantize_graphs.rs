//! Quantization without real data: a seed CNN and a small MobileNetV2-style residual graph with
//! random weights are exported, calibrated and quantized; the float graph must reproduce the
//! tch model, infer-core must equal the integer reference byte for byte, and the int8 logits
//! must stay close to the float ones.

use infer_core::{Activation, Model, Quant, Shape, Window};
use tch::{nn::VarStore, Device, Kind, Tensor};
use trainer::models::transfer::{Head, HeadKind, TransferModel};
use trainer::models::SeedCnn;
use trainer::quant::calibrate::{calibrate, Calibration};
use trainer::quant::evaluate::pixels_to_q;
use trainer::quant::export;
use trainer::quant::float_exec::TchGraph;
use trainer::quant::graph::{FloatGraph, FloatLayer};
use trainer::quant::quantize::QuantModel;
use trainer::quant::reference;

/// Deterministic pseudo-random values (tch's generator is global, and tests run in parallel).
fn lcg(seed: u32, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect()
}

fn random_pixels(seed: u32, n: i64, side: i64) -> Tensor {
    let v: Vec<u8> = lcg(seed, (n * side * side) as usize).iter().map(|&x| (x * 256.0) as u8).collect();
    Tensor::from_slice(&v).view([n, 1, side, side])
}

/// Overwrites every variable with uniform values of the default initialisation's size.
fn fill_deterministic(vs: &VarStore) {
    // By name: `variables()` is a HashMap, whose order changes from process to process.
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (_, mut t)) in vars.into_iter().enumerate() {
        let fan_in: i64 = t.size().iter().skip(1).product::<i64>().max(1);
        let bound = (3.0 / fan_in as f32).sqrt();
        let v: Vec<f32> = lcg(i as u32 + 11, t.numel()).iter().map(|&x| (x - 0.5) * 2.0 * bound).collect();
        tch::no_grad(|| t.copy_(&Tensor::from_slice(&v).view(t.size().as_slice())));
    }
}

fn pixels_of(batch: &Tensor, i: i64) -> Vec<u8> {
    Vec::<u8>::try_from(batch.get(i).flatten(0, -1)).unwrap()
}

/// Quantizes `graph` (calibrated on `calib`) and checks engine == reference on `images`;
/// returns the largest |int8 logit − float logit| as a share of the output's
/// quantized range (255 steps).
fn quantize_and_compare(graph: &FloatGraph, calib: &Tensor, images: &Tensor, method: Calibration) -> f64 {
    let tg = TchGraph::new(graph, Device::Cpu);
    let ranges = calibrate(graph, &tg, calib.split(8, 0).into_iter(), method);
    let blob = QuantModel::new(graph.clone(), &ranges).unwrap().blob().unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    let q = model.output_spec().quant;
    let float = tg.run(&tg.input_from_pixels(images), |_, _| ()).flatten(1, -1);
    let mut arena = vec![0u8; model.arena_len()];
    let mut worst = 0f64;
    for i in 0..images.size()[0] {
        let input = pixels_to_q(&pixels_of(images, i));
        let engine: Vec<i8> = model.run(&input, &mut arena).unwrap().values().collect();
        let reference = reference::run(&model, &input).unwrap();
        assert_eq!(engine, reference, "image {i}: infer-core and the integer reference differ");
        for (j, &v) in engine.iter().enumerate() {
            let deq = f64::from(q.dequantize(v));
            let f = float.double_value(&[i, j as i64]);
            worst = worst.max((deq - f).abs() / f64::from(q.scale));
        }
    }
    eprintln!("{method:?}: worst int8 logit error {:.4} of the output range", worst / 255.0);
    worst / 255.0
}

#[test]
fn seed_cnn_export_matches_tch_and_int8_matches_reference() {
    let vs = VarStore::new(Device::Cpu);
    let net = SeedCnn::new(&vs.root(), 37, 1); // odd size: every 'same' pool has a ragged edge
    fill_deterministic(&vs);
    let graph = export::seed_cnn(&net).unwrap();
    let tg = TchGraph::new(&graph, Device::Cpu);
    let px = random_pixels(1, 6, 37);
    let from_graph = tg.run(&tg.input_from_pixels(&px), |_, _| ()).flatten(0, -1);
    let from_tch = net.forward_t(&(px.to_kind(Kind::Float) / 255.0), false).flatten(0, -1);
    let err = (from_graph - &from_tch).abs().max().double_value(&[]);
    assert!(err < 1e-4, "export differs from the tch model by {err}");

    let worst = quantize_and_compare(
        &graph,
        &random_pixels(2, 32, 37),
        &random_pixels(3, 12, 37),
        Calibration::MinMax,
    );
    // Seven layers of int8 rounding on random weights: a few percent of the range at most
    // (a layout mistake gives errors of the order of the range itself).
    assert!(worst < 0.05, "int8 logit is off by {worst} of the output range");
}

/// conv 3×3/2 ReLU6 → save → 1×1 expand ReLU6 → depthwise 3×3 ReLU6 → 1×1 project → add →
/// depthwise 3×3/2 (multiplier 2) → global average pool → dense 2.
fn residual_graph(side: u16) -> FloatGraph {
    let mut seed = 100u32;
    let mut rnd = |n: usize, s: f32| -> Vec<f32> {
        seed += 1;
        lcg(seed, n).iter().map(|&x| (x - 0.5) * 2.0 * s).collect()
    };
    let stem = Window::same(3, 2, side, side);
    let h = stem.out_h;
    let dw = Window::same(3, 1, h, h);
    let down = Window::same(3, 2, h, h);
    let layers = vec![
        FloatLayer::Conv {
            out_channels: 8,
            window: stem,
            weights: rnd(8 * 9, 0.5),
            bias: rnd(8, 0.1),
            activation: Activation::Relu6,
            pool: None,
        },
        FloatLayer::Save { slot: 0 },
        FloatLayer::Conv {
            out_channels: 24,
            window: Window::same(1, 1, h, h),
            weights: rnd(24 * 8, 0.4),
            bias: rnd(24, 0.1),
            activation: Activation::Relu6,
            pool: None,
        },
        FloatLayer::Depthwise {
            depth_multiplier: 1,
            window: dw,
            weights: rnd(9 * 24, 0.5),
            bias: rnd(24, 0.1),
            activation: Activation::Relu6,
        },
        FloatLayer::Conv {
            out_channels: 8,
            window: Window::same(1, 1, h, h),
            weights: rnd(8 * 24, 0.3),
            bias: rnd(8, 0.1),
            activation: Activation::None,
            pool: None,
        },
        FloatLayer::Add { slot: 0, activation: Activation::None },
        FloatLayer::Depthwise {
            depth_multiplier: 2,
            window: down,
            weights: rnd(9 * 16, 0.5),
            bias: rnd(16, 0.1),
            activation: Activation::Relu,
        },
        FloatLayer::GlobalAvgPool,
        FloatLayer::Dense {
            out_features: 2,
            weights: rnd(2 * 16, 0.5),
            bias: rnd(2, 0.1),
            activation: Activation::None,
        },
    ];
    FloatGraph {
        input: Shape { h: side, w: side, c: 1 },
        input_quant: Quant { scale: 2.0 / 255.0, zero_point: 0 },
        float_input: "(pixel - 128) * 2 / 255",
        layers,
        classes: vec!["a".into(), "b".into()],
    }
}

#[test]
fn residual_depthwise_graph_int8_matches_reference() {
    let graph = residual_graph(21);
    for method in [Calibration::MinMax, Calibration::Percentile(99.9), Calibration::Mse] {
        let worst =
            quantize_and_compare(&graph, &random_pixels(4, 32, 21), &random_pixels(5, 10, 21), method);
        // Percentile and MSE ranges clip on purpose, so they may err more on random images.
        let limit = if method == Calibration::MinMax { 0.05 } else { 0.15 };
        assert!(worst < limit, "{method:?}: int8 logit is off by {worst} of the output range");
    }
}

/// The ImageNet MobileNetV2-0.35 (real BatchNorm, folded on export) with a random 1-logit
/// head: the exported graph on one grey channel equals the tch model on three.
#[test]
fn mobilenet_v2_export_folds_bn_and_grey_input() {
    use trainer::models::mobilenet_v2::{grey_to_input, Config, MobileNetV2};
    let weights = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/weights/mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors");
    let vs = VarStore::new(Device::Cpu);
    let config = Config::detect(&weights).unwrap().without_classifier();
    let base = MobileNetV2::load(&vs.root(), config, &weights).unwrap();
    let head = tch::nn::linear(vs.root() / "head", base.feature_channels(), 1, Default::default());
    fill_deterministic_head(&head);
    let side = 67; // odd: ragged 'SAME' padding at every stride-2 layer
    let gap = Head::Gap(tch::nn::Linear {
        ws: head.ws.shallow_clone(),
        bs: head.bs.as_ref().map(Tensor::shallow_clone),
    });
    let graph = export::mobilenet_v2(&base, &gap, side).unwrap();
    let tg = TchGraph::new(&graph, Device::Cpu);
    let grey = random_pixels(9, 3, side).to_kind(Kind::Float) / 255.0;
    // The graph's input is the int8 input's real value, 1/255 below the float model's.
    let int8_real = &grey * 2.0 - 1.0 - export::STEM_INPUT_OFFSET;
    // (Stem outputs on the padded border differ by 1/255 · the padded taps' weights: tiny.)
    let from_graph = tg.run(&int8_real, |_, _| ()).flatten(0, -1);
    let from_tch =
        tch::no_grad(|| base.pooled_features(&grey_to_input(&grey)).linear(&head.ws, head.bs.as_ref()))
            .flatten(0, -1);
    let err = (&from_graph - &from_tch).abs().max().double_value(&[]);
    let spread = from_tch.abs().max().double_value(&[]);
    // A wrong layout or fold errs by the order of the logits; the border effect at this
    // small size is about 1e-3 of them.
    assert!(err < 3e-3 * spread.max(1.0), "export differs by {err} (logits up to {spread})");

    let worst = quantize_and_compare(
        &graph,
        &random_pixels(10, 16, side),
        &random_pixels(11, 4, side),
        Calibration::MinMax,
    );
    // 17 int8 layers deep on noise images, calibrated on 16 of them: loose here; the real
    // accuracy check is on X-rays (models/*.json, tests/tests/int8_bit_exact.rs).
    assert!(worst < 0.2, "int8 logit is off by {worst} of the output range");
}

fn fill_deterministic_head(head: &tch::nn::Linear) {
    let w: Vec<f32> = lcg(99, head.ws.numel()).iter().map(|&x| (x - 0.5) * 0.2).collect();
    tch::no_grad(|| {
        let mut ws = head.ws.shallow_clone();
        ws.copy_(&Tensor::from_slice(&w).view(ws.size().as_slice()));
    });
}

/// The seed's conv head (conv 32 → pool → conv 64 → pool → conv 128 → GAP → dense) exports on
/// top of the base: the graph equals the tch model, at an odd size whose pools are ragged.
#[test]
fn the_seed_head_exports_on_the_feature_map() {
    use trainer::models::mobilenet_v2::Config;
    use trainer::models::Classifier;
    let vs = VarStore::new(Device::Cpu);
    let side = 200; // feature map 7×7: pools to 4×4, then 2×2
    let m = TransferModel::new(&vs.root(), Config::KERAS_0_35_BN, HeadKind::Seed, 0.2, side, 1);
    let graph = export::mobilenet_v2(&m.base, &m.head, side).unwrap();
    assert_eq!(
        graph.layers.iter().filter(|l| matches!(l, FloatLayer::Conv { pool: Some(_), .. })).count(),
        2
    );
    let tg = TchGraph::new(&graph, Device::Cpu);
    let grey = random_pixels(12, 2, side).to_kind(Kind::Float) / 255.0;
    let from_graph = tg.run(&(&grey * 2.0 - 1.0 - export::STEM_INPUT_OFFSET), |_, _| ()).flatten(0, -1);
    let from_tch = tch::no_grad(|| Classifier::forward_t(&m, &grey, false)).flatten(0, -1);
    let err = (&from_graph - &from_tch).abs().max().double_value(&[]);
    let spread = from_tch.abs().max().double_value(&[]);
    assert!(err < 3e-3 * spread.max(1.0), "export differs by {err} (logits up to {spread})");
}
