//! PCI configuration space (configuration mechanism #1: the address register
//! at 0xcf8, data at 0xcfc-0xcff) with the two functions of a PC's chipset as
//! QEMU's `pc` machine has them: the i440FX host bridge at 00:00.0, whose PAM
//! registers (0x59-0x5f) decide whether 0xc0000-0xfffff reads and writes go to
//! RAM or to the ROM/bus (the machine applies them), and the PIIX3 PCI-to-ISA
//! bridge at 00:01.0, with its PCI interrupt routing registers. Port 0xcf9 is
//! the PIIX3's reset control register.
//!
//! Register values and writable bits follow the 82441FX and 82371SB data
//! sheets; identifiers follow QEMU (subsystem 1af4:1100), which firmware built
//! for QEMU, such as SeaBIOS, looks for.
//!
//! The configuration of every function is state ([`Snapshot`]), with its
//! power-on values, so a restored host needs no functions added beforehand.

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::{PortDevice, Request};

/// What a base address register decodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BarKind {
    /// I/O space (bit 0 of the register reads 1).
    Io,
    /// 32-bit memory space, prefetchable or not.
    Memory { prefetchable: bool },
}

/// A base address register: `size` bytes (a power of two, at least 4 for
/// I/O and 16 for memory), naturally aligned where software puts it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub size: u32,
    pub kind: BarKind,
}

impl Bar {
    /// The register's read-only low bits (type and prefetch).
    fn low_bits(&self) -> u32 {
        match self.kind {
            BarKind::Io => 1,
            BarKind::Memory { prefetchable } => (prefetchable as u32) << 3,
        }
    }
}

/// Command register bits.
pub mod command {
    pub const IO: u16 = 1 << 0;
    pub const MEMORY: u16 = 1 << 1;
    pub const BUS_MASTER: u16 = 1 << 2;
    pub const INTX_DISABLE: u16 = 1 << 10;
}

/// One function's 256-byte configuration space, which bits software may
/// write, and its base address registers. Writing all ones to a BAR and
/// reading it back gives its size (the low address bits stay zero), as
/// firmware sizes it before placing it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConfigSpace {
    /// 256 bytes each.
    config: Vec<u8>,
    writable: Vec<u8>,
    bars: [Option<Bar>; 6],
    /// Size of the expansion ROM (register 0x30), 0 for none.
    #[serde(default)]
    rom_size: u32,
}

impl ConfigSpace {
    /// A function with its identification: vendor and device IDs, revision,
    /// class code (class, subclass, programming interface as 0xCCSSPP) and
    /// header type (bit 7: multi-function device).
    pub fn new(vendor: u16, device: u16, revision: u8, class: u32, header: u8) -> ConfigSpace {
        let mut f =
            ConfigSpace { config: vec![0; 256], writable: vec![0; 256], bars: [None; 6], rom_size: 0 };
        f.set16(0x00, vendor);
        f.set16(0x02, device);
        f.config[0x08] = revision;
        f.config[0x09] = class as u8;
        f.config[0x0a] = (class >> 8) as u8;
        f.config[0x0b] = (class >> 16) as u8;
        f.config[0x0e] = header;
        f
    }

    /// Sets a byte's value (whatever software may write).
    pub fn set8(&mut self, off: usize, v: u8) {
        self.config[off] = v;
    }

