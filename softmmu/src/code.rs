//! Which bytes of guest RAM hold translated code, and which of those the guest
//! has written since the translator last looked (DESIGN.md, invariant 5).
//!
//! Tracking is by byte, as QEMU's per-page code bitmap does, so that code and
//! data sharing a page (as DOS-era programs keep their variables beside their
//! code) do not throw the translations away at every data write: a write
//! counts only if it touches a byte some live block was decoded from. Pages
//! with any code are also kept in a page bitmap, which decides whether the TLB
//! lets writes to a page go fast ([`crate::Memory`] sends writes to code pages
//! down the slow path, where they are checked here).
//!
//! This module only records; the translator decides what a written byte
//! means for its blocks and then tells it which bytes still hold code.

use crate::PhysAddr;

/// Bytes per page, and 64-bit words of one page's byte bitmap.
const PAGE: u32 = 4096;
const WORDS: usize = PAGE as usize / 64;

/// A write that touched code: `len` bytes at `addr`, all within one page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CodeWrite {
    pub addr: PhysAddr,
    pub len: u32,
}

impl CodeWrite {
    /// The page-aligned address of the page written.
    pub fn page(&self) -> PhysAddr {
        PhysAddr(self.addr.0 & !(PAGE - 1))
    }

    /// Whether the write touched any of the `len` bytes at `start`.
    pub fn overlaps(&self, start: PhysAddr, len: u32) -> bool {
        let (a, b) = (self.addr.0 as u64, self.addr.0 as u64 + self.len as u64);
        let (c, d) = (start.0 as u64, start.0 as u64 + len as u64);
        a < d && c < b
    }
}

/// The code map of guest RAM.
#[derive(Debug, Default)]
pub struct CodeMap {
    /// One bit per RAM page: some byte of it holds code.
    pages: Vec<u64>,
    /// One bit per byte, for each page with code, by frame number: looked
    /// up at every write to a code page, so indexed rather than hashed.
    bytes: Vec<Option<Box<[u64; WORDS]>>>,
    /// Writes that touched code since the last [`CodeMap::take_writes`].
    writes: Vec<CodeWrite>,
}

/// The bits of one 64-bit word of a byte bitmap that the byte range
/// `start..end` (offsets within the page) covers, word by word.
fn word_masks(start: u32, end: u32) -> impl Iterator<Item = (usize, u64)> {
    let first = (start / 64) as usize;
    let last = (end.saturating_sub(1) / 64) as usize;
    (first..=last).filter(move |_| start < end).map(move |w| {
        let lo = start.max(w as u32 * 64) - w as u32 * 64;
        let hi = end.min(w as u32 * 64 + 64) - w as u32 * 64;
        let mask = if hi - lo == 64 { u64::MAX } else { ((1u64 << (hi - lo)) - 1) << lo };
        (w, mask)
    })
}

impl CodeMap {
    /// A map of `frames` RAM pages, without code.
    pub fn new(frames: usize) -> CodeMap {
        CodeMap { pages: vec![0; frames.div_ceil(64)], bytes: vec![None; frames], writes: Vec::new() }
    }

    /// Whether the page of `addr` holds code.
    #[inline]
    pub fn is_code_page(&self, addr: PhysAddr) -> bool {
        let frame = addr.frame() as usize;
        self.pages.get(frame / 64).is_some_and(|w| w & (1 << (frame % 64)) != 0)
    }

    /// Records that the `len` bytes at `addr` (within one page) hold code.
    /// Returns whether their page held none before (its writes must now go
    /// through the slow path). Pages outside RAM cannot be written anyway and
    /// are not tracked.
    pub fn mark(&mut self, addr: PhysAddr, len: u32) -> bool {
        let frame = addr.frame() as usize;
        let (Some(word), Some(map)) = (self.pages.get_mut(frame / 64), self.bytes.get_mut(frame)) else {
            return false;
        };
        let new_page = *word & (1 << (frame % 64)) == 0;
        *word |= 1 << (frame % 64);
        let map = map.get_or_insert_with(|| Box::new([0; WORDS]));
        let start = addr.0 & (PAGE - 1);
        for (w, mask) in word_masks(start, (start + len).min(PAGE)) {
            map[w] |= mask;
        }
        new_page
    }

