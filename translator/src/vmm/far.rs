//! Far transfers: JMP and CALL to another code segment, directly or through a
//! call gate (with the stack switch and parameter copy of an inward call), or to
//! a task; RETF, also to an outer ring; and IRET to the same ring, to an outer
//! ring, to virtual-8086 mode, or back to the previous task (NT). SDM Vol. 2
//! "JMP", "CALL", "RET", "IRET/IRETD" and Vol. 3A 5.8.

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::interp::mask;
use crate::state::{attr, fl, reg, Seg, Segment, Selector};
use crate::vmm::descriptor::{sys, Descriptor};
use crate::vmm::task::TaskSwitch;

impl Cpu {
    /// Real mode and virtual-8086 mode: a far transfer reloads CS's selector and
    /// base. In real mode the limit stays (as for data segments) and the D bit is
    /// cleared, as QEMU does (the SDM does not say).
    pub(crate) fn load_cs_real(&mut self, sel: u16) {
        if self.state.v86_mode() {
            self.state.segs[Seg::CS as usize] = Segment::real(sel, true, 3);
        } else {
            let cs = self.state.seg_mut(Seg::CS);
            cs.selector = sel;
            cs.base = (sel as u32) << 4;
            cs.attr &= !attr::DB;
        }
    }

    /// Loads CS from a checked code descriptor, with RPL = the new CPL.
    fn load_cs(&mut self, sel: Selector, desc: &Descriptor, cpl: u8) -> Fault {
        self.set_accessed(sel, desc)?;
        let sel = Selector(sel.0 & !3 | cpl as u16);
        self.state.segs[Seg::CS as usize] = Descriptor { hi: desc.hi | 1 << 8, ..*desc }.to_segment(sel);
        self.state.cpl = cpl;
        Ok(())
    }

    /// Reads the descriptor of a far target, #GP(0) for null, #GP(sel) outside the table.
    fn far_descriptor(&mut self, sel: Selector) -> Fault<Descriptor> {
        if sel.is_null() {
            return Err(Exception::gp(0));
        }
        self.read_descriptor(sel)?.ok_or(Exception::gp(sel.error_code()))
    }

    /// Checks a code segment reached directly (not through a gate) by JMP or CALL.
    fn check_direct_code(&self, sel: Selector, desc: &Descriptor) -> Fault {
        let cpl = self.state.cpl;
        let err = Exception::gp(sel.error_code());
        if desc.conforming() {
            if desc.dpl() > cpl {
                return Err(err);
            }
        } else if sel.rpl() > cpl || desc.dpl() != cpl {
            return Err(err);
        }
        if !desc.present() {
            return Err(Exception::np(sel.error_code()));
        }
        Ok(())
    }

    /// Checks the code segment a call gate points to.
    fn check_gate_target(&mut self, gate: &Descriptor) -> Fault<(Selector, Descriptor)> {
        let sel = gate.gate_selector();
        let desc = self.far_descriptor(sel)?;
        if !desc.is_code() || desc.dpl() > self.state.cpl {
            return Err(Exception::gp(sel.error_code()));
        }
        if !desc.present() {
            return Err(Exception::np(sel.error_code()));
        }
        Ok((sel, desc))
    }

    /// Checks a call gate reached by JMP or CALL through `sel`.
    fn check_call_gate(&self, sel: Selector, gate: &Descriptor) -> Fault {
        if gate.dpl() < self.state.cpl || gate.dpl() < sel.rpl() {
            return Err(Exception::gp(sel.error_code()));
        }
        if !gate.present() {
            return Err(Exception::np(sel.error_code()));
        }
        Ok(())
    }

    pub(crate) fn far_jmp(&mut self, sel: u16, offset: u32, size: u32) -> Fault {
        let offset = offset & mask(size);
        if !self.state.protected_mode() || self.state.v86_mode() {
            if offset > self.state.seg(Seg::CS).limit {
                return Err(Exception::gp(0));
            }
            self.load_cs_real(sel);
            self.next_eip = offset;
            return Ok(());
        }
        let sel = Selector(sel);
        let desc = self.far_descriptor(sel)?;
        if desc.is_code() {
            self.check_direct_code(sel, &desc)?;
            if offset > desc.limit() {
                return Err(Exception::gp(0));
            }
            let cpl = self.state.cpl;
            self.load_cs(sel, &desc, cpl)?;
            self.next_eip = offset;
            return Ok(());
        }
        match desc.ty() {
            _ if desc.is_segment() => Err(Exception::gp(sel.error_code())),
            sys::CALL_GATE16 | sys::CALL_GATE32 => {
                self.check_call_gate(sel, &desc)?;
                let (target, code) = self.check_gate_target(&desc)?;
                let cpl = self.state.cpl;
                // A jump never changes the privilege level.
                if !code.conforming() && code.dpl() != cpl {
                    return Err(Exception::gp(target.error_code()));
                }
                let offset = desc.gate_offset();
                if offset > code.limit() {
                    return Err(Exception::gp(0));
                }
                self.load_cs(target, &code, cpl)?;
                self.next_eip = offset;
                Ok(())
            }
            sys::TASK_GATE | sys::TSS16_AVAIL | sys::TSS32_AVAIL | sys::TSS16_BUSY | sys::TSS32_BUSY => {
                self.far_task(sel, &desc, TaskSwitch::Jmp)
            }
            _ => Err(Exception::gp(sel.error_code())),
        }
    }

