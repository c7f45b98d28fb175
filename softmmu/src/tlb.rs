//! The software TLB: the shadow of the guest's page tables.
//!
//! Two direct-mapped sets, one for supervisor accesses (CPL 0-2 and implicit
//! system accesses) and one for user accesses (CPL 3), because the same page can
//! be writable for one and not the other. An entry maps one 4 KiB linear page to
//! a host address; reads and writes have separate tags so that a page can be
//! cached for reading before its dirty bit is set, and so that writes to pages
//! that need care (ROM, MMIO, pages holding translated code) can be sent down the
//! slow path while reads stay fast.
//!
//! The layout is `#[repr(C)]` because generated code probes it inline: index
//! with bits 12.. of the address, compare the tag with the page of the access's
//! last byte (a page-crossing access therefore misses), add `addend`. That
//! probe serves data accesses only: instruction fetches go through
//! `Memory::translate`, which also wants the entry's execute permission (an
//! execute-disable page is readable but not executable, so the read tag
//! alone cannot say).

/// Entries per set.
pub const TLB_ENTRIES: usize = 1024;
/// Tag of an empty entry: never equal to a page-aligned address.
pub const TLB_INVALID: u32 = 1;
/// Tag flag: the page is mapped but accesses must take the slow path.
pub const TLB_SLOW: u32 = 2;

const FLAG_GLOBAL: u32 = 1;
/// From a large page (4 MiB, or 2 MiB under PAE).
const FLAG_LARGE: u32 = 2;
/// Instruction fetches may not use the entry (XD under PAE with EFER.NXE).
const FLAG_NO_EXEC: u32 = 4;

/// One cached translation. 32 bytes (aligned so), so that generated code finds
/// an entry with a shift rather than a multiplication.
#[repr(C, align(32))]
#[derive(Copy, Clone, Debug)]
pub struct TlbEntry {
    /// Linear page for reads (and fetches), or [`TLB_INVALID`], maybe with [`TLB_SLOW`].
    pub read_tag: u32,
    /// Linear page for writes, or [`TLB_INVALID`], maybe with [`TLB_SLOW`].
    pub write_tag: u32,
    /// Host address of the page minus the linear page (wrapping), for fast tags.
    pub addend: usize,
    /// Physical page the linear page maps to (after A20).
    pub phys_page: u32,
    flags: u32,
}

impl TlbEntry {
    const EMPTY: TlbEntry =
        TlbEntry { read_tag: TLB_INVALID, write_tag: TLB_INVALID, addend: 0, phys_page: 0, flags: 0 };

    /// Whether instruction fetches may use the entry's read tag.
    pub fn executable(&self) -> bool {
        self.flags & FLAG_NO_EXEC == 0
    }

    fn page(&self) -> Option<u32> {
        if self.read_tag != TLB_INVALID {
            Some(self.read_tag & !0xfff)
        } else if self.write_tag != TLB_INVALID {
            Some(self.write_tag & !0xfff)
        } else {
            None
        }
    }
}

/// One privilege level's entries.
#[repr(C)]
pub struct TlbSet {
    pub entries: [TlbEntry; TLB_ENTRIES],
}

/// Which set an access uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum TlbMode {
    Supervisor = 0,
    User = 1,
}

/// What a fill installs.
#[derive(Copy, Clone, Debug)]
pub struct TlbFill {
    pub linear_page: u32,
    pub phys_page: u32,
    /// Host address of the page's first byte, if reads can go straight to the host.
    pub host: Option<*mut u8>,
    pub readable: bool,
    /// Writes may use the entry (permission checked, dirty bit already set).
    pub writable: bool,
    /// Writes must go through the slow path even though they are allowed.
    pub write_slow: bool,
    /// Instruction fetches may use the entry.
    pub executable: bool,
    pub global: bool,
    pub large: bool,
}

/// The software TLB: `sets[0]` supervisor, `sets[1]` user.
#[repr(C)]
pub struct Tlb {
    pub sets: [TlbSet; 2],
    large_entries: usize,
    /// Flushes so far (of any kind): whoever caches what linear addresses map
    /// to can tell when to forget it.
    pub flushes: u64,
    /// The linear ranges (start, length) INVLPG flushed since the last
    /// [`Tlb::take_flushed`], or None once something wider was flushed or
    /// more than [`FLUSH_LOG`] ranges were.
    flushed: Option<Vec<(u32, u32)>>,
}

