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
use crate::{Backing, PhysAddr, PhysMemory, Tlb};

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
        let backing = self.phys.backing(phys_page);
        let write_slow = match backing {
            Backing::Ram => self.is_code(phys_page),
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

    /// Opens or closes the A20 gate; every cached translation is dropped.
    pub fn set_a20(&mut self, enabled: bool) {
        if enabled != self.phys.a20_enabled() {
            self.phys.set_a20(enabled);
            self.tlb.flush_all();
        }
    }
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
}
