//! The host's SSE unit as the oracle for [`super::simd`]: each scalar
//! operation runs natively under a random MXCSR (rounding mode, DAZ, FTZ,
//! every exception masked) on edge-biased operands, and the result bits and
//! the exception flags must agree bit for bit. `VEMU_ORACLE_CASES` sets the
//! number of cases per operation (default 20000).

use std::arch::asm;

use super::simd::{self, Env, Op, Order, Width};
use super::Rounding;

fn cases() -> usize {
    crate::testing::cases(20000)
}

use crate::testing::Rng;

/// The operands this module's tests draw.
trait Operands {
    fn value(&mut self, w: Width) -> u64;
    fn mxcsr(&mut self) -> u32;
}

impl Operands for Rng {
    /// A value of the width: zeros, denormals, infinities, NaNs of both
    /// kinds, values near the ends of the range, and ordinary ones.
    fn value(&mut self, w: Width) -> u64 {
        let (eb, fb) = if w == Width::Single { (8u32, 23u32) } else { (11, 52) };
        let emax = (1u64 << eb) - 1;
        let sign = (self.next() & 1) << (eb + fb);
        let mut frac = self.next() & ((1 << fb) - 1);
        if self.below(4) == 0 {
            frac &= !0 << self.below(fb as u64);
        }
        let e = match self.below(12) {
            0 => 0,
            1 => emax,
            2 => 1 + self.below(30),
            3 => emax - 1 - self.below(30),
            4 => (emax >> 1) - 40 + self.below(80),
            _ => self.below(emax + 1),
        };
        if e == emax && self.below(3) == 0 {
            frac = 0;
        }
        if self.below(16) == 0 {
            return sign; // a signed zero
        }
        sign | e << fb | frac
    }

    fn mxcsr(&mut self) -> u32 {
        let rc = self.below(4) as u32;
        let daz = (self.below(4) == 0) as u32;
        let ftz = (self.below(4) == 0) as u32;
        0x1f80 | rc << 13 | daz << 6 | ftz << 15
    }
}

fn env_of(mxcsr: u32) -> Env {
    Env::new(Rounding::from_bits(mxcsr >> 13), mxcsr & 0x40 != 0, mxcsr & 0x8000 != 0, 0)
}

/// Runs instructions on the host under `mxcsr`, with xmm0 = a, xmm1 = b
/// (loaded by `$load`), storing xmm0 (or what `$store` says) to `out` and
/// returning the flags MXCSR collected.
macro_rules! on_host {
    ($mxcsr:expr, $a:expr, $b:expr, $out:expr, $($ins:literal),+ $(,)?) => {{
        let mut csr: u32 = $mxcsr;
        let restore: u32 = 0x1f80;
        // SAFETY: the operands are live locals of 8 bytes, the instructions
        // touch only xmm0, xmm1 and eax (declared), every SIMD exception is
        // masked, and MXCSR is put back to its default before leaving.
        unsafe {
            asm!(
                "ldmxcsr [{csr}]",
                $($ins,)+
                "stmxcsr [{csr}]",
                "ldmxcsr [{restore}]",
                csr = in(reg) &mut csr as *mut u32,
                restore = in(reg) &restore as *const u32,
                a = in(reg) &$a as *const u64,
                b = in(reg) &$b as *const u64,
                out = in(reg) &mut $out as *mut u64,
                out("xmm0") _, out("xmm1") _, out("eax") _,
                options(nostack),
            );
        }
        (csr & 0x3f) as u8
    }};
}

macro_rules! host_binary {
    ($name:ident, $($ins:literal),+) => {
        fn $name(mxcsr: u32, a: u64, b: u64) -> (u64, u8) {
            let mut out = 0u64;
            let f = on_host!(mxcsr, a, b, out, $($ins,)+ "xor eax, eax");
            (out, f)
        }
    };
}

