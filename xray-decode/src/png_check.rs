//! Refuses a PNG file that is cut off before its IEND chunk.
//!
//! The PNG decoder verifies every chunk's CRC, so flipped bits are caught there, but it stops
//! reading after the image data and so accepts a file that ends early in its last chunks.

/// Checks that the chunks of `bytes`, which start with the PNG signature, run whole up to
/// and including IEND (bytes after IEND are tolerated). The error is a short reason.
pub fn check_png(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 8;
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return Err(cut_message(bytes.len()));
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = pos + 12 + len;
        if end > bytes.len() {
            return Err(cut_message(bytes.len()));
        }
        if &header[4..8] == b"IEND" {
            return Ok(());
        }
        pos = end;
    }
}

fn cut_message(len: usize) -> String {
    format!("PNG data ends before its IEND chunk (the file stops at byte {len})")
}
