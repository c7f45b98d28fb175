//! Bit test and scan: BT BTS BTR BTC BSF BSR.
//!
//! With a register bit offset and a memory operand, the offset is signed and
//! selects an operand-sized unit anywhere around the effective address (SDM
//! "BT - Bit Test"): the access is at EA + size * (offset >> log2(bits)), wrapped
//! to the address size. Immediate offsets are taken modulo the operand size.
//! Only CF (BTx) or ZF (BSF/BSR) is defined. BTx leaves the other flags as they
//! were; BSF/BSR set them as QEMU does (see `bit_scan`).

use iced_x86::{Instruction, Mnemonic, OpKind};

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::flags::op;
use crate::interp::{addr16, mask, Loc};
use crate::state::fl;

impl Cpu {
    pub(super) fn bit_test(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let bits = size * 8;
        let offset = self.read_op(ins, 1)?;
        let mut dst = self.loc(ins, 0);
        let bit = offset & (bits - 1);
        if let (Loc::Mem(seg, ea), OpKind::Register) = (dst, ins.op1_kind()) {
            let signed = if size == 2 { offset as u16 as i16 as i32 } else { offset as i32 };
            let units = signed >> (if size == 2 { 4 } else { 5 });
            let mut addr = ea.wrapping_add((units as u32).wrapping_mul(size));
            if addr16(ins) {
                addr &= 0xffff;
            }
            dst = Loc::Mem(seg, addr);
        }
        let writes = ins.mnemonic() != Mnemonic::Bt;
        let v = if writes { self.read_loc_rmw(dst, size)? } else { self.read_loc(dst, size)? };
        let cf = (v >> bit) & 1 != 0;
        let new = match ins.mnemonic() {
            Mnemonic::Bts => v | 1 << bit,
            Mnemonic::Btr => v & !(1 << bit),
            Mnemonic::Btc => v ^ 1 << bit,
            _ => v,
        };
        if writes {
            self.write_loc(dst, size, new & mask(size))?;
        }
        self.state.flags.set_flag(fl::CF, cf);
        Ok(())
    }

    pub(super) fn bit_scan(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let src = self.read_op(ins, 1)? & mask(size);
        // Only ZF is defined; the others are set as for a logic operation on the
        // source (CF OF AF clear, SF PF from it), as QEMU does.
        self.state.flags.set_lazy(op::LOGIC | op::size_code(size * 8), src, 0, 0);
        if src == 0 {
            return Ok(());
        }
        // TZCNT's encoding (F3 0F BC) is BSF with an ignored REP prefix on a
        // processor without BMI1, as LZCNT's is BSR without LZCNT support;
        // Linux relies on that ("rep; bsf").
        let forward = matches!(ins.mnemonic(), Mnemonic::Bsf | Mnemonic::Tzcnt);
        let index = if forward { src.trailing_zeros() } else { 31 - src.leading_zeros() };
        self.set_reg(ins.op0_register(), index);
        Ok(())
    }
}
