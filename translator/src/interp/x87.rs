//! The x87 FPU: dispatch of the D8-DF escapes, the register stack and its
//! tags, stack faults, how an instruction's exceptions end (masked responses,
//! or a pending #MF / FERR# for the next waiting instruction), the
//! instruction and data pointers, loads, stores, constants, exchanges,
//! FCMOVcc and the control instructions. Arithmetic and compares live in
//! `x87_arith`, the environment and state images in `x87_env`, and the
//! numbers themselves in [`crate::f80`].
//!
//! FOP: the Pentium 4 (family 15) records it only for an instruction that
//! raised an unmasked exception (SDM Vol. 1 8.1.9.1, FOP compatibility mode
//! off); the earlier models record it for every non-control instruction.

use iced_x86::{Instruction, MemorySize, Mnemonic as M, OpKind, Register};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::f80::{convert, exc, Ctx, Format, Rounding, F80};
use crate::state::{cr0, fl, fsw, Seg};

/// The integer indefinite FIST stores for an invalid operand, by size.
fn integer_indefinite(bytes: u32) -> u64 {
    1 << (bytes * 8 - 1)
}

/// The x87 constants, as (value rounded to nearest, value rounded down):
/// the processor holds them to 66 bits and rounds them by RC, not PC.
const CONSTANTS: [(M, F80, F80); 7] = [
    (M::Fld1, F80::ONE, F80::ONE),
    (M::Fldz, F80::ZERO, F80::ZERO),
    (
        M::Fldl2t,
        F80::new(false, 0x4000, 0xd49a_784b_cd1b_8afe),
        F80::new(false, 0x4000, 0xd49a_784b_cd1b_8afe),
    ),
    (
        M::Fldl2e,
        F80::new(false, 0x3fff, 0xb8aa_3b29_5c17_f0bc),
        F80::new(false, 0x3fff, 0xb8aa_3b29_5c17_f0bb),
    ),
    (
        M::Fldpi,
        F80::new(false, 0x4000, 0xc90f_daa2_2168_c235),
        F80::new(false, 0x4000, 0xc90f_daa2_2168_c234),
    ),
    (
        M::Fldlg2,
        F80::new(false, 0x3ffd, 0x9a20_9a84_fbcf_f799),
        F80::new(false, 0x3ffd, 0x9a20_9a84_fbcf_f798),
    ),
    (
        M::Fldln2,
        F80::new(false, 0x3ffe, 0xb172_17f7_d1cf_79ac),
        F80::new(false, 0x3ffe, 0xb172_17f7_d1cf_79ab),
    ),
];

/// Whether an instruction is a control instruction, which leaves the last
/// instruction and data pointers alone (SDM Vol. 1 8.1.8).
fn is_control(m: M) -> bool {
    matches!(
        m,
        M::Fninit
            | M::Finit
            | M::Fnclex
            | M::Fclex
            | M::Fldcw
            | M::Fnstcw
            | M::Fstcw
            | M::Fnstsw
            | M::Fstsw
            | M::Fnstenv
            | M::Fstenv
            | M::Fldenv
            | M::Fnsave
            | M::Fsave
            | M::Frstor
    )
}

/// The no-wait forms, which do not deliver a pending exception first.
fn is_no_wait(m: M) -> bool {
    matches!(
        m,
        M::Fninit
            | M::Fnclex
            | M::Fnstcw
            | M::Fnstsw
            | M::Fnstenv
            | M::Fnsave
            | M::Fneni
            | M::Fndisi
            | M::Fnsetpm
    )
}