    /// Sets a 16-bit register's value.
    pub fn set16(&mut self, off: usize, v: u16) {
        self.config[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// Lets software write the bits `mask` of byte `off`.
    pub fn allow(&mut self, off: usize, mask: u8) {
        self.writable[off] = mask;
    }

    /// Gives the function BAR `n` (0-5), unassigned (address 0).
    pub fn set_bar(&mut self, n: usize, bar: Bar) {
        debug_assert!(bar.size.is_power_of_two());
        self.bars[n] = Some(bar);
        let off = 0x10 + 4 * n;
        self.config[off..off + 4].copy_from_slice(&bar.low_bits().to_le_bytes());
    }

    /// Gives the function an expansion ROM of `size` bytes (a power of two,
    /// at least 2 KiB), unassigned and disabled.
    pub fn set_rom_bar(&mut self, size: u32) {
        debug_assert!(size.is_power_of_two() && size >= 0x800);
        self.rom_size = size;
    }

    /// Where the expansion ROM is decoded now: its address, when it has one,
    /// its enable bit is set and memory space is enabled.
    pub fn rom_address(&self) -> Option<u32> {
        if self.rom_size == 0 {
            return None;
        }
        let reg = self.read(0x30, 4);
        let addr = reg & !(self.rom_size - 1);
        (reg & 1 != 0 && self.command() & command::MEMORY != 0 && addr != 0).then_some(addr)
    }

    /// The expansion ROM's size (0: none).
    pub fn rom_size(&self) -> u32 {
        self.rom_size
    }

    /// Lets software use the command register bits `mask`.
    pub fn enable_command(&mut self, mask: u16) {
        self.writable[0x04] = mask as u8;
        self.writable[0x05] = (mask >> 8) as u8;
    }

    /// Sets the interrupt pin (1 = INTA# .. 4 = INTD#) and makes the
    /// interrupt line register writable.
    pub fn set_interrupt_pin(&mut self, pin: u8) {
        self.config[0x3d] = pin;
        self.writable[0x3c] = 0xff;
    }

    /// Reads `size` bytes at `off` (wrapping within the space).
    pub fn read(&self, off: u8, size: u8) -> u32 {
        (0..size as usize).fold(0, |v, i| v | (self.config[(off as usize + i) & 0xff] as u32) << (8 * i))
    }

    /// Writes `size` bytes at `off`; bits software may not write keep their
    /// value, BARs keep their size's alignment.
    pub fn write(&mut self, off: u8, size: u8, value: u32) {
        for i in 0..size as usize {
            let reg = (off as usize + i) & 0xff;
            let byte = (value >> (8 * i)) as u8;
            if (0x10..0x28).contains(&reg) {
                let n = (reg - 0x10) / 4;
                if let Some(bar) = self.bars[n] {
                    let shift = 8 * ((reg - 0x10) % 4);
                    let mask = (!(bar.size - 1) >> shift) as u8;
                    let fixed = (bar.low_bits() >> shift) as u8;
                    self.config[reg] = (byte & mask) | fixed;
                }
                continue;
            }
            if (0x30..0x34).contains(&reg) && self.rom_size != 0 {
                // Address bits down to the ROM's size, and the enable bit.
                let shift = 8 * (reg - 0x30);
                let mask = ((!(self.rom_size - 1) | 1) >> shift) as u8;
                self.config[reg] = byte & mask;
                continue;
            }
            let mask = self.writable[reg];
            self.config[reg] = (self.config[reg] & !mask) | (byte & mask);
        }
    }

    /// The command register.
    pub fn command(&self) -> u16 {
        self.read(0x04, 2) as u16
    }

    /// Where BAR `n` is decoded now: its address, when it has one and its
    /// space is enabled in the command register.
    pub fn bar_address(&self, n: usize) -> Option<u32> {
        let bar = self.bars.get(n).copied().flatten()?;
        let enabled = match bar.kind {
            BarKind::Io => command::IO,
            BarKind::Memory { .. } => command::MEMORY,
        };
        let addr = self.read(0x10 + 4 * n as u8, 4) & !(bar.size - 1);
        (self.command() & enabled != 0 && addr != 0).then_some(addr)
    }

    /// Whether the function may master the bus (DMA).
    pub fn bus_master(&self) -> bool {
        self.command() & command::BUS_MASTER != 0
    }

    /// The interrupt pin (0: none, 1-4: INTA#-INTD#).
    pub fn interrupt_pin(&self) -> u8 {
        self.config[0x3d]
    }
}

/// The i440FX host bridge's PAM registers.
pub const PAM0: u8 = 0x59;
const PAM_LAST: u8 = 0x5f;

/// PIIX3 function 0's PIRQ route control registers (PIRQA#-PIRQD#).
const PIRQ_ROUTE: usize = 0x60;

/// A bus, device and function number on bus 0.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub device: u8,
    pub function: u8,
}

/// The chipset's configuration space: the address register, the reset
/// control register, and the configuration space of every function on bus 0
/// (the host bridge at 00:00.0 and the ISA bridge at 00:01.0 from the start;
/// the machine adds the others, such as the IDE controller at 00:01.1).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PciHost {
    /// The address register (0xcf8).
    address: u32,
    functions: Vec<Function>,
    /// The reset control register (0xcf9).
    reset_control: u8,
    #[serde(skip)]
    request: Option<Request>,
}

impl Default for PciHost {
    fn default() -> Self {
        Self::new()
    }
}

/// A function on the bus: its registers now and at power-on.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Function {
    slot: Slot,
    space: ConfigSpace,
    power_on: ConfigSpace,
}

