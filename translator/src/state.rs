//! The architectural state of an i386/Pentium-class CPU, and its reset values.
//!
//! Everything the guest can observe lives here: general registers, EIP, EFLAGS
//! (kept lazily, see [`crate::flags`]), segment registers with their hidden
//! descriptor caches, the system table registers, control and debug registers,
//! the MSRs of a Pentium-class CPU, and the virtual CPL the VMM layer tracks.
//! The layout is `#[repr(C)]` so that generated code can address fields directly.
//! This module holds data and small accessors; behaviour lives in the interpreter
//! and the VMM layer.

use crate::f80::F80;
use crate::flags::Flags;

/// Indices into [`CpuState::regs`], in x86 encoding order.
pub mod reg {
    pub const EAX: usize = 0;
    pub const ECX: usize = 1;
    pub const EDX: usize = 2;
    pub const EBX: usize = 3;
    pub const ESP: usize = 4;
    pub const EBP: usize = 5;
    pub const ESI: usize = 6;
    pub const EDI: usize = 7;
}

/// Segment registers, in x86 encoding order (indices into [`CpuState::segs`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Seg {
    ES = 0,
    CS = 1,
    SS = 2,
    DS = 3,
    FS = 4,
    GS = 5,
}

impl Seg {
    pub const ALL: [Seg; 6] = [Seg::ES, Seg::CS, Seg::SS, Seg::DS, Seg::FS, Seg::GS];

    pub fn name(self) -> &'static str {
        ["ES", "CS", "SS", "DS", "FS", "GS"][self as usize]
    }
}

/// A segment selector: index, table indicator, requested privilege level.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector(pub u16);

impl Selector {
    pub fn rpl(self) -> u8 {
        (self.0 & 3) as u8
    }
    /// Refers to the LDT (TI=1).
    pub fn is_ldt(self) -> bool {
        self.0 & 4 != 0
    }
    /// Index * 8: the descriptor's offset in its table.
    pub fn offset(self) -> u32 {
        (self.0 & !7) as u32
    }
    /// A null selector (index 0 in the GDT, any RPL).
    pub fn is_null(self) -> bool {
        self.0 & !3 == 0
    }
    /// The error code exceptions about this selector push.
    pub fn error_code(self) -> u32 {
        (self.0 & !3) as u32
    }
}

/// Access-rights bits of a segment cache (the layout of descriptor bytes 5-6:
/// type, S, DPL, P in bits 0-7; AVL, L, D/B, G in bits 12-15), plus `UNUSABLE`.
pub mod attr {
    pub const TYPE_MASK: u32 = 0x0f;
    /// Data: accessed. Code: accessed.
    pub const ACCESSED: u32 = 0x01;
    /// Data: writable. Code: readable.
    pub const WRITABLE_READABLE: u32 = 0x02;
    /// Data: expand-down. Code: conforming.
    pub const EXPAND_DOWN_CONFORMING: u32 = 0x04;
    /// Code (vs data), for S=1 descriptors.
    pub const CODE: u32 = 0x08;
    /// Code or data (vs system) descriptor.
    pub const S: u32 = 0x10;
    pub const DPL_SHIFT: u32 = 5;
    pub const PRESENT: u32 = 0x80;
    pub const AVL: u32 = 0x1000;
    /// D/B: 32-bit code segment, 32-bit stack, or expand-down up to 4 GiB.
    pub const DB: u32 = 0x4000;
    pub const G: u32 = 0x8000;
    /// Loaded with a null selector in protected mode: any use faults.
    pub const UNUSABLE: u32 = 0x1_0000;
}

/// A segment register: the visible selector and the hidden descriptor cache.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub base: u32,
    /// Limit in bytes (already scaled by the G bit).
    pub limit: u32,
    /// See [`attr`].
    pub attr: u32,
}

impl Segment {
    /// A real-mode style segment: base = selector * 16, 64 KiB, read/write data
    /// (or code), present, DPL `dpl`.
    pub fn real(selector: u16, code: bool, dpl: u32) -> Segment {
        let ty = if code { attr::CODE | attr::WRITABLE_READABLE } else { attr::WRITABLE_READABLE };
        Segment {
            selector,
            base: (selector as u32) << 4,
            limit: 0xffff,
            attr: ty | attr::ACCESSED | attr::S | attr::PRESENT | (dpl << attr::DPL_SHIFT),
        }
    }

