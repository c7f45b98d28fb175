//! Exception and interrupt delivery (SDM Vol. 3A chapter 6, Vol. 2 "INT n/INTO/
//! INT3/INT1").
//!
//! Real mode vectors through the IVT. Protected mode reads the IDT gate, checks
//! it, and enters the handler through an interrupt or trap gate, switching to the
//! ring's stack from the TSS when the privilege rises (and saving the segment
//! registers when it interrupts virtual-8086 mode), or through a task gate with
//! a task switch. A delivery either completes or fails with the exception it
//! raised, leaving registers untouched; [`Cpu::raise`] then applies the rules of
//! SDM table 6-5: a contributory fault during a contributory one (or a page fault
//! or contributory fault during a page fault) becomes #DF, and a fault while
//! delivering #DF shuts the processor down (triple fault).

use crate::cpu::Cpu;
use crate::exception::{vector, Exception, ExceptionClass, Fault};
use crate::state::{attr, fl, reg, Seg, Segment, Selector};
use crate::trace::InterruptKind;
use crate::vmm::descriptor::{sys, Descriptor};
use crate::vmm::task::TaskSwitch;

/// What caused a delivery; decides privilege checks and the EXT bit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum IntSource {
    /// A hardware interrupt from the interrupt controller.
    External,
    /// A trap or abort raised by the processor.
    Exception,
    /// A fault raised by the processor: the EFLAGS image pushed has RF set
    /// (SDM Vol. 3A 17.3.1.1), so returning to the instruction does not re-trigger
    /// an instruction breakpoint.
    Fault,
    /// INT n (CD ib): checked against the gate's DPL, IOPL-sensitive in
    /// virtual-8086 mode.
    IntN,
    /// INT3 (CC) and INTO: checked against the gate's DPL only.
    Int3,
    /// INT1/ICEBP (F1): delivered like a hardware-generated #DB.
    Int1,
}

impl IntSource {
    fn software(self) -> bool {
        matches!(self, IntSource::IntN | IntSource::Int3)
    }
    /// The EXT bit of error codes raised during the delivery.
    fn ext(self) -> u32 {
        matches!(self, IntSource::External | IntSource::Exception | IntSource::Fault | IntSource::Int1) as u32
    }
}

/// Most nested faults one event may cause before vemu gives up (a guard: the
/// architecture resolves every chain within three deliveries).
const MAX_NESTING: usize = 8;

impl Cpu {
    /// INT n, INT3, INTO and INT1 executed by the interpreter.
    pub(crate) fn software_interrupt(&mut self, vec: u8, source: IntSource) -> Fault {
        let s = &self.state;
        if source == IntSource::IntN && s.v86_mode() && s.iopl() < 3 {
            return Err(Exception::gp(0));
        }
        let ret = self.next_eip;
        self.trace_interrupt(vec, None, InterruptKind::Software);
        self.deliver(vec, None, source, ret)?;
        self.next_eip = self.state.eip;
        self.delivered = true;
        Ok(())
    }

    /// A hardware interrupt, between instructions.
    pub(crate) fn external_interrupt(&mut self, vec: u8) {
        let eip = self.state.eip;
        self.trace_interrupt(vec, None, InterruptKind::Hardware);
        if let Err(e) = self.deliver(vec, None, IntSource::External, eip) {
            // A fault delivering an external interrupt is handled serially.
            self.raise(e);
        }
    }

    /// A non-maskable interrupt, between instructions: vector 2 through the
    /// IDT or IVT whatever IF says; further NMIs are held off until the
    /// next IRET (SDM Vol. 3A 6.7.1).
    pub(crate) fn nmi(&mut self) {
        let eip = self.state.eip;
        self.state.nmi_blocked = true;
        self.trace_interrupt(vector::NMI, None, InterruptKind::Hardware);
        if let Err(e) = self.deliver(vector::NMI, None, IntSource::External, eip) {
            self.raise(e);
        }
    }

