//! The i386 page-table walkers: 32-bit paging (SDM Vol. 3A 4.3) and PAE paging
//! (4.4), with execute-disable (4.6).
//!
//! 32-bit paging reads the page directory entry and, unless it maps a 4 MiB
//! page (CR4.PSE and PDE.PS), the page table entry. PAE paging (CR4.PAE) starts
//! from one of the four page-directory-pointer-table entries the CPU loaded
//! when CR3 was written ([`load_pdptes`]; the walk uses those copies, not the
//! table in memory, as the processor does), then reads 64-bit directory and
//! table entries; a directory entry with PS set maps a 2 MiB page whatever
//! CR4.PSE says. Both check presence and the U/S and R/W bits of every level
//! (CR0.WP decides whether supervisor writes honour R/W). PAE entries also have
//! reserved bits, which fault with the RSVD bit in the error code, and with
//! EFER.NXE the XD bit at any level forbids instruction fetches.
//!
//! Only when the translation succeeds does a walk set the accessed bits of the
//! entries it used and the dirty bit of the final one on a write, as the
//! processor does. A walk that faults leaves the tables untouched (hardware
//! and Bochs agree; QEMU 7.2 sets the directory's accessed bit before it looks
//! at the table, and in PAE mode also bit 5 of the PDPTE, which is reserved).
//!
//! Physical addresses are 36 bits wide under PAE (MAXPHYADDR, SDM 4.1.4: 36
//! for processors with PAE that do not report CPUID leaf 80000008H). vemu has
//! nothing at or above 4 GiB: a page there translates to "no memory"
//! ([`Walk::phys_page`] is `None`), and a paging-structure entry read from
//! there reads as all ones, as unassigned memory does.
//!
//! It knows nothing of segments, the TLB or the CPU: `Memory` calls it on a TLB
//! miss and turns a [`PageFault`] into the guest's #PF.

use crate::PhysAddr;

/// The physical memory a walk reads entries from and writes accessed and
/// dirty bits to: [`crate::Memory`], whose writes are noticed by code
/// tracking like any other.
pub trait TableMemory {
    /// Applies the A20 gate to an address.
    fn a20(&self, addr: u32) -> PhysAddr;
    fn read_u32(&self, addr: PhysAddr) -> u32;
    fn write_u32(&mut self, addr: PhysAddr, value: u32);
}

const P: u32 = 1 << 0;
const RW: u32 = 1 << 1;
const US: u32 = 1 << 2;
const A: u32 = 1 << 5;
const D: u32 = 1 << 6;
const PS: u32 = 1 << 7;
const G: u32 = 1 << 8;
/// Execute-disable, bit 63 of a PAE entry.
const XD: u64 = 1 << 63;

/// Physical-address width under PAE paging (MAXPHYADDR).
pub const MAX_PHYS_BITS: u32 = 36;
/// The address bits of a PAE entry: 35:12.
const PAE_ADDR: u64 = ((1 << MAX_PHYS_BITS) - 1) & !0xfff;
/// Bits 62:MAXPHYADDR, reserved in every PAE entry (bit 63 too without EFER.NXE).
const PAE_HIGH_RESERVED: u64 = (XD - 1) & !((1 << MAX_PHYS_BITS) - 1);
/// The reserved bits of a PDPTE (SDM 4.4.1): 2:1, 8:5, 63:MAXPHYADDR.
const PDPTE_RESERVED: u64 = XD | PAE_HIGH_RESERVED | 0x1e6;
/// Bits 20:13 of a directory entry mapping a 2 MiB page (between PAT and the address).
const LARGE_PDE_RESERVED: u64 = 0x1f_e000;

/// Bits of a page fault's error code (SDM Vol. 3A 4.7).
pub mod error {
    /// The page was present: a protection violation or a reserved bit.
    pub const P: u32 = 1 << 0;
    /// The access was a write.
    pub const W: u32 = 1 << 1;
    /// The access was a user-mode one.
    pub const U: u32 = 1 << 2;
    /// A reserved bit was set in a paging-structure entry.
    pub const RSVD: u32 = 1 << 3;
    /// An instruction fetch (reported only under PAE paging with EFER.NXE).
    pub const ID: u32 = 1 << 4;
}

