//! `Memory`: physical memory, the TLB over it, and code tracking, together.
//!
//! This is what the CPU talks to, and the one way anything writes guest RAM
//! (DESIGN.md, invariants 4 and 5). [`Memory::translate`] turns a linear
//! address into a physical one for a given access and privilege, walking the
//! guest's page tables on a TLB miss (the walker's accessed and dirty bits are
//! written through here too) and filling the TLB; the fast paths
//! ([`Memory::load_fast`], [`Memory::store_fast`]) go through the TLB straight
//! to host memory. Code tracking: the decoder marks the bytes it reads code
//! from ([`Memory::mark_code`]); the TLB then sends writes to their pages down
//! the slow path ([`Memory::write_ram`], [`Memory::write_phys`] for loaders
//! and device DMA), where a write touching a code byte is queued so that the
//! translator drops the blocks it belongs to before the next instruction.
//!
//! Everything that dereferences a host pointer into guest memory lives in this
//! crate: the TLB hands out pointers only to mapped RAM and ROM pages.

use crate::code::{CodeMap, CodeWrite};
use crate::paging::{self, Access, PageFault, PagingMode, TableMemory};
use crate::tlb::{TlbFill, TlbMode};
use crate::{Backing, PhysAddr, PhysMemory, Tlb, PAGE_SIZE};

/// Guest memory as the CPU sees it.
pub struct Memory {
    pub phys: PhysMemory,
    pub tlb: Tlb,
    code: CodeMap,
    /// While logging: one bit per RAM page written since the log was last
    /// taken (see [`Memory::start_dirty_log`]).
    dirty_log: Option<Vec<u64>>,
}

#[inline]
fn load_le(p: *const u8, size: u32) -> u32 {
    // SAFETY: callers pass a host pointer the TLB or `PhysMemory::host_ptr`
    // gave for a byte of mapped RAM or ROM, with all `size` bytes in the same
    // page (a fast TLB hit checks the page of the last byte; slow-path
    // callers split accesses that cross a page). Unaligned reads are fine.
    unsafe {
        match size {
            1 => *p as u32,
            2 => u16::from_le_bytes(*(p as *const [u8; 2])) as u32,
            _ => u32::from_le_bytes(*(p as *const [u8; 4])),
        }
    }
}

#[inline]
fn store_le(p: *mut u8, size: u32, value: u32) {
    // SAFETY: as in `load_le`; pointers for writing come only from write tags
    // (installed for RAM pages) or `PhysMemory::ram_ptr` (RAM).
    unsafe {
        match size {
            1 => *p = value as u8,
            2 => *(p as *mut [u8; 2]) = (value as u16).to_le_bytes(),
            _ => *(p as *mut [u8; 4]) = value.to_le_bytes(),
        }
    }
}

/// Where a physical write went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteTarget {
    /// RAM (code tracking has seen it).
    Ram,
    /// A device window: the caller dispatches the write.
    Mmio { id: crate::MmioId, offset: u32 },
    /// ROM or nothing: the write is dropped.
    Dropped,
}

impl TableMemory for Memory {
    fn a20(&self, addr: u32) -> PhysAddr {
        self.phys.a20(addr)
    }
    fn read_u32(&self, addr: PhysAddr) -> u32 {
        self.phys.read_u32(addr)
    }
    fn write_u32(&mut self, addr: PhysAddr, value: u32) {
        self.write_phys(addr, &value.to_le_bytes());
    }
}

impl Memory {
    pub fn new(phys: PhysMemory) -> Self {
        let frames = (phys.ram_size() >> 12) as usize;
        Memory { phys, tlb: Tlb::new(), code: CodeMap::new(frames), dirty_log: None }
    }

