//! `Memory`: physical memory, the TLB over it, and code-page tracking, together.
//!
//! This is what the CPU talks to. [`Memory::translate`] turns a linear address
//! into a physical one for a given access and privilege, walking the guest's
//! page tables on a TLB miss and filling the TLB; the fast paths probe
//! [`Memory::tlb`] directly. Code-page tracking implements invariant 5: the
//! decoder marks every physical page it reads code from; the TLB then sends writes
//! to that page down the slow path, where [`Memory::note_write`] records the page
//! as dirty so that the block cache drops its blocks before the next instruction.

use crate::paging::{self, Access, PageFault, PagingMode};
use crate::tlb::{TlbFill, TlbMode};
use crate::{Backing, PhysAddr, PhysMemory, Tlb, PAGE_SIZE};

/// Guest memory as the CPU sees it.
pub struct Memory {
    pub phys: PhysMemory,
    pub tlb: Tlb,
    /// One bit per RAM page: blocks have been decoded from it.
    code_pages: Vec<u64>,
    /// Code pages written since the block cache last looked.
    dirty_code: Vec<u32>,
}

impl Memory {
    pub fn new(phys: PhysMemory) -> Self {
        let frames = (phys.ram_size() >> 12) as usize;
        Memory { phys, tlb: Tlb::new(), code_pages: vec![0; frames.div_ceil(64)], dirty_code: Vec::new() }
    }

    /// Translates `linear` for an access at user (CPL 3) or supervisor level and
    /// caches the result in the TLB.
    pub fn translate(
        &mut self,
        mode: &PagingMode,
        linear: u32,
        access: Access,
        user: bool,
    ) -> Result<PhysAddr, PageFault> {
        let page = linear & !0xfff;
        let (phys_page, writable, global, large) = if mode.enabled {
            let w = paging::walk(&mut self.phys, mode, linear, access, user)?;
            (w.phys_page, w.writable, w.global, w.large)
        } else {
            (self.phys.a20(page), true, false, false)
        };
        let host = self.phys.host_ptr(phys_page);
        // Writes go fast only to plain RAM without code that reads see as well.
        let write_slow = match (self.phys.backing(phys_page), self.phys.backing_for(phys_page, true)) {
            (Backing::Ram, Backing::Ram) => self.is_code(phys_page),
            _ => true,
        };
        let tlb_mode = if user { TlbMode::User } else { TlbMode::Supervisor };
        self.tlb.fill(
            tlb_mode,
            &TlbFill {
                linear_page: page,
                phys_page: phys_page.0,
                host,
                readable: true,
                writable,
                write_slow,
                global,
                large,
            },
        );
        Ok(PhysAddr(phys_page.0 | (linear & 0xfff)))
    }

    /// Whether physical page `addr` holds translated code.
    pub fn is_code(&self, addr: PhysAddr) -> bool {
        let frame = addr.frame() as usize;
        self.code_pages.get(frame / 64).is_some_and(|w| w & (1 << (frame % 64)) != 0)
    }

    /// Records that blocks were decoded from the page of `addr`: writes to it
    /// will be noticed from now on. Pages outside RAM cannot be written anyway.
    pub fn mark_code(&mut self, addr: PhysAddr) {
        let frame = addr.frame() as usize;
        if let Some(word) = self.code_pages.get_mut(frame / 64) {
            if *word & (1 << (frame % 64)) == 0 {
                *word |= 1 << (frame % 64);
                self.tlb.slow_writes_to(addr.0 & !0xfff);
            }
        }
    }

    /// Called after every slow-path write to RAM: if the page holds code, it is
    /// queued for invalidation and stops being a code page.
    #[inline]
    pub fn note_write(&mut self, addr: PhysAddr) {
        let frame = addr.frame() as usize;
        if let Some(word) = self.code_pages.get_mut(frame / 64) {
            if *word & (1 << (frame % 64)) != 0 {
                *word &= !(1 << (frame % 64));
                self.dirty_code.push(addr.0 & !0xfff);
            }
        }
    }

    /// Whether code pages were written since the last [`Memory::take_dirty_code`].
    #[inline]
    pub fn has_dirty_code(&self) -> bool {
        !self.dirty_code.is_empty()
    }

