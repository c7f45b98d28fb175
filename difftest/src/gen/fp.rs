//! The floating-point and SIMD families of the generator: the x87, MMX, SSE
//! and SSE2 floating point, and the SSE2 integer instructions.
//!
//! The trace compares general registers and EFLAGS, so results are brought
//! there: stores followed by loads, FNSTSW and STMXCSR through memory,
//! MOVMSKPS, MOVD, CVTT*2SI. Operands come from tables of safe values the
//! stream's header writes into the data (moderate exponents; no zeros,
//! infinities, NaNs or denormals), and the registers are reloaded from them
//! every few instructions, so that results stay finite. What QEMU 7.2 gets
//! wrong is kept out: the transcendentals (computed in double precision),
//! FPREM1, precision control, unmasked exceptions, stack faults, DAZ and FTZ;
//! the status word's C1 and DE and MXCSR's DE are masked before they reach a
//! register (QEMU never sets C1 for a rounded-up result, nor DE).

use std::fmt::Write as _;

use super::{Gen, ARITH};

/// Where the tables live in the data (offsets from DS, in both modes).
const DOUBLES: u32 = 0x1f00;
const FLOATS: u32 = 0x1e00;
const INTS: u32 = 0x1d80;
const CONTROL_WORDS: u32 = 0x1d70;
const MXCSRS: u32 = 0x1d60;
const SCRATCH: u32 = 0x1d00;
/// Status word bits compared: C3 C2 C0, TOP, and the flags but DE.
const FSW_COMPARED: u32 = 0x7d3d;
/// MXCSR bits compared: all but DE.
const MXCSR_COMPARED: u32 = 0xffbd;

/// The header's part for the floating-point families: the tables, and
/// CR4.OSFXSR for SSE.
pub(super) fn tables(seed: u64) -> String {
    let mut rng = crate::rng::Rng::new(seed ^ 0xf10a7);
    let mut h = String::from("cpu willamette\n    ; ---- safe floating-point operands ----\n");
    let put = |h: &mut String, at: u32, v: u32| {
        let _ = writeln!(h, "    mov dword [{at:#x}], {v:#x}");
    };
    for i in 0..32 {
        let sign = (rng.below(2) as u64) << 63;
        let exp = (1023 - 8 + rng.below(17)) as u64;
        let frac = (rng.u32() as u64) << 20 | rng.below(1 << 20) as u64;
        let frac = if rng.chance(30) { frac & !0xffff_ffff } else { frac };
        let v = sign | exp << 52 | frac;
        put(&mut h, DOUBLES + 8 * i, v as u32);
        put(&mut h, DOUBLES + 8 * i + 4, (v >> 32) as u32);
    }
    for i in 0..64 {
        let sign = rng.below(2) << 31;
        let exp = 127 - 8 + rng.below(17);
        let frac = rng.u32() & 0x7f_ffff;
        let frac = if rng.chance(30) { frac & !0xffff } else { frac };
        put(&mut h, FLOATS + 4 * i, sign | exp << 23 | frac);
    }
    for i in 0..16 {
        let v = rng.below(2000) as i32 - 1000;
        put(&mut h, INTS + 4 * i, v as u32);
    }
    // Control words: every exception masked, 64-bit precision, each rounding mode.
    put(&mut h, CONTROL_WORDS, 0x077f_037f);
    put(&mut h, CONTROL_WORDS + 4, 0x0f7f_0b7f);
    // MXCSR: every exception masked, each rounding mode.
    for rc in 0..4 {
        put(&mut h, MXCSRS + 4 * rc, 0x1f80 | rc << 13);
    }
    h.push_str("    mov eax, cr4\n    or eax, 0x200\n    mov cr4, eax\n    fninit\n");
    h
}

impl Gen {
    fn double(&mut self) -> String {
        format!("qword [{:#x}]", DOUBLES + 8 * self.rng.below(32))
    }

    fn float(&mut self) -> String {
        format!("dword [{:#x}]", FLOATS + 4 * self.rng.below(64))
    }

    /// FNSTSW through memory with the bits QEMU does not keep masked, into AX.
    fn x87_status(&mut self) {
        self.line(&format!("fnstsw [{SCRATCH:#x}]"));
        self.line(&format!("and word [{SCRATCH:#x}], {FSW_COMPARED:#x}"));
        self.line(&format!("mov ax, [{SCRATCH:#x}]"));
    }