    /// The translation the TLB holds for an access, if it holds one; no walk
    /// (so no paging mode to know). A page the TLB maps but sends down the
    /// slow path (code, MMIO, ROM) counts: the entry was made with this
    /// privilege's rights. Fetches also need its execute permission; without
    /// it the walk raises the fault.
    #[inline]
    pub fn translate_cached(&self, linear: u32, access: Access, user: bool) -> Option<PhysAddr> {
        let tlb_mode = if user { TlbMode::User } else { TlbMode::Supervisor };
        let e = self.tlb.entry(tlb_mode, linear)?;
        let tag = if access == Access::Write { e.write_tag } else { e.read_tag };
        let fetch_ok = access != Access::Fetch || e.executable();
        (tag & !0xfff == linear & !0xfff && tag != crate::TLB_INVALID && fetch_ok)
            .then_some(PhysAddr(e.phys_page | (linear & 0xfff)))
    }

    /// Translates `linear` for an access at user (CPL 3) or supervisor level and
    /// caches the result in the TLB. `Ok(None)`: the page is at or above
    /// 4 GiB (PAE), where there is no memory: reads give all ones, writes go
    /// nowhere, and nothing is cached, so that no entry can alias the page
    /// with one below 4 GiB.
    pub fn translate(
        &mut self,
        mode: &PagingMode,
        linear: u32,
        access: Access,
        user: bool,
    ) -> Result<Option<PhysAddr>, PageFault> {
        if let Some(phys) = self.translate_cached(linear, access, user) {
            return Ok(Some(phys));
        }
        let page = linear & !0xfff;
        let tlb_mode = if user { TlbMode::User } else { TlbMode::Supervisor };
        let (phys_page, writable, executable, global, large) = if mode.enabled {
            let w = paging::walk(self, mode, linear, access, user)?;
            let Some(phys_page) = w.phys_page else { return Ok(None) };
            (phys_page, w.writable, w.executable, w.global, w.large)
        } else {
            (self.phys.a20(page), true, true, false, false)
        };
        let host = self.phys.host_ptr(phys_page);
        // Writes go fast only to plain RAM without code that reads see as well.
        let write_slow = match (self.phys.backing(phys_page), self.phys.backing_for(phys_page, true)) {
            (Backing::Ram, Backing::Ram) => {
                self.code.is_code_page(phys_page) || !self.logged_dirty(phys_page)
            }
            _ => true,
        };
        self.tlb.fill(
            tlb_mode,
            &TlbFill {
                linear_page: page,
                phys_page: phys_page.0,
                host,
                readable: true,
                writable,
                write_slow,
                executable,
                global,
                large,
            },
        );
        Ok(Some(PhysAddr(phys_page.0 | (linear & 0xfff))))
    }

    // ---- the fast paths ------------------------------------------------------------------

    /// Reads `size` (1, 2 or 4) bytes at `linear` if the TLB maps its page
    /// for fast reads (`for_write`: with the write tag, for the read half of a
    /// read-modify-write).
    #[inline]
    pub fn load_fast(&self, mode: TlbMode, linear: u32, size: u32, for_write: bool) -> Option<u32> {
        let p = if for_write {
            self.tlb.write_host(mode, linear, size)
        } else {
            self.tlb.read_host(mode, linear, size)
        }?;
        Some(load_le(p, size))
    }

    /// Writes `size` bytes at `linear` if the TLB maps its page for fast
    /// writes (plain RAM without code); returns whether it did.
    #[inline]
    pub fn store_fast(&mut self, mode: TlbMode, linear: u32, size: u32, value: u32) -> bool {
        match self.tlb.write_host(mode, linear, size) {
            Some(p) => {
                store_le(p, size, value);
                true
            }
            None => false,
        }
    }

    // ---- physical accesses ------------------------------------------------------------------

    /// Reads `size` bytes of RAM or ROM at `phys` (within one page); None for
    /// MMIO, which the caller's bus answers, and all ones for nothing.
    pub fn read_ram(&self, phys: PhysAddr, size: u32) -> Option<u32> {
        match self.phys.backing(phys) {
            Backing::Ram | Backing::Rom { .. } => {
                Some(self.phys.host_ptr(phys).map_or(ones(size), |p| load_le(p, size)))
            }
            Backing::Mmio { .. } => None,
            Backing::Unassigned => Some(ones(size)),
        }
    }

