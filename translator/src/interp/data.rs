//! Data movement: MOV (general, segment, control and debug registers), MOVZX,
//! MOVSX, XCHG, LEA, XLAT, LAHF, SAHF, CBW/CWDE/CWD/CDQ, BSWAP, SALC, CMOVcc,
//! SETcc, and the flag instructions CLC STC CMC CLD STD.

use iced_x86::{ConditionCode, Instruction, Mnemonic, OpKind, Register};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::interp::{mask, reg_size, seg_of, sext, Loc};
use crate::state::{fl, reg};

/// The condition nibble (as in Jcc's opcode) of an iced condition code.
pub(crate) fn cc_nibble(cc: ConditionCode) -> u8 {
    match cc {
        ConditionCode::o => 0x0,
        ConditionCode::no => 0x1,
        ConditionCode::b => 0x2,
        ConditionCode::ae => 0x3,
        ConditionCode::e => 0x4,
        ConditionCode::ne => 0x5,
        ConditionCode::be => 0x6,
        ConditionCode::a => 0x7,
        ConditionCode::s => 0x8,
        ConditionCode::ns => 0x9,
        ConditionCode::p => 0xa,
        ConditionCode::np => 0xb,
        ConditionCode::l => 0xc,
        ConditionCode::ge => 0xd,
        ConditionCode::le => 0xe,
        _ => 0xf,
    }
}

impl Cpu {
    pub(super) fn mov(&mut self, ins: &Instruction) -> Fault {
        if ins.op0_kind() == OpKind::Register {
            let r = ins.op0_register();
            if r.is_segment_register() {
                if r == Register::CS {
                    return Err(Exception::ud());
                }
                let sel = self.read_op(ins, 1)? as u16;
                return self.load_segment_insn(seg_of(r), sel);
            }
            if r.is_cr() || r.is_dr() || r.is_tr() {
                return self.mov_to_control(ins);
            }
        }
        if ins.op1_kind() == OpKind::Register {
            let r = ins.op1_register();
            if r.is_segment_register() {
                let sel = self.state.segs[seg_of(r) as usize].selector as u32;
                return match self.loc(ins, 0) {
                    // A 32-bit register gets the selector zero-extended (P6 and later).
                    Loc::Reg(d) => {
                        self.set_reg(d, sel);
                        Ok(())
                    }
                    Loc::Mem(s, o) => self.write(s, o, 2, sel),
                };
            }
            if r.is_cr() || r.is_dr() || r.is_tr() {
                return self.mov_from_control(ins);
            }
        }
        let size = Self::op_size(ins, 0);
        let v = self.read_op(ins, 1)?;
        let dst = self.loc(ins, 0);
        self.write_loc(dst, size, v & mask(size))
    }

    pub(super) fn movzx_movsx(&mut self, ins: &Instruction) -> Fault {
        let src_size = Self::op_size(ins, 1);
        let v = self.read_op(ins, 1)? & mask(src_size);
        let v = if ins.mnemonic() == Mnemonic::Movsx { sext(v, src_size) } else { v };
        self.set_reg(ins.op0_register(), v);
        Ok(())
    }

    pub(super) fn xchg(&mut self, ins: &Instruction) -> Fault {
        let size = Self::op_size(ins, 0);
        let a = self.loc(ins, 0);
        let b = self.loc(ins, 1);
        let va = self.read_loc_rmw(a, size)?;
        let vb = self.read_loc_rmw(b, size)?;
        // Memory first: it is the only side that can fault.
        if let Loc::Mem(..) = a {
            self.write_loc(a, size, vb)?;
            self.write_loc(b, size, va)
        } else {
            self.write_loc(b, size, va)?;
            self.write_loc(a, size, vb)
        }
    }

    pub(super) fn lea(&mut self, ins: &Instruction) -> Fault {
        let v = self.ea_offset(ins);
        self.set_reg(ins.op0_register(), v);
        Ok(())
    }

    pub(super) fn xlat(&mut self, ins: &Instruction) -> Fault {
        let a16 = reg_size(ins.memory_base()) == 2;
        let base = self.get_reg(ins.memory_base());
        let off = base.wrapping_add(self.state.reg8(0) as u32);
        let off = if a16 { off & 0xffff } else { off };
        let v = self.read(seg_of(ins.memory_segment()), off, 1)?;
        self.state.set_reg8(0, v as u8);
        Ok(())
    }

    pub(super) fn lahf(&mut self) -> Fault {
        let f = self.state.flags.get();
        self.state.set_reg8(4, (f & 0xd5 | 2) as u8);
        Ok(())
    }

    pub(super) fn sahf(&mut self) -> Fault {
        let ah = self.state.reg8(4) as u32;
        let m = fl::SF | fl::ZF | fl::AF | fl::PF | fl::CF;
        self.state.flags.set_arith(m, ah);
        Ok(())
    }

    pub(super) fn convert(&mut self, ins: &Instruction) -> Fault {
        let s = &mut self.state;
        match ins.mnemonic() {
            Mnemonic::Cbw => s.set_reg16(reg::EAX, s.reg8(0) as i8 as i16 as u16),
            Mnemonic::Cwde => s.regs[reg::EAX] = s.regs[reg::EAX] as u16 as i16 as i32 as u32,
            Mnemonic::Cwd => {
                let hi = if s.regs[reg::EAX] & 0x8000 != 0 { 0xffff } else { 0 };
                s.set_reg16(reg::EDX, hi);
            }
            _ => s.regs[reg::EDX] = ((s.regs[reg::EAX] as i32) >> 31) as u32,
        }
        Ok(())
    }

    pub(super) fn bswap(&mut self, ins: &Instruction) -> Fault {
        let r = ins.op0_register();
        // With a 16-bit operand the result is undefined; vemu clears the word.
        let v = if reg_size(r) == 4 { self.get_reg(r).swap_bytes() } else { 0 };
        self.set_reg(r, v);
        Ok(())
    }

    /// SALC (undocumented D6): AL = CF ? 0xFF : 0.
    pub(super) fn salc(&mut self) -> Fault {
        let v = if self.state.flags.cf() { 0xff } else { 0 };
        self.state.set_reg8(0, v);
        Ok(())
    }

    pub(super) fn flag_op(&mut self, ins: &Instruction) -> Fault {
        let f = &mut self.state.flags;
        match ins.mnemonic() {
            Mnemonic::Clc => f.set_flag(fl::CF, false),
            Mnemonic::Stc => f.set_flag(fl::CF, true),
            Mnemonic::Cmc => {
                let cf = f.cf();
                f.set_flag(fl::CF, !cf);
            }
            Mnemonic::Cld => f.bits &= !fl::DF,
            _ => f.bits |= fl::DF,
        }
        Ok(())
    }

    pub(super) fn cmov(&mut self, ins: &Instruction) -> Fault {
        self.require(crate::cpuid::feature::CMOV)?;
        // The source is read (and may fault) whatever the condition.
        let v = self.read_op(ins, 1)?;
        if self.state.flags.condition(cc_nibble(ins.condition_code())) {
            self.set_reg(ins.op0_register(), v);
        }
        Ok(())
    }

    pub(super) fn setcc(&mut self, ins: &Instruction) -> Fault {
        let v = self.state.flags.condition(cc_nibble(ins.condition_code())) as u32;
        let dst = self.loc(ins, 0);
        self.write_loc(dst, 1, v)
    }
}