    pub fn dpl(&self) -> u8 {
        ((self.attr >> attr::DPL_SHIFT) & 3) as u8
    }
    /// D/B bit: 32-bit default operand size (code) or stack (SS).
    pub fn big(&self) -> bool {
        self.attr & attr::DB != 0
    }
    pub fn is_code(&self) -> bool {
        self.attr & (attr::S | attr::CODE) == attr::S | attr::CODE
    }
    pub fn unusable(&self) -> bool {
        self.attr & attr::UNUSABLE != 0
    }
}

/// GDTR or IDTR.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TableReg {
    pub base: u32,
    pub limit: u16,
}

/// CR0 bits.
pub mod cr0 {
    pub const PE: u32 = 1 << 0;
    pub const MP: u32 = 1 << 1;
    pub const EM: u32 = 1 << 2;
    pub const TS: u32 = 1 << 3;
    pub const ET: u32 = 1 << 4;
    pub const NE: u32 = 1 << 5;
    pub const WP: u32 = 1 << 16;
    pub const AM: u32 = 1 << 18;
    pub const NW: u32 = 1 << 29;
    pub const CD: u32 = 1 << 30;
    pub const PG: u32 = 1 << 31;
    /// Bits software can change.
    pub const WRITABLE: u32 = PE | MP | EM | TS | NE | WP | AM | NW | CD | PG;
}

/// CR4 bits vemu implements (VME, PVI and later ones are absent).
pub mod cr4 {
    pub const TSD: u32 = 1 << 2;
    pub const DE: u32 = 1 << 3;
    pub const PSE: u32 = 1 << 4;
    /// PAE paging (with CR0.PG): 64-bit entries, four PDPTEs.
    pub const PAE: u32 = 1 << 5;
    pub const PGE: u32 = 1 << 7;
    /// FXSAVE and FXRSTOR include the SSE state (and SSE instructions exist).
    pub const OSFXSR: u32 = 1 << 9;
    /// Unmasked SIMD floating-point exceptions raise #XM (else #UD).
    pub const OSXMMEXCPT: u32 = 1 << 10;
}

/// EFLAGS bits.
pub mod fl {
    pub const CF: u32 = 1 << 0;
    pub const FIXED1: u32 = 1 << 1;
    pub const PF: u32 = 1 << 2;
    pub const AF: u32 = 1 << 4;
    pub const ZF: u32 = 1 << 6;
    pub const SF: u32 = 1 << 7;
    pub const TF: u32 = 1 << 8;
    pub const IF: u32 = 1 << 9;
    pub const DF: u32 = 1 << 10;
    pub const OF: u32 = 1 << 11;
    pub const IOPL: u32 = 3 << 12;
    pub const IOPL_SHIFT: u32 = 12;
    pub const NT: u32 = 1 << 14;
    pub const RF: u32 = 1 << 16;
    pub const VM: u32 = 1 << 17;
    pub const AC: u32 = 1 << 18;
    pub const ID: u32 = 1 << 21;
    /// The six arithmetic flags.
    pub const ARITH: u32 = CF | PF | AF | ZF | SF | OF;
    /// Every bit a Pentium-class CPU implements (VIF/VIP need VME, which vemu lacks).
    pub const IMPLEMENTED: u32 = ARITH | TF | IF | DF | IOPL | NT | RF | VM | AC | ID;
}

/// Model-specific registers of a Pentium-class CPU.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Msrs {
    pub sysenter_cs: u32,
    pub sysenter_esp: u32,
    pub sysenter_eip: u32,
    /// IA32_EFER (only NXE exists on these processors).
    pub efer: u64,
    /// IA32_MISC_ENABLE (P6 and later).
    pub misc_enable: u64,
}

