//! SSE and SSE2 floating point: single and double precision values as their
//! bits, with MXCSR's rules (SDM Vol. 1 chapter 11.5): DAZ reads denormal
//! operands as zeros, FTZ flushes tiny results to zero when underflow is
//! masked, a NaN operand propagates as the first NaN operand made quiet, the
//! default NaN is negative, and the exception flags come in two groups: those
//! found before computing (invalid, denormal, zero divide) and after
//! (overflow, underflow, precision). The arithmetic is the same exact
//! arithmetic and one rounding as the x87's ([`super::Exact`], [`super::round`]).

use super::arith::{add_exact, div_exact, mul_exact, to_integer};
use super::{exc, jam, round, Ctx, Exact, Format, Rounded, Rounding};

/// Single or double precision.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Width {
    Single,
    Double,
}

impl Width {
    pub(crate) fn exp_bits(self) -> u32 {
        match self {
            Width::Single => 8,
            Width::Double => 11,
        }
    }

    pub(crate) fn frac_bits(self) -> u32 {
        match self {
            Width::Single => 23,
            Width::Double => 52,
        }
    }

    pub fn format(self) -> Format {
        match self {
            Width::Single => Format::SINGLE,
            Width::Double => Format::DOUBLE,
        }
    }

    fn sign_bit(self) -> u64 {
        1 << (self.exp_bits() + self.frac_bits())
    }

    fn exp_max(self) -> u64 {
        (1 << self.exp_bits()) - 1
    }

    /// The default NaN: negative, quiet.
    pub fn default_nan(self) -> u64 {
        self.sign_bit() | self.exp_max() << self.frac_bits() | 1 << (self.frac_bits() - 1)
    }

    pub(crate) fn quiet(self, bits: u64) -> u64 {
        bits | 1 << (self.frac_bits() - 1)
    }
}

/// What a value is, with DAZ applied.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Zero,
    Denormal,
    Normal,
    Infinity,
    QNaN,
    SNaN,
}

/// The MXCSR state an operation runs under, and what it raised.
#[derive(Copy, Clone, Debug)]
pub struct Env {
    pub rounding: Rounding,
    pub daz: bool,
    pub ftz: bool,
    /// Unmasked exceptions (`exc` bits).
    pub unmasked: u8,
    /// Flags found before computing (IE, DE, ZE) and after (OE, UE, PE).
    pub flags: u8,
}

impl Env {
    pub fn new(rounding: Rounding, daz: bool, ftz: bool, unmasked: u8) -> Env {
        Env { rounding, daz, ftz, unmasked, flags: 0 }
    }
}

pub fn kind(bits: u64, w: Width, daz: bool) -> Kind {
    let e = bits >> w.frac_bits() & w.exp_max();
    let frac = bits & ((1 << w.frac_bits()) - 1);
    if e == w.exp_max() {
        if frac == 0 {
            Kind::Infinity
        } else if frac >> (w.frac_bits() - 1) != 0 {
            Kind::QNaN
        } else {
            Kind::SNaN
        }
    } else if e == 0 {
        if frac == 0 || daz {
            Kind::Zero
        } else {
            Kind::Denormal
        }
    } else {
        Kind::Normal
    }
}

fn is_nan(k: Kind) -> bool {
    matches!(k, Kind::QNaN | Kind::SNaN)
}

pub(crate) fn sign(bits: u64, w: Width) -> bool {
    bits & w.sign_bit() != 0
}

/// A finite value exactly (a denormal read as zero under DAZ).
pub(crate) fn exact(bits: u64, w: Width, k: Kind) -> Exact {
    let s = sign(bits, w);
    if k == Kind::Zero {
        return Exact::zero(s);
    }
    let e = (bits >> w.frac_bits() & w.exp_max()) as i32;
    let frac = bits & ((1 << w.frac_bits()) - 1);
    let (m, e) = if e == 0 { (frac, 1) } else { (frac | 1 << w.frac_bits(), e) };
    Exact::from_int(s, m as u128, e - w.format().emax - w.frac_bits() as i32)
}

