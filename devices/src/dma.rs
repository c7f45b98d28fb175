//! How devices reach guest RAM (DMA): through [`GuestMemory`], which the
//! machine implements over the soft MMU's one write path, so that a DMA write
//! onto a page holding translated code invalidates it as a CPU write would
//! (DESIGN.md, invariant 5). Devices never hold a reference to memory: the
//! machine lends it for the duration of the access that makes them transfer.

/// Guest physical memory as a bus master sees it.
pub trait GuestMemory {
    /// Reads `buf.len()` bytes at physical address `addr` (RAM and ROM; what
    /// nothing answers reads as all ones).
    fn read(&mut self, addr: u32, buf: &mut [u8]);
    /// Writes `data` at physical address `addr` (RAM only; writes elsewhere
    /// are dropped).
    fn write(&mut self, addr: u32, data: &[u8]);
}

/// Plain memory for device tests: `len` bytes from address 0; beyond, reads
/// give all ones and writes are dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestMemory(pub Vec<u8>);

impl TestMemory {
    pub fn new(len: usize) -> TestMemory {
        TestMemory(vec![0; len])
    }
}

impl GuestMemory for TestMemory {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.0.get(addr as usize + i).copied().unwrap_or(0xff);
        }
    }

    fn write(&mut self, addr: u32, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            if let Some(m) = self.0.get_mut(addr as usize + i) {
                *m = *b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_memory_bounds() {
        let mut m = TestMemory::new(4);
        m.write(2, &[1, 2, 3]);
        let mut buf = [0; 4];
        m.read(2, &mut buf);
        assert_eq!(buf, [1, 2, 0xff, 0xff]);
    }
}
