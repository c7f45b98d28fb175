//! The interpreter: the reference tier. It executes one decoded instruction at a
//! time against [`crate::Cpu`], dispatching on the mnemonic to one file per family
//! (as Bochs and v86 split them): `data` (moves, exchanges, conversions, CMOVcc,
//! SETcc, flag instructions), `arith`, `logic`, `shift`, `muldiv`, `bcd`, `bit`,
//! `string`, `stack`, `control` (jumps, calls, loops, INT, IRET), `misc`
//! (CPUID, RDTSC, MSRs, XADD, CMPXCHG), the x87 FPU (`x87`, `x87_arith`,
//! `x87_env`), MMX (`mmx`), and SSE and SSE2 (`sse`, `sse_float`, `sse_int`). Privileged and system instructions go to
//! the VMM layer (`crate::vmm`). This file holds the dispatch and the operand
//! helpers every family uses.
//!
//! Protocol: an instruction starts with `state.eip` at itself and `next_eip` at
//! the next instruction; it computes everything that can fault before it changes
//! any register, and a transfer of control sets `next_eip`. `Cpu::exec_block`
//! commits `next_eip` when the instruction returns `Ok`.

mod arith;
mod bcd;
mod bit;
mod control;
pub(crate) mod data;
mod fast;
mod logic;
pub(crate) mod misc;
mod mmx;
mod muldiv;
pub(crate) mod shift;
mod sse;
mod sse_float;
mod sse_int;
mod stack;
mod string;
mod x87;
mod x87_arith;
mod x87_env;

use iced_x86::{Code, Instruction, Mnemonic, OpKind, Register};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::state::Seg;

/// Where an operand lives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    Reg(Register),
    Mem(Seg, u32),
}

/// The segment register an iced register names.
#[inline]
pub(crate) fn seg_of(r: Register) -> Seg {
    match r {
        Register::ES => Seg::ES,
        Register::CS => Seg::CS,
        Register::SS => Seg::SS,
        Register::FS => Seg::FS,
        Register::GS => Seg::GS,
        _ => Seg::DS,
    }
}

/// Size in bytes of a general register.
#[inline]
pub(crate) fn reg_size(r: Register) -> u32 {
    match r as u32 {
        1..=20 => 1,
        21..=36 => 2,
        _ => 4,
    }
}

/// All ones in the low `size` bytes.
#[inline]
pub(crate) fn mask(size: u32) -> u32 {
    if size >= 4 {
        u32::MAX
    } else {
        (1 << (size * 8)) - 1
    }
}

/// The sign bit of a `size`-byte value.
#[inline]
pub(crate) fn sign_bit(size: u32) -> u32 {
    1 << (size * 8 - 1)
}

/// Sign-extends the low `size` bytes of `v`.
#[inline]
pub(crate) fn sext(v: u32, size: u32) -> u32 {
    match size {
        1 => v as u8 as i8 as i32 as u32,
        2 => v as u16 as i16 as i32 as u32,
        _ => v,
    }
}

/// Whether a memory operand uses 16-bit addressing.
#[inline]
pub(crate) fn addr16(ins: &Instruction) -> bool {
    let base = ins.memory_base();
    if base != Register::None {
        return reg_size(base) == 2;
    }
    let index = ins.memory_index();
    if index != Register::None {
        return reg_size(index) == 2;
    }
    ins.memory_displ_size() == 2
}

impl Cpu {
    // ---- registers ---------------------------------------------------------------------

    /// Reads a general register of any size (zero-extended).
    #[inline]
    pub(crate) fn get_reg(&self, r: Register) -> u32 {
        let n = r as usize;
        match n {
            1..=8 => self.state.reg8(n - 1) as u32,
            21..=28 => self.state.regs[n - 21] & 0xffff,
            37..=44 => self.state.regs[n - 37],
            71..=76 => self.state.segs[n - 71].selector as u32,
            _ => 0,
        }
    }

    /// Writes a general register; 8- and 16-bit writes keep the other bits.
    #[inline]
    pub(crate) fn set_reg(&mut self, r: Register, v: u32) {
        let n = r as usize;
        match n {
            1..=8 => self.state.set_reg8(n - 1, v as u8),
            21..=28 => self.state.set_reg16(n - 21, v as u16),
            37..=44 => self.state.regs[n - 37] = v,
            _ => {}
        }
    }

    // ---- operands ------------------------------------------------------------------------

