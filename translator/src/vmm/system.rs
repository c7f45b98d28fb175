//! System instructions: MOV to and from control and debug registers, LGDT LIDT
//! SGDT SIDT, LLDT LTR SLDT STR, LMSW SMSW, CLTS, INVLPG, INVD WBINVD, HLT,
//! CLI STI, and the descriptor probes LAR LSL VERR VERW ARPL.
//!
//! Privileged ones are checked against the virtual CPL (#GP(0) at CPL > 0 and in
//! virtual-8086 mode). Changes to paging controls flush the software TLB as
//! DESIGN.md invariant 4 lists, and under PAE paging load the four PDPTEs
//! (SDM Vol. 3A 4.4.1): a MOV to CR3, and a MOV to CR0 or CR4 that changes
//! CR0.PG, CD or NW or CR4.PAE, PGE or PSE and leaves PAE paging on, reads
//! them from the table CR3 points at; a present one with a reserved bit set
//! makes the instruction raise #GP(0) and change nothing.

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use crate::cpu::Cpu;
use crate::exception::{vector, Exception, Fault};
use crate::interp::{mask, Loc};
use crate::state::{cr0, cr4, dr, fl, Selector};
use crate::vmm::descriptor::{sys, Descriptor};

impl Cpu {
    /// MOV CRn/DRn, r32.
    pub(crate) fn mov_to_control(&mut self, ins: &Instruction) -> Fault {
        let r = ins.op0_register();
        let value = self.get_reg(ins.op1_register());
        if r.is_dr() {
            self.check_debug_access(r)?;
            let n = dr_index(r, self.state.cr4);
            self.state.dr[n] = match n {
                6 => (value & 0xe00f) | dr::DR6_FIXED1,
                7 => (value & 0xffff_23ff) | dr::DR7_FIXED1,
                _ => value,
            };
            self.update_breakpoints();
            return Ok(());
        }
        self.require_cpl0()?;
        match r {
            Register::CR0 => self.write_cr0(value),
            Register::CR2 => {
                self.state.cr2 = value;
                Ok(())
            }
            Register::CR3 => {
                // The whole value stays (bits the walkers ignore read back as
                // written, as in QEMU and Bochs): PAE takes bits 31:5.
                if pae_paging(self.state.cr0, self.state.cr4) {
                    self.state.pdptes = self.load_pdptes(value)?;
                }
                self.state.cr3 = value;
                if self.state.cr4 & cr4::PGE != 0 {
                    self.mem.tlb.flush_non_global();
                } else {
                    self.mem.tlb.flush_all();
                }
                Ok(())
            }
            Register::CR4 => {
                if value & !self.cr4_allowed() != 0 {
                    return Err(Exception::gp(0));
                }
                if (value ^ self.state.cr4) & (cr4::PSE | cr4::PGE | cr4::PAE) != 0 {
                    if pae_paging(self.state.cr0, value) {
                        self.state.pdptes = self.load_pdptes(self.state.cr3)?;
                    }
                    self.mem.tlb.flush_all();
                }
                self.state.cr4 = value;
                Ok(())
            }
            _ => Err(Exception::ud()),
        }
    }

    /// The CR4 bits this CPU model has: each comes with its feature (VME is
    /// not implemented; TSD with TSC, DE, PSE, PAE, PGE, OSFXSR with FXSR,
    /// OSXMMEXCPT with SSE).
    pub(crate) fn cr4_allowed(&self) -> u32 {
        use crate::cpuid::feature as f;
        [
            (f::TSC, cr4::TSD),
            (f::DE, cr4::DE),
            (f::PSE, cr4::PSE),
            (f::PAE, cr4::PAE),
            (f::PGE, cr4::PGE),
            (f::FXSR, cr4::OSFXSR),
            (f::SSE, cr4::OSXMMEXCPT),
        ]
        .iter()
        .filter(|(feature, _)| self.config.model.has(*feature))
        .fold(0, |bits, (_, bit)| bits | bit)
    }