pub mod msr {
    pub const TSC: u32 = 0x10;
    /// The local APIC's MSRs, which the bus's APIC keeps.
    pub const APIC_BASE: u32 = 0x1b;
    pub const TSC_DEADLINE: u32 = 0x6e0;
    pub const SYSENTER_CS: u32 = 0x174;
    pub const SYSENTER_ESP: u32 = 0x175;
    pub const SYSENTER_EIP: u32 = 0x176;
    /// IA32_EFER: on a 32-bit processor with execute-disable, only NXE.
    pub const EFER: u32 = 0xc000_0080;
    /// IA32_BIOS_SIGN_ID: the loaded microcode's revision (EDX) after a
    /// write and a CPUID; written to start that.
    pub const BIOS_SIGN_ID: u32 = 0x8b;
    /// IA32_MISC_ENABLE.
    pub const MISC_ENABLE: u32 = 0x1a0;
    /// The microcode revision vemu reports, in BIOS_SIGN_ID's high half
    /// (QEMU's TCG reports 1 too).
    pub const MICROCODE_REVISION: u64 = 1 << 32;
}

/// IA32_MISC_ENABLE bits.
pub mod misc_enable {
    /// Fast string operations enabled (the reset value, as on hardware).
    pub const FAST_STRINGS: u64 = 1 << 0;
    /// Branch trace storage unavailable (read-only).
    pub const BTS_UNAVAILABLE: u64 = 1 << 11;
    /// Precise event-based sampling unavailable (read-only).
    pub const PEBS_UNAVAILABLE: u64 = 1 << 12;
    /// Execute-disable turned off: CPUID hides NX.
    pub const XD_DISABLE: u64 = 1 << 34;
    /// After reset.
    pub const RESET: u64 = FAST_STRINGS | BTS_UNAVAILABLE | PEBS_UNAVAILABLE;
    pub const READ_ONLY: u64 = BTS_UNAVAILABLE | PEBS_UNAVAILABLE;
}

/// IA32_EFER bits.
pub mod efer {
    /// Execute-disable: XD in PAE paging entries forbids instruction fetches.
    pub const NXE: u64 = 1 << 11;
}

/// DR6 and DR7 fixed bits (Pentium layout).
pub mod dr {
    pub const DR6_FIXED1: u32 = 0xffff_0ff0;
    pub const DR6_BS: u32 = 1 << 14;
    pub const DR6_BT: u32 = 1 << 15;
    pub const DR6_BD: u32 = 1 << 13;
    pub const DR7_FIXED1: u32 = 0x0000_0400;
    pub const DR7_GD: u32 = 1 << 13;
}

/// The guest-visible CPU state.
#[repr(C)]
#[derive(Clone, Debug)]
pub struct CpuState {
    /// EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI.
    pub regs: [u32; 8],
    pub eip: u32,
    pub flags: Flags,
    pub segs: [Segment; 6],
    pub ldtr: Segment,
    pub tr: Segment,
    pub gdtr: TableReg,
    pub idtr: TableReg,
    pub cr0: u32,
    pub cr2: u32,
    pub cr3: u32,
    pub cr4: u32,
    /// The PDPTEs PAE paging walks from: loaded from the table CR3 points at
    /// when CR3 or the paging controls are written with PAE paging on (SDM
    /// Vol. 3A 4.4.1), not read from memory on each walk.
    pub pdptes: [u64; 4],
    /// DR0-DR7 (DR4/DR5 are aliases of DR6/DR7 and are not stored apart).
    pub dr: [u32; 8],
    /// The virtual current privilege level (invariant 3).
    pub cpl: u8,
    /// Halted by HLT until an interrupt arrives.
    pub halted: bool,
    /// Interrupts (and debug traps) are held off for one instruction, after STI
    /// or a load of SS.
    pub inhibit_interrupts: bool,
    /// An NMI is waiting to be delivered.
    pub nmi_pending: bool,
    /// An NMI handler runs: further NMIs wait for its IRET.
    pub nmi_blocked: bool,
    pub msr: Msrs,
    /// Value added to the virtual clock to give the time-stamp counter.
    pub tsc_offset: u64,
    pub fpu: Fpu,
}

