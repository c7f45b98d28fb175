//! The I/O APIC of QEMU's `pc` machine (an Intel 82093AA as the data sheet
//! describes it): 24 input pins, each with a 64-bit redirection entry that
//! turns the pin's requests into interrupt messages for the local APICs.
//!
//! Registers, reached indirectly: IOREGSEL (offset 0x00) selects one, IOWIN
//! (offset 0x10, 32-bit accesses) reads or writes it: 0x00 the ID, 0x01 the
//! version (0x00170011: 24 entries, version 0x11), 0x02 the arbitration ID,
//! 0x10 + 2n and 0x11 + 2n the low and high halves of entry n (vector,
//! delivery mode, destination mode, delivery status, polarity, remote IRR,
//! trigger mode, mask, destination).
//!
//! Edge-triggered pins send one message per rising edge while unmasked (an
//! edge on a masked pin is lost, as the data sheet says). Level-triggered
//! pins send one message while asserted and unmasked, set remote IRR, and
//! send again only after the local APIC's EOI for the entry's vector
//! ([`IoApic::eoi`]) if the pin is still asserted. Switching an entry to edge
//! clears remote IRR (Linux relies on it to recover a lost EOI, and QEMU does
//! it). The polarity bit is kept but, as in QEMU, the machine's lines already
//! say "asserted", whatever the wire's polarity.
//!
//! The PC's wiring ([`isa_pin`]): ISA IRQ n reaches pin n, except IRQ 0 (the
//! 8254), which reaches pin 2, as on QEMU's `pc` (and as its MADT's interrupt
//! source override says). PCI interrupts reach pins 0-15 through the PIIX3's
//! PIRQ routing to ISA IRQs; pins 16-23 are not connected on that chipset.
//! Not modelled: the 82093AA's serial-bus arbitration and delivery timing.

use serde::{Deserialize, Serialize};

use super::{delivery, Message};
use crate::state::{self, Snapshot, StateError};

/// Input pins.
pub const PINS: usize = 24;
/// Where the I/O APIC's window is on a PC.
pub const DEFAULT_BASE: u32 = 0xfec0_0000;
/// The window's length.
pub const WINDOW_BYTES: u32 = 0x1000;
/// The version register: highest entry 23, version 0x11 (82093AA).
pub const VERSION: u32 = ((PINS as u32 - 1) << 16) | 0x11;

/// Redirection entry bits.
pub mod entry {
    pub const VECTOR: u64 = 0xff;
    pub const DELIVERY_SHIFT: u32 = 8;
    pub const LOGICAL: u64 = 1 << 11;
    pub const DELIVERY_STATUS: u64 = 1 << 12;
    pub const POLARITY_LOW: u64 = 1 << 13;
    pub const REMOTE_IRR: u64 = 1 << 14;
    pub const LEVEL: u64 = 1 << 15;
    pub const MASKED: u64 = 1 << 16;
    pub const DEST_SHIFT: u32 = 56;
    /// The bits software writes: the low half but delivery status and remote
    /// IRR, and the destination.
    pub const WRITABLE: u64 = 0xff00_0000_0001_afff;
}

/// The I/O APIC pin that ISA interrupt line `irq` drives on a PC.
pub fn isa_pin(irq: u8) -> u8 {
    if irq == 0 {
        2
    } else {
        irq
    }
}

/// An 82093AA I/O APIC.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IoApic {
    /// APIC ID (bits 27:24 of the ID register).
    id: u8,
    /// IOREGSEL.
    select: u8,
    redirection: [u64; PINS],
    /// Level of each input pin (asserted = 1).
    lines: u32,
    /// Messages sent and not yet taken by the machine.
    outbox: Vec<Message>,
}

impl Default for IoApic {
    fn default() -> Self {
        Self::new()
    }
}

impl IoApic {
    /// After reset: ID 0, every entry masked.
    pub fn new() -> IoApic {
        IoApic { id: 0, select: 0, redirection: [entry::MASKED; PINS], lines: 0, outbox: Vec::new() }
    }

