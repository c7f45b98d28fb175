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

use crate::{PortDevice, Request};

/// One function's 256-byte configuration space and which bits software may
/// write.
#[derive(Clone, Debug)]
struct Function {
    config: [u8; 256],
    writable: [u8; 256],
}

impl Function {
    fn new(vendor: u16, device: u16, revision: u8, class: u32, header: u8) -> Function {
        let mut f = Function { config: [0; 256], writable: [0; 256] };
        f.set16(0x00, vendor);
        f.set16(0x02, device);
        f.config[0x08] = revision;
        f.config[0x09] = class as u8;
        f.config[0x0a] = (class >> 8) as u8;
        f.config[0x0b] = (class >> 16) as u8;
        f.config[0x0e] = header;
        f
    }

    fn set16(&mut self, off: usize, v: u16) {
        self.config[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn allow(&mut self, off: usize, mask: u8) {
        self.writable[off] = mask;
    }
}

/// The i440FX host bridge's PAM registers.
pub const PAM0: u8 = 0x59;
const PAM_LAST: u8 = 0x5f;

/// The chipset's configuration space.
#[derive(Clone, Debug)]
pub struct PciHost {
    /// The address register (0xcf8).
    address: u32,
    /// 00:00.0 and 00:01.0.
    functions: [Function; 2],
    /// The reset control register (0xcf9).
    reset_control: u8,
    request: Option<Request>,
}

impl Default for PciHost {
    fn default() -> Self {
        Self::new()
    }
}

impl PciHost {
    pub fn new() -> PciHost {
        // 82441FX (PMC): host bridge.
        let mut host = Function::new(0x8086, 0x1237, 0x02, 0x06_00_00, 0x00);
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
        let mut isa = Function::new(0x8086, 0x7000, 0x00, 0x06_01_00, 0x80);
        isa.set16(0x04, 0x0007); // I/O, memory, bus master
        isa.set16(0x06, 0x0200);
        isa.set16(0x2c, 0x1af4);
        isa.set16(0x2e, 0x1100);
        for off in 0x60..=0x63 {
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
        PciHost { address: 0, functions: [host, isa], reset_control: 0, request: None }
    }

    /// The function the address register selects, if it exists.
    fn selected(&mut self) -> Option<&mut Function> {
        if self.address & 0x8000_0000 == 0 {
            return None;
        }
        let bus = (self.address >> 16) & 0xff;
        let device = (self.address >> 11) & 0x1f;
        let function = (self.address >> 8) & 7;
        match (bus, device, function) {
            (0, 0, 0) => Some(&mut self.functions[0]),
            (0, 1, 0) => Some(&mut self.functions[1]),
            _ => None,
        }
    }

    fn config_read(&mut self, offset: u8, size: u8) -> u32 {
        let reg = (self.address & 0xfc) as usize + offset as usize;
        match self.selected() {
            Some(f) => (0..size as usize).fold(0, |v, i| v | (f.config[(reg + i) & 0xff] as u32) << (8 * i)),
            None => crate::ones(size),
        }
    }

    fn config_write(&mut self, offset: u8, size: u8, value: u32) {
        let reg = (self.address & 0xfc) as usize + offset as usize;
        let is_host = self.address & 0x00ff_ff00 == 0;
        let Some(f) = self.selected() else { return };
        let mut pam_changed = false;
        for i in 0..size as usize {
            let off = (reg + i) & 0xff;
            let mask = f.writable[off];
            let old = f.config[off];
            let new = (old & !mask) | ((value >> (8 * i)) as u8 & mask);
            f.config[off] = new;
            pam_changed |= is_host && (PAM0 as usize..=PAM_LAST as usize).contains(&off) && new != old;
        }
        if pam_changed {
            let mut pam = [0u8; 7];
            pam.copy_from_slice(&self.functions[0].config[PAM0 as usize..=PAM_LAST as usize]);
            self.request = Some(Request::Pam(pam));
        }
    }

    /// The PAM registers (0x59-0x5f).
    pub fn pam(&self) -> [u8; 7] {
        let mut pam = [0u8; 7];
        pam.copy_from_slice(&self.functions[0].config[PAM0 as usize..=PAM_LAST as usize]);
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
        *self = PciHost::new();
    }

    fn access_size(&self) -> u8 {
        4
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
}