impl Function {
    fn new(slot: Slot, space: ConfigSpace) -> Function {
        Function { slot, power_on: space.clone(), space }
    }
}

/// The host bridge's slot.
pub const HOST_BRIDGE: Slot = Slot { device: 0, function: 0 };
/// The PIIX3's PCI-to-ISA bridge.
pub const ISA_BRIDGE: Slot = Slot { device: 1, function: 0 };

impl PciHost {
    pub fn new() -> PciHost {
        // 82441FX (PMC): host bridge.
        let mut host = ConfigSpace::new(0x8086, 0x1237, 0x02, 0x06_00_00, 0x00);
        host.set16(0x04, 0x0006); // memory space, bus master
        host.set16(0x06, 0x0280); // fast back-to-back, medium DEVSEL
        host.set16(0x2c, 0x1af4);
        host.set16(0x2e, 0x1100);
        host.allow(0x04, 0x40); // parity error response
        host.allow(0x0d, 0xf8); // latency timer
        for off in PAM0..=PAM_LAST {
            host.allow(off as usize, if off == PAM0 { 0x30 } else { 0x33 });
        }
        host.allow(0x72, 0x78); // SMRAM control: only the open/close/lock bits
        host.config[0x72] = 0x02;
        // 82371SB (PIIX3) function 0: PCI-to-ISA bridge, multi-function.
        let mut isa = ConfigSpace::new(0x8086, 0x7000, 0x00, 0x06_01_00, 0x80);
        isa.set16(0x04, 0x0007); // I/O, memory, bus master
        isa.set16(0x06, 0x0200);
        isa.set16(0x2c, 0x1af4);
        isa.set16(0x2e, 0x1100);
        for off in PIRQ_ROUTE..PIRQ_ROUTE + 4 {
            isa.config[off] = 0x80; // PIRQ routing disabled
            isa.allow(off, 0x8f);
        }
        isa.config[0x4c] = 0x4d; // ISA recovery timer
        isa.allow(0x4c, 0xff);
        isa.config[0x4e] = 0x03; // X-bus chip select
        isa.allow(0x4e, 0xff);
        isa.config[0x69] = 0x02; // top of memory
        isa.allow(0x69, 0xff);
        isa.config[0x6a] = 0x00;
        isa.allow(0x6a, 0xff);
        PciHost {
            address: 0,
            functions: vec![Function::new(HOST_BRIDGE, host), Function::new(ISA_BRIDGE, isa)],
            reset_control: 0,
            request: None,
        }
    }

    /// Adds (or replaces) the function at `slot`.
    pub fn add_function(&mut self, slot: Slot, space: ConfigSpace) {
        self.functions.retain(|f| f.slot != slot);
        self.functions.push(Function::new(slot, space));
    }

    /// The configuration space of the function at `slot`.
    pub fn function(&self, slot: Slot) -> Option<&ConfigSpace> {
        self.functions.iter().find(|f| f.slot == slot).map(|f| &f.space)
    }

    /// The ISA interrupt PCI interrupt pin `pin` (1 = INTA#) of device `device`
    /// reaches through the PIIX3's PIRQ routing, if routing is enabled for
    /// it. The board's swizzle is QEMU's (and SeaBIOS's and the DSDT's
    /// `_PRT`): PIRQ (device + pin - 2) mod 4, so the PIIX3's own slot 1
    /// starts at PIRQA#.
    pub fn isa_irq(&self, device: u8, pin: u8) -> Option<u8> {
        if pin == 0 {
            return None;
        }
        let pirq = (device as usize + pin as usize + 2) % 4;
        let route = self.function(ISA_BRIDGE)?.config[PIRQ_ROUTE + pirq];
        (route & 0x80 == 0 && route & 0x0f >= 3).then_some(route & 0x0f)
    }

    /// The function the address register selects, if it exists.
    fn selected(&mut self) -> Option<(Slot, &mut ConfigSpace)> {
        if self.address & 0x8000_0000 == 0 || (self.address >> 16) & 0xff != 0 {
            return None;
        }
        let slot =
            Slot { device: ((self.address >> 11) & 0x1f) as u8, function: ((self.address >> 8) & 7) as u8 };
        self.functions.iter_mut().find(|f| f.slot == slot).map(|f| (f.slot, &mut f.space))
    }

    fn config_read(&mut self, offset: u8, size: u8) -> u32 {
        let reg = (self.address & 0xfc) as u8 + offset;
        match self.selected() {
            Some((_, f)) => f.read(reg, size),
            None => crate::ones(size),
        }
    }