impl Cpu {
    /// An x87 instruction: #NM when CR0.EM or CR0.TS says so, a pending
    /// unmasked exception for the waiting forms, then the instruction.
    pub(super) fn x87(&mut self, ins: &Instruction) -> Fault {
        if self.state.cr0 & (cr0::EM | cr0::TS) != 0 {
            return Err(Exception::nm());
        }
        let m = ins.mnemonic();
        if !is_no_wait(m) {
            self.x87_pending()?;
        }
        if !is_control(m) {
            let f = &mut self.state.fpu;
            f.fip = self.state.eip;
            f.fcs = self.state.segs[Seg::CS as usize].selector;
            if ins.op_count() > 0 && (0..ins.op_count()).any(|i| ins.op_kind(i) == OpKind::Memory) {
                let (seg, off) = self.ea(ins);
                let f = &mut self.state.fpu;
                f.fdp = off;
                f.fds = self.state.segs[seg as usize].selector;
            }
            if self.config.model.family < 15 {
                self.x87_record_opcode();
            }
        }
        match m {
            M::Fld | M::Fild | M::Fbld => self.fld(ins),
            M::Fst | M::Fstp | M::Fstpnce | M::Fist | M::Fistp | M::Fbstp => self.fst(ins),
            M::Fld1 | M::Fldz | M::Fldl2t | M::Fldl2e | M::Fldpi | M::Fldlg2 | M::Fldln2 => {
                self.fld_constant(m)
            }
            M::Fxch => self.fxch(ins),
            M::Fcmovb
            | M::Fcmove
            | M::Fcmovbe
            | M::Fcmovu
            | M::Fcmovnb
            | M::Fcmovne
            | M::Fcmovnbe
            | M::Fcmovnu => self.fcmov(ins),
            M::Ffree | M::Ffreep => {
                let i = st_operand(ins, 0);
                let r = self.st_index(i);
                self.state.fpu.valid &= !(1 << r);
                if m == M::Ffreep {
                    self.x87_pop();
                }
                Ok(())
            }
            M::Fincstp | M::Fdecstp => {
                let f = &mut self.state.fpu;
                f.top = if m == M::Fincstp { f.top.wrapping_add(1) } else { f.top.wrapping_sub(1) } & 7;
                f.sw &= !fsw::C1;
                Ok(())
            }
            M::Fnop | M::Fneni | M::Fndisi | M::Fnsetpm | M::Feni | M::Fdisi | M::Fsetpm => Ok(()),
            M::Fninit | M::Finit => {
                self.state.fpu.finit();
                self.x87_update_error();
                Ok(())
            }
            M::Fnclex | M::Fclex => {
                self.state.fpu.sw &= !(fsw::EXCEPTIONS | fsw::SF | fsw::ES | fsw::B);
                self.x87_update_error();
                Ok(())
            }
            M::Fldcw => {
                let (seg, off) = self.ea(ins);
                let cw = self.read(seg, off, 2)? as u16;
                self.state.fpu.cw = cw | 0x40;
                self.x87_update_error();
                Ok(())
            }
            M::Fnstcw | M::Fstcw => {
                let (seg, off) = self.ea(ins);
                self.write(seg, off, 2, self.state.fpu.cw as u32)
            }
            M::Fnstsw | M::Fstsw => {
                let sw = self.state.fpu.status() as u32;
                if ins.op_kind(0) == OpKind::Register {
                    self.set_reg(Register::AX, sw);
                    Ok(())
                } else {
                    let (seg, off) = self.ea(ins);
                    self.write(seg, off, 2, sw)
                }
            }
            M::Fnstenv | M::Fstenv | M::Fldenv | M::Fnsave | M::Fsave | M::Frstor => {
                self.x87_environment(ins)
            }
            M::Fisttp => Err(Exception::ud()),
            _ => self.x87_arith(ins),
        }
    }

    /// FWAIT: #NM when CR0.MP and CR0.TS are both set, else a pending
    /// unmasked exception is delivered.
    pub(super) fn wait(&mut self) -> Fault {
        if self.state.cr0 & (cr0::MP | cr0::TS) == cr0::MP | cr0::TS {
            return Err(Exception::nm());
        }
        self.x87_pending()
    }

    /// A waiting instruction finds an unmasked exception pending: #MF with
    /// CR0.NE set; otherwise the processor asserts FERR#, which the PC wires
    /// to IRQ 13 (SDM Vol. 1 D.2), and goes on.
    pub(super) fn x87_pending(&mut self) -> Fault {
        if self.state.fpu.sw & fsw::ES == 0 {
            return Ok(());
        }
        if self.state.cr0 & cr0::NE != 0 {
            return Err(Exception::mf());
        }
        self.bus.set_ferr(true);
        // The run loop looks at the interrupt lines right after this instruction.
        self.device_touched();
        Ok(())
    }

    /// Recomputes ES and B from the flags and masks (after the control word,
    /// the status word or the environment was loaded) and lets FERR# go when
    /// nothing is pending.
    pub(super) fn x87_update_error(&mut self) {
        let f = &mut self.state.fpu;
        let pending = f.sw & !f.cw & fsw::EXCEPTIONS != 0;
        if pending {
            f.sw |= fsw::ES | fsw::B;
        } else {
            f.sw &= !(fsw::ES | fsw::B);
            self.bus.set_ferr(false);
            self.irq_stale = true;
        }
    }