    /// RESET: back to the power-on state; the pins keep their levels.
    pub fn reset(&mut self) {
        *self = IoApic { lines: self.lines, ..IoApic::new() };
    }

    /// Reads `size` bytes at `offset` in the window.
    pub fn read(&mut self, offset: u32, size: u8) -> u32 {
        match offset & 0xff {
            0x00 => self.select as u32,
            0x10 if size == 4 => self.read_register(),
            _ => 0,
        }
    }

    /// Writes `size` bytes at `offset` in the window.
    pub fn write(&mut self, offset: u32, size: u8, value: u32) {
        match offset & 0xff {
            0x00 => self.select = value as u8,
            0x10 if size == 4 => self.write_register(value),
            _ => {}
        }
    }

    fn read_register(&self) -> u32 {
        match self.select {
            0x00 | 0x02 => (self.id as u32) << 24,
            0x01 => VERSION,
            r @ 0x10..=0x3f => {
                let e = self.redirection[(r as usize - 0x10) / 2];
                if r & 1 == 0 {
                    e as u32
                } else {
                    (e >> 32) as u32
                }
            }
            _ => 0,
        }
    }

    fn write_register(&mut self, value: u32) {
        match self.select {
            0x00 => self.id = (value >> 24) as u8 & 0x0f,
            r @ 0x10..=0x3f => {
                let pin = (r as usize - 0x10) / 2;
                let old = self.redirection[pin];
                let new = if r & 1 == 0 {
                    old & !0xffff_ffff | value as u64
                } else {
                    old & 0xffff_ffff | (value as u64) << 32
                };
                let mut e = new & entry::WRITABLE | old & (entry::REMOTE_IRR | entry::DELIVERY_STATUS);
                if e & entry::LEVEL == 0 {
                    e &= !entry::REMOTE_IRR;
                }
                self.redirection[pin] = e;
                // A level still asserted goes out once the entry lets it.
                self.service_level(pin);
            }
            _ => {}
        }
    }

    /// Drives input `pin` (0-23) to `high`.
    pub fn set_irq(&mut self, pin: u8, high: bool) {
        let pin = pin as usize;
        if pin >= PINS {
            return;
        }
        let bit = 1 << pin;
        let rose = high && self.lines & bit == 0;
        if high {
            self.lines |= bit;
        } else {
            self.lines &= !bit;
        }
        let e = self.redirection[pin];
        if e & entry::LEVEL != 0 {
            self.service_level(pin);
        } else if rose && e & entry::MASKED == 0 {
            self.send(e);
        }
    }

    /// Sends a level-triggered pin's message if it is asserted, unmasked and
    /// not waiting for an EOI.
    fn service_level(&mut self, pin: usize) {
        let e = self.redirection[pin];
        let ready = e & (entry::LEVEL | entry::MASKED | entry::REMOTE_IRR) == entry::LEVEL;
        if ready && self.lines & (1 << pin) != 0 {
            // SMI, NMI, INIT and ExtINT are edge-like: no EOI will come back.
            if Self::delivery(e) == delivery::FIXED || Self::delivery(e) == delivery::LOWEST_PRIORITY {
                self.redirection[pin] |= entry::REMOTE_IRR;
            }
            self.send(e);
        }
    }

    fn delivery(e: u64) -> u8 {
        (e >> entry::DELIVERY_SHIFT) as u8 & 7
    }

    fn send(&mut self, e: u64) {
        self.outbox.push(Message {
            vector: (e & entry::VECTOR) as u8,
            delivery: Self::delivery(e),
            level: e & entry::LEVEL != 0,
            dest: (e >> entry::DEST_SHIFT) as u8,
            logical: e & entry::LOGICAL != 0,
        });
    }

    /// A local APIC's EOI for a level-triggered `vector`: the entries with
    /// that vector leave remote IRR and send again if still asserted.
    pub fn eoi(&mut self, vector: u8) {
        for pin in 0..PINS {
            let e = self.redirection[pin];
            if e & entry::LEVEL != 0 && e & entry::VECTOR == vector as u64 && e & entry::REMOTE_IRR != 0 {
                self.redirection[pin] &= !entry::REMOTE_IRR;
                self.service_level(pin);
            }
        }
    }

