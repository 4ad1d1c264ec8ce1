//! Host-testable core of the firmware demo. The Cortex-M binary (QEMU mps2-an386) and the
//! embedded-graphics display come with the firmware issue; for now this crate only proves
//! that the engine builds for a `no_std` consumer.
#![cfg_attr(not(test), no_std)]

/// Text shown on the display for a pneumonia probability in per-mille and a threshold.
pub fn verdict(p_permille: u16, threshold_permille: u16) -> &'static str {
    if p_permille >= threshold_permille {
        "PNEUMONIA"
    } else {
        "NORMAL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_switches_at_the_threshold() {
        assert_eq!(verdict(499, 500), "NORMAL");
        assert_eq!(verdict(500, 500), "PNEUMONIA");
    }
}
