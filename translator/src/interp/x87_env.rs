//! The x87 environment and state images: FSTENV/FLDENV (14 or 28 bytes),
//! FSAVE/FRSTOR (94 or 108 bytes) in their real-mode and protected-mode
//! layouts (SDM Vol. 1 8.1.10, figures 8-9 to 8-12), and FXSAVE/FXRSTOR's
//! 512-byte image (SDM Vol. 2A, FXSAVE, table 3-53).

use iced_x86::{Instruction, MemorySize, Mnemonic as M};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::f80::F80;
use crate::state::{cr0, cr4, fsw};

impl Cpu {
    /// FSTENV, FLDENV, FSAVE, FRSTOR.
    pub(super) fn x87_environment(&mut self, ins: &Instruction) -> Fault {
        let (seg, off) = self.ea(ins);
        let wide = matches!(ins.memory_size(), MemorySize::FpuEnv28 | MemorySize::FpuState108);
        let env_len = if wide { 28 } else { 14 };
        match ins.mnemonic() {
            M::Fnstenv | M::Fstenv => {
                let image = self.x87_env_image(wide);
                self.write_bytes(seg, off, &image, if wide { 4 } else { 2 })?;
                self.state.fpu.cw |= 0x3f;
                Ok(())
            }
            M::Fnsave | M::Fsave => {
                let mut image = self.x87_env_image(wide);
                for i in 0..8 {
                    image.extend_from_slice(&self.st(i).to_bytes());
                }
                self.write_bytes(seg, off, &image, if wide { 4 } else { 2 })?;
                self.state.fpu.finit();
                self.x87_update_error();
                Ok(())
            }
            _ => {
                let with_regs = ins.mnemonic() == M::Frstor;
                let mut image = vec![0u8; env_len + if with_regs { 80 } else { 0 }];
                self.read_bytes(seg, off, &mut image, if wide { 4 } else { 2 })?;
                self.x87_load_env(&image[..env_len], wide);
                if with_regs {
                    for i in 0..8u8 {
                        let at = env_len + 10 * i as usize;
                        let v = F80::from_bytes(image[at..at + 10].try_into().expect("ten bytes"));
                        let r = self.st_index(i);
                        self.state.fpu.regs[r] = v;
                    }
                }
                self.x87_update_error();
                Ok(())
            }
        }
    }

    /// Whether the environment takes its real-mode layout (real and
    /// virtual-8086 mode), with 20-bit linear pointers.
    fn x87_real_layout(&self) -> bool {
        !self.state.protected_mode() || self.state.v86_mode()
    }

    fn x87_env_image(&self, wide: bool) -> Vec<u8> {
        let f = &self.state.fpu;
        let words: [u32; 7] = if self.x87_real_layout() {
            let ip = ((f.fcs as u32) << 4).wrapping_add(f.fip);
            let dp = ((f.fds as u32) << 4).wrapping_add(f.fdp);
            if wide {
                [
                    f.cw as u32,
                    f.status() as u32,
                    f.tag_word() as u32,
                    ip & 0xffff,
                    (ip >> 16) << 12 | f.fop as u32,
                    dp & 0xffff,
                    (dp >> 16) << 12,
                ]
            } else {
                [
                    f.cw as u32,
                    f.status() as u32,
                    f.tag_word() as u32,
                    ip & 0xffff,
                    (ip >> 16 & 0xf) << 12 | f.fop as u32,
                    dp & 0xffff,
                    (dp >> 16 & 0xf) << 12,
                ]
            }
        } else {
            [
                f.cw as u32,
                f.status() as u32,
                f.tag_word() as u32,
                f.fip,
                f.fcs as u32 | (f.fop as u32) << 16,
                f.fdp,
                f.fds as u32,
            ]
        };
        let mut out = Vec::with_capacity(108);
        for (i, w) in words.iter().enumerate() {
            if wide {
                // The reserved upper halves of the control, status, tag and
                // selector words read as ones.
                let v = match (i, self.x87_real_layout()) {
                    (0..=2, _) | (6, false) | (3 | 5, true) => w | 0xffff_0000,
                    _ => *w,
                };
                out.extend_from_slice(&v.to_le_bytes());
            } else {
                out.extend_from_slice(&(*w as u16).to_le_bytes());
            }
        }
        out
    }