/// Most ranges [`Tlb::take_flushed`] reports one by one.
pub const FLUSH_LOG: usize = 16;

impl Default for Tlb {
    fn default() -> Self {
        Self::new()
    }
}

impl Tlb {
    pub fn new() -> Self {
        Tlb {
            sets: [
                TlbSet { entries: [TlbEntry::EMPTY; TLB_ENTRIES] },
                TlbSet { entries: [TlbEntry::EMPTY; TLB_ENTRIES] },
            ],
            large_entries: 0,
            flushes: 0,
            flushed: Some(Vec::new()),
        }
    }

    /// What was flushed since the last call: the linear ranges (start,
    /// length) single-page flushes covered, or None if something wider was
    /// (everything, everything not global) or too many to list. A cache of
    /// what linear addresses map to (the JIT's jump cache) forgets only
    /// those ranges, as a TLB would.
    pub fn take_flushed(&mut self) -> Option<Vec<(u32, u32)>> {
        self.flushed.replace(Vec::new())
    }

    #[inline]
    pub fn index(linear: u32) -> usize {
        (linear >> 12) as usize & (TLB_ENTRIES - 1)
    }

    /// Host address for reading `size` bytes at `linear`, if cached and fast.
    #[inline]
    pub fn read_host(&self, mode: TlbMode, linear: u32, size: u32) -> Option<*mut u8> {
        let e = &self.sets[mode as usize].entries[Self::index(linear)];
        let last_page = linear.wrapping_add(size - 1) & !0xfff;
        (e.read_tag == last_page).then(|| e.addend.wrapping_add(linear as usize) as *mut u8)
    }

    /// Host address for writing `size` bytes at `linear`, if cached and fast.
    #[inline]
    pub fn write_host(&self, mode: TlbMode, linear: u32, size: u32) -> Option<*mut u8> {
        let e = &self.sets[mode as usize].entries[Self::index(linear)];
        let last_page = linear.wrapping_add(size - 1) & !0xfff;
        (e.write_tag == last_page).then(|| e.addend.wrapping_add(linear as usize) as *mut u8)
    }

    /// The entry for `linear` if it maps that page (fast or slow).
    pub fn entry(&self, mode: TlbMode, linear: u32) -> Option<&TlbEntry> {
        let e = &self.sets[mode as usize].entries[Self::index(linear)];
        (e.page() == Some(linear & !0xfff)).then_some(e)
    }

    /// Installs a translation.
    pub fn fill(&mut self, mode: TlbMode, f: &TlbFill) {
        let e = &mut self.sets[mode as usize].entries[Self::index(f.linear_page)];
        if e.flags & FLAG_LARGE != 0 && e.page().is_some() {
            self.large_entries -= 1;
        }
        let slow = if f.host.is_some() { 0 } else { TLB_SLOW };
        *e = TlbEntry {
            read_tag: if f.readable { f.linear_page | slow } else { TLB_INVALID },
            write_tag: if f.writable {
                f.linear_page | slow | if f.write_slow { TLB_SLOW } else { 0 }
            } else {
                TLB_INVALID
            },
            addend: f.host.map_or(0, |h| (h as usize).wrapping_sub(f.linear_page as usize)),
            phys_page: f.phys_page,
            flags: (if f.global { FLAG_GLOBAL } else { 0 })
                | (if f.large { FLAG_LARGE } else { 0 })
                | if f.executable { 0 } else { FLAG_NO_EXEC },
        };
        if f.large {
            self.large_entries += 1;
        }
    }

    /// Forgets everything (CR0.PG/WP, CR4.PSE/PGE, A20, memory map changes).
    pub fn flush_all(&mut self) {
        self.flushes += 1;
        self.flushed = None;
        for set in &mut self.sets {
            set.entries.fill(TlbEntry::EMPTY);
        }
        self.large_entries = 0;
    }

    /// Forgets all but global pages (a CR3 load with CR4.PGE set).
    pub fn flush_non_global(&mut self) {
        self.flushes += 1;
        self.flushed = None;
        let mut large = 0;
        for set in &mut self.sets {
            for e in set.entries.iter_mut() {
                if e.flags & FLAG_GLOBAL == 0 {
                    *e = TlbEntry::EMPTY;
                } else if e.flags & FLAG_LARGE != 0 {
                    large += 1;
                }
            }
        }
        self.large_entries = large;
    }

