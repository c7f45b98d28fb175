//! What firmware finds: a BIOS image placed as QEMU's PC places `-bios` (the
//! image, a non-zero multiple of 64 KiB and at most 16 MiB, mapped read-only
//! at the top of the 4 GiB space, and its last 128 KiB, or all of it if
//! smaller, also just below 1 MiB, where the CPU's reset vector 0xFFFFFFF0,
//! aliased at 0xFFFF0, finds it), and the facts a PC BIOS reads from CMOS and
//! firmware built for QEMU reads from fw_cfg (memory size and map, drives,
//! boot order, CPU count, the ACPI tables and the script that installs
//! them), with the values QEMU's `pc` machine gives them.

use std::path::Path;

use vemu_devices::acpi::tables::{self as acpi, AcpiConfig};
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

/// The CMOS boot-device code of a `-boot order` letter (QEMU's and SeaBIOS's
/// convention: 1 floppy, 2 hard disk, 3 CD-ROM).
fn boot_device(letter: char) -> Option<u8> {
    match letter {
        'a' | 'b' => Some(1),
        'c' => Some(2),
        'd' => Some(3),
        _ => None,
    }
}

/// The two CMOS bytes holding the boot order (0x3d: first device in the
/// low nibble, second in the high; 0x38: third in the high nibble, bit 0
/// set to skip the floppy boot-signature check), as QEMU writes them.
pub fn boot_order_cmos(order: &str) -> (u8, u8) {
    let codes: Vec<u8> = order.chars().filter_map(boot_device).take(3).collect();
    let code = |i: usize| codes.get(i).copied().unwrap_or(0);
    (code(0) | code(1) << 4, code(2) << 4)
}

/// Checks a `-boot order=` value: letters a-d (network boot, n-p, is not
/// supported), each at most once.
pub fn check_boot_order(order: &str) -> Result<(), String> {
    let mut seen = Vec::new();
    for c in order.chars() {
        if boot_device(c).is_none() {
            return Err(format!(
                "invalid boot device '{c}' in boot order '{order}' (vemu boots from a, b, c, d)"
            ));
        }
        if seen.contains(&c) {
            return Err(format!("boot device '{c}' is listed twice in boot order '{order}'"));
        }
        seen.push(c);
    }
    Ok(())
}

/// Fills CMOS and fw_cfg for a PC with `ram` bytes of RAM, the drives
/// attached to `bus`, no display and one CPU, as `config` says.
pub fn configure(bus: &mut PcBus, ram: u32, config: &crate::MachineConfig) {
    let kib_above_1m = ((ram >> 10).saturating_sub(1024)).min(0xffff) as u16;
    let blocks_above_16m = (ram.saturating_sub(16 << 20) >> 16).min(0xffff) as u16;
    let floppies = bus.fdc().cmos_drive_types();
    let floppy_count = (floppies >> 4 != 0) as u8 + (floppies & 0xf != 0) as u8;
    let ide_cmos = bus.ide().cmos_entries();
    let (order_lo, order_hi) = boot_order_cmos(&config.boot_order);
    let rtc = bus.rtc();
    // Equipment: floppy drives (bit 0, count - 1 in bits 7-6), a PS/2 mouse
    // (bit 2); no FPU yet.
    let equipment = 0x04 | if floppy_count > 0 { 0x01 | (floppy_count - 1) << 6 } else { 0 };
    let mut cmos = vec![
        (0x10, floppies),
        (0x12, 0x00), // no hard disks, unless the IDE controller says otherwise below
        (0x14, equipment),
        (0x15, 0x80), // 640 KiB of base memory
        (0x16, 0x02),
        (0x17, kib_above_1m as u8),
        (0x18, (kib_above_1m >> 8) as u8),
        (0x30, kib_above_1m as u8),
        (0x31, (kib_above_1m >> 8) as u8),
        (0x34, blocks_above_16m as u8),
        (0x35, (blocks_above_16m >> 8) as u8),
        (0x38, order_hi),
        (0x3d, order_lo),
        (0x5b, 0),
        (0x5c, 0),
        (0x5d, 0),
        (0x5f, 0), // CPUs - 1
    ];
    cmos.extend(ide_cmos);
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
    // No display: firmware talks on the serial port (QEMU's -nographic),
    // and SeaBIOS's serial console takes the screen and keyboard there
    // (etc/sercon-port, which SeaBIOS would add itself on seeing
    // NOGRAPHIC), so that boot loaders and DOS-class systems that use the
    // BIOS for text and keys work on the serial console too.
    if config.nographic {
        fw.set_u16(key::NOGRAPHIC, 1);
        fw.add_file("etc/sercon-port", 0x3f8u16.to_le_bytes().to_vec());
    }
    fw.set_u16(key::NB_CPUS, 1);
    fw.set_u16(key::MAX_CPUS, 1);
    fw.set_u16(key::BOOT_MENU, config.boot_menu as u16);
    let mut e820 = Vec::new();
    e820.extend_from_slice(&0u64.to_le_bytes());
    e820.extend_from_slice(&(ram as u64).to_le_bytes());
    e820.extend_from_slice(&1u32.to_le_bytes()); // usable RAM
    fw.add_file("etc/e820", e820);
    fw.add_file("etc/boot-fail-wait", config.reboot_timeout.unwrap_or(u32::MAX).to_le_bytes().to_vec());
    // The ACPI tables, for SeaBIOS to place and link (it then also moves the
    // PM block to 0x600, where the FADT says it is).
    let tables = acpi::build(&AcpiConfig {
        ram_below_4g: ram,
        serial_ports: vec![(0x3f8, vemu_devices::irq::line::COM1)],
        floppy_drives: [floppies >> 4 != 0, floppies & 0x0f != 0],
    });
    fw.add_file(acpi::TABLES_FILE, tables.tables);
    fw.add_file(acpi::RSDP_FILE, tables.rsdp);
    fw.add_file(acpi::LOADER_FILE, tables.loader);
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
    fn boot_order_as_qemu_writes_it() {
        assert_eq!(boot_order_cmos("cad"), (0x12, 0x30));
        assert_eq!(boot_order_cmos("d"), (0x03, 0x00));
        assert_eq!(boot_order_cmos("dc"), (0x23, 0x00));
        assert!(check_boot_order("acd").is_ok());
        assert!(check_boot_order("cc").is_err());
        assert!(check_boot_order("n").is_err());
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
