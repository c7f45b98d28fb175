//! The x87's 80-bit extended-precision numbers ([`F80`]) and the IEEE rounding
//! every floating-point instruction of vemu goes through.
//!
//! Values are computed exactly in integers ([`Exact`]: a 128-bit significand and
//! an unbounded exponent) and then rounded once by [`round`], to a [`Format`]: the
//! extended format at 64, 53 or 24 bits (the x87's precision control), or the
//! single and double formats of memory operands and SSE. Rounding follows the
//! Intel SDM (Vol. 1 4.8-4.9): the four rounding modes, tininess detected after
//! rounding, underflow raised for a tiny result only when it is also inexact
//! unless the underflow exception is unmasked, and with the x87's wrapped
//! exponent (a bias of 24576) for unmasked overflow and underflow.
//!
//! This module owns the numbers and the arithmetic on them (`arith`), with the
//! x87's handling of NaNs, unsupported encodings and denormal operands. What an
//! instruction does with the result (the register stack, the status word,
//! delivering #MF) belongs to the interpreter's `x87` files. The host processor
//! is the oracle for all of it (`oracle`, tests only).

pub(crate) mod arith;
pub(crate) mod convert;
#[cfg(all(test, target_arch = "x86_64"))]
mod oracle;
pub(crate) mod simd;
#[cfg(all(test, target_arch = "x86_64"))]
mod simd_oracle;
pub(crate) mod trans;

pub use arith::{compare, Ordering};

use std::fmt;

/// The six exception flags, as the x87 status word and MXCSR order them.
pub mod exc {
    pub const IE: u8 = 0x01;
    pub const DE: u8 = 0x02;
    pub const ZE: u8 = 0x04;
    pub const OE: u8 = 0x08;
    pub const UE: u8 = 0x10;
    pub const PE: u8 = 0x20;
}

/// An 80-bit extended-precision value exactly as a register holds it: the
/// sign and 15-bit biased exponent (`se`) and the 64-bit significand with its
/// explicit integer bit (`sig`).
#[repr(C)]
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
pub struct F80 {
    pub sig: u64,
    pub se: u16,
}

impl fmt::Debug for F80 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:016x}", self.se, self.sig)
    }
}

impl std::ops::Neg for F80 {
    type Output = F80;

    /// The sign flipped (FCHS): no rounding, no exceptions, NaNs included.
    fn neg(self) -> F80 {
        F80 { se: self.se ^ 0x8000, ..self }
    }
}

/// What an [`F80`] encodes (SDM Vol. 1 8.2.2, table 8-3).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Class {
    Zero,
    /// Exponent 0 and a nonzero significand, including the pseudo-denormals
    /// (integer bit set), which the x87 reads as denormal operands.
    Denormal,
    Normal,
    Infinity,
    QNaN,
    SNaN,
    /// Unnormals, pseudo-NaNs and pseudo-infinities: a nonzero exponent with the
    /// integer bit clear. The x87 rejects them as invalid operands.
    Unsupported,
}

/// Exponent bias of the extended format.
pub const BIAS: i32 = 16383;
/// The integer bit of an extended significand.
const INT: u64 = 1 << 63;
/// The quiet bit of an extended NaN.
const QUIET: u64 = 1 << 62;
/// The x87 rebiases an unmasked overflow's or underflow's result by this.
const WRAP: i32 = 24576;

impl F80 {
    pub const ZERO: F80 = F80 { sig: 0, se: 0 };
    pub const ONE: F80 = F80 { sig: INT, se: BIAS as u16 };
    /// The default NaN ("real indefinite") a masked invalid operation returns.
    pub const INDEFINITE: F80 = F80 { sig: 0xc000_0000_0000_0000, se: 0xffff };

    pub const fn new(sign: bool, exp: u16, sig: u64) -> F80 {
        F80 { sig, se: (sign as u16) << 15 | (exp & 0x7fff) }
    }

    pub fn infinity(sign: bool) -> F80 {
        F80::new(sign, 0x7fff, INT)
    }

    pub fn zero(sign: bool) -> F80 {
        F80::new(sign, 0, 0)
    }

    pub fn sign(self) -> bool {
        self.se & 0x8000 != 0
    }

