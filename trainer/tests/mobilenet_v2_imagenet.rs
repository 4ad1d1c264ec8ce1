//! Real-weights checks of the MobileNetV2 base against `../shared/weights` (see WEIGHTS.md).
//!
//! The 1.0 base with its ImageNet classifier must give the top-1 classes and probabilities of
//! `test_images/expected_top1.csv` on five photos; the 0.35 Keras base must load completely,
//! have Keras' 410,208 parameters and give finite pooled features; a broken file must be
//! rejected with an error that names the tensor.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::imageops::FilterType;
use image::RgbImage;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use trainer::models::mobilenet_v2::{grey_to_input, Config, MobileNetV2};
use trainer::models::weights::WeightsError;

const SIDE: u32 = 224;
const PROB_TOLERANCE: f64 = 0.05;

fn weights_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/weights");
    assert!(dir.is_dir(), "{} missing: these tests need the shared ImageNet weights", dir.display());
    dir
}

fn file_1_0() -> PathBuf {
    weights_dir().join("mobilenet_v2_1.0_224_imagenet_folded.safetensors")
}

fn file_0_35() -> PathBuf {
    weights_dir().join("mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors")
}

/// Decodes an uncompressed 24-bit BMP (the `image` crate is built without BMP support).
fn read_bmp(path: &Path) -> RgbImage {
    let b = std::fs::read(path).unwrap();
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    assert_eq!(&b[..2], b"BM", "{}", path.display());
    let (offset, width, height) = (u32_at(10) as usize, u32_at(18), u32_at(22) as i32);
    let (bpp, compression) = (u16::from_le_bytes([b[28], b[29]]), u32_at(30));
    assert_eq!((bpp, compression), (24, 0), "{}: only 24-bit BI_RGB", path.display());
    let (w, h) = (width as usize, height.unsigned_abs() as usize);
    let stride = (w * 3).div_ceil(4) * 4;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        // Positive height: rows are stored bottom-up.
        let row = if height > 0 { h - 1 - y } else { y };
        for px in b[offset + row * stride..][..w * 3].chunks_exact(3) {
            rgb.extend_from_slice(&[px[2], px[1], px[0]]);
        }
    }
    RgbImage::from_raw(width, h as u32, rgb).unwrap()
}

/// The photo as `[1, 3, 224, 224]` in [-1, 1]: plain resize of the whole image, no crop.
///
/// A bilinear (`Triangle`) resize reproduces the reference probabilities to within 0.004;
/// Lanczos3 and Catmull-Rom are off by up to 0.05 (hot dog), nearest by up to 0.09.
fn photo_input(path: &Path, filter: FilterType) -> Tensor {
    let img = if path.extension().is_some_and(|e| e == "bmp") {
        read_bmp(path)
    } else {
        image::open(path).unwrap().to_rgb8()
    };
    let img = image::imageops::resize(&img, SIDE, SIDE, filter);
    let s = SIDE as i64;
    let hwc = Tensor::from_slice(img.as_raw()).view([s, s, 3]);
    (hwc.permute([2, 0, 1]).to_kind(Kind::Float) / 127.5 - 1.0).unsqueeze(0)
}

struct Expected {
    file: String,
    top1: i64,
    prob: f64,
}