    /// JMP or CALL to a TSS descriptor or through a task gate.
    fn far_task(&mut self, sel: Selector, desc: &Descriptor, kind: TaskSwitch) -> Fault {
        let cpl = self.state.cpl;
        if desc.dpl() < cpl || desc.dpl() < sel.rpl() {
            return Err(Exception::gp(sel.error_code()));
        }
        if !desc.present() {
            return Err(Exception::np(sel.error_code()));
        }
        let tss = if desc.ty() == sys::TASK_GATE { desc.gate_selector() } else { sel };
        self.task_switch(tss, kind)?;
        self.next_eip = self.state.eip;
        Ok(())
    }

    pub(crate) fn far_call(&mut self, sel: u16, offset: u32, size: u32) -> Fault {
        let offset = offset & mask(size);
        let ret = self.next_eip;
        let old_cs = self.state.seg(Seg::CS).selector as u32;
        // The return address is pushed before the target EIP is checked against
        // the CS limit: a stack fault comes before the #GP (SDM CALL pseudocode;
        // Bochs and QEMU write the frame first, so a #PF on it comes first too).
        if !self.state.protected_mode() || self.state.v86_mode() {
            let ss = *self.state.seg(Seg::SS);
            let esp = self.state.regs[reg::ESP];
            let sp = self.push_frame(&ss, esp, &[old_cs, ret], size, self.user(), 0)?;
            if offset > self.state.seg(Seg::CS).limit {
                return Err(Exception::gp(0));
            }
            self.set_sp(esp, sp);
            self.load_cs_real(sel);
            self.next_eip = offset;
            return Ok(());
        }
        let sel = Selector(sel);
        let desc = self.far_descriptor(sel)?;
        if desc.is_code() {
            self.check_direct_code(sel, &desc)?;
            let ss = *self.state.seg(Seg::SS);
            let esp = self.state.regs[reg::ESP];
            let sp = self.push_frame(&ss, esp, &[old_cs, ret], size, self.user(), 0)?;
            if offset > desc.limit() {
                return Err(Exception::gp(0));
            }
            let cpl = self.state.cpl;
            self.load_cs(sel, &desc, cpl)?;
            self.set_sp(esp, sp);
            self.next_eip = offset;
            return Ok(());
        }
        match desc.ty() {
            _ if desc.is_segment() => Err(Exception::gp(sel.error_code())),
            sys::CALL_GATE16 | sys::CALL_GATE32 => self.call_gate(sel, &desc, ret),
            sys::TASK_GATE | sys::TSS16_AVAIL | sys::TSS32_AVAIL | sys::TSS16_BUSY | sys::TSS32_BUSY => {
                self.far_task(sel, &desc, TaskSwitch::Call { ret })
            }
            _ => Err(Exception::gp(sel.error_code())),
        }
    }

    /// Sets SP or ESP (by the current SS.B) to `sp`, keeping the other bits of `old`.
    fn set_sp(&mut self, old: u32, sp: u32) {
        let m = self.sp_mask();
        self.state.regs[reg::ESP] = (old & !m) | (sp & m);
    }

