//! Placing a BIOS image as QEMU's PC does with `-bios`: the image (a non-zero
//! multiple of 64 KiB, at most 16 MiB) is mapped read-only at the top of the 4 GiB
//! space, and its last 128 KiB (or all of it, if smaller) also just below 1 MiB,
//! where the CPU's reset vector (0xFFFFFFF0, aliased at 0xFFFF0) finds it.

use std::path::Path;

use vemu_softmmu::PhysMemory;

use crate::error::MachineError;

/// Largest BIOS image accepted.
pub const MAX_BIOS: u64 = 16 << 20;

/// Checks a BIOS image's size.
pub fn check_bios(path: &Path, image: &[u8]) -> Result<(), MachineError> {
    let size = image.len() as u64;
    if size == 0 || size % 0x10000 != 0 || size > MAX_BIOS {
        return Err(MachineError::BiosSize { path: path.to_path_buf(), size });
    }
    Ok(())
}

/// Maps a checked BIOS image into physical memory.
pub fn map_bios(mem: &mut PhysMemory, image: &[u8]) -> Result<(), MachineError> {
    let size = image.len() as u32;
    let rom = mem.add_rom(0u32.wrapping_sub(size), image)?;
    let low = size.min(128 << 10);
    mem.alias_rom(rom, size - low, 0x10_0000 - low, low)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vemu_softmmu::PhysAddr;

    #[test]
    fn sizes() {
        let p = Path::new("bios.bin");
        assert!(check_bios(p, &vec![0; 0x10000]).is_ok());
        assert!(check_bios(p, &vec![0; 0x40000]).is_ok());
        assert!(check_bios(p, &[]).is_err());
        assert!(check_bios(p, &vec![0; 0x10001]).is_err());
        assert!(check_bios(p, &vec![0; 0x8000]).is_err());
    }

    #[test]
    fn placement_like_qemu() {
        let mut mem = PhysMemory::new(16 << 20).unwrap();
        let mut image = vec![0u8; 0x40000];
        image[0x3fff0] = 0xea; // reset vector
        image[0x20000] = 0x11; // first byte of the last 128 KiB
        image[0] = 0x22;
        map_bios(&mut mem, &image).unwrap();
        assert_eq!(mem.read_u8(PhysAddr(0xffff_fff0)), 0xea);
        assert_eq!(mem.read_u8(PhysAddr(0xffff0)), 0xea);
        assert_eq!(mem.read_u8(PhysAddr(0xe0000)), 0x11);
        assert_eq!(mem.read_u8(PhysAddr(0xfffc_0000)), 0x22);
    }
}