    /// Whether an access of `len` bytes at `phys` (within one page) has no
    /// effect beyond the bytes it moves: it reaches RAM, ROM, nothing, or a
    /// quiet device window, and, written, no byte of code. A write is checked
    /// as a read too (the read of a read-modify-write goes where reads go,
    /// which below 1 MiB may be elsewhere).
    pub fn is_plain(&self, phys: PhysAddr, len: u32, write: bool) -> bool {
        let quiet = |b: Backing| match b {
            Backing::Mmio { id, .. } => self.phys.is_quiet(id),
            _ => true,
        };
        let read_ok = quiet(self.phys.backing_for(phys, false));
        if !write {
            return read_ok;
        }
        let written = self.phys.backing_for(phys, true);
        read_ok && quiet(written) && !(written == Backing::Ram && self.code.touches_code(phys, len))
    }

    /// Whether what is written at `phys` is what a read there then sees: RAM
    /// for both (not a ROM, nothing, a device window, nor RAM that shadows a
    /// ROM for one of them only).
    pub fn reads_see_writes(&self, phys: PhysAddr) -> bool {
        (self.phys.backing(phys), self.phys.backing_for(phys, true)) == (Backing::Ram, Backing::Ram)
    }

    /// Writes `size` bytes at `phys` (within one page) where writes of it go:
    /// RAM (code tracking sees it), or a device window the caller dispatches
    /// to, or nowhere.
    pub fn write_ram(&mut self, phys: PhysAddr, size: u32, value: u32) -> WriteTarget {
        match self.phys.backing_for(phys, true) {
            Backing::Ram => {
                if let Some(p) = self.phys.ram_ptr(phys) {
                    store_le(p, size, value);
                }
                self.code.note_write(phys, size);
                self.log_write(phys);
                WriteTarget::Ram
            }
            Backing::Mmio { id, offset } => WriteTarget::Mmio { id, offset },
            Backing::Rom { .. } | Backing::Unassigned => WriteTarget::Dropped,
        }
    }

