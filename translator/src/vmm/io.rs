//! Port I/O: IN and OUT (and the checks INS/OUTS share). In protected mode, when
//! CPL > IOPL or in virtual-8086 mode, every port of the access must be allowed
//! by the I/O permission bitmap of the current 32-bit TSS (SDM Vol. 1 19.5);
//! anything else, including a bitmap that runs past the TSS limit, is #GP(0).

use iced_x86::{Instruction, Mnemonic, OpKind};

use crate::bus::BusRequest;
use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::interp::mask;
use crate::state::{attr, reg};
use crate::vmm::descriptor::sys;
use vemu_softmmu::{PhysAddr, Shadow};

impl Cpu {
    /// #GP(0) unless the current privilege may access `size` ports from `port`.
    pub(crate) fn check_io(&mut self, port: u16, size: u32) -> Fault {
        let s = &self.state;
        if !s.protected_mode() || (!s.v86_mode() && s.cpl <= s.iopl()) {
            return Ok(());
        }
        let tr = s.tr;
        if !matches!(tr.attr & attr::TYPE_MASK, sys::TSS32_AVAIL | sys::TSS32_BUSY) || tr.limit < 0x67 {
            return Err(Exception::gp(0));
        }
        let map = self.read_sys(tr.base.wrapping_add(0x66), 2)?;
        let byte = map + port as u32 / 8;
        // Two bytes are read, so both must lie within the limit.
        if byte + 1 > tr.limit {
            return Err(Exception::gp(0));
        }
        let bits = self.read_sys(tr.base.wrapping_add(byte), 2)?;
        let want = ((1u32 << size) - 1) << (port & 7);
        if bits & want != 0 {
            return Err(Exception::gp(0));
        }
        Ok(())
    }

    /// Reads a port through the bus.
    pub(crate) fn port_in(&mut self, port: u16, size: u32) -> u32 {
        let now = self.now();
        // A read may move a device's next event too (the UART's receiver):
        // the block ends after it, unless the port is quiet.
        if !self.bus.port_is_quiet(port, size as u8, false) {
            self.device_touched();
        }
        self.bus.port_in(now, port, size as u8, &mut self.mem) & mask(size)
    }

    /// Writes a port through the bus and acts on what the device asks for.
    pub(crate) fn port_out(&mut self, port: u16, size: u32, value: u32) {
        let now = self.now();
        // The device may be set to interrupt at another time now, or the
        // memory map change (A20): the block ends after it, unless the port
        // is quiet.
        if !self.bus.port_is_quiet(port, size as u8, true) {
            self.device_touched();
        }
        self.bus.port_out(now, port, size as u8, value & mask(size), &mut self.mem);
        self.take_bus_requests();
    }

    /// Acts on what the devices asked for in the last access.
    pub(crate) fn take_bus_requests(&mut self) {
        while let Some(req) = self.bus.take_request() {
            match req {
                BusRequest::SetA20(on) => self.mem.set_a20(on),
                BusRequest::Shadow { base, len, read_ram, write_ram } => {
                    self.mem.set_shadow(PhysAddr(base), len, Shadow { read_ram, write_ram })
                }
                BusRequest::MapMmio { id, base, len } => {
                    // The device gave a window that fits below 4 GiB (BARs
                    // are aligned to their size); one that does not stays
                    // out of the map.
                    if self.mem.map_mmio(id, base, len).is_err() {
                        let _ = self.mem.map_mmio(id, 0, 0);
                    }
                }
                other => self.request = Some(other),
            }
        }
    }

    pub(crate) fn in_out(&mut self, ins: &Instruction) -> Fault {
        let is_in = ins.mnemonic() == Mnemonic::In;
        let (port_op, data_op) = if is_in { (1, 0) } else { (0, 1) };
        let port = match ins.op_kind(port_op) {
            OpKind::Immediate8 => ins.immediate8() as u16,
            _ => self.state.regs[reg::EDX] as u16,
        };
        let size = Self::op_size(ins, data_op);
        self.check_io(port, size)?;
        if is_in {
            let v = self.port_in(port, size);
            self.set_acc(size, v);
        } else {
            let v = self.state.regs[reg::EAX] & mask(size);
            self.port_out(port, size, v);
        }
        Ok(())
    }
}