    fn x87_load_env(&mut self, image: &[u8], wide: bool) {
        let word = |i: usize| -> u32 {
            if wide {
                u32::from_le_bytes(image[4 * i..4 * i + 4].try_into().expect("four bytes"))
            } else {
                u16::from_le_bytes([image[2 * i], image[2 * i + 1]]) as u32
            }
        };
        let real = self.x87_real_layout();
        let f = &mut self.state.fpu;
        f.cw = word(0) as u16 | 0x40;
        let sw = word(1) as u16;
        f.sw = sw & !(7 << fsw::TOP_SHIFT);
        f.top = (sw >> fsw::TOP_SHIFT & 7) as u8;
        let tw = word(2);
        f.valid = (0..8).filter(|i| tw >> (2 * i) & 3 != 3).fold(0, |v, i| v | 1 << i);
        if real {
            let (hi_ip, hi_dp) = if wide {
                (word(4) >> 12, word(6) >> 12)
            } else {
                (word(4) >> 12 & 0xf, word(6) >> 12 & 0xf)
            };
            f.fip = word(3) & 0xffff | hi_ip << 16;
            f.fcs = 0;
            f.fop = (word(4) & 0x7ff) as u16;
            f.fdp = word(5) & 0xffff | hi_dp << 16;
            f.fds = 0;
        } else {
            f.fip = word(3);
            f.fcs = word(4) as u16;
            f.fop = if wide { (word(4) >> 16 & 0x7ff) as u16 } else { 0 };
            f.fdp = word(5);
            f.fds = word(6) as u16;
        }
    }

    /// FXSAVE and FXRSTOR: #UD with CR0.EM, #NM with CR0.TS, #GP(0) for an
    /// image not aligned on 16 bytes or (FXRSTOR) an MXCSR with reserved bits.
    pub(super) fn fxsave_fxrstor(&mut self, ins: &Instruction) -> Fault {
        self.require(crate::cpuid::feature::FXSR)?;
        if self.state.cr0 & cr0::EM != 0 {
            return Err(Exception::ud());
        }
        if self.state.cr0 & cr0::TS != 0 {
            return Err(Exception::nm());
        }
        let (seg, off) = self.ea(ins);
        self.check_aligned16(seg, off)?;
        let xmm = self.state.cr4 & cr4::OSFXSR != 0;
        if ins.mnemonic() == M::Fxsave {
            let f = &self.state.fpu;
            let mut image = [0u8; 512];
            image[0..2].copy_from_slice(&f.cw.to_le_bytes());
            image[2..4].copy_from_slice(&f.status().to_le_bytes());
            image[4] = f.valid;
            image[6..8].copy_from_slice(&f.fop.to_le_bytes());
            image[8..12].copy_from_slice(&f.fip.to_le_bytes());
            image[12..14].copy_from_slice(&f.fcs.to_le_bytes());
            image[16..20].copy_from_slice(&f.fdp.to_le_bytes());
            image[20..22].copy_from_slice(&f.fds.to_le_bytes());
            image[24..28].copy_from_slice(&f.mxcsr.to_le_bytes());
            image[28..32].copy_from_slice(&MXCSR_MASK.to_le_bytes());
            for i in 0..8u8 {
                let at = 32 + 16 * i as usize;
                image[at..at + 10].copy_from_slice(&self.st(i).to_bytes());
            }
            if xmm {
                for (i, x) in f.xmm.iter().enumerate() {
                    image[160 + 16 * i..176 + 16 * i].copy_from_slice(&x.to_le_bytes());
                }
            }
            return self.write_bytes(seg, off, &image, 16);
        }
        let mut image = [0u8; 512];
        self.read_bytes(seg, off, &mut image, 16)?;
        let mxcsr = u32::from_le_bytes(image[24..28].try_into().expect("four bytes"));
        if mxcsr & !MXCSR_MASK != 0 {
            return Err(Exception::gp(0));
        }
        let half = |at: usize| u16::from_le_bytes([image[at], image[at + 1]]);
        let word = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().expect("four bytes"));
        let f = &mut self.state.fpu;
        f.cw = half(0) | 0x40;
        let sw = half(2);
        f.sw = sw & !(7 << fsw::TOP_SHIFT);
        f.top = (sw >> fsw::TOP_SHIFT & 7) as u8;
        f.valid = image[4];
        f.fop = half(6) & 0x7ff;
        f.fip = word(8);
        f.fcs = half(12);
        f.fdp = word(16);
        f.fds = half(20);
        f.mxcsr = mxcsr;
        for i in 0..8u8 {
            let at = 32 + 16 * i as usize;
            let v = F80::from_bytes(image[at..at + 10].try_into().expect("ten bytes"));
            let r = self.st_index(i);
            self.state.fpu.regs[r] = v;
        }
        if xmm {
            for i in 0..8 {
                self.state.fpu.xmm[i] =
                    u128::from_le_bytes(image[160 + 16 * i..176 + 16 * i].try_into().expect("16 bytes"));
            }
        }
        self.x87_update_error();
        Ok(())
    }
}

/// The MXCSR bits FXRSTOR and LDMXCSR accept (DAZ included).
pub(crate) const MXCSR_MASK: u32 = 0xffff;
