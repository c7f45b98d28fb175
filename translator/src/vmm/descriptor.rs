//! Segment and gate descriptors (SDM Vol. 3A 3.4.5 and 6.11): reading them from
//! the GDT or LDT with supervisor rights, decoding their fields, and setting the
//! accessed bit of a segment the processor loads.

use crate::cpu::Cpu;
use crate::exception::Fault;
use crate::state::{attr, Segment, Selector};

/// System descriptor types (S=0).
pub(crate) mod sys {
    pub const TSS16_AVAIL: u32 = 0x1;
    pub const LDT: u32 = 0x2;
    pub const TSS16_BUSY: u32 = 0x3;
    pub const CALL_GATE16: u32 = 0x4;
    pub const TASK_GATE: u32 = 0x5;
    pub const INT_GATE16: u32 = 0x6;
    pub const TRAP_GATE16: u32 = 0x7;
    pub const TSS32_AVAIL: u32 = 0x9;
    pub const TSS32_BUSY: u32 = 0xb;
    pub const CALL_GATE32: u32 = 0xc;
    pub const INT_GATE32: u32 = 0xe;
    pub const TRAP_GATE32: u32 = 0xf;
}

/// An 8-byte descriptor as two little-endian dwords.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub lo: u32,
    pub hi: u32,
}

impl Descriptor {
    pub fn base(&self) -> u32 {
        (self.lo >> 16) | (self.hi & 0xff) << 16 | (self.hi & 0xff00_0000)
    }
    /// The limit in bytes (scaled by G).
    pub fn limit(&self) -> u32 {
        let raw = (self.lo & 0xffff) | (self.hi & 0xf_0000);
        if self.hi & (1 << 23) != 0 {
            raw << 12 | 0xfff
        } else {
            raw
        }
    }
    /// Access rights in the layout of [`crate::state::attr`].
    pub fn attr(&self) -> u32 {
        (self.hi >> 8) & 0xf0ff
    }
    pub fn present(&self) -> bool {
        self.hi & (1 << 15) != 0
    }
    pub fn dpl(&self) -> u8 {
        ((self.hi >> 13) & 3) as u8
    }
    /// Code or data (S=1), as opposed to system.
    pub fn is_segment(&self) -> bool {
        self.hi & (1 << 12) != 0
    }
    /// The 4-bit type field.
    pub fn ty(&self) -> u32 {
        (self.hi >> 8) & 0xf
    }
    pub fn is_code(&self) -> bool {
        self.is_segment() && self.ty() & attr::CODE != 0
    }
    pub fn is_data(&self) -> bool {
        self.is_segment() && self.ty() & attr::CODE == 0
    }
    pub fn conforming(&self) -> bool {
        self.is_code() && self.ty() & attr::EXPAND_DOWN_CONFORMING != 0
    }
    /// Readable code or any data.
    pub fn readable(&self) -> bool {
        self.is_data() || (self.is_code() && self.ty() & attr::WRITABLE_READABLE != 0)
    }
    pub fn writable_data(&self) -> bool {
        self.is_data() && self.ty() & attr::WRITABLE_READABLE != 0
    }
    /// Gates: the target selector.
    pub fn gate_selector(&self) -> Selector {
        Selector((self.lo >> 16) as u16)
    }
    /// Gates: the target offset (16-bit gates ignore the high word).
    pub fn gate_offset(&self) -> u32 {
        if self.gate_is_32() {
            (self.lo & 0xffff) | (self.hi & 0xffff_0000)
        } else {
            self.lo & 0xffff
        }
    }
    /// Call gates: words or dwords to copy to the new stack.
    pub fn param_count(&self) -> u32 {
        self.hi & 0x1f
    }
    /// A 32-bit (386) gate or TSS, as opposed to a 16-bit (286) one.
    pub fn gate_is_32(&self) -> bool {
        self.ty() & 0x8 != 0
    }
    /// The segment-register cache this descriptor loads.
    pub fn to_segment(self, selector: Selector) -> Segment {
        Segment { selector: selector.0, base: self.base(), limit: self.limit(), attr: self.attr() }
    }
}

impl Cpu {
    /// Linear address of the descriptor `sel` names, if it lies within its table.
    pub(crate) fn descriptor_address(&self, sel: Selector) -> Option<u32> {
        let (base, limit) = if sel.is_ldt() {
            let l = &self.state.ldtr;
            if l.unusable() || l.selector & !3 == 0 {
                return None;
            }
            (l.base, l.limit)
        } else {
            (self.state.gdtr.base, self.state.gdtr.limit as u32)
        };
        (sel.offset() + 7 <= limit).then(|| base.wrapping_add(sel.offset()))
    }

    /// Reads the descriptor `sel` names, or `None` if it lies outside its table.
    /// A fault reading the table itself (a page fault) is returned as such.
    pub(crate) fn read_descriptor(&mut self, sel: Selector) -> Fault<Option<Descriptor>> {
        let Some(addr) = self.descriptor_address(sel) else {
            return Ok(None);
        };
        let lo = self.read_sys(addr, 4)?;
        let hi = self.read_sys(addr.wrapping_add(4), 4)?;
        Ok(Some(Descriptor { lo, hi }))
    }

    /// Sets the accessed bit of a code or data descriptor the CPU has loaded.
    pub(crate) fn set_accessed(&mut self, sel: Selector, desc: &Descriptor) -> Fault {
        if desc.hi & (1 << 8) != 0 {
            return Ok(());
        }
        let Some(addr) = self.descriptor_address(sel) else {
            return Ok(());
        };
        self.write_sys(addr.wrapping_add(5), 1, (desc.hi >> 8 | 1) & 0xff)
    }

    /// Rewrites a descriptor's type byte (busy bits of TSS descriptors).
    pub(crate) fn write_descriptor_type(&mut self, sel: Selector, type_byte: u32) -> Fault {
        if let Some(addr) = self.descriptor_address(sel) {
            self.write_sys(addr.wrapping_add(5), 1, type_byte & 0xff)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_a_flat_code_descriptor() {
        // base 0, limit 0xfffff, G=1 D=1, P DPL0 code readable accessed
        let d = Descriptor { lo: 0x0000_ffff, hi: 0x00cf_9b00 };
        assert_eq!(d.base(), 0);
        assert_eq!(d.limit(), 0xffff_ffff);
        assert!(d.is_code() && d.readable() && d.present() && !d.conforming());
        assert_eq!(d.attr(), 0xc09b);
        // base 0x12345678, limit 0x1234 byte granular, data DPL3 writable
        let d = Descriptor { lo: 0x5678_1234, hi: 0x1200_f234 };
        assert_eq!(d.base(), 0x1234_5678);
        assert_eq!(d.limit(), 0x1234);
        assert_eq!(d.dpl(), 3);
        assert!(d.writable_data());
    }

    #[test]
    fn gate_fields() {
        // 32-bit call gate to 0x0008:0x12345678 with 3 parameters, DPL 3
        let d = Descriptor { lo: 0x0008_5678, hi: 0x1234_ec03 };
        assert_eq!(d.ty(), sys::CALL_GATE32);
        assert_eq!(d.gate_selector(), Selector(8));
        assert_eq!(d.gate_offset(), 0x1234_5678);
        assert_eq!(d.param_count(), 3);
        // The same as a 16-bit gate: the high offset word is ignored.
        let d = Descriptor { lo: 0x0008_5678, hi: 0x1234_e403 };
        assert_eq!(d.gate_offset(), 0x5678);
    }
}