    /// A fresh x87 stack of four safe values.
    fn x87_reload(&mut self) {
        self.line("fninit");
        for _ in 0..4 {
            let src = self.double();
            self.line(&format!("fld {src}"));
        }
        self.fp_depth = 4;
    }

    pub(super) fn x87(&mut self) {
        if self.fp_depth == 0 || self.rng.chance(5) {
            self.x87_reload();
        }
        let d = self.fp_depth;
        let i = self.rng.below(d);
        let op = self.rng.pick(&["fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr"]);
        // x - x would make a zero, and a zero divisor an infinity.
        let op = if i == 0 && matches!(op, "fsub" | "fsubr") { "fadd" } else { op };
        match self.rng.below(16) {
            0 | 1 => self.line(&format!("{op} st0, st{i}")),
            2 => self.line(&format!("{op} st{i}, st0")),
            3 if d > 2 => {
                let j = 1 + self.rng.below(d - 1);
                self.line(&format!("{op}p st{j}, st0"));
                self.fp_depth -= 1;
            }
            4 => {
                let m = self.double();
                self.line(&format!("{op} {m}"));
            }
            5 => {
                let m = format!("dword [{:#x}]", INTS + 4 * self.rng.below(16));
                let iop = op.replacen('f', "fi", 1);
                self.line(&format!("{iop} {m}"));
            }
            6 if d < 7 => {
                let src = if self.rng.chance(50) { format!("st{i}") } else { self.double() };
                self.line(&format!("fld {src}"));
                self.fp_depth += 1;
            }
            7 if d > 1 => {
                let j = 1 + self.rng.below(d - 1);
                self.line(&format!("fxch st{j}"));
            }
            8 => {
                let op = self.rng.pick(&["fchs", "fabs", "frndint"]);
                self.line(op);
            }
            9 => {
                self.line("fabs");
                self.line("fsqrt");
            }
            10 => {
                let op = self.rng.pick(&["fcom", "fucom"]);
                self.line(&format!("{op} st{i}"));
                self.x87_status();
            }
            11 => {
                let r = self.rng.pick(&["eax", "ecx"]);
                self.line(&format!("cmp {r}, {r}"));
                let op = self.rng.pick(&["fcomi", "fucomi"]);
                self.line(&format!("{op} st0, st{i}"));
                self.flags(ARITH, 0);
            }
            12 => {
                self.line(&format!("fist dword [{SCRATCH:#x}]"));
                self.line(&format!("mov ecx, [{SCRATCH:#x}]"));
                self.x87_status();
            }
            13 => {
                let size = self.rng.pick(&["qword", "dword"]);
                self.line(&format!("fst {size} [{:#x}]", SCRATCH + 8));
                self.line(&format!("mov edx, [{:#x}]", SCRATCH + 8));
                self.line(&format!("mov ebp, [{:#x}]", SCRATCH + 12));
            }
            14 => {
                let cw = CONTROL_WORDS + 2 * self.rng.below(4);
                self.line(&format!("fldcw [{cw:#x}]"));
            }
            _ if d > 2 => {
                self.line("fstp st0");
                self.fp_depth -= 1;
            }
            _ => self.x87_status(),
        }
    }

