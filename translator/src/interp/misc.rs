//! Miscellaneous instructions: XADD, CMPXCHG, CMPXCHG8B, CPUID, RDTSC, RDMSR,
//! WRMSR.
//!
//! CPUID answers from the CPU model ([`crate::cpuid`]); RDTSC, RDMSR/WRMSR
//! and CMPXCHG8B are #UD on a model without TSC, MSR or CX8. The local
//! APIC's MSRs are the bus's (its APIC keeps them), and CPUID's APIC flag
//! follows the APIC's global enable, as on a real processor. IA32_EFER
//! exists only on a model with execute-disable (its one bit, NXE):
//! elsewhere it is #GP(0), as on a Pentium 4 without it.

use iced_x86::Instruction;

use crate::cpu::Cpu;
use crate::cpuid::{ext_feature, feature};
use crate::exception::{Exception, Fault};
use crate::flags::op;
use crate::interp::{mask, Loc};
use crate::state::{cr4, efer, fl, misc_enable, msr, reg};

impl Cpu {
    pub(super) fn xadd(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let a = self.read_loc_rmw(dst, size)?;
        let src = ins.op1_register();
        let b = self.get_reg(src) & mask(size);
        let r = a.wrapping_add(b) & mask(size);
        if let Loc::Mem(..) = dst {
            self.write_loc(dst, size, r)?;
            self.set_reg(src, a);
        } else {
            self.set_reg(src, a);
            self.write_loc(dst, size, r)?;
        }
        self.state.flags.set_lazy(op::ADD | op::size_code(size * 8), r, a, b);
        Ok(())
    }

    pub(super) fn cmpxchg(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let old = self.read_loc_rmw(dst, size)?;
        let acc = self.state.regs[reg::EAX] & mask(size);
        let src = self.get_reg(ins.op1_register());
        if acc == old {
            self.write_loc(dst, size, src & mask(size))?;
        } else {
            // The destination is written back unchanged (a locked cycle always writes).
            if let Loc::Mem(..) = dst {
                self.write_loc(dst, size, old)?;
            }
            self.set_acc(size, old);
        }
        self.set_compare_flags(acc, old, size);
        Ok(())
    }

    pub(super) fn cmpxchg8b(&mut self, ins: &Instruction) -> Fault {
        self.require(feature::CX8)?;
        let (seg, off) = self.ea(ins);
        let linear = self.check_seg(seg, off, 8, true)?;
        if linear & 7 != 0 {
            self.check_alignment()?;
        }
        let lo = self.read_rmw(seg, off, 4)?;
        let hi = self.read_rmw(seg, off.wrapping_add(4), 4)?;
        let s = &self.state;
        let equal = lo == s.regs[reg::EAX] && hi == s.regs[reg::EDX];
        let (new_lo, new_hi) = if equal { (s.regs[reg::EBX], s.regs[reg::ECX]) } else { (lo, hi) };
        self.write(seg, off, 4, new_lo)?;
        self.write(seg, off.wrapping_add(4), 4, new_hi)?;
        if !equal {
            self.state.regs[reg::EAX] = lo;
            self.state.regs[reg::EDX] = hi;
        }
        self.state.flags.set_flag(fl::ZF, equal);
        Ok(())
    }

    pub(super) fn cpuid(&mut self) -> Fault {
        let mut model = self.config.model;
        if model.has(feature::APIC) && !self.apic_enabled() {
            model.edx &= !feature::APIC;
        }
        if self.state.msr.misc_enable & misc_enable::XD_DISABLE != 0 {
            model.ext_edx &= !ext_feature::NX;
        }
        let [a, b, c, d] = model.leaf(self.state.regs[reg::EAX]);
        let r = &mut self.state.regs;
        r[reg::EAX] = a;
        r[reg::EBX] = b;
        r[reg::ECX] = c;
        r[reg::EDX] = d;
        Ok(())
    }