    fn call_gate(&mut self, sel: Selector, gate: &Descriptor, ret: u32) -> Fault {
        self.check_call_gate(sel, gate)?;
        let (target, code) = self.check_gate_target(gate)?;
        let size = if gate.gate_is_32() { 4 } else { 2 };
        let offset = gate.gate_offset();
        let cpl = self.state.cpl;
        let old_cs = self.state.seg(Seg::CS).selector as u32;
        let old_ss = *self.state.seg(Seg::SS);
        let old_esp = self.state.regs[reg::ESP];
        if !code.conforming() && code.dpl() < cpl {
            // Inward: new stack from the TSS, parameters copied across.
            let new_cpl = code.dpl();
            let (ss_sel, esp) = self.tss_stack(new_cpl, 0)?;
            let new_ss = self.check_stack_segment(ss_sel, new_cpl, 0)?;
            let count = gate.param_count();
            let mut frame = vec![old_ss.selector as u32, old_esp];
            let old_m = self.sp_mask();
            for i in (0..count).rev() {
                let at = old_esp.wrapping_add(i * size) & old_m;
                frame.push(self.read(Seg::SS, at, size)?);
            }
            frame.push(old_cs);
            frame.push(ret);
            let sp = self.push_frame(&new_ss, esp, &frame, size, new_cpl == 3, ss_sel.error_code())?;
            if offset > code.limit() {
                return Err(Exception::gp(0));
            }
            self.load_cs(target, &code, new_cpl)?;
            self.state.segs[Seg::SS as usize] = new_ss;
            // A 16-bit new stack gets SP only; the bits above stay the
            // caller's (as for interrupts, see `interrupt`).
            let m = if new_ss.big() { u32::MAX } else { 0xffff };
            self.state.regs[reg::ESP] = (old_esp & !m) | (sp & m);
        } else {
            let sp = self.push_frame(&old_ss, old_esp, &[old_cs, ret], size, self.user(), 0)?;
            if offset > code.limit() {
                return Err(Exception::gp(0));
            }
            self.load_cs(target, &code, cpl)?;
            self.set_sp(old_esp, sp);
        }
        self.next_eip = offset;
        Ok(())
    }

    /// Checks the CS a RETF or IRET returns to, at the current CPL.
    fn check_return_code(&mut self, sel: Selector) -> Fault<Descriptor> {
        let desc = self.far_descriptor(sel)?;
        let err = Exception::gp(sel.error_code());
        if !desc.is_code() || sel.rpl() < self.state.cpl {
            return Err(err);
        }
        if desc.conforming() {
            if desc.dpl() > sel.rpl() {
                return Err(err);
            }
        } else if desc.dpl() != sel.rpl() {
            return Err(err);
        }
        if !desc.present() {
            return Err(Exception::np(sel.error_code()));
        }
        Ok(desc)
    }

    /// Checks the SS a return to ring `rpl` loads.
    fn check_return_stack(&mut self, sel: Selector, rpl: u8) -> Fault<Segment> {
        if sel.is_null() {
            return Err(Exception::gp(0));
        }
        let err = Exception::gp(sel.error_code());
        if sel.rpl() != rpl {
            return Err(err);
        }
        let desc = self.read_descriptor(sel)?.ok_or(err)?;
        if !desc.writable_data() || desc.dpl() != rpl {
            return Err(err);
        }
        if !desc.present() {
            return Err(Exception::ss(sel.error_code()));
        }
        self.set_accessed(sel, &desc)?;
        Ok(Descriptor { hi: desc.hi | 1 << 8, ..desc }.to_segment(sel))
    }

    pub(crate) fn far_ret(&mut self, size: u32, imm: u32) -> Fault {
        let eip = self.peek(0, size)?;
        let cs = self.peek(size, 2)? as u16;
        if !self.state.protected_mode() || self.state.v86_mode() {
            if eip > self.state.seg(Seg::CS).limit {
                return Err(Exception::gp(0));
            }
            self.load_cs_real(cs);
            self.drop_stack(2 * size + imm);
            self.next_eip = eip;
            return Ok(());
        }
        let sel = Selector(cs);
        let desc = self.check_return_code(sel)?;
        if eip > desc.limit() {
            return Err(Exception::gp(0));
        }
        let rpl = sel.rpl();
        if rpl > self.state.cpl {
            let new_esp = self.peek(2 * size + imm, size)?;
            let ss_sel = Selector(self.peek(3 * size + imm, 2)? as u16);
            let ss = self.check_return_stack(ss_sel, rpl)?;
            self.load_cs(sel, &desc, rpl)?;
            self.state.segs[Seg::SS as usize] = ss;
            let m = if ss.big() { u32::MAX } else { 0xffff };
            let esp = self.state.regs[reg::ESP];
            self.state.regs[reg::ESP] = (esp & !m) | (new_esp.wrapping_add(imm) & m);
            self.null_inaccessible_segments();
        } else {
            let cpl = self.state.cpl;
            self.load_cs(sel, &desc, cpl)?;
            self.drop_stack(2 * size + imm);
        }
        self.next_eip = eip;
        Ok(())
    }

