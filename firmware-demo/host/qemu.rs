//! Build the firmware for the Cortex-M4F, boot it in `qemu-system-arm` (mps2-an386) and parse
//! what it prints.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Rust target of the firmware.
pub const TARGET: &str = "thumbv7em-none-eabihf";

/// Why the firmware cannot be run here (no QEMU, no Cortex-M target), if so.
pub fn skip_reason() -> Option<String> {
    let qemu = Command::new("qemu-system-arm").arg("--version").stdout(Stdio::null()).status();
    if !qemu.is_ok_and(|s| s.success()) {
        return Some("qemu-system-arm is not installed (Debian: apt-get install qemu-system-arm)".into());
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output().ok()?;
    let lib = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim()).join("lib/rustlib").join(TARGET);
    if !lib.exists() {
        return Some(format!("the Rust target {TARGET} is not installed (rustup target add {TARGET})"));
    }
    None
}

/// `FIRMWARE_MODEL=<model> cargo build -p firmware-demo --release --target
/// thumbv7em-none-eabihf` into `<target_dir>/firmware-<family>` (its own folder per model, so
/// both stay built, and it never waits on the lock of the cargo that runs the tests); returns
/// the ELF's path.
pub fn build_firmware(target_dir: &Path, model: &super::Embedded) -> Result<PathBuf, String> {
    let dir = target_dir.join(format!("firmware-{}", model.family()));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["build", "-p", "firmware-demo", "--release", "--target", TARGET])
        .current_dir(super::workspace_root())
        .env("CARGO_TARGET_DIR", &dir)
        .env("FIRMWARE_MODEL", &model.blob_path)
        .env("FIRMWARE_RAM_KIB", model.ram_kib.to_string())
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!("firmware build failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(dir.join(TARGET).join("release/firmware-demo"))
}

/// Boot `elf` in QEMU with `dir` as its working directory (semihosting files are relative to
/// it) and instruction counting on; returns its standard output. Fails on a non-zero exit or
/// after `timeout`.
pub fn run(elf: &Path, dir: &Path, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new("qemu-system-arm")
        .args(["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel"])
        .arg(elf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| format!("waiting for qemu: {e}"))? {
            Some(status) => break status,
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("qemu did not finish within {timeout:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let out = reader.join().map_err(|_| "stdout reader panicked")?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(format!("firmware failed ({status}):\n{out}{err}"));
    }
    Ok(out)
}

/// One classified image as the device printed it.
#[derive(Clone, Debug)]
pub struct DeviceLine {
    pub name: String,
    /// The line without ` instr=N`: what the host rebuilds with infer-core.
    pub verdict: String,
    pub instructions: u64,
}

/// Everything the firmware printed, parsed.
#[derive(Clone, Debug, Default)]
pub struct DeviceRun {
    /// The validation loop: (instructions it executes, instructions the clock measured).
    pub timer: (u64, u64),
    /// The model the firmware says it embeds, and its arena.
    pub model: String,
    pub arena: u64,
    pub load_instructions: u64,
    pub lines: Vec<DeviceLine>,
    pub stack_peak: u64,
    pub stack_region: u64,
}

/// Parse the firmware's output (see `src/device/mod.rs`).
pub fn parse(out: &str) -> Result<DeviceRun, String> {
    let mut run = DeviceRun::default();
    let field = |line: &str, key: &str| -> Result<u64, String> {
        let v = line.split(' ').find_map(|w| w.strip_prefix(key)).ok_or(format!("no {key} in {line:?}"))?;
        v.parse().map_err(|e| format!("bad {key} in {line:?}: {e}"))
    };
    for line in out.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("timer: loop of ") {
            let words: Vec<&str> = rest.split(' ').collect();
            let num = |i: usize| words.get(i).and_then(|w| w.parse().ok()).ok_or(format!("bad {line:?}"));
            run.timer = (num(0)?, num(4)?);
        } else if let Some(rest) = line.strip_prefix("model: ") {
            run.model = rest.split(' ').next().unwrap_or_default().to_string();
            run.arena = field(line, "arena=")?;
            run.load_instructions = field(line, "load_instr=")?;
        } else if line.starts_with("images=") {
            run.stack_peak = field(line, "stack_peak_bytes=")?;
            run.stack_region = field(line, "stack_region_bytes=")?;
        } else if let Some((verdict, n)) = line.rsplit_once(" instr=") {
            let name = verdict.split(' ').next().unwrap_or_default().to_string();
            let instructions = n.parse().map_err(|e| format!("bad instr in {line:?}: {e}"))?;
            run.lines.push(DeviceLine { name, verdict: verdict.to_string(), instructions });
        }
    }
    if run.stack_region == 0 {
        return Err(format!("the firmware did not finish its report:\n{out}"));
    }
    Ok(run)
}
