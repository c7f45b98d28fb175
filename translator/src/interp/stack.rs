//! The stack: PUSH POP PUSHA/PUSHAD POPA/POPAD PUSHF/PUSHFD POPF/POPFD ENTER
//! LEAVE, and the push/pop primitives the rest of the CPU uses.
//!
//! The stack size (SS.B) picks SP or ESP; the operand size picks 2- or 4-byte
//! slots. Multi-slot instructions write every slot before they move ESP, so a
//! fault leaves ESP as it was.

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::interp::{mask, seg_of};
use crate::state::{fl, reg, Seg};

impl Cpu {
    /// SP (0xFFFF) or ESP (all ones), by SS.B.
    #[inline]
    pub(crate) fn sp_mask(&self) -> u32 {
        if self.state.stack32() {
            u32::MAX
        } else {
            0xffff
        }
    }

    /// Stores `v` (`size` bytes) below the stack pointer and moves it.
    pub(crate) fn push(&mut self, v: u32, size: u32) -> Fault {
        let m = self.sp_mask();
        let esp = self.state.regs[reg::ESP];
        let new = esp.wrapping_sub(size) & m;
        self.write(Seg::SS, new, size, v)?;
        self.state.regs[reg::ESP] = (esp & !m) | new;
        Ok(())
    }

    /// Reads `size` bytes at SP + `offset` without popping.
    pub(crate) fn peek(&mut self, offset: u32, size: u32) -> Fault<u32> {
        let m = self.sp_mask();
        let sp = self.state.regs[reg::ESP].wrapping_add(offset) & m;
        self.read(Seg::SS, sp, size)
    }

    /// Moves the stack pointer up by `n` bytes.
    pub(crate) fn drop_stack(&mut self, n: u32) {
        let m = self.sp_mask();
        let esp = self.state.regs[reg::ESP];
        self.state.regs[reg::ESP] = (esp & !m) | (esp.wrapping_add(n) & m);
    }

    pub(super) fn push_insn(&mut self, ins: &Instruction) -> Fault {
        let size = Self::code_osize(ins);
        if ins.op0_kind() == OpKind::Register && ins.op0_register().is_segment_register() {
            // A segment register: the low word is written, even into a 4-byte slot.
            let sel = self.get_reg(ins.op0_register());
            let m = self.sp_mask();
            let esp = self.state.regs[reg::ESP];
            let new = esp.wrapping_sub(size) & m;
            self.write(Seg::SS, new, 2, sel)?;
            self.state.regs[reg::ESP] = (esp & !m) | new;
            return Ok(());
        }
        let v = self.read_op(ins, 0)?;
        self.push(v & mask(size), size)
    }

    pub(super) fn pop_insn(&mut self, ins: &Instruction) -> Fault {
        let size = Self::code_osize(ins);
        let v = self.peek(0, size)?;
        if ins.op0_kind() == OpKind::Register {
            let r = ins.op0_register();
            if r.is_segment_register() {
                if r == Register::CS {
                    return Err(Exception::ud());
                }
                // The stack pointer moves by the size of the stack it was
                // popped from (SS.B before the load): POP SS may change it.
                let m = self.sp_mask();
                let esp = self.state.regs[reg::ESP];
                self.load_segment_insn(seg_of(r), v as u16)?;
                self.state.regs[reg::ESP] = (esp & !m) | (esp.wrapping_add(size) & m);
                return Ok(());
            }
            self.drop_stack(size);
            // POP ESP leaves the popped value in ESP.
            self.set_reg(r, v);
            return Ok(());
        }
        // A memory destination is addressed with ESP already incremented.
        let old_esp = self.state.regs[reg::ESP];
        self.drop_stack(size);
        let dst = self.loc(ins, 0);
        if let Err(e) = self.write_loc(dst, size, v) {
            self.state.regs[reg::ESP] = old_esp;
            return Err(e);
        }
        Ok(())
    }

    pub(super) fn pusha(&mut self, ins: &Instruction) -> Fault {
        let size = if ins.mnemonic() == Mnemonic::Pushad { 4 } else { 2 };
        let m = self.sp_mask();
        let esp = self.state.regs[reg::ESP];
        let order = [reg::EAX, reg::ECX, reg::EDX, reg::EBX, reg::ESP, reg::EBP, reg::ESI, reg::EDI];
        for (i, r) in order.iter().enumerate() {
            let slot = esp.wrapping_sub(size * (i as u32 + 1)) & m;
            let v = self.state.regs[*r] & mask(size);
            self.write(Seg::SS, slot, size, v)?;
        }
        self.state.regs[reg::ESP] = (esp & !m) | (esp.wrapping_sub(8 * size) & m);
        Ok(())
    }

