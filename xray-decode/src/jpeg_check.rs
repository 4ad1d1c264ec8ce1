//! Refuses damaged JPEG files before they are decoded.
//!
//! JPEG decoders fill in what is missing, so a file cut off mid-scan or with corrupt
//! entropy-coded data decodes "successfully" to a partly grey or smeared image. This check
//! walks the markers from SOI to EOI: every header segment must be complete, every scan's
//! entropy-coded data must be followed by a marker, and the file must reach its EOI marker
//! (bytes after EOI are tolerated, as decoders ignore them). Sequential 8-bit scans (every
//! image of the Kermany set) are also walked code by code, see `jpeg_scan.rs`; progressive
//! and other scans get the marker walk only.

use crate::jpeg_scan::{walk_scan, Huffman, Scan, ScanComponent};

/// Checks that `bytes`, which start with a JPEG SOI marker, hold a whole, uncorrupted JPEG.
/// The error is a short reason for the caller to pair with the file name.
pub fn check_jpeg(bytes: &[u8]) -> Result<(), String> {
    let mut state = State::default();
    let mut pos = 2;
    loop {
        let (marker, body) = next_marker(bytes, pos)?;
        let at = pos;
        pos = body;
        match marker {
            0xD9 if state.scans == 0 => {
                return Err("JPEG has no image data before its end-of-image marker".into())
            }
            0xD9 => return Ok(()),
            0xD0..=0xD8 => return Err(format!("JPEG marker 0xFF{marker:02X} out of place at byte {at}")),
            0x01 => continue,
            _ => {}
        }
        let segment = segment(bytes, pos, marker)?;
        pos += 2 + segment.len();
        if marker == 0xDA {
            let end =
                scan_end(bytes, pos).ok_or_else(|| cut_message(bytes.len(), "entropy-coded scan data"))?;
            state.scan(segment, &bytes[pos..end])?;
            pos = end;
        } else {
            state.header(marker, segment)?;
        }
    }
}

fn cut_message(len: usize, inside: &str) -> String {
    format!(
        "JPEG data ends before its end-of-image marker (the file stops at byte {len}, inside the {inside})"
    )
}

/// The marker at `pos` (after any 0xFF fill bytes) and where its body starts.
fn next_marker(bytes: &[u8], mut pos: usize) -> Result<(u8, usize), String> {
    match bytes.get(pos) {
        None => return Err(cut_message(bytes.len(), "headers")),
        Some(0xFF) => {}
        Some(_) => return Err(format!("corrupt JPEG: expected a marker at byte {pos}")),
    }
    while bytes.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    match bytes.get(pos) {
        None => Err(cut_message(bytes.len(), "headers")),
        Some(0) => Err(format!("corrupt JPEG: expected a marker at byte {pos}")),
        Some(&m) => Ok((m, pos + 1)),
    }
}

/// The body of the segment whose length field is at `pos`.
fn segment(bytes: &[u8], pos: usize, marker: u8) -> Result<&[u8], String> {
    let Some(len) = bytes.get(pos..pos + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
        return Err(cut_message(bytes.len(), "headers"));
    };
    if len < 2 {
        return Err(format!("corrupt JPEG: segment 0xFF{marker:02X} at byte {pos} has length {len}"));
    }
    bytes.get(pos + 2..pos + len).ok_or_else(|| cut_message(bytes.len(), "headers"))
}

