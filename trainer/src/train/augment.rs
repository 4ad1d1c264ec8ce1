//! Training-time augmentation of a batch of grey images `[N, 1, H, W]` in [0, 1], on the
//! batch's own device, so a GPU run never waits on the CPU: one random affine warp per image
//! (a crop of 70–100% of the area at aspect 0.85–1.18, a rotation within ±8°, a shift within
//! ±6% of the side; border pixels repeat outward) and one intensity change per image
//! (gamma 0.8–1.25, contrast ×0.85–1.15, brightness ±0.08). These are what differs between
//! clinics: framing, positioning and exposure. `WideFraming` widens the framing part only:
//! views from 50% of the area out to 130% (a zoom-out whose border repeats outward) at
//! aspect 0.75–1.33, because shifted validation found that framing, not exposure, is where
//! normal images start to read as pneumonia (experiments/resolution_selection.md, third
//! addendum). `GeometricErase` adds random erasing (Zhong et al. 2020): half the images get
//! one rectangle of noise, so that no single patch (a marker, a text, a device) decides
//! (resolution_selection.md, eighth addendum). `GeometricSharpness` blurs or sharpens half
//! the images: sharpness alone separates the training set's classes (AUC 0.88), and another
//! clinic's detector or reconstruction filter changes it for every image, so it must not be a
//! free cue (resolution_selection.md, tenth addendum). Validation and test images are never
//! augmented.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::data::warp::resample;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Augment {
    /// Training images as they are.
    #[default]
    None,
    /// Random crops, rotations, shifts and exposure changes (the ranges above).
    Geometric,
    /// `Geometric` with wider framing: area 50–130%, aspect 0.75–1.33.
    #[value(name = "wide_framing")]
    WideFraming,
    /// `Geometric`, then random erasing: per image with probability 0.5, one rectangle of
    /// 2–40% of the area at aspect 0.3–3.3, filled with uniform noise.
    #[value(name = "geometric_erase")]
    GeometricErase,
    /// `Geometric`, then sharpness jitter: per image with probability 0.5,
    /// x' = s + f (x − s), s a Gaussian blur of σ 1 px, f uniform in [0, 2].
    #[value(name = "geometric_sharpness")]
    GeometricSharpness,
}

/// The framing of the warp: the viewed area as a share of the image's (above 1: a zoom-out),
/// and the largest |ln aspect|.
#[derive(Clone, Copy)]
struct Framing {
    area: (f64, f64),
    log_aspect: f64,
}

const FRAMING: Framing = Framing { area: (0.70, 1.0), log_aspect: 0.17 }; // ln(1.18)
const WIDE_FRAMING: Framing = Framing { area: (0.50, 1.30), log_aspect: 0.288 }; // ln(1.33)

/// Ranges of the other random changes.
const ROTATION_DEGREES: f64 = 8.0;
const SHIFT: f64 = 0.06;
const LOG_GAMMA: f64 = 0.223; // ln(1.25)
const CONTRAST: f64 = 0.15;
const BRIGHTNESS: f64 = 0.08;

/// Random erasing: Zhong et al.'s defaults (probability, area share, aspect 0.3 to 1 / 0.3).
const ERASE_PROBABILITY: f64 = 0.5;
const ERASE_AREA: (f64, f64) = (0.02, 0.40);
const ERASE_LOG_ASPECT: f64 = 1.204; // ln(1 / 0.3)

/// Sharpness jitter (RandAugment's `Sharpness`, with a Gaussian): probability, blur σ in
/// pixels, and the range of the factor f (0: blurred, 1: unchanged, 2: sharpened).
const SHARPNESS_PROBABILITY: f64 = 0.5;
const SHARPNESS_SIGMA: f64 = 1.0;
const SHARPNESS_FACTOR: (f64, f64) = (0.0, 2.0);

/// `lo + (hi − lo) · U(0, 1)`, one value per image, on `like`'s device.
fn uniform(n: i64, (lo, hi): (f64, f64), like: &Tensor) -> Tensor {
    Tensor::rand([n], (Kind::Float, like.device())) * (hi - lo) + lo
}

impl Augment {
    /// The augmented batch (a new tensor; `x` is unchanged).
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Augment::None => x.shallow_clone(),
            Augment::Geometric => tch::no_grad(|| exposure(&warp(x, FRAMING))),
            Augment::WideFraming => tch::no_grad(|| exposure(&warp(x, WIDE_FRAMING))),
            Augment::GeometricErase => tch::no_grad(|| erase(&exposure(&warp(x, FRAMING)))),
            Augment::GeometricSharpness => tch::no_grad(|| sharpness(&exposure(&warp(x, FRAMING)))),
        }
    }
}

