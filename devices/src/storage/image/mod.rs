//! Disk images as devices see them: a [`BlockBackend`] is an array of bytes
//! that can be read, written (unless read-only) and flushed to stable
//! storage. Formats and files live behind it; controllers never see them.

use std::io;

/// The medium behind a drive.
pub trait BlockBackend: Send {
    /// Size in bytes.
    fn len(&self) -> u64;
    /// Whether the medium holds no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads `buf.len()` bytes at `offset` (the caller keeps within `len`).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes `data` at `offset` (the caller keeps within `len`).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every write so far durable (the guest's cache flush).
    fn flush(&mut self) -> io::Result<()>;
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
}

/// An image in host memory, for tests and throw-away media.
#[derive(Clone, Debug, Default)]
pub struct MemBackend {
    pub data: Vec<u8>,
    pub read_only: bool,
    /// Flushes so far (tests check that a guest's flush reaches the medium).
    pub flushes: u64,
}

impl MemBackend {
    pub fn new(data: Vec<u8>) -> MemBackend {
        MemBackend { data, read_only: false, flushes: 0 }
    }
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "access beyond the end of the image")
}

impl BlockBackend for MemBackend {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        let src = self.data.get(start..start + buf.len()).ok_or_else(out_of_range)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only medium"));
        }
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        let dst = self.data.get_mut(start..start + data.len()).ok_or_else(out_of_range)?;
        dst.copy_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_backend_reads_writes_and_refuses() {
        let mut m = MemBackend::new(vec![0; 1024]);
        m.write_at(512, &[1, 2, 3]).unwrap();
        let mut b = [0; 3];
        m.read_at(512, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3]);
        assert!(m.read_at(1023, &mut [0; 2]).is_err());
        m.read_only = true;
        assert!(m.write_at(0, &[1]).is_err());
    }
}