    /// The physical pages (page-aligned) whose code was written, oldest first.
    pub fn take_dirty_code(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.dirty_code)
    }

    /// Writes guest RAM from outside the CPU (loaders, DMA): code on the pages
    /// touched is invalidated like a CPU write would do.
    pub fn write_phys(&mut self, addr: PhysAddr, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            let a = PhysAddr(addr.0.wrapping_add(i as u32));
            if i == 0 || a.0 & 0xfff == 0 {
                self.note_write(a);
            }
            self.phys.write_u8(a, *b);
        }
    }

    /// REP STOS in bulk: writes `count` elements of `size` bytes holding
    /// `value` (little-endian) from `low` up. Does it only if the run lies in one
    /// page of RAM that holds no translated code; returns whether it did.
    pub fn fill_ram(&mut self, low: PhysAddr, size: u32, count: u32, value: u32) -> bool {
        let Some(bytes) = run_bytes(low, size, count) else { return false };
        let Some(p) = self.ram_run(low, true) else { return false };
        let pattern = value.to_le_bytes();
        // SAFETY: `ram_run` gave the host address of `low` in guest RAM, and
        // `run_bytes` keeps the run within that page.
        unsafe {
            if size == 1 {
                std::ptr::write_bytes(p, pattern[0], bytes as usize);
            } else {
                for i in 0..count as usize {
                    std::ptr::copy_nonoverlapping(pattern.as_ptr(), p.add(i * size as usize), size as usize);
                }
            }
        }
        true
    }

    /// REP MOVS in bulk: copies `count` elements of `size` bytes from the run at
    /// `src` to the run at `dst` (both given by their lowest byte), one element
    /// after the other as the instruction does (overlapping runs repeat a
    /// pattern), from the lowest element up or, when `down`, from the highest
    /// down. Does it only if the source lies in one page of RAM or ROM and the
    /// destination in one page of RAM that holds no translated code; returns
    /// whether it did.
    pub fn copy_ram(&mut self, src: PhysAddr, dst: PhysAddr, size: u32, count: u32, down: bool) -> bool {
        if run_bytes(src, size, count).is_none() || run_bytes(dst, size, count).is_none() {
            return false;
        }
        let (Some(from), Some(to)) = (self.ram_run(src, false), self.ram_run(dst, true)) else {
            return false;
        };
        let size = size as usize;
        // SAFETY: as in `fill_ram`, for both runs; raw pointers, no references,
        // so the two may overlap.
        unsafe {
            for i in 0..count as usize {
                let k = if down { count as usize - 1 - i } else { i };
                std::ptr::copy(from.add(k * size), to.add(k * size), size);
            }
        }
        true
    }

    /// The host address of `addr` if it is RAM (or, for reading, ROM), and for
    /// writing not on a page holding code.
    fn ram_run(&self, addr: PhysAddr, write: bool) -> Option<*mut u8> {
        if write && self.phys.backing(addr) != Backing::Ram {
            // Writes would not land where reads of the page look.
            return None;
        }
        match self.phys.backing_for(addr, write) {
            Backing::Ram if !(write && self.is_code(addr)) => self.phys.host_ptr(addr),
            Backing::Rom { .. } if !write => self.phys.host_ptr(addr),
            _ => None,
        }
    }

    /// Changes where reads and writes of the pages in `first..first + len` (below
    /// 1 MiB) go; translations of them are dropped (the TLB entirely, decoded
    /// code as if the pages were written).
    pub fn set_shadow(&mut self, first: PhysAddr, len: u32, shadow: crate::Shadow) {
        let mut changed = false;
        for page in (first.0..first.0 + len).step_by(PAGE_SIZE as usize) {
            if self.phys.shadow(PhysAddr(page)) != shadow {
                self.phys.set_shadow(PhysAddr(page), shadow);
                self.note_write(PhysAddr(page));
                changed = true;
            }
        }
        if changed {
            self.tlb.flush_all();
        }
    }

    /// Opens or closes the A20 gate; every cached translation is dropped.
    pub fn set_a20(&mut self, enabled: bool) {
        if enabled != self.phys.a20_enabled() {
            self.phys.set_a20(enabled);
            self.tlb.flush_all();
        }
    }
}

