//! The host processor as the oracle: every case runs on the host's own x87
//! (inline assembly) and through [`super`], and the results and status flags
//! must agree bit for bit. Operands are random, biased towards the edges:
//! zeros, denormals and pseudo-denormals, unnormals, infinities, quiet and
//! signaling NaNs, pseudo-NaNs, extreme exponents, and significands whose low
//! bits make rounding ties. Every precision control and rounding mode is used.
//!
//! `VEMU_ORACLE_CASES` sets the number of cases per operation (default 20000).

use std::arch::asm;

use super::arith::{self, Ordering};
use super::convert;
use super::{Ctx, Format, Rounding, F80};

/// Status word bits compared: the six exception flags and C1 (rounded up).
const SW_COMPARED: u16 = 0x3f | 1 << 9;

fn cases() -> usize {
    crate::testing::cases(20000)
}

use crate::testing::Rng;

/// The operands this module's tests draw.
trait Operands {
    fn significand(&mut self) -> u64;
    fn exponent(&mut self) -> u16;
    fn f80(&mut self) -> F80;
    fn near(&mut self, a: F80) -> F80;
    fn control(&mut self) -> u16;
}

impl Operands for Rng {
    fn significand(&mut self) -> u64 {
        let mut s = self.next() | 1 << 63;
        match self.below(6) {
            0 => s &= !0 << (64 - 1 - self.below(64)),
            1 => s &= u64::MAX << 40,
            2 => s &= u64::MAX << 11,
            3 => s |= (1 << self.below(64)) - 1,
            _ => {}
        }
        s
    }

    fn exponent(&mut self) -> u16 {
        match self.below(8) {
            0 => self.below(0x7fff) as u16,
            1 => 1 + self.below(80) as u16,
            2 => 0x7ffe - self.below(80) as u16,
            3 => 0x3fff - 1100 + self.below(2200) as u16,
            4 => 0x3fff - 16000 + self.below(100) as u16,
            _ => 0x3fff - 70 + self.below(140) as u16,
        }
    }

    fn f80(&mut self) -> F80 {
        let sign = self.next() & 1 != 0;
        let sig = self.significand();
        match self.below(40) {
            0 => F80::zero(sign),
            1 | 2 => F80::new(sign, 0, sig >> (1 + self.below(63))),
            3 => F80::new(sign, 0, sig),
            4 => F80::infinity(sign),
            5 => F80::new(sign, 0x7fff, sig | 1 << 62),
            6 => F80::new(sign, 0x7fff, (sig & !(1 << 62)) | 1),
            7 => F80::new(sign, self.exponent().max(1), sig >> 1),
            8 => F80::new(sign, 0x7fff, sig >> 1 | 1),
            _ => F80::new(sign, self.exponent(), sig),
        }
    }

    /// A second operand near the first, for cancellation and close quotients.
    fn near(&mut self, a: F80) -> F80 {
        if self.below(3) == 0 {
            let k = self.below(48) as u32;
            let d = (self.next() & ((1u64 << k) - 1)).wrapping_sub(1 << (k / 2));
            let se = if self.next() & 1 != 0 { a.se ^ 0x8000 } else { a.se };
            F80 { sig: a.sig.wrapping_add(d) | 1 << 63, se }
        } else {
            self.f80()
        }
    }

    /// A control word with every exception masked, a random precision and
    /// rounding mode.
    fn control(&mut self) -> u16 {
        0x7f | (self.below(4) as u16) << 8 | (self.below(4) as u16) << 10
    }
}

fn ctx_of(cw: u16) -> (Ctx, Format) {
    (Ctx::new(Rounding::from_bits(cw as u32 >> 10)), Format::extended_pc(cw as u32 >> 8))
}

fn status(ctx: &Ctx) -> u16 {
    ctx.flags as u16 | (ctx.rounded_up as u16) << 9
}

