//! Boots the firmware in QEMU (mps2-an386, Cortex-M4F) on 24 real test X-rays (8 normal,
//! 8 bacterial, 8 viral) and checks that every line it prints — class, probability and the raw
//! int8 output — equals infer-core's on the host byte for byte, and that the screen it drew
//! for the last image equals the host build of the same drawing code. Without QEMU or the
//! Cortex-M target it prints one `firmware tests skipped: …` line and passes.

#[path = "../host/mod.rs"]
mod host;

use std::io::Write;
use std::time::{Duration, Instant};

use firmware_demo::screen::{self, Framebuffer};
use firmware_demo::{report::Verdict, BLOB, INPUT_SIDE, THRESHOLD};

#[test]
fn firmware_in_qemu_agrees_with_the_host_on_real_x_rays() {
    if let Some(reason) = host::qemu::skip_reason() {
        // Straight to stderr: the test harness captures `println!`/`eprintln!` of a passing
        // test, and this line must be seen.
        let _ = writeln!(std::io::stderr(), "firmware tests skipped: {reason}");
        return;
    }
    let start = Instant::now();
    let target = host::outer_target_dir().unwrap();
    let elf = host::qemu::build_firmware(&target).unwrap();
    let built = start.elapsed();

    let images = host::select_images(8).unwrap();
    let dir = target.join("firmware/qemu-test-images");
    let _ = std::fs::remove_dir_all(&dir);
    let pixels = host::prepare_dir(&dir, &images, INPUT_SIDE as u32).unwrap();
    let out = host::qemu::run(&elf, &dir, Duration::from_secs(600)).unwrap();
    let run = host::qemu::parse(&out).unwrap();
    println!("{out}");

    let model = infer_core::Model::from_bytes(BLOB).unwrap();
    let mut arena = vec![0u8; model.arena_len()];
    assert_eq!(run.lines.len(), images.len(), "one line per image:\n{out}");
    for ((img, px), dev) in images.iter().zip(&pixels).zip(&run.lines) {
        let host = host::host_line(&model, &mut arena, &img.name, px).unwrap();
        assert_eq!(dev.verdict, host, "{} ({}): device vs host", img.name, img.kind);
    }

    // The device's last screen, read back over semihosting, is the host's drawing.
    let (last, last_px) = (images.last().unwrap(), pixels.last().unwrap());
    let out = model.run_u8(last_px, &mut arena).unwrap();
    let mut fb = Framebuffer::new();
    screen::draw(&mut fb, last_px, INPUT_SIDE, &last.name, &Verdict::of(&out, THRESHOLD).unwrap(), THRESHOLD);
    let device_fb = std::fs::read(dir.join("screen.gray")).unwrap();
    assert!(device_fb == fb.pixels, "device screen differs from the host drawing");

    let (expected, measured) = run.timer;
    assert!(measured.abs_diff(expected) <= 2 * 40, "instruction clock: {measured} for {expected}");
    println!("firmware build {built:.1?}, whole test {:.1?}", start.elapsed());
}