/// Kind of access being translated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Instruction fetch: checked like a read, and against XD under PAE
    /// paging with EFER.NXE.
    Fetch,
}

/// The paging controls from CR0, CR3, CR4 and EFER, and the PDPTEs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PagingMode {
    /// CR0.PG
    pub enabled: bool,
    /// CR0.WP: supervisor writes honour read-only pages.
    pub write_protect: bool,
    /// CR4.PSE: PDE.PS selects 4 MiB pages (32-bit paging only).
    pub pse: bool,
    /// CR4.PGE: the G bit marks global pages.
    pub pge: bool,
    /// CR3 (32-bit paging: the directory's physical address is its top 20 bits).
    pub cr3: u32,
    /// CR4.PAE: PAE paging, from `pdptes`.
    pub pae: bool,
    /// EFER.NXE: under PAE paging, XD forbids fetches and is no longer reserved.
    pub nxe: bool,
    /// The PDPTEs loaded by [`load_pdptes`] when CR3 (or the controls) were
    /// last written with PAE paging on.
    pub pdptes: [u64; 4],
}

/// A page fault as the walker found it; the CPU turns it into #PF.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PageFault {
    /// Linear address that faulted (goes to CR2).
    pub address: u32,
    /// Error code: the bits of [`error`].
    pub error_code: u32,
}

/// A successful translation of one page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Walk {
    /// Physical address of the 4 KiB page holding the linear address, or
    /// `None` when that page lies at or above 4 GiB, where there is no memory.
    pub phys_page: Option<PhysAddr>,
    /// The same privilege may also write the page (permissions allow it, and
    /// the dirty bit is set so a write needs no further walk).
    pub writable: bool,
    /// The same privilege may also fetch instructions from it (no XD under
    /// PAE paging with EFER.NXE).
    pub executable: bool,
    /// The translation is global (G with CR4.PGE).
    pub global: bool,
    /// It came from a large page (4 MiB, or 2 MiB under PAE).
    pub large: bool,
}

/// Reads the four PDPTEs of PAE paging from the table CR3 points at (bits
/// 31:5), as MOV to CR3 and the other loads SDM 4.4.1 lists do. `None` when a
/// present entry has a reserved bit set: the instruction then raises #GP(0)
/// and changes nothing.
pub fn load_pdptes(mem: &impl TableMemory, cr3: u32) -> Option<[u64; 4]> {
    let mut pdptes = [0; 4];
    for (i, e) in pdptes.iter_mut().enumerate() {
        *e = read_entry(mem, u64::from(cr3 & !0x1f) + 8 * i as u64);
        if *e & P as u64 != 0 && *e & PDPTE_RESERVED != 0 {
            return None;
        }
    }
    Some(pdptes)
}

/// A physical address of a walk after the A20 gate, if below 4 GiB.
fn below_4g(mem: &impl TableMemory, addr: u64) -> Option<PhysAddr> {
    (addr >> 32 == 0).then(|| mem.a20(addr as u32))
}

/// Reads the 64-bit entry at `addr` (all ones where nothing is).
fn read_entry(mem: &impl TableMemory, addr: u64) -> u64 {
    match below_4g(mem, addr) {
        Some(a) => {
            let high = mem.a20(a.0.wrapping_add(4));
            u64::from(mem.read_u32(a)) | u64::from(mem.read_u32(high)) << 32
        }
        None => u64::MAX,
    }
}

/// Writes the low half of the entry at `addr`, where the accessed and dirty
/// bits are (dropped where nothing is).
fn write_entry_low(mem: &mut impl TableMemory, addr: u64, low: u32) {
    if let Some(a) = below_4g(mem, addr) {
        mem.write_u32(a, low);
    }
}

/// One translation's access: builds its error codes and checks rights.
struct Check<'a> {
    mode: &'a PagingMode,
    linear: u32,
    write: bool,
    user: bool,
    fetch: bool,
}