    fn config_write(&mut self, offset: u8, size: u8, value: u32) {
        let reg = (self.address & 0xfc) as u8 + offset;
        let Some((slot, f)) = self.selected() else { return };
        let before = f.read(PAM0, 4) as u64 | (f.read(PAM0 + 4, 3) as u64) << 32;
        f.write(reg, size, value);
        let after = f.read(PAM0, 4) as u64 | (f.read(PAM0 + 4, 3) as u64) << 32;
        if slot == HOST_BRIDGE && before != after {
            self.request = Some(Request::Pam(self.pam()));
        }
    }

    /// The PAM registers (0x59-0x5f).
    pub fn pam(&self) -> [u8; 7] {
        let host = self.function(HOST_BRIDGE).expect("the host bridge is always there");
        let mut pam = [0u8; 7];
        pam.copy_from_slice(&host.config[PAM0 as usize..=PAM_LAST as usize]);
        pam
    }
}

impl PortDevice for PciHost {
    fn read(&mut self, port: u16, size: u8) -> u32 {
        match (port, size) {
            (0xcf8, 4) => self.address,
            (0xcf9, 1) => self.reset_control as u32,
            (0xcfc..=0xcff, _) => self.config_read((port - 0xcfc) as u8, size),
            _ => crate::ones(size),
        }
    }

    fn write(&mut self, port: u16, size: u8, value: u32) {
        match (port, size) {
            (0xcf8, 4) => self.address = value & 0x80ff_fffc,
            (0xcf9, 1) => {
                // Bit 2 going up resets the system (bit 1 picks a hard reset).
                if value & 0x04 != 0 && self.reset_control & 0x04 == 0 {
                    self.request = Some(Request::Reset);
                }
                self.reset_control = value as u8 & 0x02;
            }
            (0xcfc..=0xcff, _) => self.config_write((port - 0xcfc) as u8, size, value),
            _ => {}
        }
    }

    fn take_request(&mut self) -> Option<Request> {
        self.request.take()
    }

    fn reset(&mut self) {
        // Every function's registers go back to their power-on values.
        for f in &mut self.functions {
            f.space = f.power_on.clone();
        }
        self.address = 0;
        self.reset_control = 0;
        self.request = None;
    }

    fn access_size(&self) -> u8 {
        4
    }
}

impl ConfigSpace {
    /// Whether saved fields make a space the code above can index: 256
    /// bytes, and BARs of a power-of-two size.
    fn valid(&self) -> bool {
        self.config.len() == 256
            && self.writable.len() == 256
            && self.bars.iter().flatten().all(|bar| bar.size.is_power_of_two())
            && (self.rom_size == 0 || self.rom_size.is_power_of_two() && self.rom_size >= 0x800)
    }
}

impl Snapshot for PciHost {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let host: PciHost = state::decode(bytes)?;
        if let Some(f) = host.functions.iter().find(|f| !f.space.valid() || !f.power_on.valid()) {
            return Err(StateError(format!(
                "PCI function {:02x}.{}: a configuration space that is not 256 bytes with power-of-two BARs",
                f.slot.device, f.slot.function
            )));
        }
        if host.function(HOST_BRIDGE).is_none() {
            return Err(StateError("PCI: no host bridge at 00.0".to_string()));
        }
        *self = host;
        Ok(())
    }
}

