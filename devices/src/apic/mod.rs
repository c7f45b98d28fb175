//! The APIC interrupt architecture of a one-processor PC: the processor's
//! local APIC ([`lapic`], at 0xFEE00000) and the chipset's I/O APIC
//! ([`ioapic`], at 0xFEC00000). The I/O APIC turns interrupt lines into
//! [`Message`]s on the APIC bus; the machine hands them to the local APIC,
//! and hands the local APIC's end-of-interrupt broadcasts for
//! level-triggered vectors back to the I/O APIC. Neither holds the other.
//!
//! Not modelled: more than one processor (the bus has one local APIC), x2APIC
//! mode, and the serial APIC bus of the 82489DX and the Pentium (messages
//! arrive at once; delivery-status bits read idle).

pub mod ioapic;
pub mod lapic;

use serde::{Deserialize, Serialize};

/// Delivery modes of redirection entries, LVT entries and IPIs (SDM Vol. 3A
/// 10.5.1, 10.6.1; 82093AA data sheet 3.2.4).
pub mod delivery {
    pub const FIXED: u8 = 0;
    pub const LOWEST_PRIORITY: u8 = 1;
    pub const SMI: u8 = 2;
    pub const NMI: u8 = 4;
    pub const INIT: u8 = 5;
    pub const STARTUP: u8 = 6;
    pub const EXTINT: u8 = 7;
}

/// An interrupt message on the APIC bus.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub vector: u8,
    /// One of [`delivery`]'s modes.
    pub delivery: u8,
    /// Level-triggered (the receiver sets its TMR bit and broadcasts its EOI).
    pub level: bool,
    /// Destination: an APIC ID (physical mode) or a logical mask.
    pub dest: u8,
    /// Logical destination mode.
    pub logical: bool,
}
