//! EFLAGS, with the arithmetic flags computed lazily.
//!
//! Most instructions write all six arithmetic flags and most of those flags are
//! never read. So the common flag-setting operations (ADD, ADC, SUB, SBB, CMP,
//! NEG, INC, DEC and the logic group) record only what they did (the operation
//! and operand size, both inputs and the result); the flags are derived when
//! something reads them: a condition, PUSHF, LAHF, an interrupt. Everything else
//! (shifts, multiplies, BCD, POPF, ...) writes the flags eagerly. Both tiers use
//! this record; the layout is `#[repr(C)]` so generated code can fill it.

use crate::state::fl;

/// The operation behind the lazily kept arithmetic flags: kind * 4 + size code
/// (0: 8-bit, 1: 16-bit, 2: 32-bit). [`op::NONE`] means `bits` holds them.
pub mod op {
    pub const NONE: u32 = 0;
    pub const ADD: u32 = 1 << 2;
    /// ADD with a carry in (ADC with CF=1).
    pub const ADC: u32 = 2 << 2;
    pub const SUB: u32 = 3 << 2;
    /// SUB with a borrow in (SBB with CF=1).
    pub const SBB: u32 = 4 << 2;
    /// AND, OR, XOR, TEST: CF=OF=0 (and AF=0, which the SDM leaves undefined).
    pub const LOGIC: u32 = 5 << 2;
    /// ADD 1 keeping CF (which must already be in `bits`).
    pub const INC: u32 = 6 << 2;
    /// SUB 1 keeping CF (which must already be in `bits`).
    pub const DEC: u32 = 7 << 2;
    /// SHL, SHR, SAR by a non-zero count: `src1` holds the value before the last
    /// one-bit step (CF comes out of it, and OF as QEMU computes it for every
    /// count: SHL MSB(res)^CF, SHR MSB(src1), SAR 0); AF is cleared.
    pub const SHL: u32 = 8 << 2;
    pub const SHR: u32 = 9 << 2;
    pub const SAR: u32 = 10 << 2;

    pub const SIZE8: u32 = 0;
    pub const SIZE16: u32 = 1;
    pub const SIZE32: u32 = 2;

    /// Size code of an operand of `bits` bits.
    #[inline]
    pub fn size_code(bits: u32) -> u32 {
        match bits {
            8 => SIZE8,
            16 => SIZE16,
            _ => SIZE32,
        }
    }
}

/// EFLAGS with lazily evaluated arithmetic flags.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    /// The register; its arithmetic bits are stale unless `op == op::NONE`.
    pub bits: u32,
    /// See [`op`].
    pub op: u32,
    /// Result of the operation, masked to its size.
    pub res: u32,
    /// First operand (destination before the operation), masked.
    pub src1: u32,
    /// Second operand, masked.
    pub src2: u32,
}

/// `flag` if `on`, else 0.
#[inline]
pub(crate) fn flag_if(on: bool, flag: u32) -> u32 {
    if on {
        flag
    } else {
        0
    }
}

#[inline]
fn parity(v: u32) -> bool {
    (v as u8).count_ones() % 2 == 0
}

#[inline]
fn size_mask(size: u32) -> (u32, u32) {
    match size {
        op::SIZE8 => (0xff, 0x80),
        op::SIZE16 => (0xffff, 0x8000),
        _ => (0xffff_ffff, 0x8000_0000),
    }
}

impl Flags {
    pub fn new(bits: u32) -> Flags {
        Flags { bits, op: op::NONE, res: 0, src1: 0, src2: 0 }
    }

    /// Records a lazily evaluated operation (values already masked to the size).
    #[inline]
    pub fn set_lazy(&mut self, op: u32, res: u32, src1: u32, src2: u32) {
        if op & !3 == op::INC || op & !3 == op::DEC {
            // CF survives INC and DEC: make sure `bits` holds it.
            let cf = self.cf();
            self.bits = (self.bits & !fl::CF) | cf as u32;
        }
        self.op = op;
        self.res = res;
        self.src1 = src1;
        self.src2 = src2;
    }

    /// The full register.
    #[inline]
    pub fn get(&self) -> u32 {
        if self.op == op::NONE {
            self.bits
        } else {
            (self.bits & !fl::ARITH) | self.arith()
        }
    }

    /// Replaces the whole register.
    #[inline]
    pub fn set(&mut self, value: u32) {
        self.bits = value;
        self.op = op::NONE;
    }

    /// Folds the lazy record into `bits`.
    #[inline]
    pub fn materialize(&mut self) {
        if self.op != op::NONE {
            self.bits = self.get();
            self.op = op::NONE;
        }
    }

