//! Arithmetic on [`F80`] values as the x87 does it: the special operands first
//! (unsupported encodings and signaling NaNs are invalid, NaNs propagate, a
//! denormal operand raises DE), then the exact result, rounded once.

use super::{exc, jam, round, round_f80, Class, Ctx, Exact, Format, Rounding, F80, INT};

/// The result of a comparison.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ordering {
    Less,
    Equal,
    Greater,
    Unordered,
}

/// The NaN an operation on two operands returns when either is a NaN (SDM
/// Vol. 1 table 4-7): a signaling NaN raises IE; a QNaN wins over an SNaN;
/// between two of a kind the larger significand wins, then the positive one.
pub(crate) fn propagate_nan(a: F80, b: F80, ctx: &mut Ctx) -> F80 {
    let (ca, cb) = (a.class(), b.class());
    let (sa, sb) = (ca == Class::SNaN, cb == Class::SNaN);
    if sa || sb {
        ctx.raise(exc::IE);
    }
    let (na, nb) = (a.is_nan(), b.is_nan());
    let pick = if na && nb && sa == sb {
        let (ma, mb) = (a.sig & !INT, b.sig & !INT);
        if ma != mb {
            if ma > mb {
                a
            } else {
                b
            }
        } else if a.se < b.se {
            a
        } else {
            b
        }
    } else if na && nb {
        // One quiet, one signaling: the quiet one.
        if sa {
            b
        } else {
            a
        }
    } else if na {
        a
    } else {
        b
    };
    pick.quiet()
}

/// Handles the operands no arithmetic is done on: an unsupported encoding
/// gives the default NaN, a NaN propagates. Otherwise returns `None`; the
/// operation then checks for its invalid cases and zero divide, which take
/// precedence over the denormal-operand flag ([`denormal`]).
pub(crate) fn special2(a: F80, b: F80, ctx: &mut Ctx) -> Option<F80> {
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Unsupported || cb == Class::Unsupported {
        ctx.raise(exc::IE);
        return Some(F80::INDEFINITE);
    }
    if a.is_nan() || b.is_nan() {
        return Some(propagate_nan(a, b, ctx));
    }
    None
}

/// [`special2`] for one operand.
pub(crate) fn special1(a: F80, ctx: &mut Ctx) -> Option<F80> {
    match a.class() {
        Class::Unsupported => {
            ctx.raise(exc::IE);
            Some(F80::INDEFINITE)
        }
        Class::SNaN => {
            ctx.raise(exc::IE);
            Some(a.quiet())
        }
        Class::QNaN => Some(a),
        _ => None,
    }
}

/// Raises DE if any operand is a denormal (or pseudo-denormal).
pub(crate) fn denormal(ops: &[F80], ctx: &mut Ctx) {
    if ops.iter().any(|x| x.class() == Class::Denormal) {
        ctx.raise(exc::DE);
    }
}

fn invalid(ctx: &mut Ctx) -> F80 {
    ctx.raise(exc::IE);
    F80::INDEFINITE
}

/// The sign of an exact zero sum of operands of opposite signs.
fn zero_sum_sign(ctx: &Ctx) -> bool {
    ctx.rounding == Rounding::Down
}

/// `a + b`, exactly (neither is zero).
pub(crate) fn add_exact(a: Exact, b: Exact, ctx: &Ctx) -> Exact {
    let (big, small) = if (a.exp, a.sig) >= (b.exp, b.sig) { (a, b) } else { (b, a) };
    let d = (big.exp - small.exp) as u32;
    let x = jam(big.sig, 1);
    let y = jam(small.sig, d.saturating_add(1));
    if big.sign == small.sign {
        Exact::from_int(big.sign, x + y, big.exp + 1 - 127)
    } else if x == y {
        Exact::zero(zero_sum_sign(ctx))
    } else {
        Exact::from_int(big.sign, x - y, big.exp + 1 - 127)
    }
}

/// FADD: `a + b` rounded to `fmt`.
pub fn add(a: F80, b: F80, fmt: Format, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special2(a, b, ctx) {
        return r;
    }
    add_finite_or_inf(a, b, fmt, ctx)
}

/// FSUB: `a - b` rounded to `fmt`.
pub fn sub(a: F80, b: F80, fmt: Format, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special2(a, b, ctx) {
        return r;
    }
    add_finite_or_inf(a, -b, fmt, ctx)
}

