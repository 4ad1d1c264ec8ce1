//! Real X-rays from ../shared/data, cut off and with flipped bits, are refused with a reason
//! that says what is wrong, and a damaged file in a Kaggle layout is skipped by name. The
//! images are read from the shared data folder (copied into a temporary folder at test time
//! where a layout is needed), never committed.

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat};
use trainer::data::decode::decode_grey_square;
use trainer::data::Dataset;

mod common;
use common::images::png_header;

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// Two 224×224 Kermany images and a full-resolution one with restart markers.
fn xrays() -> Vec<(String, Vec<u8>)> {
    let data = shared_data();
    [
        "chest_xray/train/NORMAL/IM-0115-0001.jpeg",
        "chest_xray/test/PNEUMONIA/person100_bacteria_475.jpeg",
        "fullres-samples/IM-0265-0001.jpeg",
    ]
    .iter()
    .map(|p| (p.to_string(), std::fs::read(data.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))))
    .collect()
}

/// Start and end (the EOI marker) of the entropy-coded data of the first scan.
fn entropy_data(bytes: &[u8]) -> (usize, usize) {
    let mut pos = 2;
    while bytes[pos + 1] != 0xDA {
        pos += 2 + usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
    }
    let start = pos + 2 + usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
    assert_eq!(bytes[bytes.len() - 2..], [0xFF, 0xD9]);
    (start, bytes.len() - 2)
}

#[test]
fn whole_xrays_decode() {
    for (name, bytes) in xrays() {
        assert!(decode_grey_square(&bytes, 64).is_ok(), "{name}");
    }
}

#[test]
fn xrays_cut_at_several_points_are_refused() {
    for (name, bytes) in xrays() {
        let n = bytes.len();
        let (start, _) = entropy_data(&bytes);
        let mut cuts: Vec<usize> = [25, 50, 75, 90, 99].iter().map(|p| n * p / 100).collect();
        cuts.extend([start / 2, start + 10, n - 2, n - 1]);
        for cut in cuts {
            let e = decode_grey_square(&bytes[..cut], 64).expect_err(&format!("{name} cut at {cut} of {n}"));
            assert!(e.contains("JPEG data ends before its end-of-image marker"), "{name} at {cut}: {e}");
            assert!(e.contains(&format!("stops at byte {cut}")), "{name} at {cut}: {e}");
        }
    }
}

#[test]
fn xrays_with_flipped_bits_in_their_entropy_coded_data_are_refused_when_the_code_stream_breaks() {
    let (mut tried, mut refused) = (0, 0);
    for (name, bytes) in xrays() {
        let (start, end) = entropy_data(&bytes);
        for i in 0..40 {
            let mut damaged = bytes.clone();
            let at = start + (end - start) * (2 * i + 1) / 80;
            damaged[at] ^= 1 << (i % 8);
            tried += 1;
            if let Err(e) = decode_grey_square(&damaged, 64) {
                refused += 1;
                assert!(
                    e.starts_with("cannot decode image: corrupt JPEG entropy-coded data: "),
                    "{name} bit {} of byte {at}: {e}",
                    i % 8
                );
            }
        }
    }
    eprintln!("{refused} of {tried} single-bit flips refused");
    assert!(refused * 10 >= tried * 3, "only {refused} of {tried} single-bit flips refused");
}

fn png_of(bytes: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(bytes).unwrap().to_luma8();
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageLuma8(img).write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn an_xray_as_png_cut_or_with_a_flipped_bit_is_refused() {
    let (_, jpeg) = &xrays()[0];
    let png = png_of(jpeg);
    let n = png.len();
    assert!(decode_grey_square(&png, 64).is_ok());
    for cut in [n / 4, n / 2, n * 9 / 10, n - 13, n - 1] {
        let e = decode_grey_square(&png[..cut], 64).expect_err(&format!("PNG cut at {cut} of {n}"));
        assert!(
            e.contains("cannot decode image") || e.contains("PNG data ends before its IEND chunk"),
            "{e}"
        );
    }
    for at in [n / 3, n / 2, n * 3 / 4] {
        let mut damaged = png.clone();
        damaged[at] ^= 0x10;
        let e = decode_grey_square(&damaged, 64).expect_err(&format!("PNG with byte {at} flipped"));
        assert!(e.contains("cannot decode image"), "{e}");
    }
}

#[test]
fn an_oversized_png_is_refused_with_its_size_and_the_limit() {
    let e = decode_grey_square(&png_header(30000, 30000), 64).unwrap_err();
    assert!(e.contains("30000×30000") && e.contains("50 megapixel limit"), "{e}");
}

/// The first `n` files (by name) of a real class folder.
fn real_files(split: &str, class: &str, n: usize) -> Vec<PathBuf> {
    let dir = shared_data().join("chest_xray").join(split).join(class);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.truncate(n);
    names
}

#[test]
fn a_cut_xray_in_a_kaggle_layout_is_skipped_with_a_warning_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("chest_xray");
    let mut whole = 0;
    for split in ["train", "test"] {
        for class in ["NORMAL", "PNEUMONIA"] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for f in real_files(split, class, 2) {
                std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
                whole += 1;
            }
        }
    }
    let source = &real_files("train", "PNEUMONIA", 3)[2];
    let bytes = std::fs::read(source).unwrap();
    let cut = bytes.len() * 3 / 5;
    std::fs::write(root.join("train/PNEUMONIA/person9999_bacteria_1.jpeg"), &bytes[..cut]).unwrap();

    let d = Dataset::load(&root, 8, &tmp.path().join("cache")).unwrap();
    assert_eq!(d.records.len(), whole);
    assert_eq!(d.skipped.len(), 1, "{:#?}", d.skipped);
    let reason = d.skipped[0].to_string();
    assert!(reason.contains("person9999_bacteria_1.jpeg"), "{reason}");
    assert!(
        reason.contains(&format!(
            "JPEG data ends before its end-of-image marker (the file stops at byte {cut}"
        )),
        "{reason}"
    );
}
