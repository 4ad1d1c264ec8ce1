//! Builds the firmware once per embedded model (the seed CNN, MobileNetV2-0.35), boots each in
//! QEMU on the 24 test X-rays of the QEMU test, and writes `reports/firmware.json` (one row per
//! model: memory, flash, instructions, agreement with infer-core on the host) and
//! `reports/firmware_screen_<family>.png` (the device's framebuffer, read back over
//! semihosting).
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
use host::Embedded;
use serde_json::json;

/// The budgets: the seed CNN within an nRF52840 (Cortex-M4F: 256 KiB of RAM, 1 MiB of flash),
/// MobileNetV2-0.35 within an STM32F746 (320 KB of SRAM, 1 MiB of flash), Google's imported
/// MobileNetV2 1.0 (3.6 MB of weights) within the RAM it is linked with and the board's 4 MiB
/// of flash.
fn budgets(e: &Embedded) -> (u64, u64) {
    match e.family() {
        "mobilenet_v2" => (320 * 1024, 1024 * 1024),
        "seed_cnn" => (256 * 1024, 1024 * 1024),
        _ => (u64::from(e.ram_kib) * 1024, 4 * 1024 * 1024),
    }
}

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
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let target = host::outer_target_dir()?;
    let xrays = host::select_images(8)?;
    let mut models = Vec::new();
    for name in host::MODELS {
        let embedded = Embedded::load(name)?;
        let inputs = host::xray_inputs(&xrays, embedded.side as u32)?;
        models.push((embedded, inputs));
    }
    models.push((host::import_google_mobilenet(&target)?, host::photo_inputs()?));
    for (embedded, inputs) in &models {
        let name = &embedded.name;
        let (row, agree, images) = measure(embedded, inputs)?;
        if agree != images {
            failures.push(format!("{name}: the device agrees with the host on {agree} of {images} images"));
        }
        rows.push(row);
    }
    let root = host::workspace_root();
    let text = serde_json::to_string_pretty(&json!(rows)).map_err(|e| e.to_string())? + "\n";
    let path = root.join("reports/firmware.json");
    std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{text}wrote reports/firmware.json and reports/firmware_screen_*.png");
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Build, boot and measure the firmware embedding `embedded` on `inputs`: its report row, the
/// images on which device and host agree, and the images classified.
fn measure(embedded: &Embedded, inputs: &[(String, Vec<u8>)]) -> Result<(serde_json::Value, usize, usize), String> {
    let target = host::outer_target_dir()?;
    eprintln!("building the firmware with {} ({})", embedded.name, host::qemu::TARGET);
    let elf = host::qemu::build_firmware(&target, embedded)?;
    let dir = target.join(format!("firmware-{}/report-images", embedded.family()));
    host::prepare_dir(&dir, inputs)?;
    eprintln!("booting it in QEMU on {} images", inputs.len());
    let out = host::qemu::run(&elf, &dir, Duration::from_secs(900))?;
    print!("{out}");
    let run = host::qemu::parse(&out)?;

    let model = embedded.model();
    let mut arena = vec![0u8; model.arena_len()];
    let mut agree = 0;
    for ((name, px), dev) in inputs.iter().zip(&run.lines) {
        let host = host::host_verdict(embedded, &model, &mut arena, name, px)?;
        let host_line = host.line(name, None);
        if dev.verdict == host_line.as_str() {
            agree += 1;
        } else {
            eprintln!("DISAGREE {name}: device {:?} host {host_line:?}", dev.verdict);
        }
    }

    let screen =
        std::fs::read(dir.join("screen.gray")).map_err(|e| format!("no screen from the device: {e}"))?;
    let png = format!("reports/firmware_screen_{}.png", embedded.family());
    host::save_png(&host::workspace_root().join(&png), &screen, WIDTH as u32, HEIGHT as u32)?;
    let sections = host::elf::sections(&elf)?;
    let row = row(embedded, &model, &sections, &run, (inputs.len(), agree), &png);
    Ok((row, agree, inputs.len()))
}

/// The report's row for the embedded model.
fn row(
    embedded: &Embedded,
    model: &infer_core::Model<'_>,
    s: &host::elf::Sections,
    run: &host::qemu::DeviceRun,
    (images, agree): (usize, usize),
    png: &str,
) -> serde_json::Value {
    let (ram_budget, flash_budget) = budgets(embedded);
    let macs = model.macs();
    let instr: Vec<u64> = run.lines.iter().map(|l| l.instructions).collect();
    let per_image = instr.iter().sum::<u64>() / instr.len().max(1) as u64;
    let peak_ram = s.statics() + run.stack_peak;
    let (loop_len, measured) = run.timer;
    json!({
        "target": "thumbv7em-none-eabihf on qemu-system-arm mps2-an386 (Cortex-M4F, 25 MHz)",
        "model": embedded.name,
        "images": images,
        "agree_with_host": agree,
        "peak_ram_bytes": peak_ram,
        "flash_bytes": s.flash(),
        "arena_bytes": run.arena,
        "arena_bytes_without_streaming": model.arena_len(),
        "streamed_layers": model.streamed_layers(),
        "instructions_per_image": per_image,
        "instructions_per_mac": (per_image as f64 / macs as f64 * 1000.0).round() / 1000.0,
        "ram": {
            "statics_bytes": s.statics(),
            "data_bytes": s.data,
            "bss_bytes": s.bss,
            "stack_peak_bytes": run.stack_peak,
            "budget_bytes": ram_budget,
            "within_budget": peak_ram <= ram_budget,
        },
        "flash": {
            "vector_table_bytes": s.vector_table,
            "text_bytes": s.text,
            "rodata_bytes": s.rodata,
            "blob_bytes": embedded.blob.len(),
            "budget_bytes": flash_budget,
            "within_budget": s.flash() <= flash_budget,
        },
        "macs_per_image": macs,
        "instructions_per_image_min": instr.iter().min(),
        "instructions_per_image_max": instr.iter().max(),
        "load_instructions": run.load_instructions,
        "timer_validation": {
            "loop_instructions": loop_len,
            "measured_instructions": measured,
            "ratio": measured as f64 / loop_len.max(1) as f64,
            "how": "subs/bne loop of known length, timed by the CMSDK timer0 under -icount shift=0",
        },
        "screen": format!("{png}: the device framebuffer after the last image, read back over semihosting"),
        "command": "cargo run -p firmware-demo --example firmware_report",
    })
}