    /// Offset (effective address) of the memory operand, wrapped to the address size.
    #[inline]
    pub(crate) fn ea_offset(&self, ins: &Instruction) -> u32 {
        let mut a = ins.memory_displacement32();
        let base = ins.memory_base();
        if base != Register::None {
            a = a.wrapping_add(self.get_reg(base));
        }
        let index = ins.memory_index();
        if index != Register::None {
            a = a.wrapping_add(self.get_reg(index).wrapping_mul(ins.memory_index_scale()));
        }
        if addr16(ins) {
            a & 0xffff
        } else {
            a
        }
    }

    /// The memory operand's segment and offset.
    #[inline]
    pub(crate) fn ea(&self, ins: &Instruction) -> (Seg, u32) {
        (seg_of(ins.memory_segment()), self.ea_offset(ins))
    }

    /// Size in bytes of operand `n` (register, memory or immediate).
    #[inline]
    pub(crate) fn op_size(ins: &Instruction, n: u32) -> u32 {
        match ins.op_kind(n) {
            OpKind::Register => reg_size(ins.op_register(n)),
            OpKind::Immediate8 | OpKind::Immediate8_2nd => 1,
            OpKind::Immediate16 | OpKind::Immediate8to16 => 2,
            OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
            _ => ins.memory_size().size() as u32,
        }
    }

    /// Where operand `n` lives (register or memory).
    #[inline]
    pub(crate) fn loc(&self, ins: &Instruction, n: u32) -> Loc {
        match ins.op_kind(n) {
            OpKind::Register => Loc::Reg(ins.op_register(n)),
            _ => {
                let (s, o) = self.ea(ins);
                Loc::Mem(s, o)
            }
        }
    }

    #[inline]
    pub(crate) fn read_loc(&mut self, loc: Loc, size: u32) -> Fault<u32> {
        match loc {
            Loc::Reg(r) => Ok(self.get_reg(r)),
            Loc::Mem(s, o) => self.read(s, o, size),
        }
    }

    /// Reads a destination that will be written back (memory checked for writing).
    #[inline]
    pub(crate) fn read_loc_rmw(&mut self, loc: Loc, size: u32) -> Fault<u32> {
        match loc {
            Loc::Reg(r) => Ok(self.get_reg(r)),
            Loc::Mem(s, o) => self.read_rmw(s, o, size),
        }
    }

    #[inline]
    pub(crate) fn write_loc(&mut self, loc: Loc, size: u32, v: u32) -> Fault {
        match loc {
            Loc::Reg(r) => {
                self.set_reg(r, v);
                Ok(())
            }
            Loc::Mem(s, o) => self.write(s, o, size, v),
        }
    }

    /// Reads operand `n` of any kind, zero-extended (immediates sign-extended to
    /// their operand size as the encoding says).
    #[inline]
    pub(crate) fn read_op(&mut self, ins: &Instruction, n: u32) -> Fault<u32> {
        match ins.op_kind(n) {
            OpKind::Register => Ok(self.get_reg(ins.op_register(n))),
            OpKind::Immediate8 => Ok(ins.immediate8() as u32),
            OpKind::Immediate8_2nd => Ok(ins.immediate8_2nd() as u32),
            OpKind::Immediate16 => Ok(ins.immediate16() as u32),
            OpKind::Immediate32 => Ok(ins.immediate32()),
            OpKind::Immediate8to16 => Ok(ins.immediate8to16() as u16 as u32),
            OpKind::Immediate8to32 => Ok(ins.immediate8to32() as u32),
            _ => {
                let (s, o) = self.ea(ins);
                self.read(s, o, ins.memory_size().size() as u32)
            }
        }
    }

    /// Operand size (2 or 4) encoded in the opcode itself (for PUSHA, IRET, ...).
    pub(crate) fn code_osize(ins: &Instruction) -> u32 {
        let op = ins.code().op_code();
        match op.operand_size() {
            16 => 2,
            32 => 4,
            _ => {
                if ins.code_size() == iced_x86::CodeSize::Code16 {
                    2
                } else {
                    4
                }
            }
        }
    }

    /// #UD unless the CPU model has every one of `features` (CPUID.1:EDX bits).
    #[inline]
    pub(crate) fn require(&self, features: u32) -> Fault {
        if self.config.model.has(features) {
            Ok(())
        } else {
            Err(Exception::ud())
        }
    }

    // ---- dispatch ------------------------------------------------------------------------

    /// Executes one instruction (the interpreter).
    pub(crate) fn execute(&mut self, ins: &Instruction) -> Fault {
        handler(ins)(self, ins)
    }
}

/// What executes an instruction: [`handler`] picks it once, when a block is
/// decoded, and the interpreter calls it at every run.
pub(crate) type Handler = fn(&mut Cpu, &Instruction) -> Fault;

/// The handler of `ins`: one of its own for the forms cold code runs most
/// (`fast`), else the generic one. Only the instruction decides it.
pub(crate) fn handler(ins: &Instruction) -> Handler {
    fast::handler(ins).unwrap_or_else(|| generic_handler(ins))
}

