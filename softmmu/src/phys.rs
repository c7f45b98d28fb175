//! Guest physical memory: RAM, ROM images, MMIO windows and holes, and the A20 gate.
//!
//! RAM is one anonymous host mapping (memmap2) covering guest physical addresses
//! `0..ram_size`. Regions added later overlay RAM and each other (the newest wins):
//! a BIOS image at the top of the 4 GiB space and its alias below 1 MiB, the VGA
//! window, device MMIO. This module answers "what backs this physical page" and
//! performs plain physical reads and writes; it does not translate linear
//! addresses (see `paging` and `Memory`) and does not call devices: an MMIO
//! page is reported as [`Backing::Mmio`] for the caller to dispatch.

use std::fmt;

use memmap2::MmapMut;

use crate::PhysAddr;

/// Size of a page frame.
pub const PAGE_SIZE: u32 = 4096;

/// Identifies an MMIO window; the bus that registered it knows what it means.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MmioId(pub u16);

/// What backs one physical address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Guest RAM; the address indexes the RAM mapping directly.
    Ram,
    /// Read-only image `rom`, at byte `offset` inside it. Writes are dropped.
    Rom { rom: u16, offset: u32 },
    /// A device window: `offset` is relative to the window's start.
    Mmio { id: MmioId, offset: u32 },
    /// Nothing answers: reads give all ones, writes are dropped.
    Unassigned,
}

/// Memory set-up errors, each with a message a user can act on.
#[derive(Debug)]
pub enum MemoryError {
    /// The host could not provide the guest's RAM.
    RamAllocation { bytes: u64, source: std::io::Error },
    /// A RAM size vemu cannot model (zero, or overlapping the top-of-memory ROM area).
    BadRamSize { bytes: u64 },
    /// A region that does not fit in the 32-bit physical address space.
    BadRegion { base: u64, len: u64 },
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::RamAllocation { bytes, source } => {
                write!(f, "cannot allocate {} MiB of guest RAM: {source}", bytes >> 20)
            }
            MemoryError::BadRamSize { bytes } => {
                write!(f, "guest RAM of {} MiB is not supported (1 MiB to 3584 MiB)", bytes >> 20)
            }
            MemoryError::BadRegion { base, len } => {
                write!(f, "memory region at {base:#x} of {len:#x} bytes does not fit below 4 GiB")
            }
        }
    }
}

impl std::error::Error for MemoryError {}

#[derive(Copy, Clone, Debug)]
enum RegionKind {
    /// ROM image and the byte of it at the region's base.
    Rom {
        rom: u16,
        start: u32,
    },
    Mmio(MmioId),
    Unassigned,
}

#[derive(Copy, Clone, Debug)]
struct Region {
    base: u32,
    /// Last byte of the region (inclusive, so a region may end at 0xFFFFFFFF).
    last: u32,
    kind: RegionKind,
}

impl Region {
    fn backing(&self, addr: u32) -> Backing {
        let rel = addr - self.base;
        match self.kind {
            RegionKind::Rom { rom, start } => Backing::Rom { rom, offset: start + rel },
            RegionKind::Mmio(id) => Backing::Mmio { id, offset: rel },
            RegionKind::Unassigned => Backing::Unassigned,
        }
    }
}

/// Largest RAM vemu maps: the rest of the 4 GiB space holds ROM and MMIO.
pub const MAX_RAM_BYTES: u64 = 3584 << 20;

/// Pages below 1 MiB, whose backing is precomputed.
const LOW_PAGES: usize = 256;

/// Where a page below 1 MiB that the chipset can shadow sends reads and
/// writes (the i440FX's PAM registers): to RAM, or to the bus (the ROM or
/// nothing that overlays the RAM there). At power-on both go to the bus.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Shadow {
    pub read_ram: bool,
    pub write_ram: bool,
}

/// Guest physical memory.
pub struct PhysMemory {
    ram: MmapMut,
    ram_size: u32,
    roms: Vec<Box<[u8]>>,
    /// Overlays, oldest first; lookups scan from the newest.
    regions: Vec<Region>,
    /// Backing of the start of each page below 1 MiB, where most overlays live.
    low: [Option<Region>; LOW_PAGES],
    /// RAM shadowing of each page below 1 MiB (only the overlaid ones care).
    shadow: [Shadow; LOW_PAGES],
    a20_enabled: bool,
    /// The MMIO windows (by id, below 64) whose accesses cannot raise an
    /// interrupt or change when a device acts ([`PhysMemory::set_quiet`]).
    quiet: u64,
}

