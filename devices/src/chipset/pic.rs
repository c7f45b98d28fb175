//! The two cascaded 8259A programmable interrupt controllers of the PC/AT
//! (master at ports 0x20-0x21, slave at 0xa0-0xa1 on the master's IRQ 2) and
//! the edge/level control registers (ELCR, ports 0x4d0-0x4d1) of the PIIX.
//!
//! What is modelled, from the 8259A data sheet: the initialization sequence
//! (ICW1-ICW4: vector base, cascade, auto-EOI), the interrupt mask (OCW1),
//! end-of-interrupt commands with specific and rotating priority (OCW2), reading
//! IRR or ISR and poll mode (OCW3), special mask mode, edge- and level-triggered
//! requests, the spurious IRQ 7/15 when a request vanishes before the
//! acknowledge, and the slave's request reaching the master through IRQ 2.
//! Not modelled: the 8080/8085 mode and buffered mode (no effect on a PC).
//! The whole pair is state, saved and restored as it is ([`Snapshot`]).

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// One 8259A.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Chip {
    /// Request register: lines asking for service.
    irr: u8,
    /// In-service register.
    isr: u8,
    /// Interrupt mask register.
    imr: u8,
    /// Current level of each input line.
    lines: u8,
    /// Level-triggered inputs (ELCR); the others latch rising edges.
    level: u8,
    /// Vector of IRQ 0 (ICW2, low three bits clear).
    base: u8,
    /// Line with the lowest priority; the next one up has the highest.
    lowest: u8,
    /// Initialization: 0 done, else the next ICW expected (2, 3 or 4).
    init_step: u8,
    /// ICW1 said an ICW4 follows.
    need_icw4: bool,
    /// ICW1 said there is no slave (no ICW3).
    single: bool,
    auto_eoi: bool,
    /// Rotate priorities on automatic EOI (OCW2 command 0x80/0x00).
    rotate_on_auto_eoi: bool,
    /// OCW3: reads of the command port return the ISR (else the IRR).
    read_isr: bool,
    /// OCW3 poll command: the next read of the command port polls.
    poll: bool,
    special_mask: bool,
    /// Special fully nested mode (ICW4 bit 4).
    special_fully_nested: bool,
}

impl Chip {
    /// ICW1's reset: masks, service and modes cleared. The edge sense is
    /// reset too: an input already high must go low and high again to
    /// request (8259A data sheet, ICW1), so the lines' levels are kept and
    /// only level-triggered requests stay.
    fn reset(&mut self) {
        let (level, lines) = (self.level, self.lines);
        *self = Chip { level, lines, irr: self.irr & level & lines, lowest: 7, ..Chip::default() };
    }

    /// Whether a request on `line` could be taken now: unmasked, and not held
    /// off by a level in service.
    fn deliverable(&self, line: u8) -> bool {
        let bit = 1 << line;
        if self.imr & bit != 0 {
            return false;
        }
        let blocking = if self.special_mask { self.isr & !self.imr } else { self.isr };
        for l in self.by_priority() {
            if l == line {
                return blocking & bit == 0 || self.special_fully_nested;
            }
            if blocking & (1 << l) != 0 {
                return false;
            }
        }
        false
    }

    /// Drives input `line` to `high`.
    fn set_line(&mut self, line: u8, high: bool) {
        let bit = 1 << line;
        if self.level & bit != 0 {
            if high {
                self.irr |= bit;
            } else {
                self.irr &= !bit;
            }
        } else if high && self.lines & bit == 0 {
            self.irr |= bit;
        }
        if high {
            self.lines |= bit;
        } else {
            self.lines &= !bit;
        }
    }

    /// Lines in priority order, highest first.
    fn by_priority(&self) -> impl Iterator<Item = u8> {
        let first = (self.lowest + 1) & 7;
        (0..8).map(move |i| (first + i) & 7)
    }

