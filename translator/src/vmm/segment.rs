//! Segment-register loads (SDM Vol. 2 "MOV", "POP", "LDS/LES/LFS/LGS/LSS";
//! Vol. 3A 5.5-5.6).
//!
//! Real mode: the base becomes selector * 16 and nothing else changes, which is
//! what makes "unreal mode" work. Virtual-8086 mode: the same base, a 64 KiB
//! read/write segment at DPL 3. Protected mode: the descriptor is read from the
//! GDT or LDT and checked (type, privilege, presence), with #GP(selector),
//! #NP(selector) or #SS(selector) as the SDM lists; a task switch loads with
//! the same checks but reports #TS instead of #GP.

use iced_x86::{Instruction, Mnemonic};

use crate::cpu::Cpu;
use crate::exception::{vector, Exception, Fault};
use crate::interp::mask;
use crate::state::{attr, Seg, Segment, Selector};
use crate::vmm::descriptor::Descriptor;

impl Cpu {
    /// MOV Sreg, POP Sreg, LxS: a load whose SS form holds interrupts and debug
    /// traps off for one instruction.
    pub(crate) fn load_segment_insn(&mut self, seg: Seg, sel: u16) -> Fault {
        self.load_segment(seg, Selector(sel))?;
        if seg == Seg::SS {
            self.state.inhibit_interrupts = true;
            self.ss_loaded = true;
        }
        Ok(())
    }

    /// Loads a data segment register or SS in the current mode.
    pub(crate) fn load_segment(&mut self, seg: Seg, sel: Selector) -> Fault {
        let s = &self.state;
        if !s.protected_mode() {
            let cache = &mut self.state.segs[seg as usize];
            cache.selector = sel.0;
            cache.base = (sel.0 as u32) << 4;
            cache.attr = (cache.attr & !attr::UNUSABLE) | attr::PRESENT;
            return Ok(());
        }
        if s.v86_mode() {
            self.state.segs[seg as usize] = Segment::real(sel.0, seg == Seg::CS, 3);
            return Ok(());
        }
        let cpl = self.state.cpl;
        self.load_protected(seg, sel, cpl, vector::GP)
    }

    /// Protected-mode load of a data segment register or SS with the checks of the
    /// SDM; `gp` is the vector for a bad selector (#GP, or #TS in a task switch).
    pub(crate) fn load_protected(&mut self, seg: Seg, sel: Selector, cpl: u8, gp: u8) -> Fault {
        let bad = |e: u32| Exception::new(gp, Some(e));
        if sel.is_null() {
            if seg == Seg::SS {
                return Err(bad(0));
            }
            // A null selector loads; using the register then faults.
            self.state.segs[seg as usize] =
                Segment { selector: sel.0, base: 0, limit: 0, attr: attr::UNUSABLE };
            return Ok(());
        }
        if seg == Seg::SS && sel.rpl() != cpl {
            return Err(bad(sel.error_code()));
        }
        let desc = self.read_descriptor(sel)?.ok_or(bad(sel.error_code()))?;
        if seg == Seg::SS {
            if !desc.writable_data() || desc.dpl() != cpl {
                return Err(bad(sel.error_code()));
            }
            if !desc.present() {
                return Err(Exception::ss(sel.error_code()));
            }
        } else {
            if !desc.readable() {
                return Err(bad(sel.error_code()));
            }
            if !desc.conforming() && (sel.rpl() > desc.dpl() || cpl > desc.dpl()) {
                return Err(bad(sel.error_code()));
            }
            if !desc.present() {
                return Err(Exception::np(sel.error_code()));
            }
        }
        self.set_accessed(sel, &desc)?;
        self.state.segs[seg as usize] = Descriptor { hi: desc.hi | 1 << 8, ..desc }.to_segment(sel);
        Ok(())
    }

    /// LDS, LES, LFS, LGS, LSS: a far pointer from memory into Sreg:reg.
    pub(crate) fn load_far_pointer(&mut self, ins: &Instruction) -> Fault {
        let seg = match ins.mnemonic() {
            Mnemonic::Lds => Seg::DS,
            Mnemonic::Les => Seg::ES,
            Mnemonic::Lfs => Seg::FS,
            Mnemonic::Lgs => Seg::GS,
            _ => Seg::SS,
        };
        let size = Self::op_size(ins, 0);
        let (mseg, off) = self.ea(ins);
        let offset = self.read(mseg, off, size)?;
        let sel = self.read(mseg, off.wrapping_add(size), 2)? as u16;
        // Unlike MOV SS and POP SS, LSS loads SS:ESP at once and opens no
        // interrupt shadow (SDM Vol. 3A 6.8.3).
        self.load_segment(seg, Selector(sel))?;
        self.set_reg(ins.op0_register(), offset & mask(size));
        Ok(())
    }

    /// After a return or IRET to an outer ring: data segment registers the new
    /// CPL may not use are nulled (SDM "RET", "IRET").
    pub(crate) fn null_inaccessible_segments(&mut self) {
        let cpl = self.state.cpl;
        for seg in [Seg::ES, Seg::DS, Seg::FS, Seg::GS] {
            let s = &mut self.state.segs[seg as usize];
            if s.unusable() {
                s.selector = 0; // a null selector with RPL bits becomes plain 0
                continue;
            }
            let conforming_code = s.attr & (attr::CODE | attr::EXPAND_DOWN_CONFORMING)
                == attr::CODE | attr::EXPAND_DOWN_CONFORMING;
            if !conforming_code && s.dpl() < cpl {
                *s = Segment { selector: 0, base: 0, limit: 0, attr: attr::UNUSABLE };
            }
        }
    }
}
