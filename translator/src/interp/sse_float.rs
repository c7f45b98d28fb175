//! SSE and SSE2 floating point: packed and scalar single and double
//! arithmetic, square roots, reciprocal estimates, minimum and maximum,
//! compares (CMPccPS/SS/PD/SD, COMISS/D, UCOMISS/D), every conversion, the
//! scalar and half moves (MOVSS, MOVSD, MOVLPS, MOVHPS, MOVLPD, MOVHPD,
//! MOVHLPS, MOVLHPS, MOVNTPS, MOVNTPD, MOVMSKPS, MOVMSKPD), and the shuffles
//! and unpacks (SHUFPS, SHUFPD, UNPCKLPS/HPS/LPD/HPD). The numbers are
//! [`crate::f80::simd`]'s.
//!
//! Exceptions follow SDM Vol. 1 11.5.1: every lane is computed, then the
//! flags found before computing (invalid, denormal, zero divide) are looked
//! at first; an unmasked one sets only those flags and raises #XM (#UD
//! without CR4.OSXMMEXCPT) with the destination unchanged. Otherwise all the
//! flags are set, and an unmasked overflow, underflow or precision
//! exception raises #XM, again with the destination unchanged.

use iced_x86::{Instruction, Mnemonic as M, OpKind};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::f80::simd::{self, Env, Op, Order, Width};
use crate::f80::{exc, Rounding};
use crate::state::{cr4, fl};

use super::sse::{mxcsr, xmm_index};

/// The lanes of a register for a width.
fn lane(v: u128, w: Width, i: usize) -> u64 {
    match w {
        Width::Single => (v >> (32 * i)) as u32 as u64,
        Width::Double => (v >> (64 * i)) as u64,
    }
}

fn with_lane(v: u128, w: Width, i: usize, x: u64) -> u128 {
    match w {
        Width::Single => v & !(0xffff_ffffu128 << (32 * i)) | ((x as u32 as u128) << (32 * i)),
        Width::Double => v & !((u64::MAX as u128) << (64 * i)) | ((x as u128) << (64 * i)),
    }
}

fn lanes(w: Width) -> usize {
    match w {
        Width::Single => 4,
        Width::Double => 2,
    }
}

const BEFORE: u8 = exc::IE | exc::DE | exc::ZE;

/// The width and packedness a mnemonic names (by its PS, SS, PD, SD ending).
fn shape(m: M) -> (Width, bool) {
    use M::*;
    match m {
        Addps | Subps | Mulps | Divps | Minps | Maxps | Sqrtps | Rcpps | Rsqrtps | Cmpps | Movmskps => {
            (Width::Single, true)
        }
        Addss | Subss | Mulss | Divss | Minss | Maxss | Sqrtss | Rcpss | Rsqrtss | Cmpss | Comiss
        | Ucomiss => (Width::Single, false),
        Addpd | Subpd | Mulpd | Divpd | Minpd | Maxpd | Sqrtpd | Cmppd | Movmskpd => (Width::Double, true),
        _ => (Width::Double, false),
    }
}

