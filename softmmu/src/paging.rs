//! The i386 two-level page-table walker (SDM Vol. 3A 4.3, "32-bit paging").
//!
//! A walk reads the page directory entry and, unless it maps a 4 MiB page
//! (CR4.PSE and PDE.PS), the page table entry; it checks presence and the U/S and
//! R/W bits of both levels (CR0.WP decides whether supervisor writes honour R/W);
//! and, only when the translation succeeds, sets the accessed bits of the entries
//! it used and the dirty bit of the final one on a write, as the processor does.
//! A walk that faults leaves the tables untouched (hardware and Bochs agree;
//! QEMU 7.2 sets the directory's accessed bit before it looks at the table).
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

/// Kind of access being translated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Instruction fetch: checked like a read (no NX without PAE).
    Fetch,
}

/// The paging controls from CR0, CR3 and CR4.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PagingMode {
    /// CR0.PG
    pub enabled: bool,
    /// CR0.WP: supervisor writes honour read-only pages.
    pub write_protect: bool,
    /// CR4.PSE: PDE.PS selects 4 MiB pages.
    pub pse: bool,
    /// CR4.PGE: PTE.G marks global pages.
    pub pge: bool,
    /// CR3 (the directory's physical address is its top 20 bits).
    pub cr3: u32,
}

/// A page fault as the walker found it; the CPU turns it into #PF.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PageFault {
    /// Linear address that faulted (goes to CR2).
    pub address: u32,
    /// Error code: bit 0 protection (vs not present), bit 1 write, bit 2 user.
    pub error_code: u32,
}

/// A successful translation of one page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Walk {
    /// Physical address of the 4 KiB page holding the linear address.
    pub phys_page: PhysAddr,
    /// The same privilege may also write the page (permissions allow it, and
    /// the dirty bit is set so a write needs no further walk).
    pub writable: bool,
    /// The translation is global (PTE.G with CR4.PGE).
    pub global: bool,
    /// It came from a 4 MiB page.
    pub large: bool,
}

/// Translates `linear` for `access` by a user (CPL 3) or supervisor access.
pub fn walk(
    mem: &mut impl TableMemory,
    mode: &PagingMode,
    linear: u32,
    access: Access,
    user: bool,
) -> Result<Walk, PageFault> {
    let write = access == Access::Write;
    let fault = |protection: bool| PageFault {
        address: linear,
        error_code: protection as u32 | (write as u32) << 1 | (user as u32) << 2,
    };
    let allowed = |rights: u32, for_write: bool| -> bool {
        if user {
            rights & US != 0 && (!for_write || rights & RW != 0)
        } else {
            !for_write || !mode.write_protect || rights & RW != 0
        }
    };

    let pde_addr = mem.a20((mode.cr3 & !0xfff) | (linear >> 22) << 2);
    let pde = mem.read_u32(pde_addr);
    if pde & P == 0 {
        return Err(fault(false));
    }
    if pde & PS != 0 && mode.pse {
        if !allowed(pde, write) {
            return Err(fault(true));
        }
        let new = pde | A | if write { D } else { 0 };
        if new != pde {
            mem.write_u32(pde_addr, new);
        }
        return Ok(Walk {
            phys_page: mem.a20((pde & 0xffc0_0000) | (linear & 0x003f_f000)),
            writable: new & D != 0 && allowed(pde, true),
            global: mode.pge && pde & G != 0,
            large: true,
        });
    }
    let pte_addr = mem.a20((pde & !0xfff) | ((linear >> 12) & 0x3ff) << 2);
    let pte = mem.read_u32(pte_addr);
    if pte & P == 0 {
        return Err(fault(false));
    }
    let rights = pde & pte;
    if !allowed(rights, write) {
        return Err(fault(true));
    }
    if pde & A == 0 {
        mem.write_u32(pde_addr, pde | A);
    }
    let new = pte | A | if write { D } else { 0 };
    if new != pte {
        mem.write_u32(pte_addr, new);
    }
    Ok(Walk {
        phys_page: mem.a20(pte & !0xfff),
        writable: new & D != 0 && allowed(rights, true),
        global: mode.pge && pte & G != 0,
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
        let mode = PagingMode { enabled: true, write_protect: false, pse: true, pge: true, cr3: DIR };
        (mem, mode)
    }

    #[test]
    fn read_sets_accessed_write_sets_dirty() {
        let (mut mem, mode) = setup(TABLE | P | RW | US, 0x0020_0000 | P | RW | US);
        let w = walk(&mut mem, &mode, 0x0040_3abc, Access::Read, false).unwrap();
        assert_eq!(w.phys_page, PhysAddr(0x20_0000));
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
        assert_eq!(w.phys_page, PhysAddr(0x0081_2000));
        assert!(w.large && w.global && w.writable);
        assert_eq!(mem.read_u32(PhysAddr(DIR + 4)) & (A | D), A | D);
        // Without CR4.PSE the PS bit is ignored and the entry points at a table.
        let (mut mem, mut mode) = setup(TABLE | P | RW | PS, 0x0030_0000 | P);
        mode.pse = false;
        let w = walk(&mut mem, &mode, 0x0040_3000, Access::Read, false).unwrap();
        assert_eq!(w.phys_page, PhysAddr(0x30_0000));
        assert!(!w.large);
    }
}