/// Runs x87 instructions on the host between FNINIT and FNINIT, with the
/// control word loaded first. `{a}` points at the input, `{out}` at the
/// output and `{sw}` at a status word slot.
macro_rules! on_host {
    ($cw:expr, $a:expr, $out:expr, $sw:expr, $($ins:literal),+) => {
        // SAFETY: the x87 stack is empty before and after (FNINIT), every
        // exception is masked by the control word, and the pointers are to
        // live locals of the sizes the instructions access.
        unsafe {
            asm!(
                "fninit",
                "fldcw word ptr [{cw}]",
                $($ins,)+
                "fninit",
                cw = in(reg) &$cw as *const u16,
                a = in(reg) $a,
                out = in(reg) $out,
                sw = in(reg) $sw,
                out("st(0)") _, out("st(1)") _, out("st(2)") _, out("st(3)") _,
                out("st(4)") _, out("st(5)") _, out("st(6)") _, out("st(7)") _,
                options(nostack),
            )
        }
    };
}

macro_rules! host_binary {
    ($name:ident, $($ins:literal),+) => {
        /// Runs the instruction on the host with ST0 = a, ST1 = b; returns ST0 after it
        /// and the status word.
        fn $name(cw: u16, a: F80, b: F80) -> (F80, u16) {
            let mut ab = [0u8; 20];
            ab[..10].copy_from_slice(&a.to_bytes());
            ab[10..].copy_from_slice(&b.to_bytes());
            let mut out = [0u8; 10];
            let mut sw: u16 = 0;
            on_host!(
                cw, ab.as_ptr(), out.as_mut_ptr(), &mut sw as *mut u16,
                "fld tbyte ptr [{a} + 10]", "fld tbyte ptr [{a}]", $($ins,)+
                "fnstsw word ptr [{sw}]", "fstp tbyte ptr [{out}]"
            );
            (F80::from_bytes(out), sw)
        }
    };
}

host_binary!(host_add, "fadd st(0), st(1)");
host_binary!(host_sub, "fsub st(0), st(1)");
host_binary!(host_mul, "fmul st(0), st(1)");
host_binary!(host_div, "fdiv st(0), st(1)");
host_binary!(host_sqrt, "fsqrt");
host_binary!(host_rndint, "frndint");
host_binary!(host_prem, "fprem");
host_binary!(host_prem1, "fprem1");
host_binary!(host_scale, "fscale");
host_binary!(host_com, "fcom st(1)");
host_binary!(host_ucom, "fucom st(1)");