    /// Forgets every code byte of the page of `addr` (its blocks are gone or
    /// about to be marked again).
    pub fn clear_page(&mut self, addr: PhysAddr) {
        let frame = addr.frame() as usize;
        if let Some(word) = self.pages.get_mut(frame / 64) {
            *word &= !(1 << (frame % 64));
        }
        if let Some(map) = self.bytes.get_mut(frame) {
            *map = None;
        }
    }

    /// Called for every write to RAM that may hit a code page: `len` bytes
    /// at `addr` (within one page). A write touching a code byte is queued
    /// for the translator.
    #[inline]
    pub fn note_write(&mut self, addr: PhysAddr, len: u32) {
        if self.touches_code(addr, len) {
            self.writes.push(CodeWrite { addr, len });
        }
    }

    /// Whether `len` bytes at `addr` (within one page) hold a byte of code
    /// (a write there would be queued by [`CodeMap::note_write`]).
    #[inline]
    pub fn touches_code(&self, addr: PhysAddr, len: u32) -> bool {
        if !self.is_code_page(addr) {
            return false;
        }
        let Some(Some(map)) = self.bytes.get(addr.frame() as usize) else { return false };
        let start = addr.0 & (PAGE - 1);
        let end = (start + len).min(PAGE);
        if start < end && start / 64 == (end - 1) / 64 && end - start < 64 {
            // Within one word (any access of up to 4 bytes that does not
            // straddle one): one mask.
            let mask = ((1u64 << (end - start)) - 1) << (start % 64);
            return map[(start / 64) as usize] & mask != 0;
        }
        word_masks(start, end).any(|(w, mask)| map[w] & mask != 0)
    }

    /// Whether code was written since the last [`CodeMap::take_writes`].
    #[inline]
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// The writes that touched code, oldest first.
    pub fn take_writes(&mut self) -> Vec<CodeWrite> {
        std::mem::take(&mut self.writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_to_code_bytes_count() {
        let mut m = CodeMap::new(16);
        assert!(m.mark(PhysAddr(0x5100), 0x20));
        assert!(!m.mark(PhysAddr(0x5200), 4), "the page already holds code");
        assert!(m.is_code_page(PhysAddr(0x5fff)));
        m.note_write(PhysAddr(0x50fc), 4);
        m.note_write(PhysAddr(0x5120), 4);
        m.note_write(PhysAddr(0x6100), 4);
        assert!(!m.has_writes(), "data beside the code, and another page");
        m.note_write(PhysAddr(0x50fe), 4);
        m.note_write(PhysAddr(0x511f), 1);
        assert_eq!(
            m.take_writes(),
            vec![CodeWrite { addr: PhysAddr(0x50fe), len: 4 }, CodeWrite { addr: PhysAddr(0x511f), len: 1 }]
        );
        assert!(!m.has_writes());
    }

    #[test]
    fn ranges_across_bitmap_words() {
        let mut m = CodeMap::new(16);
        m.mark(PhysAddr(0x1030), 0x100);
        for (at, hit) in [(0x102f, false), (0x1030, true), (0x1080, true), (0x112f, true), (0x1130, false)] {
            m.note_write(PhysAddr(at), 1);
            assert_eq!(m.take_writes().len(), hit as usize, "{at:#x}");
        }
        m.note_write(PhysAddr(0x1000), 0x1000);
        assert_eq!(m.take_writes().len(), 1, "a whole-page write");
        m.clear_page(PhysAddr(0x1000));
        m.note_write(PhysAddr(0x1040), 4);
        assert!(!m.has_writes() && !m.is_code_page(PhysAddr(0x1000)));
    }

    #[test]
    fn beyond_ram_is_untracked() {
        let mut m = CodeMap::new(1);
        assert!(!m.mark(PhysAddr(0x10_0000), 4));
        m.note_write(PhysAddr(0x10_0000), 4);
        assert!(!m.has_writes());
    }

    #[test]
    fn overlap() {
        let w = CodeWrite { addr: PhysAddr(0x1ffe), len: 2 };
        assert!(w.overlaps(PhysAddr(0x1fff), 10));
        assert!(!w.overlaps(PhysAddr(0x1000), 0xffe));
        assert_eq!(w.page(), PhysAddr(0x1000));
    }
}
