//! MobileNetV2 transfer learning end to end on a small generated data set (pneumonia images
//! are brighter) with the real width-0.35 ImageNet base at 64 px, on the CPU: a frozen run
//! extracts and caches pooled features, a second run reuses them, the cache key changes with
//! size, width and weights, the full model of a finished run (rebuilt by `load_run_model`)
//! equals head(cached features), and a fine-tune run updates the top of the base only.

mod common;

use std::path::{Path, PathBuf};

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use trainer::data::{Dataset, Protocol};
use trainer::models::mobilenet_v2::{Config, MobileNetV2};
use trainer::models::transfer::features::{load_or_extract, FeatureKey};
use trainer::models::{Classifier, FeatureHead};
use trainer::run::{eval_run, train_run};
use trainer::run::{load_run_model, RunModel};
use trainer::train::config::{ModelKind, TransferMode};
use trainer::train::{OptimizerKind, TrainConfig};

const SIZE: u32 = 64;

fn weights(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/weights").join(name);
    assert!(p.is_file(), "{} missing: this test needs the shared ImageNet weights", p.display());
    p
}

fn w035() -> PathBuf {
    weights("mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors")
}

/// 840 images of 420 patients, a fifth of them in the official test split.
fn make_learnable_layout(root: &Path) {
    common::make_learnable_layout(root, &common::Layout { patients: 420, side: 32, bases: [50, 180, 160] });
}

fn config(tmp: &Path, name: &str, mode: TransferMode) -> TrainConfig {
    TrainConfig {
        name: Some(name.into()),
        data: tmp.join("chest_xray"),
        runs_dir: tmp.join("runs"),
        cache_dir: tmp.join("cache"),
        protocol: Protocol::Official,
        val_fraction: 0.3,
        image_size: SIZE,
        optimizer: OptimizerKind::Adam,
        lr: 1e-2,
        epochs: 20,
        batch_size: 32,
        patience: Some(4),
        cpu: true,
        model: ModelKind::MobilenetV2,
        width: 0.35,
        mode,
        weights: Some(w035()),
        ..TrainConfig::default()
    }
}

#[test]
fn frozen_and_finetuned_runs_cache_and_reload() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    make_learnable_layout(&tmp.path().join("chest_xray"));

    // Frozen: features are extracted once, then the head learns.
    let m = train_run(&config(tmp.path(), "frozen", TransferMode::Frozen), "test").unwrap();
    let dir = tmp.path().join("runs/frozen");
    for f in
        ["metrics.json", "history.csv", "model.safetensors", "best.safetensors", "curves.svg", "pr_curve.svg"]
    {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let fx = m.features.clone().unwrap();
    assert!(!fx.from_cache);
    assert_eq!((fx.images, fx.image_size, fx.width), (840, SIZE, 0.35));
    assert!(fx.cache_file.is_file());
    assert_eq!(m.model, "mobilenet_v2");
    assert_eq!(m.trainable_parameters, Some(1281));
    let t = &m.evaluation.test;
    assert_eq!(t.images, 168);
    assert!(t.at_chosen_threshold.accuracy > 0.85, "did not learn: {:?}", t.at_chosen_threshold);

    // Same image set, size, width and weights: the second run reads the cache.
    let again = train_run(&config(tmp.path(), "frozen2", TransferMode::Frozen), "test").unwrap();
    let fx2 = again.features.unwrap();
    assert!(fx2.from_cache);
    assert_eq!(fx2.cache_file, fx.cache_file);

    // The cache key follows size, width and weights file.
    let data = Dataset::load(&tmp.path().join("chest_xray"), SIZE, &tmp.path().join("cache")).unwrap();
    let small = Dataset::load(&tmp.path().join("chest_xray"), 48, &tmp.path().join("cache")).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let b035 = MobileNetV2::new(&vs.root(), Config::KERAS_0_35_BN);
    let b100 = MobileNetV2::new(&(&vs.root() / "other"), Config::IMAGENET_1_0_FOLDED.without_classifier());
    let w100 = weights("mobilenet_v2_1.0_224_imagenet_folded.safetensors");
    let key = FeatureKey::new(&data, &b035, &w035(), false).unwrap();
    let stems = [
        key.stem(),
        FeatureKey::new(&small, &b035, &w035(), false).unwrap().stem(),
        FeatureKey::new(&data, &b100, &w035(), false).unwrap().stem(),
        FeatureKey::new(&data, &b035, &w100, false).unwrap().stem(),
    ];
    for (i, a) in stems.iter().enumerate() {
        for b in &stems[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(fx.cache_file.file_name().unwrap().to_string_lossy(), format!("{}.f32", key.stem()));

    // The finished run rebuilds from its folder; its full forward equals head(cached features).
    let (_vs, model, cfg) = load_run_model(&dir, Device::Cpu).unwrap();
    assert_eq!((cfg.width, cfg.image_size), (0.35, SIZE));
    let RunModel::Transfer(tm) = &model else { panic!("not a transfer model") };
    let (cached, fx3) =
        load_or_extract(&data, &tm.base, &w035(), (&tmp.path().join("cache"), false), Device::Cpu, 16)
            .unwrap();
    assert!(fx3.from_cache);
    let n = 8;
    let px: Vec<u8> = (0..n).flat_map(|i| data.image(i).to_vec()).collect();
    let x =
        Tensor::from_slice(&px).view([n as i64, 1, SIZE as i64, SIZE as i64]).to_kind(Kind::Float) / 255.0;
    let full = tch::no_grad(|| model.forward_t(&x, false));
    let head = tch::no_grad(|| FeatureHead(tm).forward_t(&cached.narrow(0, 0, n as i64), false));
    let diff = (&full - &head).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "full model and head(cached features) differ by {diff}");
    // eval (full model on images) gives the run's own test confusion.
    let e = eval_run(&dir, None, true).unwrap();
    assert_eq!(e.threshold, m.evaluation.threshold);
    assert_eq!(e.test.at_chosen_threshold.confusion, t.at_chosen_threshold.confusion);

    // Fine-tune: the top two features train (at a tenth of the head's rate), the rest stay.
    let mut ft = config(tmp.path(), "finetune", TransferMode::Finetune);
    ft.trainable_blocks = 2;
    ft.epochs = 1;
    ft.patience = None;
    let fm = train_run(&ft, "test").unwrap();
    assert!(fm.features.is_none());
    assert!(fm.trainable_parameters.unwrap() > 1281);
    let saved: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(tmp.path().join("runs/finetune/model.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let original: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(w035()).unwrap().into_iter().collect();
    assert!(saved["base.features.0.0.weight"].equal(&original["features.0.0.weight"]));
    assert!(saved["base.features.16.conv.2.weight"].equal(&original["features.16.conv.2.weight"]));
    assert!(!saved["base.features.18.0.weight"].equal(&original["features.18.0.weight"]));
    let (_vs, back, _) = load_run_model(&tmp.path().join("runs/finetune"), Device::Cpu).unwrap();
    assert!(matches!(back, RunModel::Transfer(_)));
}

#[test]
fn missing_weights_file_is_a_clear_error() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), "x", TransferMode::Frozen);
    cfg.weights = Some(tmp.path().join("nope.safetensors"));
    let err = format!("{:#}", train_run(&cfg, "test").unwrap_err());
    assert!(err.contains("nope.safetensors") && err.contains("--weights"), "{err}");
    cfg.weights = None;
    cfg.width = 0.5;
    let err = format!("{:#}", train_run(&cfg, "test").unwrap_err());
    assert!(err.contains("--weights"), "{err}");
}