/// Runs `n` cases of a binary operation and reports the first mismatches.
fn check_binary(
    name: &str,
    seed: u64,
    host: fn(u16, F80, F80) -> (F80, u16),
    ours: fn(F80, F80, Format, &mut Ctx) -> F80,
) {
    let mut rng = Rng(seed);
    let mut bad = Vec::new();
    let n = cases();
    for _ in 0..n {
        let cw = rng.control();
        let a = rng.f80();
        let b = rng.near(a);
        let (want, sw) = host(cw, a, b);
        let (mut ctx, fmt) = ctx_of(cw);
        let got = ours(a, b, fmt, &mut ctx);
        let (want_sw, got_sw) = (sw & SW_COMPARED, status(&ctx));
        if got != want || got_sw != want_sw {
            bad.push(format!(
                "{name} cw={cw:04x} a={a:?} b={b:?}: host {want:?} sw {want_sw:04x}, vemu {got:?} sw {got_sw:04x}"
            ));
        }
    }
    assert!(bad.is_empty(), "{} of {n} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

#[test]
fn add_matches_the_host() {
    check_binary("fadd", 1, host_add, arith::add);
}

#[test]
fn sub_matches_the_host() {
    check_binary("fsub", 2, host_sub, arith::sub);
}

#[test]
fn mul_matches_the_host() {
    check_binary("fmul", 3, host_mul, arith::mul);
}

#[test]
fn div_matches_the_host() {
    check_binary("fdiv", 4, host_div, arith::div);
}

#[test]
fn sqrt_matches_the_host() {
    check_binary("fsqrt", 5, host_sqrt, |a, _, fmt, ctx| arith::sqrt(a, fmt, ctx));
}

#[test]
fn rndint_matches_the_host() {
    check_binary("frndint", 6, host_rndint, |a, _, _, ctx| arith::round_to_int(a, ctx));
}

#[test]
fn scale_matches_the_host() {
    check_binary("fscale", 7, host_scale, |a, b, _, ctx| arith::scale(a, b, ctx));
}

/// C0, C2 and C3 of the status word as a comparison gives them.
fn condition_of(o: Ordering) -> u16 {
    match o {
        Ordering::Greater => 0,
        Ordering::Less => 1 << 8,
        Ordering::Equal => 1 << 14,
        Ordering::Unordered => 1 << 8 | 1 << 10 | 1 << 14,
    }
}

fn check_compare(name: &str, seed: u64, host: fn(u16, F80, F80) -> (F80, u16), signaling: bool) {
    let mut rng = Rng(seed);
    let mut bad = Vec::new();
    for _ in 0..cases() {
        let cw = rng.control();
        let a = rng.f80();
        let b = if rng.below(4) == 0 { a } else { rng.near(a) };
        let (_, sw) = host(cw, a, b);
        let (mut ctx, _) = ctx_of(cw);
        let o = arith::compare(a, b, signaling, &mut ctx);
        let want = sw & (0x3f | 0x4500);
        let got = ctx.flags as u16 | condition_of(o);
        if want != got {
            bad.push(format!("{name} a={a:?} b={b:?}: host {want:04x}, vemu {got:04x}"));
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

#[test]
fn compares_match_the_host() {
    check_compare("fcom", 8, host_com, true);
    check_compare("fucom", 9, host_ucom, false);
}

fn check_remainder(name: &str, seed: u64, host: fn(u16, F80, F80) -> (F80, u16), nearest: bool) {
    let mut rng = Rng(seed);
    let mut bad = Vec::new();
    for _ in 0..cases() {
        let cw = rng.control();
        let a = rng.f80();
        let b = rng.near(a);
        let (want, sw) = host(cw, a, b);
        let (mut ctx, _) = ctx_of(cw);
        let (got, q, done) = arith::remainder(a, b, nearest, &mut ctx);
        let cond = |q: u64| ((q >> 2 & 1) << 8 | (q & 1) << 9 | (q >> 1 & 1) << 14) as u16;
        let got_sw = ctx.flags as u16 | cond(q) | (!done as u16) << 10;
        let want_sw = sw & (0x3f | 0x4700);
        if got != want || got_sw != want_sw {
            bad.push(format!(
                "{name} a={a:?} b={b:?}: host {want:?} sw {want_sw:04x}, vemu {got:?} sw {got_sw:04x}"
            ));
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

#[test]
fn remainders_match_the_host() {
    check_remainder("fprem", 10, host_prem, false);
    check_remainder("fprem1", 11, host_prem1, true);
}

/// FST m64 or m32 on the host: the stored bits and the status.
fn host_store(cw: u16, a: F80, double: bool) -> (u64, u16) {
    let ab = a.to_bytes();
    let mut out: u64 = 0;
    let mut sw: u16 = 0;
    let (p, o, s) = (ab.as_ptr(), &mut out as *mut u64, &mut sw as *mut u16);
    if double {
        on_host!(cw, p, o, s, "fld tbyte ptr [{a}]", "fst qword ptr [{out}]", "fnstsw word ptr [{sw}]");
    } else {
        on_host!(cw, p, o, s, "fld tbyte ptr [{a}]", "fst dword ptr [{out}]", "fnstsw word ptr [{sw}]");
    }
    (out, sw)
}

/// FLD m64 or m32 on the host.
fn host_load(cw: u16, bits: u64, double: bool) -> (F80, u16) {
    let mut out = [0u8; 10];
    let mut sw: u16 = 0;
    let (p, o, s) = (&bits as *const u64, out.as_mut_ptr(), &mut sw as *mut u16);
    if double {
        on_host!(cw, p, o, s, "fld qword ptr [{a}]", "fnstsw word ptr [{sw}]", "fstp tbyte ptr [{out}]");
    } else {
        on_host!(cw, p, o, s, "fld dword ptr [{a}]", "fnstsw word ptr [{sw}]", "fstp tbyte ptr [{out}]");
    }
    (F80::from_bytes(out), sw)
}

/// FISTP m16/m32/m64 on the host.
fn host_fist(cw: u16, a: F80, bits: u32) -> (i64, u16) {
    let ab = a.to_bytes();
    let mut out: i64 = 0;
    let mut sw: u16 = 0;
    let (p, o, s) = (ab.as_ptr(), &mut out as *mut i64, &mut sw as *mut u16);
    match bits {
        16 => {
            on_host!(cw, p, o, s, "fld tbyte ptr [{a}]", "fistp word ptr [{out}]", "fnstsw word ptr [{sw}]")
        }
        32 => {
            on_host!(cw, p, o, s, "fld tbyte ptr [{a}]", "fistp dword ptr [{out}]", "fnstsw word ptr [{sw}]")
        }
        _ => {
            on_host!(cw, p, o, s, "fld tbyte ptr [{a}]", "fistp qword ptr [{out}]", "fnstsw word ptr [{sw}]")
        }
    }
    let v = match bits {
        16 => out as u16 as i16 as i64,
        32 => out as u32 as i32 as i64,
        _ => out,
    };
    (v, sw)
}

#[test]
fn stores_to_single_and_double_match_the_host() {
    let mut rng = Rng(12);
    let mut bad = Vec::new();
    for i in 0..cases() {
        let cw = rng.control();
        let mut a = rng.f80();
        if i % 2 == 0 {
            // Near the single and double ranges, where they overflow and underflow.
            let e = [0x3fff + 127, 0x3fff - 126, 0x3fff + 1023, 0x3fff - 1022][rng.below(4) as usize];
            a = F80::new(a.sign(), (e as i64 + rng.below(60) as i64 - 30) as u16, rng.significand());
        }
        for double in [false, true] {
            let (want, sw) = host_store(cw, a, double);
            let (mut ctx, _) = ctx_of(cw);
            let got = if double { convert::to_f64(a, &mut ctx) } else { convert::to_f32(a, &mut ctx) as u64 };
            let (want_sw, got_sw) = (sw & SW_COMPARED, status(&ctx));
            if got != want || got_sw != want_sw {
                bad.push(format!(
                    "fst{} a={a:?}: host {want:x} {want_sw:04x}, vemu {got:x} {got_sw:04x}",
                    if double { 'l' } else { 's' }
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

#[test]
fn loads_of_single_and_double_match_the_host() {
    let mut rng = Rng(13);
    let mut bad = Vec::new();
    for _ in 0..cases() {
        let cw = rng.control();
        let r = rng.next();
        let bits = match rng.below(4) {
            0 => r & 0x800f_ffff_ffff_ffff,
            1 => r | 0x7ff0_0000_0000_0000,
            _ => r,
        };
        for double in [false, true] {
            let b = if double { bits } else { bits as u32 as u64 };
            let (want, sw) = host_load(cw, b, double);
            let (mut ctx, _) = ctx_of(cw);
            let got =
                if double { convert::from_f64(b, &mut ctx) } else { convert::from_f32(b as u32, &mut ctx) };
            if got != want || sw & SW_COMPARED != status(&ctx) {
                bad.push(format!("fld {b:x}: host {want:?} {sw:04x}, vemu {got:?} {:04x}", status(&ctx)));
            }
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

#[test]
fn integer_stores_match_the_host() {
    let mut rng = Rng(14);
    let mut bad = Vec::new();
    for _ in 0..cases() {
        let cw = rng.control();
        let mut a = rng.f80();
        if rng.below(2) == 0 {
            a = F80::new(a.sign(), 0x3fff + rng.below(66) as u16, rng.significand());
        }
        for bits in [16, 32, 64] {
            let (want, sw) = host_fist(cw, a, bits);
            let (mut ctx, _) = ctx_of(cw);
            let got = convert::to_int(a, bits, false, &mut ctx).unwrap_or(i64::MIN >> (64 - bits));
            if got != want || sw & SW_COMPARED != status(&ctx) {
                bad.push(format!(
                    "fist{bits} a={a:?}: host {want} {sw:04x}, vemu {got} {:04x}",
                    status(&ctx)
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}