fn add_finite_or_inf(a: F80, b: F80, fmt: Format, ctx: &mut Ctx) -> F80 {
    let (ia, ib) = (a.class() == Class::Infinity, b.class() == Class::Infinity);
    if ia || ib {
        if ia && ib && a.sign() != b.sign() {
            return invalid(ctx);
        }
        denormal(&[a, b], ctx);
        return if ia { a } else { b };
    }
    denormal(&[a, b], ctx);
    let (x, y) = (Exact::of(a), Exact::of(b));
    let r = match (x.is_zero(), y.is_zero()) {
        (true, true) => Exact::zero(if x.sign == y.sign { x.sign } else { zero_sum_sign(ctx) }),
        (true, false) => y,
        (false, true) => x,
        (false, false) => add_exact(x, y, ctx),
    };
    round_f80(r, fmt, ctx)
}

/// `a * b`, exactly enough to round (the low half folded into bit 0).
pub(crate) fn mul_exact(a: Exact, b: Exact) -> Exact {
    let sign = a.sign != b.sign;
    if a.is_zero() || b.is_zero() {
        return Exact::zero(sign);
    }
    let (hi, lo) = mul128(a.sig, b.sig);
    let e = a.exp + b.exp;
    if hi >> 127 != 0 {
        Exact { sign, exp: e + 1, sig: hi | (lo != 0) as u128 }
    } else {
        Exact { sign, exp: e, sig: (hi << 1 | lo >> 127) | (lo << 1 != 0) as u128 }
    }
}

/// The full 256-bit product of two 128-bit numbers, as (high, low).
pub(crate) fn mul128(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & u64::MAX as u128);
    let (b1, b0) = (b >> 64, b & u64::MAX as u128);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & u64::MAX as u128) + (p10 & u64::MAX as u128);
    let lo = (p00 & u64::MAX as u128) | mid << 64;
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// FMUL: `a * b` rounded to `fmt`.
pub fn mul(a: F80, b: F80, fmt: Format, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special2(a, b, ctx) {
        return r;
    }
    let sign = a.sign() != b.sign();
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Infinity || cb == Class::Infinity {
        if ca == Class::Zero || cb == Class::Zero {
            return invalid(ctx);
        }
        denormal(&[a, b], ctx);
        return F80::infinity(sign);
    }
    denormal(&[a, b], ctx);
    round_f80(mul_exact(Exact::of(a), Exact::of(b)), fmt, ctx)
}

/// `a / b` for finite nonzero extended values (64-bit significands).
pub(crate) fn div_exact(a: Exact, b: Exact) -> Exact {
    let (ah, bh) = (a.sig >> 64, b.sig >> 64);
    let n = ah << 64;
    let (q1, r1) = (n / bh, n % bh);
    let n2 = r1 << 64;
    let (q2, r2) = (n2 / bh, n2 % bh);
    let m = q1 << 63 | q2 >> 1 | (q2 & 1 != 0 || r2 != 0) as u128;
    Exact::from_int(a.sign != b.sign, m, a.exp - b.exp - 127)
}

/// FDIV: `a / b` rounded to `fmt`.
pub fn div(a: F80, b: F80, fmt: Format, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special2(a, b, ctx) {
        return r;
    }
    let sign = a.sign() != b.sign();
    match (a.class(), b.class()) {
        (Class::Infinity, Class::Infinity) | (Class::Zero, Class::Zero) => return invalid(ctx),
        (Class::Normal | Class::Denormal, Class::Zero) => {
            ctx.raise(exc::ZE);
            return F80::infinity(sign);
        }
        _ => {}
    }
    denormal(&[a, b], ctx);
    match (a.class(), b.class()) {
        (Class::Infinity, _) => F80::infinity(sign),
        (_, Class::Infinity) => F80::zero(sign),
        (Class::Zero, _) => F80::zero(sign),
        _ => round_f80(div_exact(Exact::of(a), Exact::of(b)), fmt, ctx),
    }
}

/// FSQRT: the square root rounded to `fmt`.
pub fn sqrt(a: F80, fmt: Format, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special1(a, ctx) {
        return r;
    }
    match a.class() {
        Class::Zero => return a,
        Class::Infinity if !a.sign() => return a,
        _ if a.sign() => return invalid(ctx),
        _ => {}
    }
    denormal(&[a], ctx);
    round_f80(sqrt_exact(Exact::of(a)), fmt, ctx)
}

/// The square root of a positive value with at most 64 significant bits,
/// to 65 bits and a sticky bit.
pub(crate) fn sqrt_exact(x: Exact) -> Exact {
    // x = m * 2^k with an even k.
    let mut m = x.sig >> 64;
    let mut k = x.exp - 63;
    if k & 1 != 0 {
        m <<= 1;
        k -= 1;
    }
    // Digit by digit: 33 pairs of bits of m, then 33 pairs of zeros, give
    // floor(sqrt(m) * 2^33), at least 65 bits.
    let (mut root, mut rem) = (0u128, 0u128);
    for i in (0..66).rev() {
        let pair = if i >= 33 { (m >> (2 * (i - 33))) & 3 } else { 0 };
        rem = rem << 2 | pair;
        let trial = root << 2 | 1;
        root <<= 1;
        if rem >= trial {
            rem -= trial;
            root |= 1;
        }
    }
    Exact::from_int(false, root << 1 | (rem != 0) as u128, k / 2 - 34)
}

