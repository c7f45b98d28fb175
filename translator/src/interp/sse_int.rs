//! The integer instructions of SSE and SSE2 (SDM Vol. 2), on MM and XMM
//! registers: the XMM forms of every MMX instruction (MOVD, MOVQ, the wrapping
//! and saturating adds and subtracts, the multiplies, compares, logic, shifts,
//! packs and unpacks); SSE's additions to MMX (PAVGB, PAVGW, PEXTRW, PINSRW,
//! PMAXSW, PMAXUB, PMINSW, PMINUB, PMOVMSKB, PMULHUW, PSADBW, PSHUFW,
//! MASKMOVQ, MOVNTQ) and their XMM forms; and SSE2's own (PADDQ, PSUBQ,
//! PMULUDQ, PUNPCKLQDQ, PUNPCKHQDQ, PSHUFD, PSHUFLW, PSHUFHW, the byte shifts
//! PSLLDQ and PSRLDQ, MOVQ2DQ, MOVDQ2Q, MOVNTDQ, MOVNTI, MASKMOVDQU).
//!
//! `sse` has made the checks every SSE instruction makes before it calls in
//! here, and switches the x87 to MMX after a form on MM registers; this file
//! only computes. An operation on lanes is MMX's (`mmx::kind`) or one of the
//! few below, applied to each 64-bit half of an XMM register (an MM register
//! is one half). The shifts by a register, the packs and the unpacks mix the
//! halves and have code of their own. Not here: the MM forms of MMX's own
//! instructions (`mmx`), the floating-point instructions (`sse_float`), and
//! the 128-bit moves and logic (MOVDQA, MOVDQU, ANDPS, ... in `sse`).

use iced_x86::{Code, Instruction, Mnemonic as M, OpKind};
use vemu_softmmu::Access;

use super::mmx::{self, lanes, signed, Kind};
use super::seg_of;
use super::sse::xmm_index;
use crate::cpu::Cpu;
use crate::cpuid::feature;
use crate::exception::Fault;
use crate::state::reg;

/// The low 64 bits of a 128-bit value.
const LOW: u128 = u64::MAX as u128;

/// A 128-bit value from its two halves.
fn join(low: u64, high: u64) -> u128 {
    (high as u128) << 64 | low as u128
}

/// The high half of a 128-bit value.
fn high(v: u128) -> u64 {
    (v >> 64) as u64
}

/// `f` on each pair of 64-bit halves of `a` and `b`.
fn halves(a: u128, b: u128, f: impl Fn(u64, u64) -> u64) -> u128 {
    join(f(a as u64, b as u64), f(high(a), high(b)))
}

/// What a lane-wise instruction does to one 64-bit half of its destination
/// and source: SSE's and SSE2's additions, else the MMX operation.
fn lane_op(m: M) -> Option<fn(u64, u64) -> u64> {
    let f: fn(u64, u64) -> u64 = match m {
        M::Paddq => u64::wrapping_add,
        M::Psubq => u64::wrapping_sub,
        M::Pmuludq => |a, b| (a & 0xffff_ffff) * (b & 0xffff_ffff),
        M::Pavgb => |a, b| lanes(8, a, b, |x, y| (x + y + 1) >> 1),
        M::Pavgw => |a, b| lanes(16, a, b, |x, y| (x + y + 1) >> 1),
        M::Pmaxub => |a, b| lanes(8, a, b, u64::max),
        M::Pminub => |a, b| lanes(8, a, b, u64::min),
        M::Pmaxsw => |a, b| lanes(16, a, b, |x, y| if signed(x, 16) > signed(y, 16) { x } else { y }),
        M::Pminsw => |a, b| lanes(16, a, b, |x, y| if signed(x, 16) < signed(y, 16) { x } else { y }),
        M::Pmulhuw => |a, b| lanes(16, a, b, |x, y| (x * y) >> 16),
        // The sum of the eight absolute differences, zero-extended from 16 bits.
        M::Psadbw => |a, b| (0..64).step_by(8).map(|at| (a >> at & 0xff).abs_diff(b >> at & 0xff)).sum(),
        _ => match mmx::kind(m)? {
            Kind::Compute(f) => f,
            _ => return None,
        },
    };
    Some(f)
}

/// Four `bits`-wide lanes: lane i is lane (imm8 >> 2i) & 3 of `v`.
fn shuffle(v: u128, bits: u32, imm: u8) -> u128 {
    let mask = u128::MAX >> (128 - bits);
    (0..4).fold(0, |r, i| {
        let from = imm as u32 >> (2 * i) & 3;
        r | (v >> (from * bits) & mask) << (i * bits)
    })
}

impl Cpu {
    /// An integer SSE or SSE2 instruction, after `sse`'s checks.
    pub(super) fn sse_int(&mut self, ins: &Instruction) -> Fault {
        let m = ins.mnemonic();
        match m {
            M::Movd | M::Movq | M::Movq2dq | M::Movdq2q | M::Movnti | M::Movntq | M::Movntdq => {
                return self.int_move(ins)
            }
            M::Maskmovq | M::Maskmovdqu => return self.masked_store(ins),
            M::Pextrw => return self.pextrw(ins),
            M::Pinsrw => return self.pinsrw(ins),
            M::Pmovmskb => return self.pmovmskb(ins),
            M::Pshufw | M::Pshufd | M::Pshuflw | M::Pshufhw => return self.int_shuffle(ins),
            M::Pslldq | M::Psrldq => return self.int_byte_shift(ins),
            M::Punpcklbw => return self.int_unpack(ins, 8, false),
            M::Punpcklwd => return self.int_unpack(ins, 16, false),
            M::Punpckldq => return self.int_unpack(ins, 32, false),
            M::Punpcklqdq => return self.int_unpack(ins, 64, false),
            M::Punpckhbw => return self.int_unpack(ins, 8, true),
            M::Punpckhwd => return self.int_unpack(ins, 16, true),
            M::Punpckhdq => return self.int_unpack(ins, 32, true),
            M::Punpckhqdq => return self.int_unpack(ins, 64, true),
            _ => {}
        }
        let Some(f) = lane_op(m) else {
            return Err(self.unimplemented(ins));
        };
        match m {
            M::Psllw | M::Pslld | M::Psllq | M::Psrlw | M::Psrld | M::Psrlq | M::Psraw | M::Psrad => {
                self.int_shift(ins, f)
            }
            M::Packsswb | M::Packssdw | M::Packuswb => self.int_pack(ins, f),
            _ => self.int_lanes(ins, f),
        }
    }

