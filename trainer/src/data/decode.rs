//! Decodes one image file (grey or RGB JPEG, PNG, any size) to a square one-channel u8 image.
//!
//! The Kaggle images are already squashed to 224×224 without keeping the aspect ratio, so
//! other inputs are squashed the same way. The triangle (bilinear) filter widens its support
//! when it shrinks, so a 2,500 px original is averaged properly, not sampled.

use image::imageops::FilterType;

/// Decodes `bytes` and resizes to `size`×`size`, one byte per pixel. The error is a short
/// reason for the caller to pair with the file name.
pub fn decode_grey_square(bytes: &[u8], size: u32) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory(bytes).map_err(|e| format!("cannot decode image: {e}"))?;
    if img.width() == 0 || img.height() == 0 {
        return Err("image has zero width or height".into());
    }
    let grey = img.to_luma8();
    let resized = if grey.width() == size && grey.height() == size {
        grey
    } else {
        image::imageops::resize(&grey, size, size, FilterType::Triangle)
    };
    Ok(resized.into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};
    use std::io::Cursor;

    fn encode(img: image::DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn grey_png_of_odd_shape_is_squashed_to_size() {
        let img = GrayImage::from_fn(37, 11, |x, _| Luma([(x * 6) as u8]));
        let bytes = encode(image::DynamicImage::ImageLuma8(img), ImageFormat::Png);
        let px = decode_grey_square(&bytes, 16).unwrap();
        assert_eq!(px.len(), 16 * 16);
        // A left-to-right ramp stays a ramp.
        assert!(px[0] < px[15]);
    }

    #[test]
    fn rgb_jpeg_with_equal_channels_keeps_its_grey_level() {
        let img = RgbImage::from_pixel(24, 24, Rgb([100, 100, 100]));
        let bytes = encode(image::DynamicImage::ImageRgb8(img), ImageFormat::Jpeg);
        let px = decode_grey_square(&bytes, 24).unwrap();
        assert!(px.iter().all(|&p| (98..=102).contains(&p)), "{px:?}");
    }

    #[test]
    fn truncated_and_non_image_bytes_are_errors() {
        let img = GrayImage::from_pixel(64, 64, Luma([7]));
        let bytes = encode(image::DynamicImage::ImageLuma8(img), ImageFormat::Jpeg);
        assert!(decode_grey_square(&bytes[..bytes.len() / 3], 8).is_err());
        assert!(decode_grey_square(b"this is not an image", 8).is_err());
        assert!(decode_grey_square(&[], 8).is_err());
    }
}