    // ---- the register stack ----------------------------------------------------------------

    /// The physical register ST(i) is.
    pub(super) fn st_index(&self, i: u8) -> usize {
        (self.state.fpu.top.wrapping_add(i) & 7) as usize
    }

    pub(super) fn st_valid(&self, i: u8) -> bool {
        self.state.fpu.valid & 1 << self.st_index(i) != 0
    }

    pub(super) fn st(&self, i: u8) -> F80 {
        self.state.fpu.regs[self.st_index(i)]
    }

    pub(super) fn set_st(&mut self, i: u8, v: F80) {
        let r = self.st_index(i);
        self.state.fpu.regs[r] = v;
        self.state.fpu.valid |= 1 << r;
    }

    pub(super) fn x87_pop(&mut self) {
        let r = self.st_index(0);
        let f = &mut self.state.fpu;
        f.valid &= !(1 << r);
        f.top = (f.top + 1) & 7;
    }

    /// Pushes a value; a full stack is a stack overflow (masked: the default
    /// NaN is pushed).
    pub(super) fn x87_push(&mut self, v: F80) {
        let r = self.st_index(7);
        if self.state.fpu.valid & 1 << r != 0 {
            if !self.x87_stack_fault(true) {
                return;
            }
            self.x87_push_unchecked(F80::INDEFINITE);
            return;
        }
        self.x87_push_unchecked(v);
    }

    pub(super) fn x87_push_unchecked(&mut self, v: F80) {
        let f = &mut self.state.fpu;
        f.top = f.top.wrapping_sub(1) & 7;
        self.set_st(0, v);
    }

    /// A stack overflow (`overflow`) or underflow: IE and SF, C1 telling
    /// which. Returns whether the masked response (the default NaN) applies.
    pub(super) fn x87_stack_fault(&mut self, overflow: bool) -> bool {
        let f = &mut self.state.fpu;
        f.sw |= exc::IE as u16 | fsw::SF;
        f.sw = if overflow { f.sw | fsw::C1 } else { f.sw & !fsw::C1 };
        if f.cw & exc::IE as u16 == 0 {
            f.sw |= fsw::ES | fsw::B;
            self.x87_record_opcode();
            return false;
        }
        true
    }

    // ---- exceptions ------------------------------------------------------------------------

    /// The rounding environment the control word sets up, and the format
    /// precision control gives the arithmetic.
    pub(super) fn x87_ctx(&self) -> (Ctx, Format) {
        let cw = self.state.fpu.cw as u32;
        let ctx = Ctx { unmasked: !cw as u8 & 0x3f, wrap: true, ..Ctx::new(Rounding::from_bits(cw >> 10)) };
        (ctx, Format::extended_pc(cw >> 8))
    }

    /// Ends an operation: its flags go to the status word with C1 saying
    /// whether the result was rounded up; an unmasked exception becomes
    /// pending. Returns whether the result is delivered: not after an
    /// unmasked invalid operation, denormal operand or zero divide, nor, for a
    /// memory destination (`to_memory`), an unmasked overflow or underflow.
    pub(super) fn x87_finish(&mut self, ctx: &Ctx, to_memory: bool) -> bool {
        let f = &mut self.state.fpu;
        f.sw |= ctx.flags as u16;
        f.sw = if ctx.rounded_up { f.sw | fsw::C1 } else { f.sw & !fsw::C1 };
        let unmasked = ctx.flags & !(f.cw as u8) & 0x3f;
        if unmasked == 0 {
            return true;
        }
        f.sw |= fsw::ES | fsw::B;
        self.x87_record_opcode();
        let mut stopping = exc::IE | exc::DE | exc::ZE;
        if to_memory {
            stopping |= exc::OE | exc::UE;
        }
        unmasked & stopping == 0
    }