/// Compares `a` with `b`. Unsupported encodings and signaling NaNs raise IE;
/// so does any NaN when `signaling` (FCOM, COMISS); a denormal raises DE.
pub fn compare(a: F80, b: F80, signaling: bool, ctx: &mut Ctx) -> Ordering {
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Unsupported || cb == Class::Unsupported {
        ctx.raise(exc::IE);
        return Ordering::Unordered;
    }
    if a.is_nan() || b.is_nan() {
        if signaling || ca == Class::SNaN || cb == Class::SNaN {
            ctx.raise(exc::IE);
        }
        return Ordering::Unordered;
    }
    if ca == Class::Denormal || cb == Class::Denormal {
        ctx.raise(exc::DE);
    }
    let key = |x: F80, c: Class| -> (bool, i32, u128) {
        match c {
            Class::Zero => (false, i32::MIN, 0),
            Class::Infinity => (x.sign(), i32::MAX, 0),
            _ => {
                let e = Exact::of(x);
                (e.sign, e.exp, e.sig)
            }
        }
    };
    let (ka, kb) = (key(a, ca), key(b, cb));
    if ka.1 == i32::MIN && kb.1 == i32::MIN {
        return Ordering::Equal;
    }
    let mag = |k: (bool, i32, u128)| (k.1, k.2);
    let neg = |k: (bool, i32, u128)| k.0 && k.1 != i32::MIN;
    let less = match (neg(ka), neg(kb)) {
        (true, false) => true,
        (false, true) => false,
        (false, false) => mag(ka) < mag(kb),
        (true, true) => mag(ka) > mag(kb),
    };
    if ka == kb || (mag(ka) == mag(kb) && neg(ka) == neg(kb)) {
        Ordering::Equal
    } else if less {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// Rounds a finite nonzero value to an integer by the rounding mode (or
/// towards zero): the integer's magnitude (saturated at 2^64) and whether it
/// was inexact and rounded up.
pub(crate) fn to_integer(x: Exact, rc: Rounding) -> (u128, bool, bool) {
    // x = sig * 2^(exp - 127); the integer part is sig >> (127 - exp).
    if x.exp >= 125 {
        return (u128::MAX, false, false);
    }
    if x.exp < -2 {
        // Below 1/4: only the sticky bit matters.
        let up = match rc {
            Rounding::Nearest | Rounding::Zero => false,
            Rounding::Down => x.sign,
            Rounding::Up => !x.sign,
        };
        return (up as u128, true, up);
    }
    // Two bits below the binary point are kept exactly, the rest folded.
    let s = jam(x.sig, 2);
    let drop = (125 - x.exp) as u32;
    let (k, inexact, up) = if drop == 0 { (s, false, false) } else { super::round_bits(s, drop, x.sign, rc) };
    (k, inexact, up)
}

/// FRNDINT: rounds to an integral value by the rounding mode.
pub fn round_to_int(a: F80, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special1(a, ctx) {
        return r;
    }
    match a.class() {
        Class::Zero | Class::Infinity => return a,
        _ => {}
    }
    denormal(&[a], ctx);
    let x = Exact::of(a);
    if x.exp >= 63 {
        return a;
    }
    let (k, inexact, up) = to_integer(x, ctx.rounding);
    if inexact {
        ctx.raise(exc::PE);
    }
    let r = if k == 0 {
        F80::zero(a.sign())
    } else {
        round_f80(Exact::from_int(a.sign(), k, 0), Format::EXTENDED, ctx)
    };
    ctx.rounded_up = up;
    r
}

/// FPREM (`nearest` false: the quotient truncated) and FPREM1 (rounded to
/// nearest): the partial remainder, and the low three quotient bits and
/// whether the reduction is complete, as (remainder, quotient bits, done).
pub fn remainder(a: F80, b: F80, nearest: bool, ctx: &mut Ctx) -> (F80, u64, bool) {
    if let Some(r) = special2(a, b, ctx) {
        return (r, 0, true);
    }
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Infinity || cb == Class::Zero {
        return (invalid(ctx), 0, true);
    }
    denormal(&[a, b], ctx);
    if ca == Class::Zero {
        return (a, 0, true);
    }
    if cb == Class::Infinity {
        return (round_f80(Exact::of(a), Format::EXTENDED, ctx), 0, true);
    }
    let (x, y) = (Exact::of(a), Exact::of(b));
    let d = x.exp - y.exp;
    if d < -1 || (d == -1 && !nearest) {
        return (round_f80(x, Format::EXTENDED, ctx), 0, true);
    }
    let (xs, ys) = (x.sig >> 64, y.sig >> 64);
    if d >= 64 {
        // Partial: reduce the exponent difference by a multiple of 32 and
        // leave the rest to the next FPREM (C2 set).
        let n = 32 + (d - 32) % 32;
        let scaled = xs << n;
        let r = scaled % ys;
        let rem = Exact::from_int(x.sign, r, y.exp - 63 + (d - n));
        return (round_f80(rem, Format::EXTENDED, ctx), 0, false);
    }
    let (num, den) = if d >= 0 { (xs << d, ys) } else { (xs, ys << 1) };
    let scale = if d >= 0 { y.exp - 63 } else { y.exp - 64 };
    let mut q = num / den;
    let mut r = num % den;
    let mut sign = x.sign;
    if nearest && (2 * r > den || (2 * r == den && q & 1 == 1)) {
        q += 1;
        r = den - r;
        sign = !sign;
    }
    let rem = if r == 0 { Exact::zero(x.sign) } else { Exact::from_int(sign, r, scale) };
    (round_f80(rem, Format::EXTENDED, ctx), (q & 7) as u64, true)
}

/// FSCALE: `a * 2^trunc(b)`.
pub fn scale(a: F80, b: F80, ctx: &mut Ctx) -> F80 {
    if let Some(r) = special2(a, b, ctx) {
        return r;
    }
    let (ca, cb) = (a.class(), b.class());
    if cb == Class::Infinity {
        return match (ca, b.sign()) {
            (Class::Zero, false) | (Class::Infinity, true) => invalid(ctx),
            (Class::Infinity, false) | (Class::Zero, true) => a,
            _ if ca == Class::Denormal => {
                ctx.raise(exc::DE);
                if b.sign() {
                    F80::zero(a.sign())
                } else {
                    F80::infinity(a.sign())
                }
            }
            (_, false) => F80::infinity(a.sign()),
            (_, true) => F80::zero(a.sign()),
        };
    }
    denormal(&[a, b], ctx);
    if ca == Class::Infinity || ca == Class::Zero {
        return a;
    }
    let y = Exact::of(b);
    let n: i64 = if y.is_zero() {
        0
    } else {
        let (k, _, _) = to_integer(y, Rounding::Zero);
        let m = k.min(1 << 20) as i64;
        if y.sign {
            -m
        } else {
            m
        }
    };
    let x = Exact::of(a);
    round_f80(Exact { exp: x.exp + n as i32, ..x }, Format::EXTENDED, ctx)
}

/// FXTRACT: (exponent, significand) of `a`.
pub fn extract(a: F80, ctx: &mut Ctx) -> (F80, F80) {
    if let Some(r) = special1(a, ctx) {
        return (r, r);
    }
    match a.class() {
        Class::Zero => {
            ctx.raise(exc::ZE);
            (F80::infinity(true), a)
        }
        Class::Infinity => (F80::infinity(false), a),
        _ => {
            let x = Exact::of(a);
            let e = x.exp;
            let exp = round_f80(Exact::from_int(e < 0, e.unsigned_abs() as u128, 0), Format::EXTENDED, ctx);
            let sig = round(Exact { exp: 0, ..x }, Format::EXTENDED, ctx).to_f80();
            (exp, sig)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> F80 {
        let mut ctx = Ctx::new(Rounding::Nearest);
        super::super::convert::from_f64(v.to_bits(), &mut ctx)
    }

    #[test]
    fn small_sums_products_and_roots() {
        let mut ctx = Ctx::new(Rounding::Nearest);
        let x = Format::EXTENDED;
        assert_eq!(add(f(1.5), f(2.25), x, &mut ctx), f(3.75));
        assert_eq!(sub(f(1.5), f(1.5), x, &mut ctx), F80::ZERO);
        assert_eq!(mul(f(-3.0), f(0.5), x, &mut ctx), f(-1.5));
        assert_eq!(div(f(1.0), f(4.0), x, &mut ctx), f(0.25));
        assert_eq!(sqrt(f(2.25), x, &mut ctx), f(1.5));
        assert_eq!(ctx.flags, 0);
        assert_eq!(div(f(1.0), f(0.0), x, &mut ctx), F80::infinity(false));
        assert_eq!(ctx.flags, exc::ZE);
    }

    #[test]
    fn remainders_give_quotient_bits() {
        let mut ctx = Ctx::new(Rounding::Nearest);
        assert_eq!(remainder(f(7.0), f(2.0), false, &mut ctx), (f(1.0), 3, true));
        assert_eq!(remainder(f(7.0), f(2.0), true, &mut ctx), (f(-1.0), 4, true));
    }
}
