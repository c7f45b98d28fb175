//! The processor's local APIC (xAPIC, as on a Pentium 4 and as QEMU models
//! it: version 0x14, six LVT entries), SDM Vol. 3A chapter 10.
//!
//! What it owns: the IA32_APIC_BASE MSR (window address, global enable, BSP
//! flag) and its 4 KiB register window; ID, version, TPR, APR, PPR, EOI, LDR,
//! DFR, SVR, the 256-bit ISR, TMR and IRR, ESR (errors collect until a
//! write latches them into the readable register), ICR, the LVT (timer,
//! thermal, performance counters, LINT0, LINT1, error), and the timer with
//! its divide configuration in one-shot, periodic and TSC-deadline modes
//! (IA32_TSC_DEADLINE).
//!
//! Time: the timer counts the APIC bus clock, which runs at one tick per
//! nanosecond of virtual time (as QEMU's does), through the divider. The
//! machine brings the APIC up to `now` before every access
//! ([`LocalApic::advance`]) and asks [`LocalApic::next_event`] when the timer
//! will next interrupt.
//!
//! Interrupts: fixed interrupts from the I/O APIC ([`LocalApic::deliver`]),
//! the LVT and self-IPIs wait in IRR; the highest one is given to the CPU
//! when its priority class is above the PPR's, and moves to ISR on the
//! acknowledge. An EOI retires the highest ISR bit and, for a level-triggered
//! vector (TMR), is broadcast to the I/O APIC ([`LocalApic::take_eois`]).
//! The 8259's INTR output drives LINT0 ([`LocalApic::set_lint`]): with LINT0
//! in ExtINT mode (virtual wire) the 8259 gives the vector, ahead of the
//! APIC's own requests as in QEMU. A software-disabled APIC (SVR bit 8) masks
//! every LVT entry and holds its requests; a hardware-disabled one (the MSR's
//! bit 11) leaves the bus (the machine then connects the 8259 straight to
//! the CPU) and comes back, when enabled again, in its power-on state. NMIs
//! (LINT1, LVT or ICR in NMI mode, I/O APIC) are taken with
//! [`LocalApic::take_nmi`].
//!
//! One processor: an IPI reaches this APIC if its destination names it (the
//! "self" and "all" shorthands, its ID, a logical destination matching LDR
//! and DFR, or the broadcast 0xFF) and nobody otherwise. INIT and start-up
//! IPIs to itself, and SMIs, are ignored.

use serde::{Deserialize, Serialize};

use super::{delivery, Message};
use crate::state::{self, Snapshot, StateError};

/// Where the window is after reset.
pub const DEFAULT_BASE: u32 = 0xfee0_0000;
/// The register window's length.
pub const WINDOW_BYTES: u32 = 0x1000;
/// The version register: version 0x14, highest LVT entry 5.
pub const VERSION: u32 = 0x0005_0014;

/// IA32_APIC_BASE bits.
pub mod base_msr {
    /// This processor is the bootstrap processor.
    pub const BSP: u64 = 1 << 8;
    /// The APIC's global enable.
    pub const ENABLE: u64 = 1 << 11;
    /// The window's physical address (36-bit physical addresses).
    pub const ADDRESS: u64 = 0xf_ffff_f000;
    /// The value after reset.
    pub const RESET: u64 = super::DEFAULT_BASE as u64 | ENABLE | BSP;
}

/// Error status register bits.
pub mod esr {
    pub const SEND_ILLEGAL_VECTOR: u32 = 1 << 5;
    pub const RECEIVE_ILLEGAL_VECTOR: u32 = 1 << 6;
    pub const ILLEGAL_REGISTER: u32 = 1 << 7;
}

/// LVT entry bits.
pub mod lvt {
    pub const VECTOR: u32 = 0xff;
    pub const DELIVERY_SHIFT: u32 = 8;
    pub const LEVEL: u32 = 1 << 15;
    pub const MASKED: u32 = 1 << 16;
    pub const TIMER_MODE_SHIFT: u32 = 17;
    /// Timer modes (bits 18:17).
    pub const ONE_SHOT: u32 = 0;
    pub const PERIODIC: u32 = 1;
    pub const TSC_DEADLINE: u32 = 2;
}

/// SVR bits.
const SVR_ENABLE: u32 = 1 << 8;

/// The LVT entries, by index.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Lvt {
    Timer = 0,
    Thermal = 1,
    Perf = 2,
    Lint0 = 3,
    Lint1 = 4,
    Error = 5,
}

impl Lvt {
    const ALL: [Lvt; 6] = [Lvt::Timer, Lvt::Thermal, Lvt::Perf, Lvt::Lint0, Lvt::Lint1, Lvt::Error];

    /// The bits software may write.
    fn writable(self) -> u32 {
        match self {
            Lvt::Timer => 0x0007_00ff,
            Lvt::Thermal | Lvt::Perf => 0x0001_07ff,
            Lvt::Lint0 | Lvt::Lint1 => 0x0001_a7ff,
            Lvt::Error => 0x0001_00ff,
        }
    }
}

/// What the CPU's interrupt acknowledge gets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ack {
    /// This vector (an APIC interrupt, or the spurious vector).
    Vector(u8),
    /// The 8259 answers the acknowledge (ExtINT).
    ExtInt,
}