    /// Copies code bytes from one physical page into `buf`; what is not RAM
    /// or ROM reads as 0xFF.
    pub fn read_code(&self, phys: PhysAddr, buf: &mut [u8]) {
        debug_assert!((phys.0 & 0xfff) as usize + buf.len() <= PAGE_SIZE as usize);
        match self.phys.host_ptr(phys) {
            // SAFETY: the decoder asks for bytes within one page of RAM or ROM,
            // which `host_ptr` maps contiguously.
            Some(p) => unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) },
            None => buf.fill(0xff),
        }
    }

    /// Writes guest RAM from outside the CPU (loaders, device DMA, the page
    /// walker): what lands on code is noticed like a CPU write. Bytes that are
    /// not RAM are dropped.
    pub fn write_phys(&mut self, addr: PhysAddr, data: &[u8]) {
        let mut done = 0usize;
        while done < data.len() {
            let a = PhysAddr(addr.0.wrapping_add(done as u32));
            let in_page = (PAGE_SIZE - (a.0 & 0xfff)) as usize;
            let n = in_page.min(data.len() - done);
            let chunk = &data[done..done + n];
            if self.phys.backing_for(a, true) == Backing::Ram
                && a.0 as u64 + n as u64 <= self.phys.ram_size() as u64
            {
                if let Some(p) = self.phys.ram_ptr(a) {
                    // SAFETY: `n` bytes from `a` lie in one page of RAM (checked
                    // against the mapping's size just above).
                    unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), p, n) };
                }
            } else {
                for (i, b) in chunk.iter().enumerate() {
                    self.phys.write_u8(PhysAddr(a.0.wrapping_add(i as u32)), *b);
                }
            }
            self.code.note_write(a, n as u32);
            self.log_write(a);
            done += n;
        }
    }

    /// Reads guest memory for a device (DMA) or a loader: RAM and ROM, all
    /// ones elsewhere (MMIO is not reached this way).
    pub fn read_phys(&self, addr: PhysAddr, buf: &mut [u8]) {
        let mut done = 0usize;
        while done < buf.len() {
            let a = PhysAddr(addr.0.wrapping_add(done as u32));
            let n = ((PAGE_SIZE - (a.0 & 0xfff)) as usize).min(buf.len() - done);
            let chunk = &mut buf[done..done + n];
            match self.phys.host_ptr(a) {
                // SAFETY: `host_ptr` maps the whole page of `a` (RAM or ROM)
                // contiguously, and the chunk stays within that page.
                Some(p) => unsafe { std::ptr::copy_nonoverlapping(p, chunk.as_mut_ptr(), n) },
                None => {
                    for (i, b) in chunk.iter_mut().enumerate() {
                        *b = self.phys.read_u8(PhysAddr(a.0.wrapping_add(i as u32)));
                    }
                }
            }
            done += n;
        }
    }

    // ---- code tracking ------------------------------------------------------------------

    /// Whether physical page `addr` holds translated code.
    pub fn is_code(&self, addr: PhysAddr) -> bool {
        self.code.is_code_page(addr)
    }

    /// Records that the `len` bytes at `addr` (within one page) were decoded
    /// as code: writes to them will be noticed from now on.
    pub fn mark_code(&mut self, addr: PhysAddr, len: u32) {
        if self.code.mark(addr, len) {
            self.tlb.slow_writes_to(addr.0 & !0xfff);
        }
    }

    /// Forgets the code bytes of the page of `addr`; the translator marks again
    /// those of the blocks it keeps.
    pub fn clear_code_page(&mut self, addr: PhysAddr) {
        self.code.clear_page(addr);
    }

    /// Whether code was written since the last [`Memory::take_code_writes`].
    #[inline]
    pub fn has_dirty_code(&self) -> bool {
        self.code.has_writes()
    }

    /// The writes that touched code since the last call, oldest first.
    pub fn take_code_writes(&mut self) -> Vec<CodeWrite> {
        self.code.take_writes()
    }

    // ---- dirty logging ------------------------------------------------------------------

    /// Starts recording which RAM pages are written (every page counts as
    /// clean from now on). Writes to a clean page take the slow path once,
    /// which marks it; later writes to it go fast until the log is taken.
    pub fn start_dirty_log(&mut self) {
        self.dirty_log = Some(vec![0; self.ram_frames().div_ceil(64)]);
        self.tlb.slow_all_writes();
    }

    /// The RAM pages (page-aligned) written since logging started or the log
    /// was last taken, in address order; all count as clean again. Empty when
    /// not logging.
    pub fn take_dirty_pages(&mut self) -> Vec<PhysAddr> {
        let Some(log) = self.dirty_log.as_mut() else { return Vec::new() };
        let mut pages = Vec::new();
        for (i, word) in log.iter_mut().enumerate() {
            let mut w = std::mem::take(word);
            while w != 0 {
                let bit = w.trailing_zeros() as usize;
                pages.push(PhysAddr(((i * 64 + bit) as u32) << 12));
                w &= w - 1;
            }
        }
        if !pages.is_empty() {
            self.tlb.slow_all_writes();
        }
        pages
    }

    fn ram_frames(&self) -> usize {
        (self.phys.ram_size() >> 12) as usize
    }

    /// Whether the page of `addr` is logged as written (true when not logging).
    fn logged_dirty(&self, addr: PhysAddr) -> bool {
        let frame = addr.frame() as usize;
        self.dirty_log
            .as_ref()
            .is_none_or(|log| log.get(frame / 64).is_none_or(|w| w & (1 << (frame % 64)) != 0))
    }

    /// Logs a write to the page of `addr` (a RAM address); the first one lets
    /// later writes to a page of plain RAM without code go fast again.
    #[inline]
    fn log_write(&mut self, addr: PhysAddr) {
        let Some(log) = self.dirty_log.as_mut() else { return };
        let frame = addr.frame() as usize;
        let Some(word) = log.get_mut(frame / 64) else { return };
        if *word & (1 << (frame % 64)) != 0 {
            return;
        }
        *word |= 1 << (frame % 64);
        let page = PhysAddr(addr.0 & !0xfff);
        let plain =
            self.phys.backing(page) == Backing::Ram && self.phys.backing_for(page, true) == Backing::Ram;
        if plain && !self.code.is_code_page(page) {
            self.tlb.fast_writes_to(page.0);
        }
    }

    // ---- bulk string operations ------------------------------------------------------

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
        self.log_write(low);
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
        self.log_write(dst);
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

    // ---- the memory map ------------------------------------------------------------------

    /// Changes where reads and writes of the pages in `first..first + len` (below
    /// 1 MiB) go; translations of them are dropped (the TLB entirely, decoded
    /// code as if the pages were written).
    pub fn set_shadow(&mut self, first: PhysAddr, len: u32, shadow: crate::Shadow) {
        let mut changed = false;
        for page in (first.0..first.0 + len).step_by(PAGE_SIZE as usize) {
            if self.phys.shadow(PhysAddr(page)) != shadow {
                self.phys.set_shadow(PhysAddr(page), shadow);
                self.code.note_write(PhysAddr(page), PAGE_SIZE);
                changed = true;
            }
        }
        if changed {
            self.tlb.flush_all();
        }
    }

    /// Moves device window `id` to `len` bytes at `base` (0: takes it out);
    /// every cached translation is dropped, and decoded code below 1 MiB in
    /// what it covered or uncovered as if written.
    pub fn map_mmio(&mut self, id: crate::MmioId, base: u32, len: u32) -> Result<(), crate::MemoryError> {
        self.phys.map_mmio(id, base, len)?;
        if len != 0 && base < 1 << 20 {
            let end = (base as u64 + len as u64).min(1 << 20) as u32;
            for page in (base & !(PAGE_SIZE - 1)..end).step_by(PAGE_SIZE as usize) {
                self.code.note_write(PhysAddr(page), PAGE_SIZE);
            }
        }
        self.tlb.flush_all();
        Ok(())
    }

    /// Opens or closes the A20 gate; every cached translation is dropped.
    pub fn set_a20(&mut self, enabled: bool) {
        if enabled != self.phys.a20_enabled() {
            self.phys.set_a20(enabled);
            self.tlb.flush_all();
        }
    }
}