    /// INVLPG: forgets the page of `linear`, and every entry that came from a
    /// large page containing it. Entries do not record the size of the page
    /// they came from, so every one from a large page in the 4 MiB-aligned
    /// region around `linear` goes: all of a 4 MiB page, and for a 2 MiB PAE
    /// page its neighbour too (the TLB may always forget more than asked).
    pub fn flush_page(&mut self, linear: u32) {
        self.flushes += 1;
        let idx = Self::index(linear);
        let page = linear & !0xfff;
        let large_region = linear & !0x3f_ffff;
        let scan_large = self.large_entries > 0;
        let range = if scan_large { (large_region, 0x40_0000) } else { (page, 0x1000) };
        if let Some(log) = self.flushed.as_mut() {
            if log.len() < FLUSH_LOG {
                log.push(range);
            } else {
                self.flushed = None;
            }
        }
        for set in &mut self.sets {
            let e = &mut set.entries[idx];
            if e.page() == Some(page) {
                if e.flags & FLAG_LARGE != 0 {
                    self.large_entries -= 1;
                }
                *e = TlbEntry::EMPTY;
            }
            if scan_large {
                for e in set.entries.iter_mut() {
                    if e.flags & FLAG_LARGE != 0 && e.page().is_some_and(|p| p & !0x3f_ffff == large_region) {
                        *e = TlbEntry::EMPTY;
                        self.large_entries -= 1;
                    }
                }
            }
        }
    }

    /// Sends future writes to physical page `phys_page` down the slow path (it
    /// now holds translated code).
    pub fn slow_writes_to(&mut self, phys_page: u32) {
        for set in &mut self.sets {
            for e in set.entries.iter_mut() {
                if e.phys_page == phys_page && e.write_tag != TLB_INVALID {
                    e.write_tag |= TLB_SLOW;
                }
            }
        }
    }
}

impl Tlb {
    /// Sends every future write down the slow path until entries are
    /// refilled or made fast again (dirty logging starts afresh).
    pub fn slow_all_writes(&mut self) {
        for set in &mut self.sets {
            for e in set.entries.iter_mut() {
                if e.write_tag != TLB_INVALID {
                    e.write_tag |= TLB_SLOW;
                }
            }
        }
    }

