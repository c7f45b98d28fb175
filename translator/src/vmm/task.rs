//! Hardware task switches (SDM Vol. 3A chapter 7): JMP or CALL to a TSS
//! descriptor or a task gate, an interrupt or exception through a task gate, and
//! IRET with EFLAGS.NT back to the previous task. Both 32-bit (386) and 16-bit
//! (286) TSS formats are supported.
//!
//! Everything that can fault before the switch (the new TSS descriptor, reading
//! the new TSS, writing the old one) is done first; the busy bits, the back link,
//! TR, CR0.TS, CR3 and the registers then change; the segment registers of the
//! new task are loaded last, and their faults (#TS, #NP, #SS) are taken in the
//! new task's context, as on hardware.

use crate::cpu::Cpu;
use crate::exception::{vector, Exception, Fault};
use crate::state::{attr, cr0, fl, Seg, Segment, Selector};
use crate::vmm::descriptor::{sys, Descriptor};

/// What starts a task switch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskSwitch {
    Jmp,
    /// CALL; `ret` is the EIP saved for the old task.
    Call {
        ret: u32,
    },
    Iret,
    /// An interrupt or exception through a task gate: the error code (pushed on
    /// the new task's stack), the EXT bit, the EIP saved for the old task, and
    /// whether it is a fault (the EFLAGS saved then has RF set, SDM 17.3.1.1).
    Interrupt {
        error: Option<u32>,
        ext: u32,
        ret: u32,
        fault: bool,
    },
}

/// The registers a TSS holds, in a format-neutral form.
#[derive(Copy, Clone, Debug, Default)]
struct TaskState {
    cr3: u32,
    eip: u32,
    eflags: u32,
    regs: [u32; 8],
    segs: [u16; 6],
    ldt: u16,
    /// 32-bit TSS with the T (debug trap) bit set.
    trap: bool,
}

impl Cpu {
    fn read_task_state(&mut self, base: u32, is32: bool) -> Fault<TaskState> {
        let mut t = TaskState::default();
        if is32 {
            t.cr3 = self.read_sys(base.wrapping_add(0x1c), 4)?;
            t.eip = self.read_sys(base.wrapping_add(0x20), 4)?;
            t.eflags = self.read_sys(base.wrapping_add(0x24), 4)?;
            for i in 0..8 {
                t.regs[i] = self.read_sys(base.wrapping_add(0x28 + 4 * i as u32), 4)?;
            }
            for i in 0..6 {
                t.segs[i] = self.read_sys(base.wrapping_add(0x48 + 4 * i as u32), 2)? as u16;
            }
            t.ldt = self.read_sys(base.wrapping_add(0x60), 2)? as u16;
            t.trap = self.read_sys(base.wrapping_add(0x64), 2)? & 1 != 0;
        } else {
            t.eip = self.read_sys(base.wrapping_add(0x0e), 2)?;
            t.eflags = self.read_sys(base.wrapping_add(0x10), 2)?;
            for i in 0..8 {
                // A 286 TSS holds the low words; the high ones read as all
                // ones (the SDM leaves them unspecified; Bochs and QEMU).
                let v = self.read_sys(base.wrapping_add(0x12 + 2 * i as u32), 2)?;
                t.regs[i] = 0xffff_0000 | v;
            }
            for i in 0..4 {
                // ES CS SS DS; a 286 TSS has no FS and GS.
                t.segs[i] = self.read_sys(base.wrapping_add(0x22 + 2 * i as u32), 2)? as u16;
            }
            t.ldt = self.read_sys(base.wrapping_add(0x2a), 2)? as u16;
        }
        Ok(t)
    }

    fn write_task_state(&mut self, base: u32, is32: bool, t: &TaskState) -> Fault {
        if is32 {
            self.write_sys(base.wrapping_add(0x20), 4, t.eip)?;
            self.write_sys(base.wrapping_add(0x24), 4, t.eflags)?;
            for i in 0..8 {
                self.write_sys(base.wrapping_add(0x28 + 4 * i as u32), 4, t.regs[i])?;
            }
            for i in 0..6 {
                self.write_sys(base.wrapping_add(0x48 + 4 * i as u32), 2, t.segs[i] as u32)?;
            }
        } else {
            self.write_sys(base.wrapping_add(0x0e), 2, t.eip)?;
            self.write_sys(base.wrapping_add(0x10), 2, t.eflags)?;
            for i in 0..8 {
                self.write_sys(base.wrapping_add(0x12 + 2 * i as u32), 2, t.regs[i])?;
            }
            for i in 0..4 {
                self.write_sys(base.wrapping_add(0x22 + 2 * i as u32), 2, t.segs[i] as u32)?;
            }
        }
        Ok(())
    }

