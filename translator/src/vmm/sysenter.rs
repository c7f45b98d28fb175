//! SYSENTER and SYSEXIT (SDM Vol. 2): fast transitions between ring 3 and ring 0
//! with flat segments derived from IA32_SYSENTER_CS (selectors computed in 16
//! bits: a value near 0xFFFF wraps, as on the processor).

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::state::{attr, fl, reg, Seg, Segment};

fn flat(selector: u16, code: bool, dpl: u32) -> Segment {
    let ty = if code { attr::CODE | attr::WRITABLE_READABLE } else { attr::WRITABLE_READABLE };
    Segment {
        selector,
        base: 0,
        limit: 0xffff_ffff,
        attr: ty | attr::ACCESSED | attr::S | attr::PRESENT | dpl << attr::DPL_SHIFT | attr::DB | attr::G,
    }
}

impl Cpu {
    pub(crate) fn sysenter(&mut self) -> Fault {
        self.require(crate::cpuid::feature::SEP)?;
        let cs = self.state.msr.sysenter_cs as u16;
        if !self.state.protected_mode() || cs & 0xfffc == 0 {
            return Err(Exception::gp(0));
        }
        let s = &mut self.state;
        s.flags.bits &= !(fl::VM | fl::IF | fl::RF);
        s.segs[Seg::CS as usize] = flat(cs & 0xfffc, true, 0);
        s.segs[Seg::SS as usize] = flat((cs & 0xfffc).wrapping_add(8), false, 0);
        s.cpl = 0;
        s.regs[reg::ESP] = s.msr.sysenter_esp;
        self.next_eip = s.msr.sysenter_eip;
        Ok(())
    }

    pub(crate) fn sysexit(&mut self) -> Fault {
        self.require(crate::cpuid::feature::SEP)?;
        let cs = self.state.msr.sysenter_cs as u16;
        let s = &self.state;
        if !s.protected_mode() || s.v86_mode() || s.cpl != 0 || cs & 0xfffc == 0 {
            return Err(Exception::gp(0));
        }
        let s = &mut self.state;
        s.segs[Seg::CS as usize] = flat(cs.wrapping_add(16) | 3, true, 3);
        s.segs[Seg::SS as usize] = flat(cs.wrapping_add(24) | 3, false, 3);
        s.cpl = 3;
        s.regs[reg::ESP] = s.regs[reg::ECX];
        self.next_eip = s.regs[reg::EDX];
        Ok(())
    }
}
