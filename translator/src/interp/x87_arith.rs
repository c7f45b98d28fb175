//! x87 arithmetic and compares: FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR in all their
//! forms (memory real and integer, register, popping), FCOM/FUCOM/FICOM,
//! FCOMI/FUCOMI, FTST, FXAM, FCHS, FABS, FSQRT, FRNDINT, FSCALE, FPREM,
//! FPREM1, FXTRACT and the transcendentals (FSIN, FCOS, FSINCOS, FPTAN,
//! FPATAN, F2XM1, FYL2X, FYL2XP1). The arithmetic itself is [`crate::f80`]'s.

use iced_x86::{Instruction, Mnemonic as M, OpKind};

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::f80::trans::{self, Trig};
use crate::f80::{arith, Class, Ordering, F80};
use crate::state::{fl, fsw};

use super::x87::st_operand;

impl Cpu {
    pub(super) fn x87_arith(&mut self, ins: &Instruction) -> Fault {
        match ins.mnemonic() {
            M::Fadd
            | M::Faddp
            | M::Fiadd
            | M::Fsub
            | M::Fsubp
            | M::Fisub
            | M::Fsubr
            | M::Fsubrp
            | M::Fisubr => self.x87_binary(ins),
            M::Fmul
            | M::Fmulp
            | M::Fimul
            | M::Fdiv
            | M::Fdivp
            | M::Fidiv
            | M::Fdivr
            | M::Fdivrp
            | M::Fidivr => self.x87_binary(ins),
            M::Fcom
            | M::Fcomp
            | M::Fcompp
            | M::Fucom
            | M::Fucomp
            | M::Fucompp
            | M::Ficom
            | M::Ficomp
            | M::Ftst => self.fcom(ins),
            M::Fcomi | M::Fcomip | M::Fucomi | M::Fucomip => self.fcomi(ins),
            M::Fxam => {
                self.fxam();
                Ok(())
            }
            M::Fchs | M::Fabs | M::Fsqrt | M::Frndint | M::F2xm1 => self.x87_unary(ins.mnemonic()),
            M::Fsin | M::Fcos | M::Fsincos | M::Fptan => self.x87_trig(ins.mnemonic()),
            M::Fpatan | M::Fyl2x | M::Fyl2xp1 => self.x87_into_st1(ins.mnemonic()),
            M::Fscale | M::Fprem | M::Fprem1 => self.x87_st0_st1(ins.mnemonic()),
            M::Fxtract => self.fxtract(),
            _ => Err(self.unimplemented(ins)),
        }
    }

    /// The two-operand arithmetic: `dst = dst op src`, or `src op dst` for
    /// the reversed forms, popping for the P forms.
    fn x87_binary(&mut self, ins: &Instruction) -> Fault {
        let m = ins.mnemonic();
        let (dst, src_reg) =
            if ins.op_count() == 2 { (st_operand(ins, 0), Some(st_operand(ins, 1))) } else { (0, None) };
        let pop = matches!(m, M::Faddp | M::Fsubp | M::Fsubrp | M::Fmulp | M::Fdivp | M::Fdivrp);
        let (mut ctx, fmt) = self.x87_ctx();
        let b = match src_reg {
            Some(i) => {
                if !self.st_valid(i) || !self.st_valid(dst) {
                    return self.x87_underflow_to(dst, pop);
                }
                self.st(i)
            }
            None => {
                let v = self.x87_read_memory(ins, &mut ctx)?;
                if !self.st_valid(0) {
                    return self.x87_underflow_to(0, false);
                }
                v
            }
        };
        let a = self.st(dst);
        let r = match m {
            M::Fadd | M::Faddp | M::Fiadd => arith::add(a, b, fmt, &mut ctx),
            M::Fsub | M::Fsubp | M::Fisub => arith::sub(a, b, fmt, &mut ctx),
            M::Fsubr | M::Fsubrp | M::Fisubr => arith::sub(b, a, fmt, &mut ctx),
            M::Fmul | M::Fmulp | M::Fimul => arith::mul(a, b, fmt, &mut ctx),
            M::Fdiv | M::Fdivp | M::Fidiv => arith::div(a, b, fmt, &mut ctx),
            _ => arith::div(b, a, fmt, &mut ctx),
        };
        if self.x87_finish(&ctx, false) {
            self.set_st(dst, r);
            if pop {
                self.x87_pop();
            }
        }
        Ok(())
    }

    /// A stack underflow with a register destination: masked, the
    /// destination gets the default NaN (and the P forms pop).
    fn x87_underflow_to(&mut self, dst: u8, pop: bool) -> Fault {
        if self.x87_stack_fault(false) {
            self.set_st(dst, F80::INDEFINITE);
            if pop {
                self.x87_pop();
            }
        }
        Ok(())
    }