    /// Sets the arithmetic flags in `mask` to those of `values`, leaving the others.
    #[inline]
    pub fn set_arith(&mut self, mask: u32, values: u32) {
        self.materialize();
        self.bits = (self.bits & !mask) | (values & mask);
    }

    /// Sets one flag bit.
    #[inline]
    pub fn set_flag(&mut self, flag: u32, on: bool) {
        self.set_arith(flag, if on { flag } else { 0 });
    }

    /// The six arithmetic flags as EFLAGS bits.
    pub fn arith(&self) -> u32 {
        if self.op == op::NONE {
            return self.bits & fl::ARITH;
        }
        let (mask, sign) = size_mask(self.op & 3);
        let (a, b, r) = (self.src1, self.src2, self.res);
        let kind = self.op & !3;
        let (cf, of, af) = match kind {
            op::ADD => (r < a, (a ^ r) & (b ^ r) & sign != 0, (a ^ b ^ r) & 0x10 != 0),
            op::ADC => (r <= a, (a ^ r) & (b ^ r) & sign != 0, (a ^ b ^ r) & 0x10 != 0),
            op::SUB => (a < b, (a ^ b) & (a ^ r) & sign != 0, (a ^ b ^ r) & 0x10 != 0),
            op::SBB => (a <= b, (a ^ b) & (a ^ r) & sign != 0, (a ^ b ^ r) & 0x10 != 0),
            op::INC => (self.bits & fl::CF != 0, r == sign, r & 0xf == 0),
            op::DEC => (self.bits & fl::CF != 0, r == sign - 1, r & 0xf == 0xf),
            op::SHL => {
                let cf = a & sign != 0;
                (cf, (r & sign != 0) != cf, false)
            }
            op::SHR => (a & 1 != 0, a & sign != 0, false),
            op::SAR => (a & 1 != 0, false, false),
            _ => (false, false, false),
        };
        flag_if(cf, fl::CF)
            | flag_if(of, fl::OF)
            | flag_if(af, fl::AF)
            | flag_if(parity(r), fl::PF)
            | flag_if(r & mask == 0, fl::ZF)
            | flag_if(r & sign != 0, fl::SF)
    }

    #[inline]
    pub fn cf(&self) -> bool {
        match self.op & !3 {
            op::NONE | op::INC | op::DEC => self.bits & fl::CF != 0,
            op::ADD => self.res < self.src1,
            op::ADC => self.res <= self.src1,
            op::SUB => self.src1 < self.src2,
            op::SBB => self.src1 <= self.src2,
            op::SHL => self.src1 & size_mask(self.op & 3).1 != 0,
            op::SHR | op::SAR => self.src1 & 1 != 0,
            _ => false,
        }
    }

    #[inline]
    pub fn zf(&self) -> bool {
        if self.op == op::NONE {
            self.bits & fl::ZF != 0
        } else {
            self.res == 0
        }
    }

    #[inline]
    pub fn sf(&self) -> bool {
        if self.op == op::NONE {
            self.bits & fl::SF != 0
        } else {
            self.res & size_mask(self.op & 3).1 != 0
        }
    }

    #[inline]
    pub fn of(&self) -> bool {
        self.arith() & fl::OF != 0
    }

    /// Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc:
    /// 0 O, 1 NO, 2 B, 3 AE, 4 E, 5 NE, 6 BE, 7 A, 8 S, 9 NS, A P, B NP, C L, D GE,
    /// E LE, F G).
    #[inline]
    pub fn condition(&self, cc: u8) -> bool {
        // After SUB/CMP the unsigned and signed comparisons read the operands.
        let kind = self.op & !3;
        let result = if kind == op::SUB {
            let (_, sign) = size_mask(self.op & 3);
            let (a, b) = (self.src1, self.src2);
            let (sa, sb) = ((a ^ sign) as i64, (b ^ sign) as i64); // order-preserving
            match cc >> 1 {
                1 => a < b,
                2 => a == b,
                3 => a <= b,
                6 => sa < sb,
                7 => sa <= sb,
                _ => return self.condition_from_bits(cc),
            }
        } else {
            return self.condition_from_bits(cc);
        };
        result ^ (cc & 1 != 0)
    }

