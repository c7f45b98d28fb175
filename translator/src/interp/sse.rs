//! SSE and SSE2: the dispatch of every instruction iced-x86 counts as SSE or
//! SSE2, what they all check first, and XMM operands. The floating-point
//! instructions are in `sse_float`, the integer ones in `sse_int`; this file
//! keeps MXCSR (LDMXCSR, STMXCSR), the moves between XMM registers, memory
//! and general registers, the bitwise logic, the shuffles and unpacks of
//! floating-point lanes, MOVMSKPS/PD, and the cache-control instructions and
//! fences.
//!
//! Before anything else (SDM Vol. 3A 13.1 and each instruction's exception
//! table): #UD if the model lacks the feature, CR0.EM is set or CR4.OSFXSR is
//! clear, then #NM if CR0.TS is set. The forms that work on MM registers
//! check what MMX instructions check instead of OSFXSR (a pending x87
//! exception too) and switch the x87 to MMX; the fences, the cache hints and
//! MOVNTI check nothing but the feature. A 16-byte memory operand must be
//! aligned on 16 bytes (#GP(0)) except for MOVUPS, MOVUPD and MOVDQU.

use iced_x86::{Code, CpuidFeature, Instruction, Mnemonic as M, OpKind, Register};

use crate::cpu::Cpu;
use crate::cpuid::feature;
use crate::exception::{Exception, Fault};
use crate::state::{cr0, cr4, Seg};

/// MXCSR bits.
pub(crate) mod mxcsr {
    pub const DAZ: u32 = 1 << 6;
    /// The six exception masks.
    pub const MASKS_SHIFT: u32 = 7;
    pub const RC_SHIFT: u32 = 13;
    pub const FTZ: u32 = 1 << 15;
}

/// Whether `ins` is an SSE or SSE2 instruction (iced-x86's CPUID features;
/// it counts SSE2's PADDQ on MM registers as MMX).
pub(super) fn is_sse(ins: &Instruction) -> bool {
    ins.code() == Code::Paddq_mm_mmm64
        || ins.cpuid_features().iter().any(|f| matches!(f, CpuidFeature::SSE | CpuidFeature::SSE2))
}

/// The XMM register an iced register names.
pub(super) fn xmm_index(r: Register) -> usize {
    (r as usize).wrapping_sub(Register::XMM0 as usize) & 7
}

impl Cpu {
    /// An SSE or SSE2 instruction.
    pub(super) fn sse(&mut self, ins: &Instruction) -> Fault {
        let sse2 = ins.code() == Code::Paddq_mm_mmm64 || ins.cpuid_features().contains(&CpuidFeature::SSE2);
        self.require(if sse2 { feature::SSE2 } else { feature::SSE })?;
        // The fences, cache hints and MOVNTI (a general register's store) do
        // not look at CR0 or CR4.
        match ins.mnemonic() {
            M::Lfence | M::Mfence | M::Sfence => return Ok(()),
            M::Prefetchnta | M::Prefetcht0 | M::Prefetcht1 | M::Prefetcht2 => return Ok(()),
            M::Movnti => return self.sse_int(ins),
            _ => {}
        }
        // The forms on MM registers check what MMX instructions check
        // (CR0.EM, CR0.TS, a pending x87 exception), not CR4.OSFXSR.
        let on_mm =
            (0..ins.op_count()).any(|i| ins.op_kind(i) == OpKind::Register && ins.op_register(i).is_mm());
        if self.state.cr0 & cr0::EM != 0 || (!on_mm && self.state.cr4 & cr4::OSFXSR == 0) {
            return Err(Exception::ud());
        }
        if self.state.cr0 & cr0::TS != 0 {
            return Err(Exception::nm());
        }
        if on_mm {
            self.x87_pending()?;
        }
        match ins.mnemonic() {
            M::Ldmxcsr => self.ldmxcsr(ins)?,
            M::Stmxcsr => {
                let (seg, off) = self.ea(ins);
                self.write(seg, off, 4, self.state.fpu.mxcsr)?;
            }
            M::Movaps | M::Movups | M::Movapd | M::Movupd | M::Movdqa | M::Movdqu => self.xmm_move(ins)?,
            M::Andps | M::Andpd | M::Andnps | M::Andnpd | M::Orps | M::Orpd | M::Xorps | M::Xorpd => {
                self.xmm_logic(ins)?
            }
            _ => {
                if self.sse_float(ins)?.is_none() {
                    self.sse_int(ins)?;
                }
            }
        }
        if on_mm {
            self.mmx_transition();
        }
        Ok(())
    }

    /// CLFLUSH: nothing to write back in an emulator, but the address is
    /// checked as a byte read would be (a fault on an unmapped page).
    pub(super) fn clflush(&mut self, ins: &Instruction) -> Fault {
        self.require(feature::CLFLUSH)?;
        let (seg, off) = self.ea(ins);
        self.read(seg, off, 1).map(|_| ())
    }