impl PhysMemory {
    /// Guest RAM of `ram_bytes` (a multiple of 4 KiB, 1 MiB to 3.5 GiB), zeroed.
    pub fn new(ram_bytes: u64) -> Result<Self, MemoryError> {
        if !(1 << 20..=MAX_RAM_BYTES).contains(&ram_bytes) || ram_bytes % PAGE_SIZE as u64 != 0 {
            return Err(MemoryError::BadRamSize { bytes: ram_bytes });
        }
        let ram = MmapMut::map_anon(ram_bytes as usize)
            .map_err(|source| MemoryError::RamAllocation { bytes: ram_bytes, source })?;
        Ok(PhysMemory {
            ram,
            ram_size: ram_bytes as u32,
            roms: Vec::new(),
            regions: Vec::new(),
            low: [None; LOW_PAGES],
            shadow: [Shadow::default(); LOW_PAGES],
            a20_enabled: true,
            quiet: 0,
        })
    }

    /// Bytes of guest RAM.
    pub fn ram_size(&self) -> u32 {
        self.ram_size
    }

    /// Maps a read-only copy of `data` at `base`; returns the image's index for
    /// [`PhysMemory::alias_rom`].
    pub fn add_rom(&mut self, base: u32, data: &[u8]) -> Result<u16, MemoryError> {
        let last = last_byte(base, data.len() as u64)?;
        let rom = self.roms.len() as u16;
        self.roms.push(data.to_vec().into_boxed_slice());
        self.push_region(Region { base, last, kind: RegionKind::Rom { rom, start: 0 } });
        Ok(rom)
    }

    /// Maps `len` bytes of ROM image `rom`, from byte `start` of it, at `base`
    /// as well (the BIOS's alias below 1 MiB).
    pub fn alias_rom(&mut self, rom: u16, start: u32, base: u32, len: u32) -> Result<(), MemoryError> {
        let last = last_byte(base, len as u64)?;
        let size = self.roms.get(rom as usize).map_or(0, |r| r.len() as u64);
        if start as u64 + len as u64 > size {
            return Err(MemoryError::BadRegion { base: base as u64, len: len as u64 });
        }
        self.push_region(Region { base, last, kind: RegionKind::Rom { rom, start } });
        Ok(())
    }

    /// Routes `len` bytes at `base` to a device window.
    pub fn add_mmio(&mut self, base: u32, len: u32, id: MmioId) -> Result<(), MemoryError> {
        let last = last_byte(base, len as u64)?;
        self.push_region(Region { base, last, kind: RegionKind::Mmio(id) });
        Ok(())
    }

    /// Makes `len` bytes at `base` answer nothing (a hole over RAM, like the
    /// VGA window of a PC without a VGA card).
    pub fn add_hole(&mut self, base: u32, len: u32) -> Result<(), MemoryError> {
        let last = last_byte(base, len as u64)?;
        self.push_region(Region { base, last, kind: RegionKind::Unassigned });
        Ok(())
    }

    /// Declares window `id` quiet: an access to it only reads or writes the
    /// device's memory (video memory, a ROM), so the CPU need not end its
    /// block and ask the devices about interrupts after it, as it must after
    /// a register access. Ids from 64 up cannot be quiet.
    pub fn set_quiet(&mut self, id: MmioId) {
        if id.0 < 64 {
            self.quiet |= 1 << id.0;
        }
    }

    /// Whether window `id` is quiet.
    pub fn is_quiet(&self, id: MmioId) -> bool {
        id.0 < 64 && self.quiet & (1 << id.0) != 0
    }

    /// Moves device window `id` to `len` bytes at `base`, or takes it out of
    /// the map (`len` 0): a PCI BAR being placed, moved or disabled. What
    /// the window covered falls back to what is under it.
    pub fn map_mmio(&mut self, id: MmioId, base: u32, len: u32) -> Result<(), MemoryError> {
        let last = if len == 0 { 0 } else { last_byte(base, len as u64)? };
        self.regions.retain(|r| !matches!(r.kind, RegionKind::Mmio(i) if i == id));
        self.low = [None; LOW_PAGES];
        for region in self.regions.clone() {
            self.cache_low(region);
        }
        if len != 0 {
            self.push_region(Region { base, last, kind: RegionKind::Mmio(id) });
        }
        Ok(())
    }

