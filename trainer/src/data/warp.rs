//! Affine views of a batch of grey images `[N, 1, H, W]`: the one resampling that training
//! augmentation ([`crate::train::augment`]) and test-time views
//! ([`crate::models::test_time_views`]) share, so a view at test time is made exactly as the
//! network saw its training crops made.

use tch::Tensor;

/// `x` seen through one affine map per image (`theta` `[N, 2, 3]`: output pixel p samples the
/// input at θ p, in [-1, 1] coordinates), at the same size: bilinear, border padding, so a
/// rotated corner repeats the edge instead of going black.
pub fn resample(x: &Tensor, theta: &Tensor) -> Tensor {
    let grid = Tensor::affine_grid_generator(theta, x.size().as_slice(), false);
    x.grid_sampler(&grid, 0, 1, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn the_identity_map_is_the_identity() {
        let x = Tensor::rand([1, 1, 8, 8], (Kind::Float, Device::Cpu));
        let theta = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0]).view([1, 2, 3]);
        assert!((resample(&x, &theta) - &x).abs().max().double_value(&[]) < 1e-5);
    }
}
