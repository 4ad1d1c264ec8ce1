//! Intensity normalisation of a decoded grey image, applied after the decode cache (so one
//! cache serves every setting) and before any model sees the pixels. X-rays from another
//! clinic differ in exposure and contrast; histogram equalisation maps every image onto a
//! flat grey-level histogram, so a model cannot lean on a site's exposure.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Intensity {
    /// The decoded pixels as they are.
    #[default]
    None,
    /// Histogram equalisation of each image (the classic CDF mapping).
    Equalize,
}

impl Intensity {
    /// Normalises every `per`-pixel image of `pixels` in place.
    pub fn apply(self, pixels: &mut [u8], per: usize) {
        if self == Intensity::Equalize && per > 0 {
            pixels.chunks_exact_mut(per).for_each(equalize);
        }
    }
}

/// Histogram equalisation: grey level v goes to round(255 (cdf(v) − cdf_min) / (n − cdf_min)),
/// where cdf_min is the count of the darkest level present. A flat image stays as it is.
pub fn equalize(image: &mut [u8]) {
    let mut hist = [0u32; 256];
    for &v in image.iter() {
        hist[v as usize] += 1;
    }
    let n = image.len() as u64;
    let cdf_min = u64::from(hist.iter().copied().find(|&c| c > 0).unwrap_or(0));
    if n == cdf_min {
        return;
    }
    let mut lut = [0u8; 256];
    let mut cdf = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        cdf += u64::from(c);
        // Rounded integer division; cdf ≥ cdf_min for every level present.
        lut[v] = ((255 * cdf.saturating_sub(cdf_min) + (n - cdf_min) / 2) / (n - cdf_min)) as u8;
    }
    for v in image.iter_mut() {
        *v = lut[*v as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equalize_spreads_levels_over_the_full_range() {
        // Four levels, equally frequent: they go to 0, 85, 170, 255.
        let mut img = [10u8, 10, 20, 20, 30, 30, 40, 40];
        equalize(&mut img);
        assert_eq!(img, [0, 0, 85, 85, 170, 170, 255, 255]);
    }

    #[test]
    fn order_is_kept_and_flat_images_are_untouched() {
        let mut img = [100u8, 101, 101, 150, 200, 200, 200, 201];
        equalize(&mut img);
        assert!(img.windows(2).all(|w| w[0] <= w[1]), "{img:?}");
        assert_eq!((img[0], img[7]), (0, 255));
        let mut flat = [77u8; 9];
        equalize(&mut flat);
        assert_eq!(flat, [77u8; 9]);
    }

    #[test]
    fn apply_works_per_image() {
        let mut two = [10u8, 20, 5, 5];
        Intensity::Equalize.apply(&mut two, 2);
        assert_eq!(two, [0, 255, 5, 5]);
        let mut same = [10u8, 20];
        Intensity::None.apply(&mut same, 2);
        assert_eq!(same, [10, 20]);
    }
}