impl Cpu {
    /// A floating-point SSE or SSE2 instruction; `None` for the others.
    pub(super) fn sse_float(&mut self, ins: &Instruction) -> Fault<Option<()>> {
        let m = ins.mnemonic();
        match m {
            M::Addps | M::Addss | M::Addpd | M::Addsd => {
                self.sse_binary(ins, |a, b, w, e| simd::arith(Op::Add, a, b, w, e))
            }
            M::Subps | M::Subss | M::Subpd | M::Subsd => {
                self.sse_binary(ins, |a, b, w, e| simd::arith(Op::Sub, a, b, w, e))
            }
            M::Mulps | M::Mulss | M::Mulpd | M::Mulsd => {
                self.sse_binary(ins, |a, b, w, e| simd::arith(Op::Mul, a, b, w, e))
            }
            M::Divps | M::Divss | M::Divpd | M::Divsd => {
                self.sse_binary(ins, |a, b, w, e| simd::arith(Op::Div, a, b, w, e))
            }
            M::Minps | M::Minss | M::Minpd | M::Minsd => {
                self.sse_binary(ins, |a, b, w, e| simd::min_max(a, b, false, w, e))
            }
            M::Maxps | M::Maxss | M::Maxpd | M::Maxsd => {
                self.sse_binary(ins, |a, b, w, e| simd::min_max(a, b, true, w, e))
            }
            M::Sqrtps | M::Sqrtss | M::Sqrtpd | M::Sqrtsd => {
                self.sse_binary(ins, |_, b, w, e| simd::sqrt(b, w, e))
            }
            M::Rcpps | M::Rcpss => {
                self.sse_binary(ins, |_, b, _, _| simd::reciprocal(b as u32, false) as u64)
            }
            M::Rsqrtps | M::Rsqrtss => {
                self.sse_binary(ins, |_, b, _, _| simd::reciprocal(b as u32, true) as u64)
            }
            M::Cmpps | M::Cmpss | M::Cmppd | M::Cmpsd => {
                let predicate = ins.immediate8() & 7;
                self.sse_binary(ins, move |a, b, w, e| compare_mask(a, b, predicate, w, e))
            }
            M::Comiss | M::Ucomiss | M::Comisd | M::Ucomisd => self.comis(ins),
            M::Movss | M::Movsd | M::Movlps | M::Movhps | M::Movlpd | M::Movhpd | M::Movhlps | M::Movlhps => {
                self.sse_part_move(ins)
            }
            M::Movntps | M::Movntpd => {
                let v = self.xmm(xmm_index(ins.op1_register()));
                self.sse_write_memory(ins, 16, v)
            }
            M::Movmskps | M::Movmskpd => {
                let v = self.xmm(xmm_index(ins.op1_register()));
                let (w, _) = shape(m);
                let top = if w == Width::Single { 31 } else { 63 };
                let bits = (0..lanes(w)).fold(0, |acc, i| acc | ((lane(v, w, i) >> top) as u32) << i);
                self.set_reg(ins.op0_register(), bits);
                Ok(())
            }
            M::Shufps | M::Shufpd | M::Unpcklps | M::Unpckhps | M::Unpcklpd | M::Unpckhpd => {
                self.sse_shuffle(ins)
            }
            _ if is_conversion(m) => self.sse_convert(ins),
            _ => return Ok(None),
        }
        .map(Some)
    }

    /// MXCSR as an environment for the numbers.
    fn sse_env(&self) -> Env {
        let m = self.state.fpu.mxcsr;
        let unmasked = !(m >> mxcsr::MASKS_SHIFT) as u8 & 0x3f;
        Env::new(
            Rounding::from_bits(m >> mxcsr::RC_SHIFT),
            m & mxcsr::DAZ != 0,
            m & mxcsr::FTZ != 0,
            unmasked,
        )
    }

    /// Commits the flags of every lane (`before`: those found before
    /// computing; `all`: every one) to MXCSR, or raises #XM for an unmasked one.
    fn sse_flags(&mut self, before: u8, all: u8) -> Fault {
        let unmasked = !(self.state.fpu.mxcsr >> mxcsr::MASKS_SHIFT) as u8 & 0x3f;
        let (set, fault) = if before & unmasked != 0 { (before, true) } else { (all, all & unmasked != 0) };
        self.state.fpu.mxcsr |= set as u32;
        if !fault {
            return Ok(());
        }
        if self.state.cr4 & cr4::OSXMMEXCPT != 0 {
            Err(Exception::xm())
        } else {
            Err(Exception::ud())
        }
    }

    /// `dst = f(dst, src)` lane by lane, packed or scalar (the upper lanes kept).
    fn sse_binary(&mut self, ins: &Instruction, f: impl Fn(u64, u64, Width, &mut Env) -> u64) -> Fault {
        let (w, packed) = shape(ins.mnemonic());
        let bytes = if packed { 16 } else { Self::sse_mem_bytes(ins) };
        let b = self.sse_read(ins, 1, bytes)?;
        let d = xmm_index(ins.op0_register());
        let a = self.xmm(d);
        let base = self.sse_env();
        let (mut before, mut all, mut r) = (0, 0, a);
        for i in 0..if packed { lanes(w) } else { 1 } {
            let mut env = base;
            r = with_lane(r, w, i, f(lane(a, w, i), lane(b, w, i), w, &mut env));
            before |= env.flags & BEFORE;
            all |= env.flags;
        }
        self.sse_flags(before, all)?;
        self.set_xmm(d, r);
        Ok(())
    }

    /// COMISS, UCOMISS, COMISD, UCOMISD: ZF, PF, CF; OF, SF and AF clear.
    fn comis(&mut self, ins: &Instruction) -> Fault {
        let (w, _) = shape(ins.mnemonic());
        let b = lane(self.sse_read(ins, 1, Self::sse_mem_bytes(ins))?, w, 0);
        let a = lane(self.xmm(xmm_index(ins.op0_register())), w, 0);
        let mut env = self.sse_env();
        let signaling = matches!(ins.mnemonic(), M::Comiss | M::Comisd);
        let o = simd::compare(a, b, signaling, w, &mut env);
        self.sse_flags(env.flags, env.flags)?;
        let v = match o {
            Order::Greater => 0,
            Order::Less => fl::CF,
            Order::Equal => fl::ZF,
            Order::Unordered => fl::ZF | fl::PF | fl::CF,
        };
        self.state.flags.set_arith(fl::ARITH, v);
        Ok(())
    }

