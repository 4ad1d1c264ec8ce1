//! An instruction clock. QEMU counts no cycles (DWT CYCCNT reads 0), but run with
//! `-icount shift=0` its virtual time advances exactly 1 ns per executed instruction, and the
//! CMSDK APB timer 0 (0x4000_0000) counts down at the board's 25 MHz, i.e. one tick per 40 ns =
//! 40 instructions. `validate` checks that ratio on a loop of known length. Without `-icount`
//! the timer follows host time and the counts mean nothing (the test does not use them).

use core::ptr::{read_volatile, write_volatile};

const TIMER0: usize = 0x4000_0000;
const CTRL: *mut u32 = TIMER0 as *mut u32;
const VALUE: *mut u32 = (TIMER0 + 4) as *mut u32;
const RELOAD: *mut u32 = (TIMER0 + 8) as *mut u32;

/// Instructions per timer tick: 1 ns per instruction (`-icount shift=0`) at a 25 MHz timer.
pub const INSTRUCTIONS_PER_TICK: u64 = 40;

/// Start timer 0 free-running down from `u32::MAX` (wraps after 2^32 ticks ≈ 1.7 · 10^11
/// instructions, far beyond one image; differences use wrapping arithmetic).
pub fn start() {
    // SAFETY: TIMER0's CTRL/VALUE/RELOAD are the CMSDK timer's memory-mapped registers on
    // mps2-an386; nothing else in the firmware uses this timer or its interrupt (disabled).
    unsafe {
        write_volatile(CTRL, 0);
        write_volatile(RELOAD, u32::MAX);
        write_volatile(VALUE, u32::MAX);
        write_volatile(CTRL, 1); // enable, external clock input off, interrupt off
    }
}

/// The current tick count (counts down).
pub fn now() -> u32 {
    // SAFETY: a read of the timer's VALUE register (see `start`).
    unsafe { read_volatile(VALUE) }
}

/// Instructions executed since `earlier` (a value of [`now`]), to within one tick (40).
pub fn instructions_since(earlier: u32) -> u64 {
    u64::from(earlier.wrapping_sub(now())) * INSTRUCTIONS_PER_TICK
}

/// Run a loop of exactly `2 · iterations` instructions (`subs` + `bne`) and return what the
/// clock measured for it, so the firmware can print the ratio.
pub fn validate(iterations: u32) -> (u64, u64) {
    let t = now();
    // SAFETY: pure register arithmetic on a scratch register, no memory access.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        );
    }
    (2 * u64::from(iterations), instructions_since(t))
}
