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

/// The flags a shift or rotate leaves.
pub(crate) enum ShiftFlags {
    /// A masked count of 0 (or RCL/RCR by a multiple of size+1).
    Unchanged,
    /// SHL, SHR, SAR: kept lazily (see `op::SHL`).
    Lazy { kind: u32, result: u32, before_last: u32 },
    /// ROL, ROR, RCL, RCR: CF and OF.
    Arith { affected: u32, flags: u32 },
}

impl Cpu {
    pub(super) fn shift(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let dst = self.loc(ins, 0);
        let raw_count = if ins.op_count() > 1 { self.read_op(ins, 1)? } else { 1 };
        let a = self.read_loc_rmw(dst, size)?;
        let (r, flags) = self.shift_step(ins.mnemonic(), size, a, raw_count);
        if let ShiftFlags::Unchanged = flags {
            return Ok(());
        }
        self.write_loc(dst, size, r)?;
        self.set_shift_flags(size, flags);
        Ok(())
    }

    /// What SHL/SAL, SHR, SAR, ROL, ROR, RCL or RCR (`mn`) by `raw_count` does
    /// to the `size`-byte value `a`: the result, and the flags it leaves
    /// (RCL and RCR read CF).
    pub(crate) fn shift_step(&self, mn: Mnemonic, size: u32, a: u32, raw_count: u32) -> (u32, ShiftFlags) {
        let bits = size * 8;
        let count = raw_count & 0x1f;
        if count == 0 {
            return (a, ShiftFlags::Unchanged);
        }
        let m = mask(size);
        let msb = sign_bit(size);
        let cf_in = self.state.flags.cf();
        let rotated = |r: u32, cf: bool, of: bool| {
            (
                r,
                ShiftFlags::Arith {
                    affected: fl::CF | fl::OF,
                    flags: flag_if(cf, fl::CF) | flag_if(of, fl::OF),
                },
            )
        };
        match mn {
            Mnemonic::Shl | Mnemonic::Sal | Mnemonic::Shr | Mnemonic::Sar => {
                // The value before the last one-bit step carries CF and OF (see `op::SHL`).
                let (kind, before_last, r) = match mn {
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
                (r, ShiftFlags::Lazy { kind, result: r, before_last })
            }
            Mnemonic::Rol => {
                let n = count % bits;
                let r = if n == 0 { a } else { ((a << n) | (a >> (bits - n))) & m };
                let cf = r & 1 != 0;
                rotated(r, cf, (r & msb != 0) != cf)
            }
            Mnemonic::Ror => {
                let n = count % bits;
                let r = if n == 0 { a } else { ((a >> n) | (a << (bits - n))) & m };
                rotated(r, r & msb != 0, (r & msb != 0) != (r & (msb >> 1) != 0))
            }
            _ => {
                // RCL, RCR: a rotation of the (bits+1)-bit value CF:a.
                let n = count % (bits + 1);
                if n == 0 {
                    // By a multiple of size+1 nothing moves, CF is unchanged
                    // and OF (undefined) keeps its value, as in QEMU.
                    return (a, ShiftFlags::Unchanged);
                }
                let v = (cf_in as u64) << bits | a as u64;
                let width = bits + 1;
                let all = (1u64 << width) - 1;
                let rot = if mn == Mnemonic::Rcl {
                    ((v << n) | (v >> (width - n))) & all
                } else {
                    ((v >> n) | (v << (width - n))) & all
                };
                let r = rot as u32 & m;
                // OF: the sign changed (the SDM formula for a count of 1).
                rotated(r, (rot >> bits) & 1 != 0, (r ^ a) & msb != 0)
            }
        }
    }

    /// Sets the flags a [`Cpu::shift_step`] of a `size`-byte value left.
    pub(crate) fn set_shift_flags(&mut self, size: u32, flags: ShiftFlags) {
        match flags {
            ShiftFlags::Unchanged => {}
            ShiftFlags::Lazy { kind, result, before_last } => {
                self.state.flags.set_lazy(kind | op::size_code(size * 8), result, before_last, 0)
            }
            ShiftFlags::Arith { affected, flags } => self.state.flags.set_arith(affected, flags),
        }
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