    fn condition_from_bits(&self, cc: u8) -> bool {
        let f = self.get();
        let (cf, zf, sf, of, pf) =
            (f & fl::CF != 0, f & fl::ZF != 0, f & fl::SF != 0, f & fl::OF != 0, f & fl::PF != 0);
        let r = match cc >> 1 {
            0 => of,
            1 => cf,
            2 => zf,
            3 => cf || zf,
            4 => sf,
            5 => pf,
            6 => sf != of,
            _ => zf || sf != of,
        };
        r ^ (cc & 1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy(opc: u32, res: u32, a: u32, b: u32) -> Flags {
        let mut f = Flags::new(fl::FIXED1);
        f.set_lazy(opc, res, a, b);
        f
    }

    #[test]
    fn add_flags() {
        // 0x7f + 1 = 0x80: OF, SF, AF; no CF
        let f = lazy(op::ADD | op::SIZE8, 0x80, 0x7f, 1);
        assert_eq!(f.arith(), fl::OF | fl::SF | fl::AF);
        // 0xff + 1 = 0x00: CF, ZF, AF, PF
        let f = lazy(op::ADD | op::SIZE8, 0, 0xff, 1);
        assert_eq!(f.arith(), fl::CF | fl::ZF | fl::AF | fl::PF);
        // ADC 0xffff + 0xffff + 1 = 0xffff carry
        let f = lazy(op::ADC | op::SIZE16, 0xffff, 0xffff, 0xffff);
        assert_eq!(f.arith() & (fl::CF | fl::OF | fl::ZF), fl::CF);
    }

    #[test]
    fn sub_flags_and_conditions() {
        // 0 - 1 = 0xffffffff: CF, SF, AF, PF
        let f = lazy(op::SUB | op::SIZE32, 0xffff_ffff, 0, 1);
        assert_eq!(f.arith(), fl::CF | fl::SF | fl::AF | fl::PF);
        assert!(f.condition(0x2)); // B
        assert!(f.condition(0xc)); // L: 0 < 1 signed
        assert!(!f.condition(0xf)); // G
                                    // 0x80 - 1 = 0x7f (8-bit): OF
        let f = lazy(op::SUB | op::SIZE8, 0x7f, 0x80, 1);
        assert_eq!(f.arith() & (fl::OF | fl::CF | fl::SF), fl::OF);
        assert!(f.condition(0xc)); // -128 < 1
        assert!(f.condition(0x7)); // A: 0x80 > 1 unsigned
                                   // SBB with borrow in: 5 - 5 - 1 borrows
        let f = lazy(op::SBB | op::SIZE8, 0xff, 5, 5);
        assert!(f.cf());
    }

    #[test]
    fn inc_dec_keep_cf() {
        let mut f = Flags::new(fl::FIXED1 | fl::CF);
        f.set_lazy(op::INC | op::SIZE32, 0, 0xffff_ffff, 1);
        assert_eq!(f.arith(), fl::CF | fl::ZF | fl::PF | fl::AF);
        let mut f = Flags::new(fl::FIXED1);
        f.set_lazy(op::SUB | op::SIZE8, 0xff, 0, 1); // CF=1 lazily
        f.set_lazy(op::DEC | op::SIZE8, 0x7f, 0x80, 1);
        assert_eq!(f.arith(), fl::CF | fl::OF | fl::AF);
    }

    #[test]
    fn all_conditions_agree_with_materialized_bits() {
        let cases = [(0u32, 0u32), (1, 2), (2, 1), (0x80, 1), (1, 0x80), (0xff, 0xff), (0x7f, 0x80)];
        for (a, b) in cases {
            let r = a.wrapping_sub(b) & 0xff;
            let f = lazy(op::SUB | op::SIZE8, r, a, b);
            let m = Flags::new(f.get());
            for cc in 0..16 {
                assert_eq!(f.condition(cc), m.condition(cc), "cc {cc:x} for {a:#x}-{b:#x}");
            }
        }
    }

    #[test]
    fn shifts() {
        // shl al, 1 with al = 0xc0: before-last 0xc0, result 0x80: CF=1, OF=0, SF
        let f = lazy(op::SHL | op::SIZE8, 0x80, 0xc0, 0);
        assert_eq!(f.arith(), fl::CF | fl::SF);
        // shr ax, 2 with ax = 0x8003: before-last 0x4001, result 0x2000: CF=1, OF=0
        let f = lazy(op::SHR | op::SIZE16, 0x2000, 0x4001, 0);
        assert_eq!(f.arith(), fl::CF | fl::PF);
        // sar eax, 1 with eax = 0x80000001: CF=1, OF=0, SF
        let f = lazy(op::SAR | op::SIZE32, 0xc000_0000, 0x8000_0001, 0);
        assert_eq!(f.arith(), fl::CF | fl::SF | fl::PF);
        assert!(f.cf());
    }

    #[test]
    fn logic_clears_cf_of() {
        let mut f = Flags::new(fl::FIXED1 | fl::CF | fl::OF);
        f.set_lazy(op::LOGIC | op::SIZE16, 0x8000, 0, 0);
        assert_eq!(f.arith(), fl::SF | fl::PF);
    }
}