    fn cache_low(&mut self, region: Region) {
        for (page, slot) in self.low.iter_mut().enumerate() {
            let addr = (page as u32) << 12;
            if region.base <= addr && addr <= region.last {
                *slot = Some(region);
            }
        }
    }

    fn push_region(&mut self, region: Region) {
        self.regions.push(region);
        self.cache_low(region);
    }

    /// Whether address line 20 passes through (true) or is forced to zero.
    pub fn a20_enabled(&self) -> bool {
        self.a20_enabled
    }

    /// Opens or closes the A20 gate. Callers holding translations (the TLB)
    /// must flush them.
    pub fn set_a20(&mut self, enabled: bool) {
        self.a20_enabled = enabled;
    }

    /// Applies the A20 gate to an address coming out of the CPU.
    #[inline]
    pub fn a20(&self, addr: u32) -> PhysAddr {
        PhysAddr(if self.a20_enabled { addr } else { addr & !(1 << 20) })
    }

    /// Sets where reads and writes of the page at `page` (below 1 MiB) go
    /// when an overlay covers it. Callers holding translations (the TLB,
    /// decoded code) must drop those of the page.
    pub fn set_shadow(&mut self, page: PhysAddr, shadow: Shadow) {
        if let Some(s) = self.shadow.get_mut((page.0 >> 12) as usize) {
            *s = shadow;
        }
    }

    /// The shadowing of the page of `addr` (below 1 MiB).
    pub fn shadow(&self, addr: PhysAddr) -> Shadow {
        self.shadow.get((addr.0 >> 12) as usize).copied().unwrap_or_default()
    }

    /// What backs reads of `addr`. Overlays smaller than a page are not
    /// supported, so the answer holds for the whole page of `addr` (with the
    /// offset advancing).
    pub fn backing(&self, addr: PhysAddr) -> Backing {
        self.backing_for(addr, false)
    }

    /// What backs writes (`write`) or reads of `addr`: they differ below 1 MiB
    /// where a page's RAM shadows a ROM for one and not the other.
    pub fn backing_for(&self, addr: PhysAddr, write: bool) -> Backing {
        let a = addr.0;
        if a < 1 << 20 {
            let page = (a >> 12) as usize;
            return match self.low[page] {
                Some(_)
                    if a < self.ram_size && {
                        let s = self.shadow[page];
                        if write {
                            s.write_ram
                        } else {
                            s.read_ram
                        }
                    } =>
                {
                    Backing::Ram
                }
                Some(region) => region.backing(a),
                None if a < self.ram_size => Backing::Ram,
                None => Backing::Unassigned,
            };
        }
        if let Some(region) = self.regions.iter().rev().find(|r| r.base <= a && a <= r.last) {
            return region.backing(a);
        }
        if a < self.ram_size {
            Backing::Ram
        } else {
            Backing::Unassigned
        }
    }

    /// Host address of the byte at `addr` if it is RAM or ROM. ROM bytes must
    /// not be written through it.
    pub(crate) fn host_ptr(&self, addr: PhysAddr) -> Option<*mut u8> {
        match self.backing(addr) {
            // SAFETY: `addr` < ram_size was checked by `backing`; the mapping
            // lives as long as `self`.
            Backing::Ram => Some(unsafe { self.ram.as_ptr().add(addr.0 as usize) as *mut u8 }),
            Backing::Rom { rom, offset } => {
                Some(self.roms[rom as usize][offset as usize..].as_ptr() as *mut u8)
            }
            _ => None,
        }
    }

    /// Host address of the RAM byte at `addr`, whatever overlays it (for
    /// writes that [`PhysMemory::backing_for`] sends to RAM).
    pub(crate) fn ram_ptr(&self, addr: PhysAddr) -> Option<*mut u8> {
        // SAFETY: bounds checked against the mapping, which lives as long as `self`.
        (addr.0 < self.ram_size).then(|| unsafe { self.ram.as_ptr().add(addr.0 as usize) as *mut u8 })
    }