    /// The messages sent since the last call, oldest first.
    pub fn take_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether a request on `pin` would send a message now (unmasked, and
    /// for a level-triggered pin not waiting for an EOI).
    pub fn deliverable(&self, pin: u8) -> bool {
        let Some(&e) = self.redirection.get(pin as usize) else { return false };
        e & entry::MASKED == 0 && e & entry::REMOTE_IRR == 0
    }
}

impl Snapshot for IoApic {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let s: IoApic = state::decode(bytes)?;
        if s.lines >> PINS != 0 {
            return Err(StateError(format!("I/O APIC: pin levels {:#x} beyond pin 23", s.lines)));
        }
        *self = s;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_reg(io: &mut IoApic, reg: u8, value: u32) {
        io.write(0x00, 1, reg as u32);
        io.write(0x10, 4, value);
    }

    fn read_reg(io: &mut IoApic, reg: u8) -> u32 {
        io.write(0x00, 1, reg as u32);
        io.read(0x10, 4)
    }

    /// Entry `pin`: `low` as given, destination APIC 0.
    fn program(io: &mut IoApic, pin: u8, low: u32) {
        write_reg(io, 0x10 + 2 * pin, low);
        write_reg(io, 0x11 + 2 * pin, 0);
    }

    #[test]
    fn identification_registers() {
        let mut io = IoApic::new();
        assert_eq!(read_reg(&mut io, 0x01), 0x0017_0011);
        write_reg(&mut io, 0x00, 0xff00_0000);
        assert_eq!(read_reg(&mut io, 0x00), 0x0f00_0000, "4-bit ID");
        assert_eq!(read_reg(&mut io, 0x02), 0x0f00_0000, "arbitration ID follows");
        write_reg(&mut io, 0x01, 0);
        assert_eq!(read_reg(&mut io, 0x01), VERSION, "version is read-only");
        assert_eq!(io.read(0x00, 4), 0x01, "IOREGSEL reads back");
        assert_eq!(read_reg(&mut io, 0x40), 0, "no register past entry 23");
        assert_eq!(io.read(0x10, 2), 0, "IOWIN takes 32-bit accesses only");
    }

    #[test]
    fn entries_reset_masked_and_keep_only_writable_bits() {
        let mut io = IoApic::new();
        for pin in 0..PINS as u8 {
            assert_eq!(read_reg(&mut io, 0x10 + 2 * pin), 0x0001_0000);
        }
        write_reg(&mut io, 0x10, 0xffff_ffff);
        write_reg(&mut io, 0x11, 0xffff_ffff);
        // Delivery status and remote IRR stay 0 (no request yet); bits
        // 17-55 are reserved.
        assert_eq!(read_reg(&mut io, 0x10), 0x0001_afff);
        assert_eq!(read_reg(&mut io, 0x11), 0xff00_0000);
    }

    #[test]
    fn edge_pin_sends_once_per_rising_edge() {
        let mut io = IoApic::new();
        program(&mut io, 2, 0x30);
        io.set_irq(2, true);
        io.set_irq(2, true);
        let m = io.take_messages();
        assert_eq!(
            m,
            vec![Message { vector: 0x30, delivery: delivery::FIXED, level: false, dest: 0, logical: false }]
        );
        io.set_irq(2, false);
        io.set_irq(2, true);
        assert_eq!(io.take_messages().len(), 1, "a second edge");
        assert_eq!(read_reg(&mut io, 0x14) & (entry::REMOTE_IRR as u32), 0, "edges never set remote IRR");
    }

    #[test]
    fn masked_edge_is_lost() {
        let mut io = IoApic::new();
        program(&mut io, 1, 0x0001_0031);
        io.set_irq(1, true);
        io.set_irq(1, false);
        program(&mut io, 1, 0x31);
        assert!(io.take_messages().is_empty(), "the edge came while masked");
    }

