//! What firmware finds: a BIOS image placed as QEMU's PC places `-bios` (the
//! image, a non-zero multiple of 64 KiB and at most 16 MiB, mapped read-only
//! at the top of the 4 GiB space, and its last 128 KiB, or all of it if
//! smaller, also just below 1 MiB, where the CPU's reset vector 0xFFFFFFF0,
//! aliased at 0xFFFF0, finds it), and the facts a PC BIOS reads from CMOS and
//! firmware built for QEMU reads from fw_cfg (memory size and map, drives,
//! boot order, CPU count), with the values QEMU's `pc` machine gives them.

use std::path::Path;

use vemu_devices::fw_cfg_key as key;
use vemu_softmmu::PhysMemory;

use crate::error::MachineError;
use crate::platform::PcBus;

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

/// Where the BIOS's alias below 1 MiB starts.
pub fn low_alias_base(image: &[u8]) -> u32 {
    0x10_0000 - (image.len() as u32).min(128 << 10)
}

/// Maps a checked BIOS image into physical memory.
pub fn map_bios(mem: &mut PhysMemory, image: &[u8]) -> Result<(), MachineError> {
    let size = image.len() as u32;
    let rom = mem.add_rom(0u32.wrapping_sub(size), image)?;
    let low = size.min(128 << 10);
    mem.alias_rom(rom, size - low, 0x10_0000 - low, low)?;
    Ok(())
}

/// Fills CMOS and fw_cfg for a PC with `ram` bytes of RAM, no drives, no
/// display and one CPU, whose firmware retries a failed boot after
/// `reboot_timeout` milliseconds (None: never).
pub fn configure(bus: &mut PcBus, ram: u32, reboot_timeout: Option<u32>) {
    let kib_above_1m = ((ram >> 10).saturating_sub(1024)).min(0xffff) as u16;
    let blocks_above_16m = (ram.saturating_sub(16 << 20) >> 16).min(0xffff) as u16;
    let rtc = bus.rtc();
    let mut cmos = vec![
        (0x10, 0x00), // no floppy drives
        (0x12, 0x00), // no hard disks
        (0x14, 0x00), // equipment: no floppy, no FPU, no PS/2 mouse
        (0x15, 0x80), // 640 KiB of base memory
        (0x16, 0x02),
        (0x17, kib_above_1m as u8),
        (0x18, (kib_above_1m >> 8) as u8),
        (0x30, kib_above_1m as u8),
        (0x31, (kib_above_1m >> 8) as u8),
        (0x34, blocks_above_16m as u8),
        (0x35, (blocks_above_16m >> 8) as u8),
        (0x38, 0x30), // boot order as QEMU's default "cad": CD-ROM third, floppy signature checked
        (0x3d, 0x12), // hard disk first, floppy second
        (0x5b, 0),
        (0x5c, 0),
        (0x5d, 0),
        (0x5f, 0), // CPUs - 1
    ];
    for (index, value) in cmos.drain(..) {
        rtc.set_cmos(index, value);
    }
    // The standard CMOS checksum over 0x10-0x2d, big-endian at 0x2e.
    let sum: u16 = (0x10..=0x2d).map(|i| rtc.cmos(i) as u16).sum();
    rtc.set_cmos(0x2e, (sum >> 8) as u8);
    rtc.set_cmos(0x2f, sum as u8);

    let fw = bus.fw_cfg();
    fw.set(key::UUID, vec![0; 16]);
    fw.set(key::RAM_SIZE, (ram as u64).to_le_bytes().to_vec());
    // No display: firmware talks on the serial port (QEMU's -nographic).
    fw.set_u16(key::NOGRAPHIC, 1);
    fw.set_u16(key::NB_CPUS, 1);
    fw.set_u16(key::MAX_CPUS, 1);
    fw.set_u16(key::BOOT_MENU, 0);
    let mut e820 = Vec::new();
    e820.extend_from_slice(&0u64.to_le_bytes());
    e820.extend_from_slice(&(ram as u64).to_le_bytes());
    e820.extend_from_slice(&1u32.to_le_bytes()); // usable RAM
    fw.add_file("etc/e820", e820);
    fw.add_file("etc/boot-fail-wait", reboot_timeout.unwrap_or(u32::MAX).to_le_bytes().to_vec());
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