    /// The whole of guest RAM.
    pub fn ram(&self) -> &[u8] {
        &self.ram
    }

    /// Reads one byte of RAM, ROM or nothing (all ones). MMIO reads as all ones
    /// here: device windows are read by the caller's bus, not by this module.
    pub fn read_u8(&self, addr: PhysAddr) -> u8 {
        match self.backing(addr) {
            Backing::Ram => self.ram[addr.0 as usize],
            Backing::Rom { rom, offset } => self.roms[rom as usize][offset as usize],
            Backing::Mmio { .. } | Backing::Unassigned => 0xff,
        }
    }

    /// Writes one byte if it is RAM; other backings drop it. Writes from
    /// outside this crate go through `Memory`, which tracks code.
    pub(crate) fn write_u8(&mut self, addr: PhysAddr, value: u8) {
        if let Backing::Ram = self.backing_for(addr, true) {
            self.ram[addr.0 as usize] = value;
        }
    }

    /// Little-endian dword read, byte by byte across backings.
    pub fn read_u32(&self, addr: PhysAddr) -> u32 {
        if addr.0 & 3 == 0 && matches!(self.backing(addr), Backing::Ram) {
            let a = addr.0 as usize;
            return u32::from_le_bytes(self.ram[a..a + 4].try_into().expect("4 bytes"));
        }
        (0..4).fold(0, |v, i| v | (self.read_u8(PhysAddr(addr.0.wrapping_add(i))) as u32) << (8 * i))
    }

    /// Copies `len` bytes from where reads of `from` go to where writes of `to`
    /// go, a byte at a time (firmware shadowing its ROM into RAM).
    #[cfg(test)]
    fn copy(&mut self, from: PhysAddr, to: PhysAddr, len: u32) {
        for i in 0..len {
            let b = self.read_u8(PhysAddr(from.0.wrapping_add(i)));
            self.write_u8(PhysAddr(to.0.wrapping_add(i)), b);
        }
    }

    /// Little-endian dword write, byte by byte across backings (see `write_u8`).
    #[cfg(test)]
    pub(crate) fn write_u32(&mut self, addr: PhysAddr, value: u32) {
        for i in 0..4 {
            self.write_u8(PhysAddr(addr.0.wrapping_add(i)), (value >> (8 * i)) as u8);
        }
    }
}

