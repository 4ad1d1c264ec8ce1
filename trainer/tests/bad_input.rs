//! Bad input gives clear errors naming the file or folder, never a panic; a few unreadable
//! images are skipped and counted. Uses small generated images, not the real set.

use std::path::Path;

use image::{GrayImage, ImageFormat, Luma};
use trainer::data::Dataset;

/// Writes a tiny Kaggle layout: `n` normal, bacterial and viral images per split.
fn make_layout(root: &Path, n: usize) {
    for split in ["train", "val", "test"] {
        for class in ["NORMAL", "PNEUMONIA"] {
            std::fs::create_dir_all(root.join(split).join(class)).unwrap();
        }
        for i in 0..n {
            let shade = (i * 13 % 250) as u8;
            let img = GrayImage::from_fn(20 + i as u32, 16, |x, y| Luma([shade.wrapping_add((x + y) as u8)]));
            let id = 100 * (split.len()) + i;
            img.save_with_format(
                root.join(format!("{split}/NORMAL/IM-{id:04}-0001.jpeg")),
                ImageFormat::Jpeg,
            )
            .unwrap();
            img.save_with_format(
                root.join(format!("{split}/PNEUMONIA/person{id}_bacteria_{i}.jpeg")),
                ImageFormat::Jpeg,
            )
            .unwrap();
            img.save_with_format(
                root.join(format!("{split}/PNEUMONIA/person{id}_virus_{i}.png")),
                ImageFormat::Png,
            )
            .unwrap();
        }
    }
}

fn load(root: &Path) -> anyhow::Result<Dataset> {
    Dataset::load(root, 8, &root.join("../cache"))
}

fn error_text(root: &Path) -> String {
    format!("{:#}", load(root).err().expect("expected an error"))
}

#[test]
fn a_good_layout_loads_every_image() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("chest_xray");
    make_layout(&root, 3);
    let d = load(&root).unwrap();
    assert_eq!(d.records.len(), 27);
    assert!(d.skipped.is_empty());
    assert_eq!(d.pixels.len(), 27 * 64);
    // The second load comes from the cache and is identical.
    let again = load(&root).unwrap();
    assert_eq!(again.pixels, d.pixels);
}

#[test]
fn corrupt_truncated_and_non_image_files_are_skipped_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("chest_xray");
    make_layout(&root, 3);
    let bytes = std::fs::read(root.join("test/NORMAL/IM-0400-0001.jpeg")).unwrap();
    std::fs::write(root.join("train/NORMAL/IM-0900-0001.jpeg"), &bytes[..bytes.len() / 4]).unwrap();
    std::fs::write(root.join("train/NORMAL/IM-0901-0001.jpeg"), b"not an image at all").unwrap();
    std::fs::write(root.join("train/PNEUMONIA/notes.txt"), b"hello").unwrap();
    std::fs::write(root.join("train/PNEUMONIA/scan.jpeg"), &bytes).unwrap();
    let d = load(&root).unwrap();
    assert_eq!(d.records.len(), 27);
    let mut reasons: Vec<String> = d.skipped.iter().map(|s| s.to_string()).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 4, "{reasons:#?}");
    assert!(reasons.iter().any(|r| r.contains("IM-0900-0001.jpeg") && r.contains("cannot decode")));
    assert!(reasons.iter().any(|r| r.contains("IM-0901-0001.jpeg") && r.contains("cannot decode")));
    assert!(reasons.iter().any(|r| r.contains("notes.txt") && r.contains("not an image file")));
    assert!(reasons.iter().any(|r| r.contains("scan.jpeg") && r.contains("personN_bacteria_M")));
}

#[test]
fn missing_folder_names_it_and_says_where_data_comes_from() {
    let tmp = tempfile::tempdir().unwrap();
    let e = error_text(&tmp.path().join("nowhere"));
    assert!(e.contains("nowhere") && e.contains("does not exist") && e.contains("Kaggle"), "{e}");
}

#[test]
fn a_folder_outside_the_kaggle_layout_is_refused_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    make_layout(&tmp.path().join("chest_xray"), 1);
    let e = error_text(tmp.path());
    assert!(e.contains("not in the Kaggle layout") && e.contains("did you mean"), "{e}");
}

#[test]
fn empty_and_missing_class_folders_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("chest_xray");
    make_layout(&root, 1);
    for f in std::fs::read_dir(root.join("test/PNEUMONIA")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let e = error_text(&root);
    assert!(e.contains("test/PNEUMONIA") && e.contains("is empty"), "{e}");
    std::fs::remove_dir(root.join("test/PNEUMONIA")).unwrap();
    let e = error_text(&root);
    assert!(e.contains("test/PNEUMONIA") && e.contains("missing"), "{e}");
}

#[test]
fn a_layout_with_no_usable_image_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("chest_xray");
    for split in ["train", "test"] {
        for class in ["NORMAL", "PNEUMONIA"] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            let name = if class == "NORMAL" { "IM-0001-0001.jpeg" } else { "person1_virus_1.jpeg" };
            std::fs::write(dir.join(name), b"garbage").unwrap();
        }
    }
    let e = error_text(&root);
    assert!(e.contains("no usable images"), "{e}");
}