fn expected() -> Vec<Expected> {
    let csv = std::fs::read_to_string(weights_dir().join("test_images/expected_top1.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("file,top1_index,"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // The label may contain commas inside quotes; the first two and the fourth-from-
            // the-end fields are unambiguous from either side.
            let fields: Vec<&str> = l.split(',').collect();
            let n = fields.len();
            Expected {
                file: fields[0].to_string(),
                top1: fields[1].parse().unwrap(),
                prob: fields[n - 2].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn imagenet_1_0_base_reproduces_the_reference_top1() {
    let vs = VarStore::new(Device::Cpu);
    let net = MobileNetV2::load(&vs.root(), Config::IMAGENET_1_0_FOLDED, &file_1_0()).unwrap();
    let cases = expected();
    assert_eq!(cases.len(), 5);
    let dir = weights_dir().join("test_images");
    let xs = Tensor::cat(
        &cases.iter().map(|c| photo_input(&dir.join(&c.file), FilterType::Triangle)).collect::<Vec<_>>(),
        0,
    );
    let probs = tch::no_grad(|| net.logits_t(&xs, false).unwrap().softmax(-1, Kind::Float));
    assert_eq!(probs.size(), vec![5, 1001]);
    for (i, c) in cases.iter().enumerate() {
        let p = probs.get(i as i64);
        let top1 = p.argmax(0, false).int64_value(&[]);
        let prob = p.double_value(&[top1]);
        println!("{}: top-1 {top1} p={prob:.4} (expected {} p={:.4})", c.file, c.top1, c.prob);
        assert_eq!(top1, c.top1, "{}: top-1 class", c.file);
        assert!((prob - c.prob).abs() <= PROB_TOLERANCE, "{}: p={prob} expected {}", c.file, c.prob);
    }
}

#[test]
fn imagenet_1_0_base_loads_without_its_classifier() {
    let vs = VarStore::new(Device::Cpu);
    let cfg = Config::IMAGENET_1_0_FOLDED.without_classifier();
    let net = MobileNetV2::load(&vs.root(), cfg, &file_1_0()).unwrap();
    assert!(!vs.variables().contains_key("classifier.1.weight"));
    let x = grey_to_input(&Tensor::rand([2, 1, 224, 224], (Kind::Float, Device::Cpu)));
    let f = net.pooled_features(&x);
    assert_eq!(f.size(), vec![2, 1280]);
    assert!(f.isfinite().all().int64_value(&[]) == 1);
}

#[test]
fn keras_0_35_base_loads_completely_with_keras_parameter_count() {
    let vs = VarStore::new(Device::Cpu);
    let net = MobileNetV2::load(&vs.root(), Config::KERAS_0_35_BN, &file_0_35()).unwrap();
    let total: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    assert_eq!(total, 410_208);
    // Trained statistics, not the fresh running_var = 1 of an unloaded BatchNorm.
    let bn = &net.last.bn.as_ref().unwrap().bn;
    let var_shift = (&bn.running_var - 1.0).abs().max().double_value(&[]);
    assert!(var_shift > 0.5, "features.18.1.running_var looks untrained");

    let x = grey_to_input(&Tensor::rand([3, 1, 224, 224], (Kind::Float, Device::Cpu)));
    let f = net.pooled_features(&x);
    assert_eq!(f.size(), vec![3, 1280]);
    assert!(f.isfinite().all().int64_value(&[]) == 1);
    assert!(f.abs().max().double_value(&[]) > 0.0);
}

#[test]
fn configs_are_detected_from_the_files() {
    assert_eq!(Config::detect(&file_1_0()).unwrap(), Config::IMAGENET_1_0_FOLDED);
    assert_eq!(Config::detect(&file_0_35()).unwrap(), Config::KERAS_0_35_BN);
}

/// Writes the 0.35 file's tensors, changed by `edit`, into `dir` and tries to load it.
fn load_edited(dir: &Path, edit: impl FnOnce(&mut Vec<(String, Tensor)>)) -> WeightsError {
    let mut tensors = Tensor::read_safetensors(file_0_35()).unwrap();
    edit(&mut tensors);
    let path = dir.join("edited.safetensors");
    Tensor::write_safetensors(&tensors, &path).unwrap();
    let vs = VarStore::new(Device::Cpu);
    MobileNetV2::load(&vs.root(), Config::KERAS_0_35_BN, &path).unwrap_err()
}

#[test]
fn broken_weights_files_are_rejected_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();

    let name = "features.5.conv.1.1.running_var";
    let err = load_edited(dir.path(), |ts| ts.retain(|(n, _)| n != name));
    assert!(matches!(err, WeightsError::Missing { .. }), "{err}");
    assert!(err.to_string().contains(name), "{err}");

    let name = "features.7.conv.2.weight";
    let err = load_edited(dir.path(), |ts| {
        let t = ts.iter_mut().find(|(n, _)| n == name).unwrap();
        t.1 = t.1.narrow(0, 0, 8);
    });
    assert!(matches!(err, WeightsError::Shape { .. }), "{err}");
    assert!(err.to_string().contains(name) && err.to_string().contains("[8, 96, 1, 1]"), "{err}");

    let name = "features.19.0.weight";
    let err = load_edited(dir.path(), |ts| ts.push((name.into(), Tensor::zeros([4], tch::kind::FLOAT_CPU))));
    assert!(matches!(err, WeightsError::Unexpected { .. }), "{err}");
    assert!(err.to_string().contains(name), "{err}");

    let vs = VarStore::new(Device::Cpu);
    let missing = dir.path().join("no_such.safetensors");
    let err = MobileNetV2::load(&vs.root(), Config::KERAS_0_35_BN, &missing).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("../shared/weights") && msg.contains("--weights"), "{msg}");
}

/// Rough CPU cost of the bases on a batch of 32 grey 224×224 images:
/// `cargo test … -- --ignored --nocapture`.
#[test]
#[ignore]
fn time_bases_on_32_grey_images() {
    let x = grey_to_input(&Tensor::rand([32, 1, 224, 224], (Kind::Float, Device::Cpu)));
    let bases = [
        (Config::IMAGENET_1_0_FOLDED.without_classifier(), file_1_0()),
        (Config::KERAS_0_35_BN, file_0_35()),
    ];
    for (cfg, file) in bases {
        let vs = VarStore::new(Device::Cpu);
        let net = MobileNetV2::load(&vs.root(), cfg, &file).unwrap();
        let _ = net.pooled_features(&x.narrow(0, 0, 2));
        for run in 0..3 {
            let t = Instant::now();
            let f = tch::no_grad(|| net.forward_features_t(&x, false));
            assert_eq!(f.size(), vec![32, 1280, 7, 7]);
            let secs = t.elapsed().as_secs_f64();
            println!(
                "width {}: run {run}: {secs:.2} s for 32 images ({} threads)",
                cfg.width,
                tch::get_num_threads()
            );
        }
    }
}