    /// LDMXCSR: #GP(0) for a reserved bit.
    fn ldmxcsr(&mut self, ins: &Instruction) -> Fault {
        let (seg, off) = self.ea(ins);
        let v = self.read(seg, off, 4)?;
        if v & !super::x87_env::MXCSR_MASK != 0 {
            return Err(Exception::gp(0));
        }
        self.state.fpu.mxcsr = v;
        Ok(())
    }

    /// The value of XMM register `i`.
    pub(super) fn xmm(&self, i: usize) -> u128 {
        self.state.fpu.xmm[i]
    }

    pub(super) fn set_xmm(&mut self, i: usize, v: u128) {
        self.state.fpu.xmm[i] = v;
    }

    /// #GP(0) unless `seg:off` is aligned on 16 bytes (the aligned SSE
    /// operands, FXSAVE's image).
    pub(super) fn check_aligned16(&self, seg: Seg, off: u32) -> Fault {
        let linear = self.state.segs[seg as usize].base.wrapping_add(off);
        if linear & 15 != 0 {
            return Err(Exception::gp(0));
        }
        Ok(())
    }

    /// Whether a 16-byte memory operand of this instruction must be aligned.
    fn must_align(ins: &Instruction) -> bool {
        !matches!(ins.mnemonic(), M::Movups | M::Movupd | M::Movdqu)
    }

    /// Reads operand `n` as `bytes` bytes (4, 8 or 16) zero-extended: an XMM
    /// or MM register, a general register, or memory (16-byte operands
    /// aligned unless the instruction says otherwise).
    pub(super) fn sse_read(&mut self, ins: &Instruction, n: u32, bytes: u32) -> Fault<u128> {
        if ins.op_kind(n) == OpKind::Register {
            let r = ins.op_register(n);
            return Ok(if r.is_mm() {
                self.mm(r) as u128
            } else if r.is_xmm() {
                self.xmm(xmm_index(r))
            } else {
                self.get_reg(r) as u128
            });
        }
        let (seg, off) = self.ea(ins);
        match bytes {
            4 => Ok(self.read(seg, off, 4)? as u128),
            8 => Ok(self.read_u64(seg, off)? as u128),
            _ => {
                if Self::must_align(ins) {
                    self.check_aligned16(seg, off)?;
                }
                let mut b = [0u8; 16];
                self.read_bytes(seg, off, &mut b, 16)?;
                Ok(u128::from_le_bytes(b))
            }
        }
    }

    /// Writes `bytes` bytes of `v` to memory operand `n`.
    pub(super) fn sse_write_memory(&mut self, ins: &Instruction, bytes: u32, v: u128) -> Fault {
        let (seg, off) = self.ea(ins);
        if bytes == 16 && Self::must_align(ins) {
            self.check_aligned16(seg, off)?;
        }
        let b = v.to_le_bytes();
        self.write_bytes(seg, off, &b[..bytes as usize], bytes.min(8))
    }

    /// Writes the destination register of an SSE instruction: all 128 bits
    /// of an XMM register, an MM register, or a general register.
    pub(super) fn sse_write_reg(&mut self, r: Register, v: u128) {
        if r.is_mm() {
            self.set_mm(r, v as u64);
        } else if r.is_xmm() {
            self.set_xmm(xmm_index(r), v);
        } else {
            self.set_reg(r, v as u32);
        }
    }

    /// MOVAPS, MOVUPS, MOVAPD, MOVUPD, MOVDQA, MOVDQU: 16 bytes, either way.
    fn xmm_move(&mut self, ins: &Instruction) -> Fault {
        let v = self.sse_read(ins, 1, 16)?;
        if ins.op_kind(0) == OpKind::Register {
            self.sse_write_reg(ins.op0_register(), v);
            Ok(())
        } else {
            self.sse_write_memory(ins, 16, v)
        }
    }

    /// ANDPS/PD, ANDNPS/PD, ORPS/PD, XORPS/PD on all 128 bits.
    fn xmm_logic(&mut self, ins: &Instruction) -> Fault {
        let b = self.sse_read(ins, 1, 16)?;
        let i = xmm_index(ins.op0_register());
        let a = self.xmm(i);
        let r = match ins.mnemonic() {
            M::Andps | M::Andpd => a & b,
            M::Andnps | M::Andnpd => !a & b,
            M::Orps | M::Orpd => a | b,
            _ => a ^ b,
        };
        self.set_xmm(i, r);
        Ok(())
    }

    /// The size in bytes of the instruction's memory operand (4, 8 or 16).
    pub(super) fn sse_mem_bytes(ins: &Instruction) -> u32 {
        match ins.memory_size().size() {
            0..=4 => 4,
            5..=8 => 8,
            _ => 16,
        }
    }
}