    /// Loads CR0 (MOV CR0 and LMSW), with its consistency checks.
    pub(crate) fn write_cr0(&mut self, value: u32) -> Fault {
        let new = (value & cr0::WRITABLE) | cr0::ET;
        if (new & cr0::PG != 0 && new & cr0::PE == 0) || (new & cr0::NW != 0 && new & cr0::CD == 0) {
            return Err(Exception::gp(0));
        }
        let old = self.state.cr0;
        if (old ^ new) & (cr0::PG | cr0::CD | cr0::NW) != 0 && pae_paging(new, self.state.cr4) {
            self.state.pdptes = self.load_pdptes(self.state.cr3)?;
        }
        if (old ^ new) & (cr0::PG | cr0::WP | cr0::PE) != 0 {
            self.mem.tlb.flush_all();
        }
        if new & cr0::PE == 0 {
            self.state.cpl = 0;
        }
        self.state.cr0 = new;
        Ok(())
    }

    /// The PDPTEs of the table at `cr3` for PAE paging; #GP(0) if a present
    /// one has a reserved bit set.
    pub(crate) fn load_pdptes(&self, cr3: u32) -> Fault<[u64; 4]> {
        vemu_softmmu::load_pdptes(&self.mem, cr3).ok_or_else(|| Exception::gp(0))
    }

    /// MOV r32, CRn/DRn.
    pub(crate) fn mov_from_control(&mut self, ins: &Instruction) -> Fault {
        let r = ins.op1_register();
        let value = if r.is_dr() {
            self.check_debug_access(r)?;
            self.state.dr[dr_index(r, self.state.cr4)]
        } else {
            self.require_cpl0()?;
            match r {
                Register::CR0 => self.state.cr0,
                Register::CR2 => self.state.cr2,
                Register::CR3 => self.state.cr3,
                Register::CR4 => self.state.cr4,
                _ => return Err(Exception::ud()),
            }
        };
        self.set_reg(ins.op0_register(), value);
        Ok(())
    }

    /// Checks for MOV to or from a debug register: privilege, CR4.DE, DR7.GD.
    fn check_debug_access(&mut self, r: Register) -> Fault {
        if !(Register::DR0 as u32..=Register::DR7 as u32).contains(&(r as u32)) {
            return Err(Exception::ud());
        }
        self.require_cpl0()?;
        if self.state.cr4 & cr4::DE != 0 && matches!(r, Register::DR4 | Register::DR5) {
            return Err(Exception::ud());
        }
        if self.state.dr[7] & dr::DR7_GD != 0 {
            // General detect: a debug fault before the access, GD cleared for the handler.
            self.state.dr[7] &= !dr::DR7_GD;
            self.state.dr[6] |= dr::DR6_BD;
            return Err(Exception::new(vector::DB, None));
        }
        Ok(())
    }

    pub(crate) fn lgdt_lidt(&mut self, ins: &Instruction) -> Fault {
        self.require_cpl0()?;
        let (seg, off) = self.ea(ins);
        let limit = self.read(seg, off, 2)? as u16;
        let mut base = self.read(seg, off.wrapping_add(2), 4)?;
        if Self::code_osize(ins) == 2 {
            base &= 0x00ff_ffff;
        }
        let reg = if ins.mnemonic() == Mnemonic::Lgdt { &mut self.state.gdtr } else { &mut self.state.idtr };
        reg.base = base;
        reg.limit = limit;
        Ok(())
    }

    pub(crate) fn sgdt_sidt(&mut self, ins: &Instruction) -> Fault {
        // The current SDM stores the full 32-bit base whatever the operand size.
        let t = if ins.mnemonic() == Mnemonic::Sgdt { self.state.gdtr } else { self.state.idtr };
        let base = t.base;
        let (seg, off) = self.ea(ins);
        // Both parts must be writable before either is written.
        self.check_seg(seg, off, 6, true)?;
        self.write(seg, off, 2, t.limit as u32)?;
        self.write(seg, off.wrapping_add(2), 4, base)
    }