    /// The highest-priority request that may interrupt now, if any.
    fn pending(&self) -> Option<u8> {
        let requests = self.irr & !self.imr;
        if requests == 0 {
            return None;
        }
        // In special mask mode, masked in-service levels do not block others.
        let blocking = if self.special_mask { self.isr & !self.imr } else { self.isr };
        for line in self.by_priority() {
            let bit = 1 << line;
            if blocking & bit != 0 {
                // A level in service holds itself and every lower one off, but
                // in special fully nested mode (a master with slaves) it may
                // be requested again.
                return (self.special_fully_nested && requests & bit != 0).then_some(line);
            }
            if requests & bit != 0 {
                return Some(line);
            }
        }
        None
    }

    /// INTA: takes request `line` into service.
    fn acknowledge(&mut self, line: u8) {
        let bit = 1 << line;
        if self.level & bit == 0 {
            self.irr &= !bit;
        }
        if self.auto_eoi {
            if self.rotate_on_auto_eoi {
                self.lowest = line;
            }
        } else {
            self.isr |= bit;
        }
    }

    /// The highest-priority level in service.
    fn highest_in_service(&self) -> Option<u8> {
        self.by_priority().find(|l| self.isr & (1 << l) != 0)
    }

    fn write_command(&mut self, v: u8) {
        if v & 0x10 != 0 {
            // ICW1: start initialization.
            self.reset();
            self.need_icw4 = v & 0x01 != 0;
            self.single = v & 0x02 != 0;
            self.init_step = 2;
        } else if v & 0x08 == 0 {
            // OCW2.
            let line = v & 7;
            match v >> 5 {
                0b000 => self.rotate_on_auto_eoi = false,
                0b100 => self.rotate_on_auto_eoi = true,
                0b001 => {
                    if let Some(l) = self.highest_in_service() {
                        self.isr &= !(1 << l);
                    }
                }
                0b011 => self.isr &= !(1 << line),
                0b101 => {
                    if let Some(l) = self.highest_in_service() {
                        self.isr &= !(1 << l);
                        self.lowest = l;
                    }
                }
                0b111 => {
                    self.isr &= !(1 << line);
                    self.lowest = line;
                }
                0b110 => self.lowest = line,
                _ => {}
            }
        } else {
            // OCW3.
            if v & 0x02 != 0 {
                self.read_isr = v & 0x01 != 0;
            }
            if v & 0x04 != 0 {
                self.poll = true;
            }
            if v & 0x40 != 0 {
                self.special_mask = v & 0x20 != 0;
            }
        }
    }

    fn write_data(&mut self, v: u8) {
        match self.init_step {
            2 => {
                self.base = v & 0xf8;
                self.init_step = if !self.single {
                    3
                } else if self.need_icw4 {
                    4
                } else {
                    0
                };
            }
            3 => self.init_step = if self.need_icw4 { 4 } else { 0 },
            4 => {
                self.auto_eoi = v & 0x02 != 0;
                self.special_fully_nested = v & 0x10 != 0;
                self.init_step = 0;
            }
            _ => self.imr = v,
        }
    }
}

/// The master and slave 8259A of a PC, with the PIIX's ELCR.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DualPic {
    chips: [Chip; 2],
}

impl Default for DualPic {
    fn default() -> Self {
        Self::new()
    }
}

impl DualPic {
    /// Both controllers as after power-on: uninitialized, everything masked off.
    pub fn new() -> Self {
        let mut p = DualPic { chips: [Chip::default(), Chip::default()] };
        p.chips[0].reset();
        p.chips[1].reset();
        p
    }

    /// Drives interrupt request line `irq` (0-15) high or low.
    pub fn set_irq(&mut self, irq: u8, high: bool) {
        let chip = (irq >> 3) as usize & 1;
        self.chips[chip].set_line(irq & 7, high);
        self.cascade();
    }

    /// An edge on `irq`: the line goes high and back low (a device that
    /// signals an event, such as the timer's output rising).
    pub fn pulse(&mut self, irq: u8) {
        self.set_irq(irq, true);
        self.set_irq(irq, false);
    }