/// Where the entropy-coded data starting at `pos` ends: the first marker other than a
/// stuffed 0xFF00 or a restart marker. `None` when the file ends first.
fn scan_end(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += bytes.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct FrameComponent {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
}

/// What the headers have set up so far.
#[derive(Default)]
struct State {
    /// Width, height and components of the frame; `walkable` for 8-bit sequential Huffman.
    frame: Option<(usize, usize, Vec<FrameComponent>)>,
    walkable: bool,
    /// DC tables 0–3, then AC tables 0–3.
    tables: [Option<Huffman>; 8],
    quant: [Option<[u16; 64]>; 4],
    restart_interval: usize,
    scans: usize,
}

impl State {
    fn header(&mut self, marker: u8, s: &[u8]) -> Result<(), String> {
        let bad = |what: &str| format!("corrupt JPEG: invalid {what} segment");
        match marker {
            0xC4 => self.huffman_tables(s).ok_or_else(|| bad("Huffman table"))?,
            0xDB => self.quant_tables(s).ok_or_else(|| bad("quantisation table"))?,
            0xDD => {
                self.restart_interval = s
                    .get(..2)
                    .map(|b| usize::from(b[0]) << 8 | usize::from(b[1]))
                    .ok_or_else(|| bad("restart interval"))?
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if self.frame.is_some() {
                    return Err("corrupt JPEG: a second frame header".into());
                }
                self.frame = Some(parse_frame(s).ok_or_else(|| bad("frame header"))?);
                self.walkable = matches!(marker, 0xC0 | 0xC1) && s[0] == 8;
            }
            _ => {}
        }
        Ok(())
    }

    fn huffman_tables(&mut self, mut s: &[u8]) -> Option<()> {
        while !s.is_empty() {
            let (class, id) = (usize::from(s[0] >> 4), usize::from(s[0] & 15));
            let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
            let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let values = s.get(17..17 + n)?.to_vec();
            if class > 1 || id > 3 || n > 256 {
                return None;
            }
            self.tables[class * 4 + id] = Some(Huffman::new(&counts, values).ok()?);
            s = &s[17 + n..];
        }
        Some(())
    }

    fn quant_tables(&mut self, mut s: &[u8]) -> Option<()> {
        while !s.is_empty() {
            let (wide, id) = (s[0] >> 4 == 1, usize::from(s[0] & 15));
            let len = if wide { 128 } else { 64 };
            let body = s.get(1..1 + len)?;
            let mut q = [0u16; 64];
            for (k, v) in q.iter_mut().enumerate() {
                *v = if wide {
                    u16::from_be_bytes([body[2 * k], body[2 * k + 1]])
                } else {
                    u16::from(body[k])
                };
            }
            *self.quant.get_mut(id)? = Some(q);
            s = &s[1 + len..];
        }
        Some(())
    }

    /// Checks one scan: `header` is the SOS segment, `data` its entropy-coded bytes.
    fn scan(&mut self, header: &[u8], data: &[u8]) -> Result<(), String> {
        self.scans += 1;
        let Some((width, height, comps)) = &self.frame else {
            return Err("corrupt JPEG: scan before the frame header".into());
        };
        if !self.walkable || *height == 0 {
            return Ok(());
        }
        let bad = || "corrupt JPEG: invalid scan header".to_string();
        let n = usize::from(*header.first().ok_or_else(bad)?);
        let spec = header.get(1..1 + 2 * n + 3).ok_or_else(bad)?;
        if spec[2 * n..] != [0, 63, 0] {
            return Err(bad()); // a sequential scan covers coefficients 0–63 in one pass
        }
        let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
        let mut components = Vec::with_capacity(n);
        let mut mcus = width.div_ceil(8 * hmax) * height.div_ceil(8 * vmax);
        for pair in spec[..2 * n].chunks(2) {
            let c = comps.iter().find(|c| c.id == pair[0]).ok_or_else(bad)?;
            let table = |i: usize| {
                self.tables[i]
                    .as_ref()
                    .ok_or_else(|| "corrupt JPEG: scan uses a missing Huffman table".to_string())
            };
            let (dc, ac) =
                (table(usize::from(pair[1] >> 4) & 3)?, table(4 + (usize::from(pair[1] & 15) & 3))?);
            let quant = self.quant[c.quant & 3]
                .ok_or_else(|| "corrupt JPEG: scan uses a missing quantisation table".to_string())?;
            let blocks_per_mcu = if n == 1 { 1 } else { c.h * c.v };
            if n == 1 {
                mcus = (width * c.h).div_ceil(hmax).div_ceil(8) * (height * c.v).div_ceil(vmax).div_ceil(8);
            }
            components.push(ScanComponent { blocks_per_mcu, dc, ac, quant });
        }
        let scan = Scan { components, mcus, restart_interval: self.restart_interval };
        walk_scan(&scan, data).map_err(|e| format!("corrupt JPEG entropy-coded data: {e}"))
    }
}

fn parse_frame(s: &[u8]) -> Option<(usize, usize, Vec<FrameComponent>)> {
    let height = usize::from(u16::from_be_bytes([*s.get(1)?, *s.get(2)?]));
    let width = usize::from(u16::from_be_bytes([*s.get(3)?, *s.get(4)?]));
    let n = usize::from(*s.get(5)?);
    let mut comps = Vec::with_capacity(n);
    for c in s.get(6..6 + 3 * n)?.chunks(3) {
        let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || width == 0 {
            return None;
        }
        comps.push(FrameComponent { id: c[0], h, v, quant: usize::from(c[2]) });
    }
    (n > 0).then_some((width, height, comps))
}
