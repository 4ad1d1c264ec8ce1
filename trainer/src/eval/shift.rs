//! Shifted validation (`experiments/shifted_validation.md`): the validation images seen
//! through fixed acquisition shifts — exposure, contrast, a coarser detector, tighter and
//! wider framing — that a new clinic brings and the training augmentation covers at most in
//! part. Random validation patients come from the training cohort and have not predicted the
//! official test split; these views ask how a model holds up off that cohort, without
//! reading a test image. Every view is deterministic, so two runs see the same images.

use tch::{Kind, Tensor};

use crate::data::device::Samples;

/// One acquisition shift of a batch of grey images `[N, 1, H, W]` in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    /// `x^0.67`: brighter mid-tones (training gamma: 0.8–1.25).
    GammaBright,
    /// `x^1.5`: darker mid-tones.
    GammaDark,
    /// Contrast × 0.7 about mid-grey (training: × 0.85–1.15).
    LowContrast,
    /// 2 × 2 average pooling, then bilinear back to the size: a coarser detector.
    HalfResolution,
    /// The central 80% of the side, bilinear up to the size: a tighter collimation.
    ZoomIn,
    /// The image shrunk to 80% of the side, border pixels repeated outward: a wider field.
    ZoomOut,
}

impl Shift {
    /// Every view, in the order the pre-registration lists them.
    pub const ALL: [Shift; 6] = [
        Shift::GammaBright,
        Shift::GammaDark,
        Shift::LowContrast,
        Shift::HalfResolution,
        Shift::ZoomIn,
        Shift::ZoomOut,
    ];

    /// The view's name in `shifted_validation.json` and the report.
    pub fn name(self) -> &'static str {
        match self {
            Shift::GammaBright => "gamma_0.67",
            Shift::GammaDark => "gamma_1.5",
            Shift::LowContrast => "contrast_0.7",
            Shift::HalfResolution => "half_resolution",
            Shift::ZoomIn => "zoom_in",
            Shift::ZoomOut => "zoom_out",
        }
    }

    /// The shifted batch (a new tensor), still in [0, 1].
    pub fn apply(self, x: &Tensor) -> Tensor {
        tch::no_grad(|| match self {
            Shift::GammaBright => x.clamp_min(1e-6).pow_tensor_scalar(0.67),
            Shift::GammaDark => x.clamp_min(1e-6).pow_tensor_scalar(1.5),
            Shift::LowContrast => ((x - 0.5) * 0.7 + 0.5).clamp(0.0, 1.0),
            Shift::HalfResolution => {
                let size = x.size();
                x.avg_pool2d([2, 2], [2, 2], [0, 0], true, false, None).upsample_bilinear2d(
                    [size[2], size[3]],
                    false,
                    None,
                    None,
                )
            }
            Shift::ZoomIn => zoom(x, 0.8),
            Shift::ZoomOut => zoom(x, 1.0 / 0.8),
        })
    }
}

/// Output pixel p samples the input at `scale · p` about the centre (in [-1, 1]
/// coordinates): below 1 magnifies the centre, above 1 shrinks the image into the frame with
/// its border repeated (no black band a real detector would not show).
fn zoom(x: &Tensor, scale: f64) -> Tensor {
    let size = x.size();
    let n = size[0];
    let theta = Tensor::from_slice(&[scale as f32, 0.0, 0.0, 0.0, scale as f32, 0.0])
        .view([1, 2, 3])
        .to_device(x.device())
        .repeat([n, 1, 1]);
    let grid = Tensor::affine_grid_generator(&theta, size.as_slice(), false);
    x.to_kind(Kind::Float).grid_sampler(&grid, 0, 1, false)
}

/// A split's samples seen through one [`Shift`]; labels unchanged.
pub struct Shifted<'a> {
    pub samples: &'a dyn Samples,
    pub shift: Shift,
}

impl Samples for Shifted<'_> {
    fn len(&self) -> usize {
        self.samples.len()
    }
    fn labels(&self) -> &Tensor {
        self.samples.labels()
    }
    fn batch(&self, idx: &Tensor) -> (Tensor, Tensor) {
        let (x, y) = self.samples.batch(idx);
        (self.shift.apply(&x), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn mean_abs(t: &Tensor) -> f64 {
        t.abs().mean(Kind::Float).double_value(&[])
    }

    #[test]
    fn every_view_keeps_shape_and_range_and_changes_the_image() {
        tch::manual_seed(5);
        let x = Tensor::rand([3, 1, 17, 17], (Kind::Float, Device::Cpu));
        for s in Shift::ALL {
            let y = s.apply(&x);
            assert_eq!(y.size(), x.size(), "{}", s.name());
            let (lo, hi) = (y.min().double_value(&[]), y.max().double_value(&[]));
            assert!(lo >= 0.0 && hi <= 1.0 + 1e-6, "{}: [{lo}, {hi}]", s.name());
            assert!(mean_abs(&(&y - &x)) > 0.01, "{} left the image as it was", s.name());
            // Deterministic: the same image twice.
            assert_eq!(mean_abs(&(s.apply(&x) - &y)), 0.0, "{}", s.name());
        }
    }

    #[test]
    fn exposure_views_move_mid_grey_the_stated_way() {
        let x = Tensor::full([1, 1, 4, 4], 0.25, (Kind::Float, Device::Cpu));
        let v = |s: Shift| s.apply(&x).double_value(&[0, 0, 1, 1]);
        assert!((v(Shift::GammaBright) - 0.25f64.powf(0.67)).abs() < 1e-5);
        assert!((v(Shift::GammaDark) - 0.125).abs() < 1e-5);
        assert!((v(Shift::LowContrast) - 0.325).abs() < 1e-5);
    }

    #[test]
    fn zoom_in_magnifies_the_centre_and_zoom_out_repeats_the_border() {
        // A bright centre square on a dark field.
        let x = Tensor::zeros([1, 1, 20, 20], (Kind::Float, Device::Cpu));
        let _ = x.narrow(2, 6, 8).narrow(3, 6, 8).fill_(1.0);
        let bright = |t: &Tensor| t.sum(Kind::Float).double_value(&[]);
        assert!(bright(&Shift::ZoomIn.apply(&x)) > bright(&x) * 1.3);
        assert!(bright(&Shift::ZoomOut.apply(&x)) < bright(&x) * 0.8);
        // A flat image stays flat when shrunk: the border repeats, no black band comes in.
        let flat = Tensor::full([1, 1, 10, 10], 0.6, (Kind::Float, Device::Cpu));
        assert!(mean_abs(&(Shift::ZoomOut.apply(&flat) - 0.6)) < 1e-5);
    }

    #[test]
    fn half_resolution_removes_the_finest_detail_only() {
        // A one-pixel checkerboard averages to grey; a flat image is unchanged.
        let checker = Tensor::arange(16, (Kind::Float, Device::Cpu)).view([4, 4]);
        let checker = ((checker.shallow_clone() + checker.divide_scalar_mode(4.0, "floor")).remainder(2.0))
            .view([1, 1, 4, 4]);
        let y = Shift::HalfResolution.apply(&checker);
        assert!(mean_abs(&(y - 0.5)) < 1e-5);
        let flat = Tensor::full([1, 1, 8, 8], 0.3, (Kind::Float, Device::Cpu));
        assert!(mean_abs(&(Shift::HalfResolution.apply(&flat) - 0.3)) < 1e-5);
    }
}