    /// FOP: the low three bits of the escape byte and the ModR/M byte of the
    /// current instruction, read back from its code.
    fn x87_record_opcode(&mut self) {
        // The instruction's bytes (at most 15), a page at a time, the next
        // page only if the escape byte (the first in D8-DF, as no prefix is)
        // and the ModR/M byte after it are not on this one.
        let start = self.state.segs[Seg::CS as usize].base.wrapping_add(self.state.eip);
        let mut code = [0u8; 15];
        let mut got = 0;
        while got < code.len() {
            let at = start.wrapping_add(got as u32);
            let Ok(phys) = self.fetch_translate(at) else { return };
            let n = (code.len() - got).min(0x1000 - (at & 0xfff) as usize);
            self.read_code_bytes(phys, &mut code[got..got + n]);
            got += n;
            if let Some(i) = code[..got - 1].iter().position(|b| (0xd8..=0xdf).contains(b)) {
                self.state.fpu.fop = ((code[i] as u16 & 7) << 8) | code[i + 1] as u16;
                return;
            }
        }
    }

    // ---- memory operands -------------------------------------------------------------------

    /// Reads the memory operand of a load or arithmetic instruction as an
    /// extended value (a single or double SNaN raises IE, a denormal DE).
    pub(super) fn x87_read_memory(&mut self, ins: &Instruction, ctx: &mut Ctx) -> Fault<F80> {
        let (seg, off) = self.ea(ins);
        Ok(match ins.memory_size() {
            MemorySize::Float32 => convert::from_f32(self.read(seg, off, 4)?, ctx),
            MemorySize::Float64 => convert::from_f64(self.read_u64(seg, off)?, ctx),
            MemorySize::Int16 => convert::from_i64(self.read(seg, off, 2)? as i16 as i64),
            MemorySize::Int32 => convert::from_i64(self.read(seg, off, 4)? as i32 as i64),
            MemorySize::Int64 => convert::from_i64(self.read_u64(seg, off)? as i64),
            MemorySize::Bcd => {
                let mut b = [0; 10];
                self.read_bytes(seg, off, &mut b, 8)?;
                convert::from_bcd(b)
            }
            _ => {
                let mut b = [0; 10];
                self.read_bytes(seg, off, &mut b, 8)?;
                F80::from_bytes(b)
            }
        })
    }

    pub(super) fn read_u64(&mut self, seg: Seg, off: u32) -> Fault<u64> {
        let mut b = [0; 8];
        self.read_bytes(seg, off, &mut b, 8)?;
        Ok(u64::from_le_bytes(b))
    }

    // ---- loads and stores ------------------------------------------------------------------

    /// FLD, FILD, FBLD.
    fn fld(&mut self, ins: &Instruction) -> Fault {
        let (mut ctx, _) = self.x87_ctx();
        let v = if ins.op_kind(0) == OpKind::Register {
            let i = st_operand(ins, 0);
            if !self.st_valid(i) {
                if self.x87_stack_fault(false) {
                    self.x87_push(F80::INDEFINITE);
                }
                return Ok(());
            }
            self.st(i)
        } else {
            self.x87_read_memory(ins, &mut ctx)?
        };
        if self.x87_finish(&ctx, false) {
            self.x87_push(v);
        }
        Ok(())
    }

    /// FST, FSTP, FIST, FISTP, FBSTP.
    fn fst(&mut self, ins: &Instruction) -> Fault {
        let m = ins.mnemonic();
        let pop = matches!(m, M::Fstp | M::Fstpnce | M::Fistp | M::Fbstp);
        if ins.op_kind(0) == OpKind::Register {
            let i = st_operand(ins, 0);
            if !self.st_valid(0) {
                if self.x87_stack_fault(false) {
                    self.set_st(i, F80::INDEFINITE);
                    if pop {
                        self.x87_pop();
                    }
                }
                return Ok(());
            }
            let v = self.st(0);
            self.set_st(i, v);
            self.state.fpu.sw &= !fsw::C1;
            if pop {
                self.x87_pop();
            }
            return Ok(());
        }
        let (seg, off) = self.ea(ins);
        let size = ins.memory_size();
        let empty = !self.st_valid(0);
        let v = if empty { F80::INDEFINITE } else { self.st(0) };
        let (mut ctx, _) = self.x87_ctx();
        let mut buf = [0u8; 10];
        let len = match size {
            MemorySize::Float32 => {
                buf[..4].copy_from_slice(&convert::to_f32(v, &mut ctx).to_le_bytes());
                4
            }
            MemorySize::Float64 => {
                buf[..8].copy_from_slice(&convert::to_f64(v, &mut ctx).to_le_bytes());
                8
            }
            MemorySize::Int16 | MemorySize::Int32 | MemorySize::Int64 => {
                let n = size.size();
                let r = if empty { None } else { convert::to_int(v, n as u32 * 8, false, &mut ctx) };
                let r = r.map_or(integer_indefinite(n as u32), |x| x as u64);
                buf[..n].copy_from_slice(&r.to_le_bytes()[..n]);
                n
            }
            MemorySize::Bcd => {
                let r = if empty { None } else { convert::to_bcd(v, &mut ctx) };
                buf = r.unwrap_or(convert::BCD_INDEFINITE);
                10
            }
            _ => {
                buf = v.to_bytes();
                10
            }
        };
        let bytes = &buf[..len];
        if empty {
            if !self.x87_stack_fault(false) {
                return Ok(());
            }
            ctx = Ctx { flags: 0, ..ctx };
        }
        // Check the destination before anything changes (it may fault).
        let align = (bytes.len() as u32).min(8);
        if !self.x87_finish_store(&ctx, seg, off, bytes, align)? {
            return Ok(());
        }
        if pop {
            self.x87_pop();
        }
        Ok(())
    }