    /// The biased exponent field.
    pub fn exp(self) -> u16 {
        self.se & 0x7fff
    }

    pub fn abs(self) -> F80 {
        F80 { se: self.se & 0x7fff, ..self }
    }

    pub fn with_sign(self, sign: bool) -> F80 {
        F80::new(sign, self.exp(), self.sig)
    }

    pub fn class(self) -> Class {
        let e = self.exp();
        if e == 0 {
            return if self.sig == 0 { Class::Zero } else { Class::Denormal };
        }
        if self.sig & INT == 0 {
            return Class::Unsupported;
        }
        if e != 0x7fff {
            return Class::Normal;
        }
        if self.sig << 1 == 0 {
            Class::Infinity
        } else if self.sig & QUIET != 0 {
            Class::QNaN
        } else {
            Class::SNaN
        }
    }

    pub fn is_nan(self) -> bool {
        matches!(self.class(), Class::QNaN | Class::SNaN)
    }

    /// The NaN made quiet.
    pub fn quiet(self) -> F80 {
        F80 { sig: self.sig | QUIET, ..self }
    }

    /// The ten bytes of the memory format.
    pub fn to_bytes(self) -> [u8; 10] {
        let mut b = [0; 10];
        b[..8].copy_from_slice(&self.sig.to_le_bytes());
        b[8..].copy_from_slice(&self.se.to_le_bytes());
        b
    }

    pub fn from_bytes(b: [u8; 10]) -> F80 {
        F80 { sig: u64::from_le_bytes(b[..8].try_into().unwrap()), se: u16::from_le_bytes([b[8], b[9]]) }
    }
}

/// The rounding control (x87 RC, MXCSR RC), in their encoding.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rounding {
    Nearest = 0,
    Down = 1,
    Up = 2,
    Zero = 3,
}

impl Rounding {
    pub fn from_bits(rc: u32) -> Rounding {
        [Rounding::Nearest, Rounding::Down, Rounding::Up, Rounding::Zero][(rc & 3) as usize]
    }
}

/// A destination format: significand bits and the normal exponent range.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Format {
    pub bits: u32,
    pub emin: i32,
    pub emax: i32,
}

impl Format {
    pub const EXTENDED: Format = Format { bits: 64, emin: 1 - BIAS, emax: BIAS };
    pub const DOUBLE: Format = Format { bits: 53, emin: -1022, emax: 1023 };
    pub const SINGLE: Format = Format { bits: 24, emin: -126, emax: 127 };

    /// The extended format rounded as the x87's precision control says (PC 0:
    /// 24 bits, 2: 53 bits, 3 and the reserved 1: 64 bits).
    pub fn extended_pc(pc: u32) -> Format {
        let bits = match pc & 3 {
            0 => 24,
            2 => 53,
            _ => 64,
        };
        Format { bits, ..Format::EXTENDED }
    }
}

/// The environment of one operation: how to round, which exceptions are
/// unmasked (only overflow and underflow change a result), and what happened.
#[derive(Copy, Clone, Debug)]
pub struct Ctx {
    pub rounding: Rounding,
    /// Exception flags the operation raised (`exc`).
    pub flags: u8,
    /// The result's magnitude was rounded up (the x87's C1).
    pub rounded_up: bool,
    /// Unmasked exceptions (`exc` bits).
    pub unmasked: u8,
    /// Unmasked overflow and underflow deliver the result with its exponent
    /// wrapped by 24576, as the x87 does for a register destination.
    pub wrap: bool,
}

impl Ctx {
    pub fn new(rounding: Rounding) -> Ctx {
        Ctx { rounding, flags: 0, rounded_up: false, unmasked: 0, wrap: false }
    }

    pub(crate) fn raise(&mut self, flags: u8) {
        self.flags |= flags;
    }
}

/// A finite value computed exactly (or with every discarded bit folded into
/// bit 0, which rounds the same): `sig * 2^(exp - 127)`, with bit 127 of `sig`
/// set unless the value is zero.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Exact {
    pub sign: bool,
    pub exp: i32,
    pub sig: u128,
}

impl Exact {
    pub fn zero(sign: bool) -> Exact {
        Exact { sign, exp: 0, sig: 0 }
    }