fn infinity(w: Width, s: bool) -> u64 {
    ((s as u64) * w.sign_bit()) | (w.exp_max() << w.frac_bits())
}

fn zero(w: Width, s: bool) -> u64 {
    (s as u64) * w.sign_bit()
}

/// Whether an exact nonzero value rounds (with an unbounded exponent) below
/// the smallest normal: tininess after rounding.
fn tiny(x: Exact, f: Format, rc: Rounding) -> bool {
    let mut probe = Ctx::new(rc);
    let wide = Format { emin: i32::MIN / 2, ..f };
    match round(x, wide, &mut probe) {
        Rounded::Finite { exp, .. } => exp < f.emin,
        _ => false,
    }
}

/// Rounds an exact result to the width under the environment: FTZ flushes
/// a tiny result to zero (UE and PE) while underflow is masked.
pub(crate) fn finish(x: Exact, w: Width, env: &mut Env) -> u64 {
    let f = w.format();
    if x.is_zero() {
        return zero(w, x.sign);
    }
    if env.ftz && env.unmasked & exc::UE == 0 && tiny(x, f, env.rounding) {
        env.flags |= exc::UE | exc::PE;
        return zero(w, x.sign);
    }
    let mut ctx = Ctx { unmasked: env.unmasked, ..Ctx::new(env.rounding) };
    let r = round(x, f, &mut ctx);
    env.flags |= ctx.flags;
    encode(r, w)
}

pub(crate) fn encode(r: Rounded, w: Width) -> u64 {
    match r {
        Rounded::Zero(s) => zero(w, s),
        Rounded::Inf(s) => infinity(w, s),
        Rounded::Finite { sign, exp, sig } => {
            let frac = (sig << 1) >> (64 - w.frac_bits());
            let e = if sig >> 63 != 0 { (exp + w.format().emax) as u64 } else { 0 };
            ((sign as u64) * w.sign_bit()) | (e << w.frac_bits()) | frac
        }
    }
}

/// The first NaN operand made quiet (IE if either operand is signaling).
fn nan2(a: u64, ka: Kind, b: u64, kb: Kind, w: Width, env: &mut Env) -> u64 {
    if ka == Kind::SNaN || kb == Kind::SNaN {
        env.flags |= exc::IE;
    }
    w.quiet(if is_nan(ka) { a } else { b })
}

fn invalid(w: Width, env: &mut Env) -> u64 {
    env.flags |= exc::IE;
    w.default_nan()
}

fn denormals(ks: &[Kind], env: &mut Env) {
    if ks.contains(&Kind::Denormal) {
        env.flags |= exc::DE;
    }
}

/// The four arithmetic operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a + b` and whether it is exact (TwoSum; no overflow).
fn two_sum(a: f64, b: f64) -> (f64, bool) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb) == 0.0)
}