fn last_byte(base: u32, len: u64) -> Result<u32, MemoryError> {
    if len == 0 || base as u64 + len > 1 << 32 || base % PAGE_SIZE != 0 || len % PAGE_SIZE as u64 != 0 {
        return Err(MemoryError::BadRegion { base: base as u64, len });
    }
    Ok((base as u64 + len - 1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_reads_back_and_starts_zeroed() {
        let mut m = PhysMemory::new(2 << 20).unwrap();
        assert_eq!(m.read_u32(PhysAddr(0x1000)), 0);
        m.write_u32(PhysAddr(0x1001), 0xdeadbeef);
        assert_eq!(m.read_u32(PhysAddr(0x1001)), 0xdeadbeef);
        assert_eq!(m.read_u8(PhysAddr(0x1001)), 0xef);
    }

    #[test]
    fn rom_overlays_ram_and_drops_writes() {
        let mut m = PhysMemory::new(2 << 20).unwrap();
        let image: Vec<u8> = (0..0x10000u32).map(|i| i as u8).collect();
        let rom = m.add_rom(0xffff_0000, &image).unwrap();
        m.alias_rom(rom, 0, 0xf0000, 0x10000).unwrap();
        assert_eq!(m.read_u8(PhysAddr(0xffff_fff0)), 0xf0);
        assert_eq!(m.read_u8(PhysAddr(0xffff0)), 0xf0);
        m.write_u8(PhysAddr(0xffff0), 1);
        assert_eq!(m.read_u8(PhysAddr(0xffff0)), 0xf0);
        assert_eq!(m.backing(PhysAddr(0xf1234)), Backing::Rom { rom, offset: 0x1234 });
        // RAM next to the alias is untouched.
        assert_eq!(m.backing(PhysAddr(0xeffff)), Backing::Ram);
    }

    #[test]
    fn shadow_ram_under_the_bios_alias() {
        let mut m = PhysMemory::new(2 << 20).unwrap();
        let image: Vec<u8> = (0..0x10000u32).map(|i| i as u8).collect();
        let rom = m.add_rom(0xffff_0000, &image).unwrap();
        m.alias_rom(rom, 0, 0xf0000, 0x10000).unwrap();
        let page = PhysAddr(0xf1000);
        // Writes to RAM, reads from the ROM: the ROM is copied underneath.
        m.set_shadow(page, Shadow { read_ram: false, write_ram: true });
        m.write_u8(PhysAddr(0xf1010), 0x99);
        assert_eq!(m.read_u8(PhysAddr(0xf1010)), 0x10, "reads still see the ROM");
        assert_eq!(m.backing_for(PhysAddr(0xf1010), true), Backing::Ram);
        // Reads from RAM, writes dropped (write-protected shadow).
        m.set_shadow(page, Shadow { read_ram: true, write_ram: false });
        assert_eq!(m.read_u8(PhysAddr(0xf1010)), 0x99);
        m.write_u8(PhysAddr(0xf1010), 0x55);
        assert_eq!(m.read_u8(PhysAddr(0xf1010)), 0x99);
        // Other pages are not shadowed.
        assert_eq!(m.read_u8(PhysAddr(0xf2010)), 0x10);
        m.set_shadow(PhysAddr(0xf2000), Shadow { read_ram: true, write_ram: true });
        m.copy(PhysAddr(0xffff_2000), PhysAddr(0xf2000), 0x1000);
        assert_eq!(m.read_u8(PhysAddr(0xf2010)), 0x10, "copied");
        m.write_u8(PhysAddr(0xf2010), 0x77);
        assert_eq!(m.read_u8(PhysAddr(0xf2010)), 0x77);
    }

    #[test]
    fn mmio_windows_move_and_go() {
        let mut m = PhysMemory::new(2 << 20).unwrap();
        m.add_hole(0xc0000, 0x10000).unwrap();
        m.map_mmio(MmioId(3), 0xc0000, 0x8000).unwrap();
        assert_eq!(m.backing(PhysAddr(0xc1000)), Backing::Mmio { id: MmioId(3), offset: 0x1000 });
        m.map_mmio(MmioId(3), 0xe000_0000, 0x1000).unwrap();
        assert_eq!(m.backing(PhysAddr(0xc1000)), Backing::Unassigned);
        assert_eq!(m.backing(PhysAddr(0xe000_0010)), Backing::Mmio { id: MmioId(3), offset: 0x10 });
        m.map_mmio(MmioId(3), 0, 0).unwrap();
        assert_eq!(m.backing(PhysAddr(0xe000_0010)), Backing::Unassigned);
        assert_eq!(m.backing(PhysAddr(0x1000)), Backing::Ram);
    }

    #[test]
    fn holes_mmio_and_beyond_ram() {
        let mut m = PhysMemory::new(1 << 20).unwrap();
        m.add_hole(0xa0000, 0x20000).unwrap();
        m.add_mmio(0xfee0_0000, 0x1000, MmioId(7)).unwrap();
        assert_eq!(m.read_u8(PhysAddr(0xa0000)), 0xff);
        assert_eq!(m.backing(PhysAddr(0x20_0000)), Backing::Unassigned);
        assert_eq!(m.backing(PhysAddr(0xfee0_0030)), Backing::Mmio { id: MmioId(7), offset: 0x30 });
    }

    #[test]
    fn a20_gate_folds_the_second_megabyte() {
        let mut m = PhysMemory::new(4 << 20).unwrap();
        assert_eq!(m.a20(0x10_0010), PhysAddr(0x10_0010));
        m.set_a20(false);
        assert_eq!(m.a20(0x10_0010), PhysAddr(0x10));
        assert_eq!(m.a20(0x30_0010), PhysAddr(0x20_0010));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(matches!(PhysMemory::new(0), Err(MemoryError::BadRamSize { .. })));
        assert!(matches!(PhysMemory::new(1 << 40), Err(MemoryError::BadRamSize { .. })));
        let mut m = PhysMemory::new(1 << 20).unwrap();
        assert!(m.add_rom(0xffff_f000, &[0; 0x2000]).is_err());
    }
}