    /// dst = f(dst, src) on each 64-bit half: MM and mm/m64, or XMM and
    /// xmm/m128.
    fn int_lanes(&mut self, ins: &Instruction, f: fn(u64, u64) -> u64) -> Fault {
        if ins.code() == Code::Paddq_mm_mmm64 {
            // iced-x86 counts PADDQ mm as MMX, so `sse` asked for SSE only.
            self.require(feature::SSE2)?;
        }
        let b = self.sse_read(ins, 1, Self::sse_mem_bytes(ins))?;
        let a = self.sse_read(ins, 0, 16)?;
        self.sse_write_reg(ins.op0_register(), halves(a, b, f));
        Ok(())
    }

    /// PSLL, PSRL and PSRA: every lane by the same count, imm8 or the low 64
    /// bits of the source (`f` clears a lane, or fills it with its sign, when
    /// the count is its width or more).
    fn int_shift(&mut self, ins: &Instruction, f: fn(u64, u64) -> u64) -> Fault {
        let count = match ins.op1_kind() {
            OpKind::Immediate8 => ins.immediate8() as u64,
            _ => self.sse_read(ins, 1, Self::sse_mem_bytes(ins))? as u64,
        };
        let a = self.sse_read(ins, 0, 16)?;
        self.sse_write_reg(ins.op0_register(), halves(a, 0, |x, _| f(x, count)));
        Ok(())
    }

    /// PACKSSWB, PACKSSDW, PACKUSWB on XMM: the destination's lanes narrowed
    /// make the low half, the source's the high half (`f` packs two halves).
    fn int_pack(&mut self, ins: &Instruction, f: fn(u64, u64) -> u64) -> Fault {
        let b = self.sse_read(ins, 1, 16)?;
        let i = xmm_index(ins.op0_register());
        let a = self.xmm(i);
        self.set_xmm(i, join(f(a as u64, high(a)), f(b as u64, high(b))));
        Ok(())
    }

    /// PUNPCKL and PUNPCKH on XMM: the low (or high) halves of the
    /// destination and the source, interleaved `bits`-wide lane by lane
    /// starting with the destination's.
    fn int_unpack(&mut self, ins: &Instruction, bits: u32, high_halves: bool) -> Fault {
        let b = self.sse_read(ins, 1, 16)?;
        let i = xmm_index(ins.op0_register());
        let a = self.xmm(i);
        let (a, b) = if high_halves { (high(a), high(b)) } else { (a as u64, b as u64) };
        let r = if bits == 64 {
            join(a, b)
        } else {
            join(mmx::unpack(bits, a, b, false), mmx::unpack(bits, a, b, true))
        };
        self.set_xmm(i, r);
        Ok(())
    }

    /// PSLLDQ and PSRLDQ: the whole XMM register by imm8 bytes (more than 15
    /// clears it).
    fn int_byte_shift(&mut self, ins: &Instruction) -> Fault {
        let i = xmm_index(ins.op0_register());
        let (a, n) = (self.xmm(i), ins.immediate8() as u32);
        let r = match (n, ins.mnemonic()) {
            (16.., _) => 0,
            (_, M::Pslldq) => a << (8 * n),
            _ => a >> (8 * n),
        };
        self.set_xmm(i, r);
        Ok(())
    }

    /// PSHUFW (MM), PSHUFD, PSHUFLW and PSHUFHW: lanes of the source picked by
    /// the 2-bit fields of imm8; PSHUFLW and PSHUFHW copy the other half.
    fn int_shuffle(&mut self, ins: &Instruction) -> Fault {
        let v = self.sse_read(ins, 1, Self::sse_mem_bytes(ins))?;
        let imm = ins.immediate8();
        let r = match ins.mnemonic() {
            M::Pshufd => shuffle(v, 32, imm),
            M::Pshufhw => shuffle(v >> 64, 16, imm) << 64 | v & LOW,
            _ => v & !LOW | shuffle(v & LOW, 16, imm),
        };
        self.sse_write_reg(ins.op0_register(), r);
        Ok(())
    }

    /// MOVD, MOVQ, MOVQ2DQ, MOVDQ2Q, MOVNTI, MOVNTQ, MOVNTDQ: 4, 8 or 16 bytes,
    /// zero-extended into a destination register.
    fn int_move(&mut self, ins: &Instruction) -> Fault {
        let bytes = match ins.mnemonic() {
            M::Movd | M::Movnti => 4,
            M::Movntdq => 16,
            _ => 8,
        };
        let v = self.sse_read(ins, 1, bytes)? & u128::MAX >> (128 - 8 * bytes);
        if ins.op0_kind() == OpKind::Register {
            self.sse_write_reg(ins.op0_register(), v);
            Ok(())
        } else {
            self.sse_write_memory(ins, bytes, v)
        }
    }

    /// PEXTRW: word imm8 mod 4 (MM) or mod 8 (XMM), zero-extended into r32.
    fn pextrw(&mut self, ins: &Instruction) -> Fault {
        let v = self.sse_read(ins, 1, 16)?;
        let words = if ins.op1_register().is_mm() { 4 } else { 8 };
        let at = 16 * (ins.immediate8() as u32 % words);
        self.sse_write_reg(ins.op0_register(), v >> at & 0xffff);
        Ok(())
    }

    /// PINSRW: the low word of r32, or m16, into word imm8 mod 4 (MM) or
    /// mod 8 (XMM).
    fn pinsrw(&mut self, ins: &Instruction) -> Fault {
        let word = match ins.op1_kind() {
            OpKind::Register => self.get_reg(ins.op1_register()),
            _ => {
                let (seg, off) = self.ea(ins);
                self.read(seg, off, 2)?
            }
        } & 0xffff;
        let dst = ins.op0_register();
        let words = if dst.is_mm() { 4 } else { 8 };
        let at = 16 * (ins.immediate8() as u32 % words);
        let a = self.sse_read(ins, 0, 16)?;
        self.sse_write_reg(dst, a & !(0xffff << at) | (word as u128) << at);
        Ok(())
    }