    pub(super) fn popa(&mut self, ins: &Instruction) -> Fault {
        let size = if ins.mnemonic() == Mnemonic::Popad { 4 } else { 2 };
        let order = [reg::EDI, reg::ESI, reg::EBP, reg::ESP, reg::EBX, reg::EDX, reg::ECX, reg::EAX];
        let mut values = [0u32; 8];
        for (i, v) in values.iter_mut().enumerate() {
            *v = self.peek(size * i as u32, size)?;
        }
        for (r, v) in order.iter().zip(values) {
            if *r == reg::ESP {
                continue; // skipped
            }
            if size == 4 {
                self.state.regs[*r] = v;
            } else {
                self.state.set_reg16(*r, v as u16);
            }
        }
        self.drop_stack(8 * size);
        Ok(())
    }

    pub(super) fn pushf(&mut self, ins: &Instruction) -> Fault {
        if self.state.v86_mode() && self.state.iopl() < 3 {
            return Err(Exception::gp(0));
        }
        let size = if ins.mnemonic() == Mnemonic::Pushfd { 4 } else { 2 };
        // The image has VM and RF clear.
        let f = self.state.flags.get() & !(fl::VM | fl::RF);
        self.push(f & mask(size), size)
    }

    pub(super) fn popf(&mut self, ins: &Instruction) -> Fault {
        let s = &self.state;
        if s.v86_mode() && s.iopl() < 3 {
            return Err(Exception::gp(0));
        }
        let size = if ins.mnemonic() == Mnemonic::Popfd { 4 } else { 2 };
        let v = self.peek(0, size)?;
        let s = &self.state;
        let mut changeable = fl::ARITH | fl::TF | fl::DF | fl::NT | fl::AC | fl::ID;
        let cpl = if s.protected_mode() { s.cpl } else { 0 };
        if s.v86_mode() || cpl <= s.iopl() {
            changeable |= fl::IF;
        }
        if !s.v86_mode() && cpl == 0 {
            changeable |= fl::IOPL;
        }
        if size == 2 {
            changeable &= 0xffff;
        }
        let old = self.state.flags.get();
        let mut new = (old & !changeable) | (v & changeable);
        if size == 4 {
            new &= !fl::RF;
        }
        self.state.flags.set(new | fl::FIXED1);
        self.drop_stack(size);
        Ok(())
    }

    pub(super) fn enter(&mut self, ins: &Instruction) -> Fault {
        let size = Self::code_osize(ins);
        let alloc = ins.immediate16() as u32;
        let level = ins.immediate8_2nd() as u32 & 31;
        let m = self.sp_mask();
        let esp = self.state.regs[reg::ESP];
        let ebp = self.state.regs[reg::EBP];
        let frame = esp.wrapping_sub(size) & m;
        // The frame pointer is the stack pointer after the first push (ESP's upper
        // half included when only SP moves).
        let frame_full = (esp & !m) | frame;
        self.write(Seg::SS, frame, size, ebp & mask(size))?;
        if level > 0 {
            for i in 1..level {
                let from = ebp.wrapping_sub(size * i) & m;
                let v = self.read(Seg::SS, from, size)?;
                self.write(Seg::SS, frame.wrapping_sub(size * i) & m, size, v)?;
            }
            self.write(Seg::SS, frame.wrapping_sub(size * level) & m, size, frame_full & mask(size))?;
        }
        let new_esp = frame.wrapping_sub(size * level).wrapping_sub(alloc) & m;
        let regs = &mut self.state.regs;
        regs[reg::EBP] = if size == 4 { frame_full } else { (ebp & !0xffff) | (frame_full & 0xffff) };
        regs[reg::ESP] = (esp & !m) | new_esp;
        Ok(())
    }

    pub(super) fn leave(&mut self, ins: &Instruction) -> Fault {
        let size = Self::code_osize(ins);
        let m = self.sp_mask();
        let ebp = self.state.regs[reg::EBP] & m;
        let v = self.read(Seg::SS, ebp, size)?;
        let regs = &mut self.state.regs;
        regs[reg::ESP] = (regs[reg::ESP] & !m) | (ebp.wrapping_add(size) & m);
        if size == 4 {
            regs[reg::EBP] = v;
        } else {
            self.state.set_reg16(reg::EBP, v as u16);
        }
        Ok(())
    }
}
