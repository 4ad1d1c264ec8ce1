//! The device side: boot, measure, classify every image the host listed, draw, exit QEMU.
//!
//! The host prepares, in QEMU's working directory, `list.txt` (one image name per line) and for
//! each name `<name>.pixels`: `INPUT_SIDE`² pixels of `INPUT_CHANNELS` bytes (grey or RGB),
//! already decoded and resized on the host (for the X-ray models with the trainer's
//! preprocessing). The firmware prints one line per image (see `firmware_demo::report`),
//! writes the last screen to `screen.gray`, prints its memory and
//! exits QEMU with success; any failure prints one `error:` line and exits with failure.

mod clock;
mod hostfs;
mod stack;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _; // a panic prints its message and exits QEMU with failure

use firmware_demo::report::Verdict;
use firmware_demo::screen::{self, Framebuffer};
use firmware_demo::{FirmwareModel, BLOB, HEAD, INPUT_CHANNELS, INPUT_SIDE, LABELS, MACS, MODEL_NAME, STREAMED_ARENA_LEN};
use hostfs::{FsError, HostFile};

/// Longest image name accepted in `list.txt`.
const NAME_MAX: usize = 64;

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut` (entry runs once): zero-initialised, so in
    // .bss, and counted in the statics of the RAM figure.
    // The streamed run's arena: the first layers compute row by row (infer-core README).
    // The image is read straight into it (`streamed_input`), so there is no pixel buffer.
    static mut ARENA: [u8; STREAMED_ARENA_LEN] = [0; STREAMED_ARENA_LEN];
    static mut FB: Framebuffer = Framebuffer::new();
    // Loaded where it lies, so its plan (168 bytes a layer) never passes through the stack.
    static mut MODEL: FirmwareModel = FirmwareModel::EMPTY;

    stack::paint();
    clock::start();
    let (expected, measured) = clock::validate(1_000_000);
    hprintln!("timer: loop of {} instructions measured as {}", expected, measured);

    let t = clock::now();
    if let Err(e) = MODEL.load(BLOB) {
        fail(format_args!("embedded blob does not load: {e}"));
    }
    let model: &FirmwareModel = MODEL;
    hprintln!(
        "model: {} arena={} macs={} load_instr={}",
        MODEL_NAME,
        STREAMED_ARENA_LEN,
        MACS,
        clock::instructions_since(t)
    );

    let images = classify_all(model, ARENA, FB);
    if images > 0 {
        if let Err(e) = HostFile::create("screen.gray").and_then(|mut f| f.write_all(&FB.pixels)) {
            fail(format_args!("cannot write screen.gray: {e}"));
        }
    }
    let (peak, region) = stack::peak();
    hprintln!("images={} stack_peak_bytes={} stack_region_bytes={}", images, peak, region);
    debug::exit(debug::EXIT_SUCCESS);
    halt()
}

/// Classify every image named in `list.txt`; returns how many. Without `list.txt` nothing is
/// classified (a plain `cargo run` still boots, validates the clock and reports memory).
fn classify_all(model: &FirmwareModel, arena: &mut [u8], fb: &mut Framebuffer) -> usize {
    let Ok(mut list) = HostFile::open("list.txt") else {
        hprintln!("no list.txt in QEMU's working directory: nothing to classify");
        return 0;
    };
    let mut count = 0;
    let mut path = heapless::String::<{ NAME_MAX + 5 }>::new();
    while let Some(name) = next_line(&mut list) {
        path.clear();
        // Cannot fail: names are at most NAME_MAX bytes.
        let _ = path.push_str(&name);
        let _ = path.push_str(".pixels");
        let pixels = match model.streamed_input(arena) {
            Ok(pixels) => pixels,
            Err(e) => fail(format_args!("{e}")),
        };
        if let Err(e) = HostFile::open(&path).and_then(|mut f| f.read_exact(pixels)) {
            fail(format_args!("cannot read {path}: {e}"));
        }
        screen::draw_image(fb, pixels, INPUT_SIDE, INPUT_CHANNELS);
        let t = clock::now();
        let out = match model.run_u8_streamed_in_place(arena) {
            Ok(out) => out,
            Err(e) => fail(format_args!("{name}: {e}")),
        };
        let instructions = clock::instructions_since(t);
        let Some(verdict) = Verdict::of(&out, &HEAD) else {
            fail(format_args!("{name}: output of {} values, not a sigmoid head", out.len()));
        };
        hprintln!("{}", verdict.line(&name, Some(instructions)));
        screen::draw_verdict(fb, &name, &verdict, &HEAD, LABELS);
        count += 1;
    }
    count
}

/// The next non-empty line of `file` (without `\r`), or `None` at the end.
fn next_line(file: &mut HostFile) -> Option<heapless::String<NAME_MAX>> {
    let mut line = heapless::String::new();
    let mut byte = [0u8; 1];
    loop {
        let n = file.read(&mut byte);
        match byte[0] {
            _ if n == 0 => return (!line.is_empty()).then_some(line),
            b'\n' if !line.is_empty() => return Some(line),
            b'\n' | b'\r' => {}
            b => {
                if line.push(char::from(b)).is_err() {
                    fail(format_args!("list.txt: a name is longer than {NAME_MAX} bytes"));
                }
            }
        }
    }
}

/// Print one `error:` line and exit QEMU with failure.
fn fail(why: core::fmt::Arguments<'_>) -> ! {
    hprintln!("error: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    halt()
}

/// Wait forever: only reached if the semihosting exit did not stop QEMU (no debugger host).
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

impl core::fmt::Display for FsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FsError::PathTooLong => write!(f, "path too long"),
            FsError::Open => write!(f, "the host cannot open it"),
            FsError::Short { got, wanted } => write!(f, "only {got} of {wanted} bytes"),
            FsError::Write => write!(f, "the host did not take every byte"),
        }
    }
}

/// A fault (bad address, bad instruction) ends the run with failure instead of hanging QEMU.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    fail(format_args!("hard fault at pc={:#010x}", frame.pc()));
}