    pub(crate) fn lldt_ltr(&mut self, ins: &Instruction) -> Fault {
        self.require_protected()?;
        self.require_cpl0()?;
        let sel = Selector(self.read_op(ins, 0)? as u16);
        let ltr = ins.mnemonic() == Mnemonic::Ltr;
        if sel.is_null() {
            if ltr {
                return Err(Exception::gp(0));
            }
            self.state.ldtr = crate::state::Segment {
                selector: sel.0,
                base: 0,
                limit: 0,
                attr: crate::state::attr::UNUSABLE,
            };
            return Ok(());
        }
        let err = Exception::gp(sel.error_code());
        if sel.is_ldt() {
            return Err(err);
        }
        let desc = self.read_descriptor(sel)?.ok_or(err)?;
        let ok = !desc.is_segment()
            && if ltr {
                matches!(desc.ty(), sys::TSS16_AVAIL | sys::TSS32_AVAIL)
            } else {
                desc.ty() == sys::LDT
            };
        if !ok {
            return Err(err);
        }
        if !desc.present() {
            return Err(Exception::np(sel.error_code()));
        }
        if ltr {
            let busy = Descriptor { hi: desc.hi | 0x200, ..desc };
            self.write_descriptor_type(sel, (busy.hi >> 8) & 0xff)?;
            self.state.tr = busy.to_segment(sel);
        } else {
            self.state.ldtr = desc.to_segment(sel);
        }
        Ok(())
    }

    /// SLDT, STR: the selector, zero-extended into a 32-bit register.
    pub(crate) fn sldt_str(&mut self, ins: &Instruction) -> Fault {
        self.require_protected()?;
        let sel =
            if ins.mnemonic() == Mnemonic::Sldt { self.state.ldtr.selector } else { self.state.tr.selector };
        self.store_word_or_reg(ins, sel as u32)
    }

    /// Stores a 16-bit system value: 2 bytes to memory, zero-extended to a register.
    fn store_word_or_reg(&mut self, ins: &Instruction, v: u32) -> Fault {
        match self.loc(ins, 0) {
            Loc::Reg(r) => {
                self.set_reg(r, v);
                Ok(())
            }
            Loc::Mem(s, o) => self.write(s, o, 2, v & 0xffff),
        }
    }

    pub(crate) fn lmsw(&mut self, ins: &Instruction) -> Fault {
        self.require_cpl0()?;
        let v = self.read_op(ins, 0)? & 0xf;
        let old = self.state.cr0;
        // LMSW sets PE but cannot clear it.
        let new = (old & !0xe) | (v & 0xe) | ((old | v) & cr0::PE);
        self.write_cr0(new)
    }

    pub(crate) fn smsw(&mut self, ins: &Instruction) -> Fault {
        let cr0 = self.state.cr0;
        match self.loc(ins, 0) {
            Loc::Reg(r) => {
                self.set_reg(r, cr0);
                Ok(())
            }
            Loc::Mem(s, o) => self.write(s, o, 2, cr0 & 0xffff),
        }
    }

    pub(crate) fn clts(&mut self) -> Fault {
        self.require_cpl0()?;
        self.state.cr0 &= !cr0::TS;
        Ok(())
    }

    pub(crate) fn invlpg(&mut self, ins: &Instruction) -> Fault {
        self.require_cpl0()?;
        let (seg, off) = self.ea(ins);
        let linear = self.state.seg(seg).base.wrapping_add(off);
        self.mem.tlb.flush_page(linear);
        Ok(())
    }

    pub(crate) fn invd(&mut self) -> Fault {
        self.require_cpl0()
    }

    pub(crate) fn hlt(&mut self) -> Fault {
        self.require_cpl0()?;
        self.state.halted = true;
        Ok(())
    }

