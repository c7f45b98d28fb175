//! Conversions between [`F80`] and the other formats: single and double
//! precision, 16/32/64-bit integers and 18-digit packed BCD.

use super::arith::to_integer;
use super::simd::{self, Kind, Width};
use super::{exc, round, round_f80, Class, Ctx, Exact, Format, Rounded, Rounding, F80, INT};

/// FLD of a single or double: exact (an SNaN raises IE and is made quiet, a
/// denormal raises DE).
fn widen(bits: u64, w: Width, ctx: &mut Ctx) -> F80 {
    let k = simd::kind(bits, w, false);
    let sign = simd::sign(bits, w);
    match k {
        Kind::Infinity => F80::infinity(sign),
        Kind::QNaN | Kind::SNaN => {
            if k == Kind::SNaN {
                ctx.raise(exc::IE);
            }
            let frac = bits & ((1 << w.frac_bits()) - 1);
            F80::new(sign, 0x7fff, INT | frac << (63 - w.frac_bits())).quiet()
        }
        _ => {
            if k == Kind::Denormal {
                ctx.raise(exc::DE);
            }
            round_f80(simd::exact(bits, w, k), Format::EXTENDED, ctx)
        }
    }
}

/// FLD m32.
pub fn from_f32(bits: u32, ctx: &mut Ctx) -> F80 {
    widen(bits as u64, Width::Single, ctx)
}

/// FLD m64.
pub fn from_f64(bits: u64, ctx: &mut Ctx) -> F80 {
    widen(bits, Width::Double, ctx)
}

/// FST of a single or double: rounded to it (an unsupported encoding gives
/// the default NaN, a NaN keeps the top of its payload).
fn narrow(a: F80, w: Width, ctx: &mut Ctx) -> u64 {
    match a.class() {
        Class::Unsupported => {
            ctx.raise(exc::IE);
            w.default_nan()
        }
        c @ (Class::SNaN | Class::QNaN) => {
            if c == Class::SNaN {
                ctx.raise(exc::IE);
            }
            let inf = simd::encode(Rounded::Inf(a.sign()), w);
            w.quiet(inf | (a.sig << 1 >> (64 - w.frac_bits())))
        }
        Class::Infinity => simd::encode(Rounded::Inf(a.sign()), w),
        Class::Zero => simd::encode(Rounded::Zero(a.sign()), w),
        Class::Denormal | Class::Normal => simd::encode(round(Exact::of(a), w.format(), ctx), w),
    }
}

/// FST m32: rounded to single precision.
pub fn to_f32(a: F80, ctx: &mut Ctx) -> u32 {
    narrow(a, Width::Single, ctx) as u32
}

/// FST m64: rounded to double precision.
pub fn to_f64(a: F80, ctx: &mut Ctx) -> u64 {
    narrow(a, Width::Double, ctx)
}

/// FILD: any 64-bit integer is exact in the extended format.
pub fn from_i64(v: i64) -> F80 {
    let mut ctx = Ctx::new(Rounding::Nearest);
    round_f80(Exact::from_int(v < 0, v.unsigned_abs() as u128, 0), Format::EXTENDED, &mut ctx)
}

/// FIST/FISTP to a `bits`-wide integer (16, 32 or 64), rounded by the mode
/// (or truncated, for FISTTP and CVTT*). A NaN, infinity or value out of range
/// raises IE and gives `None` (the caller stores the integer indefinite).
pub fn to_int(a: F80, bits: u32, truncate: bool, ctx: &mut Ctx) -> Option<i64> {
    match a.class() {
        Class::Unsupported | Class::SNaN | Class::QNaN | Class::Infinity => {
            ctx.raise(exc::IE);
            return None;
        }
        Class::Zero => return Some(0),
        Class::Denormal | Class::Normal => {}
    }
    let rc = if truncate { Rounding::Zero } else { ctx.rounding };
    let (k, inexact, up) = to_integer(Exact::of(a), rc);
    let limit = 1u128 << (bits - 1);
    if k > limit || (k == limit && !a.sign()) {
        ctx.raise(exc::IE);
        return None;
    }
    if inexact {
        ctx.raise(exc::PE);
    }
    ctx.rounded_up = up;
    let v = k as i64;
    Some(if a.sign() { v.wrapping_neg() } else { v })
}

/// FBLD: 18 packed BCD digits and a sign byte, exactly.
pub fn from_bcd(b: [u8; 10]) -> F80 {
    let mut v: u64 = 0;
    for &byte in b[..9].iter().rev() {
        v = v * 100 + (byte >> 4) as u64 * 10 + (byte & 15) as u64;
    }
    let x = from_i64(v as i64);
    if b[9] & 0x80 != 0 {
        -x
    } else {
        x
    }
}

/// The packed BCD indefinite FBSTP stores for an invalid operand.
pub const BCD_INDEFINITE: [u8; 10] = [0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff];

/// FBSTP: rounded to an integer by the mode; `None` (IE raised) when it has
/// more than 18 digits or is not a number.
pub fn to_bcd(a: F80, ctx: &mut Ctx) -> Option<[u8; 10]> {
    let v = to_int(a, 64, false, ctx)?;
    let mut m = v.unsigned_abs();
    if m >= 1_000_000_000_000_000_000 {
        ctx.raise(exc::IE);
        ctx.flags &= !exc::PE;
        return None;
    }
    let mut b = [0u8; 10];
    for byte in b.iter_mut().take(9) {
        let lo = (m % 10) as u8;
        m /= 10;
        let hi = (m % 10) as u8;
        m /= 10;
        *byte = hi << 4 | lo;
    }
    if a.sign() {
        b[9] = 0x80;
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_round_trip() {
        let mut ctx = Ctx::new(Rounding::Nearest);
        for v in [0.0, -0.0, 1.0, -2.5, 1e300, 5e-324, f64::INFINITY, f64::MAX] {
            let x = from_f64(v.to_bits(), &mut ctx);
            assert_eq!(to_f64(x, &mut ctx), v.to_bits(), "{v}");
        }
        assert_eq!(ctx.flags, exc::DE);
    }

    #[test]
    fn integers_and_bcd() {
        let mut ctx = Ctx::new(Rounding::Nearest);
        assert_eq!(to_int(from_i64(-12345), 16, false, &mut ctx), Some(-12345));
        assert_eq!(to_int(from_i64(40000), 16, false, &mut ctx), None);
        assert_eq!(ctx.flags, exc::IE);
        let mut ctx = Ctx::new(Rounding::Nearest);
        let bcd = to_bcd(from_i64(-987654321), &mut ctx).unwrap();
        assert_eq!(bcd, [0x21, 0x43, 0x65, 0x87, 0x09, 0, 0, 0, 0, 0x80]);
        assert_eq!(from_bcd(bcd), from_i64(-987654321));
    }
}
