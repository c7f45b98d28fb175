//! Control transfer: JMP, Jcc, CALL, RET, RETF, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ,
//! INT n/INT3/INTO/INT1, IRET, BOUND. Near transfers are handled here; far ones,
//! interrupts and IRET go to the VMM layer, which knows about descriptors, gates,
//! privilege levels and tasks.

use iced_x86::{Instruction, Mnemonic, OpKind};

use crate::cpu::Cpu;
use crate::exception::{vector, Exception, Fault};
use crate::interp::{data::cc_nibble, mask, sext};
use crate::state::{reg, Seg};
use crate::vmm::interrupt::IntSource;

impl Cpu {
    /// The target of a near relative branch, masked to the operand size.
    fn rel_target(ins: &Instruction) -> u32 {
        match ins.op0_kind() {
            OpKind::NearBranch16 => ins.near_branch16() as u32,
            _ => ins.near_branch32(),
        }
    }

    /// Jumps to `target` within CS, or #GP(0) if it lies beyond the limit.
    pub(crate) fn near_jump(&mut self, target: u32) -> Fault {
        if target > self.state.seg(Seg::CS).limit {
            return Err(Exception::gp(0));
        }
        self.next_eip = target;
        Ok(())
    }

    pub(super) fn jmp(&mut self, ins: &Instruction) -> Fault {
        match ins.op0_kind() {
            OpKind::NearBranch16 | OpKind::NearBranch32 => self.near_jump(Self::rel_target(ins)),
            OpKind::FarBranch16 => self.far_jmp(ins.far_branch_selector(), ins.far_branch16() as u32, 2),
            OpKind::FarBranch32 => self.far_jmp(ins.far_branch_selector(), ins.far_branch32(), 4),
            _ if ins.is_jmp_far_indirect() => {
                let (off, sel, size) = self.read_far_pointer(ins)?;
                self.far_jmp(sel, off, size)
            }
            _ => {
                let size = Self::op_size(ins, 0);
                let target = self.read_op(ins, 0)? & mask(size);
                self.near_jump(target)
            }
        }
    }

    /// Reads an m16:16 or m16:32 far pointer: (offset, selector, offset size).
    pub(crate) fn read_far_pointer(&mut self, ins: &Instruction) -> Fault<(u32, u16, u32)> {
        let size = if ins.memory_size().size() == 6 { 4 } else { 2 };
        let (seg, off) = self.ea(ins);
        let offset = self.read(seg, off, size)?;
        let sel = self.read(seg, off.wrapping_add(size), 2)? as u16;
        Ok((offset, sel, size))
    }

    pub(super) fn jcc(&mut self, ins: &Instruction) -> Fault {
        if self.state.flags.condition(cc_nibble(ins.condition_code())) {
            self.near_jump(Self::rel_target(ins))?;
        }
        Ok(())
    }

    pub(super) fn call(&mut self, ins: &Instruction) -> Fault {
        match ins.op0_kind() {
            OpKind::NearBranch16 | OpKind::NearBranch32 => {
                let size = if ins.op0_kind() == OpKind::NearBranch16 { 2 } else { 4 };
                self.near_call(Self::rel_target(ins), size)
            }
            OpKind::FarBranch16 => self.far_call(ins.far_branch_selector(), ins.far_branch16() as u32, 2),
            OpKind::FarBranch32 => self.far_call(ins.far_branch_selector(), ins.far_branch32(), 4),
            _ if ins.is_call_far_indirect() => {
                let (off, sel, size) = self.read_far_pointer(ins)?;
                self.far_call(sel, off, size)
            }
            _ => {
                let size = Self::op_size(ins, 0);
                let target = self.read_op(ins, 0)? & mask(size);
                self.near_call(target, size)
            }
        }
    }

    pub(super) fn near_call(&mut self, target: u32, size: u32) -> Fault {
        if target > self.state.seg(Seg::CS).limit {
            return Err(Exception::gp(0));
        }
        let ret = self.next_eip & mask(size);
        self.push(ret, size)?;
        self.next_eip = target;
        Ok(())
    }

    pub(super) fn ret_near(&mut self, ins: &Instruction) -> Fault {
        let imm = if ins.op_count() > 0 { ins.immediate16() as u32 } else { 0 };
        self.ret_near_by(Self::code_osize(ins), imm)
    }

    /// A near return of a `size`-byte address that releases `imm` more bytes.
    pub(super) fn ret_near_by(&mut self, size: u32, imm: u32) -> Fault {
        let target = self.peek(0, size)?;
        if target > self.state.seg(Seg::CS).limit {
            return Err(Exception::gp(0));
        }
        self.drop_stack(size + imm);
        self.next_eip = target;
        Ok(())
    }

    pub(super) fn ret_far_insn(&mut self, ins: &Instruction) -> Fault {
        let size = Self::code_osize(ins);
        let imm = if ins.op_count() > 0 { ins.immediate16() as u32 } else { 0 };
        self.far_ret(size, imm)
    }

    /// The counter of LOOP/JCXZ: CX or ECX by the address size.
    fn counter_mask(ins: &Instruction) -> u32 {
        if ins.code().op_code().address_size() == 16 {
            0xffff
        } else {
            u32::MAX
        }
    }

    pub(super) fn loop_insn(&mut self, ins: &Instruction) -> Fault {
        let m = Self::counter_mask(ins);
        let ecx = self.state.regs[reg::ECX];
        let count = ecx.wrapping_sub(1) & m;
        let zf = self.state.flags.zf();
        let taken = count != 0
            && match ins.mnemonic() {
                Mnemonic::Loope => zf,
                Mnemonic::Loopne => !zf,
                _ => true,
            };
        if taken {
            self.near_jump(Self::rel_target(ins))?;
        }
        self.state.regs[reg::ECX] = (ecx & !m) | count;
        Ok(())
    }

    pub(super) fn jcxz(&mut self, ins: &Instruction) -> Fault {
        let m = if ins.mnemonic() == Mnemonic::Jcxz { 0xffff } else { u32::MAX };
        if self.state.regs[reg::ECX] & m == 0 {
            self.near_jump(Self::rel_target(ins))?;
        }
        Ok(())
    }

    pub(super) fn int_insn(&mut self, ins: &Instruction) -> Fault {
        let (vec, source) = match ins.mnemonic() {
            Mnemonic::Int3 => (vector::BP, IntSource::Int3),
            Mnemonic::Into => {
                if !self.state.flags.of() {
                    return Ok(());
                }
                (vector::OF, IntSource::Int3)
            }
            Mnemonic::Int1 => (vector::DB, IntSource::Int1),
            _ => (ins.immediate8(), IntSource::IntN),
        };
        self.software_interrupt(vec, source)
    }

    pub(super) fn iret_insn(&mut self, ins: &Instruction) -> Fault {
        let size = if ins.mnemonic() == Mnemonic::Iretd { 4 } else { 2 };
        self.iret(size)
    }

    pub(super) fn bound(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let index = sext(self.get_reg(ins.op0_register()) & mask(size), size) as i32;
        let (seg, off) = self.ea(ins);
        let lower = sext(self.read(seg, off, size)?, size) as i32;
        let upper = sext(self.read(seg, off.wrapping_add(size), size)?, size) as i32;
        if index < lower || index > upper {
            return Err(Exception::br());
        }
        Ok(())
    }
}