    fn trace_interrupt(&mut self, vec: u8, error: Option<u32>, kind: InterruptKind) {
        if let Some(t) = self.tracer.as_mut() {
            // Real mode pushes no error codes.
            let error = error.filter(|_| self.state.protected_mode());
            t.interrupt(&self.state, vec, error, kind);
        }
    }

    /// What detecting `exc` does before its delivery: a page fault loads CR2,
    /// also one that then becomes a double fault (a #PF while delivering a #PF).
    fn detected(&mut self, exc: &Exception) {
        if exc.vector == vector::PF {
            self.state.cr2 = exc.address;
        }
    }

    /// Delivers an exception raised by an instruction or by a delivery, with the
    /// double-fault and triple-fault rules.
    pub(crate) fn raise(&mut self, exc: Exception) {
        self.detected(&exc);
        let mut current = exc;
        for _ in 0..MAX_NESTING {
            self.trace_interrupt(current.vector, current.error, InterruptKind::Exception);
            let eip = self.state.eip;
            let source = if is_fault(current.vector) { IntSource::Fault } else { IntSource::Exception };
            let next = match self.deliver(current.vector, current.error, source, eip) {
                Ok(()) => return,
                Err(next) => next,
            };
            self.detected(&next);
            use ExceptionClass::*;
            current = match (current.class(), next.class()) {
                (Contributory, Contributory) | (PageFault, Contributory | PageFault) => {
                    Exception::new(vector::DF, Some(0))
                }
                (DoubleFault, Contributory | PageFault) => break,
                _ => next,
            };
        }
        self.triple_fault = true;
        self.state.halted = false;
    }

    /// Enters the handler for `vec`. `ret` is the EIP the handler returns to.
    pub(crate) fn deliver(&mut self, vec: u8, error: Option<u32>, source: IntSource, ret: u32) -> Fault {
        self.state.halted = false;
        self.mode_may_change();
        if self.state.protected_mode() {
            self.deliver_protected(vec, error, source, ret)
        } else {
            self.deliver_real(vec, ret)
        }
    }

    fn deliver_real(&mut self, vec: u8, ret: u32) -> Fault {
        let idt = self.state.idtr;
        let off = vec as u32 * 4;
        if off + 3 > idt.limit as u32 {
            return Err(Exception::gp(vec as u32 * 8 + 2));
        }
        let entry = self.read_sys(idt.base.wrapping_add(off), 4)?;
        let flags = self.state.flags.get();
        let cs = self.state.seg(Seg::CS).selector as u32;
        let sp = self.state.regs[reg::ESP];
        let m = self.sp_mask();
        for (i, v) in [flags, cs, ret].iter().enumerate() {
            let slot = sp.wrapping_sub(2 * (i as u32 + 1)) & m;
            self.write(Seg::SS, slot, 2, *v & 0xffff)?;
        }
        self.state.regs[reg::ESP] = (sp & !m) | (sp.wrapping_sub(6) & m);
        self.state.flags.set(flags & !(fl::IF | fl::TF | fl::AC | fl::RF));
        self.load_cs_real((entry >> 16) as u16);
        self.state.eip = entry & 0xffff;
        Ok(())
    }

