//! The soft MMU: everything between a guest linear address and a host byte.
//!
//! It owns guest physical memory ([`PhysMemory`]: RAM from an anonymous mapping,
//! ROM images, MMIO windows, the A20 gate), the page-table walkers of 32-bit and
//! PAE paging ([`paging`]), the software TLB that caches its results per privilege level
//! ([`Tlb`]), and the bookkeeping that makes self-modifying code exact: which
//! bytes of guest RAM hold translated code, and which of them were written.
//! [`Memory`] is the one way anything (the CPU, the page walker, loaders,
//! device DMA) writes guest RAM, so that no write escapes that bookkeeping.
//!
//! It does not know segments, the CPU's registers or devices: the translator
//! turns segment:offset into a linear address and passes the paging controls
//! ([`PagingMode`]); MMIO accesses come back as [`Backing::Mmio`] for the caller
//! to dispatch through its own bus.

mod code;
mod memory;
pub mod paging;
mod phys;
mod tlb;

pub use code::CodeWrite;
pub use memory::{Memory, WriteTarget};
pub use paging::{load_pdptes, Access, PageFault, PagingMode, TableMemory, Walk};
pub use phys::{Backing, MemoryError, MmioId, PhysMemory, Shadow, MAX_RAM_BYTES, PAGE_SIZE};
pub use tlb::{Tlb, TlbEntry, TlbFill, TlbMode, TlbSet, TLB_ENTRIES, TLB_INVALID, TLB_SLOW};

/// A guest physical address below 4 GiB. PAE paging can name pages above
/// 4 GiB (36-bit physical addresses), but vemu has no memory there: the walker
/// reports such a page as none rather than as a `PhysAddr`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PhysAddr(pub u32);

/// A guest linear address: segment base + offset, before paging.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LinearAddr(pub u32);

impl PhysAddr {
    /// The number of the 4 KiB page frame holding this address.
    pub fn frame(self) -> u32 {
        self.0 >> 12
    }
}

impl LinearAddr {
    /// The 4 KiB page (address with the low 12 bits cleared).
    pub fn page(self) -> u32 {
        self.0 & !0xfff
    }
}