/// Where reads and writes of one PAM-controlled segment go: (first byte,
/// length, reads from RAM, writes to RAM), from the PAM registers' values.
pub fn pam_segments(pam: [u8; 7]) -> impl Iterator<Item = (u32, u32, bool, bool)> {
    // PAM0 bits 5:4 control 0xf0000-0xfffff; PAM1-PAM6 two 16 KiB segments
    // each from 0xc0000 up (low nibble first).
    let high = std::iter::once((0xf0000, 0x10000, pam[0] >> 4));
    let low =
        (0..12u32).map(move |i| (0xc0000 + i * 0x4000, 0x4000, pam[1 + (i / 2) as usize] >> (4 * (i % 2))));
    high.chain(low).map(|(base, len, bits)| (base, len, bits & 1 != 0, bits & 2 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_read(p: &mut PciHost, bdf: u32, reg: u32, size: u8) -> u32 {
        p.write(0xcf8, 4, 0x8000_0000 | bdf << 8 | (reg & 0xfc));
        p.read(0xcfc + (reg & 3) as u16, size)
    }

    fn cfg_write(p: &mut PciHost, bdf: u32, reg: u32, size: u8, v: u32) {
        p.write(0xcf8, 4, 0x8000_0000 | bdf << 8 | (reg & 0xfc));
        p.write(0xcfc + (reg & 3) as u16, size, v);
    }

    #[test]
    fn identifies_the_chipset_as_qemu_does() {
        let mut p = PciHost::new();
        assert_eq!(cfg_read(&mut p, 0, 0x00, 4), 0x1237_8086);
        assert_eq!(cfg_read(&mut p, 0, 0x2c, 4), 0x1100_1af4);
        assert_eq!(cfg_read(&mut p, 0, 0x0a, 2), 0x0600);
        assert_eq!(cfg_read(&mut p, 1 << 3, 0x00, 4), 0x7000_8086);
        assert_eq!(cfg_read(&mut p, 1 << 3, 0x0e, 1), 0x80);
        assert_eq!(cfg_read(&mut p, 2 << 3, 0x00, 2), 0xffff, "no device 2");
        assert_eq!(cfg_read(&mut p, 1 << 3 | 1, 0x00, 2), 0xffff, "no function 1 yet");
        p.write(0xcf8, 4, 0x8000_0000);
        assert_eq!(p.read(0xcf8, 4), 0x8000_0000, "the address register reads back");
    }

    #[test]
    fn read_only_registers_stay_and_pam_writes_ask_the_machine() {
        let mut p = PciHost::new();
        cfg_write(&mut p, 0, 0x00, 4, 0);
        assert_eq!(cfg_read(&mut p, 0, 0x00, 2), 0x8086);
        assert_eq!(p.take_request(), None);
        cfg_write(&mut p, 0, 0x59, 1, 0x30);
        assert_eq!(p.take_request(), Some(Request::Pam([0x30, 0, 0, 0, 0, 0, 0])));
        cfg_write(&mut p, 0, 0x5a, 4, 0x3333_3333);
        assert_eq!(p.take_request(), Some(Request::Pam([0x30, 0x33, 0x33, 0x33, 0x33, 0, 0])));
        cfg_write(&mut p, 0, 0x59, 1, 0xff);
        assert_eq!(cfg_read(&mut p, 0, 0x59, 1), 0x30, "only bits 5:4 of PAM0");
    }

    #[test]
    fn pam_segments_decode() {
        let segs: Vec<_> = pam_segments([0x10, 0x32, 0, 0, 0, 0, 0x30]).collect();
        assert_eq!(segs[0], (0xf0000, 0x10000, true, false));
        assert_eq!(segs[1], (0xc0000, 0x4000, false, true));
        assert_eq!(segs[2], (0xc4000, 0x4000, true, true));
        assert_eq!(segs[12], (0xec000, 0x4000, true, true));
        assert_eq!(segs.len(), 13);
    }

    #[test]
    fn reset_control_register() {
        let mut p = PciHost::new();
        p.write(0xcf9, 1, 0x02);
        assert_eq!(p.take_request(), None);
        p.write(0xcf9, 1, 0x06);
        assert_eq!(p.take_request(), Some(Request::Reset));
        assert_eq!(p.read(0xcf9, 1), 0x02);
    }

    #[test]
    fn bars_are_sized_moved_and_enabled() {
        let mut p = PciHost::new();
        let mut ide = ConfigSpace::new(0x8086, 0x7010, 0, 0x01_01_80, 0);
        ide.enable_command(command::IO | command::BUS_MASTER);
        ide.set_bar(4, Bar { size: 16, kind: BarKind::Io });
        let slot = Slot { device: 1, function: 1 };
        p.add_function(slot, ide);
        let bdf = 1 << 3 | 1;
        assert_eq!(cfg_read(&mut p, bdf, 0x00, 4), 0x7010_8086);
        cfg_write(&mut p, bdf, 0x20, 4, 0xffff_ffff);
        assert_eq!(cfg_read(&mut p, bdf, 0x20, 4), 0xffff_fff1, "16 bytes of I/O");
        cfg_write(&mut p, bdf, 0x20, 4, 0xc001);
        assert_eq!(p.function(slot).unwrap().bar_address(4), None, "I/O decoding still off");
        cfg_write(&mut p, bdf, 0x04, 2, 0x0005);
        assert_eq!(p.function(slot).unwrap().bar_address(4), Some(0xc000));
        assert!(p.function(slot).unwrap().bus_master());
        cfg_write(&mut p, bdf, 0x10, 4, 0xffff_ffff);
        assert_eq!(cfg_read(&mut p, bdf, 0x10, 4), 0, "BAR 0 is not implemented");
        p.reset();
        assert_eq!(p.function(slot).unwrap().bar_address(4), None, "reset unassigns");
        assert_eq!(cfg_read(&mut p, bdf, 0x00, 2), 0x8086, "the function stays");
    }

    #[test]
    fn pirq_routing_swizzles_by_device() {
        let mut p = PciHost::new();
        assert_eq!(p.isa_irq(3, 1), None, "routing disabled at power-on");
        cfg_write(&mut p, 1 << 3, 0x60, 4, 0x0b0b_0a05);
        assert_eq!(p.isa_irq(1, 1), Some(5), "device 1 INTA# is PIRQA#");
        assert_eq!(p.isa_irq(0, 1), Some(11), "device 0 INTA# is PIRQD#");
        assert_eq!(p.isa_irq(3, 1), Some(11), "device 3 INTA# is PIRQC#");
        assert_eq!(p.isa_irq(3, 2), Some(11), "device 3 INTB# is PIRQD#");
        assert_eq!(p.isa_irq(3, 3), Some(5), "device 3 INTC# wraps to PIRQA#");
        assert_eq!(p.isa_irq(2, 1), Some(10), "device 2 INTA# is PIRQB#");
        assert_eq!(p.isa_irq(3, 0), None);
    }

    /// What a guest and the machine see of `p`: the address and reset
    /// control registers, every function's configuration space, the PAM
    /// registers, BARs and PIRQ routes; then the same after a reset.
    fn observe(p: &mut PciHost) -> Vec<u32> {
        let mut seen = Vec::new();
        for _ in 0..2 {
            seen.push(p.read(0xcf8, 4));
            seen.push(p.read(0xcf9, 1));
            seen.push(p.read(0xcfd, 1));
            for bdf in [0, 1 << 3, 1 << 3 | 1, 2 << 3] {
                seen.extend((0..64).map(|dw| cfg_read(p, bdf, dw * 4, 4)));
            }
            seen.extend(p.pam().map(u32::from));
            let slot = Slot { device: 1, function: 1 };
            seen.push(p.function(slot).and_then(|f| f.bar_address(4)).unwrap_or(0));
            seen.extend((0..4).map(|d| p.isa_irq(d, 1).map_or(0xff, u32::from)));
            p.reset();
        }
        seen
    }

    #[test]
    fn state_round_trips() {
        let mut p = PciHost::new();
        let mut ide = ConfigSpace::new(0x8086, 0x7010, 0, 0x01_01_80, 0);
        ide.enable_command(command::IO | command::BUS_MASTER);
        ide.set_bar(4, Bar { size: 16, kind: BarKind::Io });
        p.add_function(Slot { device: 1, function: 1 }, ide);
        // Shadow RAM, a placed and enabled BAR, PIRQ routes, the reset
        // control register, and the address register left selecting a byte.
        cfg_write(&mut p, 0, 0x59, 1, 0x30);
        cfg_write(&mut p, 0, 0x5a, 2, 0x3311);
        assert!(matches!(p.take_request(), Some(Request::Pam(_))));
        cfg_write(&mut p, 1 << 3 | 1, 0x20, 4, 0xc001);
        cfg_write(&mut p, 1 << 3 | 1, 0x04, 2, 0x0005);
        cfg_write(&mut p, 1 << 3, 0x60, 4, 0x0b0a_800b);
        p.write(0xcf9, 1, 0x02);
        p.write(0xcf8, 4, 0x8000_0860);
        let saved = p.save();

        let mut copy = PciHost::new();
        copy.restore(&saved).unwrap();
        assert_eq!(copy.take_request(), None);
        let seen = observe(&mut p);
        assert_eq!(observe(&mut copy), seen);
        assert_ne!(observe(&mut PciHost::new()), seen, "the state observed is not the power-on one");
    }

    #[test]
    fn broken_state_is_refused() {
        let mut p = PciHost::new();
        let mut bad = p.clone();
        bad.functions[0].space.config.truncate(16);
        assert!(p.restore(&bad.save()).is_err());
        let mut bad = p.clone();
        bad.functions.remove(0);
        assert!(p.restore(&bad.save()).is_err());
        assert_eq!(cfg_read(&mut p, 0, 0x00, 4), 0x1237_8086, "a refused state changes nothing");
    }
}