/// The common case on the host's own IEEE arithmetic: normal operands, a
/// normal result, rounding to nearest. Exactness (PE, the only flag such a
/// case can raise) comes from error-free transformations: TwoSum for sums,
/// a fused multiply-add for the residual of products, quotients and roots.
/// Singles are computed in double precision first, which rounds them
/// correctly (53 >= 2 * 24 + 2 bits: double rounding is innocuous, Figueroa
/// 1995). Everything else takes the exact path.
fn fast(op: Option<Op>, a: u64, b: u64, w: Width, env: &mut Env) -> Option<u64> {
    if env.rounding != Rounding::Nearest {
        return None;
    }
    let (x, y) = match w {
        Width::Single => (f32::from_bits(a as u32) as f64, f32::from_bits(b as u32) as f64),
        Width::Double => (f64::from_bits(a), f64::from_bits(b)),
    };
    // 2^-900 and 2^900: products, quotients and roots of values in between
    // leave residuals the fused multiply-add gets exactly.
    const LOW: f64 = f64::from_bits((1023 - 900) << 52);
    const HIGH: f64 = f64::from_bits((1023 + 900) << 52);
    let band = |v: f64| (LOW..HIGH).contains(&v.abs());
    let ok = |bits: u64, v: f64| match w {
        Width::Single => f32::from_bits(bits as u32).is_normal() && band(v),
        Width::Double => band(v),
    };
    // One exact zero: a sum is the other operand, a product or quotient a
    // zero of the signs' product (zero over zero and both zeros of a sum,
    // whose sign follows the rounding, take the exact path).
    if x == 0.0 && ok(b, y) {
        return match op {
            Some(Op::Add) => Some(b),
            Some(Op::Sub) => Some(b ^ w.sign_bit()),
            Some(Op::Mul) | Some(Op::Div) => Some(zero(w, sign(a, w) != sign(b, w))),
            None => None,
        };
    }
    if y == 0.0 && ok(a, x) && matches!(op, Some(Op::Add | Op::Sub | Op::Mul)) {
        return match op {
            Some(Op::Mul) => Some(zero(w, sign(a, w) != sign(b, w))),
            _ => Some(a),
        };
    }
    if !ok(a, x) || !ok(b, y) {
        return None;
    }
    let (r, exact) = match op {
        Some(Op::Add) => two_sum(x, y),
        Some(Op::Sub) => two_sum(x, -y),
        Some(Op::Mul) => {
            let p = x * y;
            (p, x.mul_add(y, -p) == 0.0)
        }
        Some(Op::Div) => {
            let q = x / y;
            (q, (-q).mul_add(y, x) == 0.0)
        }
        None => {
            if y < 0.0 {
                return None;
            }
            let r = y.sqrt();
            (r, r.mul_add(r, -y) == 0.0)
        }
    };
    if !band(r) {
        return None;
    }
    let bits = match w {
        Width::Single => {
            let s = r as f32;
            if !s.is_normal() {
                return None;
            }
            if !exact || s as f64 != r {
                env.flags |= exc::PE;
            }
            s.to_bits() as u64
        }
        Width::Double => {
            if !exact {
                env.flags |= exc::PE;
            }
            r.to_bits()
        }
    };
    Some(bits)
}

/// ADDPS and the rest: `a op b`.
pub fn arith(op: Op, a: u64, b: u64, w: Width, env: &mut Env) -> u64 {
    if let Some(r) = fast(Some(op), a, b, w, env) {
        return r;
    }
    let (ka, kb) = (kind(a, w, env.daz), kind(b, w, env.daz));
    if is_nan(ka) || is_nan(kb) {
        return nan2(a, ka, b, kb, w, env);
    }
    let (sa, sb) = (sign(a, w), sign(b, w));
    let b_sign = if op == Op::Sub { !sb } else { sb };
    let (ia, ib) = (ka == Kind::Infinity, kb == Kind::Infinity);
    let (za, zb) = (ka == Kind::Zero, kb == Kind::Zero);
    match op {
        Op::Add | Op::Sub => {
            if ia && ib && sa != b_sign {
                return invalid(w, env);
            }
            denormals(&[ka, kb], env);
            if ia || ib {
                return infinity(w, if ia { sa } else { b_sign });
            }
            let (x, y) = (exact(a, w, ka), Exact { sign: b_sign, ..exact(b, w, kb) });
            let r = match (za, zb) {
                (true, true) => Exact::zero(if sa == b_sign { sa } else { env.rounding == Rounding::Down }),
                (true, false) => y,
                (false, true) => x,
                _ => add_exact(x, y, &Ctx::new(env.rounding)),
            };
            finish(r, w, env)
        }
        Op::Mul => {
            if (ia && zb) || (za && ib) {
                return invalid(w, env);
            }
            denormals(&[ka, kb], env);
            if ia || ib {
                return infinity(w, sa != sb);
            }
            finish(mul_exact(exact(a, w, ka), exact(b, w, kb)), w, env)
        }
        Op::Div => {
            if (ia && ib) || (za && zb) {
                return invalid(w, env);
            }
            if zb && !ia {
                env.flags |= exc::ZE;
                return infinity(w, sa != sb);
            }
            denormals(&[ka, kb], env);
            if ia {
                return infinity(w, sa != sb);
            }
            if ib || za {
                return zero(w, sa != sb);
            }
            finish(div_exact(exact(a, w, ka), exact(b, w, kb)), w, env)
        }
    }
}