/// The length of a run of `count` elements of `size` bytes from `low`, if it
/// is not empty and stays within the page of `low`.
fn run_bytes(low: PhysAddr, size: u32, count: u32) -> Option<u32> {
    let bytes = count.checked_mul(size).filter(|b| *b > 0)?;
    ((low.0 & 0xfff) + bytes <= 0x1000).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_without_paging_fills_the_tlb() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        let mode = PagingMode::default();
        assert_eq!(m.translate(&mode, 0x1234, Access::Read, false), Ok(PhysAddr(0x1234)));
        assert!(m.tlb.read_host(TlbMode::Supervisor, 0x1238, 4).is_some());
        assert!(m.tlb.write_host(TlbMode::Supervisor, 0x1238, 4).is_some());
    }

    #[test]
    fn code_page_writes_are_recorded_once() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        let mode = PagingMode::default();
        m.translate(&mode, 0x5000, Access::Write, false).unwrap();
        m.mark_code(PhysAddr(0x5123));
        assert!(m.is_code(PhysAddr(0x5fff)));
        assert!(m.tlb.write_host(TlbMode::Supervisor, 0x5000, 1).is_none(), "writes go slow");
        m.note_write(PhysAddr(0x5010));
        m.note_write(PhysAddr(0x5020));
        assert_eq!(m.take_dirty_code(), vec![0x5000]);
        assert!(!m.has_dirty_code());
    }

    #[test]
    fn a20_change_flushes() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        let mode = PagingMode::default();
        m.translate(&mode, 0x10_0000, Access::Read, false).unwrap();
        m.set_a20(false);
        assert!(m.tlb.read_host(TlbMode::Supervisor, 0x10_0000, 1).is_none());
        assert_eq!(m.translate(&mode, 0x10_0000, Access::Read, false), Ok(PhysAddr(0)));
    }

    fn bytes(m: &Memory, at: u32, n: u32) -> Vec<u8> {
        (at..at + n).map(|a| m.phys.read_u8(PhysAddr(a))).collect()
    }

    fn ram() -> Memory {
        Memory::new(PhysMemory::new(2 << 20).unwrap())
    }

    #[test]
    fn fill_ram_writes_elements() {
        let mut m = ram();
        assert!(m.fill_ram(PhysAddr(0x3010), 2, 3, 0xbeef));
        assert_eq!(bytes(&m, 0x3010, 8), [0xef, 0xbe, 0xef, 0xbe, 0xef, 0xbe, 0, 0]);
        assert!(m.fill_ram(PhysAddr(0x3100), 4, 2, 0x1122_3344));
        assert_eq!(bytes(&m, 0x3100, 8), [0x44, 0x33, 0x22, 0x11, 0x44, 0x33, 0x22, 0x11]);
    }

    #[test]
    fn bulk_runs_stay_in_one_page_of_plain_ram() {
        let mut m = ram();
        assert!(!m.fill_ram(PhysAddr(0x3ffe), 1, 4, 1), "crosses into the next page");
        assert!(!m.fill_ram(PhysAddr(0x30_0000), 1, 1, 1), "beyond RAM");
        m.mark_code(PhysAddr(0x5000));
        assert!(!m.fill_ram(PhysAddr(0x5000), 1, 1, 1), "a page holding code");
        assert!(!m.copy_ram(PhysAddr(0x3000), PhysAddr(0x5000), 1, 1, false));
        assert!(m.copy_ram(PhysAddr(0x5000), PhysAddr(0x3000), 1, 1, false), "code may be read");
        assert!(!m.has_dirty_code());
        assert_eq!(bytes(&m, 0x3ffe, 2), [0, 0], "a refused run writes nothing");
    }

    #[test]
    fn copy_ram_is_element_by_element() {
        let mut m = ram();
        m.phys.write_u8(PhysAddr(0x3000), 7);
        m.phys.write_u8(PhysAddr(0x3001), 9);
        // REP MOVSB with DI = SI + 1 repeats the first byte.
        assert!(m.copy_ram(PhysAddr(0x3000), PhysAddr(0x3001), 1, 4, false));
        assert_eq!(bytes(&m, 0x3000, 5), [7; 5]);
        // Down, DI = SI - 1: the highest byte (0x3104) repeats downwards.
        m.phys.write_u8(PhysAddr(0x3104), 5);
        assert!(m.copy_ram(PhysAddr(0x3102), PhysAddr(0x3101), 1, 3, true));
        assert_eq!(bytes(&m, 0x3101, 4), [5; 4]);
        for (i, b) in [1u8, 2, 3, 4, 5, 6, 7, 8].iter().enumerate() {
            m.phys.write_u8(PhysAddr(0x3200 + i as u32), *b);
        }
        assert!(m.copy_ram(PhysAddr(0x3200), PhysAddr(0x3300), 4, 2, false));
        assert_eq!(bytes(&m, 0x3300, 8), [1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