    /// MOVSS, MOVSD and the 64-bit half moves.
    fn sse_part_move(&mut self, ins: &Instruction) -> Fault {
        let m = ins.mnemonic();
        let to_memory = ins.op_kind(0) == OpKind::Memory;
        if to_memory {
            let v = self.xmm(xmm_index(ins.op1_register()));
            return match m {
                M::Movss => self.sse_write_memory(ins, 4, v),
                M::Movhps | M::Movhpd => self.sse_write_memory(ins, 8, v >> 64),
                _ => self.sse_write_memory(ins, 8, v),
            };
        }
        let from_memory = ins.op_kind(1) == OpKind::Memory;
        let src = self.sse_read(ins, 1, Self::sse_mem_bytes(ins))?;
        let d = xmm_index(ins.op0_register());
        let a = self.xmm(d);
        const LOW: u128 = u64::MAX as u128;
        let r = match m {
            M::Movss if from_memory => src & 0xffff_ffff,
            M::Movss => a & !0xffff_ffff | src & 0xffff_ffff,
            M::Movsd if from_memory => src & LOW,
            M::Movsd | M::Movlps | M::Movlpd => a & !LOW | src & LOW,
            M::Movhps | M::Movhpd | M::Movlhps => a & LOW | (src & LOW) << 64,
            _ => a & !LOW | src >> 64, // MOVHLPS
        };
        self.set_xmm(d, r);
        Ok(())
    }

    /// SHUFPS, SHUFPD and the unpacks.
    fn sse_shuffle(&mut self, ins: &Instruction) -> Fault {
        let b = self.sse_read(ins, 1, 16)?;
        let d = xmm_index(ins.op0_register());
        let a = self.xmm(d);
        let s = |v: u128, i: usize| (v >> (32 * i)) as u32 as u128;
        let q = |v: u128, i: usize| (v >> (64 * i)) as u64 as u128;
        let r = match ins.mnemonic() {
            M::Shufps => {
                let imm = ins.immediate8() as usize;
                s(a, imm & 3) | s(a, imm >> 2 & 3) << 32 | s(b, imm >> 4 & 3) << 64 | s(b, imm >> 6 & 3) << 96
            }
            M::Shufpd => {
                let imm = ins.immediate8() as usize;
                q(a, imm & 1) | q(b, imm >> 1 & 1) << 64
            }
            M::Unpcklps => s(a, 0) | s(b, 0) << 32 | s(a, 1) << 64 | s(b, 1) << 96,
            M::Unpckhps => s(a, 2) | s(b, 2) << 32 | s(a, 3) << 64 | s(b, 3) << 96,
            M::Unpcklpd => q(a, 0) | q(b, 0) << 64,
            _ => q(a, 1) | q(b, 1) << 64,
        };
        self.set_xmm(d, r);
        Ok(())
    }