    /// Random 64-bit operands for MMX from the integer-friendly data.
    pub(super) fn mmx(&mut self) {
        let a = self.rng.below(8);
        let b = self.rng.below(8);
        if self.rng.chance(10) {
            let m = self.addr();
            self.line(&format!("movq mm{a}, qword {m}"));
            return;
        }
        let ops = [
            "paddb",
            "paddw",
            "paddd",
            "paddsb",
            "paddsw",
            "paddusb",
            "paddusw",
            "psubb",
            "psubw",
            "psubd",
            "psubsb",
            "psubsw",
            "psubusb",
            "psubusw",
            "pmulhw",
            "pmullw",
            "pmaddwd",
            "pcmpeqb",
            "pcmpeqw",
            "pcmpeqd",
            "pcmpgtb",
            "pcmpgtw",
            "pcmpgtd",
            "pand",
            "pandn",
            "por",
            "pxor",
            "packsswb",
            "packssdw",
            "packuswb",
            "punpckhbw",
            "punpckhwd",
            "punpckhdq",
            "punpcklbw",
            "punpcklwd",
            "punpckldq",
            "psllw",
            "pslld",
            "psllq",
            "psrlw",
            "psrld",
            "psrlq",
            "psraw",
            "psrad",
        ];
        let op = self.rng.pick(&ops);
        match self.rng.below(4) {
            0 if ["psll", "psrl", "psra"].iter().any(|s| op.starts_with(s)) => {
                let n = self.rng.pick(&[0, 1, 3, 7, 15, 16, 31, 33, 63, 64, 200]);
                self.line(&format!("{op} mm{a}, {n}"));
            }
            1 => {
                let m = self.addr();
                self.line(&format!("{op} mm{a}, qword {m}"));
            }
            _ => self.line(&format!("{op} mm{a}, mm{b}")),
        }
        let r = self.rng.pick(&["eax", "ecx", "edx", "ebp"]);
        if self.rng.chance(50) {
            self.line(&format!("movd {r}, mm{a}"));
        } else {
            self.line(&format!("psrlq mm{a}, 32"));
            self.line(&format!("movd {r}, mm{a}"));
        }
        if self.rng.chance(5) {
            self.line("emms");
        }
    }

    /// MXCSR through memory with DE masked, into EAX.
    fn sse_status(&mut self) {
        self.line(&format!("stmxcsr [{SCRATCH:#x}]"));
        self.line(&format!("and dword [{SCRATCH:#x}], {MXCSR_COMPARED:#x}"));
        self.line(&format!("mov eax, [{SCRATCH:#x}]"));
    }

    /// SSE and SSE2 floating point: singles in xmm0-3, doubles in xmm4-7.
    pub(super) fn sse_float(&mut self) {
        if self.rng.chance(8) {
            for x in 0..4 {
                let at = FLOATS + 16 * self.rng.below(16);
                self.line(&format!("movups xmm{x}, [{at:#x}]"));
                let at = DOUBLES + 16 * self.rng.below(16);
                self.line(&format!("movupd xmm{}, [{at:#x}]", x + 4));
            }
        }
        let double = self.rng.chance(50);
        let base = if double { 4 } else { 0 };
        let a = base + self.rng.below(4);
        let mut b = base + self.rng.below(4);
        let (p, s) = if double { ("pd", "sd") } else { ("ps", "ss") };
        let op = self.rng.pick(&["add", "mul", "div", "min", "max", "sub"]);
        if op == "sub" && a == b {
            b = base + (b + 1) % 4;
        }
        match self.rng.below(12) {
            0..=2 => {
                let form = if self.rng.chance(50) { p } else { s };
                self.line(&format!("{op}{form} xmm{a}, xmm{b}"));
            }
            3 => {
                let m = if double { self.double() } else { self.float() };
                self.line(&format!("{op}{s} xmm{a}, {m}"));
            }
            4 => {
                self.line(&format!(
                    "andp{} xmm{a}, [{:#x}]",
                    &p[1..],
                    if double { ABS_DOUBLE } else { ABS_FLOAT }
                ));
                self.line(&format!("sqrt{p} xmm{a}, xmm{a}"));
            }
            5 => {
                let pred = self.rng.below(8);
                self.line(&format!("cmp{p} xmm{a}, xmm{b}, {pred}"));
                self.line(&format!("movmsk{p} eax, xmm{a}"));
                self.line(&format!(
                    "movup{} xmm{a}, [{:#x}]",
                    &p[1..],
                    if double { DOUBLES } else { FLOATS }
                ));
            }
            6 => {
                let r = self.rng.pick(&["eax", "ecx"]);
                self.line(&format!("cmp {r}, {r}"));
                let op = self.rng.pick(&["comi", "ucomi"]);
                self.line(&format!("{op}{s} xmm{a}, xmm{b}"));
                self.flags(ARITH, 0);
            }
            7 => {
                let op = self.rng.pick(&["shuf", "unpckl", "unpckh"]);
                if op == "shuf" {
                    let imm = self.rng.below(256);
                    self.line(&format!("shuf{p} xmm{a}, xmm{b}, {imm:#x}"));
                } else {
                    self.line(&format!("{op}{p} xmm{a}, xmm{b}"));
                }
            }
            8 => {
                let (dst, src) = (self.rng.below(4), 4 + self.rng.below(4));
                let conv = self.rng.pick(&[
                    ("cvtps2pd", src, dst),
                    ("cvtpd2ps", dst, src),
                    ("cvtss2sd", src, dst),
                    ("cvtsd2ss", dst, src),
                ]);
                self.line(&format!("{} xmm{}, xmm{}", conv.0, conv.1, conv.2));
            }
            9 => {
                let t = if self.rng.chance(50) { "t" } else { "" };
                let r = self.rng.pick(&["ecx", "edx", "ebp"]);
                self.line(&format!("cvt{t}{s}2si {r}, xmm{a}"));
                self.sse_status();
            }
            10 => {
                let at = MXCSRS + 4 * self.rng.below(4);
                self.line(&format!("ldmxcsr [{at:#x}]"));
            }
            _ => {
                self.line(&format!("movmsk{p} edx, xmm{a}"));
                self.line(&format!("movd ecx, xmm{a}"));
                self.sse_status();
            }
        }
    }