/// A local APIC.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LocalApic {
    base: u64,
    id: u8,
    tpr: u8,
    ldr: u8,
    /// DFR bits 31:28 (the model: 0xF flat, 0x0 cluster).
    dfr_model: u8,
    svr: u32,
    isr: [u32; 8],
    tmr: [u32; 8],
    irr: [u32; 8],
    /// The error status register as software reads it.
    esr: u32,
    /// Errors since the last write to ESR.
    esr_pending: u32,
    icr: [u32; 2],
    lvt: [u32; 6],
    divide: u32,
    initial_count: u32,
    /// IA32_TSC_DEADLINE, while armed.
    tsc_deadline: u64,
    /// Virtual time of the timer's next expiry not yet handled.
    next_fire: Option<u64>,
    /// LINT0 and LINT1 input levels.
    lint: [bool; 2],
    /// An ExtINT message arrived: the next acknowledge goes to the 8259.
    extint: bool,
    /// An NMI for the CPU.
    nmi: bool,
    /// EOIs of level-triggered vectors, for the I/O APIC.
    eois: Vec<u8>,
}

impl Default for LocalApic {
    fn default() -> Self {
        Self::new()
    }
}

/// The highest vector set in a 256-bit register.
fn highest(bits: &[u32; 8]) -> Option<u8> {
    (0..8).rev().find(|&i| bits[i] != 0).map(|i| (i * 32 + 31 - bits[i].leading_zeros() as usize) as u8)
}

fn set_bit(bits: &mut [u32; 8], v: u8, on: bool) {
    let (word, bit) = (v as usize / 32, 1u32 << (v % 32));
    if on {
        bits[word] |= bit;
    } else {
        bits[word] &= !bit;
    }
}

fn bit(bits: &[u32; 8], v: u8) -> bool {
    bits[v as usize / 32] & (1 << (v % 32)) != 0
}

impl LocalApic {
    /// The bootstrap processor's APIC (ID 0) at power-on.
    pub fn new() -> LocalApic {
        LocalApic {
            base: base_msr::RESET,
            id: 0,
            tpr: 0,
            ldr: 0,
            dfr_model: 0xf,
            svr: 0xff,
            isr: [0; 8],
            tmr: [0; 8],
            irr: [0; 8],
            esr: 0,
            esr_pending: 0,
            icr: [0; 2],
            lvt: [lvt::MASKED; 6],
            divide: 0,
            initial_count: 0,
            tsc_deadline: 0,
            next_fire: None,
            lint: [false; 2],
            extint: false,
            nmi: false,
            eois: Vec::new(),
        }
    }

    /// RESET: the power-on state (the input pins keep their levels).
    pub fn reset(&mut self) {
        *self = LocalApic { lint: self.lint, ..LocalApic::new() };
    }

    /// The state firmware leaves for an operating system that boots without
    /// it running (QEMU's firmware does this): software-enabled, LINT0 in
    /// ExtINT mode (virtual wire) and LINT1 in NMI mode, both level-triggered.
    pub fn set_virtual_wire(&mut self) {
        self.svr |= SVR_ENABLE;
        self.lvt[Lvt::Lint0 as usize] = lvt::LEVEL | (delivery::EXTINT as u32) << lvt::DELIVERY_SHIFT;
        self.lvt[Lvt::Lint1 as usize] = lvt::LEVEL | (delivery::NMI as u32) << lvt::DELIVERY_SHIFT;
    }

    /// IA32_APIC_BASE.
    pub fn base_msr(&self) -> u64 {
        self.base
    }

    /// Writes IA32_APIC_BASE; false (the CPU raises #GP) if a reserved bit is
    /// set. The BSP flag is the processor's and stays. Clearing the enable
    /// takes the APIC off the bus; setting it again brings it back in its
    /// power-on state.
    pub fn set_base_msr(&mut self, now: u64, value: u64) -> bool {
        if value & !(base_msr::ADDRESS | base_msr::ENABLE | base_msr::BSP) != 0 {
            return false;
        }
        self.advance(now);
        let was_enabled = self.hardware_enabled();
        let base = value & (base_msr::ADDRESS | base_msr::ENABLE) | self.base & base_msr::BSP;
        if was_enabled != (base & base_msr::ENABLE != 0) {
            let (id, lint) = (self.id, self.lint);
            *self = LocalApic { id, lint, ..LocalApic::new() };
        }
        self.base = base;
        true
    }

    /// Whether the APIC is enabled in IA32_APIC_BASE (else the processor
    /// behaves as one without an APIC).
    pub fn hardware_enabled(&self) -> bool {
        self.base & base_msr::ENABLE != 0
    }

    /// Where the register window is, if the APIC is enabled and the window
    /// lies below 4 GiB.
    pub fn window(&self) -> Option<u32> {
        let base = self.base & base_msr::ADDRESS;
        (self.hardware_enabled() && base <= (u32::MAX - WINDOW_BYTES + 1) as u64).then_some(base as u32)
    }

    fn software_enabled(&self) -> bool {
        self.svr & SVR_ENABLE != 0
    }

