//! Boots the firmware in QEMU (mps2-an386, Cortex-M4F) on 24 real test X-rays (8 normal,
//! 8 bacterial, 8 viral), once with each embedded model (the seed CNN and MobileNetV2-0.35),
//! and checks that every line it prints — class, probability and the raw int8 output — equals
//! infer-core's layer-by-layer run on the host byte for byte (the device runs the row-streamed
//! engine), and that the screen it drew for the last image equals the host build of the same
//! drawing code. Without QEMU or the Cortex-M target it prints one
//! `firmware tests skipped: …` line and passes.

#[path = "../host/mod.rs"]
mod host;

use std::io::Write;
use std::time::{Duration, Instant};

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
    for name in host::MODELS {
        check_model(&Embedded::load(name).unwrap());
    }
}

fn check_model(embedded: &Embedded) {
    let start = Instant::now();
    let target = host::outer_target_dir().unwrap();
    let elf = host::qemu::build_firmware(&target, embedded).unwrap();
    let built = start.elapsed();

    let images = host::select_images(8).unwrap();
    let dir = target.join(format!("firmware-{}/qemu-test-images", embedded.family()));
    let _ = std::fs::remove_dir_all(&dir);
    let pixels = host::prepare_dir(&dir, &images, embedded.side as u32).unwrap();
    let out = host::qemu::run(&elf, &dir, Duration::from_secs(600)).unwrap();
    let run = host::qemu::parse(&out).unwrap();
    println!("{out}");
    assert_eq!(run.model, embedded.name, "the firmware embeds another model");

    let model = embedded.model();
    assert_eq!(run.arena, model.streamed_arena_len() as u64, "the device's arena is the streamed run's");
    let mut arena = vec![0u8; model.arena_len()];
    assert_eq!(run.lines.len(), images.len(), "one line per image:\n{out}");
    let mut last = None;
    for ((img, px), dev) in images.iter().zip(&pixels).zip(&run.lines) {
        let verdict = host::host_verdict(&model, &mut arena, &img.name, px, embedded.threshold).unwrap();
        assert_eq!(dev.verdict, verdict.line(&img.name, None).as_str(), "{} ({}): device vs host", img.name, img.kind);
        last = Some(verdict);
    }

    // The device's last screen, read back over semihosting, is the host's drawing.
    let (img, px) = (images.last().unwrap(), pixels.last().unwrap());
    let mut fb = Framebuffer::new();
    screen::draw(&mut fb, px, embedded.side, &img.name, &last.unwrap(), embedded.threshold);
    let device_fb = std::fs::read(dir.join("screen.gray")).unwrap();
    assert!(device_fb == fb.pixels, "{}: device screen differs from the host drawing", embedded.name);

    let (expected, measured) = run.timer;
    assert!(measured.abs_diff(expected) <= 2 * 40, "instruction clock: {measured} for {expected}");
    println!("{}: firmware build {built:.1?}, whole check {:.1?}", embedded.name, start.elapsed());
}