    /// SSE2 integers on XMM registers, and the SSE integer additions.
    pub(super) fn sse_int(&mut self) {
        let a = self.rng.below(8);
        let b = self.rng.below(8);
        if self.rng.chance(10) {
            let m = self.addr();
            self.line(&format!("movdqu xmm{a}, {m}"));
            return;
        }
        let ops = [
            "paddb",
            "paddw",
            "paddd",
            "paddq",
            "paddsw",
            "paddusb",
            "psubb",
            "psubd",
            "psubq",
            "psubusw",
            "pmulhw",
            "pmullw",
            "pmulhuw",
            "pmuludq",
            "pmaddwd",
            "pcmpeqb",
            "pcmpgtw",
            "pcmpgtd",
            "pand",
            "pandn",
            "por",
            "pxor",
            "packsswb",
            "packssdw",
            "packuswb",
            "punpckhbw",
            "punpcklwd",
            "punpckhdq",
            "punpcklqdq",
            "punpckhqdq",
            "pavgb",
            "pavgw",
            "pmaxsw",
            "pmaxub",
            "pminsw",
            "pminub",
            "psadbw",
            "psllw",
            "psrld",
            "psraw",
            "psrlq",
        ];
        let op = self.rng.pick(&ops);
        match self.rng.below(6) {
            0 => {
                let n = self.rng.pick(&[0, 1, 3, 7, 15, 16, 31, 33, 63, 64, 200]);
                let op = self.rng.pick(&[
                    "psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad", "pslldq",
                    "psrldq",
                ]);
                self.line(&format!("{op} xmm{a}, {n}"));
            }
            1 => {
                let imm = self.rng.below(256);
                let op = self.rng.pick(&["pshufd", "pshuflw", "pshufhw"]);
                self.line(&format!("{op} xmm{a}, xmm{b}, {imm:#x}"));
            }
            2 => {
                let imm = self.rng.below(8);
                self.line(&format!("pinsrw xmm{a}, ecx, {imm}"));
                let k = self.rng.below(8);
                self.line(&format!("pextrw edx, xmm{b}, {k}"));
            }
            _ => self.line(&format!("{op} xmm{a}, xmm{b}")),
        }
        let r = self.rng.pick(&["eax", "ecx", "edx", "ebp"]);
        match self.rng.below(3) {
            0 => self.line(&format!("pmovmskb {r}, xmm{a}")),
            1 => self.line(&format!("movd {r}, xmm{a}")),
            _ => {
                let n = 4 * self.rng.below(4);
                self.line(&format!("psrldq xmm{a}, {n}"));
                self.line(&format!("movd {r}, xmm{a}"));
            }
        }
    }
}

/// Masks that clear the sign bits (ANDPS/ANDPD before a square root).
const ABS_FLOAT: u32 = 0x1d40;
const ABS_DOUBLE: u32 = 0x1d50;

/// The header's part writing the sign masks.
pub(super) fn sign_masks() -> String {
    let mut h = String::new();
    for i in 0..4 {
        let _ = writeln!(h, "    mov dword [{:#x}], 0x7fffffff", ABS_FLOAT + 4 * i);
        let v = if i % 2 == 0 { 0xffff_ffffu32 } else { 0x7fff_ffff };
        let _ = writeln!(h, "    mov dword [{:#x}], {v:#x}", ABS_DOUBLE + 4 * i);
    }
    h
}
