//! Multiply and divide: MUL, IMUL (one, two and three operands), DIV, IDIV.
//!
//! MUL/IMUL define only CF and OF (set when the high half is significant). The
//! SDM leaves SF ZF AF PF undefined; vemu sets SF ZF PF from the low half of the
//! product and clears AF, as QEMU does. DIV/IDIV leave the flags alone (all
//! undefined) and raise #DE for a zero divisor or a quotient that does not fit,
//! before any register changes.

use iced_x86::{Instruction, Mnemonic};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::interp::{mask, sext, sign_bit};
use crate::state::{fl, reg};

impl Cpu {
    fn set_mul_flags(&mut self, low: u32, size: u32, overflow: bool) {
        let low = low & mask(size);
        let mut f = 0;
        if overflow {
            f |= fl::CF | fl::OF;
        }
        if low == 0 {
            f |= fl::ZF;
        }
        if low & sign_bit(size) != 0 {
            f |= fl::SF;
        }
        if (low as u8).count_ones() % 2 == 0 {
            f |= fl::PF;
        }
        self.state.flags.set_arith(fl::ARITH, f);
    }

    pub(super) fn mul(&mut self, ins: &Instruction) -> Fault {
        let signed = ins.mnemonic() == Mnemonic::Imul;
        if signed && ins.op_count() > 1 {
            return self.imul_truncating(ins);
        }
        let size = Self::op_size(ins, 0);
        let src = self.read_op(ins, 0)?;
        let s = &mut self.state;
        let acc = s.regs[reg::EAX] & mask(size);
        let (low, high, overflow) = if signed {
            let p = sext(acc, size) as i32 as i64 * sext(src, size) as i32 as i64;
            let low = p as u32 & mask(size);
            let fits = sext(low, size) as i32 as i64 == p;
            (low, (p >> (size * 8)) as u32 & mask(size), !fits)
        } else {
            let p = acc as u64 * (src & mask(size)) as u64;
            let high = (p >> (size * 8)) as u32 & mask(size);
            (p as u32 & mask(size), high, high != 0)
        };
        match size {
            1 => s.set_reg16(reg::EAX, (high << 8 | low) as u16),
            2 => {
                s.set_reg16(reg::EAX, low as u16);
                s.set_reg16(reg::EDX, high as u16);
            }
            _ => {
                s.regs[reg::EAX] = low;
                s.regs[reg::EDX] = high;
            }
        }
        self.set_mul_flags(low, size, overflow);
        Ok(())
    }

    /// IMUL r, r/m and IMUL r, r/m, imm: the product truncated to the destination.
    fn imul_truncating(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let (a, b) = if ins.op_count() == 3 {
            (self.read_op(ins, 1)?, self.read_op(ins, 2)?)
        } else {
            (self.read_op(ins, 0)?, self.read_op(ins, 1)?)
        };
        let p = sext(a & mask(size), size) as i32 as i64 * sext(b & mask(size), size) as i32 as i64;
        let low = p as u32 & mask(size);
        let overflow = sext(low, size) as i32 as i64 != p;
        self.set_reg(ins.op0_register(), low);
        self.set_mul_flags(low, size, overflow);
        Ok(())
    }

    pub(super) fn div(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let divisor = self.read_op(ins, 0)? & mask(size);
        if divisor == 0 {
            return Err(Exception::de());
        }
        let s = &mut self.state;
        let bits = size * 8;
        let dividend: u64 = match size {
            1 => (s.regs[reg::EAX] & 0xffff) as u64,
            2 => ((s.regs[reg::EDX] & 0xffff) as u64) << 16 | (s.regs[reg::EAX] & 0xffff) as u64,
            _ => (s.regs[reg::EDX] as u64) << 32 | s.regs[reg::EAX] as u64,
        };
        let (q, r) = if ins.mnemonic() == Mnemonic::Idiv {
            // Sign-extend the double-width dividend and the divisor.
            let shift = 64 - 2 * bits;
            let n = ((dividend << shift) as i64) >> shift;
            let d = sext(divisor, size) as i32 as i64;
            let q = n.wrapping_div(d);
            let r = n.wrapping_rem(d);
            let min = -(1i64 << (bits - 1));
            let max = (1i64 << (bits - 1)) - 1;
            if q < min || q > max || (n == i64::MIN && d == -1) {
                return Err(Exception::de());
            }
            (q as u32 & mask(size), r as u32 & mask(size))
        } else {
            let q = dividend / divisor as u64;
            if q > mask(size) as u64 {
                return Err(Exception::de());
            }
            (q as u32, (dividend % divisor as u64) as u32)
        };
        match size {
            1 => s.set_reg16(reg::EAX, (r << 8 | q) as u16),
            2 => {
                s.set_reg16(reg::EAX, q as u16);
                s.set_reg16(reg::EDX, r as u16);
            }
            _ => {
                s.regs[reg::EAX] = q;
                s.regs[reg::EDX] = r;
            }
        }
        Ok(())
    }
}