    /// `m * 2^scale`, normalized.
    pub fn from_int(sign: bool, m: u128, scale: i32) -> Exact {
        if m == 0 {
            return Exact::zero(sign);
        }
        let lz = m.leading_zeros();
        Exact { sign, exp: scale + 127 - lz as i32, sig: m << lz }
    }

    /// A finite F80 (zero, denormal, pseudo-denormal or normal).
    pub fn of(x: F80) -> Exact {
        let e = (x.exp() as i32).max(1) - BIAS;
        Exact::from_int(x.sign(), x.sig as u128, e - 63)
    }

    pub fn is_zero(&self) -> bool {
        self.sig == 0
    }
}

/// `v >> shift` with every bit shifted out folded into bit 0.
pub(crate) fn jam(v: u128, shift: u32) -> u128 {
    if shift == 0 {
        v
    } else if shift >= 128 {
        (v != 0) as u128
    } else {
        v >> shift | (v & ((1 << shift) - 1) != 0) as u128
    }
}

/// Drops the low `drop` bits of `sig` by the rounding mode: the kept bits,
/// whether anything was lost, and whether the magnitude was rounded up.
fn round_bits(sig: u128, drop: u32, sign: bool, rc: Rounding) -> (u128, bool, bool) {
    let kept = sig >> drop;
    let rem = sig & ((1 << drop) - 1);
    if rem == 0 {
        return (kept, false, false);
    }
    let half = 1 << (drop - 1);
    let up = match rc {
        Rounding::Nearest => rem > half || (rem == half && kept & 1 == 1),
        Rounding::Down => sign,
        Rounding::Up => !sign,
        Rounding::Zero => false,
    };
    (kept + up as u128, true, up)
}

/// A rounded value: zero, infinity, or `sig * 2^(exp - 63)` where `sig` has
/// the format's precision at its top; bit 63 clear means a denormal (then
/// `exp` is the format's minimum).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rounded {
    Zero(bool),
    Finite { sign: bool, exp: i32, sig: u64 },
    Inf(bool),
}

/// Rounds an exact value to a format once, raising PE, UE and OE as the SDM says.
pub(crate) fn round(x: Exact, fmt: Format, ctx: &mut Ctx) -> Rounded {
    if x.sig == 0 {
        return Rounded::Zero(x.sign);
    }
    let p = fmt.bits;
    let drop = 128 - p;
    let (k, inexact, up) = round_bits(x.sig, drop, x.sign, ctx.rounding);
    let (k, e) = if k >> p != 0 { (k >> 1, x.exp + 1) } else { (k, x.exp) };
    let finite = |exp: i32, k: u128| Rounded::Finite { sign: x.sign, exp, sig: (k as u64) << (64 - p) };
    if e >= fmt.emin {
        if e > fmt.emax {
            if ctx.unmasked & exc::OE != 0 {
                ctx.raise(exc::OE);
                if ctx.wrap {
                    if inexact {
                        ctx.raise(exc::PE);
                    }
                    ctx.rounded_up = up;
                    return finite(e - WRAP, k);
                }
            }
            return overflow(x.sign, fmt, ctx);
        }
        if inexact {
            ctx.raise(exc::PE);
        }
        ctx.rounded_up = up;
        return finite(e, k);
    }
    // Tiny even after rounding.
    if ctx.unmasked & exc::UE != 0 {
        ctx.raise(exc::UE);
        if ctx.wrap {
            if inexact {
                ctx.raise(exc::PE);
            }
            ctx.rounded_up = up;
            return finite(e + WRAP, k);
        }
    }
    let s = jam(x.sig, (fmt.emin - x.exp) as u32);
    let (k, inexact, up) = round_bits(s, drop, x.sign, ctx.rounding);
    if inexact {
        ctx.raise(exc::UE | exc::PE);
    }
    ctx.rounded_up = up;
    if k == 0 {
        Rounded::Zero(x.sign)
    } else {
        finite(fmt.emin, k)
    }
}