    pub(super) fn rdtsc(&mut self) -> Fault {
        self.require(feature::TSC)?;
        let s = &self.state;
        if s.cr4 & cr4::TSD != 0 && s.protected_mode() && (s.cpl != 0 || s.v86_mode()) {
            return Err(Exception::gp(0));
        }
        let tsc = self.tsc();
        self.state.regs[reg::EAX] = tsc as u32;
        self.state.regs[reg::EDX] = (tsc >> 32) as u32;
        Ok(())
    }

    pub(super) fn rdmsr(&mut self) -> Fault {
        self.require(feature::MSR)?;
        self.require_cpl0()?;
        let now = self.now();
        let s = &self.state;
        let index = s.regs[reg::ECX];
        let value: u64 = match index {
            msr::TSC => self.tsc(),
            msr::APIC_BASE | msr::TSC_DEADLINE if self.apic_msr(index) => {
                self.bus.read_msr(now, index).ok_or(Exception::gp(0))?
            }
            msr::SYSENTER_CS => s.msr.sysenter_cs as u64,
            msr::SYSENTER_ESP => s.msr.sysenter_esp as u64,
            msr::SYSENTER_EIP => s.msr.sysenter_eip as u64,
            msr::EFER if self.config.model.has_ext(ext_feature::NX) => s.msr.efer,
            msr::BIOS_SIGN_ID if self.config.model.family >= 6 => msr::MICROCODE_REVISION,
            msr::MISC_ENABLE if self.config.model.family >= 6 => s.msr.misc_enable,
            _ => return Err(Exception::gp(0)),
        };
        self.state.regs[reg::EAX] = value as u32;
        self.state.regs[reg::EDX] = (value >> 32) as u32;
        Ok(())
    }

    pub(super) fn wrmsr(&mut self) -> Fault {
        self.require(feature::MSR)?;
        self.require_cpl0()?;
        let (now, tsc) = (self.now(), self.tsc());
        let index = self.state.regs[reg::ECX];
        if matches!(index, msr::APIC_BASE | msr::TSC_DEADLINE) && self.apic_msr(index) {
            let s = &self.state;
            let value = (s.regs[reg::EDX] as u64) << 32 | s.regs[reg::EAX] as u64;
            if !self.bus.write_msr(now, tsc, index, value) {
                return Err(Exception::gp(0));
            }
            // The APIC may move its window or its timer.
            self.device_touched();
            self.take_bus_requests();
            return Ok(());
        }
        let s = &mut self.state;
        let value = (s.regs[reg::EDX] as u64) << 32 | s.regs[reg::EAX] as u64;
        match index {
            msr::TSC => s.tsc_offset = value.wrapping_sub(now),
            msr::SYSENTER_CS => s.msr.sysenter_cs = value as u32 & 0xffff,
            msr::SYSENTER_ESP => s.msr.sysenter_esp = value as u32,
            msr::SYSENTER_EIP => s.msr.sysenter_eip = value as u32,
            msr::EFER if self.config.model.has_ext(ext_feature::NX) => {
                if value & !efer::NXE != 0 {
                    return Err(Exception::gp(0));
                }
                if (value ^ s.msr.efer) & efer::NXE != 0 {
                    // Cached translations hold execute permissions NXE decided.
                    self.mem.tlb.flush_all();
                }
                self.state.msr.efer = value;
            }
            // Writing starts a microcode revision read; there is none to load.
            msr::BIOS_SIGN_ID if self.config.model.family >= 6 => {}
            msr::MISC_ENABLE if self.config.model.family >= 6 => {
                let ro = misc_enable::READ_ONLY;
                s.msr.misc_enable = value & !ro | s.msr.misc_enable & ro;
            }
            _ => return Err(Exception::gp(0)),
        }
        Ok(())
    }

    /// Whether the model has the local APIC MSR `index` (IA32_TSC_DEADLINE
    /// only with the TSC-deadline timer).
    fn apic_msr(&self, index: u32) -> bool {
        let m = &self.config.model;
        m.has(feature::APIC) && (index != msr::TSC_DEADLINE || m.tsc_deadline())
    }

    /// Whether the local APIC is there and globally enabled.
    fn apic_enabled(&mut self) -> bool {
        let now = self.now();
        self.bus.read_msr(now, msr::APIC_BASE).is_some_and(|v| v & 1 << 11 != 0)
    }
}
