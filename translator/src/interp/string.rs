//! String instructions: MOVS CMPS SCAS LODS STOS INS OUTS, with REP/REPE/REPNE.
//!
//! The address size (from the operand kinds iced reports) picks SI/DI/CX or
//! ESI/EDI/ECX; the source segment can be overridden, ES:DI cannot. Each
//! iteration commits its register updates, so a fault in the middle of a REP
//! leaves the count and pointers of the iterations done, and restarting the
//! instruction finishes the job (SDM "REP/REPE/REPZ/REPNE/REPNZ"). A long REP
//! yields to the run loop every [`REP_CHUNK`] iterations by restarting itself,
//! so interrupts and the instruction budget are never starved.

use iced_x86::{Instruction, Mnemonic, OpKind};

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::flags::op;
use crate::interp::{mask, seg_of};
use crate::state::{attr, cr0, fl, reg, Seg};
use vemu_softmmu::Access;

/// Iterations of a REP instruction between returns to the run loop.
pub(crate) const REP_CHUNK: u32 = 1024;

#[derive(Copy, Clone, PartialEq, Eq)]
enum Kind {
    Movs,
    Cmps,
    Scas,
    Lods,
    Stos,
    Ins,
    Outs,
}

impl Cpu {
    pub(super) fn string(&mut self, ins: &Instruction) -> Fault {
        use Mnemonic as M;
        let (kind, size) = match ins.mnemonic() {
            M::Movsb => (Kind::Movs, 1),
            M::Movsw => (Kind::Movs, 2),
            M::Movsd => (Kind::Movs, 4),
            M::Cmpsb => (Kind::Cmps, 1),
            M::Cmpsw => (Kind::Cmps, 2),
            M::Cmpsd => (Kind::Cmps, 4),
            M::Scasb => (Kind::Scas, 1),
            M::Scasw => (Kind::Scas, 2),
            M::Scasd => (Kind::Scas, 4),
            M::Lodsb => (Kind::Lods, 1),
            M::Lodsw => (Kind::Lods, 2),
            M::Lodsd => (Kind::Lods, 4),
            M::Stosb => (Kind::Stos, 1),
            M::Stosw => (Kind::Stos, 2),
            M::Stosd => (Kind::Stos, 4),
            M::Insb => (Kind::Ins, 1),
            M::Insw => (Kind::Ins, 2),
            M::Insd => (Kind::Ins, 4),
            M::Outsb => (Kind::Outs, 1),
            M::Outsw => (Kind::Outs, 2),
            _ => (Kind::Outs, 4),
        };
        // The address size shows in the kind of the string operands.
        let a32 =
            (0..ins.op_count()).any(|n| matches!(ins.op_kind(n), OpKind::MemorySegESI | OpKind::MemoryESEDI));
        let amask = if a32 { u32::MAX } else { 0xffff };
        let src_seg = seg_of(ins.memory_segment());
        let compare = matches!(kind, Kind::Cmps | Kind::Scas);
        let rep = ins.has_rep_prefix() || ins.has_repne_prefix();
        if !rep {
            return self.string_step(kind, size, src_seg, amask);
        }
        let until_equal = ins.has_repne_prefix();
        // Under TF each iteration ends with a single-step trap (SDM Vol. 2 "REP").
        let chunk = if self.state.flags.bits & fl::TF != 0 { 1 } else { REP_CHUNK as u64 };
        // The clock counts one execution per iteration, plus one for the final
        // look at a zero count (QEMU's -icount does the same); the run loop has
        // counted one already.
        let mut executions = 0u64;
        let result = loop {
            executions += 1;
            let count = self.state.regs[reg::ECX] & amask;
            if count == 0 {
                break Ok(());
            }
            // As many iterations at once as the chunk leaves room for and plain
            // RAM allows; else one.
            let room = (chunk - executions + 1).min(u32::MAX as u64) as u32;
            let steps = match self.string_bulk(kind, size, src_seg, amask, count.min(room)) {
                0 => match self.string_step(kind, size, src_seg, amask) {
                    Ok(()) => 1,
                    Err(e) => break Err(e),
                },
                n => n,
            };
            executions += steps as u64 - 1;
            let count = count.wrapping_sub(steps) & amask;
            let ecx = &mut self.state.regs[reg::ECX];
            *ecx = (*ecx & !amask) | count;
            if compare && self.state.flags.zf() == until_equal {
                break Ok(());
            }
            if executions >= chunk && count != 0 {
                // Come back to this instruction after the run loop has had a look.
                self.next_eip = self.state.eip;
                break Ok(());
            }
        };
        self.icount += executions - 1;
        result
    }

