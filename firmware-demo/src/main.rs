//! The firmware for QEMU's `mps2-an386` (Cortex-M4F): build and run it with
//! `cargo run -p firmware-demo --release --target thumbv7em-none-eabihf` (the runner in
//! `.cargo/config.toml` boots it in `qemu-system-arm`). On the host this file is only a stub
//! that says so, so that `cargo test --workspace` and clippy build the crate's host parts.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod device;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "firmware-demo is Cortex-M4 firmware: run it with \
         `cargo run -p firmware-demo --release --target thumbv7em-none-eabihf`, \
         or `cargo run -p firmware-demo --example firmware_report` for the measured report"
    );
    std::process::exit(2);
}