    pub(crate) fn iret(&mut self, size: u32) -> Fault {
        // IRET ends an NMI handler's blocking of NMIs, even if it faults.
        self.state.nmi_blocked = false;
        let s = &self.state;
        if !s.protected_mode() {
            return self.iret_real(size);
        }
        if s.v86_mode() {
            if s.iopl() < 3 {
                return Err(Exception::gp(0));
            }
            return self.iret_real(size);
        }
        if s.flags.bits & fl::NT != 0 {
            let backlink = Selector(self.read_sys(s.tr.base, 2)? as u16);
            self.task_switch(backlink, TaskSwitch::Iret)?;
            self.next_eip = self.state.eip;
            return Ok(());
        }
        let eip = self.peek(0, size)?;
        let cs = self.peek(size, 2)? as u16;
        let popped = self.peek(2 * size, size)?;
        let cpl = self.state.cpl;
        if size == 4 && popped & fl::VM != 0 && cpl == 0 {
            return self.iret_to_v86(eip, cs, popped);
        }
        let sel = Selector(cs);
        let desc = self.check_return_code(sel)?;
        if eip > desc.limit() {
            return Err(Exception::gp(0));
        }
        let rpl = sel.rpl();
        let outer = if rpl > cpl {
            let new_esp = self.peek(3 * size, size)?;
            let ss_sel = Selector(self.peek(4 * size, 2)? as u16);
            Some((self.check_return_stack(ss_sel, rpl)?, new_esp))
        } else {
            None
        };
        // Which flags the image may change is decided at the old CPL.
        let old = self.state.flags.get();
        let mut changeable = fl::ARITH | fl::TF | fl::DF | fl::NT | fl::RF | fl::AC | fl::ID;
        if cpl <= self.state.iopl() {
            changeable |= fl::IF;
        }
        if cpl == 0 {
            changeable |= fl::IOPL;
        }
        if size == 2 {
            changeable &= 0xffff;
        }
        self.load_cs(sel, &desc, rpl)?;
        self.state.flags.set((old & !changeable) | (popped & changeable) | fl::FIXED1);
        match outer {
            Some((ss, new_esp)) => {
                self.state.segs[Seg::SS as usize] = ss;
                let m = if ss.big() { u32::MAX } else { 0xffff };
                let esp = self.state.regs[reg::ESP];
                self.state.regs[reg::ESP] = (esp & !m) | (new_esp & m);
                self.null_inaccessible_segments();
            }
            None => self.drop_stack(3 * size),
        }
        self.next_eip = eip;
        Ok(())
    }

    /// IRET in real mode, and in virtual-8086 mode with IOPL 3.
    fn iret_real(&mut self, size: u32) -> Fault {
        let eip = self.peek(0, size)?;
        let cs = self.peek(size, 2)? as u16;
        let popped = self.peek(2 * size, size)?;
        if eip > self.state.seg(Seg::CS).limit {
            return Err(Exception::gp(0));
        }
        let v86 = self.state.v86_mode();
        let mut changeable = fl::ARITH | fl::TF | fl::IF | fl::DF | fl::NT | fl::RF | fl::AC | fl::ID;
        if !v86 {
            changeable |= fl::IOPL;
        }
        if size == 2 {
            changeable &= 0xffff;
        }
        let old = self.state.flags.get();
        self.load_cs_real(cs);
        self.state.flags.set((old & !changeable) | (popped & changeable) | fl::FIXED1);
        self.drop_stack(3 * size);
        self.next_eip = eip;
        Ok(())
    }

    /// IRETD at CPL 0 with VM set in the image: back to virtual-8086 mode.
    fn iret_to_v86(&mut self, eip: u32, cs: u16, flags: u32) -> Fault {
        let mut v = [0u32; 6];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = self.peek(12 + 4 * i as u32, 4)?;
        }
        let [esp, ss, es, ds, fs, gs] = v;
        self.state.flags.set((flags & (fl::IMPLEMENTED | fl::VM)) | fl::FIXED1);
        for (seg, sel) in
            [(Seg::CS, cs as u32), (Seg::SS, ss), (Seg::ES, es), (Seg::DS, ds), (Seg::FS, fs), (Seg::GS, gs)]
        {
            self.state.segs[seg as usize] = Segment::real(sel as u16, seg == Seg::CS, 3);
        }
        self.state.regs[reg::ESP] = esp;
        self.state.cpl = 3;
        self.next_eip = eip & 0xffff;
        Ok(())
    }
}
