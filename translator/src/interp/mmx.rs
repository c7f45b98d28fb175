//! MMX: the integer SIMD instructions on the eight 64-bit MM registers (MOVD,
//! MOVQ, the packs and unpacks, wrapping and saturating adds and subtracts, the
//! multiplies, compares, logic and shifts) and EMMS.
//!
//! MMi is the significand of the x87 physical register Ri (not ST(i)), so every
//! instruction here also changes the x87 state as SDM Vol. 3A section 12.2 says:
//! TOP becomes 0 and every register valid (EMMS: every register empty), and a
//! written register's sign and exponent become all ones. The rest of the status
//! word, the control word, the pointers and the opcode are left alone.
//!
//! Not here: the SSE and SSE2 instructions that also take MM operands (PSHUFW,
//! PAVGB, PMINUB, CVTPI2PS, MOVQ2DQ, ...), which iced-x86 does not count as
//! MMX. It does count SSE2's PADDQ mm, which this file turns away as
//! unimplemented.

use iced_x86::{CpuidFeature, Instruction, Mnemonic as M, OpKind, Register};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::f80::F80;
use crate::state::cr0;

/// Whether `ins` belongs to the MMX instruction set (iced-x86's CPUID feature
/// MMX: the MM-register forms and EMMS, never an XMM form).
pub(super) fn is_mmx(ins: &Instruction) -> bool {
    ins.cpuid_features().contains(&CpuidFeature::MMX)
}

/// What an MMX instruction does with its operands.
#[derive(Copy, Clone)]
pub(super) enum Kind {
    /// EMMS: every x87 register becomes empty.
    Emms,
    /// MOVD and MOVQ: a copy between MM registers, general registers and memory.
    Move,
    /// Everything else: MMdst = f(MMdst, source).
    Compute(fn(u64, u64) -> u64),
}

/// The kind of an MMX mnemonic; `None` for the ones vemu does not implement.
pub(super) fn kind(m: M) -> Option<Kind> {
    let f: fn(u64, u64) -> u64 = match m {
        M::Emms => return Some(Kind::Emms),
        M::Movd | M::Movq => return Some(Kind::Move),
        M::Paddb => |a, b| lanes(8, a, b, u64::wrapping_add),
        M::Paddw => |a, b| lanes(16, a, b, u64::wrapping_add),
        M::Paddd => |a, b| lanes(32, a, b, u64::wrapping_add),
        M::Paddsb => |a, b| lanes(8, a, b, |x, y| saturate_signed(signed(x, 8) + signed(y, 8), 8)),
        M::Paddsw => |a, b| lanes(16, a, b, |x, y| saturate_signed(signed(x, 16) + signed(y, 16), 16)),
        M::Paddusb => |a, b| lanes(8, a, b, |x, y| saturate_unsigned(x as i64 + y as i64, 8)),
        M::Paddusw => |a, b| lanes(16, a, b, |x, y| saturate_unsigned(x as i64 + y as i64, 16)),
        M::Psubb => |a, b| lanes(8, a, b, u64::wrapping_sub),
        M::Psubw => |a, b| lanes(16, a, b, u64::wrapping_sub),
        M::Psubd => |a, b| lanes(32, a, b, u64::wrapping_sub),
        M::Psubsb => |a, b| lanes(8, a, b, |x, y| saturate_signed(signed(x, 8) - signed(y, 8), 8)),
        M::Psubsw => |a, b| lanes(16, a, b, |x, y| saturate_signed(signed(x, 16) - signed(y, 16), 16)),
        M::Psubusb => |a, b| lanes(8, a, b, |x, y| saturate_unsigned(x as i64 - y as i64, 8)),
        M::Psubusw => |a, b| lanes(16, a, b, |x, y| saturate_unsigned(x as i64 - y as i64, 16)),
        M::Pmulhw => |a, b| lanes(16, a, b, |x, y| ((signed(x, 16) * signed(y, 16)) >> 16) as u64),
        M::Pmullw => |a, b| lanes(16, a, b, |x, y| x * y),
        M::Pmaddwd => |a, b| {
            lanes(32, a, b, |x, y| {
                let product = |at: u32| signed(x >> at, 16) * signed(y >> at, 16);
                (product(0) + product(16)) as u64
            })
        },
        M::Pcmpeqb => |a, b| lanes(8, a, b, |x, y| all_ones(x == y)),
        M::Pcmpeqw => |a, b| lanes(16, a, b, |x, y| all_ones(x == y)),
        M::Pcmpeqd => |a, b| lanes(32, a, b, |x, y| all_ones(x == y)),
        M::Pcmpgtb => |a, b| lanes(8, a, b, |x, y| all_ones(signed(x, 8) > signed(y, 8))),
        M::Pcmpgtw => |a, b| lanes(16, a, b, |x, y| all_ones(signed(x, 16) > signed(y, 16))),
        M::Pcmpgtd => |a, b| lanes(32, a, b, |x, y| all_ones(signed(x, 32) > signed(y, 32))),
        M::Pand => |a, b| a & b,
        M::Pandn => |a, b| !a & b,
        M::Por => |a, b| a | b,
        M::Pxor => |a, b| a ^ b,
        M::Psllw => |a, n| shift_left(16, a, n),
        M::Pslld => |a, n| shift_left(32, a, n),
        M::Psllq => |a, n| shift_left(64, a, n),
        M::Psrlw => |a, n| shift_right(16, a, n),
        M::Psrld => |a, n| shift_right(32, a, n),
        M::Psrlq => |a, n| shift_right(64, a, n),
        M::Psraw => |a, n| shift_right_arithmetic(16, a, n),
        M::Psrad => |a, n| shift_right_arithmetic(32, a, n),
        M::Packsswb => |a, b| pack(16, a, b, saturate_signed),
        M::Packssdw => |a, b| pack(32, a, b, saturate_signed),
        M::Packuswb => |a, b| pack(16, a, b, saturate_unsigned),
        M::Punpcklbw => |a, b| unpack(8, a, b, false),
        M::Punpcklwd => |a, b| unpack(16, a, b, false),
        M::Punpckldq => |a, b| unpack(32, a, b, false),
        M::Punpckhbw => |a, b| unpack(8, a, b, true),
        M::Punpckhwd => |a, b| unpack(16, a, b, true),
        M::Punpckhdq => |a, b| unpack(32, a, b, true),
        _ => return None,
    };
    Some(Kind::Compute(f))
}

