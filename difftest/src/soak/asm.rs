//! A small x86 machine-code writer for the soak's generated guests: bytes,
//! immediates, and ModRM memory operands in 16- or 32-bit code, with the
//! operand- and address-size prefixes tracked. It encodes only the forms the
//! generator uses, and knows nothing about what they mean.

/// Code being written for one mode (16- or 32-bit default sizes).
pub struct Asm {
    pub bytes: Vec<u8>,
    /// 16 or 32: the code segment's default operand and address size.
    pub bits: u32,
    /// The linear address of `bytes[0]` when the code runs.
    pub origin: u32,
    /// The offset the code's CS gives `bytes[0]` (the origin minus CS.base).
    pub cs_offset: u32,
}

/// General registers by their encoding number.
pub mod r {
    pub const EAX: u8 = 0;
    pub const ECX: u8 = 1;
    pub const EDX: u8 = 2;
    pub const EBX: u8 = 3;
    pub const ESP: u8 = 4;
    pub const EBP: u8 = 5;
    pub const ESI: u8 = 6;
    pub const EDI: u8 = 7;
}

impl Asm {
    pub fn new(bits: u32, origin: u32, cs_offset: u32) -> Asm {
        Asm { bytes: Vec::new(), bits, origin, cs_offset }
    }

    pub fn b(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    pub fn bs(&mut self, v: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(v);
        self
    }

    pub fn w(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn d(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// An immediate of `size` bytes.
    pub fn imm(&mut self, size: u32, v: u32) -> &mut Self {
        match size {
            1 => self.b(v as u8),
            2 => self.w(v as u16),
            _ => self.d(v),
        }
    }

    /// The CS offset of the next byte written.
    pub fn here(&self) -> u32 {
        self.cs_offset.wrapping_add(self.bytes.len() as u32)
    }

    /// The linear address of the next byte written.
    pub fn here_linear(&self) -> u32 {
        self.origin.wrapping_add(self.bytes.len() as u32)
    }

    /// An operand-size prefix if `size` (2 or 4) is not the default.
    pub fn osize(&mut self, size: u32) -> &mut Self {
        if (size == 2) != (self.bits == 16) {
            self.b(0x66);
        }
        self
    }

    /// `MOV reg, imm` at operand size `size` (1, 2 or 4).
    pub fn mov_imm(&mut self, reg: u8, size: u32, v: u32) -> &mut Self {
        if size == 1 {
            return self.b(0xb0 + (reg & 7)).b(v as u8);
        }
        self.osize(size).b(0xb8 + (reg & 7)).imm(size, v)
    }

    /// A ModRM byte for a register operand.
    pub fn modrm_reg(&mut self, reg_field: u8, rm: u8) -> &mut Self {
        self.b(0xc0 | (reg_field & 7) << 3 | (rm & 7))
    }

    /// A ModRM memory operand `[offset]` (absolute) with the address size
    /// `addr` (16 or 32; a prefix is the caller's, see `asize`).
    pub fn modrm_abs(&mut self, reg_field: u8, addr: u32, offset: u32) -> &mut Self {
        if addr == 16 {
            self.b((reg_field & 7) << 3 | 6).w(offset as u16)
        } else {
            self.b((reg_field & 7) << 3 | 5).d(offset)
        }
    }

    /// A ModRM memory operand `[base + disp8]` through a base register (32-bit
    /// addressing: any register but ESP and EBP; 16-bit: BX, SI, DI as 7, 4, 5).
    pub fn modrm_base(&mut self, reg_field: u8, addr: u32, base: u8, disp: u8) -> &mut Self {
        let rm = if addr == 16 {
            match base {
                r::ESI => 4,
                r::EDI => 5,
                _ => 7,
            }
        } else {
            match base {
                r::ESP | r::EBP => r::EBX,
                b => b,
            }
        };
        self.b(0x40 | (reg_field & 7) << 3 | rm).b(disp)
    }

    /// An address-size prefix for `addr` (16 or 32) if it is not the default;
    /// returns `addr`.
    pub fn asize(&mut self, addr: u32) -> u32 {
        if addr != self.bits {
            self.b(0x67);
        }
        addr
    }

    /// `Jcc rel` (near, 16/32 by the code size) to the CS offset `target`.
    pub fn jcc_to(&mut self, cc: u8, target: u32) -> &mut Self {
        self.b(0x0f).b(0x80 | (cc & 15));
        let len = if self.bits == 16 { 2 } else { 4 };
        let next = self.here().wrapping_add(len);
        self.imm(len, target.wrapping_sub(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let mut a = Asm::new(32, 0x1000, 0x1000);
        a.mov_imm(r::EAX, 4, 0x1234_5678).mov_imm(r::ECX, 2, 0xbeef);
        assert_eq!(a.bytes, [0xb8, 0x78, 0x56, 0x34, 0x12, 0x66, 0xb9, 0xef, 0xbe]);
        let mut a = Asm::new(16, 0x2000, 0);
        a.modrm_abs(3, 16, 0x1234);
        let addr = a.asize(32);
        a.modrm_abs(0, addr, 0x10);
        assert_eq!(a.bytes, [0x1e, 0x34, 0x12, 0x67, 0x05, 0x10, 0, 0, 0]);
        let mut a = Asm::new(32, 0, 0x100);
        a.jcc_to(5, 0x100);
        assert_eq!(a.bytes, [0x0f, 0x85, 0xfa, 0xff, 0xff, 0xff], "jnz to itself");
    }
}
