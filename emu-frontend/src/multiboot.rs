//! Booting a Multiboot (version 1) kernel without firmware, as QEMU's `-kernel`
//! does for one: the kernel is loaded from its ELF program headers (or from the
//! address fields of its Multiboot header when it sets the a.out-kludge flag), a
//! Multiboot information structure with the memory map and command line is
//! written after it, and the CPU starts in flat 32-bit protected mode with
//! EAX=0x2BADB002 and EBX pointing at that structure (Multiboot spec 3.2).

use std::path::Path;

use crate::error::MachineError;

/// The magic a Multiboot kernel's header starts with.
pub const HEADER_MAGIC: u32 = 0x1bad_b002;
/// What the boot loader leaves in EAX.
pub const BOOT_MAGIC: u32 = 0x2bad_b002;
/// The header must lie in the first 8 KiB, 4-byte aligned.
const SEARCH: usize = 8192;
const FLAG_AOUT_KLUDGE: u32 = 1 << 16;

/// Bytes to copy to guest memory.
pub struct Chunk {
    pub addr: u32,
    pub bytes: Vec<u8>,
}

/// A kernel laid out for a machine with `ram` bytes, ready to copy in.
pub struct MultibootImage {
    pub chunks: Vec<Chunk>,
    pub entry: u32,
    /// Physical address of the Multiboot information structure.
    pub mbi: u32,
    /// Physical address of the 3-entry GDT (null, flat code 0x08, flat data 0x10).
    pub gdt: u32,
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Builds the image of `file` (the kernel's bytes) for `ram` bytes of memory.
pub fn load(path: &Path, file: &[u8], cmdline: &str, ram: u32) -> Result<MultibootImage, MachineError> {
    let not_mb = |why: &str| MachineError::NotMultiboot { path: path.to_path_buf(), why: why.to_string() };
    let layout = |why: String| MachineError::KernelLayout { path: path.to_path_buf(), why };

    let header = (0..file.len().min(SEARCH).saturating_sub(11))
        .step_by(4)
        .find(|&at| {
            let (m, f, c) = (le32(file, at), le32(file, at + 4), le32(file, at + 8));
            matches!((m, f, c), (Some(m), Some(f), Some(c)) if m == HEADER_MAGIC && m.wrapping_add(f).wrapping_add(c) == 0)
        })
        .ok_or_else(|| not_mb("no Multiboot header with a valid checksum in its first 8 KiB"))?;
    let flags = le32(file, header + 4).expect("checked above");

    let mut chunks = Vec::new();
    let entry;
    if flags & FLAG_AOUT_KLUDGE != 0 {
        let field = |i: usize| le32(file, header + 12 + 4 * i).ok_or_else(|| not_mb("truncated header"));
        let (header_addr, load_addr, load_end, bss_end, entry_addr) =
            (field(0)?, field(1)?, field(2)?, field(3)?, field(4)?);
        if load_addr > header_addr {
            return Err(not_mb("load_addr lies above header_addr"));
        }
        let offset = header
            .checked_sub((header_addr - load_addr) as usize)
            .ok_or_else(|| not_mb("header_addr and load_addr point before the file"))?;
        let size = if load_end == 0 {
            file.len() - offset
        } else {
            load_end.checked_sub(load_addr).ok_or_else(|| not_mb("load_end_addr below load_addr"))? as usize
        };
        let bytes = file.get(offset..offset + size).ok_or_else(|| not_mb("load range beyond the file"))?;
        let mut bytes = bytes.to_vec();
        if bss_end > load_addr + size as u32 {
            bytes.resize((bss_end - load_addr) as usize, 0);
        }
        chunks.push(Chunk { addr: load_addr, bytes });
        entry = entry_addr;
    } else {
        if file.get(0..4) != Some(b"\x7fELF") {
            return Err(not_mb("not an ELF file and no a.out load addresses in the header"));
        }
        if file[4] != 1 || file[5] != 1 || le16(file, 18) != Some(3) {
            return Err(not_mb("not a 32-bit little-endian i386 ELF file"));
        }
        let e_entry = le32(file, 24).ok_or_else(|| not_mb("truncated ELF header"))?;
        let phoff = le32(file, 28).ok_or_else(|| not_mb("truncated ELF header"))? as usize;
        let phentsize = le16(file, 42).ok_or_else(|| not_mb("truncated ELF header"))? as usize;
        let phnum = le16(file, 44).ok_or_else(|| not_mb("truncated ELF header"))? as usize;
        let mut entry_phys = None;
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            let f = |o: usize| le32(file, ph + o).ok_or_else(|| not_mb("truncated program header"));
            if f(0)? != 1 {
                continue; // not PT_LOAD
            }
            let (offset, vaddr, paddr, filesz, memsz) =
                (f(4)? as usize, f(8)?, f(12)?, f(16)? as usize, f(20)?);
            let data = file
                .get(offset..offset + filesz)
                .ok_or_else(|| not_mb("segment beyond the end of the file"))?;
            let mut bytes = data.to_vec();
            bytes.resize((memsz as usize).max(filesz), 0);
            if (vaddr..vaddr.wrapping_add(memsz)).contains(&e_entry) {
                entry_phys = Some(e_entry - vaddr + paddr);
            }
            chunks.push(Chunk { addr: paddr, bytes });
        }
        if chunks.is_empty() {
            return Err(not_mb("no loadable segments"));
        }
        entry = entry_phys.unwrap_or(e_entry);
    }

    let mut end = 0u64;
    for c in &chunks {
        let last = c.addr as u64 + c.bytes.len() as u64;
        if last > ram as u64 {
            return Err(layout(format!(
                "it loads up to {last:#x}, beyond the {} MiB of RAM (use -m)",
                ram >> 20
            )));
        }
        end = end.max(last);
    }

    // After the kernel: GDT, information structure, memory map, strings.
    let base = ((end + 0xfff) & !0xfff) as u32;
    let gdt = base;
    let mbi = base + 0x20;
    let mmap = mbi + 0x80;
    let regions: [(u64, u64, u32); 4] =
        [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2), (0x10_0000, ram as u64 - 0x10_0000, 1)];
    let mmap_len = regions.len() as u32 * 24;
    let cmdline_at = mmap + mmap_len;
    let full_cmdline =
        if cmdline.is_empty() { path.display().to_string() } else { format!("{} {cmdline}", path.display()) };
    let name_at = cmdline_at + full_cmdline.len() as u32 + 1;
    let name = "vemu";
    let total = name_at + name.len() as u32 + 1 - base;
    if base as u64 + total as u64 > ram as u64 {
        return Err(layout("no room after the kernel for the boot information".to_string()));
    }