    /// The slave's INT output drives the master's IRQ 2: the master requests
    /// IRQ 2 for exactly as long as the slave has an interrupt to give.
    fn cascade(&mut self) {
        let slave_int = self.chips[1].pending().is_some();
        let m = &mut self.chips[0];
        if slave_int {
            m.irr |= 1 << 2;
            m.lines |= 1 << 2;
        } else {
            m.irr &= !(1 << 2);
            m.lines &= !(1 << 2);
        }
    }

    /// Whether a request on `irq` could reach the CPU now (masks, levels in
    /// service, and for the slave's lines the master's IRQ 2).
    pub fn deliverable(&self, irq: u8) -> bool {
        if irq < 8 {
            self.chips[0].deliverable(irq)
        } else {
            self.chips[1].deliverable(irq & 7) && self.chips[0].deliverable(2)
        }
    }

    /// Whether the CPU's INTR line is asserted.
    pub fn interrupt_pending(&self) -> bool {
        self.chips[0].pending().is_some()
    }

    /// The CPU's interrupt acknowledge cycle: the vector of the interrupt it
    /// takes (a spurious IRQ 7 or 15 if the request went away).
    pub fn acknowledge(&mut self) -> u8 {
        let vector = match self.chips[0].pending() {
            Some(2) => {
                self.chips[0].acknowledge(2);
                match self.chips[1].pending() {
                    Some(line) => {
                        self.chips[1].acknowledge(line);
                        self.chips[1].base | line
                    }
                    None => self.chips[1].base | 7,
                }
            }
            Some(line) => {
                self.chips[0].acknowledge(line);
                self.chips[0].base | line
            }
            None => self.chips[0].base | 7,
        };
        self.cascade();
        vector
    }

    fn chip_of(port: u16) -> usize {
        match port {
            0xa0 | 0xa1 => 1,
            0x4d1 => 1,
            _ => 0,
        }
    }

    /// A poll command's answer: bit 7 and the level, acknowledging it.
    fn poll(&mut self, chip: usize) -> u8 {
        self.chips[chip].poll = false;
        match self.chips[chip].pending() {
            Some(line) => {
                self.chips[chip].acknowledge(line);
                self.cascade();
                0x80 | line
            }
            None => 0,
        }
    }
}

impl PortDevice for DualPic {
    fn read(&mut self, port: u16, _size: u8) -> u32 {
        let c = Self::chip_of(port);
        let v = match port {
            0x4d0 | 0x4d1 => self.chips[c].level,
            _ if self.chips[c].poll => self.poll(c),
            0x20 | 0xa0 if self.chips[c].read_isr => self.chips[c].isr,
            0x20 | 0xa0 => self.chips[c].irr,
            _ => self.chips[c].imr,
        };
        v as u32
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let c = Self::chip_of(port);
        let v = value as u8;
        match port {
            // IRQ 0, 1, 2, 8 and 13 are edge-triggered only on the PIIX.
            0x4d0 => self.chips[0].level = v & 0xf8,
            0x4d1 => self.chips[1].level = v & 0xde,
            0x20 | 0xa0 => self.chips[c].write_command(v),
            _ => self.chips[c].write_data(v),
        }
        self.cascade();
    }

    fn reset(&mut self) {
        *self = DualPic::new();
    }
}