    /// REP STOS and REP MOVS over plain RAM: up to `max` iterations at once, as
    /// many as stay in the segment limits, within the address size and on one
    /// page on each side, when those pages are RAM (the source may be ROM)
    /// holding no translated code and translate without a fault. Returns how
    /// many it did (0: none, the caller goes one at a time and meets any fault
    /// exactly where the instruction would).
    fn string_bulk(&mut self, kind: Kind, size: u32, src_seg: Seg, amask: u32, max: u32) -> u32 {
        let s = &self.state;
        let alignment_checks = s.cpl == 3 && s.cr0 & cr0::AM != 0 && s.flags.bits & fl::AC != 0;
        if max < 2 || !matches!(kind, Kind::Stos | Kind::Movs) || self.breakpoints_armed || alignment_checks {
            return 0;
        }
        let down = s.flags.bits & fl::DF != 0;
        let si = s.regs[reg::ESI] & amask;
        let di = s.regs[reg::EDI] & amask;
        let value = s.regs[reg::EAX] & mask(size);
        let Some((dst_lin, room)) = self.bulk_run(Seg::ES, di, size, down, amask, true) else { return 0 };
        let mut n = max.min(room);
        let src_lin = if kind == Kind::Movs {
            let Some((lin, room)) = self.bulk_run(src_seg, si, size, down, amask, false) else { return 0 };
            n = n.min(room);
            Some(lin)
        } else {
            None
        };
        // The lowest element of a run (the first one, or the last when going down).
        let low = |lin: u32| if down { lin.wrapping_sub((n - 1) * size) } else { lin };
        let user = self.user();
        let src = match src_lin {
            Some(lin) => match self.translate(low(lin), Access::Read, user) {
                Ok(Some(p)) => Some(p),
                _ => return 0,
            },
            None => None,
        };
        let Ok(Some(dst)) = self.translate(low(dst_lin), Access::Write, user) else { return 0 };
        let done = match src {
            Some(src) => self.mem.copy_ram(src, dst, size, n, down),
            None => self.mem.fill_ram(dst, size, n, value),
        };
        if !done {
            return 0;
        }
        if src.is_some() {
            self.advance(reg::ESI, n * size, down, amask);
        }
        self.advance(reg::EDI, n * size, down, amask);
        n
    }

    /// Moves SI/DI (or ESI/EDI) by `bytes` in the direction DF gives.
    fn advance(&mut self, r: usize, bytes: u32, down: bool, amask: u32) {
        let v = self.state.regs[r];
        let moved = if down { v.wrapping_sub(bytes) } else { v.wrapping_add(bytes) };
        self.state.regs[r] = (v & !amask) | (moved & amask);
    }