    /// The comparison of ST(0) with the instruction's other operand, and how
    /// many registers it pops; `None` for a stack underflow.
    fn x87_compare(&mut self, ins: &Instruction) -> Fault<(Option<Ordering>, u8, u8)> {
        let m = ins.mnemonic();
        let pops = match m {
            M::Fcompp | M::Fucompp => 2,
            M::Fcomp | M::Fucomp | M::Ficomp | M::Fcomip | M::Fucomip => 1,
            _ => 0,
        };
        let signaling = matches!(
            m,
            M::Fcom | M::Fcomp | M::Fcompp | M::Ficom | M::Ficomp | M::Ftst | M::Fcomi | M::Fcomip
        );
        let (mut ctx, _) = self.x87_ctx();
        let b = if m == M::Ftst {
            Some(F80::ZERO)
        } else if matches!(m, M::Fcompp | M::Fucompp) {
            self.st_valid(1).then(|| self.st(1))
        } else if ins.op_count() == 2 {
            let i = st_operand(ins, 1);
            self.st_valid(i).then(|| self.st(i))
        } else if ins.op_count() == 1 && ins.op_kind(0) == OpKind::Memory {
            Some(self.x87_read_memory(ins, &mut ctx)?)
        } else {
            let i = st_operand(ins, 0);
            self.st_valid(i).then(|| self.st(i))
        };
        let (Some(b), true) = (b, self.st_valid(0)) else {
            let masked = self.x87_stack_fault(false);
            return Ok((masked.then_some(Ordering::Unordered), pops, masked as u8));
        };
        let o = arith::compare(self.st(0), b, signaling, &mut ctx);
        ctx.rounded_up = false;
        let deliver = self.x87_finish(&ctx, false);
        Ok((deliver.then_some(o), pops, deliver as u8))
    }

    /// FCOM, FUCOM, FICOM, FTST and their popping forms: C3, C2, C0.
    fn fcom(&mut self, ins: &Instruction) -> Fault {
        let (o, pops, proceed) = self.x87_compare(ins)?;
        if let Some(o) = o {
            let c = match o {
                Ordering::Greater => 0,
                Ordering::Less => fsw::C0,
                Ordering::Equal => fsw::C3,
                Ordering::Unordered => fsw::C0 | fsw::C2 | fsw::C3,
            };
            let f = &mut self.state.fpu;
            f.sw = f.sw & !(fsw::C0 | fsw::C2 | fsw::C3) | c;
        }
        if proceed != 0 {
            for _ in 0..pops {
                self.x87_pop();
            }
        }
        Ok(())
    }

    /// FCOMI, FUCOMI and their popping forms: ZF, PF, CF; OF, SF and AF clear.
    fn fcomi(&mut self, ins: &Instruction) -> Fault {
        self.require(crate::cpuid::feature::CMOV)?;
        let (o, pops, proceed) = self.x87_compare(ins)?;
        if let Some(o) = o {
            let v = match o {
                Ordering::Greater => 0,
                Ordering::Less => fl::CF,
                Ordering::Equal => fl::ZF,
                Ordering::Unordered => fl::ZF | fl::PF | fl::CF,
            };
            self.state.flags.set_arith(fl::ARITH, v);
        }
        if proceed != 0 {
            for _ in 0..pops {
                self.x87_pop();
            }
        }
        Ok(())
    }

    /// FXAM: the class of ST(0) in C3, C2, C0 and its sign in C1.
    fn fxam(&mut self) {
        let v = self.st(0);
        let c = if !self.st_valid(0) {
            fsw::C3 | fsw::C0
        } else {
            match v.class() {
                Class::Unsupported => 0,
                Class::QNaN | Class::SNaN => fsw::C0,
                Class::Normal => fsw::C2,
                Class::Infinity => fsw::C2 | fsw::C0,
                Class::Zero => fsw::C3,
                Class::Denormal => fsw::C3 | fsw::C2,
            }
        };
        let sign = if v.sign() { fsw::C1 } else { 0 };
        let f = &mut self.state.fpu;
        f.sw = f.sw & !fsw::CONDITION | c | sign;
    }

    /// FCHS, FABS, FSQRT, FRNDINT, F2XM1 on ST(0).
    fn x87_unary(&mut self, m: M) -> Fault {
        if !self.st_valid(0) {
            return self.x87_underflow_to(0, false);
        }
        let a = self.st(0);
        let (mut ctx, fmt) = self.x87_ctx();
        let r = match m {
            M::Fchs => -a,
            M::Fabs => a.abs(),
            M::Fsqrt => arith::sqrt(a, fmt, &mut ctx),
            M::F2xm1 => trans::f2xm1(a, &mut ctx),
            _ => arith::round_to_int(a, &mut ctx),
        };
        if self.x87_finish(&ctx, false) {
            self.set_st(0, r);
        }
        Ok(())
    }