/// Per image, the viewed width and height as shares of the image's: the area and aspect
/// drawn from `framing`. A crop stays inside the image; only framing whose area goes above
/// 1 may view more than the image.
fn scales(n: i64, framing: Framing, like: &Tensor) -> (Tensor, Tensor) {
    let area = uniform(n, framing.area, like);
    let aspect = uniform(n, (-framing.log_aspect, framing.log_aspect), like).exp();
    let max_side = framing.area.1.max(1.0).sqrt();
    ((&area * &aspect).sqrt().clamp_max(max_side), (&area / &aspect).sqrt().clamp_max(max_side))
}

/// One random affine warp per image: output pixel p samples the input at A p + t (in
/// [-1, 1] coordinates), A = rotation × per-axis scale (the crop), t = the crop's offset
/// inside the image plus a shift. A scale above 1 views more than the image (a zoom-out).
fn warp(x: &Tensor, framing: Framing) -> Tensor {
    let n = x.size()[0];
    let (sx, sy) = scales(n, framing, x);
    let angle = uniform(n, (-ROTATION_DEGREES, ROTATION_DEGREES), x) * (std::f64::consts::PI / 180.0);
    let (cos, sin) = (angle.cos(), angle.sin());
    // The crop may sit anywhere inside the image, then the whole view shifts a little.
    let tx = (1.0 - &sx) * uniform(n, (-1.0, 1.0), x) + uniform(n, (-SHIFT, SHIFT), x) * 2.0;
    let ty = (1.0 - &sy) * uniform(n, (-1.0, 1.0), x) + uniform(n, (-SHIFT, SHIFT), x) * 2.0;
    let row0 = Tensor::stack(&[&cos * &sx, -(&sin * &sy), tx], 1);
    let row1 = Tensor::stack(&[&sin * &sx, &cos * &sy, ty], 1);
    resample(x, &Tensor::stack(&[row0, row1], 1))
}

/// Gamma, contrast about mid-grey and brightness, one draw each per image, clamped to [0, 1].
fn exposure(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let per_image = |t: Tensor| t.view([n, 1, 1, 1]);
    let gamma = per_image(uniform(n, (-LOG_GAMMA, LOG_GAMMA), x).exp());
    let contrast = per_image(uniform(n, (1.0 - CONTRAST, 1.0 + CONTRAST), x));
    let brightness = per_image(uniform(n, (-BRIGHTNESS, BRIGHTNESS), x));
    ((x.clamp_min(1e-6).pow(&gamma) - 0.5) * contrast + 0.5 + brightness).clamp(0.0, 1.0)
}

/// Random erasing: per image with probability `ERASE_PROBABILITY`, one axis-aligned rectangle
/// (area share and log-aspect uniform in their ranges, sides capped at the image's, placed
/// wholly inside it) whose pixels become uniform noise in [0, 1].
fn erase(x: &Tensor) -> Tensor {
    let (n, h, w) = (x.size()[0], x.size()[2], x.size()[3]);
    let area = uniform(n, ERASE_AREA, x);
    let aspect = uniform(n, (-ERASE_LOG_ASPECT, ERASE_LOG_ASPECT), x).exp();
    // Sides as shares of the image's height and width.
    let (eh, ew) = ((&area * &aspect).sqrt().clamp_max(1.0), (&area / &aspect).sqrt().clamp_max(1.0));
    let top: Tensor = (1.0 - &eh) * uniform(n, (0.0, 1.0), x);
    let left: Tensor = (1.0 - &ew) * uniform(n, (0.0, 1.0), x);
    let chosen = uniform(n, (0.0, 1.0), x).lt(ERASE_PROBABILITY);
    // Pixel centres in [0, 1] along each axis.
    let centres = |len: i64| (Tensor::arange(len, (Kind::Float, x.device())) + 0.5) / len as f64;
    let within = |c: Tensor, lo: &Tensor, side: &Tensor, shape: [i64; 4]| {
        c.ge_tensor(lo).logical_and(&c.lt_tensor(&(lo + side))).view(shape)
    };
    let rows = within(centres(h).view([1, h]), &top.view([n, 1]), &eh.view([n, 1]), [n, 1, h, 1]);
    let cols = within(centres(w).view([1, w]), &left.view([n, 1]), &ew.view([n, 1]), [n, 1, 1, w]);
    let mask = rows.logical_and(&cols).logical_and(&chosen.view([n, 1, 1, 1]));
    Tensor::rand_like(x).where_self(&mask, x)
}