    fn lvt(&self, l: Lvt) -> u32 {
        self.lvt[l as usize]
    }

    fn timer_mode(&self) -> u32 {
        (self.lvt(Lvt::Timer) >> lvt::TIMER_MODE_SHIFT) & 3
    }

    /// Bus clocks per timer tick (the divide configuration register).
    fn divisor(&self) -> u64 {
        let v = (self.divide & 3) | ((self.divide >> 1) & 4);
        1 << ((v + 1) & 7)
    }

    /// The processor priority: the task priority, or the class of the
    /// highest interrupt in service if that is higher.
    fn ppr(&self) -> u8 {
        let isrv = highest(&self.isr).unwrap_or(0);
        if self.tpr >> 4 >= isrv >> 4 {
            self.tpr
        } else {
            isrv & 0xf0
        }
    }

    /// The arbitration priority (SDM Vol. 3A 10.8.3.1, figure 10-15).
    fn apr(&self) -> u8 {
        let isrv = highest(&self.isr).unwrap_or(0);
        let irrv = highest(&self.irr).unwrap_or(0);
        if self.tpr >> 4 >= irrv >> 4 && self.tpr >> 4 > isrv >> 4 {
            self.tpr
        } else {
            (self.tpr & 0xf0).max(isrv & 0xf0).max(irrv & 0xf0)
        }
    }

    /// The highest requested vector the CPU may take now.
    fn fixed_pending(&self) -> Option<u8> {
        if !self.software_enabled() {
            return None;
        }
        let v = highest(&self.irr)?;
        (v >> 4 > self.ppr() >> 4).then_some(v)
    }

    /// LINT0 passes the 8259's requests through (ExtINT, unmasked).
    pub fn accepts_pic(&self) -> bool {
        let l = self.lvt(Lvt::Lint0);
        l & lvt::MASKED == 0 && (l >> lvt::DELIVERY_SHIFT) & 7 == delivery::EXTINT as u32
    }

    fn extint_ready(&self) -> bool {
        self.extint || self.accepts_pic() && self.lint[0]
    }

    /// Whether the CPU's INTR is asserted.
    pub fn interrupt_pending(&self) -> bool {
        self.extint_ready() || self.fixed_pending().is_some()
    }

    /// The CPU's interrupt acknowledge.
    pub fn acknowledge(&mut self) -> Ack {
        if self.extint_ready() {
            self.extint = false;
            return Ack::ExtInt;
        }
        match self.fixed_pending() {
            Some(v) => {
                set_bit(&mut self.irr, v, false);
                set_bit(&mut self.isr, v, true);
                Ack::Vector(v)
            }
            // What asked has gone (the TPR rose): the spurious vector, with
            // nothing put in service.
            None => Ack::Vector(self.svr as u8),
        }
    }

    /// An NMI for the CPU, if one came since the last call.
    pub fn take_nmi(&mut self) -> bool {
        std::mem::take(&mut self.nmi)
    }

