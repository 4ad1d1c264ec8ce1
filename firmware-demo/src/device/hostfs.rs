//! Host files over ARM semihosting (SYS_OPEN / SYS_READ / SYS_WRITE / SYS_CLOSE): QEMU runs
//! them in its own working directory, so the firmware reads the images the host prepared
//! there and writes the screen back.

use cortex_m_semihosting::syscall;

/// Semihosting open modes (ISO C `fopen` strings by index).
const MODE_RB: usize = 1;
const MODE_WB: usize = 5;

/// An open host file; closed on drop.
pub struct HostFile(usize);

/// Why a host file operation failed.
#[derive(Debug)]
pub enum FsError {
    /// The path is longer than the firmware's 96-byte path buffer.
    PathTooLong,
    /// The host refused to open the file (missing, no permission).
    Open,
    /// The file ended before the buffer was full: `got` bytes of `wanted`.
    Short { got: usize, wanted: usize },
    /// The host did not take all bytes written.
    Write,
}

impl HostFile {
    /// Open `path` for reading (binary).
    pub fn open(path: &str) -> Result<HostFile, FsError> {
        HostFile::open_mode(path, MODE_RB)
    }

    /// Create or truncate `path` for writing (binary).
    pub fn create(path: &str) -> Result<HostFile, FsError> {
        HostFile::open_mode(path, MODE_WB)
    }

    fn open_mode(path: &str, mode: usize) -> Result<HostFile, FsError> {
        // SYS_OPEN wants a NUL-terminated string and its length without the NUL.
        let mut z = [0u8; 97];
        z.get_mut(..path.len()).ok_or(FsError::PathTooLong)?.copy_from_slice(path.as_bytes());
        if path.len() >= z.len() {
            return Err(FsError::PathTooLong);
        }
        // SAFETY: the pointer and length describe `z`, alive for the call.
        let fd = unsafe { syscall!(OPEN, z.as_ptr(), mode, path.len()) } as isize;
        if fd < 0 {
            Err(FsError::Open)
        } else {
            Ok(HostFile(fd as usize))
        }
    }

    /// Read up to `buf.len()` bytes; returns how many were read (0 at the end of the file).
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        // SAFETY: the host writes at most `buf.len()` bytes into `buf`. SYS_READ returns the
        // number of bytes *not* read.
        let left = unsafe { syscall!(READ, self.0, buf.as_mut_ptr(), buf.len()) };
        buf.len().saturating_sub(left)
    }

    /// Fill `buf` completely or fail with the count read.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), FsError> {
        let wanted = buf.len();
        let mut got = 0;
        while got < wanted {
            let n = self.read(&mut buf[got..]);
            if n == 0 {
                return Err(FsError::Short { got, wanted });
            }
            got += n;
        }
        Ok(())
    }

    /// Write all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), FsError> {
        // SAFETY: the host reads `data.len()` bytes from `data`; returns the bytes not written.
        let left = unsafe { syscall!(WRITE, self.0, data.as_ptr(), data.len()) };
        if left == 0 {
            Ok(())
        } else {
            Err(FsError::Write)
        }
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        // SAFETY: closes the handle this value owns.
        unsafe { syscall!(CLOSE, self.0) };
    }
}