host_binary!(addss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "addss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(subss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "subss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(mulss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "mulss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(divss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "divss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(sqrtss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "sqrtss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(minss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "minss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(maxss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "maxss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(cmpltss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "cmpltss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(cmpeqss, "movss xmm0, [{a}]", "movss xmm1, [{b}]", "cmpeqss xmm0, xmm1", "movss [{out}], xmm0");
host_binary!(addsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "addsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(subsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "subsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(mulsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "mulsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(divsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "divsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(sqrtsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "sqrtsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(minsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "minsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(maxsd, "movsd xmm0, [{a}]", "movsd xmm1, [{b}]", "maxsd xmm0, xmm1", "movsd [{out}], xmm0");
host_binary!(
    cvtss2sd,
    "movss xmm0, [{a}]",
    "movss xmm1, [{b}]",
    "cvtss2sd xmm0, xmm1",
    "movsd [{out}], xmm0"
);
host_binary!(
    cvtsd2ss,
    "movsd xmm0, [{a}]",
    "movsd xmm1, [{b}]",
    "cvtsd2ss xmm0, xmm1",
    "movss [{out}], xmm0"
);

fn check(
    name: &str,
    w: Width,
    seed: u64,
    host: fn(u32, u64, u64) -> (u64, u8),
    ours: impl Fn(u64, u64, &mut Env) -> u64,
) {
    let mut rng = Rng(seed);
    let mut bad = Vec::new();
    for _ in 0..cases() {
        let mxcsr = rng.mxcsr();
        let a = rng.value(w);
        let b = if rng.below(4) == 0 { a ^ rng.below(4) } else { rng.value(w) };
        let (want, want_flags) = host(mxcsr, a, b);
        let mut env = env_of(mxcsr);
        let got = ours(a, b, &mut env);
        let mask = if w == Width::Single { 0xffff_ffff } else { u64::MAX };
        if got & mask != want & mask || env.flags != want_flags {
            bad.push(format!(
                "{name} mxcsr={mxcsr:04x} a={a:x} b={b:x}: host {:x} flags {want_flags:02x}, vemu {:x} flags {:02x}",
                want & mask,
                got & mask,
                env.flags
            ));
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

fn mask_of(o: Order, pick: Order) -> u64 {
    if o == pick {
        u64::MAX
    } else {
        0
    }
}

#[test]
fn single_precision_matches_the_host() {
    let s = Width::Single;
    check("addss", s, 1, addss, |a, b, e| simd::arith(Op::Add, a, b, s, e));
    check("subss", s, 2, subss, |a, b, e| simd::arith(Op::Sub, a, b, s, e));
    check("mulss", s, 3, mulss, |a, b, e| simd::arith(Op::Mul, a, b, s, e));
    check("divss", s, 4, divss, |a, b, e| simd::arith(Op::Div, a, b, s, e));
    check("sqrtss", s, 5, sqrtss, |_, b, e| simd::sqrt(b, s, e));
    check("minss", s, 6, minss, |a, b, e| simd::min_max(a, b, false, s, e));
    check("maxss", s, 7, maxss, |a, b, e| simd::min_max(a, b, true, s, e));
    check("cmpltss", s, 8, cmpltss, |a, b, e| mask_of(simd::compare(a, b, true, s, e), Order::Less));
    check("cmpeqss", s, 9, cmpeqss, |a, b, e| mask_of(simd::compare(a, b, false, s, e), Order::Equal));
    check("cvtss2sd", s, 10, cvtss2sd, |_, b, e| simd::widen(b as u32, e));
}

#[test]
fn double_precision_matches_the_host() {
    let d = Width::Double;
    check("addsd", d, 11, addsd, |a, b, e| simd::arith(Op::Add, a, b, d, e));
    check("subsd", d, 12, subsd, |a, b, e| simd::arith(Op::Sub, a, b, d, e));
    check("mulsd", d, 13, mulsd, |a, b, e| simd::arith(Op::Mul, a, b, d, e));
    check("divsd", d, 14, divsd, |a, b, e| simd::arith(Op::Div, a, b, d, e));
    check("sqrtsd", d, 15, sqrtsd, |_, b, e| simd::sqrt(b, d, e));
    check("minsd", d, 16, minsd, |a, b, e| simd::min_max(a, b, false, d, e));
    check("maxsd", d, 17, maxsd, |a, b, e| simd::min_max(a, b, true, d, e));
    check("cvtsd2ss", d, 18, cvtsd2ss, |_, b, e| simd::narrow(b, e) as u64);
}

/// CVTSS2SI/CVTTSS2SI/CVTSD2SI/CVTTSD2SI on the host.
fn host_to_int(mxcsr: u32, a: u64, double: bool, truncate: bool) -> (i32, u8) {
    let mut out = 0u64;
    let b = 0u64;
    let f = match (double, truncate) {
        (false, false) => on_host!(
            mxcsr,
            a,
            b,
            out,
            "cvtss2si eax, dword ptr [{a}]",
            "mov [{out}], eax",
            "movd xmm0, [{b}]",
            "xorps xmm1, xmm1"
        ),
        (false, true) => on_host!(
            mxcsr,
            a,
            b,
            out,
            "cvttss2si eax, dword ptr [{a}]",
            "mov [{out}], eax",
            "movd xmm0, [{b}]",
            "xorps xmm1, xmm1"
        ),
        (true, false) => on_host!(
            mxcsr,
            a,
            b,
            out,
            "cvtsd2si eax, qword ptr [{a}]",
            "mov [{out}], eax",
            "movd xmm0, [{b}]",
            "xorps xmm1, xmm1"
        ),
        (true, true) => on_host!(
            mxcsr,
            a,
            b,
            out,
            "cvttsd2si eax, qword ptr [{a}]",
            "mov [{out}], eax",
            "movd xmm0, [{b}]",
            "xorps xmm1, xmm1"
        ),
    };
    (out as u32 as i32, f)
}

/// CVTSI2SS/CVTSI2SD on the host.
fn host_from_int(mxcsr: u32, v: i32, double: bool) -> (u64, u8) {
    let a = v as u32 as u64;
    let b = 0u64;
    let mut out = 0u64;
    let f = if double {
        on_host!(
            mxcsr,
            a,
            b,
            out,
            "cvtsi2sd xmm0, dword ptr [{a}]",
            "movsd [{out}], xmm0",
            "movd xmm1, [{b}]",
            "xor eax, eax"
        )
    } else {
        on_host!(
            mxcsr,
            a,
            b,
            out,
            "cvtsi2ss xmm0, dword ptr [{a}]",
            "movss [{out}], xmm0",
            "movd xmm1, [{b}]",
            "xor eax, eax"
        )
    };
    (out, f)
}

#[test]
fn integer_conversions_match_the_host() {
    let mut rng = Rng(19);
    let mut bad = Vec::new();
    for _ in 0..cases() {
        let mxcsr = rng.mxcsr();
        for (w, double) in [(Width::Single, false), (Width::Double, true)] {
            let mut a = rng.value(w);
            if rng.below(2) == 0 {
                // Near the 32-bit range.
                let v = (rng.next() as i64 >> rng.below(40)) as f64;
                a = if double { v.to_bits() } else { (v as f32).to_bits() as u64 };
            }
            for truncate in [false, true] {
                let (want, wf) = host_to_int(mxcsr, a, double, truncate);
                let mut env = env_of(mxcsr);
                let got = simd::to_int(a, w, truncate, &mut env);
                if got != want || env.flags != wf {
                    bad.push(format!(
                        "to int {a:x} trunc {truncate}: host {want} {wf:02x}, vemu {got} {:02x}",
                        env.flags
                    ));
                }
            }
            let v = rng.next() as i32 >> rng.below(32);
            let (want, wf) = host_from_int(mxcsr, v, double);
            let mut env = env_of(mxcsr);
            let got = simd::from_int(v, w, &mut env);
            let mask = if double { u64::MAX } else { 0xffff_ffff };
            if got != want & mask || env.flags != wf {
                bad.push(format!("from int {v}: host {want:x} {wf:02x}, vemu {got:x} {:02x}", env.flags));
            }
        }
    }
    assert!(bad.is_empty(), "{} cases differ:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}

#[test]
fn reciprocals_are_within_the_sdm_bound() {
    let mut rng = Rng(20);
    for _ in 0..cases() {
        let a = (rng.value(Width::Single) as u32) & 0x7fff_ffff;
        let x = f32::from_bits(a);
        if !x.is_normal() || x > 1e37 {
            continue;
        }
        for root in [false, true] {
            let got = f32::from_bits(simd::reciprocal(a, root)) as f64;
            let exact = if root { 1.0 / (x as f64).sqrt() } else { 1.0 / x as f64 };
            if exact < f32::MIN_POSITIVE as f64 {
                continue;
            }
            let err = ((got - exact) / exact).abs();
            assert!(err <= 1.5 / 4096.0, "rcp/rsqrt {x}: {got} vs {exact}");
        }
    }
}
