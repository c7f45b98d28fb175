//! Integer arithmetic: ADD ADC SUB SBB CMP INC DEC NEG (SDM Vol. 2 pages of each).
//! Flags are recorded lazily (see `crate::flags`).

use iced_x86::{Instruction, Mnemonic};

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::flags::op;
use crate::interp::mask;

impl Cpu {
    /// ADD, ADC, SUB, SBB, CMP: destination op= source.
    pub(super) fn arith(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let m = mask(size);
        let dst = self.loc(ins, 0);
        let is_cmp = ins.mnemonic() == Mnemonic::Cmp;
        let a = if is_cmp { self.read_loc(dst, size)? } else { self.read_loc_rmw(dst, size)? };
        let b = self.read_op(ins, 1)? & m;
        let carry = self.state.flags.cf();
        let (kind, r) = match ins.mnemonic() {
            Mnemonic::Add => (op::ADD, a.wrapping_add(b)),
            Mnemonic::Adc if carry => (op::ADC, a.wrapping_add(b).wrapping_add(1)),
            Mnemonic::Adc => (op::ADD, a.wrapping_add(b)),
            Mnemonic::Sbb if carry => (op::SBB, a.wrapping_sub(b).wrapping_sub(1)),
            _ => (op::SUB, a.wrapping_sub(b)),
        };
        let r = r & m;
        if !is_cmp {
            self.write_loc(dst, size, r)?;
        }
        self.state.flags.set_lazy(kind | op::size_code(size * 8), r, a, b);
        Ok(())
    }

    /// INC and DEC (CF unchanged).
    pub(super) fn inc_dec(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let a = self.read_loc_rmw(dst, size)?;
        let (kind, r) = if ins.mnemonic() == Mnemonic::Inc {
            (op::INC, a.wrapping_add(1) & mask(size))
        } else {
            (op::DEC, a.wrapping_sub(1) & mask(size))
        };
        self.write_loc(dst, size, r)?;
        self.state.flags.set_lazy(kind | op::size_code(size * 8), r, a, 1);
        Ok(())
    }

    /// NEG: 0 - destination; CF = destination != 0.
    pub(super) fn neg(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let a = self.read_loc_rmw(dst, size)?;
        let r = 0u32.wrapping_sub(a) & mask(size);
        self.write_loc(dst, size, r)?;
        self.state.flags.set_lazy(op::SUB | op::size_code(size * 8), r, 0, a);
        Ok(())
    }
}
