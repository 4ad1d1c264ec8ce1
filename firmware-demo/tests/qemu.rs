//! Boots the firmware in QEMU (mps2-an386, Cortex-M4F) once per embedded model and checks that
//! every line it prints — class, probability and the raw int8 output — equals infer-core's
//! layer-by-layer run on the host byte for byte (the device runs the row-streamed engine), and
//! that the screen it drew for the last image equals the host build of the same drawing code:
//! - the seed CNN and MobileNetV2-0.35 on 24 real test X-rays (8 normal, 8 bacterial, 8 viral);
//! - Google's int8 MobileNetV2 1.0, imported from TFLite, on the five reference photos, whose
//!   top class also carries TFLite's own output byte.
//!
//! Without QEMU or the Cortex-M target it prints one `firmware tests skipped: …` line and passes.

#[path = "../host/mod.rs"]
mod host;

use std::io::Write;
use std::time::{Duration, Instant};

use firmware_demo::report::Class;
use firmware_demo::screen::{self, Framebuffer};
use host::Embedded;

#[test]
fn firmware_in_qemu_agrees_with_the_host_on_real_x_rays() {
    if let Some(reason) = host::qemu::skip_reason() {
        // Straight to stderr: the test harness captures `println!`/`eprintln!` of a passing
        // test, and this line must be seen.
        let _ = writeln!(std::io::stderr(), "firmware tests skipped: {reason}");
        return;
    }
    let images = host::select_images(8).unwrap();
    for name in host::MODELS {
        let embedded = Embedded::load(name).unwrap();
        let inputs = host::xray_inputs(&images, embedded.side as u32).unwrap();
        check_model(&embedded, &inputs);
    }
}

#[test]
fn imported_tflite_mobilenet_runs_on_the_device() {
    if let Some(reason) = host::qemu::skip_reason() {
        let _ = writeln!(std::io::stderr(), "firmware tests skipped: {reason}");
        return;
    }
    let target = host::outer_target_dir().unwrap();
    let embedded = host::import_google_mobilenet(&target).unwrap();
    let photos = host::photo_inputs().unwrap();
    let lines = check_model(&embedded, &photos);
    // The top class's byte is TFLite's own (uint8 = int8 ^ 0x80).
    let fixtures = host::workspace_root().join("tflite-import/tests/fixtures/mobilenet_v2_1.0_224_ptq");
    for ((name, _), (class, q)) in photos.iter().zip(lines) {
        let tflite = std::fs::read(fixtures.join(format!("{name}.output.u8"))).unwrap();
        let Class::Index(top) = class else { panic!("{name}: not a class index") };
        assert_eq!(tflite[top], q as u8 ^ 0x80, "{name}: top class byte vs TFLite");
    }
}

/// Boot the firmware embedding `embedded` on `inputs` and compare with the host; returns each
/// image's class and top int8 value.
fn check_model(embedded: &Embedded, inputs: &[(String, Vec<u8>)]) -> Vec<(Class, i8)> {
    let start = Instant::now();
    let target = host::outer_target_dir().unwrap();
    let elf = host::qemu::build_firmware(&target, embedded).unwrap();
    let built = start.elapsed();
    let dir = target.join(format!("firmware-{}/qemu-test-images", embedded.family()));
    host::prepare_dir(&dir, inputs).unwrap();
    let out = host::qemu::run(&elf, &dir, Duration::from_secs(900)).unwrap();
    let run = host::qemu::parse(&out).unwrap();
    println!("{out}");
    assert_eq!(run.model, embedded.name, "the firmware embeds another model");

    let model = embedded.model();
    assert_eq!(run.arena, model.streamed_arena_len() as u64, "the device's arena is the streamed run's");
    let mut arena = vec![0u8; model.arena_len()];
    assert_eq!(run.lines.len(), inputs.len(), "one line per image:\n{out}");
    let mut verdicts = Vec::new();
    for ((name, px), dev) in inputs.iter().zip(&run.lines) {
        let verdict = host::host_verdict(embedded, &model, &mut arena, name, px).unwrap();
        assert_eq!(dev.verdict, verdict.line(name, None).as_str(), "{name}: device vs host");
        verdicts.push(verdict);
    }

    // The device's last screen, read back over semihosting, is the host's drawing.
    let ((name, px), last) = (inputs.last().unwrap(), verdicts.last().unwrap());
    let labels: Vec<&str> = embedded.labels.iter().map(String::as_str).collect();
    let mut fb = Framebuffer::new();
    screen::draw(&mut fb, px, (embedded.side, embedded.channels), name, last, &embedded.head, &labels);
    let device_fb = std::fs::read(dir.join("screen.gray")).unwrap();
    assert!(device_fb == fb.pixels, "{}: device screen differs from the host drawing", embedded.name);

    let (expected, measured) = run.timer;
    assert!(measured.abs_diff(expected) <= 2 * 40, "instruction clock: {measured} for {expected}");
    println!("{}: firmware build {built:.1?}, whole check {:.1?}", embedded.name, start.elapsed());
    verdicts.iter().map(|v| (v.class, v.q[0])).collect()
}

#[test]
fn a_card_with_intensity_normalisation_is_refused() {
    // Needs neither QEMU nor the target: the host refuses before anything is built.
    let dir = std::env::temp_dir().join(format!("firmware-intensity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let name = host::MODELS[0];
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join(format!("{name}.json"))).unwrap()).unwrap();
    assert!(host::refuse_intensity(&format!("{name}.json"), &card).is_ok(), "the shipped card is refused");
    card["split"]["intensity"] = "equalize".into();
    let blob = dir.join(format!("{name}.int8.postcard"));
    std::fs::copy(models.join(format!("{name}.int8.postcard")), &blob).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), serde_json::to_vec(&card).unwrap()).unwrap();
    let e = Embedded::at(&blob, 256).err().expect("a card asking for equalisation was accepted");
    assert!(e.contains("equalize") && e.contains(name), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