    let mut info = vec![0u8; total as usize];
    let mut put = |at: u32, v: &[u8]| {
        let o = (at - base) as usize;
        info[o..o + v.len()].copy_from_slice(v);
    };
    // GDT: null, flat 32-bit code, flat 32-bit data.
    put(gdt + 8, &0x00cf_9b00_0000_ffffu64.to_le_bytes());
    put(gdt + 16, &0x00cf_9300_0000_ffffu64.to_le_bytes());
    // flags: mem, cmdline, mods (none), mmap, boot loader name
    let flags: u32 = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9;
    put(mbi, &flags.to_le_bytes());
    put(mbi + 4, &(0x9fc00u32 >> 10).to_le_bytes());
    put(mbi + 8, &((ram - 0x10_0000) >> 10).to_le_bytes());
    put(mbi + 16, &cmdline_at.to_le_bytes());
    put(mbi + 44, &mmap_len.to_le_bytes());
    put(mbi + 48, &mmap.to_le_bytes());
    put(mbi + 64, &name_at.to_le_bytes());
    for (i, (start, len, ty)) in regions.iter().enumerate() {
        let at = mmap + 24 * i as u32;
        put(at, &20u32.to_le_bytes());
        put(at + 4, &start.to_le_bytes());
        put(at + 12, &len.to_le_bytes());
        put(at + 20, &ty.to_le_bytes());
    }
    put(cmdline_at, full_cmdline.as_bytes());
    put(name_at, name.as_bytes());
    chunks.push(Chunk { addr: base, bytes: info });
    Ok(MultibootImage { chunks, entry, mbi, gdt })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal a.out-kludge kernel: header at 0, loaded at 1 MiB.
    fn kludge_kernel() -> Vec<u8> {
        let mut k = vec![0u8; 64];
        let flags = FLAG_AOUT_KLUDGE;
        let fields = [
            HEADER_MAGIC,
            flags,
            0u32.wrapping_sub(HEADER_MAGIC).wrapping_sub(flags),
            0x10_0000, // header_addr
            0x10_0000, // load_addr
            0x10_0040, // load_end_addr
            0x10_1000, // bss_end_addr
            0x10_0020, // entry_addr
        ];
        for (i, f) in fields.iter().enumerate() {
            k[4 * i..4 * i + 4].copy_from_slice(&f.to_le_bytes());
        }
        k[0x20] = 0xf4; // hlt
        k
    }

    #[test]
    fn aout_kludge_layout_and_info() {
        let img = load(Path::new("k.bin"), &kludge_kernel(), "console=ttyS0", 32 << 20).unwrap();
        assert_eq!(img.entry, 0x10_0020);
        assert_eq!(img.chunks[0].addr, 0x10_0000);
        assert_eq!(img.chunks[0].bytes.len(), 0x1000, "bss zero-filled");
        let info = &img.chunks[1];
        assert_eq!(info.addr, 0x10_1000);
        let at = |a: u32| le32(&info.bytes, (a - info.addr) as usize).unwrap();
        assert_eq!(at(img.mbi) & (1 << 6), 1 << 6);
        assert_eq!(at(img.mbi + 4), 639);
        assert_eq!(at(img.mbi + 8), (32 << 10) - 1024);
        let cmd = at(img.mbi + 16);
        let text: Vec<u8> =
            info.bytes[(cmd - info.addr) as usize..].iter().take_while(|b| **b != 0).copied().collect();
        assert_eq!(text, b"k.bin console=ttyS0");
    }

    #[test]
    fn rejects_non_multiboot_and_oversized() {
        let e = load(Path::new("x"), &[0u8; 100], "", 32 << 20).err().unwrap();
        assert!(e.to_string().contains("nor a Multiboot kernel"), "{e}");
        let e = load(Path::new("k"), &kludge_kernel(), "", 1 << 20).err().unwrap();
        assert!(e.to_string().contains("beyond"), "{e}");
    }
}