impl Snapshot for DualPic {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let pic: DualPic = state::decode(bytes)?;
        for c in &pic.chips {
            if c.lowest > 7 || !matches!(c.init_step, 0 | 2 | 3 | 4) {
                return Err(StateError(format!(
                    "8259: lowest priority {} and initialization step {}",
                    c.lowest, c.init_step
                )));
            }
        }
        *self = pic;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The initialization every PC BIOS does: vectors 0x08 and 0x70.
    fn bios_init() -> DualPic {
        let mut p = DualPic::new();
        for (port, v) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01)] {
            p.write(port, 1, v);
        }
        for (port, v) in [(0xa0, 0x11), (0xa1, 0x70), (0xa1, 0x02), (0xa1, 0x01)] {
            p.write(port, 1, v);
        }
        p.write(0x21, 1, 0);
        p.write(0xa1, 1, 0);
        p
    }

    #[test]
    fn edge_request_acknowledge_and_eoi() {
        let mut p = bios_init();
        assert!(!p.interrupt_pending());
        p.pulse(0);
        assert!(p.interrupt_pending());
        assert_eq!(p.read(0x20, 1), 1, "IRR shows the request");
        assert_eq!(p.acknowledge(), 0x08);
        assert!(!p.interrupt_pending());
        p.write(0x20, 1, 0x0b);
        assert_eq!(p.read(0x20, 1), 1, "ISR after OCW3 0x0b");
        // A second edge waits while IRQ 0 is in service.
        p.pulse(0);
        assert!(!p.interrupt_pending());
        p.write(0x20, 1, 0x20);
        assert!(p.interrupt_pending());
    }

    #[test]
    fn priority_and_masking() {
        let mut p = bios_init();
        p.pulse(3);
        p.pulse(1);
        assert_eq!(p.acknowledge(), 0x09, "IRQ 1 before IRQ 3");
        assert!(!p.interrupt_pending(), "IRQ 3 waits for IRQ 1's EOI");
        p.write(0x20, 1, 0x20);
        p.write(0x21, 1, 0x08);
        assert!(!p.interrupt_pending(), "IRQ 3 masked");
        p.write(0x21, 1, 0x00);
        assert_eq!(p.acknowledge(), 0x0b);
    }

    #[test]
    fn slave_through_irq2() {
        let mut p = bios_init();
        p.pulse(8);
        assert!(p.interrupt_pending());
        assert_eq!(p.acknowledge(), 0x70);
        // Both in service until their EOIs.
        p.write(0x20, 1, 0x0b);
        p.write(0xa0, 1, 0x0b);
        assert_eq!(p.read(0x20, 1), 0x04);
        assert_eq!(p.read(0xa0, 1), 0x01);
        p.write(0xa0, 1, 0x20);
        p.write(0x20, 1, 0x20);
        assert_eq!(p.read(0x20, 1), 0);
        // The slave's mask stops the request at the slave.
        p.write(0xa1, 1, 0x01);
        p.pulse(8);
        assert!(!p.interrupt_pending());
    }

    #[test]
    fn spurious_and_level_requests() {
        let mut p = bios_init();
        // A level-triggered request that drops before INTA: spurious IRQ 7.
        p.write(0x4d0, 1, 0x20);
        p.set_irq(5, true);
        assert!(p.interrupt_pending());
        p.set_irq(5, false);
        assert!(!p.interrupt_pending());
        assert_eq!(p.acknowledge(), 0x0f);
        p.write(0x20, 1, 0x0b);
        assert_eq!(p.read(0x20, 1), 0, "a spurious interrupt is not in service");
        // While held high it requests again after each EOI.
        p.set_irq(5, true);
        assert_eq!(p.acknowledge(), 0x0d);
        p.write(0x20, 1, 0x20);
        assert!(p.interrupt_pending());
        assert_eq!(p.read(0x4d0, 1), 0x20);
    }

    #[test]
    fn auto_eoi_specific_eoi_and_poll() {
        let mut p = DualPic::new();
        for (port, v) in [(0x20, 0x13), (0x21, 0x20), (0x21, 0x03)] {
            p.write(port, 1, v);
        }
        p.write(0x21, 1, 0);
        p.pulse(4);
        assert_eq!(p.acknowledge(), 0x24);
        p.write(0x20, 1, 0x0b);
        assert_eq!(p.read(0x20, 1), 0, "auto EOI leaves nothing in service");
        let mut p = bios_init();
        p.pulse(6);
        p.write(0x20, 1, 0x0c);
        assert_eq!(p.read(0x20, 1), 0x86, "poll: request 6, acknowledged");
        p.write(0x20, 1, 0x66);
        p.write(0x20, 1, 0x0b);
        assert_eq!(p.read(0x20, 1), 0, "specific EOI 6");
    }

    #[test]
    fn reinitialization_needs_a_new_edge_and_deliverability() {
        let mut p = bios_init();
        p.set_irq(4, true);
        p.write(0x20, 1, 0x11);
        for v in [0x08, 0x04, 0x01, 0x00] {
            p.write(0x21, 1, v);
        }
        assert!(!p.interrupt_pending(), "a line held high is not a request after ICW1");
        p.set_irq(4, false);
        p.set_irq(4, true);
        assert!(p.interrupt_pending());
        assert!(p.deliverable(0));
        assert_eq!(p.acknowledge(), 0x0c);
        assert!(!p.deliverable(5), "below IRQ 4 in service");
        assert!(p.deliverable(1));
        p.write(0x21, 1, 0x04);
        assert!(!p.deliverable(8), "the cascade is masked");
    }

    #[test]
    fn an_uninitialized_pic_masks_nothing_but_sends_nothing_useful() {
        // Power-on: IMR clear, base 0: guests initialize before unmasking.
        let mut p = DualPic::new();
        assert_eq!(p.read(0x21, 1), 0);
        p.pulse(0);
        assert_eq!(p.acknowledge(), 0x00);
    }

    /// What a guest and the CPU see of `p`: every register, then requests
    /// arriving, acknowledged and ended, and the rest of an initialization.
    fn observe(p: &mut DualPic) -> Vec<u32> {
        let mut seen = Vec::new();
        let look = |p: &mut DualPic, seen: &mut Vec<u32>| {
            for port in [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1] {
                seen.push(p.read(port, 1));
            }
            seen.push(p.interrupt_pending() as u32);
            seen.extend((0..16).map(|irq| p.deliverable(irq) as u32));
        };
        look(p, &mut seen);
        p.write(0x20, 1, 0x0b);
        p.write(0xa0, 1, 0x0b);
        look(p, &mut seen);
        seen.push(p.acknowledge() as u32);
        p.pulse(6);
        p.set_irq(10, true);
        seen.push(p.acknowledge() as u32);
        // The rest of the slave's initialization (ICW2-ICW4), then its mask.
        p.write(0xa1, 1, 0x28);
        p.write(0xa1, 1, 0x02);
        p.write(0xa1, 1, 0x01);
        p.write(0xa1, 1, 0x00);
        for _ in 0..3 {
            p.write(0x20, 1, 0x20);
            p.write(0xa0, 1, 0x20);
            look(p, &mut seen);
            seen.push(p.acknowledge() as u32);
        }
        seen
    }

    #[test]
    fn state_round_trips() {
        let mut p = bios_init();
        // Masks, requests in service and waiting, a level-triggered line held
        // high, special mask mode and rotation on the master, ISR reads on the slave ...
        p.write(0x4d1, 1, 0x04);
        p.write(0x21, 1, 0x90);
        p.write(0xa1, 1, 0x08);
        p.pulse(3);
        p.pulse(1);
        assert_eq!(p.acknowledge(), 0x09);
        p.pulse(4);
        p.pulse(7);
        p.set_irq(10, true);
        p.write(0x20, 1, 0xc4);
        p.write(0x20, 1, 0x68);
        p.write(0xa0, 1, 0x0b);
        // ... and the slave half-way through a new initialization.
        p.write(0xa0, 1, 0x19);
        let saved = p.save();

        let mut copy = DualPic::new();
        copy.restore(&saved).unwrap();
        let seen = observe(&mut p);
        assert_eq!(observe(&mut copy), seen);
        assert_ne!(observe(&mut DualPic::new()), seen, "the state observed is not the power-on one");
        assert!(copy.restore(&saved[1..]).is_err());
    }
}