    /// PMOVMSKB: the top bit of each byte, zero-extended into r32 (an MM
    /// register reads as zeros above bit 63).
    fn pmovmskb(&mut self, ins: &Instruction) -> Fault {
        let v = self.sse_read(ins, 1, 16)?;
        let mask = (0..16).fold(0, |r, i| r | (v >> (8 * i + 7) & 1) << i);
        self.sse_write_reg(ins.op0_register(), mask);
        Ok(())
    }

    /// MASKMOVQ and MASKMOVDQU: the bytes of the first register whose byte in
    /// the second has its top bit set, stored at DS:DI or DS:EDI (the segment
    /// can be overridden). The segment limit covers the whole operand; the
    /// pages of the stored bytes are checked before any byte is written, and
    /// a mask of zeros stores nothing.
    fn masked_store(&mut self, ins: &Instruction) -> Fault {
        let bytes = if ins.op1_register().is_mm() { 8 } else { 16 };
        let data = self.sse_read(ins, 1, bytes)?.to_le_bytes();
        let mask = self.sse_read(ins, 2, bytes)?.to_le_bytes();
        let edi = self.state.regs[reg::EDI];
        let off = if ins.op0_kind() == OpKind::MemorySegEDI { edi } else { edi & 0xffff };
        let seg = seg_of(ins.memory_segment());
        let linear = self.check_seg(seg, off, bytes, true)?;
        let stored = |i: &u32| mask[*i as usize] & 0x80 != 0;
        let (Some(first), Some(last)) = ((0..bytes).find(stored), (0..bytes).rfind(stored)) else {
            return Ok(());
        };
        let user = self.user();
        for at in [first, last] {
            self.translate(linear.wrapping_add(at), Access::Write, user)?;
        }
        for i in (first..=last).filter(stored) {
            self.write(seg, off.wrapping_add(i), 1, data[i as usize] as u32)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use iced_x86::{Decoder, DecoderOptions, Instruction};
    use vemu_softmmu::{Memory, PhysAddr, PhysMemory};

    use crate::bus::NullBus;
    use crate::cpu::{Cpu, CpuConfig};
    use crate::cpuid::{feature, CpuModel};
    use crate::exception::{vector, Fault};
    use crate::f80::F80;
    use crate::state::{cr0, cr4, fsw, reg, Seg, Segment};

    /// Where the memory-operand tests put their data (DS:BX and DS:DI).
    const DATA: u32 = 0x3000;

    /// A real-mode CPU of a model with SSE and SSE2 but not the features
    /// `missing`, CR4.OSFXSR set, DS = 0, BX = DI = [`DATA`].
    fn cpu_without(missing: u32) -> Cpu {
        let mem = Memory::new(PhysMemory::new(1 << 20).unwrap());
        let mut model = CpuModel::default();
        model.edx = (model.edx | feature::SSE | feature::SSE2) & !missing;
        let config = CpuConfig { model, ..CpuConfig::default() };
        let mut cpu = Cpu::new(mem, Box::new(NullBus::default()), config);
        cpu.state.segs[Seg::CS as usize] = Segment::real(0, true, 0);
        cpu.state.segs[Seg::DS as usize] = Segment::real(0, false, 0);
        cpu.state.eip = 0x1000;
        cpu.state.cr4 |= cr4::OSFXSR;
        cpu.state.regs[reg::EBX] = DATA;
        cpu.state.regs[reg::EDI] = DATA;
        cpu
    }

    fn cpu() -> Cpu {
        cpu_without(0)
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

    fn memory(cpu: &mut Cpu, at: u32, n: usize) -> Vec<u8> {
        let mut m = vec![0; n];
        cpu.mem.read_phys(PhysAddr(at), &mut m);
        m
    }

    #[test]
    fn the_lane_operations_of_sse_and_sse2() {
        let op = |m| super::lane_op(m).unwrap();
        use iced_x86::Mnemonic as M;
        assert_eq!(op(M::Pavgb)(0x00ff_01ff_0000_0080, 0x00ff_00fe_0001_0081), 0x00ff_01ff_0001_0081);
        assert_eq!(op(M::Pavgw)(0xffff_0001, 0xffff_0000), 0xffff_0001);
        assert_eq!(op(M::Psadbw)(0xff00_ff00_ff00_ff00, 0x00ff_00ff_00ff_00ff), 8 * 255);
        assert_eq!(op(M::Pmuludq)(0xdead_ffff_ffff, 0xbeef_ffff_ffff), 0xffff_fffe_0000_0001);
        assert_eq!(op(M::Pmaxsw)(0x8000_7fff, 0x7fff_8000), 0x7fff_7fff);
        assert_eq!(op(M::Pminsw)(0x8000_7fff, 0x7fff_8000), 0x8000_8000);
        assert_eq!(op(M::Pmulhuw)(0xffff, 0xffff), 0xfffe);
        assert_eq!(super::shuffle(0x3333_2222_1111_0000, 16, 0x1b), 0x0000_1111_2222_3333);
    }

    #[test]
    fn movd_and_movq_zero_extend_into_xmm_and_store_the_low_part() {
        let mut cpu = cpu();
        let x = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100u128;
        cpu.state.fpu.xmm[0] = u128::MAX;
        cpu.state.regs[reg::EAX] = 0x8765_4321;
        run(&mut cpu, &[0x66, 0x0f, 0x6e, 0xc0]).unwrap(); // movd xmm0, eax
        assert_eq!(cpu.state.fpu.xmm[0], 0x8765_4321);
        cpu.state.fpu.xmm[1] = x;
        run(&mut cpu, &[0x66, 0x0f, 0x7e, 0xca]).unwrap(); // movd edx, xmm1
        assert_eq!(cpu.state.regs[reg::EDX], 0x0302_0100);

        cpu.mem.write_phys(PhysAddr(DATA), &[0xaa; 16]);
        run(&mut cpu, &[0x66, 0x0f, 0x7e, 0x0f]).unwrap(); // movd [bx], xmm1
        assert_eq!(memory(&mut cpu, DATA, 8), [0, 1, 2, 3, 0xaa, 0xaa, 0xaa, 0xaa]);
        run(&mut cpu, &[0x66, 0x0f, 0xd6, 0x0f]).unwrap(); // movq [bx], xmm1
        assert_eq!(memory(&mut cpu, DATA, 10), [0, 1, 2, 3, 4, 5, 6, 7, 0xaa, 0xaa]);
        cpu.state.fpu.xmm[2] = u128::MAX;
        run(&mut cpu, &[0x66, 0x0f, 0x6e, 0x17]).unwrap(); // movd xmm2, [bx]
        assert_eq!(cpu.state.fpu.xmm[2], 0x0302_0100);
        cpu.state.fpu.xmm[2] = u128::MAX;
        run(&mut cpu, &[0xf3, 0x0f, 0x7e, 0x17]).unwrap(); // movq xmm2, [bx]
        assert_eq!(cpu.state.fpu.xmm[2], 0x0706_0504_0302_0100);
        cpu.state.fpu.xmm[3] = u128::MAX;
        run(&mut cpu, &[0x66, 0x0f, 0xd6, 0xcb]).unwrap(); // movq xmm3, xmm1 (the store form)
        assert_eq!(cpu.state.fpu.xmm[3], 0x0706_0504_0302_0100);
        // 32 and 64 bits fit below the 64 KiB limit where 128 would not.
        cpu.state.regs[reg::EBX] = 0xfff8;
        run(&mut cpu, &[0xf3, 0x0f, 0x7e, 0x17]).unwrap();
        assert_eq!(vector_of(run(&mut cpu, &[0x66, 0x0f, 0xd6, 0x0f])), None);
        cpu.state.regs[reg::EBX] = 0xfffa;
        assert_eq!(vector_of(run(&mut cpu, &[0xf3, 0x0f, 0x7e, 0x17])), Some(vector::GP));
    }

    #[test]
    fn the_non_temporal_stores() {
        let mut cpu = cpu();
        let x = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100u128;
        cpu.state.fpu.xmm[1] = x;
        cpu.state.fpu.regs[2].sig = 0x1122_3344_5566_7788;
        cpu.state.regs[reg::EAX] = 0xcafe_f00d;
        run(&mut cpu, &[0x66, 0x0f, 0xe7, 0x0f]).unwrap(); // movntdq [bx], xmm1
        assert_eq!(memory(&mut cpu, DATA, 16), x.to_le_bytes());
        run(&mut cpu, &[0x0f, 0xe7, 0x17]).unwrap(); // movntq [bx], mm2
        assert_eq!(memory(&mut cpu, DATA, 9), [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 8]);
        run(&mut cpu, &[0x0f, 0xc3, 0x07]).unwrap(); // movnti [bx], eax
        assert_eq!(memory(&mut cpu, DATA, 5), [0x0d, 0xf0, 0xfe, 0xca, 0x44]);
        cpu.state.regs[reg::EBX] = DATA + 8;
        assert_eq!(vector_of(run(&mut cpu, &[0x66, 0x0f, 0xe7, 0x0f])), Some(vector::GP), "aligned only");
        run(&mut cpu, &[0x0f, 0xe7, 0x17]).unwrap();
        cpu.state.regs[reg::EBX] = DATA + 1;
        run(&mut cpu, &[0x0f, 0xc3, 0x07]).unwrap();
        assert_eq!(memory(&mut cpu, DATA, 6), [0x0d, 0x0d, 0xf0, 0xfe, 0xca, 0x33]);
    }

    #[test]
    fn movq2dq_and_movdq2q() {
        let mut cpu = cpu();
        cpu.state.fpu.regs[1] = F80 { sig: 0x1122_3344_5566_7788, se: 0x1234 };
        cpu.state.fpu.xmm[0] = u128::MAX;
        run(&mut cpu, &[0xf3, 0x0f, 0xd6, 0xc1]).unwrap(); // movq2dq xmm0, mm1
        assert_eq!(cpu.state.fpu.xmm[0], 0x1122_3344_5566_7788);
        assert_eq!(cpu.state.fpu.regs[1].se, 0x1234, "a source MM register is only read");
        cpu.state.fpu.xmm[1] = 0xffff_ffff_ffff_ffff_0102_0304_0506_0708;
        run(&mut cpu, &[0xf2, 0x0f, 0xd6, 0xc1]).unwrap(); // movdq2q mm0, xmm1
        assert_eq!(cpu.state.fpu.regs[0], F80 { sig: 0x0102_0304_0506_0708, se: 0xffff });
    }

    #[test]
    fn a_misaligned_m128_is_gp0_but_m64_and_m16_are_not() {
        let mut cpu = cpu();
        cpu.state.regs[reg::EBX] = DATA + 8;
        for code in [
            &[0x66, 0x0f, 0xfc, 0x07][..],   // paddb xmm0, [bx]
            &[0x66, 0x0f, 0x60, 0x07],       // punpcklbw xmm0, [bx]: m128 too
            &[0x66, 0x0f, 0xd1, 0x07],       // psrlw xmm0, [bx]: the count's m128
            &[0x66, 0x0f, 0x70, 0x07, 0x1b], // pshufd xmm0, [bx], 1bh
            &[0x66, 0x0f, 0xf6, 0x07],       // psadbw xmm0, [bx]
        ] {
            cpu.state.fpu.xmm[0] = 7;
            let r = run(&mut cpu, code);
            assert_eq!(r.err().map(|e| (e.vector, e.error)), Some((vector::GP, Some(0))), "{code:02x?}");
            assert_eq!(cpu.state.fpu.xmm[0], 7);
        }
        cpu.state.regs[reg::EBX] = DATA + 1;
        run(&mut cpu, &[0xf3, 0x0f, 0x6f, 0x07]).unwrap(); // movdqu xmm0, [bx]
        run(&mut cpu, &[0x0f, 0xe0, 0x07]).unwrap(); // pavgb mm0, [bx]
        run(&mut cpu, &[0x66, 0x0f, 0xc4, 0x07, 1]).unwrap(); // pinsrw xmm0, [bx], 1
                                                              // PINSRW reads 16 bits: the last word of the segment is in reach.
        cpu.mem.write_phys(PhysAddr(0xfffe), &[0x34, 0x12]);
        cpu.state.regs[reg::EBX] = 0xfffe;
        run(&mut cpu, &[0x66, 0x0f, 0xc4, 0x07, 1]).unwrap();
        assert_eq!(cpu.state.fpu.xmm[0] >> 16 & 0xffff, 0x1234);
    }

    #[test]
    fn without_cr4_osfxsr_or_the_feature_it_is_ud() {
        let mut cpu = cpu();
        cpu.state.cr4 &= !cr4::OSFXSR;
        assert_eq!(vector_of(run(&mut cpu, &[0x66, 0x0f, 0xfc, 0xc1])), Some(vector::UD), "paddb xmm0, xmm1");
        let mut cpu = cpu_without(feature::SSE2);
        assert_eq!(vector_of(run(&mut cpu, &[0x66, 0x0f, 0xfc, 0xc1])), Some(vector::UD), "paddb xmm0, xmm1");
        assert_eq!(vector_of(run(&mut cpu, &[0x0f, 0xf4, 0xc1])), Some(vector::UD), "pmuludq mm0, mm1");
        assert_eq!(vector_of(run(&mut cpu, &[0x0f, 0xe0, 0xc1])), None, "pavgb mm0, mm1 is SSE");
        let mut cpu = cpu_without(feature::SSE | feature::SSE2);
        assert_eq!(vector_of(run(&mut cpu, &[0x0f, 0xe0, 0xc1])), Some(vector::UD), "pavgb mm0, mm1");
        let mut cpu = cpu_without(0);
        cpu.state.cr0 |= cr0::TS;
        assert_eq!(vector_of(run(&mut cpu, &[0x66, 0x0f, 0xfc, 0xc1])), Some(vector::NM));
    }

    /// TOP = 5, only R2 valid, MM0 and MM1 set with sign and exponent not all ones.
    fn prepare_x87(cpu: &mut Cpu) {
        let f = &mut cpu.state.fpu;
        f.top = 5;
        f.valid = 0x04;
        f.regs[0] = F80 { sig: 0x0102_0304_0506_0708, se: 0x1234 };
        f.regs[1] = F80 { sig: 0x1010_1010_1010_1010, se: 0x4321 };
    }

    #[test]
    fn an_mm_form_switches_the_x87_to_mmx_and_an_xmm_form_does_not() {
        let mut cpu = cpu();
        prepare_x87(&mut cpu);
        run(&mut cpu, &[0x66, 0x0f, 0xfc, 0xc1]).unwrap(); // paddb xmm0, xmm1
        assert_eq!((cpu.state.fpu.top, cpu.state.fpu.valid, cpu.state.fpu.regs[0].se), (5, 0x04, 0x1234));
        run(&mut cpu, &[0x0f, 0xe0, 0xc1]).unwrap(); // pavgb mm0, mm1
        let f = &cpu.state.fpu;
        assert_eq!((f.top, f.valid), (0, 0xff));
        assert_eq!(f.regs[0], F80 { sig: 0x0909_0a0a_0b0b_0c0c, se: 0xffff });
        assert_eq!(f.regs[1].se, 0x4321, "the source is only read");
        for code in [&[0x0f, 0xc5, 0xc1, 1][..], &[0xf3, 0x0f, 0xd6, 0xc1], &[0x0f, 0xe7, 0x0f]] {
            prepare_x87(&mut cpu);
            run(&mut cpu, code).unwrap(); // pextrw eax, mm1, 1; movq2dq xmm0, mm1; movntq [bx], mm1
            let f = &cpu.state.fpu;
            assert_eq!(
                (f.top, f.valid, f.regs[0].se, f.regs[1].se),
                (0, 0xff, 0x1234, 0x4321),
                "{code:02x?}"
            );
        }
        // A pending x87 exception is delivered first (CR0.NE), and nothing changes.
        prepare_x87(&mut cpu);
        cpu.state.cr0 |= cr0::NE;
        cpu.state.fpu.sw |= fsw::ES;
        assert_eq!(vector_of(run(&mut cpu, &[0x0f, 0xe0, 0xc1])), Some(vector::MF));
        let f = &cpu.state.fpu;
        assert_eq!((f.top, f.valid, f.regs[0].sig), (5, 0x04, 0x0102_0304_0506_0708));
        run(&mut cpu, &[0x66, 0x0f, 0xfc, 0xc1]).unwrap();
    }

    #[test]
    fn a_masked_store_writes_the_selected_bytes_at_ds_di_or_edi() {
        let mut cpu = cpu();
        cpu.state.fpu.xmm[0] = 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100;
        cpu.state.fpu.xmm[1] = 0x8000_0000_0000_00ff_7f00_0000_0000_0080;
        cpu.mem.write_phys(PhysAddr(DATA), &[0xee; 16]);
        run(&mut cpu, &[0x66, 0x0f, 0xf7, 0xc1]).unwrap(); // maskmovdqu xmm0, xmm1
        let mut want = [0xee; 16];
        (want[0], want[8], want[15]) = (0, 8, 15);
        assert_eq!(memory(&mut cpu, DATA, 16), want);

        // ES overrides DS; only DI counts with a 16-bit address size.
        cpu.state.segs[Seg::ES as usize] = Segment::real(0x100, false, 0);
        cpu.state.regs[reg::EDI] = 0x1_0000 | DATA;
        cpu.state.fpu.regs[2].sig = 0x8888_7777_6666_5555;
        cpu.state.fpu.regs[3].sig = 0x8000_0000_ff00_0000;
        run(&mut cpu, &[0x26, 0x0f, 0xf7, 0xd3]).unwrap(); // maskmovq mm2, mm3 with ES
        assert_eq!(memory(&mut cpu, 0x1000 + DATA, 8), [0, 0, 0, 0x66, 0, 0, 0, 0x88]);
        // A 32-bit address size takes EDI, here past the 64 KiB limit.
        assert_eq!(vector_of(run(&mut cpu, &[0x67, 0x0f, 0xf7, 0xd3])), Some(vector::GP));

        // The segment limit covers all 16 bytes, even under a mask of zeros;
        // nothing is written on a fault.
        cpu.state.regs[reg::EDI] = 0xfff8;
        cpu.mem.write_phys(PhysAddr(0xfff8), &[0xee; 8]);
        for mask in [0, 1u128 << 127] {
            cpu.state.fpu.xmm[1] = mask;
            assert_eq!(vector_of(run(&mut cpu, &[0x66, 0x0f, 0xf7, 0xc1])), Some(vector::GP));
        }
        assert_eq!(memory(&mut cpu, 0xfff8, 8), [0xee; 8]);
        cpu.state.regs[reg::EDI] = 0xfff0;
        cpu.state.fpu.xmm[1] = 0;
        run(&mut cpu, &[0x66, 0x0f, 0xf7, 0xc1]).unwrap();
    }

    /// The host processor runs the same instructions and is the judge.
    #[cfg(target_arch = "x86_64")]
    mod host {
        use std::arch::asm;

        use iced_x86::Mnemonic;
        use vemu_softmmu::PhysAddr;

        use super::{cpu, decode, memory, run, DATA};
        use crate::cpu::Cpu;
        use crate::state::reg;

        /// Random operands per register form.
        const CASES: usize = 5000;

        /// The registers the tests use, as the host harness lays them out.
        #[repr(C)]
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        struct Regs {
            xmm0: u128,
            xmm1: u128,
            mm0: u64,
            mm1: u64,
            eax: u32,
        }

        type Host = fn(Regs) -> Regs;

        /// A function that runs `$ins` on the host with XMM0, XMM1, MM0, MM1
        /// and EAX loaded from its argument, and returns them after it (XMM1
        /// and MM1 as they were).
        macro_rules! on_host {
            ($ins:expr) => {
                (|regs: Regs| -> Regs {
                    let mut r = regs;
                    // SAFETY: the registers written are declared clobbered
                    // (the MM registers alias the x87 ones, left empty by
                    // EMMS); the pointer is to a live local of the layout
                    // accessed.
                    unsafe {
                        asm!(
                            "movdqu xmm0, xmmword ptr [{r}]",
                            "movdqu xmm1, xmmword ptr [{r} + 16]",
                            "movq mm0, qword ptr [{r} + 32]",
                            "movq mm1, qword ptr [{r} + 40]",
                            "mov eax, dword ptr [{r} + 48]",
                            $ins,
                            "movdqu xmmword ptr [{r}], xmm0",
                            "movq qword ptr [{r} + 32], mm0",
                            "mov dword ptr [{r} + 48], eax",
                            "emms",
                            r = in(reg) &mut r as *mut Regs,
                            out("eax") _, out("xmm0") _, out("xmm1") _,
                            out("st(0)") _, out("st(1)") _, out("st(2)") _, out("st(3)") _,
                            out("st(4)") _, out("st(5)") _, out("st(6)") _, out("st(7)") _,
                            options(nostack),
                        )
                    }
                    r
                }) as Host
            };
        }

        /// (assembly, its encoding in 16-bit code, the host running it).
        macro_rules! table {
            ($($asm:expr => $bytes:expr),* $(,)?) => {
                vec![$(($asm, $bytes.to_vec(), on_host!($asm))),*]
            };
        }

        /// `name xmm0, xmm1` (66 0F `op` /r) and, for `mm`, `name mm0, mm1`.
        macro_rules! binary {
            ($($name:literal $op:literal $($mm:ident)?),* $(,)?) => {{
                let mut t: Vec<(&str, Vec<u8>, Host)> =
                    table![$(concat!($name, " xmm0, xmm1") => [0x66, 0x0f, $op, 0xc1]),*];
                $($(
                    let _ = stringify!($mm);
                    t.extend(table![concat!($name, " mm0, mm1") => [0x0f, $op, 0xc1]]);
                )?)*
                t
            }};
        }

        /// `name xmm0, count` (66 0F `op` /`digit` ib) for each count.
        macro_rules! shift_immediate {
            ($name:literal $op:literal $modrm:literal) => {
                shift_immediate!(@ $name $op $modrm; 0 1 2 3 7 8 9 15 16 17 31 32 33 63 64 65 127 128 255)
            };
            (@ $name:literal $op:literal $modrm:literal; $($count:literal)*) => {
                table![$(concat!($name, " xmm0, ", $count) => [0x66, 0x0f, $op, $modrm, $count]),*]
            };
        }

        /// `asm` with each imm8 appended, and the encoding `bytes` imm8.
        macro_rules! with_imm8 {
            ($asm:literal $bytes:expr) => {
                with_imm8!(@ $asm $bytes; 0 1 2 3 4 5 6 7 9 13 27 57 78 114 141 147 177 228 255)
            };
            (@ $asm:literal $bytes:expr; $($imm:literal)*) => {
                table![$(concat!($asm, ", ", $imm) => [&$bytes[..], &[$imm]].concat()),*]
            };
        }

        use crate::testing::Rng;

        /// The operands this module's tests draw.
        trait Operands {
            fn half(&mut self) -> u64;
            fn pair(&mut self) -> (u64, u64);
            fn regs(&mut self) -> Regs;
        }

        impl Operands for Rng {
            /// 64 random bits, a small number (a shift count), or lanes from
            /// the edges of the byte, word and doubleword ranges.
            fn half(&mut self) -> u64 {
                const WORDS: [u64; 12] =
                    [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7f80, 0x807f, 0x7fff, 0x8000, 0xff00, 0xffff];
                const DWORDS: [u64; 8] =
                    [0, 1, 0x7fff, 0xffff_8000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x0001_0000];
                match self.below(5) {
                    0 => self.below(140),
                    1 => (0..4).fold(0, |v, i| v | WORDS[self.below(12) as usize] << (16 * i)),
                    2 => (0..2).fold(0, |v, i| v | DWORDS[self.below(8) as usize] << (32 * i)),
                    _ => self.next(),
                }
            }

            /// Two values, sometimes equal in most lanes.
            fn pair(&mut self) -> (u64, u64) {
                let a = self.half();
                let b = if self.below(4) == 0 {
                    a ^ (self.next() & self.next() & self.next())
                } else {
                    self.half()
                };
                (a, b)
            }

            fn regs(&mut self) -> Regs {
                let ((a0, b0), (a1, b1), (m0, m1)) = (self.pair(), self.pair(), self.pair());
                let join = |lo: u64, hi: u64| (hi as u128) << 64 | lo as u128;
                Regs { xmm0: join(a0, a1), xmm1: join(b0, b1), mm0: m0, mm1: m1, eax: self.next() as u32 }
            }
        }

        /// Loads `r` into vemu's registers.
        fn load(cpu: &mut Cpu, r: Regs) {
            let f = &mut cpu.state.fpu;
            (f.xmm[0], f.xmm[1], f.regs[0].sig, f.regs[1].sig) = (r.xmm0, r.xmm1, r.mm0, r.mm1);
            cpu.state.regs[reg::EAX] = r.eax;
        }

        /// XMM0, MM0 and EAX after an instruction (XMM1 and MM1 from `before`).
        fn result(cpu: &Cpu, before: Regs) -> Regs {
            let f = &cpu.state.fpu;
            Regs { xmm0: f.xmm[0], mm0: f.regs[0].sig, eax: cpu.state.regs[reg::EAX], ..before }
        }

        /// Runs every entry of `table` on random registers in vemu and on the host.
        fn agree(table: Vec<(&str, Vec<u8>, Host)>, cases: usize, seed: u64) {
            let mut cpu = cpu();
            let mut bad = Vec::new();
            for (n, (asm, bytes, host)) in table.into_iter().enumerate() {
                let ins = decode(&bytes);
                let name = format!("{:?}", ins.mnemonic()).to_lowercase();
                assert!(asm.starts_with(&format!("{name} ")), "{bytes:02x?} is {ins}, not {asm}");
                let mut rng = Rng(seed ^ (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                for _ in 0..cases {
                    let r = rng.regs();
                    load(&mut cpu, r);
                    cpu.execute(&ins).unwrap();
                    let (want, got) = (host(r), result(&cpu, r));
                    if want != got && bad.len() < 20 {
                        bad.push(format!("{asm} on {r:x?}:\n  host {want:x?}\n  vemu {got:x?}"));
                    }
                }
            }
            assert!(bad.is_empty(), "{}", bad.join("\n"));
        }

        #[test]
        fn the_lane_wise_instructions_agree_with_the_host() {
            let table = binary![
                "punpcklbw" 0x60, "punpcklwd" 0x61, "punpckldq" 0x62, "packsswb" 0x63,
                "pcmpgtb" 0x64, "pcmpgtw" 0x65, "pcmpgtd" 0x66, "packuswb" 0x67,
                "punpckhbw" 0x68, "punpckhwd" 0x69, "punpckhdq" 0x6a, "packssdw" 0x6b,
                "punpcklqdq" 0x6c, "punpckhqdq" 0x6d, "pcmpeqb" 0x74, "pcmpeqw" 0x75, "pcmpeqd" 0x76,
                "psrlw" 0xd1, "psrld" 0xd2, "psrlq" 0xd3, "paddq" 0xd4, "pmullw" 0xd5,
                "psubusb" 0xd8, "psubusw" 0xd9, "pminub" 0xda mm, "pand" 0xdb,
                "paddusb" 0xdc, "paddusw" 0xdd, "pmaxub" 0xde mm, "pandn" 0xdf,
                "pavgb" 0xe0 mm, "psraw" 0xe1, "psrad" 0xe2, "pavgw" 0xe3 mm, "pmulhuw" 0xe4 mm,
                "pmulhw" 0xe5, "psubsb" 0xe8, "psubsw" 0xe9, "pminsw" 0xea mm, "por" 0xeb,
                "paddsb" 0xec, "paddsw" 0xed, "pmaxsw" 0xee mm, "pxor" 0xef,
                "psllw" 0xf1, "pslld" 0xf2, "psllq" 0xf3, "pmuludq" 0xf4 mm, "pmaddwd" 0xf5,
                "psadbw" 0xf6 mm, "psubb" 0xf8, "psubw" 0xf9, "psubd" 0xfa, "psubq" 0xfb mm,
                "paddb" 0xfc, "paddw" 0xfd, "paddd" 0xfe,
            ];
            assert_eq!(table.len(), 57 + 10);
            agree(table, CASES, 1);
        }

        #[test]
        fn paddq_on_mm_registers_agrees_with_the_host() {
            agree(table!["paddq mm0, mm1" => [0x0f, 0xd4, 0xc1]], CASES, 2);
        }

        #[test]
        fn the_shifts_by_an_immediate_agree_with_the_host() {
            let mut table = shift_immediate!("psrlw" 0x71 0xd0);
            table.extend(shift_immediate!("psraw" 0x71 0xe0));
            table.extend(shift_immediate!("psllw" 0x71 0xf0));
            table.extend(shift_immediate!("psrld" 0x72 0xd0));
            table.extend(shift_immediate!("psrad" 0x72 0xe0));
            table.extend(shift_immediate!("pslld" 0x72 0xf0));
            table.extend(shift_immediate!("psrlq" 0x73 0xd0));
            table.extend(shift_immediate!("psrldq" 0x73 0xd8));
            table.extend(shift_immediate!("psllq" 0x73 0xf0));
            table.extend(shift_immediate!("pslldq" 0x73 0xf8));
            agree(table, CASES / 20, 3);
        }

        #[test]
        fn the_instructions_with_an_imm8_agree_with_the_host() {
            let mut table = with_imm8!("pshufw mm0, mm1" [0x0f, 0x70, 0xc1]);
            table.extend(with_imm8!("pshufd xmm0, xmm1" [0x66, 0x0f, 0x70, 0xc1]));
            table.extend(with_imm8!("pshufhw xmm0, xmm1" [0xf3, 0x0f, 0x70, 0xc1]));
            table.extend(with_imm8!("pshuflw xmm0, xmm1" [0xf2, 0x0f, 0x70, 0xc1]));
            table.extend(with_imm8!("pextrw eax, mm1" [0x0f, 0xc5, 0xc1]));
            table.extend(with_imm8!("pextrw eax, xmm1" [0x66, 0x0f, 0xc5, 0xc1]));
            table.extend(with_imm8!("pinsrw mm0, eax" [0x0f, 0xc4, 0xc0]));
            table.extend(with_imm8!("pinsrw xmm0, eax" [0x66, 0x0f, 0xc4, 0xc0]));
            agree(table, CASES / 20, 4);
        }

        #[test]
        fn the_moves_agree_with_the_host() {
            let table = table![
                "movd xmm0, eax" => [0x66, 0x0f, 0x6e, 0xc0],
                "movd eax, xmm1" => [0x66, 0x0f, 0x7e, 0xc8],
                "movq xmm0, xmm1" => [0xf3, 0x0f, 0x7e, 0xc1],
                "movq xmm0, xmm1" => [0x66, 0x0f, 0xd6, 0xc8],
                "movq2dq xmm0, mm1" => [0xf3, 0x0f, 0xd6, 0xc1],
                "movdq2q mm0, xmm1" => [0xf2, 0x0f, 0xd6, 0xc1],
                "pmovmskb eax, mm1" => [0x0f, 0xd7, 0xc1],
                "pmovmskb eax, xmm1" => [0x66, 0x0f, 0xd7, 0xc1],
            ];
            agree(table, CASES / 10, 5);
        }

        /// Where the source of a memory form comes from.
        #[derive(Copy, Clone)]
        enum Source {
            Xmm1,
            Mm1,
            Eax,
        }

        #[test]
        fn memory_forms_agree_with_the_register_forms_on_the_host() {
            use Source::*;
            let table = [
                (&[0x66, 0x0f, 0xed, 0x07][..], Xmm1, on_host!("paddsw xmm0, xmm1")),
                (&[0x66, 0x0f, 0x6b, 0x07], Xmm1, on_host!("packssdw xmm0, xmm1")),
                (&[0x66, 0x0f, 0x61, 0x07], Xmm1, on_host!("punpcklwd xmm0, xmm1")),
                (&[0x66, 0x0f, 0x6d, 0x07], Xmm1, on_host!("punpckhqdq xmm0, xmm1")),
                (&[0x66, 0x0f, 0xd3, 0x07], Xmm1, on_host!("psrlq xmm0, xmm1")),
                (&[0x66, 0x0f, 0xe2, 0x07], Xmm1, on_host!("psrad xmm0, xmm1")),
                (&[0x66, 0x0f, 0xf6, 0x07], Xmm1, on_host!("psadbw xmm0, xmm1")),
                (&[0xf3, 0x0f, 0x70, 0x07, 0x1b], Xmm1, on_host!("pshufhw xmm0, xmm1, 0x1b")),
                (&[0x66, 0x0f, 0xd4, 0x07], Xmm1, on_host!("paddq xmm0, xmm1")),
                (&[0xf3, 0x0f, 0x7e, 0x07], Xmm1, on_host!("movq xmm0, xmm1")),
                (&[0x0f, 0xe0, 0x07], Mm1, on_host!("pavgb mm0, mm1")),
                (&[0x0f, 0xf6, 0x07], Mm1, on_host!("psadbw mm0, mm1")),
                (&[0x0f, 0xfb, 0x07], Mm1, on_host!("psubq mm0, mm1")),
                (&[0x0f, 0x70, 0x07, 0x4e], Mm1, on_host!("pshufw mm0, mm1, 0x4e")),
                (&[0x66, 0x0f, 0x6e, 0x07], Eax, on_host!("movd xmm0, eax")),
                (&[0x66, 0x0f, 0xc4, 0x07, 6], Eax, on_host!("pinsrw xmm0, eax, 6")),
                (&[0x0f, 0xc4, 0x07, 6], Eax, on_host!("pinsrw mm0, eax, 6")),
            ];
            let mut cpu = cpu();
            let mut rng = Rng(6);
            for (bytes, source, host) in table {
                let ins = decode(bytes);
                for _ in 0..CASES / 10 {
                    let r = rng.regs();
                    let image = match source {
                        Xmm1 => r.xmm1.to_le_bytes().to_vec(),
                        Mm1 => r.mm1.to_le_bytes().to_vec(),
                        Eax => r.eax.to_le_bytes().to_vec(),
                    };
                    cpu.mem.write_phys(PhysAddr(DATA), &image);
                    cpu.mem.write_phys(PhysAddr(DATA + image.len() as u32), &[0x5a; 16]);
                    load(&mut cpu, r);
                    cpu.execute(&ins).unwrap();
                    assert_eq!(result(&cpu, r), host(r), "{ins} on {r:x?}");
                }
            }
        }

        /// MASKMOVQ mm0, mm1 or MASKMOVDQU xmm0, xmm1 on the host, storing
        /// into a copy of `memory`.
        fn masked_store_on_host(r: Regs, on_mm: bool, memory: [u8; 16]) -> [u8; 16] {
            let mut m = memory;
            // SAFETY: the registers written are declared clobbered (the x87
            // ones under the MM registers, left empty by EMMS); the pointers
            // are to live locals of the sizes accessed, and the store covers
            // at most the 16 bytes of `m`.
            unsafe {
                if on_mm {
                    asm!(
                        "movq mm0, qword ptr [{r} + 32]",
                        "movq mm1, qword ptr [{r} + 40]",
                        "maskmovq mm0, mm1",
                        "sfence",
                        "emms",
                        r = in(reg) &r as *const Regs,
                        in("rdi") m.as_mut_ptr(),
                        out("st(0)") _, out("st(1)") _, out("st(2)") _, out("st(3)") _,
                        out("st(4)") _, out("st(5)") _, out("st(6)") _, out("st(7)") _,
                        options(nostack),
                    )
                } else {
                    asm!(
                        "movdqu xmm0, xmmword ptr [{r}]",
                        "movdqu xmm1, xmmword ptr [{r} + 16]",
                        "maskmovdqu xmm0, xmm1",
                        "sfence",
                        r = in(reg) &r as *const Regs,
                        in("rdi") m.as_mut_ptr(),
                        out("xmm0") _, out("xmm1") _,
                        options(nostack),
                    )
                }
            }
            m
        }

        #[test]
        fn masked_stores_agree_with_the_host() {
            let mut cpu = cpu();
            let mut rng = Rng(7);
            for on_mm in [false, true] {
                let code: &[u8] = if on_mm { &[0x0f, 0xf7, 0xc1] } else { &[0x66, 0x0f, 0xf7, 0xc1] };
                for _ in 0..CASES / 10 {
                    let r = rng.regs();
                    let before: [u8; 16] = std::array::from_fn(|_| rng.next() as u8);
                    cpu.mem.write_phys(PhysAddr(DATA), &before);
                    load(&mut cpu, r);
                    run(&mut cpu, code).unwrap();
                    assert_eq!(memory(&mut cpu, DATA, 16), masked_store_on_host(r, on_mm, before), "{r:x?}");
                }
            }
            assert_eq!(decode(&[0x0f, 0xf7, 0xc1]).mnemonic(), Mnemonic::Maskmovq);
        }
    }
}