    /// The linear address of the element at `seg:offset` and how many elements
    /// from it on (downwards when `down`) pass the segment checks as plain
    /// in-limit accesses, stay within the address size, and lie on its page.
    fn bulk_run(
        &self,
        seg: Seg,
        offset: u32,
        size: u32,
        down: bool,
        amask: u32,
        write: bool,
    ) -> Option<(u32, u32)> {
        let linear = self.check_seg(seg, offset, size, write).ok()?;
        let sg = self.state.seg(seg);
        let ty = sg.attr & attr::TYPE_MASK;
        if ty & (attr::CODE | attr::EXPAND_DOWN_CONFORMING) == attr::EXPAND_DOWN_CONFORMING {
            return None;
        }
        let in_page = linear & 0xfff;
        if in_page + size > 0x1000 {
            return None;
        }
        let (by_limit, by_page) = if down {
            ((offset / size).saturating_add(1), in_page / size + 1)
        } else {
            let top = (sg.limit as u64).min(amask as u64);
            (((top + 1 - offset as u64) / size as u64).min(u32::MAX as u64) as u32, (0x1000 - in_page) / size)
        };
        Some((linear, by_limit.min(by_page)))
    }

    /// One iteration: the access, then the pointer updates.
    fn string_step(&mut self, kind: Kind, size: u32, src_seg: Seg, amask: u32) -> Fault {
        let s = &self.state;
        let si = s.regs[reg::ESI] & amask;
        let di = s.regs[reg::EDI] & amask;
        let delta = if s.flags.bits & fl::DF != 0 { size.wrapping_neg() } else { size };
        let (mut move_si, mut move_di) = (false, false);
        match kind {
            Kind::Movs => {
                let v = self.read(src_seg, si, size)?;
                self.write(Seg::ES, di, size, v)?;
                (move_si, move_di) = (true, true);
            }
            Kind::Cmps => {
                let a = self.read(src_seg, si, size)?;
                let b = self.read(Seg::ES, di, size)?;
                self.set_compare_flags(a, b, size);
                (move_si, move_di) = (true, true);
            }
            Kind::Scas => {
                let a = self.state.regs[reg::EAX] & mask(size);
                let b = self.read(Seg::ES, di, size)?;
                self.set_compare_flags(a, b, size);
                move_di = true;
            }
            Kind::Lods => {
                let v = self.read(src_seg, si, size)?;
                self.set_acc(size, v);
                move_si = true;
            }
            Kind::Stos => {
                let v = self.state.regs[reg::EAX] & mask(size);
                self.write(Seg::ES, di, size, v)?;
                move_di = true;
            }
            Kind::Ins => {
                let port = self.state.regs[reg::EDX] as u16;
                self.check_io(port, size)?;
                // The destination must be writable before the port is read.
                let linear = self.check_seg(Seg::ES, di, size, true)?;
                let user = self.user();
                self.translate(linear, vemu_softmmu::Access::Write, user)?;
                if (linear & 0xfff) + size > 0x1000 {
                    self.translate(linear.wrapping_add(size - 1), vemu_softmmu::Access::Write, user)?;
                }
                let v = self.port_in(port, size);
                self.write(Seg::ES, di, size, v)?;
                move_di = true;
            }
            Kind::Outs => {
                let port = self.state.regs[reg::EDX] as u16;
                self.check_io(port, size)?;
                let v = self.read(src_seg, si, size)?;
                self.port_out(port, size, v);
                move_si = true;
            }
        }
        let regs = &mut self.state.regs;
        if move_si {
            regs[reg::ESI] = (regs[reg::ESI] & !amask) | (si.wrapping_add(delta) & amask);
        }
        if move_di {
            regs[reg::EDI] = (regs[reg::EDI] & !amask) | (di.wrapping_add(delta) & amask);
        }
        Ok(())
    }

    /// The flags of CMP a, b.
    pub(crate) fn set_compare_flags(&mut self, a: u32, b: u32, size: u32) {
        let m = mask(size);
        let r = a.wrapping_sub(b) & m;
        self.state.flags.set_lazy(op::SUB | op::size_code(size * 8), r, a & m, b & m);
    }

    /// Writes AL, AX or EAX.
    pub(crate) fn set_acc(&mut self, size: u32, v: u32) {
        match size {
            1 => self.state.set_reg8(0, v as u8),
            2 => self.state.set_reg16(reg::EAX, v as u16),
            _ => self.state.regs[reg::EAX] = v,
        }
    }
}
