//! Walks the Huffman-coded data of one sequential (baseline or extended) 8-bit JPEG scan
//! without decoding pixels, to tell whole data from damaged data.
//!
//! A decoder fills in what it cannot read, so a damaged scan still gives an image. This walk
//! instead requires what the standard requires of whole data: every code is in its table, no
//! block has more than 64 coefficients, no coefficient is outside the range an 8-bit image can
//! produce (|value × quantiser| ≤ 1024, plus rounding), every restart marker comes exactly
//! where the restart interval puts it, and the last block ends in the last byte of the scan,
//! followed only by padding 1-bits. A flipped bit usually derails the Huffman decoding and
//! breaks one of these; one that only changes a coefficient's value bits leaves a valid
//! stream of the same length and cannot be seen without a checksum, which JPEG lacks.

/// A canonical Huffman table (JPEG F.2.2.3): per code length, the largest code and where its
/// values start.
#[derive(Clone)]
pub struct Huffman {
    max_code: [i32; 17],
    min_code: [i32; 17],
    first_value: [usize; 17],
    values: Vec<u8>,
}

impl Huffman {
    /// Builds a table from the 16 code counts and the values of a DHT segment.
    pub fn new(counts: &[u8; 16], values: Vec<u8>) -> Result<Huffman, String> {
        let mut t = Huffman { max_code: [-1; 17], min_code: [0; 17], first_value: [0; 17], values };
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            let n = counts[len - 1] as i32;
            t.first_value[len] = k;
            t.min_code[len] = code;
            code += n;
            k += n as usize;
            if code > (1 << len) {
                return Err("invalid Huffman table (more codes than the code length allows)".into());
            }
            if n > 0 {
                t.max_code[len] = code - 1;
            }
            code <<= 1;
        }
        Ok(t)
    }
}

/// Entropy-coded bytes with their 0xFF00 stuffing, read most significant bit first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
}

impl<'a> Bits<'a> {
    /// Tops the buffer up to at least 57 bits or up to the next marker.
    fn fill(&mut self) {
        while self.n <= 56 && self.pos < self.data.len() {
            let byte = self.data[self.pos];
            if byte == 0xFF {
                if self.data.get(self.pos + 1) != Some(&0) {
                    return; // a marker (or the scan's last byte): data stops here
                }
                self.pos += 2;
            } else {
                self.pos += 1;
            }
            self.acc |= u64::from(byte) << (56 - self.n);
            self.n += 8;
        }
    }

    fn bits(&mut self, count: u32) -> Result<u32, String> {
        if count == 0 {
            return Ok(0);
        }
        if self.n < count {
            self.fill();
            if self.n < count {
                return Err("the blocks need more data than the scan holds".into());
            }
        }
        let v = (self.acc >> (64 - count)) as u32;
        self.acc <<= count;
        self.n -= count;
        Ok(v)
    }

    fn symbol(&mut self, t: &Huffman) -> Result<u8, String> {
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | self.bits(1)? as i32;
            if code <= t.max_code[len] {
                let i = t.first_value[len] + (code - t.min_code[len]) as usize;
                return t.values.get(i).copied().ok_or_else(|| "invalid Huffman code".to_string());
            }
        }
        Err("invalid Huffman code".into())
    }

    /// Drops the padding of the current byte (which must be 1-bits) and returns how many
    /// bytes of data are left before the next marker.
    fn finish_byte(&mut self) -> Result<usize, String> {
        let pad = self.n % 8;
        if pad > 0 && (self.acc >> (64 - pad)) != (1 << pad) - 1 {
            return Err("the padding bits after a block are not 1-bits".into());
        }
        let buffered = (self.n / 8) as usize;
        self.acc = 0;
        self.n = 0;
        let mut rest = 0;
        while self.pos < self.data.len() && !self.at_marker() {
            self.pos += if self.data[self.pos] == 0xFF { 2 } else { 1 };
            rest += 1;
        }
        Ok(buffered + rest)
    }

    fn at_marker(&self) -> bool {
        self.data[self.pos] == 0xFF && self.data.get(self.pos + 1) != Some(&0)
    }
}

/// One component's part in a scan: blocks per MCU (h × v, or 1 when it is alone in the scan),
/// its tables and quantiser (zig-zag order).
pub struct ScanComponent<'t> {
    pub blocks_per_mcu: usize,
    pub dc: &'t Huffman,
    pub ac: &'t Huffman,
    pub quant: [u16; 64],
}