    fn deliver_protected(&mut self, vec: u8, error: Option<u32>, source: IntSource, ret: u32) -> Fault {
        let ext = source.ext();
        let idt_error = vec as u32 * 8 + 2 + ext;
        let idt = self.state.idtr;
        if vec as u32 * 8 + 7 > idt.limit as u32 {
            return Err(Exception::gp(idt_error));
        }
        let at = idt.base.wrapping_add(vec as u32 * 8);
        let gate = Descriptor { lo: self.read_sys(at, 4)?, hi: self.read_sys(at.wrapping_add(4), 4)? };
        let ty = gate.ty();
        let valid = !gate.is_segment()
            && matches!(
                ty,
                sys::TASK_GATE | sys::INT_GATE16 | sys::TRAP_GATE16 | sys::INT_GATE32 | sys::TRAP_GATE32
            );
        if !valid {
            return Err(Exception::gp(idt_error));
        }
        let cpl = self.state.cpl;
        if source.software() && gate.dpl() < cpl {
            return Err(Exception::gp(idt_error));
        }
        if !gate.present() {
            return Err(Exception::np(idt_error));
        }
        if ty == sys::TASK_GATE {
            let fault = source == IntSource::Fault;
            return self.task_switch(gate.gate_selector(), TaskSwitch::Interrupt { error, ext, ret, fault });
        }

        let sel = gate.gate_selector();
        if sel.is_null() {
            return Err(Exception::gp(ext));
        }
        let code = self.read_descriptor(sel)?.ok_or(Exception::gp(sel.error_code() + ext))?;
        if !code.is_code() || code.dpl() > cpl {
            return Err(Exception::gp(sel.error_code() + ext));
        }
        if !code.present() {
            return Err(Exception::np(sel.error_code() + ext));
        }
        let size = if gate.gate_is_32() { 4 } else { 2 };
        let offset = gate.gate_offset();
        let v86 = self.state.v86_mode();
        let old_flags = self.state.flags.get();
        let old_cs = self.state.seg(Seg::CS).selector as u32;
        let mut frame: Vec<u32> = Vec::with_capacity(11);

        let (new_cpl, new_ss, new_esp) = if !code.conforming() && code.dpl() < cpl {
            // To an inner ring: the stack comes from the TSS.
            if v86 && code.dpl() != 0 {
                return Err(Exception::gp(sel.error_code() + ext));
            }
            let new_cpl = code.dpl();
            let (ss_sel, esp) = self.tss_stack(new_cpl, ext)?;
            let ss = self.check_stack_segment(ss_sel, new_cpl, ext)?;
            if v86 {
                for seg in [Seg::GS, Seg::FS, Seg::DS, Seg::ES] {
                    frame.push(self.state.seg(seg).selector as u32);
                }
            }
            frame.push(self.state.seg(Seg::SS).selector as u32);
            frame.push(self.state.regs[reg::ESP]);
            (new_cpl, ss, esp)
        } else {
            if v86 {
                return Err(Exception::gp(sel.error_code() + ext));
            }
            (cpl, *self.state.seg(Seg::SS), self.state.regs[reg::ESP])
        };
        frame.push(if source == IntSource::Fault { old_flags | fl::RF } else { old_flags });
        frame.push(old_cs);
        frame.push(ret);
        if let Some(e) = error {
            frame.push(e);
        }
        let cs =
            Descriptor { hi: code.hi | 1 << 8, ..code }.to_segment(Selector(sel.0 & !3 | new_cpl as u16));
        if offset > cs.limit {
            return Err(Exception::gp(ext));
        }
        let ss_error = if new_cpl != cpl { new_ss.selector as u32 & !3 } else { 0 };
        let esp = self.push_frame(&new_ss, new_esp, &frame, size, new_cpl == 3, ss_error + ext)?;

        // Committed from here on.
        self.set_accessed(sel, &code)?;
        if new_cpl != cpl {
            self.state.segs[Seg::SS as usize] = new_ss;
        }
        // A 16-bit stack gets SP only: the bits above it are the interrupted
        // ESP's, also across a stack switch (Bochs and QEMU; Linux's espfix
        // relies on real processors keeping them).
        let m = if new_ss.big() { u32::MAX } else { 0xffff };
        self.state.regs[reg::ESP] = (self.state.regs[reg::ESP] & !m) | (esp & m);
        if v86 {
            for seg in [Seg::ES, Seg::DS, Seg::FS, Seg::GS] {
                self.state.segs[seg as usize] =
                    Segment { selector: 0, base: 0, limit: 0, attr: attr::UNUSABLE };
            }
        }
        self.state.segs[Seg::CS as usize] = cs;
        self.state.cpl = new_cpl;
        self.state.eip = offset;
        let mut flags = old_flags & !(fl::TF | fl::NT | fl::RF | fl::VM);
        if matches!(ty, sys::INT_GATE16 | sys::INT_GATE32) {
            flags &= !fl::IF;
        }
        self.state.flags.set(flags);
        Ok(())
    }