    /// The vectors of level-triggered interrupts that ended (EOI) since the
    /// last call, for the I/O APIC.
    pub fn take_eois(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.eois)
    }

    fn error(&mut self, bits: u32) {
        self.esr_pending |= bits;
        let l = self.lvt(Lvt::Error);
        if l & lvt::MASKED == 0 && (l & lvt::VECTOR) >= 16 {
            self.accept(l as u8, false);
        }
    }

    /// A fixed interrupt arrives: into IRR, its trigger mode into TMR.
    fn accept(&mut self, vector: u8, level: bool) {
        if vector < 16 {
            self.error(esr::RECEIVE_ILLEGAL_VECTOR);
            return;
        }
        set_bit(&mut self.irr, vector, true);
        set_bit(&mut self.tmr, vector, level);
    }

    /// Whether a message to `dest` is for this APIC.
    fn addressed(&self, dest: u8, logical: bool) -> bool {
        if dest == 0xff {
            return true;
        }
        if !logical {
            return dest == self.id;
        }
        match self.dfr_model {
            0xf => dest & self.ldr != 0,
            0x0 => dest >> 4 == self.ldr >> 4 && dest & self.ldr & 0x0f != 0,
            _ => false,
        }
    }

    /// An interrupt message from the APIC bus (the I/O APIC's).
    pub fn deliver(&mut self, m: &Message) {
        if !self.hardware_enabled() || !self.addressed(m.dest, m.logical) {
            return;
        }
        self.receive(m.delivery, m.vector, m.level);
    }

    fn receive(&mut self, mode: u8, vector: u8, level: bool) {
        match mode {
            delivery::FIXED | delivery::LOWEST_PRIORITY => self.accept(vector, level),
            delivery::NMI => self.nmi = true,
            delivery::EXTINT => self.extint = true,
            // No SMM; one processor, already running.
            _ => {}
        }
    }

    /// An LVT entry's event: its interrupt, unless masked.
    fn local_interrupt(&mut self, l: Lvt) {
        let e = self.lvt(l);
        if e & lvt::MASKED != 0 {
            return;
        }
        let mode = match l {
            Lvt::Timer | Lvt::Error => delivery::FIXED,
            _ => (e >> lvt::DELIVERY_SHIFT) as u8 & 7,
        };
        let level = matches!(l, Lvt::Lint0 | Lvt::Lint1) && e & lvt::LEVEL != 0;
        match mode {
            // ExtINT on LINT0 follows the pin's level (`extint_ready`).
            delivery::EXTINT => {}
            m => self.receive(m, e as u8, level),
        }
    }

    /// Drives LINT0 (`pin` 0: the 8259's INTR on a PC) or LINT1 (`pin` 1).
    pub fn set_lint(&mut self, pin: usize, high: bool) {
        let Some(&old) = self.lint.get(pin) else { return };
        self.lint[pin] = high;
        if high && !old {
            self.local_interrupt(if pin == 0 { Lvt::Lint0 } else { Lvt::Lint1 });
        }
    }

    /// Brings the timer up to `now`: an expiry due by then interrupts (once,
    /// however many periods went by).
    pub fn advance(&mut self, now: u64) {
        let Some(t) = self.next_fire else { return };
        if t > now {
            return;
        }
        self.local_interrupt(Lvt::Timer);
        let period = self.initial_count as u64 * self.divisor();
        self.next_fire = match self.timer_mode() {
            lvt::PERIODIC if period != 0 => {
                Some(t.saturating_add(((now - t) / period + 1).saturating_mul(period)))
            }
            lvt::TSC_DEADLINE => {
                self.tsc_deadline = 0;
                None
            }
            _ => None,
        };
    }

    /// When the timer will next interrupt, if it can.
    pub fn next_event(&self) -> Option<u64> {
        if self.lvt(Lvt::Timer) & lvt::MASKED != 0 {
            return None;
        }
        self.next_fire
    }

    /// The current count register at `now` (after `advance(now)`).
    fn current_count(&self, now: u64) -> u32 {
        match self.next_fire {
            Some(t) if self.timer_mode() != lvt::TSC_DEADLINE => {
                t.saturating_sub(now).div_ceil(self.divisor()) as u32
            }
            _ => 0,
        }
    }

    /// IA32_TSC_DEADLINE (0 when disarmed, or when the timer is in another mode).
    pub fn tsc_deadline(&self) -> u64 {
        self.tsc_deadline
    }

    /// Writes IA32_TSC_DEADLINE at `now`, when the time-stamp counter reads
    /// `tsc`: the timer interrupts when the counter reaches `value` (at once
    /// if it has); 0 disarms it. Ignored unless the timer is in TSC-deadline
    /// mode.
    pub fn set_tsc_deadline(&mut self, now: u64, tsc: u64, value: u64) {
        self.advance(now);
        if self.timer_mode() != lvt::TSC_DEADLINE {
            return;
        }
        self.tsc_deadline = value;
        self.next_fire = (value != 0).then(|| now.saturating_add(value.saturating_sub(tsc)));
    }

    /// Reads `size` bytes at `offset` in the register window.
    pub fn read(&mut self, now: u64, offset: u32, size: u8) -> u32 {
        self.advance(now);
        let shift = 8 * (offset & 3);
        let v = if offset & 0xc != 0 {
            0
        } else {
            match self.register(now, offset >> 4 & 0xff) {
                Some(v) => v,
                None => {
                    self.error(esr::ILLEGAL_REGISTER);
                    0
                }
            }
        };
        let v = v >> shift;
        if size >= 4 {
            v
        } else {
            v & ((1 << (8 * size)) - 1)
        }
    }

    /// The register at index `r` (offset / 16), if there is one.
    fn register(&self, now: u64, r: u32) -> Option<u32> {
        Some(match r {
            0x02 => (self.id as u32) << 24,
            0x03 => VERSION,
            0x08 => self.tpr as u32,
            0x09 => self.apr() as u32,
            0x0a => self.ppr() as u32,
            // EOI (write-only) and the remote read register.
            0x0b | 0x0c => 0,
            0x0d => (self.ldr as u32) << 24,
            0x0e => (self.dfr_model as u32) << 28 | 0x0fff_ffff,
            0x0f => self.svr,
            0x10..=0x17 => self.isr[r as usize & 7],
            0x18..=0x1f => self.tmr[r as usize & 7],
            0x20..=0x27 => self.irr[r as usize & 7],
            0x28 => self.esr,
            0x30 => self.icr[0],
            0x31 => self.icr[1],
            0x32..=0x37 => self.lvt[r as usize - 0x32],
            0x38 => self.initial_count,
            0x39 => self.current_count(now),
            0x3e => self.divide,
            _ => return None,
        })
    }

    /// Writes `size` bytes at `offset` in the register window (registers
    /// take whole 32-bit writes; narrower ones are dropped).
    pub fn write(&mut self, now: u64, offset: u32, size: u8, value: u32) {
        self.advance(now);
        if size != 4 || offset & 0xf != 0 {
            return;
        }
        match offset >> 4 & 0xff {
            0x02 => self.id = (value >> 24) as u8,
            0x08 => self.tpr = value as u8,
            0x0b => self.eoi(),
            0x0d => self.ldr = (value >> 24) as u8,
            0x0e => self.dfr_model = (value >> 28) as u8,
            0x0f => {
                self.svr = value & 0x3ff;
                if !self.software_enabled() {
                    for l in &mut self.lvt {
                        *l |= lvt::MASKED;
                    }
                }
            }
            0x28 => self.esr = std::mem::take(&mut self.esr_pending),
            0x30 => {
                // Delivery status (bit 12) reads idle: the IPI went at once.
                self.icr[0] = value & 0x000c_cfff;
                self.send_ipi();
            }
            0x31 => self.icr[1] = value & 0xff00_0000,
            r @ 0x32..=0x37 => self.write_lvt(Lvt::ALL[r as usize - 0x32], value),
            0x38 => {
                if self.timer_mode() != lvt::TSC_DEADLINE {
                    self.initial_count = value;
                    self.next_fire = (value != 0).then(|| now.saturating_add(value as u64 * self.divisor()));
                }
            }
            0x3e => {
                let left = self.current_count(now) as u64;
                self.divide = value & 0xb;
                if self.next_fire.is_some() && self.timer_mode() != lvt::TSC_DEADLINE {
                    self.next_fire = Some(now.saturating_add(left * self.divisor()));
                }
            }
            // Read-only registers.
            0x03 | 0x09 | 0x0a | 0x0c | 0x10..=0x27 | 0x39 => {}
            _ => self.error(esr::ILLEGAL_REGISTER),
        }
    }

    fn write_lvt(&mut self, l: Lvt, value: u32) {
        let mut v = value & l.writable();
        if !self.software_enabled() {
            v |= lvt::MASKED;
        }
        let old_mode = self.timer_mode();
        self.lvt[l as usize] = v;
        if l == Lvt::Timer {
            let new_mode = self.timer_mode();
            // Entering or leaving TSC-deadline mode disarms the timer.
            if (old_mode == lvt::TSC_DEADLINE) != (new_mode == lvt::TSC_DEADLINE) {
                self.initial_count = 0;
                self.tsc_deadline = 0;
                self.next_fire = None;
            }
        }
    }

    fn eoi(&mut self) {
        let Some(v) = highest(&self.isr) else { return };
        set_bit(&mut self.isr, v, false);
        if bit(&self.tmr, v) {
            self.eois.push(v);
        }
    }

    /// Sends the IPI the ICR describes.
    fn send_ipi(&mut self) {
        let lo = self.icr[0];
        let mode = (lo >> 8) as u8 & 7;
        let vector = lo as u8;
        let to_self = match (lo >> 18) & 3 {
            0 => self.addressed((self.icr[1] >> 24) as u8, lo & 0x800 != 0),
            1 | 2 => true,
            _ => false,
        };
        match mode {
            delivery::FIXED | delivery::LOWEST_PRIORITY if vector < 16 => {
                self.error(esr::SEND_ILLEGAL_VECTOR)
            }
            delivery::FIXED | delivery::LOWEST_PRIORITY | delivery::NMI if to_self => {
                self.receive(mode, vector, lo & 0x8000 != 0)
            }
            _ => {}
        }
    }
}