    /// Switches to the task whose TSS descriptor `sel` names.
    pub(crate) fn task_switch(&mut self, sel: Selector, kind: TaskSwitch) -> Fault {
        let ext = match kind {
            TaskSwitch::Interrupt { ext, .. } => ext,
            _ => 0,
        };
        let iret = kind == TaskSwitch::Iret;
        // IRET reports a bad back link as #TS, the others as #GP.
        let bad = |e: u32| if iret { Exception::ts(e) } else { Exception::gp(e) };
        let err = sel.error_code() + ext;
        if sel.is_ldt() {
            return Err(bad(err));
        }
        let desc = self.read_descriptor(sel)?.ok_or(bad(err))?;
        let ty = desc.ty();
        let ok_type = if iret {
            matches!(ty, sys::TSS16_BUSY | sys::TSS32_BUSY)
        } else {
            matches!(ty, sys::TSS16_AVAIL | sys::TSS32_AVAIL)
        };
        if desc.is_segment() || !ok_type {
            return Err(bad(err));
        }
        if !desc.present() {
            return Err(Exception::np(err));
        }
        let new_is32 = desc.gate_is_32();
        if desc.limit() < if new_is32 { 0x67 } else { 0x2b } {
            return Err(Exception::ts(err));
        }
        let old_tr = self.state.tr;
        let old_is32 = matches!(old_tr.attr & attr::TYPE_MASK, sys::TSS32_AVAIL | sys::TSS32_BUSY);

        // Read the new task's state before anything changes.
        let new_base = desc.base();
        let mut new = self.read_task_state(new_base, new_is32)?;

        // Save the old task.
        let s = &self.state;
        let mut old_flags = s.flags.get();
        if iret {
            old_flags &= !fl::NT;
        }
        if let TaskSwitch::Interrupt { fault: true, .. } = kind {
            old_flags |= fl::RF;
        }
        let old = TaskState {
            eip: match kind {
                TaskSwitch::Call { ret } | TaskSwitch::Interrupt { ret, .. } => ret,
                _ => self.next_eip,
            },
            eflags: old_flags,
            regs: s.regs,
            segs: [0, 1, 2, 3, 4, 5].map(|i| s.segs[i].selector),
            ..TaskState::default()
        };
        self.write_task_state(old_tr.base, old_is32, &old)?;

        // Busy bits and the back link.
        let old_sel = Selector(old_tr.selector);
        if matches!(kind, TaskSwitch::Jmp | TaskSwitch::Iret) {
            let old_type = (old_tr.attr & 0xff) & !0x2;
            self.write_descriptor_type(old_sel, old_type)?;
        }
        if matches!(kind, TaskSwitch::Call { .. } | TaskSwitch::Interrupt { .. }) {
            self.write_sys(new_base, 2, old_tr.selector as u32)?;
            new.eflags |= fl::NT;
        }
        let busy_hi = desc.hi | 0x200;
        if !iret {
            self.write_descriptor_type(sel, (busy_hi >> 8) & 0xff)?;
        }
        self.state.tr = Descriptor { hi: busy_hi, ..desc }.to_segment(sel);
        self.state.cr0 |= cr0::TS;
        // Local breakpoint enables (L0-L3, LE) belong to the old task (SDM Vol. 3B 17.2.4).
        self.state.dr[7] &= !0x155;
        self.update_breakpoints();

        // The new task's registers; from here on faults belong to it.
        if new_is32 && self.state.cr0 & cr0::PG != 0 && new.cr3 != self.state.cr3 {
            self.state.cr3 = new.cr3;
            self.mem.tlb.flush_non_global();
        } else if new_is32 {
            self.state.cr3 = new.cr3;
        }
        // Under PAE paging the new CR3 brings its PDPTEs; bad ones are a
        // #GP(0) once the new task's state is loaded (as Bochs raises it),
        // the old PDPTEs staying.
        let mut bad_pdptes = false;
        if new_is32 && super::system::pae_paging(self.state.cr0, self.state.cr4) {
            match self.load_pdptes(new.cr3) {
                Ok(p) => self.state.pdptes = p,
                Err(_) => bad_pdptes = true,
            }
        }
        self.state.regs = new.regs;
        self.state.eip = new.eip;
        self.state.flags.set((new.eflags & (fl::IMPLEMENTED | fl::VM)) | fl::FIXED1);
        let v86 = new.eflags & fl::VM != 0 && new_is32;
        if !v86 {
            self.state.flags.bits &= !fl::VM;
        }
        self.state.cpl = if v86 { 3 } else { (new.segs[Seg::CS as usize] & 3) as u8 };
        // Selectors first, with unusable caches, so a fault leaves them visible.
        for seg in Seg::ALL {
            self.state.segs[seg as usize] =
                Segment { selector: new.segs[seg as usize], base: 0, limit: 0, attr: attr::UNUSABLE };
        }
        self.load_task_ldt(Selector(new.ldt), ext)?;
        if v86 {
            for seg in Seg::ALL {
                self.state.segs[seg as usize] = Segment::real(new.segs[seg as usize], seg == Seg::CS, 3);
            }
        } else {
            self.load_task_segments(&new, ext)?;
        }
        if self.state.eip > self.state.seg(Seg::CS).limit {
            return Err(Exception::gp(ext));
        }
        if bad_pdptes {
            return Err(Exception::gp(0));
        }
        if let TaskSwitch::Interrupt { error: Some(e), .. } = kind {
            let size = if new_is32 { 4 } else { 2 };
            self.push(e, size)?;
        }
        if new.trap {
            // The T bit asks for a debug trap before the new task's first instruction.
            self.state.dr[6] |= crate::state::dr::DR6_BT;
            self.pending_debug_trap = true;
        }
        Ok(())
    }