/// All ones in the low `bits` bits.
fn lane_mask(bits: u32) -> u64 {
    u64::MAX >> (64 - bits)
}

/// Applies `f` to each pair of `bits`-wide lanes of `a` and `b` (zero-extended)
/// and packs the low `bits` bits of each result.
pub(super) fn lanes(bits: u32, a: u64, b: u64, f: impl Fn(u64, u64) -> u64) -> u64 {
    let m = lane_mask(bits);
    (0..64 / bits).fold(0, |r, i| {
        let at = i * bits;
        r | (f(a >> at & m, b >> at & m) & m) << at
    })
}

/// The low `bits` bits of `v` as a signed number.
pub(super) fn signed(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

/// `v` clamped to the signed `bits`-bit range (two's complement, sign-extended).
fn saturate_signed(v: i64, bits: u32) -> u64 {
    let max = (1i64 << (bits - 1)) - 1;
    v.clamp(-max - 1, max) as u64
}

/// `v` clamped to the unsigned `bits`-bit range.
fn saturate_unsigned(v: i64, bits: u32) -> u64 {
    v.clamp(0, (1i64 << bits) - 1) as u64
}

/// A lane of all ones when `c` holds, else zeros.
fn all_ones(c: bool) -> u64 {
    if c {
        u64::MAX
    } else {
        0
    }
}

/// PSLL: a count of `bits` or more clears the lane.
fn shift_left(bits: u32, a: u64, n: u64) -> u64 {
    lanes(bits, a, 0, |x, _| if n < bits as u64 { x << n } else { 0 })
}

/// PSRL: a count of `bits` or more clears the lane.
fn shift_right(bits: u32, a: u64, n: u64) -> u64 {
    lanes(bits, a, 0, |x, _| if n < bits as u64 { x >> n } else { 0 })
}

/// PSRA: a count of `bits` or more fills the lane with its sign.
fn shift_right_arithmetic(bits: u32, a: u64, n: u64) -> u64 {
    lanes(bits, a, 0, |x, _| (signed(x, bits) >> n.min(bits as u64 - 1)) as u64)
}

/// PACKSS and PACKUS: the signed `bits`-wide lanes of `a` (the low half of the
/// result) and of `b` (the high half), each narrowed to half its width by
/// `saturate`.
fn pack(bits: u32, a: u64, b: u64, saturate: fn(i64, u32) -> u64) -> u64 {
    let half = bits / 2;
    let n = 64 / bits;
    (0..2 * n).fold(0, |r, i| {
        let source = if i < n { a } else { b };
        let v = signed(source >> (i % n * bits), bits);
        r | (saturate(v, half) & lane_mask(half)) << (i * half)
    })
}

/// PUNPCKL and PUNPCKH: the low (or high) halves of `a` and `b`, interleaved
/// lane by lane starting with `a`'s.
pub(super) fn unpack(bits: u32, a: u64, b: u64, high: bool) -> u64 {
    let n = 32 / bits;
    let first = if high { n } else { 0 };
    (0..n).fold(0, |r, i| {
        let lane = |v: u64| v >> ((first + i) * bits) & lane_mask(bits);
        r | lane(a) << (2 * i * bits) | lane(b) << ((2 * i + 1) * bits)
    })
}

impl Cpu {
    /// An MMX instruction: #UD under CR0.EM, #NM under CR0.TS, a pending x87
    /// exception, then the operation (memory read or written before any
    /// register changes) and its effect on the x87 state.
    pub(super) fn mmx(&mut self, ins: &Instruction) -> Fault {
        let Some(kind) = kind(ins.mnemonic()) else {
            return Err(self.unimplemented(ins));
        };
        self.require(crate::cpuid::feature::MMX)?;
        if self.state.cr0 & cr0::EM != 0 {
            return Err(Exception::ud());
        }
        if self.state.cr0 & cr0::TS != 0 {
            return Err(Exception::nm());
        }
        self.x87_pending()?;
        match kind {
            Kind::Emms => {}
            Kind::Move => self.mmx_move(ins)?,
            Kind::Compute(f) => {
                let b = self.mmx_operand(ins, 1)?;
                let dst = ins.op0_register();
                let a = self.mm(dst);
                self.set_mm(dst, f(a, b));
            }
        }
        self.mmx_transition();
        if matches!(kind, Kind::Emms) {
            self.state.fpu.valid = 0;
        }
        Ok(())
    }

    /// After an instruction on MM registers: TOP 0, every x87 register valid.
    pub(super) fn mmx_transition(&mut self) {
        self.state.fpu.top = 0;
        self.state.fpu.valid = 0xff;
    }

    /// MOVD and MOVQ: MOVD zero-extends into an MM register and stores the low
    /// 32 bits of one anywhere else.
    fn mmx_move(&mut self, ins: &Instruction) -> Fault {
        let v = self.mmx_operand(ins, 1)?;
        if ins.op0_kind() == OpKind::Register {
            let r = ins.op0_register();
            if r.is_mm() {
                self.set_mm(r, v);
            } else {
                self.set_reg(r, v as u32);
            }
            return Ok(());
        }
        let (seg, off) = self.ea(ins);
        if ins.memory_size().size() == 4 {
            self.write(seg, off, 4, v as u32)
        } else {
            self.write_bytes(seg, off, &v.to_le_bytes(), 8)
        }
    }

    /// Operand `n` as a source: an MM register, a general register (MOVD), an
    /// immediate shift count, or memory (32 bits for MOVD and the low unpacks,
    /// zero-extended, else 64).
    fn mmx_operand(&mut self, ins: &Instruction, n: u32) -> Fault<u64> {
        match ins.op_kind(n) {
            OpKind::Register => {
                let r = ins.op_register(n);
                Ok(if r.is_mm() { self.mm(r) } else { self.get_reg(r) as u64 })
            }
            OpKind::Immediate8 => Ok(ins.immediate8() as u64),
            _ => {
                let (seg, off) = self.ea(ins);
                if ins.memory_size().size() == 4 {
                    Ok(self.read(seg, off, 4)? as u64)
                } else {
                    self.read_u64(seg, off)
                }
            }
        }
    }

    pub(super) fn mm(&self, r: Register) -> u64 {
        self.state.fpu.regs[r.number()].sig
    }

    /// Writes MMi: the significand of Ri, whose sign and exponent become all ones.
    pub(super) fn set_mm(&mut self, r: Register, v: u64) {
        self.state.fpu.regs[r.number()] = F80 { sig: v, se: 0xffff };
    }
}

#[cfg(test)]
mod tests {
    use iced_x86::{Code, CpuidFeature, Decoder, DecoderOptions, Instruction};
    use vemu_softmmu::{Memory, PhysAddr, PhysMemory};

    use super::kind;
    use crate::bus::NullBus;
    use crate::cpu::{Cpu, CpuConfig};
    use crate::exception::{vector, Fault};
    use crate::f80::F80;
    use crate::state::{cr0, fsw, reg, Seg, Segment};

    /// Where the memory-operand tests put their data (DS:BX).
    const DATA: u32 = 0x3000;

    /// A real-mode CPU with DS = 0 and BX = [`DATA`].
    fn cpu() -> Cpu {
        let mem = Memory::new(PhysMemory::new(1 << 20).unwrap());
        let mut cpu = Cpu::new(mem, Box::new(NullBus::default()), CpuConfig::default());
        cpu.state.segs[Seg::CS as usize] = Segment::real(0, true, 0);
        cpu.state.segs[Seg::DS as usize] = Segment::real(0, false, 0);
        cpu.state.eip = 0x1000;
        cpu.state.regs[reg::EBX] = DATA;
        cpu
    }

    /// Decodes one instruction of 16-bit code, which must be all of `bytes`.
    fn decode(bytes: &[u8]) -> Instruction {
        let ins = Decoder::with_ip(16, bytes, 0x1000, DecoderOptions::NONE).decode();
        assert_eq!(ins.len(), bytes.len(), "{bytes:02x?} decodes as {ins}");
        ins
    }

    fn run(cpu: &mut Cpu, bytes: &[u8]) -> Fault {
        cpu.execute(&decode(bytes))
    }

    fn vector_of(r: Fault) -> Option<u8> {
        r.err().map(|e| e.vector)
    }

    /// The state the tests start from: TOP = 5, only R2 valid, MM0 and MM1 set.
    fn prepare(cpu: &mut Cpu, a: u64, b: u64) {
        let f = &mut cpu.state.fpu;
        f.top = 5;
        f.valid = 0x04;
        f.regs[0] = F80 { sig: a, se: 0x1234 };
        f.regs[1] = F80 { sig: b, se: 0x4321 };
    }

    #[test]
    fn every_mmx_instruction_is_implemented_but_sse2_paddq() {
        let missing: Vec<Code> = Code::values()
            .filter(|c| c.op_code().mode32() && c.cpuid_features().contains(&CpuidFeature::MMX))
            .filter(|c| kind(c.mnemonic()).is_none())
            .collect();
        assert_eq!(missing, [Code::Paddq_mm_mmm64]);
        assert!(!super::is_mmx(&decode(&[0x66, 0x0f, 0xfc, 0xc1])), "PADDB xmm0, xmm1 is SSE2");
        assert!(!super::is_mmx(&decode(&[0x0f, 0x70, 0xc1, 0x1b])), "PSHUFW is SSE");
        assert!(super::is_mmx(&decode(&[0x0f, 0x77])));
    }

    #[test]
    fn a_write_sets_top_to_zero_every_tag_valid_and_sign_and_exponent_to_ones() {
        let mut cpu = cpu();
        prepare(&mut cpu, 0x0102_0304_0506_0708, 0x1010_1010_1010_1010);
        run(&mut cpu, &[0x0f, 0xfc, 0xc1]).unwrap();
        let f = &cpu.state.fpu;
        assert_eq!((f.top, f.valid), (0, 0xff));
        assert_eq!(f.regs[0], F80 { sig: 0x1112_1314_1516_1718, se: 0xffff });
        assert_eq!(f.regs[1], F80 { sig: 0x1010_1010_1010_1010, se: 0x4321 }, "the source is only read");
    }

    #[test]
    fn emms_empties_the_stack_and_sets_top_to_zero() {
        let mut cpu = cpu();
        prepare(&mut cpu, 1, 2);
        run(&mut cpu, &[0x0f, 0x77]).unwrap();
        let f = &cpu.state.fpu;
        assert_eq!((f.top, f.valid), (0, 0));
        assert_eq!(f.regs[0], F80 { sig: 1, se: 0x1234 });
    }

    #[test]
    fn movd_zero_extends_into_mm_and_stores_the_low_half() {
        let mut cpu = cpu();
        prepare(&mut cpu, 0xdead_beef_cafe_f00d, 0x1122_3344_5566_7788);
        cpu.state.regs[reg::EAX] = 0x8765_4321;
        run(&mut cpu, &[0x0f, 0x7e, 0xc8]).unwrap(); // movd eax, mm1
        assert_eq!(cpu.state.regs[reg::EAX], 0x5566_7788);
        assert_eq!(cpu.state.fpu.regs[1].se, 0x4321);
        assert_eq!((cpu.state.fpu.top, cpu.state.fpu.valid), (0, 0xff), "a read changes the tags too");
        cpu.state.regs[reg::EAX] = 0x8765_4321;
        run(&mut cpu, &[0x0f, 0x6e, 0xc0]).unwrap(); // movd mm0, eax
        assert_eq!(cpu.state.fpu.regs[0], F80 { sig: 0x8765_4321, se: 0xffff });

        cpu.mem.write_phys(PhysAddr(DATA), &[0xaa; 8]);
        run(&mut cpu, &[0x0f, 0x7e, 0x0f]).unwrap(); // movd [bx], mm1
        let mut m = [0; 8];
        cpu.mem.read_phys(PhysAddr(DATA), &mut m);
        assert_eq!(m, [0x88, 0x77, 0x66, 0x55, 0xaa, 0xaa, 0xaa, 0xaa]);
        run(&mut cpu, &[0x0f, 0x6e, 0x07]).unwrap(); // movd mm0, [bx]
        assert_eq!(cpu.state.fpu.regs[0], F80 { sig: 0x5566_7788, se: 0xffff });
    }

    #[test]
    fn movq_moves_64_bits_between_registers_and_memory() {
        let mut cpu = cpu();
        prepare(&mut cpu, 0, 0x1122_3344_5566_7788);
        run(&mut cpu, &[0x0f, 0x7f, 0x0f]).unwrap(); // movq [bx], mm1
        let mut m = [0; 8];
        cpu.mem.read_phys(PhysAddr(DATA), &mut m);
        assert_eq!(u64::from_le_bytes(m), 0x1122_3344_5566_7788);
        cpu.mem.write_phys(PhysAddr(DATA), &0x0102_0304_0506_0708u64.to_le_bytes());
        run(&mut cpu, &[0x0f, 0x6f, 0x17]).unwrap(); // movq mm2, [bx]
        assert_eq!(cpu.state.fpu.regs[2], F80 { sig: 0x0102_0304_0506_0708, se: 0xffff });
        run(&mut cpu, &[0x0f, 0x7f, 0xd3]).unwrap(); // movq mm3, mm2 (the store form)
        assert_eq!(cpu.state.fpu.regs[3], F80 { sig: 0x0102_0304_0506_0708, se: 0xffff });
    }

    #[test]
    fn a_memory_fault_leaves_the_state_alone() {
        let mut cpu = cpu();
        prepare(&mut cpu, 7, 8);
        cpu.state.regs[reg::EBX] = 0xfffc;
        // PUNPCKHBW reads 64 bits, past the 64 KiB limit.
        assert_eq!(vector_of(run(&mut cpu, &[0x0f, 0x68, 0x07])), Some(vector::GP));
        let f = &cpu.state.fpu;
        assert_eq!((f.top, f.valid, f.regs[0]), (5, 0x04, F80 { sig: 7, se: 0x1234 }));
        // PUNPCKLBW reads 32 bits, which fit.
        cpu.mem.write_phys(PhysAddr(0xfffc), &[1, 2, 3, 4]);
        run(&mut cpu, &[0x0f, 0x60, 0x07]).unwrap();
        assert_eq!(cpu.state.fpu.regs[0].sig, 0x0400_0300_0200_0107);
        assert_eq!(vector_of(run(&mut cpu, &[0x0f, 0x7f, 0x07])), Some(vector::GP), "movq [bx], mm0");
    }

    #[test]
    fn cr0_em_and_ts_and_a_pending_x87_exception_fault_first() {
        let mut cpu = cpu();
        for code in [&[0x0f, 0xfc, 0xc1][..], &[0x0f, 0x77]] {
            for (cr0, sw, expected) in [
                (cr0::EM, 0, Some(vector::UD)),
                (cr0::EM | cr0::TS, 0, Some(vector::UD)),
                (cr0::TS, 0, Some(vector::NM)),
                (cr0::NE, fsw::ES, Some(vector::MF)),
                (0, fsw::ES, None),
            ] {
                prepare(&mut cpu, 7, 8);
                cpu.state.cr0 = cr0::ET | cr0;
                cpu.state.fpu.sw = sw;
                assert_eq!(vector_of(run(&mut cpu, code)), expected, "{code:02x?} CR0 {cr0:x} SW {sw:x}");
                let f = &cpu.state.fpu;
                if expected.is_some() {
                    assert_eq!((f.top, f.valid, f.regs[0].sig), (5, 0x04, 7));
                } else {
                    assert_eq!(f.top, 0, "without CR0.NE the instruction runs (FERR#)");
                }
            }
        }
    }

    /// The host processor runs the same instructions and is the judge.
    #[cfg(target_arch = "x86_64")]
    mod host {
        use std::arch::asm;

        use iced_x86::{Instruction, Register};
        use vemu_softmmu::PhysAddr;

        use super::{cpu, decode, run, DATA};
        use crate::cpu::Cpu;

        /// Random operands per instruction (and per count of a shift by an immediate).
        const CASES: usize = 20000;
        const IMMEDIATE_CASES: usize = 2000;

        /// Runs `$ins` on the host with MM0 = `$a` and MM1 = `$b`; the value of
        /// the block is MM0 after it.
        macro_rules! on_host {
            ($a:expr, $b:expr, $ins:expr) => {{
                let ab: [u64; 2] = [$a, $b];
                let mut out = 0u64;
                // SAFETY: the x87 registers the MM registers alias are declared
                // clobbered and left empty (EMMS); the pointers are to live locals
                // of the sizes accessed.
                unsafe {
                    asm!(
                        "movq mm0, qword ptr [{ab}]",
                        "movq mm1, qword ptr [{ab} + 8]",
                        $ins,
                        "movq qword ptr [{out}], mm0",
                        "emms",
                        ab = in(reg) ab.as_ptr(),
                        out = in(reg) &mut out as *mut u64,
                        out("st(0)") _, out("st(1)") _, out("st(2)") _, out("st(3)") _,
                        out("st(4)") _, out("st(5)") _, out("st(6)") _, out("st(7)") _,
                        options(nostack),
                    )
                }
                out
            }};
        }

        type Host = fn(u64, u64) -> u64;

        /// (mnemonic, the opcode after 0F of `mnemonic mm0, mm1`, the host running it).
        macro_rules! binary {
            ($($name:literal $opcode:literal),* $(,)?) => {
                [$(($name, $opcode, (|a, b| on_host!(a, b, concat!($name, " mm0, mm1"))) as Host)),*]
            };
        }

        /// (mnemonic, opcode after 0F, ModRM of `mnemonic mm0, imm8`, and per
        /// count the host running it).
        macro_rules! shift_immediate {
            ($name:literal $opcode:literal $modrm:literal) => {
                shift_immediate!(@ $name $opcode $modrm; 0 1 2 7 8 9 15 16 17 31 32 33 63 64 65 128 255)
            };
            (@ $name:literal $opcode:literal $modrm:literal; $($count:literal)*) => {
                ($name, $opcode, $modrm, [$(
                    ($count, (|a, _| on_host!(a, 0, concat!($name, " mm0, ", $count))) as Host)
                ),*])
            };
        }

        use crate::testing::Rng;

        /// The operands this module's tests draw.
        trait Operands {
            fn operand(&mut self) -> u64;
            fn pair(&mut self) -> (u64, u64);
        }

        impl Operands for Rng {
            /// Random bits, a small number (a shift count), or words from the
            /// edges of the byte and word ranges.
            fn operand(&mut self) -> u64 {
                const EDGES: [u64; 12] =
                    [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7f80, 0x807f, 0x7fff, 0x8000, 0xff00, 0xffff];
                match self.below(4) {
                    0 => self.below(70),
                    1 => (0..4).fold(0, |v, i| v | EDGES[self.below(12) as usize] << (16 * i)),
                    _ => self.next(),
                }
            }

            /// Two operands, sometimes equal in most lanes.
            fn pair(&mut self) -> (u64, u64) {
                let a = self.operand();
                let b = if self.below(4) == 0 {
                    a ^ (self.next() & self.next() & self.next())
                } else {
                    self.operand()
                };
                (a, b)
            }
        }

        /// Runs `ins` in vemu with MM0 = a and MM1 = b; returns MM0.
        fn ours(cpu: &mut Cpu, ins: &Instruction, a: u64, b: u64) -> u64 {
            cpu.state.fpu.regs[0].sig = a;
            cpu.state.fpu.regs[1].sig = b;
            cpu.execute(ins).unwrap();
            cpu.state.fpu.regs[0].sig
        }

        #[test]
        fn register_forms_agree_with_the_host() {
            let table = binary![
                "movq" 0x6f,
                "punpcklbw" 0x60, "punpcklwd" 0x61, "punpckldq" 0x62, "packsswb" 0x63,
                "pcmpgtb" 0x64, "pcmpgtw" 0x65, "pcmpgtd" 0x66, "packuswb" 0x67,
                "punpckhbw" 0x68, "punpckhwd" 0x69, "punpckhdq" 0x6a, "packssdw" 0x6b,
                "pcmpeqb" 0x74, "pcmpeqw" 0x75, "pcmpeqd" 0x76,
                "psrlw" 0xd1, "psrld" 0xd2, "psrlq" 0xd3, "pmullw" 0xd5,
                "psubusb" 0xd8, "psubusw" 0xd9, "pand" 0xdb, "paddusb" 0xdc, "paddusw" 0xdd, "pandn" 0xdf,
                "psraw" 0xe1, "psrad" 0xe2, "pmulhw" 0xe5,
                "psubsb" 0xe8, "psubsw" 0xe9, "por" 0xeb, "paddsb" 0xec, "paddsw" 0xed, "pxor" 0xef,
                "psllw" 0xf1, "pslld" 0xf2, "psllq" 0xf3, "pmaddwd" 0xf5,
                "psubb" 0xf8, "psubw" 0xf9, "psubd" 0xfa, "paddb" 0xfc, "paddw" 0xfd, "paddd" 0xfe,
            ];
            let mut cpu = cpu();
            let mut bad = Vec::new();
            for (i, (name, opcode, host)) in table.into_iter().enumerate() {
                let ins = decode(&[0x0f, opcode, 0xc1]);
                assert_eq!(format!("{:?}", ins.mnemonic()).to_lowercase(), name);
                assert_eq!((ins.op0_register(), ins.op1_register()), (Register::MM0, Register::MM1));
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ i as u64);
                for _ in 0..CASES {
                    let (a, b) = rng.pair();
                    let (want, got) = (host(a, b), ours(&mut cpu, &ins, a, b));
                    if want != got && bad.len() < 20 {
                        bad.push(format!("{name} {a:016x}, {b:016x}: host {want:016x}, vemu {got:016x}"));
                    }
                }
            }
            assert!(bad.is_empty(), "{}", bad.join("\n"));
        }

        #[test]
        fn shifts_by_an_immediate_agree_with_the_host() {
            let table = [
                shift_immediate!("psrlw" 0x71 0xd0),
                shift_immediate!("psraw" 0x71 0xe0),
                shift_immediate!("psllw" 0x71 0xf0),
                shift_immediate!("psrld" 0x72 0xd0),
                shift_immediate!("psrad" 0x72 0xe0),
                shift_immediate!("pslld" 0x72 0xf0),
                shift_immediate!("psrlq" 0x73 0xd0),
                shift_immediate!("psllq" 0x73 0xf0),
            ];
            let mut cpu = cpu();
            let mut bad = Vec::new();
            let mut rng = Rng(0x2545_f491_4f6c_dd1d);
            for (name, opcode, modrm, counts) in table {
                for (count, host) in counts {
                    let ins = decode(&[0x0f, opcode, modrm, count]);
                    assert_eq!(format!("{:?}", ins.mnemonic()).to_lowercase(), name);
                    assert_eq!((ins.op0_register(), ins.immediate8()), (Register::MM0, count));
                    for _ in 0..IMMEDIATE_CASES {
                        let a = rng.operand();
                        let (want, got) = (host(a, 0), ours(&mut cpu, &ins, a, 0));
                        if want != got && bad.len() < 20 {
                            bad.push(format!("{name} {a:016x}, {count}: host {want:016x}, vemu {got:016x}"));
                        }
                    }
                }
            }
            assert!(bad.is_empty(), "{}", bad.join("\n"));
        }

        #[test]
        fn memory_forms_agree_with_the_host() {
            let mut cpu = cpu();
            let mut rng = Rng(0x1234_5678);
            for _ in 0..1000 {
                let (a, b) = rng.pair();
                cpu.mem.write_phys(PhysAddr(DATA), &b.to_le_bytes());
                cpu.state.fpu.regs[0].sig = a;
                run(&mut cpu, &[0x0f, 0xed, 0x07]).unwrap(); // paddsw mm0, [bx]
                assert_eq!(cpu.state.fpu.regs[0].sig, on_host!(a, b, "paddsw mm0, mm1"));
                cpu.state.fpu.regs[0].sig = a;
                run(&mut cpu, &[0x0f, 0x60, 0x07]).unwrap(); // punpcklbw mm0, [bx]: 32 bits
                assert_eq!(cpu.state.fpu.regs[0].sig, on_host!(a, b, "punpcklbw mm0, dword ptr [{ab} + 8]"));
            }
        }

        /// Runs on the host, from an empty stack: pushes 1, pi, 0, log2(10),
        /// 1, pi, 0, log2(10) (filling R7 down to R0), pops six (TOP = 6, R6
        /// and R7 valid), runs `$ins`, and returns the FNSAVE image.
        macro_rules! x87_image_on_host {
            ($ins:literal $(, $($operand:tt)+)?) => {{
                let mut image = [0u8; 108];
                // SAFETY: the x87 stack is empty before and after (FNSAVE
                // reinitializes it), the x87 registers are declared clobbered, and
                // the image is a live local of the size FNSAVE writes.
                unsafe {
                    asm!(
                        "fninit",
                        "fld1", "fldpi", "fldz", "fldl2t", "fld1", "fldpi", "fldz", "fldl2t",
                        "fstp st(0)", "fstp st(0)", "fstp st(0)", "fstp st(0)", "fstp st(0)", "fstp st(0)",
                        $ins,
                        "fnsave [{image}]",
                        image = in(reg) image.as_mut_ptr(),
                        $($($operand)+,)?
                        out("st(0)") _, out("st(1)") _, out("st(2)") _, out("st(3)") _,
                        out("st(4)") _, out("st(5)") _, out("st(6)") _, out("st(7)") _,
                        options(nostack),
                    )
                }
                image
            }};
        }

        #[test]
        fn the_x87_side_effects_agree_with_the_host() {
            let cases = [
                ("paddb mm2, mm3", &[0x0f, 0xfc, 0xd3][..], x87_image_on_host!("paddb mm2, mm3")),
                ("movd eax, mm6", &[0x0f, 0x7e, 0xf0], x87_image_on_host!("movd eax, mm6", out("eax") _)),
                ("emms", &[0x0f, 0x77], x87_image_on_host!("emms")),
            ];
            for (name, code, host) in cases {
                let mut cpu = cpu();
                run(&mut cpu, &[0xdb, 0xe3]).unwrap(); // fninit
                for c in [0xe8, 0xeb, 0xee, 0xe9, 0xe8, 0xeb, 0xee, 0xe9] {
                    run(&mut cpu, &[0xd9, c]).unwrap(); // fld1, fldpi, fldz, fldl2t
                }
                for _ in 0..6 {
                    run(&mut cpu, &[0xdd, 0xd8]).unwrap(); // fstp st(0)
                }
                run(&mut cpu, code).unwrap();
                run(&mut cpu, &[0x66, 0xdd, 0x37]).unwrap(); // fnsave [bx], 32-bit layout
                let mut ours = [0u8; 108];
                cpu.mem.read_phys(PhysAddr(DATA), &mut ours);
                // Control, status and tag words, and the registers; not the pointers.
                for range in [0..2, 4..6, 8..10, 28..108] {
                    assert_eq!(ours[range.clone()], host[range.clone()], "{name}: bytes {range:?}");
                }
            }
        }
    }
}