impl Snapshot for LocalApic {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        *self = state::decode(bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TPR: u32 = 0x80;
    const PPR: u32 = 0xa0;
    const EOI: u32 = 0xb0;
    const SVR: u32 = 0xf0;
    const ISR: u32 = 0x100;
    const TMR: u32 = 0x180;
    const IRR: u32 = 0x200;
    const ESR: u32 = 0x280;
    const ICR_LO: u32 = 0x300;
    const ICR_HI: u32 = 0x310;
    const LVT_TIMER: u32 = 0x320;
    const LVT_LINT0: u32 = 0x350;
    const LVT_LINT1: u32 = 0x360;
    const LVT_ERROR: u32 = 0x370;
    const INITIAL: u32 = 0x380;
    const CURRENT: u32 = 0x390;
    const DCR: u32 = 0x3e0;

    /// An APIC software-enabled, spurious vector 0xff.
    fn enabled() -> LocalApic {
        let mut a = LocalApic::new();
        a.write(0, SVR, 4, 0x1ff);
        a
    }

    fn fixed(vector: u8, level: bool) -> Message {
        Message { vector, delivery: delivery::FIXED, level, dest: 0, logical: false }
    }

    /// Whether `vector`'s bit is set in the 256-bit register at `base`.
    fn reg_bit(a: &mut LocalApic, base: u32, vector: u8) -> bool {
        a.read(0, base + (vector as u32 / 32) * 0x10, 4) & (1 << (vector % 32)) != 0
    }

    #[test]
    fn power_on_registers() {
        let mut a = LocalApic::new();
        assert_eq!(a.base_msr(), 0xfee0_0900);
        assert_eq!(a.window(), Some(0xfee0_0000));
        assert_eq!(a.read(0, 0x20, 4), 0, "ID 0");
        assert_eq!(a.read(0, 0x30, 4), 0x0005_0014);
        assert_eq!(a.read(0, 0xe0, 4), 0xffff_ffff, "DFR flat");
        assert_eq!(a.read(0, SVR, 4), 0xff);
        for off in (0x320..=0x370).step_by(0x10) {
            assert_eq!(a.read(0, off, 4), 0x0001_0000, "LVT {off:#x} masked");
        }
        assert_eq!(a.read(0, 0x32, 1), 0x05, "a byte of the version register");
        assert!(!a.interrupt_pending());
    }

    #[test]
    fn priority_classes_against_ppr() {
        let mut a = enabled();
        a.deliver(&fixed(0x45, false));
        assert!(a.interrupt_pending());
        a.write(0, TPR, 4, 0x45);
        assert!(!a.interrupt_pending(), "same class as the TPR");
        assert_eq!(a.read(0, PPR, 4), 0x45);
        a.write(0, TPR, 4, 0x3f);
        assert!(a.interrupt_pending(), "class 4 above class 3");
        assert_eq!(a.acknowledge(), Ack::Vector(0x45));
        assert_eq!(a.read(0, PPR, 4), 0x40, "the vector in service sets the PPR's class");
        a.deliver(&fixed(0x4f, false));
        assert!(!a.interrupt_pending(), "the same class waits for the EOI");
        a.deliver(&fixed(0x50, false));
        assert!(a.interrupt_pending(), "a higher class nests");
        assert_eq!(a.acknowledge(), Ack::Vector(0x50));
        assert!(reg_bit(&mut a, ISR, 0x50) && reg_bit(&mut a, ISR, 0x45));
        a.write(0, EOI, 4, 0);
        assert!(!reg_bit(&mut a, ISR, 0x50) && reg_bit(&mut a, ISR, 0x45), "EOI retires the highest");
        a.write(0, EOI, 4, 0);
        assert_eq!(a.acknowledge(), Ack::Vector(0x4f));
        assert!(reg_bit(&mut a, ISR, 0x4f) && !reg_bit(&mut a, IRR, 0x4f));
    }

    #[test]
    fn arbitration_priority() {
        let mut a = enabled();
        a.write(0, TPR, 4, 0x20);
        assert_eq!(a.read(0, 0x90, 4), 0x20);
        a.deliver(&fixed(0x61, false));
        assert_eq!(a.read(0, 0x90, 4), 0x60, "the highest request's class");
    }

    #[test]
    fn spurious_when_the_request_went_away() {
        let mut a = enabled();
        a.write(0, SVR, 4, 0x1cf);
        a.deliver(&fixed(0x30, false));
        assert!(a.interrupt_pending());
        a.write(0, TPR, 4, 0xf0);
        assert_eq!(a.acknowledge(), Ack::Vector(0xcf));
        assert!(reg_bit(&mut a, IRR, 0x30), "the request still waits");
        assert_eq!(a.read(0, ISR + 0x10, 4), 0, "nothing in service");
    }

    #[test]
    fn level_eoi_goes_to_the_io_apic() {
        let mut a = enabled();
        a.deliver(&fixed(0x49, true));
        a.deliver(&fixed(0x38, false));
        assert!(reg_bit(&mut a, TMR, 0x49) && !reg_bit(&mut a, TMR, 0x38));
        assert_eq!(a.acknowledge(), Ack::Vector(0x49));
        a.write(0, EOI, 4, 0);
        assert_eq!(a.take_eois(), vec![0x49]);
        assert_eq!(a.acknowledge(), Ack::Vector(0x38));
        a.write(0, EOI, 4, 0);
        assert!(a.take_eois().is_empty(), "edge-triggered: no broadcast");
    }

    #[test]
    fn software_disabled_holds_requests_and_masks_the_lvt() {
        let mut a = LocalApic::new();
        a.deliver(&fixed(0x40, false));
        assert!(!a.interrupt_pending(), "held while software-disabled");
        a.write(0, LVT_LINT0, 4, 0x700);
        assert_eq!(a.read(0, LVT_LINT0, 4), 0x1_0700, "the mask cannot be cleared");
        a.write(0, SVR, 4, 0x1ff);
        assert!(a.interrupt_pending(), "enabled: the held request goes");
        a.write(0, LVT_LINT0, 4, 0x700);
        assert_eq!(a.read(0, LVT_LINT0, 4), 0x700);
        a.write(0, SVR, 4, 0xff);
        assert_eq!(a.read(0, LVT_LINT0, 4), 0x1_0700, "disabling masks every entry");
    }

    #[test]
    fn virtual_wire_passes_the_8259() {
        let mut a = enabled();
        a.set_lint(0, true);
        assert!(!a.interrupt_pending(), "LINT0 masked");
        a.write(0, LVT_LINT0, 4, 0x700);
        assert!(a.accepts_pic());
        assert!(a.interrupt_pending());
        a.deliver(&fixed(0xe0, false));
        assert_eq!(a.acknowledge(), Ack::ExtInt, "the 8259 goes first");
        a.set_lint(0, false);
        assert_eq!(a.acknowledge(), Ack::Vector(0xe0));
        let mut fw = LocalApic::new();
        fw.set_virtual_wire();
        assert!(fw.accepts_pic());
        assert_eq!(fw.read(0, LVT_LINT1, 4), 0x8400);
    }

    #[test]
    fn extint_and_nmi_messages() {
        let mut a = enabled();
        a.deliver(&Message { vector: 0, delivery: delivery::EXTINT, level: false, dest: 0, logical: false });
        assert_eq!(a.acknowledge(), Ack::ExtInt);
        assert!(!a.interrupt_pending());
        a.deliver(&Message { vector: 0, delivery: delivery::NMI, level: false, dest: 0, logical: false });
        assert!(a.take_nmi());
        assert!(!a.take_nmi(), "taken once");
        a.deliver(&Message {
            vector: 0x40,
            delivery: delivery::FIXED,
            level: false,
            dest: 1,
            logical: false,
        });
        assert!(!a.interrupt_pending(), "for APIC 1");
    }

    #[test]
    fn logical_destinations() {
        let mut a = enabled();
        a.write(0, 0xd0, 4, 0x0400_0000);
        let m = |dest| Message { vector: 0x40, delivery: delivery::FIXED, level: false, dest, logical: true };
        a.deliver(&m(0x03));
        assert!(!a.interrupt_pending(), "flat: no common bit");
        a.deliver(&m(0x05));
        assert!(a.interrupt_pending());
        a.acknowledge();
        a.write(0, EOI, 4, 0);
        a.write(0, 0xe0, 4, 0x0fff_ffff);
        a.write(0, 0xd0, 4, 0x2100_0000);
        a.deliver(&m(0x11));
        assert!(!a.interrupt_pending(), "cluster 1 is not ours");
        a.deliver(&m(0x21));
        assert!(a.interrupt_pending());
    }

    #[test]
    fn lint1_nmi_on_the_rising_edge() {
        let mut a = enabled();
        a.write(0, LVT_LINT1, 4, 0x400);
        a.set_lint(1, true);
        assert!(a.take_nmi());
        a.set_lint(1, true);
        assert!(!a.take_nmi(), "no new edge");
        a.set_lint(1, false);
        a.write(0, LVT_LINT1, 4, 0x1_0400);
        a.set_lint(1, true);
        assert!(!a.take_nmi(), "masked");
    }

    #[test]
    fn self_ipis() {
        let mut a = enabled();
        a.write(0, ICR_LO, 4, 0x4_0000 | 0x61);
        assert!(reg_bit(&mut a, IRR, 0x61), "shorthand self");
        a.write(0, ICR_HI, 4, 0);
        a.write(0, ICR_LO, 4, 0x62);
        assert!(reg_bit(&mut a, IRR, 0x62), "destination: our ID");
        a.write(0, ICR_HI, 4, 0x0100_0000);
        a.write(0, ICR_LO, 4, 0x63);
        assert!(!reg_bit(&mut a, IRR, 0x63), "another APIC");
        a.write(0, ICR_LO, 4, 0xc_0000 | 0x64);
        assert!(!reg_bit(&mut a, IRR, 0x64), "all but self");
        a.write(0, ICR_LO, 4, 0x8_0000 | 0x65);
        assert!(reg_bit(&mut a, IRR, 0x65), "all including self");
        assert_eq!(a.read(0, ICR_LO, 4), 0x8_0065, "delivery status idle");
        a.write(0, ICR_LO, 4, 0x4_0400);
        assert!(a.take_nmi(), "NMI to self");
        let irr: Vec<u32> = (0..8).map(|i| a.read(0, IRR + i * 0x10, 4)).collect();
        a.write(0, ICR_LO, 4, 0x4_0500);
        a.write(0, ICR_LO, 4, 0x4_0608);
        assert!(!a.take_nmi());
        let after: Vec<u32> = (0..8).map(|i| a.read(0, IRR + i * 0x10, 4)).collect();
        assert_eq!(irr, after, "INIT and start-up to self change nothing");
    }

    #[test]
    fn esr_latches_on_write_and_raises_the_error_lvt() {
        let mut a = enabled();
        a.write(0, LVT_ERROR, 4, 0xfe);
        a.write(0, ICR_LO, 4, 0x4_0005);
        assert_eq!(a.read(0, ESR, 4), 0, "not latched yet");
        a.write(0, ESR, 4, 0);
        assert_eq!(a.read(0, ESR, 4), esr::SEND_ILLEGAL_VECTOR);
        assert!(reg_bit(&mut a, IRR, 0xfe), "the error interrupt");
        a.deliver(&fixed(3, false));
        a.read(0, 0x50, 4);
        a.write(0, ESR, 4, 0);
        assert_eq!(a.read(0, ESR, 4), esr::RECEIVE_ILLEGAL_VECTOR | esr::ILLEGAL_REGISTER);
        a.write(0, ESR, 4, 0);
        assert_eq!(a.read(0, ESR, 4), 0, "cleared by the next write");
    }

    #[test]
    fn one_shot_timer_counts_down_in_virtual_time() {
        let mut a = enabled();
        a.write(0, DCR, 4, 0x3);
        a.write(0, LVT_TIMER, 4, 0x40);
        a.write(1000, INITIAL, 4, 100);
        assert_eq!(a.read(1000, CURRENT, 4), 100);
        assert_eq!(a.read(1016, CURRENT, 4), 99, "divide by 16");
        assert_eq!(a.read(1000 + 16 * 10 + 5, CURRENT, 4), 90, "ten whole ticks gone");
        assert_eq!(a.next_event(), Some(1000 + 1600));
        assert!(!a.interrupt_pending());
        a.advance(2599);
        assert!(!a.interrupt_pending());
        a.advance(2600);
        assert_eq!(a.acknowledge(), Ack::Vector(0x40));
        assert_eq!(a.read(2600, CURRENT, 4), 0);
        assert_eq!(a.next_event(), None, "one shot");
        assert_eq!(a.read(0, INITIAL, 4), 100);
    }

    #[test]
    fn periodic_timer_reloads() {
        let mut a = enabled();
        a.write(0, DCR, 4, 0xb);
        a.write(0, LVT_TIMER, 4, 0x2_0041);
        a.write(0, INITIAL, 4, 50);
        assert_eq!(a.next_event(), Some(50));
        a.advance(50);
        assert_eq!(a.acknowledge(), Ack::Vector(0x41));
        a.write(50, EOI, 4, 0);
        assert_eq!(a.next_event(), Some(100));
        assert_eq!(a.read(60, CURRENT, 4), 40);
        // Many periods at once (a long halt): one interrupt, the phase kept.
        a.advance(1025);
        assert!(reg_bit(&mut a, IRR, 0x41));
        assert_eq!(a.next_event(), Some(1050));
        a.write(1025, DCR, 4, 0x0);
        assert_eq!(a.next_event(), Some(1025 + 25 * 2), "the count goes on at the new rate");
    }

    #[test]
    fn masked_timer_counts_without_interrupting() {
        let mut a = enabled();
        a.write(0, LVT_TIMER, 4, 0x1_0040);
        a.write(0, INITIAL, 4, 10);
        assert_eq!(a.next_event(), None);
        assert_eq!(a.read(10, CURRENT, 4), 5);
        a.advance(100);
        assert!(!a.interrupt_pending());
        assert_eq!(a.read(100, CURRENT, 4), 0);
    }

    #[test]
    fn tsc_deadline_mode() {
        let mut a = enabled();
        a.set_tsc_deadline(0, 0, 500);
        assert_eq!(a.tsc_deadline(), 0, "ignored outside deadline mode");
        a.write(0, LVT_TIMER, 4, 0x4_0042);
        a.write(0, INITIAL, 4, 7);
        assert_eq!(a.read(0, INITIAL, 4), 0, "the initial count is not used");
        // TSC = now + 1000.
        a.set_tsc_deadline(100, 1100, 1600);
        assert_eq!(a.tsc_deadline(), 1600);
        assert_eq!(a.next_event(), Some(600));
        assert_eq!(a.read(300, CURRENT, 4), 0);
        a.advance(600);
        assert_eq!(a.tsc_deadline(), 0, "cleared when it fires");
        assert_eq!(a.acknowledge(), Ack::Vector(0x42));
        a.set_tsc_deadline(700, 1700, 5);
        a.advance(700);
        assert!(reg_bit(&mut a, IRR, 0x42), "a deadline passed fires at once");
        a.set_tsc_deadline(700, 1700, 9000);
        a.write(700, LVT_TIMER, 4, 0x40);
        assert_eq!((a.tsc_deadline(), a.next_event()), (0, None), "leaving the mode disarms");
    }

    #[test]
    fn base_msr_moves_and_disables() {
        let mut a = enabled();
        assert!(!a.set_base_msr(0, 0xfee0_0900 | 1 << 10), "x2APIC is not there");
        assert!(!a.set_base_msr(0, 1 << 36 | 0x900));
        assert!(a.set_base_msr(0, 0xfed0_0800));
        assert_eq!(a.base_msr(), 0xfed0_0900, "BSP stays");
        assert_eq!(a.window(), Some(0xfed0_0000));
        a.deliver(&fixed(0x40, false));
        assert!(a.set_base_msr(0, 0xfed0_0000));
        assert!(!a.hardware_enabled());
        assert_eq!(a.window(), None);
        assert!(!a.interrupt_pending());
        a.deliver(&fixed(0x41, false));
        assert!(a.set_base_msr(0, 0xfee0_0800));
        assert_eq!(a.read(0, SVR, 4), 0xff, "back in the power-on state");
        assert!(!reg_bit(&mut a, IRR, 0x40) && !reg_bit(&mut a, IRR, 0x41));
    }

    #[test]
    fn state_round_trips() {
        let mut a = enabled();
        a.write(0, DCR, 4, 0xb);
        a.write(0, LVT_TIMER, 4, 0x2_0041);
        a.write(0, INITIAL, 4, 1000);
        a.deliver(&fixed(0x49, true));
        a.acknowledge();
        let mut b = LocalApic::new();
        b.restore(&a.save()).unwrap();
        assert_eq!(b.read(400, CURRENT, 4), 600);
        assert_eq!(b.next_event(), Some(1000));
        b.write(400, EOI, 4, 0);
        assert_eq!(b.take_eois(), vec![0x49]);
        assert!(b.restore(&[1, 2, 3]).is_err());
    }

    #[test]
    fn bad_accesses_do_not_panic() {
        let mut a = enabled();
        for off in (0..0x1000).step_by(4) {
            for size in [1, 2, 4] {
                a.read(0, off, size);
                a.write(0, off, size, 0xffff_ffff);
            }
        }
        a.advance(u64::MAX);
        a.read(u64::MAX, CURRENT, 4);
    }
}