    /// Stores a converted value: the destination is checked first (a fault
    /// leaves the FPU untouched), then the flags are committed and, unless an
    /// unmasked exception stops it, the bytes written.
    fn x87_finish_store(&mut self, ctx: &Ctx, seg: Seg, off: u32, bytes: &[u8], align: u32) -> Fault<bool> {
        let linear = self.begin_long_access(seg, off, bytes.len() as u32, align, true)?;
        // Every page is writable before the flags change (the first is not
        // translated yet when the operand lies in one page).
        let user = self.user();
        self.translate(linear, vemu_softmmu::Access::Write, user)?;
        if !self.x87_finish(ctx, true) {
            return Ok(false);
        }
        self.write_bytes(seg, off, bytes, align)?;
        Ok(true)
    }

    /// FLD1, FLDZ, FLDPI, ...: rounded by RC (up and nearest agree, down and
    /// towards zero agree).
    fn fld_constant(&mut self, m: M) -> Fault {
        let (_, nearest, down) = *CONSTANTS.iter().find(|c| c.0 == m).expect("constant");
        let rc = Rounding::from_bits(self.state.fpu.cw as u32 >> 10);
        let v = if matches!(rc, Rounding::Down | Rounding::Zero) { down } else { nearest };
        self.state.fpu.sw &= !fsw::C1;
        self.x87_push(v);
        Ok(())
    }

    /// FXCH: an empty register reads as the default NaN (masked underflow).
    fn fxch(&mut self, ins: &Instruction) -> Fault {
        let i = st_operand(ins, 1);
        if !self.st_valid(0) || !self.st_valid(i) {
            if !self.x87_stack_fault(false) {
                return Ok(());
            }
            for j in [0, i] {
                if !self.st_valid(j) {
                    self.set_st(j, F80::INDEFINITE);
                }
            }
        } else {
            self.state.fpu.sw &= !fsw::C1;
        }
        let (a, b) = (self.st(0), self.st(i));
        self.set_st(0, b);
        self.set_st(i, a);
        Ok(())
    }

    /// FCMOVcc ST(0), ST(i).
    fn fcmov(&mut self, ins: &Instruction) -> Fault {
        self.require(crate::cpuid::feature::CMOV)?;
        let i = st_operand(ins, 1);
        if !self.st_valid(0) || !self.st_valid(i) {
            if self.x87_stack_fault(false) {
                self.set_st(0, F80::INDEFINITE);
            }
            return Ok(());
        }
        let f = &self.state.flags;
        let cond = match ins.mnemonic() {
            M::Fcmovb => f.cf(),
            M::Fcmove => f.zf(),
            M::Fcmovbe => f.cf() || f.zf(),
            M::Fcmovu => f.get() & fl::PF != 0,
            M::Fcmovnb => !f.cf(),
            M::Fcmovne => !f.zf(),
            M::Fcmovnbe => !f.cf() && !f.zf(),
            _ => f.get() & fl::PF == 0,
        };
        if cond {
            let v = self.st(i);
            self.set_st(0, v);
        }
        self.state.fpu.sw &= !fsw::C1;
        Ok(())
    }
}

/// The stack register operand `n` names (ST0-ST7 as 0-7).
pub(super) fn st_operand(ins: &Instruction, n: u32) -> u8 {
    if n >= ins.op_count() {
        return 1;
    }
    let r = ins.op_register(n);
    (r as u32 - Register::ST0 as u32) as u8
}
