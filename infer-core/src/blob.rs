//! The blob container: a 16-byte header guarding a postcard body.
//!
//! ```text
//! offset size field
//!      0    4 magic        b"PXI8"
//!      4    2 version      u16 LE, FORMAT_VERSION = 0x0101:
//!                            high byte = schema revision (1),
//!                            low byte  = rounding mode (0x01 = TFLM double rounding)
//!      6    2 reserved     u16 LE, must be 0
//!      8    4 body_len     u32 LE, exact number of body bytes that follow
//!     12    4 body_crc     u32 LE, CRC-32 (IEEE, reflected 0xEDB88320) of the body
//!     16    … body         postcard(ModelDef)
//! ```
//! The blob must be exactly `16 + body_len` bytes long.

use crate::crc32::crc32;
use crate::error::Error;
use crate::schema::ModelDef;

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"PXI8";
/// Schema revision 1 (high byte) with TFLM double rounding (low byte 0x01).
pub const FORMAT_VERSION: u16 = 0x0101;
/// Header size in bytes.
pub const HEADER_LEN: usize = 16;

fn le_u16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[x, y, z, w]) => u32::from_le_bytes([x, y, z, w]),
        _ => 0,
    }
}

/// Check the header and the CRC, returning the body.
pub(crate) fn open(bytes: &[u8]) -> Result<&[u8], Error> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::Truncated { needed: HEADER_LEN, got: bytes.len() });
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(Error::BadMagic(magic));
    }
    let version = le_u16(bytes, 4);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let reserved = le_u16(bytes, 6);
    if reserved != 0 {
        return Err(Error::ReservedNotZero(reserved));
    }
    let body_len = le_u32(bytes, 8) as usize;
    let stored = le_u32(bytes, 12);
    let available = bytes.len() - HEADER_LEN;
    if body_len > available {
        return Err(Error::Truncated { needed: HEADER_LEN.saturating_add(body_len), got: bytes.len() });
    }
    if body_len < available {
        return Err(Error::TrailingBytes(available - body_len));
    }
    let body = &bytes[HEADER_LEN..];
    let computed = crc32(body);
    if computed != stored {
        return Err(Error::CrcMismatch { stored, computed });
    }
    Ok(body)
}

/// Write the 16-byte header for `body` into `out[..16]`.
fn write_header(out: &mut [u8], body_len: usize, crc: u32) -> Result<(), Error> {
    let len = u32::try_from(body_len).map_err(|_| Error::Encode)?;
    let head = out.get_mut(..HEADER_LEN).ok_or(Error::Encode)?;
    head[..4].copy_from_slice(&MAGIC);
    head[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    head[6..8].copy_from_slice(&0u16.to_le_bytes());
    head[8..12].copy_from_slice(&len.to_le_bytes());
    head[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Serialize `def` into `buf` without allocating; returns the blob length. The result is
/// validated as [`crate::Model::from_bytes`] does (without keeping a plan, so any layer count
/// up to [`crate::MAX_LAYERS`]) before returning, so an invalid model is an error here rather than on
/// the device.
pub fn write_blob(def: &ModelDef<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let body_buf = buf.get_mut(HEADER_LEN..).ok_or(Error::Encode)?;
    let body_len = postcard::to_slice(def, body_buf).map_err(|_| Error::Encode)?.len();
    let crc = crc32(&buf[HEADER_LEN..HEADER_LEN + body_len]);
    write_header(buf, body_len, crc)?;
    let total = HEADER_LEN + body_len;
    crate::plan::validate(&buf[..total])?;
    Ok(total)
}

/// Serialize `def` into a new blob (host side), validating it as [`write_blob`] does.
#[cfg(feature = "std")]
pub fn to_blob(def: &ModelDef<'_>) -> Result<Vec<u8>, Error> {
    let body = postcard::to_allocvec(def).map_err(|_| Error::Encode)?;
    let mut out = vec![0u8; HEADER_LEN];
    write_header(&mut out, body.len(), crc32(&body))?;
    out.extend_from_slice(&body);
    crate::plan::validate(&out)?;
    Ok(out)
}

/// Little-endian bytes of i32 values (biases, multipliers) for [`crate::ChannelQuant`].
#[cfg(feature = "std")]
pub fn i32_le_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Raw bytes of i8 values (weights, shifts).
#[cfg(feature = "std")]
pub fn i8_bytes(values: &[i8]) -> Vec<u8> {
    values.iter().map(|&v| v as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_with_body(body: &[u8]) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[HEADER_LEN..].copy_from_slice(body);
        write_header(&mut b, body.len(), crc32(body)).unwrap();
        b
    }

    #[test]
    fn header_round_trip() {
        let b = blob_with_body(&[1, 2, 3, 4]);
        assert_eq!(&b[..4], b"PXI8");
        assert_eq!(open(&b), Ok(&[1u8, 2, 3, 4][..]));
    }

    #[test]
    fn header_errors() {
        let good = blob_with_body(&[1, 2, 3, 4]);
        assert!(matches!(open(&good[..15]), Err(Error::Truncated { .. })));
        assert!(matches!(open(&good[..19]), Err(Error::Truncated { .. })));
        let mut v = good.to_vec();
        v.push(0);
        assert_eq!(open(&v), Err(Error::TrailingBytes(1)));
        let mut b = good;
        b[0] = b'X';
        assert!(matches!(open(&b), Err(Error::BadMagic(_))));
        let mut b = good;
        b[4] = 0x02; // single rounding: not supported
        assert_eq!(open(&b), Err(Error::UnsupportedVersion(0x0102)));
        let mut b = good;
        b[7] = 1;
        assert!(matches!(open(&b), Err(Error::ReservedNotZero(_))));
        let mut b = good;
        b[11] = 0x80; // oversized body length
        assert!(matches!(open(&b), Err(Error::Truncated { .. })));
        let mut b = good;
        b[17] ^= 0x10;
        assert!(matches!(open(&b), Err(Error::CrcMismatch { .. })));
    }
}
