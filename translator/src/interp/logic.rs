//! Logic: AND OR XOR TEST NOT. AND/OR/XOR/TEST clear CF and OF and set SF ZF PF
//! from the result; AF is undefined (vemu clears it, as QEMU and Bochs do).

use iced_x86::{Instruction, Mnemonic};

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::flags::op;
use crate::interp::mask;

impl Cpu {
    pub(super) fn logic(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let test = ins.mnemonic() == Mnemonic::Test;
        let a = if test { self.read_loc(dst, size)? } else { self.read_loc_rmw(dst, size)? };
        let b = self.read_op(ins, 1)? & mask(size);
        let r = match ins.mnemonic() {
            Mnemonic::Or => a | b,
            Mnemonic::Xor => a ^ b,
            _ => a & b,
        };
        if !test {
            self.write_loc(dst, size, r)?;
        }
        self.state.flags.set_lazy(op::LOGIC | op::size_code(size * 8), r, 0, 0);
        Ok(())
    }

    /// NOT: no flags.
    pub(super) fn not(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let a = self.read_loc_rmw(dst, size)?;
        self.write_loc(dst, size, !a & mask(size))
    }
}