impl Check<'_> {
    /// A fault with `kind` (0: not present, or [`error::P`], maybe with
    /// [`error::RSVD`]) and the access's own bits.
    fn fault(&self, kind: u32) -> PageFault {
        let id = self.fetch && self.mode.pae && self.mode.nxe;
        let error_code = kind
            | if self.write { error::W } else { 0 }
            | if self.user { error::U } else { 0 }
            | if id { error::ID } else { 0 };
        PageFault { address: self.linear, error_code }
    }

    /// Whether the combined U/S and R/W bits `rights` allow the access (as a
    /// write for `for_write`).
    fn allowed(&self, rights: u32, for_write: bool) -> bool {
        if self.user {
            rights & US != 0 && (!for_write || rights & RW != 0)
        } else {
            !for_write || !self.mode.write_protect || rights & RW != 0
        }
    }

    /// Whether a page with the combined XD bits `xd` may be executed.
    fn executable(&self, xd: u64) -> bool {
        !(self.mode.pae && self.mode.nxe && xd & XD != 0)
    }

    /// The protection check of the final translation.
    fn permit(&self, rights: u32, xd: u64) -> Result<(), PageFault> {
        if !self.allowed(rights, self.write) || (self.fetch && !self.executable(xd)) {
            return Err(self.fault(error::P));
        }
        Ok(())
    }
}

/// Translates `linear` for `access` by a user (CPL 3) or supervisor access.
pub fn walk(
    mem: &mut impl TableMemory,
    mode: &PagingMode,
    linear: u32,
    access: Access,
    user: bool,
) -> Result<Walk, PageFault> {
    let check = Check { mode, linear, write: access == Access::Write, user, fetch: access == Access::Fetch };
    if mode.pae {
        walk_pae(mem, &check)
    } else {
        walk_32(mem, &check)
    }
}

/// 32-bit paging: 4 KiB pages, or 4 MiB ones with CR4.PSE.
fn walk_32(mem: &mut impl TableMemory, c: &Check) -> Result<Walk, PageFault> {
    let (mode, linear, write) = (c.mode, c.linear, c.write);
    let pde_addr = mem.a20((mode.cr3 & !0xfff) | (linear >> 22) << 2);
    let pde = mem.read_u32(pde_addr);
    if pde & P == 0 {
        return Err(c.fault(0));
    }
    if pde & PS != 0 && mode.pse {
        c.permit(pde, 0)?;
        let new = pde | A | if write { D } else { 0 };
        if new != pde {
            mem.write_u32(pde_addr, new);
        }
        return Ok(Walk {
            phys_page: Some(mem.a20((pde & 0xffc0_0000) | (linear & 0x003f_f000))),
            writable: new & D != 0 && c.allowed(pde, true),
            executable: true,
            global: mode.pge && pde & G != 0,
            large: true,
        });
    }
    let pte_addr = mem.a20((pde & !0xfff) | ((linear >> 12) & 0x3ff) << 2);
    let pte = mem.read_u32(pte_addr);
    if pte & P == 0 {
        return Err(c.fault(0));
    }
    let rights = pde & pte;
    c.permit(rights, 0)?;
    if pde & A == 0 {
        mem.write_u32(pde_addr, pde | A);
    }
    let new = pte | A | if write { D } else { 0 };
    if new != pte {
        mem.write_u32(pte_addr, new);
    }
    Ok(Walk {
        phys_page: Some(mem.a20(pte & !0xfff)),
        writable: new & D != 0 && c.allowed(rights, true),
        executable: true,
        global: mode.pge && pte & G != 0,
        large: false,
    })
}

