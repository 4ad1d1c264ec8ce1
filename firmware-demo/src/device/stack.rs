//! Stack high-water mark by painting: at boot every word between the end of the statics
//! (`_stack_end`, cortex-m-rt's name for the bottom of the stack region) and the current stack
//! pointer is filled with a pattern; at the end the first word from the bottom that no longer
//! holds it marks the deepest the stack has been.

use core::ptr::{addr_of, read_volatile, write_volatile};

const PAINT: u32 = 0xC0DE_5AFE;

extern "C" {
    static _stack_end: u32;
    static _stack_start: u32;
}

// Only the symbols' addresses are used (set by cortex-m-rt's link.x), never their values.
fn bottom() -> usize {
    addr_of!(_stack_end) as usize
}

fn top() -> usize {
    addr_of!(_stack_start) as usize
}

/// Paint the unused stack. Called first thing in `main`; everything below this function's own
/// frame is free (64 bytes are left as margin and count as used).
#[inline(never)]
pub fn paint() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom();
    while p + 64 < sp {
        // SAFETY: [bottom, sp − 64) is RAM reserved for the stack and not in use yet.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Deepest stack use since [`paint`], in bytes, and the stack region's size.
pub fn peak() -> (usize, usize) {
    let mut p = bottom();
    // SAFETY: reads of RAM inside the stack region.
    while p < top() && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (top() - p, top() - bottom())
}