/// A masked overflow: infinity or the largest finite value, by the rounding mode.
fn overflow(sign: bool, fmt: Format, ctx: &mut Ctx) -> Rounded {
    ctx.raise(exc::OE | exc::PE);
    let to_inf = match ctx.rounding {
        Rounding::Nearest => true,
        Rounding::Zero => false,
        Rounding::Down => sign,
        Rounding::Up => !sign,
    };
    ctx.rounded_up = to_inf;
    if to_inf {
        Rounded::Inf(sign)
    } else {
        Rounded::Finite { sign, exp: fmt.emax, sig: u64::MAX << (64 - fmt.bits) }
    }
}

impl Rounded {
    /// The extended encoding of a value rounded to an extended format.
    pub fn to_f80(self) -> F80 {
        match self {
            Rounded::Zero(s) => F80::zero(s),
            Rounded::Inf(s) => F80::infinity(s),
            Rounded::Finite { sign, exp, sig } => {
                let e = if sig & INT != 0 { exp + BIAS } else { 0 };
                F80::new(sign, e.clamp(0, 0x7fff) as u16, sig)
            }
        }
    }
}

/// Rounds an exact value to an extended format and encodes it.
pub(crate) fn round_f80(x: Exact, fmt: Format, ctx: &mut Ctx) -> F80 {
    round(x, fmt, ctx).to_f80()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(F80::ZERO.class(), Class::Zero);
        assert_eq!(F80::ONE.class(), Class::Normal);
        assert_eq!(F80::INDEFINITE.class(), Class::QNaN);
        assert_eq!(F80::new(false, 0x7fff, INT | 1).class(), Class::SNaN);
        assert_eq!(F80::infinity(true).class(), Class::Infinity);
        assert_eq!(F80::new(false, 0, INT).class(), Class::Denormal);
        assert_eq!(F80::new(false, 5, 1).class(), Class::Unsupported);
        assert_eq!(F80::new(false, 0x7fff, 0).class(), Class::Unsupported);
    }

    #[test]
    fn rounding_to_nearest_even_at_each_precision() {
        // 1 + 2^-24 is a tie at 24 bits: it rounds to even (1.0).
        let x = Exact::from_int(false, (1 << 24) + 1, -24);
        let mut ctx = Ctx::new(Rounding::Nearest);
        assert_eq!(round_f80(x, Format::extended_pc(0), &mut ctx), F80::ONE);
        assert_eq!(ctx.flags, exc::PE);
        assert!(!ctx.rounded_up);
        let mut ctx = Ctx::new(Rounding::Up);
        let r = round_f80(x, Format::extended_pc(0), &mut ctx);
        assert_eq!(r, F80::new(false, BIAS as u16, INT | 1 << 40));
        assert!(ctx.rounded_up);
        let mut ctx = Ctx::new(Rounding::Nearest);
        assert_eq!(round_f80(x, Format::EXTENDED, &mut ctx), F80::new(false, BIAS as u16, INT | 1 << 39));
        assert_eq!(ctx.flags, 0);
    }

    #[test]
    fn overflow_and_underflow() {
        let huge = Exact::from_int(true, 1, 20000);
        let mut ctx = Ctx::new(Rounding::Zero);
        assert_eq!(round_f80(huge, Format::EXTENDED, &mut ctx), F80::new(true, 0x7ffe, u64::MAX));
        assert_eq!(ctx.flags, exc::OE | exc::PE);
        let mut ctx = Ctx { unmasked: exc::OE, wrap: true, ..Ctx::new(Rounding::Nearest) };
        assert_eq!(
            round_f80(huge, Format::EXTENDED, &mut ctx),
            F80::new(true, (20000 + BIAS - WRAP) as u16, INT)
        );
        assert_eq!(ctx.flags, exc::OE);
        // An exact denormal raises nothing while underflow is masked.
        let tiny = Exact::from_int(false, 1, -16400);
        let mut ctx = Ctx::new(Rounding::Nearest);
        assert_eq!(round_f80(tiny, Format::EXTENDED, &mut ctx), F80::new(false, 0, 1 << 45));
        assert_eq!(ctx.flags, 0);
        let mut ctx = Ctx { unmasked: exc::UE, ..Ctx::new(Rounding::Nearest) };
        round_f80(tiny, Format::EXTENDED, &mut ctx);
        assert_eq!(ctx.flags, exc::UE);
    }
}