/// SQRTPS and the rest.
pub fn sqrt(a: u64, w: Width, env: &mut Env) -> u64 {
    if let Some(r) = fast(None, a, a, w, env) {
        return r;
    }
    let k = kind(a, w, env.daz);
    if is_nan(k) {
        return nan2(a, k, a, k, w, env);
    }
    let s = sign(a, w);
    if k == Kind::Zero {
        return zero(w, s);
    }
    if s {
        return invalid(w, env);
    }
    denormals(&[k], env);
    if k == Kind::Infinity {
        return a;
    }
    finish(super::arith::sqrt_exact(exact(a, w, k)), w, env)
}

/// MINPS/MAXPS: the second operand when either is a NaN (IE for any NaN)
/// or both are zeros; otherwise the smaller (larger) one.
pub fn min_max(a: u64, b: u64, max: bool, w: Width, env: &mut Env) -> u64 {
    let (ka, kb) = (kind(a, w, env.daz), kind(b, w, env.daz));
    let r = if is_nan(ka) || is_nan(kb) {
        env.flags |= exc::IE;
        b
    } else {
        denormals(&[ka, kb], env);
        let (x, y) = (exact(a, w, ka), exact(b, w, kb));
        let less = less_than(x, ka, y, kb, sign(a, w), sign(b, w));
        let pick_a = if max { less_than(y, kb, x, ka, sign(b, w), sign(a, w)) } else { less };
        if pick_a {
            a
        } else {
            b
        }
    };
    // DAZ: a denormal result is the zero it was read as.
    if kind(r, w, env.daz) == Kind::Zero {
        return zero(w, sign(r, w));
    }
    r
}

/// a < b for ordered values (zeros equal whatever their signs).
fn less_than(a: Exact, ka: Kind, b: Exact, kb: Kind, sa: bool, sb: bool) -> bool {
    let key = |x: Exact, k: Kind, s: bool| -> (i8, i64, u128) {
        match k {
            Kind::Zero => (0, 0, 0),
            Kind::Infinity => (if s { -2 } else { 2 }, 0, 0),
            _ => {
                if s {
                    (-1, -(x.exp as i64), u128::MAX - x.sig)
                } else {
                    (1, x.exp as i64, x.sig)
                }
            }
        }
    };
    key(a, ka, sa) < key(b, kb, sb)
}

/// The outcome of a comparison.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Order {
    Less,
    Equal,
    Greater,
    Unordered,
}

/// Compares; `signaling` (the LT/LE predicates, COMISS) raises IE for any
/// NaN, otherwise only for a signaling one.
pub fn compare(a: u64, b: u64, signaling: bool, w: Width, env: &mut Env) -> Order {
    let (ka, kb) = (kind(a, w, env.daz), kind(b, w, env.daz));
    if is_nan(ka) || is_nan(kb) {
        if signaling || ka == Kind::SNaN || kb == Kind::SNaN {
            env.flags |= exc::IE;
        }
        return Order::Unordered;
    }
    denormals(&[ka, kb], env);
    let (x, y) = (exact(a, w, ka), exact(b, w, kb));
    let (sa, sb) = (sign(a, w), sign(b, w));
    if less_than(x, ka, y, kb, sa, sb) {
        Order::Less
    } else if less_than(y, kb, x, ka, sb, sa) {
        Order::Greater
    } else {
        Order::Equal
    }
}