    /// Every CVT instruction.
    fn sse_convert(&mut self, ins: &Instruction) -> Fault {
        let m = ins.mnemonic();
        let src = self.sse_read(ins, 1, Self::sse_mem_bytes(ins))?;
        let dst = ins.op0_register();
        let old =
            if dst.is_mm() || ins.op0_kind() != OpKind::Register { 0 } else { self.sse_read(ins, 0, 16)? };
        let base = self.sse_env();
        let (mut before, mut all) = (0u8, 0u8);
        let mut run = |f: &mut dyn FnMut(&mut Env) -> u64| {
            let mut env = base;
            let v = f(&mut env);
            before |= env.flags & BEFORE;
            all |= env.flags;
            v
        };
        let (s, d) = (Width::Single, Width::Double);
        let int = |v: u128, i: usize| (v >> (32 * i)) as u32 as i32;
        let truncate = matches!(
            m,
            M::Cvttps2pi | M::Cvttss2si | M::Cvttpd2pi | M::Cvttsd2si | M::Cvttps2dq | M::Cvttpd2dq
        );
        let r: u128 = match m {
            // Integers to floating point.
            M::Cvtpi2ps => {
                let lo = run(&mut |e| simd::from_int(int(src, 0), s, e)) as u128;
                let hi = run(&mut |e| simd::from_int(int(src, 1), s, e)) as u128;
                old & !(u64::MAX as u128) | lo | hi << 32
            }
            M::Cvtsi2ss => old & !0xffff_ffff | run(&mut |e| simd::from_int(src as u32 as i32, s, e)) as u128,
            M::Cvtpi2pd | M::Cvtdq2pd => {
                let lo = run(&mut |e| simd::from_int(int(src, 0), d, e)) as u128;
                let hi = run(&mut |e| simd::from_int(int(src, 1), d, e)) as u128;
                lo | hi << 64
            }
            M::Cvtsi2sd => {
                old & !(u64::MAX as u128) | run(&mut |e| simd::from_int(src as u32 as i32, d, e)) as u128
            }
            M::Cvtdq2ps => (0..4).fold(0, |acc, i| {
                acc | (run(&mut |e| simd::from_int(int(src, i), s, e)) as u128) << (32 * i)
            }),
            // Floating point to integers.
            M::Cvtps2pi | M::Cvttps2pi => (0..2).fold(0, |acc, i| {
                acc | (run(&mut |e| simd::to_int(lane(src, s, i), s, truncate, e) as u32 as u64) as u128)
                    << (32 * i)
            }),
            M::Cvtps2dq | M::Cvttps2dq => (0..4).fold(0, |acc, i| {
                acc | (run(&mut |e| simd::to_int(lane(src, s, i), s, truncate, e) as u32 as u64) as u128)
                    << (32 * i)
            }),
            M::Cvtpd2pi | M::Cvttpd2pi | M::Cvtpd2dq | M::Cvttpd2dq => (0..2).fold(0, |acc, i| {
                acc | (run(&mut |e| simd::to_int(lane(src, d, i), d, truncate, e) as u32 as u64) as u128)
                    << (32 * i)
            }),
            M::Cvtss2si | M::Cvttss2si => {
                run(&mut |e| simd::to_int(lane(src, s, 0), s, truncate, e) as u32 as u64) as u128
            }
            M::Cvtsd2si | M::Cvttsd2si => {
                run(&mut |e| simd::to_int(lane(src, d, 0), d, truncate, e) as u32 as u64) as u128
            }
            // Between the widths.
            M::Cvtss2sd => old & !(u64::MAX as u128) | run(&mut |e| simd::widen(src as u32, e)) as u128,
            M::Cvtsd2ss => old & !0xffff_ffff | run(&mut |e| simd::narrow(src as u64, e) as u64) as u128,
            M::Cvtps2pd => {
                let lo = run(&mut |e| simd::widen(src as u32, e)) as u128;
                let hi = run(&mut |e| simd::widen((src >> 32) as u32, e)) as u128;
                lo | hi << 64
            }
            _ => {
                // CVTPD2PS: two singles, the upper half zero.
                let lo = run(&mut |e| simd::narrow(src as u64, e) as u64) as u128;
                let hi = run(&mut |e| simd::narrow((src >> 64) as u64, e) as u64) as u128;
                lo | hi << 32
            }
        };
        self.sse_flags(before, all)?;
        self.sse_write_reg(dst, r);
        Ok(())
    }
}

/// CMPccPS's predicates: EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD (LT, LE and
/// their negations signal on any NaN).
fn compare_mask(a: u64, b: u64, predicate: u8, w: Width, env: &mut Env) -> u64 {
    let signaling = matches!(predicate, 1 | 2 | 5 | 6);
    let o = simd::compare(a, b, signaling, w, env);
    let t = match predicate {
        0 => o == Order::Equal,
        1 => o == Order::Less,
        2 => matches!(o, Order::Less | Order::Equal),
        3 => o == Order::Unordered,
        4 => o != Order::Equal,
        5 => o != Order::Less,
        6 => !matches!(o, Order::Less | Order::Equal),
        _ => o != Order::Unordered,
    };
    if t {
        u64::MAX
    } else {
        0
    }
}

fn is_conversion(m: M) -> bool {
    matches!(
        m,
        M::Cvtpi2ps
            | M::Cvtps2pi
            | M::Cvttps2pi
            | M::Cvtsi2ss
            | M::Cvtss2si
            | M::Cvttss2si
            | M::Cvtpd2pi
            | M::Cvttpd2pi
            | M::Cvtpi2pd
            | M::Cvtsi2sd
            | M::Cvtsd2si
            | M::Cvttsd2si
            | M::Cvtss2sd
            | M::Cvtsd2ss
            | M::Cvtps2pd
            | M::Cvtpd2ps
            | M::Cvtdq2ps
            | M::Cvtps2dq
            | M::Cvttps2dq
            | M::Cvtdq2pd
            | M::Cvtpd2dq
            | M::Cvttpd2dq
    )
}