/// The generic handler of `ins`, chosen by its mnemonic (and, for the
/// mnemonics several families share, its form).
fn generic_handler(ins: &Instruction) -> Handler {
    use Mnemonic as M;
    match ins.mnemonic() {
        M::Add | M::Adc | M::Sub | M::Sbb | M::Cmp => |c, i| c.arith(i),
        M::Inc | M::Dec => |c, i| c.inc_dec(i),
        M::Neg => |c, i| c.neg(i),
        M::And | M::Or | M::Xor | M::Test => |c, i| c.logic(i),
        M::Not => |c, i| c.not(i),
        M::Rol | M::Ror | M::Rcl | M::Rcr | M::Shl | M::Sal | M::Shr | M::Sar => |c, i| c.shift(i),
        M::Shld | M::Shrd => |c, i| c.shift_double(i),
        M::Mul | M::Imul => |c, i| c.mul(i),
        M::Div | M::Idiv => |c, i| c.div(i),
        M::Daa | M::Das => |c, i| c.daa_das(i),
        M::Aaa | M::Aas => |c, i| c.aaa_aas(i),
        M::Aam => |c, i| c.aam(i),
        M::Aad => |c, i| c.aad(i),
        M::Bt | M::Bts | M::Btr | M::Btc => |c, i| c.bit_test(i),
        M::Bsf | M::Bsr | M::Tzcnt | M::Lzcnt => |c, i| c.bit_scan(i),
        M::Movsd | M::Cmpsd if sse::is_sse(ins) => |c, i| c.sse(i),
        M::Clflush => |c, i| c.clflush(i),
        M::Movsb | M::Movsw | M::Movsd => |c, i| c.string(i),
        M::Cmpsb | M::Cmpsw | M::Cmpsd => |c, i| c.string(i),
        M::Scasb | M::Scasw | M::Scasd => |c, i| c.string(i),
        M::Lodsb | M::Lodsw | M::Lodsd => |c, i| c.string(i),
        M::Stosb | M::Stosw | M::Stosd => |c, i| c.string(i),
        M::Insb | M::Insw | M::Insd => |c, i| c.string(i),
        M::Outsb | M::Outsw | M::Outsd => |c, i| c.string(i),
        M::Mov => |c, i| c.mov(i),
        M::Movzx | M::Movsx => |c, i| c.movzx_movsx(i),
        M::Xchg => |c, i| c.xchg(i),
        M::Lea => |c, i| c.lea(i),
        M::Xlatb => |c, i| c.xlat(i),
        M::Lahf => |c, _| c.lahf(),
        M::Sahf => |c, _| c.sahf(),
        M::Cbw | M::Cwde | M::Cwd | M::Cdq => |c, i| c.convert(i),
        M::Bswap => |c, i| c.bswap(i),
        M::Salc => |c, _| c.salc(),
        M::Clc | M::Stc | M::Cmc | M::Cld | M::Std => |c, i| c.flag_op(i),
        M::Nop | M::Pause => |_, _| Ok(()),
        M::Prefetchnta | M::Prefetcht0 | M::Prefetcht1 | M::Prefetcht2 | M::Prefetchw => |_, _| Ok(()),
        M::Lds | M::Les | M::Lfs | M::Lgs | M::Lss => |c, i| c.load_far_pointer(i),
        M::Push => |c, i| c.push_insn(i),
        M::Pop => |c, i| c.pop_insn(i),
        M::Pusha | M::Pushad => |c, i| c.pusha(i),
        M::Popa | M::Popad => |c, i| c.popa(i),
        M::Pushf | M::Pushfd => |c, i| c.pushf(i),
        M::Popf | M::Popfd => |c, i| c.popf(i),
        M::Enter => |c, i| c.enter(i),
        M::Leave => |c, i| c.leave(i),
        M::Jmp => |c, i| c.jmp(i),
        M::Call => |c, i| c.call(i),
        M::Ret => |c, i| c.ret_near(i),
        M::Retf => |c, i| c.ret_far_insn(i),
        M::Loop | M::Loope | M::Loopne => |c, i| c.loop_insn(i),
        M::Jcxz | M::Jecxz => |c, i| c.jcxz(i),
        M::Int | M::Int3 | M::Into | M::Int1 => |c, i| c.int_insn(i),
        M::Iret | M::Iretd => |c, i| c.iret_insn(i),
        M::Bound => |c, i| c.bound(i),
        M::Xadd => |c, i| c.xadd(i),
        M::Cmpxchg => |c, i| c.cmpxchg(i),
        M::Cmpxchg8b => |c, i| c.cmpxchg8b(i),
        M::Cpuid => |c, _| c.cpuid(),
        M::Rdtsc => |c, _| c.rdtsc(),
        M::Rdmsr => |c, _| c.rdmsr(),
        M::Wrmsr => |c, _| c.wrmsr(),
        M::Ud0 | M::Ud1 | M::Ud2 => |_, _| Err(Exception::ud()),
        M::Wait => |c, _| c.wait(),
        M::In | M::Out => |c, i| c.in_out(i),
        M::Hlt => |c, _| c.hlt(),
        M::Cli | M::Sti => |c, i| c.cli_sti(i),
        M::Lgdt | M::Lidt => |c, i| c.lgdt_lidt(i),
        M::Sgdt | M::Sidt => |c, i| c.sgdt_sidt(i),
        M::Lldt | M::Ltr => |c, i| c.lldt_ltr(i),
        M::Sldt | M::Str => |c, i| c.sldt_str(i),
        M::Lmsw => |c, i| c.lmsw(i),
        M::Smsw => |c, i| c.smsw(i),
        M::Clts => |c, _| c.clts(),
        M::Invlpg => |c, i| c.invlpg(i),
        M::Invd | M::Wbinvd => |c, _| c.invd(),
        M::Lar | M::Lsl => |c, i| c.lar_lsl(i),
        M::Verr | M::Verw => |c, i| c.verr_verw(i),
        M::Arpl => |c, i| c.arpl(i),
        M::Sysenter => |c, _| c.sysenter(),
        M::Sysexit => |c, _| c.sysexit(),
        M::Cmovo | M::Cmovno | M::Cmovb | M::Cmovae | M::Cmove | M::Cmovne | M::Cmovbe | M::Cmova => {
            |c, i| c.cmov(i)
        }
        M::Cmovs | M::Cmovns | M::Cmovp | M::Cmovnp | M::Cmovl | M::Cmovge | M::Cmovle | M::Cmovg => {
            |c, i| c.cmov(i)
        }
        M::Seto | M::Setno | M::Setb | M::Setae | M::Sete | M::Setne | M::Setbe | M::Seta => {
            |c, i| c.setcc(i)
        }
        M::Sets | M::Setns | M::Setp | M::Setnp | M::Setl | M::Setge | M::Setle | M::Setg => {
            |c, i| c.setcc(i)
        }
        M::Jo | M::Jno | M::Jb | M::Jae | M::Je | M::Jne | M::Jbe | M::Ja => |c, i| c.jcc(i),
        M::Js | M::Jns | M::Jp | M::Jnp | M::Jl | M::Jge | M::Jle | M::Jg => |c, i| c.jcc(i),
        _ if ins.code() == Code::INVALID => |_, _| Err(Exception::ud()),
        M::Fxsave | M::Fxrstor => |c, i| c.fxsave_fxrstor(i),
        _ if is_x87(ins) => |c, i| c.x87(i),
        _ if sse::is_sse(ins) => |c, i| c.sse(i),
        _ if mmx::is_mmx(ins) => |c, i| c.mmx(i),
        _ => |c, i| Err(c.unimplemented(i)),
    }
}