/// Bits of the x87 status word.
pub mod fsw {
    /// The six exception flags (as `f80::exc`).
    pub const EXCEPTIONS: u16 = 0x3f;
    /// Stack fault: the invalid operation was a stack overflow or underflow.
    pub const SF: u16 = 1 << 6;
    /// Error summary: an unmasked exception is pending.
    pub const ES: u16 = 1 << 7;
    pub const C0: u16 = 1 << 8;
    pub const C1: u16 = 1 << 9;
    pub const C2: u16 = 1 << 10;
    pub const TOP_SHIFT: u16 = 11;
    pub const C3: u16 = 1 << 14;
    /// Busy: mirrors ES.
    pub const B: u16 = 1 << 15;
    pub const CONDITION: u16 = C0 | C1 | C2 | C3;
}

/// The x87 FPU's state (SDM Vol. 1 8.1).
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fpu {
    /// The physical registers R0-R7; ST(i) is R((TOP + i) mod 8).
    pub regs: [F80; 8],
    /// Control word.
    pub cw: u16,
    /// Status word with TOP (bits 11-13) kept apart in `top`.
    pub sw: u16,
    pub top: u8,
    /// The abridged tag word (as FXSAVE stores it): bit i set when Ri holds a
    /// value. The full tag word is computed from the contents when stored.
    pub valid: u8,
    /// Last instruction opcode (11 bits), instruction and data pointers.
    pub fop: u16,
    pub fcs: u16,
    pub fip: u32,
    pub fds: u16,
    pub fdp: u32,
    /// SSE control and status (FXSAVE keeps it beside the x87 state).
    pub mxcsr: u32,
    /// XMM0-XMM7.
    pub xmm: [u128; 8],
}

impl Fpu {
    /// The state at power-on (SDM Vol. 3A table 9-1): control word 0040H,
    /// every register +0.0 and tagged valid.
    pub fn reset() -> Fpu {
        Fpu { cw: 0x0040, valid: 0xff, ..Fpu::initialized() }
    }

    /// The state FNINIT leaves: control word 037FH, the stack empty.
    pub fn initialized() -> Fpu {
        Fpu {
            regs: [F80::ZERO; 8],
            cw: 0x037f,
            sw: 0,
            top: 0,
            valid: 0,
            fop: 0,
            fcs: 0,
            fip: 0,
            fds: 0,
            fdp: 0,
            mxcsr: 0x1f80,
            xmm: [0; 8],
        }
    }

    /// FNINIT: the x87 part back to its initialized state; the register
    /// contents and the SSE state stay.
    pub fn finit(&mut self) {
        *self = Fpu { regs: self.regs, mxcsr: self.mxcsr, xmm: self.xmm, ..Fpu::initialized() };
    }

    /// The status word as FNSTSW stores it.
    pub fn status(&self) -> u16 {
        self.sw & !(7 << fsw::TOP_SHIFT) | (self.top as u16 & 7) << fsw::TOP_SHIFT
    }

    /// The full tag word (2 bits a register: valid 0, zero 1, special 2, empty 3).
    pub fn tag_word(&self) -> u16 {
        let mut tw = 0;
        for i in 0..8 {
            let tag = if self.valid & 1 << i == 0 {
                3
            } else {
                use crate::f80::Class;
                match self.regs[i].class() {
                    Class::Normal => 0,
                    Class::Zero => 1,
                    _ => 2,
                }
            };
            tw |= tag << (2 * i);
        }
        tw
    }
}

impl Default for CpuState {
    fn default() -> Self {
        Self::reset()
    }
}

impl CpuState {
    /// The state after RESET (SDM Vol. 3A 9.1.1, table 9-1), with the
    /// default model's signature in EDX ([`crate::Cpu`] puts its own model's).
    pub fn reset() -> CpuState {
        let mut segs = [Segment::real(0, false, 0); 6];
        segs[Seg::CS as usize] = Segment { base: 0xffff_0000, ..Segment::real(0xf000, true, 0) };
        let mut regs = [0; 8];
        regs[reg::EDX] = crate::cpuid::CpuModel::default().signature();
        let system = |ty: u32| Segment { selector: 0, base: 0, limit: 0xffff, attr: attr::PRESENT | ty };
        CpuState {
            regs,
            eip: 0xfff0,
            flags: Flags::new(fl::FIXED1),
            segs,
            ldtr: system(0x2),
            tr: system(0xb),
            gdtr: TableReg { base: 0, limit: 0xffff },
            idtr: TableReg { base: 0, limit: 0xffff },
            cr0: cr0::CD | cr0::NW | cr0::ET,
            cr2: 0,
            cr3: 0,
            cr4: 0,
            pdptes: [0; 4],
            dr: [0, 0, 0, 0, 0, 0, dr::DR6_FIXED1, dr::DR7_FIXED1],
            cpl: 0,
            halted: false,
            inhibit_interrupts: false,
            nmi_pending: false,
            nmi_blocked: false,
            msr: Msrs { misc_enable: misc_enable::RESET, ..Msrs::default() },
            tsc_offset: 0,
            fpu: Fpu::reset(),
        }
    }

