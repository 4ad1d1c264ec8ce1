//! Image files made at test time: a PNG header of any claimed size, and the unusual but
//! valid encodings a user's images come in (16-bit grey, RGBA, CMYK JPEG, one pixel).
#![allow(dead_code)] // each test binary uses a different part

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, Rgba, RgbaImage};

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut chunk = kind.to_vec();
    chunk.extend(data);
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(&chunk);
    out.extend(infer_core::crc32(&chunk).to_be_bytes());
}

/// A PNG file that claims to be a `width`×`height` 8-bit grey image: header, a token of image
/// data and IEND, all with valid CRCs.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    push_chunk(&mut out, b"IHDR", &ihdr);
    push_chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00]);
    push_chunk(&mut out, b"IEND", &[]);
    out
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// A 16-bit grey PNG with a gradient.
pub fn grey16_png(side: u32) -> Vec<u8> {
    let img: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(side, side, |x, y| Luma([((x + y) * 65535 / (2 * side)) as u16]));
    encode(DynamicImage::ImageLuma16(img), ImageFormat::Png)
}

/// An RGBA PNG, half transparent.
pub fn rgba_png(side: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(side, side, |x, y| Rgba([(x * 3) as u8, (y * 5) as u8, 90, 128]));
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

/// A 1×1 grey PNG.
pub fn one_pixel_png() -> Vec<u8> {
    encode(DynamicImage::ImageLuma8(GrayImage::from_pixel(1, 1, Luma([77]))), ImageFormat::Png)
}

/// A CMYK JPEG (as print workflows and some scanners write them).
pub fn cmyk_jpeg(side: u16) -> Vec<u8> {
    let mut px = Vec::with_capacity(usize::from(side) * usize::from(side) * 4);
    for y in 0..side {
        for x in 0..side {
            px.extend([(x % 256) as u8, (y % 256) as u8, 40, 20]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&px, side, side, jpeg_encoder::ColorType::Cmyk)
        .expect("encodes a CMYK JPEG");
    out
}
