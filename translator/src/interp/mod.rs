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
        use Mnemonic as M;
        match ins.mnemonic() {
            M::Add | M::Adc | M::Sub | M::Sbb | M::Cmp => self.arith(ins),
            M::Inc | M::Dec => self.inc_dec(ins),
            M::Neg => self.neg(ins),
            M::And | M::Or | M::Xor | M::Test => self.logic(ins),
            M::Not => self.not(ins),
            M::Rol | M::Ror | M::Rcl | M::Rcr | M::Shl | M::Sal | M::Shr | M::Sar => self.shift(ins),
            M::Shld | M::Shrd => self.shift_double(ins),
            M::Mul | M::Imul => self.mul(ins),
            M::Div | M::Idiv => self.div(ins),
            M::Daa | M::Das => self.daa_das(ins),
            M::Aaa | M::Aas => self.aaa_aas(ins),
            M::Aam => self.aam(ins),
            M::Aad => self.aad(ins),
            M::Bt | M::Bts | M::Btr | M::Btc => self.bit_test(ins),
            M::Bsf | M::Bsr | M::Tzcnt | M::Lzcnt => self.bit_scan(ins),
            M::Movsd | M::Cmpsd if sse::is_sse(ins) => self.sse(ins),
            M::Clflush => self.clflush(ins),
            M::Movsb | M::Movsw | M::Movsd => self.string(ins),
            M::Cmpsb | M::Cmpsw | M::Cmpsd => self.string(ins),
            M::Scasb | M::Scasw | M::Scasd => self.string(ins),
            M::Lodsb | M::Lodsw | M::Lodsd => self.string(ins),
            M::Stosb | M::Stosw | M::Stosd => self.string(ins),
            M::Insb | M::Insw | M::Insd => self.string(ins),
            M::Outsb | M::Outsw | M::Outsd => self.string(ins),
            M::Mov => self.mov(ins),
            M::Movzx | M::Movsx => self.movzx_movsx(ins),
            M::Xchg => self.xchg(ins),
            M::Lea => self.lea(ins),
            M::Xlatb => self.xlat(ins),
            M::Lahf => self.lahf(),
            M::Sahf => self.sahf(),
            M::Cbw | M::Cwde | M::Cwd | M::Cdq => self.convert(ins),
            M::Bswap => self.bswap(ins),
            M::Salc => self.salc(),
            M::Clc | M::Stc | M::Cmc | M::Cld | M::Std => self.flag_op(ins),
            M::Nop | M::Pause => Ok(()),
            M::Prefetchnta | M::Prefetcht0 | M::Prefetcht1 | M::Prefetcht2 | M::Prefetchw => Ok(()),
            M::Lds | M::Les | M::Lfs | M::Lgs | M::Lss => self.load_far_pointer(ins),
            M::Push => self.push_insn(ins),
            M::Pop => self.pop_insn(ins),
            M::Pusha | M::Pushad => self.pusha(ins),
            M::Popa | M::Popad => self.popa(ins),
            M::Pushf | M::Pushfd => self.pushf(ins),
            M::Popf | M::Popfd => self.popf(ins),
            M::Enter => self.enter(ins),
            M::Leave => self.leave(ins),
            M::Jmp => self.jmp(ins),
            M::Call => self.call(ins),
            M::Ret => self.ret_near(ins),
            M::Retf => self.ret_far_insn(ins),
            M::Loop | M::Loope | M::Loopne => self.loop_insn(ins),
            M::Jcxz | M::Jecxz => self.jcxz(ins),
            M::Int | M::Int3 | M::Into | M::Int1 => self.int_insn(ins),
            M::Iret | M::Iretd => self.iret_insn(ins),
            M::Bound => self.bound(ins),
            M::Xadd => self.xadd(ins),
            M::Cmpxchg => self.cmpxchg(ins),
            M::Cmpxchg8b => self.cmpxchg8b(ins),
            M::Cpuid => self.cpuid(),
            M::Rdtsc => self.rdtsc(),
            M::Rdmsr => self.rdmsr(),
            M::Wrmsr => self.wrmsr(),
            M::Ud0 | M::Ud1 | M::Ud2 => Err(Exception::ud()),
            M::Wait => self.wait(),
            M::In | M::Out => self.in_out(ins),
            M::Hlt => self.hlt(),
            M::Cli | M::Sti => self.cli_sti(ins),
            M::Lgdt | M::Lidt => self.lgdt_lidt(ins),
            M::Sgdt | M::Sidt => self.sgdt_sidt(ins),
            M::Lldt | M::Ltr => self.lldt_ltr(ins),
            M::Sldt | M::Str => self.sldt_str(ins),
            M::Lmsw => self.lmsw(ins),
            M::Smsw => self.smsw(ins),
            M::Clts => self.clts(),
            M::Invlpg => self.invlpg(ins),
            M::Invd | M::Wbinvd => self.invd(),
            M::Lar | M::Lsl => self.lar_lsl(ins),
            M::Verr | M::Verw => self.verr_verw(ins),
            M::Arpl => self.arpl(ins),
            M::Sysenter => self.sysenter(),
            M::Sysexit => self.sysexit(),
            M::Cmovo | M::Cmovno | M::Cmovb | M::Cmovae | M::Cmove | M::Cmovne | M::Cmovbe | M::Cmova => {
                self.cmov(ins)
            }
            M::Cmovs | M::Cmovns | M::Cmovp | M::Cmovnp | M::Cmovl | M::Cmovge | M::Cmovle | M::Cmovg => {
                self.cmov(ins)
            }
            M::Seto | M::Setno | M::Setb | M::Setae | M::Sete | M::Setne | M::Setbe | M::Seta => {
                self.setcc(ins)
            }
            M::Sets | M::Setns | M::Setp | M::Setnp | M::Setl | M::Setge | M::Setle | M::Setg => {
                self.setcc(ins)
            }
            M::Jo | M::Jno | M::Jb | M::Jae | M::Je | M::Jne | M::Jbe | M::Ja => self.jcc(ins),
            M::Js | M::Jns | M::Jp | M::Jnp | M::Jl | M::Jge | M::Jle | M::Jg => self.jcc(ins),
            _ if ins.code() == Code::INVALID => Err(Exception::ud()),
            M::Fxsave | M::Fxrstor => self.fxsave_fxrstor(ins),
            _ if is_x87(ins) => self.x87(ins),
            _ if sse::is_sse(ins) => self.sse(ins),
            _ if mmx::is_mmx(ins) => self.mmx(ins),
            _ => Err(self.unimplemented(ins)),
        }
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