/// Sharpness jitter: per image with probability `SHARPNESS_PROBABILITY`, x' = s + f (x − s)
/// with s = `blur(x)` and f uniform in `SHARPNESS_FACTOR`, clamped to [0, 1]; the other images
/// are unchanged.
fn sharpness(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    let per_image = |t: Tensor| t.view([n, 1, 1, 1]);
    let factor = per_image(uniform(n, SHARPNESS_FACTOR, x));
    let chosen = per_image(uniform(n, (0.0, 1.0), x).lt(SHARPNESS_PROBABILITY));
    let s = blur(x, SHARPNESS_SIGMA);
    let jittered = (&s + factor * (x - &s)).clamp(0.0, 1.0);
    jittered.where_self(&chosen, x)
}

/// `[N, 1, H, W]` blurred by a Gaussian of `sigma` pixels (taps out to 2σ, normalised to sum
/// 1), edge pixels repeated outward so a flat image stays flat.
fn blur(x: &Tensor, sigma: f64) -> Tensor {
    let radius = (2.0 * sigma).ceil() as i64;
    let taps: Vec<f32> =
        (-radius..=radius).map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp() as f32).collect();
    let total: f32 = taps.iter().sum();
    let side = 2 * radius + 1;
    let row = Tensor::from_slice(&taps).to_device(x.device()) / f64::from(total);
    let horizontal = row.view([1, 1, 1, side]);
    let vertical = row.view([1, 1, side, 1]);
    let padded = x.replication_pad2d([radius, radius, radius, radius]);
    padded.conv2d(&horizontal, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1).conv2d(
        &vertical,
        None::<Tensor>,
        [1, 1],
        [0, 0],
        [1, 1],
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_range_are_kept_and_images_change() {
        tch::manual_seed(3);
        let x = Tensor::rand([4, 1, 16, 16], (Kind::Float, tch::Device::Cpu));
        let y = Augment::Geometric.apply(&x);
        assert_eq!(y.size(), x.size());
        let wide = Augment::WideFraming.apply(&x);
        assert_eq!(wide.size(), x.size());
        assert!(wide.min().double_value(&[]) >= 0.0 && wide.max().double_value(&[]) <= 1.0);
        assert!(y.min().double_value(&[]) >= 0.0 && y.max().double_value(&[]) <= 1.0);
        assert!((&y - &x).abs().mean(Kind::Float).double_value(&[]) > 0.01);
        // Each image gets its own draw.
        let d = (y.get(0) - y.get(1)).abs().sum(Kind::Float).double_value(&[]);
        assert!(d > 0.0);
        assert_eq!(Augment::None.apply(&x).double_value(&[0, 0, 3, 3]), x.double_value(&[0, 0, 3, 3]));
    }

    #[test]
    fn only_wide_framing_zooms_out_and_it_crops_tighter() {
        tch::manual_seed(5);
        let like = Tensor::zeros([1], (Kind::Float, tch::Device::Cpu));
        let side = |t: &Tensor, max: bool| if max { t.max() } else { t.min() }.double_value(&[]);
        let (sx, sy) = scales(2000, FRAMING, &like);
        assert!(side(&sx, true) <= 1.0 && side(&sy, true) <= 1.0);
        assert!(side(&sx, false) >= (0.70f64 / 1.18).sqrt() - 1e-6);
        let (sx, sy) = scales(2000, WIDE_FRAMING, &like);
        assert!(side(&sx, true) > 1.1 && side(&sy, true) > 1.1);
        assert!(side(&sx, true) <= 1.3f64.sqrt() + 1e-6);
        assert!(side(&sx, false) < 0.7 && side(&sy, false) < 0.7);
    }

    #[test]
    fn erasing_replaces_one_rectangle_in_about_half_the_images() {
        tch::manual_seed(11);
        let (n, side) = (400i64, 40i64);
        let x = Tensor::full([n, 1, side, side], 2.0, (Kind::Float, tch::Device::Cpu));
        let erased = erase(&x);
        // Noise is in [0, 1], the image is 2: the changed pixels are exactly the erased ones.
        let mask = erased.lt(1.5).squeeze_dim(1);
        let mut touched = 0;
        for i in 0..n {
            let m = mask.get(i);
            let count = m.sum(Kind::Int64).int64_value(&[]);
            if count == 0 {
                continue;
            }
            touched += 1;
            let rows = m.any_dim(1, false).nonzero().squeeze_dim(1);
            let cols = m.any_dim(0, false).nonzero().squeeze_dim(1);
            let extent = |t: &Tensor| t.max().int64_value(&[]) - t.min().int64_value(&[]) + 1;
            // One filled rectangle: its bounding box holds exactly the changed pixels.
            assert_eq!(extent(&rows) * extent(&cols), count, "image {i}");
            let share = count as f64 / (side * side) as f64;
            assert!(share <= 0.40 + 0.06, "image {i}: {share}");
        }
        assert!((140..=260).contains(&touched), "{touched} of {n} images erased");
        assert!(erased.min().double_value(&[]) >= 0.0);
        // Through `apply`, the rest of the recipe's augmentation still runs.
        let y = Augment::GeometricErase.apply(&Tensor::rand([4, 1, 16, 16], (Kind::Float, tch::Device::Cpu)));
        assert!(y.min().double_value(&[]) >= 0.0 && y.max().double_value(&[]) <= 1.0);
    }

    #[test]
    fn a_flat_image_stays_flat_under_the_warp() {
        // Border padding: no black corners come in from outside the image.
        let x = Tensor::full([2, 1, 8, 8], 0.6, (Kind::Float, tch::Device::Cpu));
        let w = warp(&x, WIDE_FRAMING);
        assert!((w - 0.6).abs().max().double_value(&[]) < 1e-5);
    }

    #[test]
    fn blur_keeps_flat_images_and_smooths_an_edge_symmetrically() {
        let flat = Tensor::full([1, 1, 9, 9], 0.3, (Kind::Float, tch::Device::Cpu));
        assert!((blur(&flat, 1.0) - 0.3).abs().max().double_value(&[]) < 1e-6);
        // A vertical step edge: blurred, the step spreads over neighbouring columns.
        let step = Tensor::cat(
            &[
                Tensor::zeros([1, 1, 8, 4], (Kind::Float, tch::Device::Cpu)),
                Tensor::ones([1, 1, 8, 4], (Kind::Float, tch::Device::Cpu)),
            ],
            3,
        );
        let b = blur(&step, 1.0);
        assert_eq!(b.size(), step.size());
        let (left, right) = (b.double_value(&[0, 0, 4, 3]), b.double_value(&[0, 0, 4, 4]));
        assert!((0.2..0.4).contains(&left) && (0.6..0.8).contains(&right), "{left} {right}");
        assert!((left + right - 1.0).abs() < 1e-5, "symmetric taps");
    }

    #[test]
    fn sharpness_jitter_blurs_or_sharpens_about_half_the_images() {
        tch::manual_seed(13);
        let n = 400;
        // Every image the same checkerboard: its high frequencies show any change of sharpness.
        let board = Tensor::from_slice(
            &(0..64).map(|i| if (i / 8 + i % 8) % 2 == 0 { 0.3f32 } else { 0.7 }).collect::<Vec<_>>(),
        );
        let x = board.view([1, 1, 8, 8]).repeat([n, 1, 1, 1]);
        let y = sharpness(&x);
        assert!(y.min().double_value(&[]) >= 0.0 && y.max().double_value(&[]) <= 1.0);
        // Contrast of the centre pixel against its neighbour, per image: 0.4 unchanged.
        let contrast = (y.select(2, 4).select(2, 4) - y.select(2, 4).select(2, 3)).abs().squeeze_dim(1);
        let count = (&contrast - 0.4).abs().gt(1e-4).sum(Kind::Int64).int64_value(&[]);
        assert!((150..=250).contains(&count), "{count} of {n} images changed");
        // Both directions occur: blurred (less contrast) and sharpened (more, up to the clamp).
        assert!(contrast.min().double_value(&[]) < 0.2 && contrast.max().double_value(&[]) > 0.6);
        let z =
            Augment::GeometricSharpness.apply(&Tensor::rand([4, 1, 16, 16], (Kind::Float, tch::Device::Cpu)));
        assert!(z.min().double_value(&[]) >= 0.0 && z.max().double_value(&[]) <= 1.0);
    }
}