    pub(crate) fn cli_sti(&mut self, ins: &Instruction) -> Fault {
        let s = &self.state;
        let allowed = if !s.protected_mode() {
            true
        } else if s.v86_mode() {
            s.iopl() == 3
        } else {
            s.cpl <= s.iopl()
        };
        if !allowed {
            return Err(Exception::gp(0));
        }
        if ins.mnemonic() == Mnemonic::Sti {
            if self.state.flags.bits & fl::IF == 0 {
                self.state.inhibit_interrupts = true;
            }
            self.state.flags.bits |= fl::IF;
        } else {
            self.state.flags.bits &= !fl::IF;
        }
        Ok(())
    }

    /// The descriptor LAR/LSL/VERR/VERW look at, if it exists and the current
    /// privilege may see it.
    fn probe_descriptor(&mut self, sel: Selector) -> Fault<Option<Descriptor>> {
        if sel.is_null() {
            return Ok(None);
        }
        let Some(desc) = self.read_descriptor(sel)? else {
            return Ok(None);
        };
        let cpl = self.state.cpl;
        if !desc.conforming() && (desc.dpl() < cpl || desc.dpl() < sel.rpl()) {
            return Ok(None);
        }
        Ok(Some(desc))
    }

    pub(crate) fn lar_lsl(&mut self, ins: &Instruction) -> Fault {
        self.require_protected()?;
        let sel = Selector(self.read_op(ins, 1)? as u16);
        let lar = ins.mnemonic() == Mnemonic::Lar;
        let desc = self.probe_descriptor(sel)?.filter(|d| {
            d.is_segment()
                || match d.ty() {
                    sys::TSS16_AVAIL | sys::LDT | sys::TSS16_BUSY | sys::TSS32_AVAIL | sys::TSS32_BUSY => {
                        true
                    }
                    sys::CALL_GATE16 | sys::TASK_GATE | sys::CALL_GATE32 => lar,
                    _ => false,
                }
        });
        let Some(desc) = desc else {
            self.state.flags.set_flag(fl::ZF, false);
            return Ok(());
        };
        let size = Self::op_size(ins, 0);
        // LAR's bits 19:16 (limit bits) are undefined; vemu clears them as QEMU does.
        let v = if lar { desc.hi & 0x00f0_ff00 } else { desc.limit() };
        self.set_reg(ins.op0_register(), v & mask(size));
        self.state.flags.set_flag(fl::ZF, true);
        Ok(())
    }

    pub(crate) fn verr_verw(&mut self, ins: &Instruction) -> Fault {
        self.require_protected()?;
        let sel = Selector(self.read_op(ins, 0)? as u16);
        let ok = match self.probe_descriptor(sel)? {
            Some(d) if ins.mnemonic() == Mnemonic::Verr => d.readable(),
            Some(d) => d.writable_data(),
            None => false,
        };
        self.state.flags.set_flag(fl::ZF, ok);
        Ok(())
    }

    pub(crate) fn arpl(&mut self, ins: &Instruction) -> Fault {
        self.require_protected()?;
        let dst = self.loc(ins, 0);
        let d = self.read_loc_rmw(dst, 2)?;
        let src = if ins.op1_kind() == OpKind::Register { self.get_reg(ins.op1_register()) } else { 0 };
        if d & 3 < src & 3 {
            self.write_loc(dst, 2, (d & !3) | (src & 3))?;
            self.state.flags.set_flag(fl::ZF, true);
        } else {
            self.state.flags.set_flag(fl::ZF, false);
        }
        Ok(())
    }
}

/// Index into `CpuState::dr` for a debug register: DR4 and DR5 alias DR6 and DR7.
fn dr_index(r: Register, _cr4: u32) -> usize {
    match r as u32 - Register::DR0 as u32 {
        4 => 6,
        5 => 7,
        n => n as usize,
    }
}

/// Whether these CR0 and CR4 values make PAE paging (CR0.PG can only be set
/// with CR0.PE).
pub(crate) fn pae_paging(cr0: u32, cr4: u32) -> bool {
    cr0 & cr0::PG != 0 && cr4 & cr4::PAE != 0
}
