//! Decimal adjust: DAA DAS AAA AAS AAM AAD (SDM Vol. 2 pages of each, whose
//! pseudo-code this follows). Only the flags each page defines are meaningful;
//! the undefined ones get what QEMU gives them, so that differential traces
//! agree: DAA/DAS clear OF, AAA/AAS keep OF SF ZF PF, AAM/AAD clear OF AF CF.

use iced_x86::{Instruction, Mnemonic};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::flags::flag_if;
use crate::state::{fl, reg};

fn szp8(v: u8) -> u32 {
    let mut f = 0;
    if v == 0 {
        f |= fl::ZF;
    }
    if v & 0x80 != 0 {
        f |= fl::SF;
    }
    if v.count_ones() % 2 == 0 {
        f |= fl::PF;
    }
    f
}

impl Cpu {
    pub(super) fn daa_das(&mut self, ins: &Instruction) -> Fault {
        let flags = self.state.flags.get();
        let old_al = self.state.reg8(0);
        let old_cf = flags & fl::CF != 0;
        let mut al = old_al;
        let mut cf = false;
        let mut af = false;
        let add = ins.mnemonic() == Mnemonic::Daa;
        if old_al & 0x0f > 9 || flags & fl::AF != 0 {
            if add {
                let (v, carry) = al.overflowing_add(6);
                al = v;
                cf = old_cf || carry;
            } else {
                let (v, borrow) = al.overflowing_sub(6);
                al = v;
                cf = old_cf || borrow;
            }
            af = true;
        }
        if old_al > 0x99 || old_cf {
            al = if add { al.wrapping_add(0x60) } else { al.wrapping_sub(0x60) };
            cf = true;
        }
        self.state.set_reg8(0, al);
        // OF is undefined; it is cleared (as QEMU does).
        let f = szp8(al) | flag_if(cf, fl::CF) | flag_if(af, fl::AF);
        self.state.flags.set_arith(fl::ARITH, f);
        Ok(())
    }

    pub(super) fn aaa_aas(&mut self, ins: &Instruction) -> Fault {
        let flags = self.state.flags.get();
        let mut ax = self.state.regs[reg::EAX] as u16;
        let adjust = ax & 0x0f > 9 || flags & fl::AF != 0;
        if adjust {
            if ins.mnemonic() == Mnemonic::Aaa {
                ax = ax.wrapping_add(0x106);
            } else {
                // AX - 6 (a borrow reaches AH), then AH - 1.
                ax = ax.wrapping_sub(6).wrapping_sub(0x100);
            }
        }
        ax &= 0xff0f;
        self.state.set_reg16(reg::EAX, ax);
        // Only AF and CF are defined; the others keep their values (as QEMU does).
        let f = if adjust { fl::AF | fl::CF } else { 0 };
        self.state.flags.set_arith(fl::AF | fl::CF, f);
        Ok(())
    }

    pub(super) fn aam(&mut self, ins: &Instruction) -> Fault {
        let base = ins.immediate8();
        if base == 0 {
            return Err(Exception::de());
        }
        let al = self.state.reg8(0);
        let (ah, al) = (al / base, al % base);
        self.state.set_reg16(reg::EAX, (ah as u16) << 8 | al as u16);
        self.state.flags.set_arith(fl::ARITH, szp8(al));
        Ok(())
    }

    pub(super) fn aad(&mut self, ins: &Instruction) -> Fault {
        let base = ins.immediate8();
        let (al, ah) = (self.state.reg8(0), self.state.reg8(4));
        let r = al.wrapping_add(ah.wrapping_mul(base));
        self.state.set_reg16(reg::EAX, r as u16);
        self.state.flags.set_arith(fl::ARITH, szp8(r));
        Ok(())
    }
}