    /// Lets writes to physical page `phys_page` go fast again where an entry
    /// maps it with a host address. The caller knows that the page is plain
    /// RAM without code whose writes need no more logging.
    pub fn fast_writes_to(&mut self, phys_page: u32) {
        for set in &mut self.sets {
            for e in set.entries.iter_mut() {
                let mapped = e.read_tag != TLB_INVALID && e.read_tag & TLB_SLOW == 0;
                if e.phys_page == phys_page && e.write_tag != TLB_INVALID && mapped {
                    e.write_tag &= !TLB_SLOW;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(tlb: &mut Tlb, mode: TlbMode, lin: u32, phys: u32, global: bool, large: bool) {
        tlb.fill(
            mode,
            &TlbFill {
                linear_page: lin,
                phys_page: phys,
                host: Some(0x1000_0000 as *mut u8),
                readable: true,
                writable: true,
                write_slow: false,
                executable: lin & 0x8000_0000 == 0,
                global,
                large,
            },
        );
    }

    #[test]
    fn execute_permission_is_kept_apart_from_the_read_tag() {
        let mut t = Tlb::new();
        fill(&mut t, TlbMode::Supervisor, 0x5000, 0x9000, false, false);
        fill(&mut t, TlbMode::Supervisor, 0x8000_6000, 0xa000, false, false);
        assert!(t.entry(TlbMode::Supervisor, 0x5000).unwrap().executable());
        let nx = t.entry(TlbMode::Supervisor, 0x8000_6000).unwrap();
        assert!(!nx.executable());
        assert!(t.read_host(TlbMode::Supervisor, 0x8000_6004, 4).is_some(), "data reads stay fast");
    }

    #[test]
    fn invlpg_of_a_2m_page_drops_all_of_it() {
        let mut t = Tlb::new();
        // Pieces of a 2 MiB page at 0x00600000 and a 4 KiB page beside it.
        fill(&mut t, TlbMode::Supervisor, 0x0060_0000, 0x1000, false, true);
        fill(&mut t, TlbMode::User, 0x007f_f000, 0x2000, false, true);
        fill(&mut t, TlbMode::Supervisor, 0x0080_0000, 0x3000, false, false);
        t.flush_page(0x0065_4321);
        assert!(t.entry(TlbMode::Supervisor, 0x0060_0000).is_none());
        assert!(t.entry(TlbMode::User, 0x007f_f000).is_none());
        assert!(t.entry(TlbMode::Supervisor, 0x0080_0000).is_some());
    }

    #[test]
    fn hit_miss_and_page_crossing() {
        let mut t = Tlb::new();
        fill(&mut t, TlbMode::Supervisor, 0x5000, 0x9000, false, false);
        assert_eq!(t.read_host(TlbMode::Supervisor, 0x5010, 4), Some(0x1000_0010 as *mut u8));
        assert_eq!(t.read_host(TlbMode::User, 0x5010, 4), None);
        assert_eq!(t.read_host(TlbMode::Supervisor, 0x5ffe, 4), None, "crosses into 0x6000");
        assert_eq!(t.read_host(TlbMode::Supervisor, 0x5ffc, 4), Some(0x1000_0ffc as *mut u8));
        assert_eq!(t.read_host(TlbMode::Supervisor, 0x105010, 1), None, "same index, other page");
    }

    #[test]
    fn flushes() {
        let mut t = Tlb::new();
        fill(&mut t, TlbMode::Supervisor, 0x5000, 0x9000, true, false);
        fill(&mut t, TlbMode::Supervisor, 0x6000, 0xa000, false, false);
        t.flush_non_global();
        assert!(t.read_host(TlbMode::Supervisor, 0x5000, 1).is_some());
        assert!(t.read_host(TlbMode::Supervisor, 0x6000, 1).is_none());
        t.flush_page(0x5abc);
        assert!(t.read_host(TlbMode::Supervisor, 0x5000, 1).is_none());
    }

    #[test]
    fn what_was_flushed_is_reported_page_by_page_until_something_wider_is() {
        let mut t = Tlb::new();
        assert_eq!(t.take_flushed(), Some(vec![]));
        t.flush_page(0x5abc);
        t.flush_page(0x8000_1fff);
        assert_eq!(t.take_flushed(), Some(vec![(0x5000, 0x1000), (0x8000_1000, 0x1000)]));
        assert_eq!(t.take_flushed(), Some(vec![]), "taken");
        // With a large page in the TLB, INVLPG forgets its 4 MiB region.
        fill(&mut t, TlbMode::Supervisor, 0x0040_1000, 0x1000, false, true);
        t.flush_page(0x0065_4321);
        assert_eq!(t.take_flushed(), Some(vec![(0x0040_0000, 0x40_0000)]));
        t.flush_page(0x5000);
        t.flush_non_global();
        assert_eq!(t.take_flushed(), None, "everything not global");
        t.flush_all();
        assert_eq!(t.take_flushed(), None);
        for page in 0..=FLUSH_LOG as u32 {
            t.flush_page(page << 12);
        }
        assert_eq!(t.take_flushed(), None, "too many to list");
        assert_eq!(t.take_flushed(), Some(vec![]));
    }

    #[test]
    fn invlpg_drops_every_piece_of_a_large_page() {
        let mut t = Tlb::new();
        fill(&mut t, TlbMode::Supervisor, 0x0040_1000, 0x1000, false, true);
        fill(&mut t, TlbMode::User, 0x0040_2000, 0x2000, false, true);
        fill(&mut t, TlbMode::Supervisor, 0x0080_3000, 0x3000, false, false);
        t.flush_page(0x0040_0000);
        assert!(t.entry(TlbMode::Supervisor, 0x0040_1000).is_none());
        assert!(t.entry(TlbMode::User, 0x0040_2000).is_none());
        assert!(t.entry(TlbMode::Supervisor, 0x0080_3000).is_some());
    }

    #[test]
    fn code_pages_make_writes_slow() {
        let mut t = Tlb::new();
        fill(&mut t, TlbMode::Supervisor, 0x5000, 0x9000, false, false);
        t.slow_writes_to(0x9000);
        assert!(t.write_host(TlbMode::Supervisor, 0x5000, 1).is_none());
        assert!(t.read_host(TlbMode::Supervisor, 0x5000, 1).is_some());
        assert!(t.entry(TlbMode::Supervisor, 0x5000).is_some());
    }
}