    fn load_task_ldt(&mut self, sel: Selector, ext: u32) -> Fault {
        if sel.is_null() {
            self.state.ldtr = Segment { selector: sel.0, base: 0, limit: 0, attr: attr::UNUSABLE };
            return Ok(());
        }
        let err = Exception::ts(sel.error_code() + ext);
        if sel.is_ldt() {
            return Err(err);
        }
        let desc = self.read_descriptor(sel)?.ok_or(err)?;
        if desc.is_segment() || desc.ty() != sys::LDT {
            return Err(err);
        }
        // A missing LDT is a bad TSS, not a missing segment (SDM Vol. 3A table 7-1).
        if !desc.present() {
            return Err(err);
        }
        self.state.ldtr = desc.to_segment(sel);
        Ok(())
    }

    fn load_task_segments(&mut self, new: &TaskState, ext: u32) -> Fault {
        let cpl = self.state.cpl;
        // CS
        let sel = Selector(new.segs[Seg::CS as usize]);
        let err = Exception::ts(sel.error_code() + ext);
        if sel.is_null() {
            return Err(err);
        }
        let desc = self.read_descriptor(sel)?.ok_or(err)?;
        if !desc.is_code()
            || (desc.conforming() && desc.dpl() > cpl)
            || (!desc.conforming() && desc.dpl() != cpl)
        {
            return Err(err);
        }
        if !desc.present() {
            return Err(Exception::np(sel.error_code() + ext));
        }
        self.set_accessed(sel, &desc)?;
        self.state.segs[Seg::CS as usize] = Descriptor { hi: desc.hi | 1 << 8, ..desc }.to_segment(sel);
        // SS, then the data segments, with #TS where a load would #GP.
        for seg in [Seg::SS, Seg::ES, Seg::DS, Seg::FS, Seg::GS] {
            let sel = Selector(new.segs[seg as usize]);
            self.load_protected(seg, sel, cpl, vector::TS).map_err(|mut e| {
                if let Some(code) = e.error.as_mut() {
                    *code |= ext;
                }
                e
            })?;
        }
        Ok(())
    }
}