/// CVTSS2SD and CVTPS2PD: exact (an SNaN is made quiet, with IE).
pub fn widen(a: u32, env: &mut Env) -> u64 {
    let w = Width::Single;
    let k = kind(a as u64, w, env.daz);
    let s = sign(a as u64, w);
    match k {
        Kind::QNaN | Kind::SNaN => {
            if k == Kind::SNaN {
                env.flags |= exc::IE;
            }
            let frac = (a as u64 & 0x7f_ffff) << 29;
            Width::Double.quiet(infinity(Width::Double, s) | frac)
        }
        Kind::Infinity => infinity(Width::Double, s),
        _ => {
            denormals(&[k], env);
            finish(exact(a as u64, w, k), Width::Double, env)
        }
    }
}

/// CVTSD2SS and CVTPD2PS: rounded to single precision.
pub fn narrow(a: u64, env: &mut Env) -> u32 {
    let w = Width::Double;
    let k = kind(a, w, env.daz);
    let s = sign(a, w);
    (match k {
        Kind::QNaN | Kind::SNaN => {
            if k == Kind::SNaN {
                env.flags |= exc::IE;
            }
            let frac = (a & ((1 << 52) - 1)) >> 29;
            Width::Single.quiet(infinity(Width::Single, s) | frac)
        }
        Kind::Infinity => infinity(Width::Single, s),
        _ => {
            denormals(&[k], env);
            finish(exact(a, w, k), Width::Single, env)
        }
    }) as u32
}

/// CVTSI2SS and the rest: a 32-bit integer rounded to the width.
pub fn from_int(v: i32, w: Width, env: &mut Env) -> u64 {
    finish(Exact::from_int(v < 0, v.unsigned_abs() as u128, 0), w, env)
}

/// CVTSS2SI and the rest (`truncate`: the CVTT forms): the integer
/// indefinite 0x80000000 and IE for a NaN, infinity or value out of range.
pub fn to_int(a: u64, w: Width, truncate: bool, env: &mut Env) -> i32 {
    let k = kind(a, w, env.daz);
    match k {
        Kind::QNaN | Kind::SNaN | Kind::Infinity => {
            env.flags |= exc::IE;
            return i32::MIN;
        }
        Kind::Zero => return 0,
        _ => {}
    }
    let rc = if truncate { Rounding::Zero } else { env.rounding };
    let x = exact(a, w, k);
    let (m, inexact, _) = to_integer(x, rc);
    let limit = 1u128 << 31;
    if m > limit || (m == limit && !x.sign) {
        env.flags |= exc::IE;
        return i32::MIN;
    }
    if inexact {
        env.flags |= exc::PE;
    }
    let v = m as i64;
    (if x.sign { -v } else { v }) as i32
}

/// RCPPS and RSQRTPS: 1/a or 1/sqrt(a), here correctly rounded (the SDM
/// allows a relative error up to 1.5 * 2^-12). They raise nothing; a zero
/// or denormal operand gives infinity and a result too small for a normal
/// single gives zero, as the hardware does.
pub fn reciprocal(a: u32, root: bool) -> u32 {
    let w = Width::Single;
    let bits = a as u64;
    let k = kind(bits, w, true);
    let s = sign(bits, w);
    (match k {
        Kind::QNaN | Kind::SNaN => w.quiet(bits),
        Kind::Zero => infinity(w, s),
        Kind::Infinity => {
            if root && s {
                w.default_nan()
            } else {
                zero(w, s)
            }
        }
        _ if root && s => w.default_nan(),
        _ => {
            let x = exact(bits, w, k);
            let one = Exact::from_int(false, 1, 0);
            let d = if root { super::arith::sqrt_exact(x) } else { x };
            let q = div_exact(one, Exact { sig: jam(d.sig, 64) << 64, ..d });
            let mut env = Env::new(Rounding::Nearest, true, true, 0);
            finish(q, w, &mut env)
        }
    }) as u32
}
