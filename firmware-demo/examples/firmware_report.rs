//! Builds the firmware, boots it in QEMU on the 24 test X-rays of the QEMU test, and writes
//! `reports/firmware.json` (memory, flash, instructions, agreement with infer-core on the host)
//! and `reports/firmware_screen.png` (the device's framebuffer, read back over semihosting).
//!
//! `cargo run -p firmware-demo --example firmware_report`
//!
//! Peak RAM = statics (.data + .bss + .uninit, from the ELF) + the stack's high-water mark
//! measured on the device by stack painting. Flash = .vector_table + .text + .rodata + .data.
//! Instructions come from `-icount shift=0` (1 ns of virtual time per instruction) read
//! through the CMSDK timer (25 MHz: one tick per 40 instructions), validated on the device by
//! a `subs`/`bne` loop of 2,000,000 instructions.

#[path = "../host/mod.rs"]
mod host;

use std::time::Duration;

use firmware_demo::screen::{HEIGHT, WIDTH};
use firmware_demo::{ARENA_LEN, BLOB, INPUT_SIDE, MACS, MODEL_NAME};
use serde_json::json;

/// The RAM and flash of an nRF52840 (Cortex-M4F), the budget the issue sets.
const RAM_BUDGET: u64 = 256 * 1024;
const FLASH_BUDGET: u64 = 1024 * 1024;

fn main() {
    if let Err(e) = report() {
        eprintln!("firmware_report: {e}");
        std::process::exit(1);
    }
}

fn report() -> Result<(), String> {
    if let Some(reason) = host::qemu::skip_reason() {
        return Err(format!("cannot run the firmware: {reason}"));
    }
    let target = host::outer_target_dir()?;
    eprintln!("building the firmware ({})", host::qemu::TARGET);
    let elf = host::qemu::build_firmware(&target)?;
    let images = host::select_images(8)?;
    let dir = target.join("firmware/report-images");
    let _ = std::fs::remove_dir_all(&dir);
    let pixels = host::prepare_dir(&dir, &images, INPUT_SIDE as u32)?;
    eprintln!("booting it in QEMU on {} images", images.len());
    let out = host::qemu::run(&elf, &dir, Duration::from_secs(900))?;
    print!("{out}");
    let run = host::qemu::parse(&out)?;

    let model = infer_core::Model::from_bytes(BLOB).map_err(|e| e.to_string())?;
    let mut arena = vec![0u8; model.arena_len()];
    let mut agree = 0;
    for ((img, px), dev) in images.iter().zip(&pixels).zip(&run.lines) {
        let host_line = host::host_line(&model, &mut arena, &img.name, px)?;
        if dev.verdict == host_line {
            agree += 1;
        } else {
            eprintln!("DISAGREE {}: device {:?} host {host_line:?}", img.name, dev.verdict);
        }
    }

    let root = host::workspace_root();
    let screen =
        std::fs::read(dir.join("screen.gray")).map_err(|e| format!("no screen from the device: {e}"))?;
    host::save_png(&root.join("reports/firmware_screen.png"), &screen, WIDTH as u32, HEIGHT as u32)?;

    let row = row(&host::elf::sections(&elf)?, &run, images.len(), agree);
    let text = serde_json::to_string_pretty(&json!([row])).map_err(|e| e.to_string())? + "\n";
    let path = root.join("reports/firmware.json");
    std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{text}wrote reports/firmware.json and reports/firmware_screen.png");
    if agree != images.len() || run.lines.len() != images.len() {
        return Err(format!("the device agrees with the host on {agree} of {} images", images.len()));
    }
    Ok(())
}

/// The report's row for the embedded model.
fn row(
    s: &host::elf::Sections,
    run: &host::qemu::DeviceRun,
    images: usize,
    agree: usize,
) -> serde_json::Value {
    let instr: Vec<u64> = run.lines.iter().map(|l| l.instructions).collect();
    let per_image = instr.iter().sum::<u64>() / instr.len().max(1) as u64;
    let peak_ram = s.statics() + run.stack_peak;
    let (loop_len, measured) = run.timer;
    json!({
        "target": "thumbv7em-none-eabihf on qemu-system-arm mps2-an386 (Cortex-M4F, 25 MHz)",
        "model": MODEL_NAME,
        "images": images,
        "agree_with_host": agree,
        "peak_ram_bytes": peak_ram,
        "flash_bytes": s.flash(),
        "arena_bytes": ARENA_LEN,
        "instructions_per_image": per_image,
        "instructions_per_mac": (per_image as f64 / MACS as f64 * 1000.0).round() / 1000.0,
        "ram": {
            "statics_bytes": s.statics(),
            "data_bytes": s.data,
            "bss_bytes": s.bss,
            "stack_peak_bytes": run.stack_peak,
            "budget_bytes": RAM_BUDGET,
            "within_budget": peak_ram <= RAM_BUDGET,
        },
        "flash": {
            "vector_table_bytes": s.vector_table,
            "text_bytes": s.text,
            "rodata_bytes": s.rodata,
            "blob_bytes": BLOB.len(),
            "budget_bytes": FLASH_BUDGET,
            "within_budget": s.flash() <= FLASH_BUDGET,
        },
        "macs_per_image": MACS,
        "instructions_per_image_min": instr.iter().min(),
        "instructions_per_image_max": instr.iter().max(),
        "load_instructions": run.load_instructions,
        "timer_validation": {
            "loop_instructions": loop_len,
            "measured_instructions": measured,
            "ratio": measured as f64 / loop_len.max(1) as f64,
            "how": "subs/bne loop of known length, timed by the CMSDK timer0 under -icount shift=0",
        },
        "screen": "reports/firmware_screen.png: the device framebuffer after the last image, read back over semihosting",
        "command": "cargo run -p firmware-demo --example firmware_report",
    })
}