    /// SS:ESP for ring `cpl` from the current TSS (#TS if the TSS is too short).
    pub(crate) fn tss_stack(&mut self, cpl: u8, ext: u32) -> Fault<(Selector, u32)> {
        let tr = self.state.tr;
        let is32 = matches!(tr.attr & attr::TYPE_MASK, sys::TSS32_AVAIL | sys::TSS32_BUSY);
        let tr_error = Exception::ts((tr.selector as u32 & !3) + ext);
        if is32 {
            let off = 4 + cpl as u32 * 8;
            if off + 7 > tr.limit {
                return Err(tr_error);
            }
            let esp = self.read_sys(tr.base.wrapping_add(off), 4)?;
            let ss = self.read_sys(tr.base.wrapping_add(off + 4), 2)?;
            Ok((Selector(ss as u16), esp))
        } else {
            let off = 2 + cpl as u32 * 4;
            if off + 3 > tr.limit {
                return Err(tr_error);
            }
            let sp = self.read_sys(tr.base.wrapping_add(off), 2)?;
            let ss = self.read_sys(tr.base.wrapping_add(off + 2), 2)?;
            Ok((Selector(ss as u16), sp))
        }
    }

    /// Checks a stack segment taken from the TSS for ring `cpl` (#TS, #SS).
    pub(crate) fn check_stack_segment(&mut self, sel: Selector, cpl: u8, ext: u32) -> Fault<Segment> {
        if sel.is_null() {
            return Err(Exception::ts(ext));
        }
        let bad = Exception::ts(sel.error_code() + ext);
        let desc = self.read_descriptor(sel)?.ok_or(bad)?;
        if sel.rpl() != cpl || desc.dpl() != cpl || !desc.writable_data() {
            return Err(bad);
        }
        if !desc.present() {
            return Err(Exception::ss(sel.error_code() + ext));
        }
        self.set_accessed(sel, &desc)?;
        Ok(Descriptor { hi: desc.hi | 1 << 8, ..desc }.to_segment(sel))
    }

    /// Writes `values` as consecutive pushes of `size` bytes below `esp` in stack
    /// segment `ss` (limit-checked, #SS(`ss_error`)), without touching any
    /// register; returns the new stack pointer.
    pub(crate) fn push_frame(
        &mut self,
        ss: &Segment,
        esp: u32,
        values: &[u32],
        size: u32,
        user: bool,
        ss_error: u32,
    ) -> Fault<u32> {
        let m = if ss.big() { u32::MAX } else { 0xffff };
        let mut sp = esp;
        for v in values {
            sp = sp.wrapping_sub(size) & m;
            if !segment_allows(ss, sp, size) {
                return Err(Exception::ss(ss_error));
            }
            let value = if size == 2 { *v & 0xffff } else { *v };
            self.write_lin(ss.base.wrapping_add(sp), size, value, user)?;
        }
        Ok(sp)
    }
}

/// Whether an exception is a fault (restartable; EIP points at the instruction).
/// #DB counts as a trap here: vemu raises it for single steps and task switches.
fn is_fault(v: u8) -> bool {
    !matches!(v, vector::DB | vector::NMI | vector::BP | vector::OF | vector::DF | 18)
}

/// Whether `size` bytes at `offset` lie within segment `s` (expand-up or down).
pub(crate) fn segment_allows(s: &Segment, offset: u32, size: u32) -> bool {
    let last = offset as u64 + size as u64 - 1;
    if s.attr & (attr::CODE | attr::EXPAND_DOWN_CONFORMING) == attr::EXPAND_DOWN_CONFORMING {
        let upper: u64 = if s.big() { 0xffff_ffff } else { 0xffff };
        offset > s.limit && last <= upper
    } else {
        last <= s.limit as u64
    }
}
