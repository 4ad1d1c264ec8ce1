//! Test-time views (experiments/resolution_selection.md, fourth addendum): a classifier whose
//! prediction is the mean probability of another over fixed views of each image. The views
//! are framings the training augmentation produces, so averaging over them makes the answer
//! depend less on where the collimator happened to cut, without showing the network anything
//! it was not trained on. Each view costs a full forward pass.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::ensemble::mean_probability;
use super::Classifier;
use crate::data::warp::resample;

/// Which views of each image are averaged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Views {
    /// The image as it is (one pass).
    #[default]
    None,
    /// Six: the image; its central crop of 85% of the area; that crop touching the left,
    /// right, top and bottom edge.
    Crops,
}

/// Share of the area a crop view keeps: the mean of the training crops' 70–100%.
const CROP_AREA: f64 = 0.85;

/// One view: the part of the image it shows, as a per-axis scale and an offset of its centre
/// in [-1, 1] coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
struct View {
    scale: f64,
    dx: f64,
    dy: f64,
}

impl Views {
    pub fn is_none(&self) -> bool {
        *self == Views::None
    }

    /// How many forward passes a prediction costs.
    pub fn count(self) -> usize {
        self.list().len()
    }

    fn list(self) -> Vec<View> {
        let whole = View { scale: 1.0, dx: 0.0, dy: 0.0 };
        match self {
            Views::None => vec![whole],
            Views::Crops => {
                let s = CROP_AREA.sqrt();
                // A crop of side s touches an edge when its centre is 1 − s from the middle.
                let e = 1.0 - s;
                let crop = |dx, dy| View { scale: s, dx, dy };
                vec![whole, crop(0.0, 0.0), crop(-e, 0.0), crop(e, 0.0), crop(0.0, -e), crop(0.0, e)]
            }
        }
    }
}

/// A batch `[N, 1, H, W]` seen through `view`, resampled to the same size.
fn apply(view: View, x: &Tensor) -> Tensor {
    if view.scale == 1.0 && view.dx == 0.0 && view.dy == 0.0 {
        return x.shallow_clone();
    }
    let n = x.size()[0];
    let View { scale: s, dx, dy } = view;
    let theta = Tensor::from_slice(&[s as f32, 0.0, dx as f32, 0.0, s as f32, dy as f32])
        .to_device(x.device())
        .view([1, 2, 3])
        .expand([n, 2, 3], false)
        .to_kind(Kind::Float);
    resample(x, &theta)
}

/// `net` averaged over `views` of every image.
pub struct Viewed<C: Classifier> {
    pub net: C,
    pub views: Views,
}

impl<C: Classifier> Classifier for Viewed<C> {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self.views {
            Views::None => self.net.forward_t(xs, train),
            v => {
                mean_probability(v.list().into_iter().map(|view| self.net.forward_t(&apply(view, xs), train)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// A "network" whose logit is the mean pixel of the left half minus 0.5: it sees framing.
    struct LeftHalf;

    impl Classifier for LeftHalf {
        fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
            let w = xs.size()[3];
            xs.narrow(3, 0, w / 2).mean_dim([1, 2, 3].as_slice(), false, Kind::Float).view([-1, 1]) - 0.5
        }
    }

    #[test]
    fn crops_keep_the_size_and_move_to_each_edge() {
        // A horizontal ramp: the left crop is darker than the whole image, the right brighter.
        let ramp = Tensor::linspace(0.0, 1.0, 32, (Kind::Float, Device::Cpu))
            .view([1, 1, 1, 32])
            .expand([2, 1, 32, 32], false);
        let views = Views::Crops.list();
        assert_eq!(views.len(), 6);
        let mean = |v: View| apply(v, &ramp).mean(Kind::Float).double_value(&[]);
        let whole = mean(views[0]);
        assert!((whole - 0.5).abs() < 1e-4, "{whole}");
        assert!((mean(views[1]) - 0.5).abs() < 1e-3, "the central crop stays centred");
        assert!(mean(views[2]) < 0.47 && mean(views[3]) > 0.53, "{} {}", mean(views[2]), mean(views[3]));
        // A vertical move leaves a horizontal ramp's mean alone.
        assert!((mean(views[4]) - mean(views[5])).abs() < 1e-4);
        assert_eq!(apply(views[2], &ramp).size(), [2, 1, 32, 32]);
        // The left crop never reaches past the image: its first column is the image's.
        let left = apply(views[2], &ramp);
        assert!(left.double_value(&[0, 0, 5, 0]) < 0.03, "{}", left.double_value(&[0, 0, 5, 0]));
    }

    #[test]
    fn the_prediction_is_the_views_mean_probability() {
        let x = Tensor::linspace(0.0, 1.0, 16, (Kind::Float, Device::Cpu))
            .view([1, 1, 1, 16])
            .expand([1, 1, 16, 16], false);
        let viewed = Viewed { net: LeftHalf, views: Views::Crops };
        let got = viewed.forward_t(&x, false).sigmoid().double_value(&[0, 0]);
        let want: f64 = Views::Crops
            .list()
            .into_iter()
            .map(|v| LeftHalf.forward_t(&apply(v, &x), false).sigmoid().double_value(&[0, 0]))
            .sum::<f64>()
            / 6.0;
        assert!((got - want).abs() < 1e-5, "{got} {want}");
        // One view is the network itself.
        let plain = Viewed { net: LeftHalf, views: Views::None }.forward_t(&x, false);
        assert_eq!(plain.double_value(&[0, 0]), LeftHalf.forward_t(&x, false).double_value(&[0, 0]));
    }
}
