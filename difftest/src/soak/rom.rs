//! A soak case as QEMU can run it: the case's RAM contents as an image the
//! machine loads into low RAM before it starts, and a BIOS image with a
//! loader that enters the case's starting state, in QEMU and in vemu alike.
//! (Copying the contents from the BIOS image would cost QEMU's single-stepped
//! log a step per iteration.)
//!
//! The loader starts at the reset vector in real mode, enters protected mode
//! on a GDT of its own (flat code 0x08 and data 0x10, the selectors the
//! case's GDT has there too), loads the case's GDTR,
//! IDTR, CR3 and CR4, and jumps to a trampoline in the case's init page that
//! sets CR0 (paging on, perhaps) and far-jumps to the init code with the
//! registers as the lockstep soak starts them: all zero, ESP at the ring-0
//! stack, EFLAGS 2. The trampoline lives in RAM because the image's own pages
//! need not be mapped by the case's page tables; the init page is (the case
//! starts there).

use super::gen::{Case, INIT, SEL_CODE32, SEL_DATA32};

/// Size of the BIOS image: 64 KiB, which real mode sees at F000:0000.
const ROM_SIZE: usize = 0x10000;
/// Where the trampoline goes: the end of the init code's page.
pub const TRAMPOLINE: u32 = INIT + 0xf00;
/// The ring-0 stack the case starts on (the lockstep soak's ESP).
const START_ESP: u32 = 0x7ff00;
/// The case's GDT and IDT (as the lockstep soak loads them).
const CASE_GDTR: (u16, u32) = (0x1ff, 0x1000);
const CASE_IDTR: (u16, u32) = (0x7ff, 0x2000);

/// What a case is made into: a BIOS image and the contents of low RAM (from
/// address 0), which the machine loads before it starts (QEMU's generic
/// loader device, `-device loader,file=...,addr=0,force-raw=on`).
pub struct Image {
    pub bios: Vec<u8>,
    pub ram: Vec<u8>,
}

/// The end of the RAM image: below the VGA window.
const RAM_END: u32 = 0xa0000;

/// The image for case `c`.
pub fn image(c: &Case) -> Result<Image, String> {
    let trampoline = trampoline(c.cr0);
    let tramp_end = TRAMPOLINE as usize + trampoline.len();
    let mut ram = vec![0u8; RAM_END as usize];
    let mut top = tramp_end;
    for (at, bytes) in &c.writes {
        let (at, end) = (*at as usize, *at as usize + bytes.len());
        if end > RAM_END as usize {
            return Err(format!("the case writes {at:#x}..{end:#x}, beyond low RAM"));
        }
        if at < tramp_end && end > TRAMPOLINE as usize {
            return Err(format!("the case writes {at:#x}..{end:#x}, over the loader's trampoline"));
        }
        ram[at..end].copy_from_slice(bytes);
        top = top.max(end);
    }
    ram[TRAMPOLINE as usize..tramp_end].copy_from_slice(&trampoline);
    ram.truncate(top);
    Ok(Image { bios: loader(c)?, ram })
}