/// PAE paging: a PDPTE, then a directory of 64-bit entries mapping 2 MiB
/// pages or tables of 4 KiB ones.
fn walk_pae(mem: &mut impl TableMemory, c: &Check) -> Result<Walk, PageFault> {
    let (mode, linear, write) = (c.mode, c.linear, c.write);
    // Loaded and checked for reserved bits with CR3.
    let pdpte = mode.pdptes[(linear >> 30) as usize];
    if pdpte & P as u64 == 0 {
        return Err(c.fault(0));
    }
    let reserved = PAE_HIGH_RESERVED | if mode.nxe { 0 } else { XD };
    let pde_addr = (pdpte & PAE_ADDR) | u64::from((linear >> 21) & 0x1ff) << 3;
    let pde = read_entry(mem, pde_addr);
    if pde & P as u64 == 0 {
        return Err(c.fault(0));
    }
    if pde & reserved != 0 {
        return Err(c.fault(error::P | error::RSVD));
    }
    let pde_low = pde as u32;
    if pde_low & PS != 0 {
        if pde & LARGE_PDE_RESERVED != 0 {
            return Err(c.fault(error::P | error::RSVD));
        }
        c.permit(pde_low, pde)?;
        let new = pde_low | A | if write { D } else { 0 };
        if new != pde_low {
            write_entry_low(mem, pde_addr, new);
        }
        let phys = (pde & PAE_ADDR & !0x1f_ffff) | u64::from(linear & 0x1f_f000);
        return Ok(Walk {
            phys_page: below_4g(mem, phys),
            writable: new & D != 0 && c.allowed(pde_low, true),
            executable: c.executable(pde),
            global: mode.pge && pde_low & G != 0,
            large: true,
        });
    }
    let pte_addr = (pde & PAE_ADDR) | u64::from((linear >> 12) & 0x1ff) << 3;
    let pte = read_entry(mem, pte_addr);
    if pte & P as u64 == 0 {
        return Err(c.fault(0));
    }
    if pte & reserved != 0 {
        return Err(c.fault(error::P | error::RSVD));
    }
    let pte_low = pte as u32;
    let rights = pde_low & pte_low;
    c.permit(rights, pde | pte)?;
    if pde_low & A == 0 {
        write_entry_low(mem, pde_addr, pde_low | A);
    }
    let new = pte_low | A | if write { D } else { 0 };
    if new != pte_low {
        write_entry_low(mem, pte_addr, new);
    }
    Ok(Walk {
        phys_page: below_4g(mem, pte & PAE_ADDR),
        writable: new & D != 0 && c.allowed(rights, true),
        executable: c.executable(pde | pte),
        global: mode.pge && pte_low & G != 0,
        large: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhysMemory;

    impl TableMemory for PhysMemory {
        fn a20(&self, addr: u32) -> PhysAddr {
            PhysMemory::a20(self, addr)
        }
        fn read_u32(&self, addr: PhysAddr) -> u32 {
            PhysMemory::read_u32(self, addr)
        }
        fn write_u32(&mut self, addr: PhysAddr, value: u32) {
            PhysMemory::write_u32(self, addr, value)
        }
    }

    const DIR: u32 = 0x10000;
    const TABLE: u32 = 0x11000;

    fn setup(pde: u32, pte: u32) -> (PhysMemory, PagingMode) {
        let mut mem = PhysMemory::new(4 << 20).unwrap();
        // linear 0x00403000 -> directory slot 1, table slot 3
        mem.write_u32(PhysAddr(DIR + 4), pde);
        mem.write_u32(PhysAddr(TABLE + 12), pte);
        let mode = PagingMode { enabled: true, pse: true, pge: true, cr3: DIR, ..PagingMode::default() };
        (mem, mode)
    }

    fn page(addr: u32) -> Option<PhysAddr> {
        Some(PhysAddr(addr))
    }

    #[test]
    fn read_sets_accessed_write_sets_dirty() {
        let (mut mem, mode) = setup(TABLE | P | RW | US, 0x0020_0000 | P | RW | US);
        let w = walk(&mut mem, &mode, 0x0040_3abc, Access::Read, false).unwrap();
        assert_eq!(w.phys_page, page(0x20_0000));
        assert!(!w.writable, "not dirty yet: a write must walk again");
        assert_eq!(mem.read_u32(PhysAddr(DIR + 4)) & (A | D), A);
        assert_eq!(mem.read_u32(PhysAddr(TABLE + 12)) & (A | D), A);
        let w = walk(&mut mem, &mode, 0x0040_3abc, Access::Write, true).unwrap();
        assert!(w.writable);
        assert_eq!(mem.read_u32(PhysAddr(TABLE + 12)) & (A | D), A | D);
        assert_eq!(mem.read_u32(PhysAddr(DIR + 4)) & D, 0, "PDE of a table has no dirty bit");
    }

    #[test]
    fn not_present_faults_leave_tables_alone() {
        let (mut mem, mode) = setup(TABLE | P | RW | US, 0x0020_0000);
        let f = walk(&mut mem, &mode, 0x0040_3abc, Access::Write, true).unwrap_err();
        assert_eq!(f, PageFault { address: 0x0040_3abc, error_code: 6 });
        assert_eq!(mem.read_u32(PhysAddr(DIR + 4)) & A, 0);
        let (mut mem, mode) = setup(0, 0);
        assert_eq!(walk(&mut mem, &mode, 0x0040_3000, Access::Read, false).unwrap_err().error_code, 0);
    }

    #[test]
    fn protection_combines_both_levels() {
        // PDE supervisor, PTE user: user access is a protection fault.
        let (mut mem, mode) = setup(TABLE | P | RW, 0x0020_0000 | P | RW | US);
        assert_eq!(walk(&mut mem, &mode, 0x0040_3000, Access::Read, true).unwrap_err().error_code, 5);
        // PDE read-only: user write faults, supervisor write only with WP.
        let (mut mem, mut mode) = setup(TABLE | P | US, 0x0020_0000 | P | RW | US);
        assert_eq!(walk(&mut mem, &mode, 0x0040_3000, Access::Write, true).unwrap_err().error_code, 7);
        assert!(walk(&mut mem, &mode, 0x0040_3000, Access::Write, false).is_ok());
        mode.write_protect = true;
        assert_eq!(walk(&mut mem, &mode, 0x0040_3000, Access::Write, false).unwrap_err().error_code, 3);
    }

    #[test]
    fn large_pages_and_global() {
        let (mut mem, mode) = setup(0x0080_0000 | P | RW | PS | G, 0);
        let w = walk(&mut mem, &mode, 0x0041_2345, Access::Write, false).unwrap();
        assert_eq!(w.phys_page, page(0x0081_2000));
        assert!(w.large && w.global && w.writable && w.executable);
        assert_eq!(mem.read_u32(PhysAddr(DIR + 4)) & (A | D), A | D);
        // Without CR4.PSE the PS bit is ignored and the entry points at a table.
        let (mut mem, mut mode) = setup(TABLE | P | RW | PS, 0x0030_0000 | P);
        mode.pse = false;
        let w = walk(&mut mem, &mode, 0x0040_3000, Access::Read, false).unwrap();
        assert_eq!(w.phys_page, page(0x30_0000));
        assert!(!w.large);
    }

    #[test]
    fn no_execute_is_a_pae_matter() {
        // 32-bit paging has no XD bit, and EFER.NXE alone does not set I/D.
        let (mut mem, mut mode) = setup(TABLE | P | RW, 0);
        mode.nxe = true;
        assert_eq!(walk(&mut mem, &mode, 0x0040_3000, Access::Fetch, false).unwrap_err().error_code, 0);
    }

    // ---- PAE paging ----------------------------------------------------------------------

    const PDPT: u32 = 0x20000;
    const PD: u32 = 0x21000;
    const PT: u32 = 0x22000;
    /// Linear address in PDPTE 1, directory slot 3, table slot 3.
    const LIN: u32 = 0x4060_3abc;
    const PDE_AT: u32 = PD + 3 * 8;
    const PTE_AT: u32 = PT + 3 * 8;
    const NX: u64 = XD;

    fn write64(mem: &mut PhysMemory, at: u32, v: u64) {
        mem.write_u32(PhysAddr(at), v as u32);
        mem.write_u32(PhysAddr(at + 4), (v >> 32) as u32);
    }

    fn read64(mem: &PhysMemory, at: u32) -> u64 {
        u64::from(mem.read_u32(PhysAddr(at))) | u64::from(mem.read_u32(PhysAddr(at + 4))) << 32
    }

    /// PAE tables mapping LIN through `pde` and `pte`, PDPTEs loaded.
    fn pae(pde: u64, pte: u64) -> (PhysMemory, PagingMode) {
        let mut mem = PhysMemory::new(8 << 20).unwrap();
        write64(&mut mem, PDPT + 8, u64::from(PD | P));
        write64(&mut mem, PDE_AT, pde);
        write64(&mut mem, PTE_AT, pte);
        let pdptes = load_pdptes(&mem, PDPT).expect("valid PDPTEs");
        let mode = PagingMode { enabled: true, pae: true, cr3: PDPT, pdptes, ..PagingMode::default() };
        (mem, mode)
    }

    fn bits(v: u32) -> u64 {
        u64::from(v)
    }

    fn err(mem: &mut PhysMemory, mode: &PagingMode, access: Access, user: bool) -> u32 {
        walk(mem, mode, LIN, access, user).unwrap_err().error_code
    }

    #[test]
    fn pae_4k_pages_set_accessed_and_dirty_in_the_low_half() {
        let (mut mem, mut mode) = pae(bits(PT | P | RW | US) | NX, bits(0x0050_0000 | P | RW | US) | NX);
        mode.nxe = true;
        let w = walk(&mut mem, &mode, LIN, Access::Read, true).unwrap();
        assert_eq!(w.phys_page, page(0x50_0000));
        assert!(!w.writable && !w.large && !w.executable);
        assert_eq!(read64(&mem, PDE_AT), bits(PT | P | RW | US | A) | NX, "high half kept");
        assert_eq!(read64(&mem, PTE_AT), bits(0x0050_0000 | P | RW | US | A) | NX);
        let w = walk(&mut mem, &mode, LIN, Access::Write, true).unwrap();
        assert!(w.writable);
        assert_eq!(read64(&mem, PTE_AT), bits(0x0050_0000 | P | RW | US | A | D) | NX);
        assert_eq!(read64(&mem, PDE_AT) & bits(D), 0, "a directory entry of a table has no dirty bit");
    }

    #[test]
    fn pae_2m_pages_whatever_cr4_pse_says() {
        let (mut mem, mut mode) = pae(bits(0x0060_0000 | P | RW | PS | G), 0);
        assert!(!mode.pse);
        let w = walk(&mut mem, &mode, LIN, Access::Read, false).unwrap();
        assert_eq!(w.phys_page, page(0x0060_3000), "2 MiB frame plus bits 20:12");
        assert!(w.large && !w.global && !w.writable, "G needs CR4.PGE");
        assert_eq!(read64(&mem, PDE_AT), bits(0x0060_0000 | P | RW | PS | G | A));
        mode.pge = true;
        let w = walk(&mut mem, &mode, LIN + 0x10_0000, Access::Write, false).unwrap();
        assert_eq!(w.phys_page, page(0x0070_3000));
        assert!(w.large && w.global && w.writable);
        assert_eq!(read64(&mem, PDE_AT) & bits(A | D), bits(A | D));
        // The PAT bit (12) of a 2 MiB entry is not part of the address.
        let (mut mem, mode) = pae(bits(0x0060_1000 | P | PS), 0);
        assert_eq!(walk(&mut mem, &mode, LIN, Access::Read, false).unwrap().phys_page, page(0x0060_3000));
    }

    #[test]
    fn pae_rights_combine_levels_and_honour_wp() {
        let (mut mem, mut mode) = pae(bits(PT | P | US), bits(0x0050_0000 | P | RW | US));
        assert_eq!(err(&mut mem, &mode, Access::Write, true), error::P | error::W | error::U);
        assert!(walk(&mut mem, &mode, LIN, Access::Write, false).is_ok(), "supervisor write without WP");
        mode.write_protect = true;
        assert_eq!(err(&mut mem, &mode, Access::Write, false), error::P | error::W);
        let (mut mem, mode) = pae(bits(PT | P | RW), bits(0x0050_0000 | P | RW | US));
        assert_eq!(err(&mut mem, &mode, Access::Read, true), error::P | error::U);
        assert_eq!(read64(&mem, PDE_AT) & bits(A), 0, "a protection fault sets no accessed bit");
        let (mut mem, mode) = pae(bits(0x0060_0000 | P | PS), 0);
        assert_eq!(err(&mut mem, &mode, Access::Read, true), error::P | error::U, "2 MiB supervisor page");
    }

    #[test]
    fn pae_not_present_at_every_level() {
        let (mut mem, mut mode) = pae(bits(PT | P | RW), bits(0x0050_0000));
        assert_eq!(err(&mut mem, &mode, Access::Write, false), error::W);
        assert_eq!(read64(&mem, PDE_AT) & bits(A), 0);
        write64(&mut mem, PDE_AT, 0);
        assert_eq!(err(&mut mem, &mode, Access::Read, true), error::U);
        mode.pdptes[1] = 0;
        assert_eq!(err(&mut mem, &mode, Access::Read, false), 0);
    }

    #[test]
    fn pae_reserved_bits_fault_with_rsvd_and_p() {
        let pte_ok = bits(0x0050_0000 | P | RW | US);
        let pde_ok = bits(PT | P | RW | US);
        let rsvd = error::P | error::RSVD;
        // Bits 62:36 of a table entry.
        for bit in [36, 40, 51, 52, 62] {
            let (mut mem, mode) = pae(pde_ok, pte_ok | 1 << bit);
            assert_eq!(err(&mut mem, &mode, Access::Read, false), rsvd, "PTE bit {bit}");
            assert_eq!(err(&mut mem, &mode, Access::Write, false), rsvd | error::W);
            assert_eq!(read64(&mem, PTE_AT) & bits(A), 0, "a reserved-bit fault sets nothing");
            assert_eq!(read64(&mem, PDE_AT) & bits(A), 0);
            let (mut mem, mode) = pae(pde_ok | 1 << bit, pte_ok);
            assert_eq!(err(&mut mem, &mode, Access::Read, true), rsvd | error::U, "PDE bit {bit}");
        }
        // Reserved bits come before the rights: a user read of a supervisor page.
        let (mut mem, mode) = pae(bits(PT | P), bits(0x0050_0000 | P) | 1 << 40);
        assert_eq!(err(&mut mem, &mode, Access::Read, true), rsvd | error::U);
        // A not-present entry's other bits are not looked at.
        let (mut mem, mode) = pae(pde_ok, 1 << 40);
        assert_eq!(err(&mut mem, &mode, Access::Read, false), 0);
        // Bits 20:13 of a 2 MiB entry; bit 12 is PAT.
        for bit in [13, 16, 20] {
            let (mut mem, mode) = pae(bits(0x0060_0000 | P | PS) | 1 << bit, 0);
            assert_eq!(err(&mut mem, &mode, Access::Read, false), rsvd, "2 MiB PDE bit {bit}");
        }
        // XD is reserved without EFER.NXE, at either level.
        let (mut mem, mut mode) = pae(pde_ok, pte_ok | NX);
        assert_eq!(err(&mut mem, &mode, Access::Read, false), rsvd);
        mode.nxe = true;
        assert!(walk(&mut mem, &mode, LIN, Access::Read, false).is_ok());
        let (mut mem, mode) = pae(pde_ok | NX, pte_ok);
        assert_eq!(err(&mut mem, &mode, Access::Read, false), rsvd);
    }

    #[test]
    fn pae_execute_disable_forbids_fetches_only() {
        let (mut mem, mut mode) = pae(bits(PT | P | RW | US), bits(0x0050_0000 | P | RW | US) | NX);
        mode.nxe = true;
        let w = walk(&mut mem, &mode, LIN, Access::Read, false).unwrap();
        assert!(!w.executable, "a read walk says whether fetches may use the page");
        assert_eq!(err(&mut mem, &mode, Access::Fetch, false), error::P | error::ID);
        assert_eq!(err(&mut mem, &mode, Access::Fetch, true), error::P | error::ID | error::U);
        // XD in the directory entry covers the whole table.
        let (mut mem, mut mode) = pae(bits(PT | P | RW) | NX, bits(0x0050_0000 | P | RW));
        mode.nxe = true;
        assert_eq!(err(&mut mem, &mode, Access::Fetch, false), error::P | error::ID);
        assert!(walk(&mut mem, &mode, LIN, Access::Write, false).unwrap().writable);
        // And a 2 MiB page.
        let (mut mem, mut mode) = pae(bits(0x0060_0000 | P | PS) | NX, 0);
        mode.nxe = true;
        assert_eq!(err(&mut mem, &mode, Access::Fetch, false), error::P | error::ID);
        // Without XD fetches are fine; with NXE every fetch fault reports I/D.
        let (mut mem, mut mode) = pae(bits(PT | P | RW), bits(0x0050_0000 | P));
        mode.nxe = true;
        let w = walk(&mut mem, &mode, LIN, Access::Fetch, false).unwrap();
        assert!(w.executable);
        write64(&mut mem, PTE_AT, 0);
        assert_eq!(err(&mut mem, &mode, Access::Fetch, false), error::ID);
        mode.nxe = false;
        assert_eq!(err(&mut mem, &mode, Access::Fetch, false), 0, "no I/D without NXE");
    }

    #[test]
    fn pdptes_are_checked_when_loaded_and_cached() {
        let mut mem = PhysMemory::new(1 << 20).unwrap();
        write64(&mut mem, PDPT, bits(PD | P));
        write64(&mut mem, PDPT + 8, 1 << 40); // not present: anything goes
        write64(&mut mem, PDPT + 16, bits(PD | P | 0x18 | 0xe00)); // PWT, PCD, ignored 11:9
        assert_eq!(load_pdptes(&mem, PDPT | 0x1f), Some([bits(PD | P), 1 << 40, bits(PD | P | 0xe18), 0]));
        for bit in [1, 2, 5, 6, 7, 8, 36, 52, 62, 63] {
            write64(&mut mem, PDPT + 24, bits(PD | P) | 1 << bit);
            assert_eq!(load_pdptes(&mem, PDPT), None, "bit {bit} is reserved");
        }
        // The walk uses the loaded copies: rewriting the table changes nothing.
        let (mut mem, mode) = pae(bits(0x0060_0000 | P | PS), 0);
        write64(&mut mem, PDPT + 8, 0);
        assert!(walk(&mut mem, &mode, LIN, Access::Read, false).is_ok());
        assert_eq!(read64(&mem, PDPT + 8), 0, "and writes nothing into the PDPTEs");
    }

    #[test]
    fn pae_pages_above_4g_have_no_memory() {
        let (mut mem, mode) = pae(bits(PT | P | RW), 0x1_0000_0000 | bits(0x0050_0000 | P | RW));
        let w = walk(&mut mem, &mode, LIN, Access::Write, false).unwrap();
        assert_eq!(w.phys_page, None, "not an alias of 0x500000");
        assert_eq!(read64(&mem, PTE_AT) & bits(A | D), bits(A | D));
        let (mut mem, mode) = pae(bits(0x0060_0000 | P | PS) | 0xf_0000_0000, 0);
        assert_eq!(walk(&mut mem, &mode, LIN, Access::Read, false).unwrap().phys_page, None);
        // A table above 4 GiB reads as all ones: present, with reserved bits.
        let (mut mem, mode) = pae(0x8_0000_0000 | bits(PT | P | RW), 0);
        assert_eq!(err(&mut mem, &mode, Access::Read, false), error::P | error::RSVD);
        // PDPTEs too.
        let mut mode = mode;
        mode.pdptes[1] = 0x8_0000_0000 | bits(PD | P);
        assert_eq!(err(&mut mem, &mode, Access::Read, false), error::P | error::RSVD);
    }
}