    #[inline]
    pub fn seg(&self, s: Seg) -> &Segment {
        &self.segs[s as usize]
    }

    #[inline]
    pub fn seg_mut(&mut self, s: Seg) -> &mut Segment {
        &mut self.segs[s as usize]
    }

    pub fn protected_mode(&self) -> bool {
        self.cr0 & cr0::PE != 0
    }

    pub fn v86_mode(&self) -> bool {
        self.flags.bits & fl::VM != 0
    }

    pub fn paging(&self) -> bool {
        self.cr0 & cr0::PG != 0
    }

    pub fn iopl(&self) -> u8 {
        ((self.flags.bits >> fl::IOPL_SHIFT) & 3) as u8
    }

    /// EFLAGS as the guest sees it.
    pub fn eflags(&self) -> u32 {
        self.flags.get()
    }

    /// 16 or 32: the default operand size of the code segment. Real mode uses
    /// the cached D bit too: after CR0.PE is cleared the descriptor caches stay in
    /// force until the registers are reloaded (SDM Vol. 3A 9.9.2).
    pub fn code_bitness(&self) -> u32 {
        if !self.v86_mode() && self.seg(Seg::CS).big() {
            32
        } else {
            16
        }
    }

    /// The stack uses ESP (true) or SP, by the cached B bit of SS.
    pub fn stack32(&self) -> bool {
        !self.v86_mode() && self.seg(Seg::SS).big()
    }

    /// Low 8 bits of register `r` (AL..BL for 0..3, AH..BH for 4..7).
    #[inline]
    pub fn reg8(&self, r: usize) -> u8 {
        if r < 4 {
            self.regs[r] as u8
        } else {
            (self.regs[r - 4] >> 8) as u8
        }
    }

    #[inline]
    pub fn set_reg8(&mut self, r: usize, v: u8) {
        if r < 4 {
            self.regs[r] = (self.regs[r] & !0xff) | v as u32;
        } else {
            self.regs[r - 4] = (self.regs[r - 4] & !0xff00) | (v as u32) << 8;
        }
    }

    #[inline]
    pub fn set_reg16(&mut self, r: usize, v: u16) {
        self.regs[r] = (self.regs[r] & !0xffff) | v as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_state_matches_the_sdm() {
        let s = CpuState::reset();
        assert_eq!(s.eip, 0xfff0);
        assert_eq!(s.seg(Seg::CS).selector, 0xf000);
        assert_eq!(s.seg(Seg::CS).base, 0xffff_0000);
        assert_eq!(s.seg(Seg::CS).limit, 0xffff);
        assert_eq!(s.regs[reg::EDX], 0xf27);
        assert_eq!(s.eflags(), 0x2);
        assert_eq!(s.cr0, 0x6000_0010);
        assert_eq!(s.dr[6], 0xffff_0ff0);
        assert_eq!(s.dr[7], 0x400);
        assert_eq!(s.gdtr.limit, 0xffff);
        assert_eq!(s.code_bitness(), 16);
    }

    #[test]
    fn byte_registers() {
        let mut s = CpuState::reset();
        s.regs[reg::EAX] = 0x1234_5678;
        assert_eq!(s.reg8(0), 0x78);
        assert_eq!(s.reg8(4), 0x56);
        s.set_reg8(4, 0xab);
        assert_eq!(s.regs[reg::EAX], 0x1234_ab78);
        s.set_reg16(0, 0xcdef);
        assert_eq!(s.regs[reg::EAX], 0x1234_cdef);
    }
}