/// The BIOS image: the loader that enters the case's state.
fn loader(c: &Case) -> Result<Vec<u8>, String> {
    let mut rom = vec![0xffu8; ROM_SIZE];
    // Tables first, then code.
    let lin = |off: usize| 0xf0000 + off as u32; // its address below 1 MiB
    let mut at = 0;
    let put = |rom: &mut Vec<u8>, at: &mut usize, bytes: &[u8]| {
        rom[*at..*at + bytes.len()].copy_from_slice(bytes);
        let here = *at;
        *at += bytes.len();
        here
    };
    let gdt = put(
        &mut rom,
        &mut at,
        &[
            0, 0, 0, 0, 0, 0, 0, 0, // null
            0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, // 0x08: flat 32-bit code
            0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0, // 0x10: flat data
        ],
    );
    let pseudo = |rom: &mut Vec<u8>, at: &mut usize, limit: u16, base: u32| {
        let mut b = limit.to_le_bytes().to_vec();
        b.extend_from_slice(&base.to_le_bytes());
        put(rom, at, &b)
    };
    let boot_gdtr = pseudo(&mut rom, &mut at, 0x17, lin(gdt));
    let case_gdtr = pseudo(&mut rom, &mut at, CASE_GDTR.0, CASE_GDTR.1);
    let case_idtr = pseudo(&mut rom, &mut at, CASE_IDTR.0, CASE_IDTR.1);

    // 32-bit part.
    let mut p = Vec::new();
    p.extend_from_slice(&[0xb8, SEL_DATA32 as u8, 0, 0, 0]); // mov eax, data selector
    for sreg in [0xd8u8, 0xc0, 0xd0, 0xe0, 0xe8] {
        p.extend_from_slice(&[0x8e, sreg]); // mov ds/es/ss/fs/gs, ax
    }
    p.extend_from_slice(&[0x0f, 0x01, 0x15]); // lgdt [case_gdtr]
    p.extend_from_slice(&lin(case_gdtr).to_le_bytes());
    p.extend_from_slice(&[0x0f, 0x01, 0x1d]); // lidt [case_idtr]
    p.extend_from_slice(&lin(case_idtr).to_le_bytes());
    p.push(0xb8); // mov eax, cr3 value; mov cr3, eax
    p.extend_from_slice(&c.cr3.to_le_bytes());
    p.extend_from_slice(&[0x0f, 0x22, 0xd8]);
    p.push(0xb8); // mov eax, cr4 value; mov cr4, eax
    p.extend_from_slice(&c.cr4.to_le_bytes());
    p.extend_from_slice(&[0x0f, 0x22, 0xe0]);
    p.push(0xb8); // mov eax, data selector; reload the segments from the case's GDT
    p.extend_from_slice(&(SEL_DATA32 as u32).to_le_bytes());
    for sreg in [0xd8u8, 0xc0, 0xd0, 0xe0, 0xe8] {
        p.extend_from_slice(&[0x8e, sreg]);
    }
    p.push(0xb8); // mov eax, trampoline; jmp eax
    p.extend_from_slice(&TRAMPOLINE.to_le_bytes());
    p.extend_from_slice(&[0xff, 0xe0]);
    let pm32 = put(&mut rom, &mut at, &p);

    // 16-bit part, at the reset vector's far jump target.
    let mut r = vec![0xfa, 0xfc]; // cli; cld
    r.extend_from_slice(&[0x66, 0x2e, 0x0f, 0x01, 0x16]); // o32 lgdt cs:[boot_gdtr]
    r.extend_from_slice(&(boot_gdtr as u16).to_le_bytes());
    r.extend_from_slice(&[0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0]); // CR0.PE = 1
    r.extend_from_slice(&[0x66, 0xea]); // jmp dword 0x08:pm32
    r.extend_from_slice(&lin(pm32).to_le_bytes());
    r.extend_from_slice(&SEL_CODE32.to_le_bytes());
    let real = put(&mut rom, &mut at, &r);
    if at > ROM_SIZE - 0x10 {
        return Err("the loader does not fit in its 64 KiB".into());
    }

    // The reset vector: jmp far F000:real.
    let reset = ROM_SIZE - 0x10;
    rom[reset] = 0xea;
    rom[reset + 1..reset + 3].copy_from_slice(&(real as u16).to_le_bytes());
    rom[reset + 3..reset + 5].copy_from_slice(&0xf000u16.to_le_bytes());
    Ok(rom)
}

/// The last steps, run from RAM: the ring-0 stack, registers zeroed, CR0,
/// EFLAGS 2, and the far jump to the init code.
fn trampoline(cr0: u32) -> Vec<u8> {
    let mut t = vec![0xbc]; // mov esp, START_ESP
    t.extend_from_slice(&START_ESP.to_le_bytes());
    t.extend_from_slice(&[0x6a, 0x02, 0x6a, 0x00]); // push 2 (EFLAGS); push 0 (EAX)
    for r in [0xdbu8, 0xc9, 0xd2, 0xf6, 0xff, 0xed] {
        t.extend_from_slice(&[0x31, r]); // xor ebx..ebp (not esp)
    }
    t.push(0xb8); // mov eax, cr0 value; mov cr0, eax
    t.extend_from_slice(&cr0.to_le_bytes());
    t.extend_from_slice(&[0x0f, 0x22, 0xc0]);
    t.extend_from_slice(&[0x58, 0x9d]); // pop eax; popfd
    t.push(0xea); // jmp far 0x08:INIT
    t.extend_from_slice(&INIT.to_le_bytes());
    t.extend_from_slice(&SEL_CODE32.to_le_bytes());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_fits_and_the_reset_vector_jumps_to_the_loader() {
        for seed in 0..20 {
            let c = super::super::gen::generate_for(seed, super::super::gen::Flavour::Qemu);
            let image = image(&c).unwrap();
            let rom = image.bios;
            assert_eq!(rom.len(), ROM_SIZE);
            assert_eq!(
                &image.ram[INIT as usize..INIT as usize + 4],
                &c.writes.iter().find(|w| w.0 == INIT).unwrap().1[..4]
            );
            assert_eq!(rom[ROM_SIZE - 0x10], 0xea);
            assert_eq!(&rom[ROM_SIZE - 0xd..ROM_SIZE - 0xb], &[0x00, 0xf0]);
        }
    }
}