/// The shape of one sequential scan.
pub struct Scan<'t> {
    pub components: Vec<ScanComponent<'t>>,
    pub mcus: usize,
    /// MCUs between restart markers; 0 for none.
    pub restart_interval: usize,
}

/// Walks `data`, the bytes from just after the SOS header up to (not including) the marker
/// that ends the scan. The error says what is wrong and where.
pub fn walk_scan(scan: &Scan, data: &[u8]) -> Result<(), String> {
    let mut bits = Bits { data, pos: 0, acc: 0, n: 0 };
    let mut preds = vec![0i32; scan.components.len()];
    let mut coef = [0i32; 64];
    for mcu in 0..scan.mcus {
        if scan.restart_interval > 0 && mcu > 0 && mcu % scan.restart_interval == 0 {
            let expected = (mcu / scan.restart_interval - 1) % 8;
            restart(&mut bits, expected).map_err(|e| at(e, mcu, scan.mcus, bits.pos))?;
            preds.iter_mut().for_each(|p| *p = 0);
        }
        for (c, pred) in scan.components.iter().zip(preds.iter_mut()) {
            for _ in 0..c.blocks_per_mcu {
                block(&mut bits, c, pred, &mut coef).map_err(|e| at(e, mcu, scan.mcus, bits.pos))?;
            }
        }
    }
    let left = bits.finish_byte().map_err(|e| at(e, scan.mcus - 1, scan.mcus, bits.pos))?;
    if left > 0 {
        return Err(format!("{left} bytes of scan data are left over after the last of {} MCUs", scan.mcus));
    }
    Ok(())
}

fn at(e: String, mcu: usize, mcus: usize, pos: usize) -> String {
    format!("{e} (MCU {} of {mcus}, near byte {pos} of the scan data)", mcu + 1)
}

fn restart(bits: &mut Bits, expected: usize) -> Result<(), String> {
    let left = bits.finish_byte()?;
    if left > 0 {
        return Err(format!("{left} bytes of data left over before a restart marker"));
    }
    let want = 0xD0 + expected as u8;
    match bits.data.get(bits.pos..bits.pos + 2) {
        Some([0xFF, m]) if *m == want => {
            bits.pos += 2;
            Ok(())
        }
        Some([0xFF, m]) => Err(format!("marker 0xFF{m:02X} where restart marker 0xFF{want:02X} belongs")),
        _ => Err(format!("scan data ends where restart marker 0xFF{want:02X} belongs")),
    }
}

/// Decodes one 8×8 block's coefficients (zig-zag order) and checks their ranges.
fn block(bits: &mut Bits, c: &ScanComponent, pred: &mut i32, coef: &mut [i32; 64]) -> Result<(), String> {
    let s = bits.symbol(c.dc)? as u32;
    if s > 11 {
        return Err(format!("DC difference of {s} bits (at most 11 in 8-bit data)"));
    }
    *pred += extend(bits.bits(s)?, s);
    coef[0] = *pred;
    let mut k = 1;
    while k < 64 {
        let rs = bits.symbol(c.ac)?;
        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
        if size == 0 {
            match run {
                0 => break,
                15 => k += 16,
                _ => return Err(format!("AC code 0x{rs:02X} is not valid in a sequential scan")),
            }
            continue;
        }
        if size > 10 {
            return Err(format!("AC coefficient of {size} bits (at most 10 in 8-bit data)"));
        }
        k += run;
        if k > 63 {
            return Err("a block has more than 64 coefficients".into());
        }
        coef[k] = extend(bits.bits(size)?, size);
        check_range(coef[k], c.quant[k], k)?;
        k += 1;
    }
    if k > 64 {
        return Err("a block has more than 64 coefficients".into());
    }
    check_range(coef[0], c.quant[0], 0)
}

/// An 8-bit image's DCT coefficients lie within ±1024; quantisation rounds by at most half
/// a step. A coefficient beyond that did not come from an image.
fn check_range(v: i32, q: u16, k: usize) -> Result<(), String> {
    let q = i64::from(q.max(1));
    if i64::from(v).abs() * q > 1024 + q / 2 + 1 {
        let what = if k == 0 { "DC" } else { "AC" };
        return Err(format!("{what} coefficient {v} × quantiser {q} is outside the range of 8-bit data"));
    }
    Ok(())
}

/// JPEG F.2.2.1 EXTEND: `s` received bits as a signed value.
fn extend(v: u32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < (1 << (s - 1)) {
        v as i32 - (1 << s) + 1
    } else {
        v as i32
    }
}