/// All ones in `size` bytes: what nothing answers.
fn ones(size: u32) -> u32 {
    if size >= 4 {
        u32::MAX
    } else {
        (1 << (size * 8)) - 1
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
        assert_eq!(m.translate(&mode, 0x1234, Access::Read, false), Ok(Some(PhysAddr(0x1234))));
        assert!(m.tlb.read_host(TlbMode::Supervisor, 0x1238, 4).is_some());
        assert!(m.tlb.write_host(TlbMode::Supervisor, 0x1238, 4).is_some());
    }

    #[test]
    fn writes_to_code_bytes_are_recorded() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        let mode = PagingMode::default();
        m.translate(&mode, 0x5000, Access::Write, false).unwrap();
        m.mark_code(PhysAddr(0x5123), 3);
        assert!(m.is_code(PhysAddr(0x5fff)));
        assert!(m.tlb.write_host(TlbMode::Supervisor, 0x5000, 1).is_none(), "writes go slow");
        assert_eq!(m.write_ram(PhysAddr(0x5010), 4, 1), WriteTarget::Ram);
        assert!(!m.has_dirty_code(), "data beside the code");
        m.write_ram(PhysAddr(0x5124), 2, 0x9090);
        m.write_phys(PhysAddr(0x4ff0), &[0; 0x140]);
        let pages: Vec<u32> = m.take_code_writes().iter().map(|w| w.page().0).collect();
        assert_eq!(pages, vec![0x5000, 0x5000]);
        assert_eq!(m.phys.read_u32(PhysAddr(0x5120)), 0, "the DMA-style write landed");
        assert!(!m.has_dirty_code());
    }

    #[test]
    fn plain_accesses_reach_no_loud_device_and_write_no_code() {
        let mut phys = PhysMemory::new(2 << 20).unwrap();
        phys.add_mmio(0x300000, 0x1000, crate::MmioId(1)).unwrap();
        phys.add_mmio(0x301000, 0x1000, crate::MmioId(2)).unwrap();
        phys.set_quiet(crate::MmioId(2));
        let mut m = Memory::new(phys);
        m.mark_code(PhysAddr(0x5010), 4);
        for write in [false, true] {
            assert!(m.is_plain(PhysAddr(0x5000), 4, write), "RAM beside code");
            assert!(!m.is_plain(PhysAddr(0x300000), 4, write), "a device");
            assert!(m.is_plain(PhysAddr(0x301000), 4, write), "a quiet device");
        }
        assert!(m.is_plain(PhysAddr(0x500e), 4, false), "code is read");
        assert!(!m.is_plain(PhysAddr(0x500e), 4, true), "code is written");
    }

    #[test]
    fn the_walker_sets_accessed_bits_through_code_tracking() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        // A page directory at 0x10000 mapping 4 MiB pages (PSE) whose entry
        // shares its page with code.
        m.write_phys(PhysAddr(0x10000), &(0x83u32).to_le_bytes());
        m.mark_code(PhysAddr(0x10000), 4);
        let mode = PagingMode { enabled: true, pse: true, cr3: 0x10000, ..PagingMode::default() };
        m.translate(&mode, 0x1234, Access::Read, false).unwrap();
        assert_eq!(m.phys.read_u32(PhysAddr(0x10000)) & 0x20, 0x20, "accessed");
        assert_eq!(m.take_code_writes().len(), 1, "the code sharing the entry's bytes is dropped");
    }

    /// PAE tables at 0x20000 (PDPT), 0x21000 (directory), 0x22000 (table)
    /// mapping linear 0x00400000 (4 KiB, to `pte`) and 0x00600000 (2 MiB, `pde2m`).
    fn pae_memory(pte: u64, pde2m: u64) -> (Memory, PagingMode) {
        let mut m = Memory::new(PhysMemory::new(8 << 20).unwrap());
        let put = |m: &mut Memory, at: u32, v: u64| m.write_phys(PhysAddr(at), &v.to_le_bytes());
        put(&mut m, 0x20000, 0x21001);
        put(&mut m, 0x21000 + 2 * 8, 0x22003);
        put(&mut m, 0x21000 + 3 * 8, pde2m);
        put(&mut m, 0x22000, pte);
        let pdptes = paging::load_pdptes(&m, 0x20000).unwrap();
        let mode =
            PagingMode { enabled: true, pae: true, nxe: true, cr3: 0x20000, pdptes, ..PagingMode::default() };
        (m, mode)
    }

    #[test]
    fn fetches_from_an_execute_disable_page_fault_even_on_a_tlb_hit() {
        let (mut m, mode) = pae_memory(0x8000_0000_0050_0003, 0x8000_0000_0060_0083);
        for linear in [0x0040_0010, 0x0060_0010] {
            assert!(m.translate(&mode, linear, Access::Read, false).unwrap().is_some());
            assert!(m.tlb.read_host(TlbMode::Supervisor, linear, 4).is_some(), "reads are cached and fast");
            let f = m.translate(&mode, linear, Access::Fetch, false).unwrap_err();
            assert_eq!(f, PageFault { address: linear, error_code: 0x11 });
        }
        // Once the guest clears XD (and flushes), fetches go.
        m.write_phys(PhysAddr(0x22004), &[0; 4]);
        m.tlb.flush_page(0x0040_0000);
        assert_eq!(m.translate(&mode, 0x0040_0010, Access::Fetch, false), Ok(Some(PhysAddr(0x50_0010))));
        assert_eq!(m.translate(&mode, 0x0040_0020, Access::Fetch, false), Ok(Some(PhysAddr(0x50_0020))));
    }

    #[test]
    fn pages_above_4g_read_nothing_and_are_not_cached() {
        let (mut m, mode) = pae_memory(0x1_0050_0003, 0x3_0060_0083);
        for linear in [0x0040_0010, 0x0060_0010] {
            assert_eq!(m.translate(&mode, linear, Access::Write, false), Ok(None));
            assert!(m.tlb.entry(TlbMode::Supervisor, linear).is_none(), "no entry aliases low memory");
            assert_eq!(m.translate(&mode, linear, Access::Fetch, false), Ok(None));
        }
    }

    #[test]
    fn dirty_log_records_every_way_of_writing() {
        let mut m = ram();
        let mode = PagingMode::default();
        assert!(m.take_dirty_pages().is_empty(), "not logging");
        m.start_dirty_log();
        m.translate(&mode, 0x3000, Access::Write, false).unwrap();
        assert!(!m.store_fast(TlbMode::Supervisor, 0x3010, 4, 1), "a clean page takes the slow path");
        m.write_ram(PhysAddr(0x3010), 4, 1);
        assert!(m.store_fast(TlbMode::Supervisor, 0x3020, 4, 2), "then goes fast");
        m.write_phys(PhysAddr(0x5ffe), &[1, 2, 3]);
        assert!(m.fill_ram(PhysAddr(0x8000), 1, 4, 9));
        let pages: Vec<u32> = m.take_dirty_pages().iter().map(|p| p.0).collect();
        assert_eq!(pages, vec![0x3000, 0x5000, 0x6000, 0x8000]);
        assert!(!m.store_fast(TlbMode::Supervisor, 0x3020, 4, 2), "clean again once taken");
        assert!(m.take_dirty_pages().is_empty());
    }

    #[test]
    fn physical_reads_cross_pages_and_backings() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        m.write_phys(PhysAddr(0x1ffe), &[1, 2, 3, 4]);
        let mut buf = [0u8; 4];
        m.read_phys(PhysAddr(0x1ffe), &mut buf);
        assert_eq!(buf, [1, 2, 3, 4]);
        let mut beyond = [0u8; 3];
        m.read_phys(PhysAddr((2 << 20) - 1), &mut beyond);
        assert_eq!(beyond, [0, 0xff, 0xff], "past RAM reads as all ones");
    }

    #[test]
    fn a20_change_flushes() {
        let mut m = Memory::new(PhysMemory::new(2 << 20).unwrap());
        let mode = PagingMode::default();
        m.translate(&mode, 0x10_0000, Access::Read, false).unwrap();
        m.set_a20(false);
        assert!(m.tlb.read_host(TlbMode::Supervisor, 0x10_0000, 1).is_none());
        assert_eq!(m.translate(&mode, 0x10_0000, Access::Read, false), Ok(Some(PhysAddr(0))));
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
        m.mark_code(PhysAddr(0x5000), 1);
        assert!(!m.fill_ram(PhysAddr(0x5000), 1, 1, 1), "a page holding code");
        assert!(!m.copy_ram(PhysAddr(0x3000), PhysAddr(0x5000), 1, 1, false));
        assert!(m.copy_ram(PhysAddr(0x5000), PhysAddr(0x3000), 1, 1, false), "code may be read");
        assert!(!m.has_dirty_code());
        assert_eq!(bytes(&m, 0x3ffe, 2), [0, 0], "a refused run writes nothing");
    }

    #[test]
    fn copy_ram_is_element_by_element() {
        let mut m = ram();
        m.write_phys(PhysAddr(0x3000), &[7, 9]);
        // REP MOVSB with DI = SI + 1 repeats the first byte.
        assert!(m.copy_ram(PhysAddr(0x3000), PhysAddr(0x3001), 1, 4, false));
        assert_eq!(bytes(&m, 0x3000, 5), [7; 5]);
        // Down, DI = SI - 1: the highest byte (0x3104) repeats downwards.
        m.write_phys(PhysAddr(0x3104), &[5]);
        assert!(m.copy_ram(PhysAddr(0x3102), PhysAddr(0x3101), 1, 3, true));
        assert_eq!(bytes(&m, 0x3101, 4), [5; 4]);
        m.write_phys(PhysAddr(0x3200), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(m.copy_ram(PhysAddr(0x3200), PhysAddr(0x3300), 4, 2, false));
        assert_eq!(bytes(&m, 0x3300, 8), [1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