/// Whether `ins` is an x87 instruction (FWAIT's combined forms, such as
/// FINIT, included). iced-x86 numbers its mnemonics alphabetically, so the
/// x87's are the range F2XM1..FYL2XP1 less the few others starting with F.
#[inline]
fn is_x87(ins: &Instruction) -> bool {
    is_x87_mnemonic(ins.mnemonic())
}

fn is_x87_mnemonic(m: Mnemonic) -> bool {
    use Mnemonic as M;
    (M::F2xm1 as u32..=M::Fyl2xp1 as u32).contains(&(m as u32))
        && !matches!(m, M::Femms | M::Fxsave | M::Fxrstor | M::Fxsave64 | M::Fxrstor64)
}

#[cfg(test)]
mod tests {
    use iced_x86::{Code, CpuidFeature as F, EncodingKind};

    #[test]
    fn the_x87_mnemonic_range_agrees_with_iced_x86s_cpuid_features() {
        // Legacy encodings the default decoder knows (not Cyrix's, say).
        let legacy = Code::values().filter(|c| {
            let op = c.op_code();
            op.mode32() && op.encoding() == EncodingKind::Legacy && op.decoder_option() == 0
        });
        for c in legacy {
            let x87 = c
                .cpuid_features()
                .iter()
                .any(|f| matches!(f, F::FPU | F::FPU287 | F::FPU287XL_ONLY | F::FPU387 | F::FPU387SL_ONLY));
            assert_eq!(super::is_x87_mnemonic(c.mnemonic()), x87, "{c:?}");
        }
    }
}