    #[test]
    fn level_pin_waits_for_eoi() {
        let mut io = IoApic::new();
        program(&mut io, 9, 0x8000 | 0x49);
        io.set_irq(9, true);
        assert_eq!(io.take_messages().len(), 1);
        assert_ne!(read_reg(&mut io, 0x10 + 18) & entry::REMOTE_IRR as u32, 0, "remote IRR set");
        assert!(!io.deliverable(9));
        io.set_irq(9, true);
        assert!(io.take_messages().is_empty(), "still waiting for the EOI");
        io.eoi(0x48);
        assert!(io.take_messages().is_empty(), "another vector's EOI");
        io.eoi(0x49);
        let m = io.take_messages();
        assert_eq!(m.len(), 1, "still asserted: sent again");
        assert!(m[0].level);
        io.set_irq(9, false);
        io.eoi(0x49);
        assert!(io.take_messages().is_empty(), "released before the EOI");
        assert_eq!(read_reg(&mut io, 0x10 + 18) & entry::REMOTE_IRR as u32, 0);
        assert!(io.deliverable(9));
    }

    #[test]
    fn unmasking_an_asserted_level_sends_it() {
        let mut io = IoApic::new();
        program(&mut io, 10, 0x0001_8000 | 0x50);
        io.set_irq(10, true);
        assert!(io.take_messages().is_empty(), "masked");
        program(&mut io, 10, 0x8000 | 0x50);
        assert_eq!(io.take_messages().len(), 1);
    }

    #[test]
    fn switching_to_edge_clears_remote_irr() {
        let mut io = IoApic::new();
        program(&mut io, 11, 0x8000 | 0x51);
        io.set_irq(11, true);
        io.take_messages();
        program(&mut io, 11, 0x0001_0051);
        assert_eq!(read_reg(&mut io, 0x10 + 22) & entry::REMOTE_IRR as u32, 0);
        // Back to level, unmasked, still asserted: it goes out again.
        program(&mut io, 11, 0x8000 | 0x51);
        assert_eq!(io.take_messages().len(), 1);
    }

    #[test]
    fn message_fields_come_from_the_entry() {
        let mut io = IoApic::new();
        write_reg(&mut io, 0x10 + 8, (delivery::NMI as u32) << 8 | 0x800 | 0x2000);
        write_reg(&mut io, 0x11 + 8, 0x0300_0000);
        io.set_irq(4, true);
        assert_eq!(
            io.take_messages(),
            vec![Message { vector: 0, delivery: delivery::NMI, level: false, dest: 3, logical: true }]
        );
        io.set_irq(30, true);
        assert!(io.take_messages().is_empty(), "no pin 30");
    }

    #[test]
    fn pc_wiring_moves_the_timer_to_pin_2() {
        assert_eq!(isa_pin(0), 2);
        assert_eq!(isa_pin(1), 1);
        assert_eq!(isa_pin(8), 8);
        assert_eq!(isa_pin(15), 15);
    }

    #[test]
    fn state_round_trips() {
        let mut io = IoApic::new();
        write_reg(&mut io, 0x00, 0x0200_0000);
        program(&mut io, 9, 0x8000 | 0x49);
        io.set_irq(9, true);
        io.take_messages();
        io.write(0x00, 1, 0x12);
        let mut copy = IoApic::new();
        copy.restore(&io.save()).unwrap();
        assert_eq!(read_reg(&mut copy, 0x00), 0x0200_0000);
        assert_ne!(read_reg(&mut copy, 0x22) & entry::REMOTE_IRR as u32, 0);
        copy.eoi(0x49);
        assert_eq!(copy.take_messages().len(), 1, "the pin's level came along");
        let mut bad = io.save();
        bad.push(0);
        assert!(copy.restore(&bad).is_err());
    }

    #[test]
    fn reset_masks_everything_and_keeps_levels() {
        let mut io = IoApic::new();
        program(&mut io, 9, 0x8000 | 0x49);
        io.set_irq(9, true);
        io.reset();
        assert_eq!(read_reg(&mut io, 0x22), 0x0001_0000);
        io.take_messages();
        program(&mut io, 9, 0x8000 | 0x49);
        assert_eq!(io.take_messages().len(), 1, "the pin is still asserted");
    }
}