    /// FSCALE, FPREM and FPREM1: ST(0) from ST(0) and ST(1).
    fn x87_st0_st1(&mut self, m: M) -> Fault {
        if !self.st_valid(0) || !self.st_valid(1) {
            return self.x87_underflow_to(0, false);
        }
        let (a, b) = (self.st(0), self.st(1));
        let (mut ctx, _) = self.x87_ctx();
        if m == M::Fscale {
            let r = arith::scale(a, b, &mut ctx);
            if self.x87_finish(&ctx, false) {
                self.set_st(0, r);
            }
            return Ok(());
        }
        let (r, q, done) = arith::remainder(a, b, m == M::Fprem1, &mut ctx);
        if self.x87_finish(&ctx, false) {
            self.set_st(0, r);
            let f = &mut self.state.fpu;
            f.sw &= !fsw::CONDITION;
            if done {
                let bit = |n: u64, flag: u16| if q >> n & 1 != 0 { flag } else { 0 };
                f.sw |= bit(2, fsw::C0) | bit(0, fsw::C1) | bit(1, fsw::C3);
            } else {
                f.sw |= fsw::C2;
            }
        }
        Ok(())
    }

    /// FXTRACT: ST(0) becomes the exponent and the significand is pushed.
    fn fxtract(&mut self) -> Fault {
        if !self.st_valid(0) {
            if self.x87_stack_fault(false) {
                self.set_st(0, F80::INDEFINITE);
                self.x87_push_unchecked(F80::INDEFINITE);
            }
            return Ok(());
        }
        if self.st_valid(7) {
            if self.x87_stack_fault(true) {
                self.set_st(0, F80::INDEFINITE);
                self.x87_push_unchecked(F80::INDEFINITE);
            }
            return Ok(());
        }
        let (mut ctx, _) = self.x87_ctx();
        let (e, s) = arith::extract(self.st(0), &mut ctx);
        if self.x87_finish(&ctx, false) {
            self.set_st(0, e);
            self.x87_push(s);
        }
        Ok(())
    }

    /// A stack fault for an instruction that replaces ST(0) and pushes a
    /// second result: masked, both are the default NaN.
    fn x87_two_results_fault(&mut self, overflow: bool) -> Fault {
        if self.x87_stack_fault(overflow) {
            self.set_st(0, F80::INDEFINITE);
            self.x87_push_unchecked(F80::INDEFINITE);
        }
        Ok(())
    }

    /// FSIN, FCOS, FSINCOS (sine in ST(0), cosine pushed) and FPTAN (the
    /// tangent, then 1.0 pushed). An operand of 2^63 or more sets C2 and
    /// changes nothing.
    fn x87_trig(&mut self, m: M) -> Fault {
        let pushes = matches!(m, M::Fsincos | M::Fptan);
        if !self.st_valid(0) {
            if !pushes {
                return self.x87_underflow_to(0, false);
            }
            return self.x87_two_results_fault(false);
        }
        if pushes && self.st_valid(7) {
            return self.x87_two_results_fault(true);
        }
        let (mut ctx, _) = self.x87_ctx();
        let x = self.st(0);
        let (first, second) = match trans::trig_operand(x, &mut ctx) {
            Trig::OutOfRange => {
                let f = &mut self.state.fpu;
                f.sw = f.sw & !fsw::C1 | fsw::C2;
                return Ok(());
            }
            Trig::Special(r) => (r, pushes.then_some(r)),
            Trig::Compute => match m {
                M::Fsin => (trans::sin(x, &mut ctx), None),
                M::Fcos => (trans::cos(x, &mut ctx), None),
                M::Fsincos => {
                    let (s, c) = trans::sin_cos(x, &mut ctx);
                    (s, Some(c))
                }
                _ => (trans::tan(x, &mut ctx), Some(F80::ONE)),
            },
        };
        self.state.fpu.sw &= !fsw::C2;
        if self.x87_finish(&ctx, false) {
            self.set_st(0, first);
            if let Some(v) = second {
                self.x87_push_unchecked(v);
            }
        }
        Ok(())
    }

    /// FPATAN, FYL2X and FYL2XP1: ST(1) from ST(1) and ST(0), then a pop.
    fn x87_into_st1(&mut self, m: M) -> Fault {
        if !self.st_valid(0) || !self.st_valid(1) {
            return self.x87_underflow_to(1, true);
        }
        let (x, y) = (self.st(0), self.st(1));
        let (mut ctx, _) = self.x87_ctx();
        let r = match m {
            M::Fpatan => trans::atan2(y, x, &mut ctx),
            M::Fyl2x => trans::yl2x(x, y, &mut ctx),
            _ => trans::yl2xp1(x, y, &mut ctx),
        };
        if self.x87_finish(&ctx, false) {
            self.set_st(1, r);
            self.x87_pop();
        }
        Ok(())
    }
}
