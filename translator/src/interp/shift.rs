//! Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR SHLD SHRD (SDM Vol. 2
//! "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD").
//!
//! The count is masked to 5 bits; a masked count of 0 changes neither the
//! destination nor any flag. OF is defined only for a count of 1; for other
//! counts vemu applies the one-bit formula to the last step, as QEMU does, so
//! that differential traces agree. AF is undefined (cleared by shifts, untouched
//! by rotates). CF of SHL/SHR is undefined for counts of the operand size or more.

use iced_x86::{Instruction, Mnemonic};

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::flags::{flag_if, op};
use crate::interp::{mask, sign_bit};
use crate::state::fl;

fn parity(v: u32) -> bool {
    (v as u8).count_ones() % 2 == 0
}

/// SF, ZF and PF of a result.
fn szp(r: u32, size: u32) -> u32 {
    let mut f = 0;
    if r & sign_bit(size) != 0 {
        f |= fl::SF;
    }
    if r & mask(size) == 0 {
        f |= fl::ZF;
    }
    if parity(r) {
        f |= fl::PF;
    }
    f
}

impl Cpu {
    pub(super) fn shift(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let bits = size * 8;
        let dst = self.loc(ins, 0);
        let raw_count = if ins.op_count() > 1 { self.read_op(ins, 1)? } else { 1 };
        let count = raw_count & 0x1f;
        let a = self.read_loc_rmw(dst, size)?;
        if count == 0 {
            return Ok(());
        }
        let m = mask(size);
        let msb = sign_bit(size);
        let cf_in = self.state.flags.cf();
        let (r, flags, affected) = match ins.mnemonic() {
            Mnemonic::Shl | Mnemonic::Sal | Mnemonic::Shr | Mnemonic::Sar => {
                // The value before the last one-bit step carries CF and OF (see `op::SHL`).
                let (kind, before_last, r) = match ins.mnemonic() {
                    Mnemonic::Shr => {
                        let v = a >> (count - 1);
                        (op::SHR, v, v >> 1)
                    }
                    Mnemonic::Sar => {
                        let v = ((crate::interp::sext(a, size) as i32) >> (count - 1)) as u32 & m;
                        (op::SAR, v, ((v as i32) << (32 - bits) >> (32 - bits + 1)) as u32 & m)
                    }
                    _ => {
                        let v = a.wrapping_shl(count - 1) & m;
                        (op::SHL, v, (v << 1) & m)
                    }
                };
                self.write_loc(dst, size, r)?;
                self.state.flags.set_lazy(kind | op::size_code(bits), r, before_last, 0);
                return Ok(());
            }
            Mnemonic::Rol => {
                let n = count % bits;
                let r = if n == 0 { a } else { ((a << n) | (a >> (bits - n))) & m };
                let cf = r & 1 != 0;
                let of = (r & msb != 0) != cf;
                (r, flag_if(cf, fl::CF) | flag_if(of, fl::OF), fl::CF | fl::OF)
            }
            Mnemonic::Ror => {
                let n = count % bits;
                let r = if n == 0 { a } else { ((a >> n) | (a << (bits - n))) & m };
                let cf = r & msb != 0;
                let of = (r & msb != 0) != (r & (msb >> 1) != 0);
                (r, flag_if(cf, fl::CF) | flag_if(of, fl::OF), fl::CF | fl::OF)
            }
            Mnemonic::Rcl => {
                let n = count % (bits + 1);
                if n == 0 {
                    // A rotation through CF by a multiple of size+1: nothing moves,
                    // CF is unchanged and OF (undefined) keeps its value, as in QEMU.
                    return Ok(());
                }
                // Rotate the (bits+1)-bit value CF:a left by n.
                let v = (cf_in as u64) << bits | a as u64;
                let width = bits + 1;
                let rot = if n == 0 { v } else { ((v << n) | (v >> (width - n))) & ((1u64 << width) - 1) };
                let r = rot as u32 & m;
                let cf = (rot >> bits) & 1 != 0;
                let of = (r ^ a) & msb != 0; // the sign changed (the SDM formula for a count of 1)
                (r, flag_if(cf, fl::CF) | flag_if(of, fl::OF), fl::CF | fl::OF)
            }
            _ => {
                // RCR
                let n = count % (bits + 1);
                if n == 0 {
                    return Ok(());
                }
                let v = (cf_in as u64) << bits | a as u64;
                let width = bits + 1;
                let rot = if n == 0 { v } else { ((v >> n) | (v << (width - n))) & ((1u64 << width) - 1) };
                let r = rot as u32 & m;
                let cf = (rot >> bits) & 1 != 0;
                let of = (r ^ a) & msb != 0;
                (r, flag_if(cf, fl::CF) | flag_if(of, fl::OF), fl::CF | fl::OF)
            }
        };
        self.write_loc(dst, size, r)?;
        self.state.flags.set_arith(affected, flags);
        Ok(())
    }

    /// SHLD and SHRD: shift the destination, filling from the source.
    pub(super) fn shift_double(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let bits = size * 8;
        let dst = self.loc(ins, 0);
        let src = self.read_op(ins, 1)?;
        let count = self.read_op(ins, 2)? & 0x1f;
        let a = self.read_loc_rmw(dst, size)?;
        if count == 0 {
            return Ok(());
        }
        let m = mask(size);
        let msb = sign_bit(size);
        let left = ins.mnemonic() == Mnemonic::Shld;
        // For 16-bit operands with a count above 16 the result is undefined; vemu
        // shifts the 48-bit dest:src:dest pattern as the hardware does.
        let (r, cf) = if bits == 32 {
            if left {
                let wide = ((a as u64) << 32 | src as u64) << count;
                ((wide >> 32) as u32, (a >> (32 - count)) & 1 != 0)
            } else {
                let wide = ((src as u64) << 32 | a as u64) >> count;
                (wide as u32, (a >> (count - 1)) & 1 != 0)
            }
        } else if left {
            let wide = (a as u64) << 32 | (src as u64 & 0xffff) << 16 | a as u64;
            (((wide >> (32 - count)) & 0xffff) as u32, (wide >> (48 - count)) & 1 != 0)
        } else {
            let wide = (a as u64) << 32 | (src as u64 & 0xffff) << 16 | a as u64;
            (((wide >> count) & 0xffff) as u32, (wide >> (count - 1)) & 1 != 0)
        };
        let r = r & m;
        // OF: the sign change of the last one-bit step (defined for a count of 1
        // only). For larger counts vemu computes it as QEMU's i386 target does:
        // from the destination shifted by count-1 (SHRD of a word includes the
        // source word above it).
        let before_last = if left {
            a.wrapping_shl(count - 1)
        } else if bits == 16 {
            ((src & 0xffff) << 16 | a) >> (count - 1)
        } else {
            a >> (count - 1)
        };
        let of = (r ^ before_last) & msb != 0;
        self.write_loc(dst, size, r)?;
        let flags = szp(r, size) | flag_if(cf, fl::CF) | flag_if(of, fl::OF);
        self.state.flags.set_arith(fl::ARITH, flags);
        Ok(())
    }
}
