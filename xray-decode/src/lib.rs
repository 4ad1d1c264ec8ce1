//! `xray-decode`: one image file (grey, RGB, RGBA, CMYK or 16-bit; JPEG or PNG; any size) to
//! the square one-channel u8 image every model here reads — the one preprocessing shared by
//! the trainer (training, evaluation, `trainer predict`) and the firmware's host side.
//!
//! The Kaggle images are already squashed to 224×224 without keeping the aspect ratio, so
//! other inputs are squashed the same way. The triangle (bilinear) filter widens its support
//! when it shrinks, so a 2,500 px original is averaged properly, not sampled.
//!
//! Damaged files are refused rather than trained on: the size is read from the header and
//! checked against `MAX_PIXELS` before anything is allocated, a JPEG must pass `jpeg_check`
//! (decoders fill in missing or corrupt data without an error), a PNG must reach its IEND
//! chunk (`png_check`), and the PNG decoder verifies every chunk's CRC.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

pub mod jpeg_check;
mod jpeg_scan;
pub mod png_check;

use jpeg_check::check_jpeg;
use png_check::check_png;

/// The largest image accepted, in pixels. Chest X-ray detectors and CR plates are at most
/// about 4,300 × 4,300 (18 megapixels); the Kermany originals are at most 2,890 × 2,534.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The decoder's memory limit, consistent with `MAX_PIXELS`: room for a 16-bit RGBA image of
/// that size, so every image under the pixel limit decodes.
pub const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 8;

/// Changes whenever decoding accepts or refuses other files, so caches are rebuilt.
pub const DECODER_VERSION: u32 = 2;

/// Decodes `bytes` and resizes to `size`×`size`, one byte per pixel. The error is a short
/// reason for the caller to pair with the file name.
pub fn decode_grey_square(bytes: &[u8], size: u32) -> Result<Vec<u8>, String> {
    Ok(squashed(decode_checked(bytes)?.to_luma8(), size))
}

/// As [`decode_grey_square`], but keeping colour: `size`×`size` RGB, three bytes per pixel
/// (for models that take colour, e.g. an imported ImageNet network).
pub fn decode_rgb_square(bytes: &[u8], size: u32) -> Result<Vec<u8>, String> {
    Ok(squashed(decode_checked(bytes)?.to_rgb8(), size))
}

/// `img` squashed to `size`×`size` with the triangle filter (unchanged if already that size).
fn squashed<P: image::Pixel<Subpixel = u8> + 'static>(img: image::ImageBuffer<P, Vec<u8>>, size: u32) -> Vec<u8> {
    if img.width() == size && img.height() == size {
        img.into_raw()
    } else {
        image::imageops::resize(&img, size, size, FilterType::Triangle).into_raw()
    }
}

/// Decodes `bytes` after the damage checks, with the size checked before anything large is
/// allocated.
fn decode_checked(bytes: &[u8]) -> Result<DynamicImage, String> {
    let cannot = |e: image::ImageError| format!("cannot decode image: {e}");
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read image: {e}"))?;
    match reader.format() {
        Some(ImageFormat::Jpeg) => check_jpeg(bytes),
        Some(ImageFormat::Png) => check_png(bytes),
        _ => Ok(()),
    }
    .map_err(|e| format!("cannot decode image: {e}"))?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut decoder = reader.into_decoder().map_err(cannot)?;
    let (width, height) = decoder.dimensions();
    check_size(width, height)?;
    decoder.set_limits(limits).map_err(cannot)?;
    DynamicImage::from_decoder(decoder).map_err(cannot)
}

fn check_size(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err(format!("image has zero width or height ({width}×{height} pixels)"));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(format!(
            "image is {width}×{height} pixels ({:.0} megapixels), over the {} megapixel limit",
            pixels as f64 / 1e6,
            MAX_PIXELS / 1_000_000
        ));
    }
    Ok(())
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

    #[test]
    fn a_jpeg_cut_just_before_its_end_marker_is_refused_and_trailing_bytes_are_not() {
        let img = GrayImage::from_fn(40, 24, |x, y| Luma([(x * 5 + y * 3) as u8]));
        let bytes = encode(image::DynamicImage::ImageLuma8(img), ImageFormat::Jpeg);
        let n = bytes.len();
        for cut in [n - 2, n - 1] {
            let e = decode_grey_square(&bytes[..cut], 8).unwrap_err();
            assert!(
                e.contains(&format!("ends before its end-of-image marker (the file stops at byte {cut}")),
                "{e}"
            );
        }
        let mut padded = bytes.clone();
        padded.extend_from_slice(b"trailing bytes");
        assert!(decode_grey_square(&padded, 8).is_ok());
    }

    #[test]
    fn a_png_cut_in_its_last_chunk_is_refused() {
        let img = GrayImage::from_fn(20, 20, |x, y| Luma([(x * y) as u8]));
        let bytes = encode(image::DynamicImage::ImageLuma8(img), ImageFormat::Png);
        let e = decode_grey_square(&bytes[..bytes.len() - 1], 8).unwrap_err();
        assert!(e.contains("PNG data ends before its IEND chunk"), "{e}");
    }

    #[test]
    fn the_size_limit_names_the_size_and_the_limit() {
        assert!(check_size(2890, 2534).is_ok());
        let e = check_size(30000, 30000).unwrap_err();
        assert_eq!(e, "image is 30000×30000 pixels (900 megapixels), over the 50 megapixel limit");
        assert!(check_size(0, 5).is_err());
    }
}
