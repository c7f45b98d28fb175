//! The ACPI tables of vemu's PC, built as QEMU 7.2's `pc` machine builds
//! them for SeaBIOS: three fw_cfg files, `etc/acpi/tables` (FACS, DSDT, then
//! the tables the RSDT lists — FADT, MADT, WAET — and the RSDT),
//! `etc/acpi/rsdp` (the RSDP, revision 0 as on QEMU's `pc`, which points at
//! the RSDT) and `etc/table-loader`, the script that has the firmware
//! place the first in high memory and the second in the F segment, fill in
//! the pointers between tables and compute their checksums ([`loader`]).
//!
//! Layouts and values follow the ACPI specification (5.2, "ACPI System
//! Description Tables") in the revisions QEMU uses: a revision 1 FADT
//! (QEMU keeps its PIIX4 machine at revision 1 for old guests), a revision
//! 1 MADT, a revision 1 DSDT (32-bit integers). The identifiers are QEMU's
//! ("BOCHS " / "BXPC    "), so a guest sees what it sees under QEMU.
//!
//! The checksums are right in the files as built (pointer fields hold
//! offsets then); the loader's checksum commands keep them right once the
//! pointers hold addresses.

use super::dsdt;
use super::loader::{self, Linker, Zone};
use super::pm;

/// The fw_cfg file holding the tables.
pub const TABLES_FILE: &str = "etc/acpi/tables";
/// The fw_cfg file holding the RSDP.
pub const RSDP_FILE: &str = "etc/acpi/rsdp";
/// The fw_cfg file holding the loader script.
pub const LOADER_FILE: &str = "etc/table-loader";

/// The OEM identifiers of every table (QEMU's).
pub const OEM_ID: [u8; 6] = *b"BOCHS ";
pub const OEM_TABLE_ID: [u8; 8] = *b"BXPC    ";
/// The creator ("ASL compiler") identifier.
const CREATOR_ID: [u8; 4] = *b"BXPC";

/// Where the PM I/O block is: SeaBIOS programs PMBASE to 0x600 when fw_cfg
/// has `etc/table-loader`, and the tables are built before it runs.
pub const PM_IO_BASE: u16 = 0x600;
/// The local APIC's and the I/O APIC's registers, and the I/O APIC's ID.
pub const LOCAL_APIC_BASE: u32 = 0xfee0_0000;
pub const IO_APIC_BASE: u32 = 0xfec0_0000;
pub const IO_APIC_ID: u8 = 0;
/// The ISA interrupts PCI devices and the SCI use: level-triggered and
/// active high, which the MADT says with interrupt source overrides.
pub const PCI_IRQS: [u8; 4] = [5, 9, 10, 11];

/// The size of the system description table header.
pub const HEADER_BYTES: usize = 36;

/// What the tables describe of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcpiConfig {
    /// RAM below 4 GiB: the PCI memory window starts there and ends below
    /// the I/O APIC.
    pub ram_below_4g: u32,
    /// The serial ports, COM1 first: I/O base and ISA interrupt.
    pub serial_ports: Vec<(u16, u8)>,
    /// Which floppy drives (A:, B:) are present.
    pub floppy_drives: [bool; 2],
}

/// The three fw_cfg files.
#[derive(Clone, Debug)]
pub struct AcpiTables {
    /// `etc/acpi/tables`.
    pub tables: Vec<u8>,
    /// `etc/acpi/rsdp`.
    pub rsdp: Vec<u8>,
    /// `etc/table-loader`.
    pub loader: Vec<u8>,
}

/// The sum of `bytes`, modulo 256 (zero for a table with a right checksum).
pub fn byte_sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b))
}

/// A system description table: the header (signature, length, revision,
/// checksum, OEM and creator identifiers, revisions 1) and `body`, with its
/// checksum byte (offset 9) making the whole sum to zero.
pub fn sdt(signature: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(HEADER_BYTES + body.len()).expect("table shorter than 4 GiB");
    let mut t = Vec::with_capacity(length as usize);
    t.extend_from_slice(signature);
    t.extend_from_slice(&length.to_le_bytes());
    t.push(revision);
    t.push(0);
    t.extend_from_slice(&OEM_ID);
    t.extend_from_slice(&OEM_TABLE_ID);
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&CREATOR_ID);
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(body);
    t[9] = byte_sum(&t).wrapping_neg();
    t
}

/// The Firmware ACPI Control Structure (5.2.10): 64 bytes, no checksum;
/// no waking vector, no global lock.
fn facs() -> Vec<u8> {
    let mut t = Vec::with_capacity(64);
    t.extend_from_slice(b"FACS");
    t.extend_from_slice(&64u32.to_le_bytes());
    t.resize(64, 0);
    t
}

/// FADT flags (5.2.9, table "Fixed ACPI Description Table Fixed Feature
/// Flags"): WBINVD works, C1 on all processors, no fixed sleep button
/// (the power button is fixed: bit 4 clear), the RTC can wake from S4,
/// the platform clock is the one to use.
const FADT_FLAGS: u32 = 1 << 0 | 1 << 2 | 1 << 5 | 1 << 7 | 1 << 15;

/// The body of the revision 1 FADT (after the header, 80 bytes); `facs` and
/// `dsdt` are offsets into the tables file, patched by the loader.
fn fadt_body(facs: u32, dsdt: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(80);
    b.extend_from_slice(&facs.to_le_bytes()); // FIRMWARE_CTRL
    b.extend_from_slice(&dsdt.to_le_bytes()); // DSDT
    b.push(1); // INT_MODEL: multiple APIC
    b.push(0); // reserved (preferred PM profile since 2.0)
    b.extend_from_slice(&(pm::SCI_IRQ as u16).to_le_bytes());
    b.extend_from_slice(&(pm::SMI_CMD_PORT as u32).to_le_bytes());
    b.push(pm::ACPI_ENABLE);
    b.push(pm::ACPI_DISABLE);
    b.push(0); // S4BIOS_REQ: not supported
    b.push(0); // reserved (PSTATE_CNT since 2.0)
    let base = PM_IO_BASE as u32;
    for block in [
        base,                      // PM1a_EVT_BLK
        0,                         // PM1b_EVT_BLK
        base + pm::PM1_CNT as u32, // PM1a_CNT_BLK
        0,                         // PM1b_CNT_BLK
        0,                         // PM2_CNT_BLK
        base + pm::PM_TMR as u32,  // PM_TMR_BLK
        pm::GPE0_BASE as u32,      // GPE0_BLK
        0,                         // GPE1_BLK
    ] {
        b.extend_from_slice(&block.to_le_bytes());
    }
    // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN, GPE0_BLK_LEN,
    // GPE1_BLK_LEN, GPE1_BASE, CST_CNT.
    b.extend_from_slice(&[4, 2, 0, 4, pm::GPE0_LEN as u8, 0, 0, 0]);
    b.extend_from_slice(&0x0fffu16.to_le_bytes()); // P_LVL2_LAT: no C2
    b.extend_from_slice(&0x0fffu16.to_le_bytes()); // P_LVL3_LAT: no C3
    b.extend_from_slice(&[0; 4]); // FLUSH_SIZE, FLUSH_STRIDE
    b.extend_from_slice(&[0, 0, 0, 0]); // DUTY_OFFSET, DUTY_WIDTH, DAY_ALRM, MON_ALRM
    b.push(crate::chipset::rtc::CENTURY_INDEX as u8); // CENTURY
    b.extend_from_slice(&[0, 0, 0]); // IAPC_BOOT_ARCH (reserved in revision 1), reserved
    b.extend_from_slice(&FADT_FLAGS.to_le_bytes());
    b
}

/// The body of the MADT (5.2.12): the local APIC's address, PC-AT
/// compatible (8259s present); processor 0's local APIC (ID 0, enabled);
/// the I/O APIC (GSIs from 0); the ISA timer on GSI 2; the PCI interrupts
/// and the SCI level-triggered, active high; NMI on LINT1 of every
/// processor.
fn madt_body() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&LOCAL_APIC_BASE.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // PCAT_COMPAT
    b.extend_from_slice(&[0, 8, 0, 0]); // processor local APIC: UID 0, APIC ID 0
    b.extend_from_slice(&1u32.to_le_bytes()); // enabled
    b.extend_from_slice(&[1, 12, IO_APIC_ID, 0]);
    b.extend_from_slice(&IO_APIC_BASE.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // GSI base
    let mut source_override = |irq: u8, gsi: u32, flags: u16| {
        b.extend_from_slice(&[2, 10, 0, irq]);
        b.extend_from_slice(&gsi.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
    };
    source_override(0, 2, 0); // conforms to the bus (ISA: edge, high)
    for irq in PCI_IRQS {
        source_override(irq, irq as u32, 0x0d); // level (3 << 2), active high (1)
    }
    b.extend_from_slice(&[4, 6, 0xff, 0, 0, 1]); // local APIC NMI: all processors, LINT1
    b
}

/// Builds the tables for `config`.
pub fn build(config: &AcpiConfig) -> AcpiTables {
    let mut blob = Vec::new();
    let mut linker = Linker::new();
    linker.allocate(TABLES_FILE, 64, Zone::High);

    // A table at the end of the blob: its pointer fields (offsets in the
    // table) patched, then its checksum fixed.
    let mut add = |blob: &mut Vec<u8>, table: Vec<u8>, pointers: &[u32]| -> u32 {
        let at = blob.len() as u32;
        for p in pointers {
            linker.add_pointer(TABLES_FILE, at + p, 4, TABLES_FILE);
        }
        linker.add_checksum(TABLES_FILE, at, table.len() as u32, at + 9);
        blob.extend(table);
        at
    };
    // The FACS first: the allocation's 64-byte alignment is its own.
    let facs_at = blob.len() as u32;
    blob.extend(facs());
    let dsdt_at = add(&mut blob, sdt(b"DSDT", 1, &dsdt::aml(config)), &[]);
    let first = HEADER_BYTES as u32;
    let listed = [
        add(&mut blob, sdt(b"FACP", 1, &fadt_body(facs_at, dsdt_at)), &[first, first + 4]),
        add(&mut blob, sdt(b"APIC", 1, &madt_body()), &[]),
        add(&mut blob, sdt(b"WAET", 1, &(1u32 << 1).to_le_bytes()), &[]), // the PM timer is good
    ];
    let rsdt_body: Vec<u8> = listed.iter().flat_map(|o| o.to_le_bytes()).collect();
    let pointers: Vec<u32> = (0..listed.len() as u32).map(|i| first + 4 * i).collect();
    let rsdt_at = add(&mut blob, sdt(b"RSDT", 1, &rsdt_body), &pointers);

    let mut rsdp = Vec::with_capacity(20);
    rsdp.extend_from_slice(b"RSD PTR ");
    rsdp.push(0);
    rsdp.extend_from_slice(&OEM_ID);
    rsdp.push(0); // revision 0: ACPI 1.0, RSDT only
    rsdp.extend_from_slice(&rsdt_at.to_le_bytes());
    rsdp[8] = byte_sum(&rsdp).wrapping_neg();
    linker.allocate(RSDP_FILE, 16, Zone::FSeg);
    linker.add_pointer(RSDP_FILE, 16, 4, TABLES_FILE);
    linker.add_checksum(RSDP_FILE, 0, 20, 8);

    AcpiTables { tables: blob, rsdp, loader: loader::encode(linker.commands()) }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::loader::{parse, Command};
    use super::*;

    fn config() -> AcpiConfig {
        AcpiConfig { ram_below_4g: 128 << 20, serial_ports: vec![(0x3f8, 4)], floppy_drives: [true, false] }
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// The tables as SeaBIOS's loader leaves them: each file at the address
    /// given, pointers patched, checksums fixed. Every pointer and checksum
    /// range must lie inside its file.
    fn run_loader(t: &AcpiTables, addresses: &[(&str, u32)]) -> HashMap<String, (u32, Vec<u8>)> {
        let mut files: HashMap<String, (u32, Vec<u8>)> = HashMap::new();
        let contents = |name: &str| match name {
            TABLES_FILE => t.tables.clone(),
            RSDP_FILE => t.rsdp.clone(),
            other => panic!("the script names {other}, which is not a file"),
        };
        for c in parse(&t.loader).expect("the script parses") {
            match c {
                Command::Allocate { file, align, zone } => {
                    let addr = addresses.iter().find(|a| a.0 == file).expect("an address for the file").1;
                    assert_eq!(addr % align, 0);
                    assert_eq!(zone == Zone::FSeg, file == RSDP_FILE, "only the RSDP goes in the F segment");
                    assert!(files.insert(file.clone(), (addr, contents(&file))).is_none(), "allocated twice");
                }
                Command::AddPointer { dest, src, offset, size } => {
                    assert_eq!(size, 4);
                    let src_addr = files.get(&src).expect("source allocated before use").0;
                    let src_len = files[&src].1.len() as u32;
                    let d = &mut files.get_mut(&dest).expect("destination allocated before use").1;
                    let at = offset as usize;
                    assert!(at + 4 <= d.len(), "pointer at {offset:#x} inside {dest}");
                    let target = u32_at(d, at);
                    assert!(target < src_len, "pointer at {dest}+{offset:#x} lands inside {src}");
                    d[at..at + 4].copy_from_slice(&(target + src_addr).to_le_bytes());
                }
                Command::AddChecksum { file, offset, start, length } => {
                    let d = &mut files.get_mut(&file).expect("allocated before use").1;
                    assert!((start + length) as usize <= d.len() && (offset as usize) < d.len());
                    let sum = byte_sum(&d[start as usize..(start + length) as usize]);
                    d[offset as usize] = d[offset as usize].wrapping_sub(sum);
                }
            }
        }
        files
    }

    #[test]
    fn the_loader_links_every_table_and_the_checksums_hold() {
        let t = build(&config());
        assert_eq!(t.loader.len() % 128, 0);
        let high = 0x07fe_0040;
        let files = run_loader(&t, &[(TABLES_FILE, high), (RSDP_FILE, 0xf5a50)]);
        let (rsdp_addr, rsdp) = &files[RSDP_FILE];
        let (tables_addr, tables) = &files[TABLES_FILE];
        assert_eq!(*rsdp_addr, 0xf5a50);
        assert_eq!(&rsdp[..8], b"RSD PTR ");
        assert_eq!(rsdp.len(), 20, "a revision 0 RSDP");
        assert_eq!(rsdp[15], 0);
        assert_eq!(byte_sum(rsdp), 0);
        // Everything by address, as a guest finds it.
        let table_at = |addr: u32| -> &[u8] {
            let off = (addr - tables_addr) as usize;
            let len = u32_at(tables, off + 4) as usize;
            assert!(off + len <= tables.len(), "table at {addr:#x} fits the file");
            &tables[off..off + len]
        };
        let rsdt = table_at(u32_at(rsdp, 16));
        assert_eq!(&rsdt[..4], b"RSDT");
        assert_eq!(byte_sum(rsdt), 0);
        let sigs: Vec<&[u8]> = (HEADER_BYTES..rsdt.len())
            .step_by(4)
            .map(|o| {
                let t = table_at(u32_at(rsdt, o));
                assert_eq!(byte_sum(t), 0, "{} checksum", String::from_utf8_lossy(&t[..4]));
                &t[..4]
            })
            .collect();
        assert_eq!(sigs, [b"FACP", b"APIC", b"WAET"]);
        let fadt = table_at(u32_at(rsdt, HEADER_BYTES));
        let facs_addr = u32_at(fadt, 36);
        assert_eq!(facs_addr % 64, 0, "the FACS is 64-byte aligned");
        let facs = &tables[(facs_addr - tables_addr) as usize..][..64];
        assert_eq!(&facs[..8], b"FACS\x40\0\0\0");
        let dsdt = table_at(u32_at(fadt, 40));
        assert_eq!(&dsdt[..4], b"DSDT");
        assert_eq!(byte_sum(dsdt), 0);
    }

    #[test]
    fn the_files_as_built_have_right_checksums() {
        let t = build(&config());
        assert_eq!(byte_sum(&t.rsdp), 0);
        let mut off = 64; // after the FACS
        let mut seen = Vec::new();
        while off < t.tables.len() {
            let len = u32_at(&t.tables, off + 4) as usize;
            assert_eq!(byte_sum(&t.tables[off..off + len]), 0);
            seen.push(String::from_utf8_lossy(&t.tables[off..off + 4]).into_owned());
            off += len;
        }
        assert_eq!(off, t.tables.len());
        assert_eq!(seen, ["DSDT", "FACP", "APIC", "WAET", "RSDT"]);
    }

    #[test]
    fn fadt_fields() {
        let t = build(&config());
        let fadt = &t.tables[u32_at(&t.tables, t.tables.len() - 12) as usize..][..116];
        assert_eq!(&fadt[..4], b"FACP");
        assert_eq!(u32_at(fadt, 4), 116, "a revision 1 FADT");
        assert_eq!(fadt[8], 1);
        assert_eq!(&fadt[10..16], b"BOCHS ");
        assert_eq!(fadt[44], 1, "multiple APIC interrupt model");
        assert_eq!(u16::from_le_bytes([fadt[46], fadt[47]]), 9, "SCI_INT");
        assert_eq!(u32_at(fadt, 48), 0xb2, "SMI_CMD");
        assert_eq!(fadt[52..54], [0xf1, 0xf0], "ACPI_ENABLE, ACPI_DISABLE");
        assert_eq!(u32_at(fadt, 56), 0x600, "PM1a_EVT_BLK");
        assert_eq!(u32_at(fadt, 64), 0x604, "PM1a_CNT_BLK");
        assert_eq!(u32_at(fadt, 76), 0x608, "PM_TMR_BLK");
        assert_eq!(u32_at(fadt, 80), 0xafe0, "GPE0_BLK");
        assert_eq!(fadt[88..93], [4, 2, 0, 4, 4], "block lengths");
        assert_eq!(fadt[108], 0x32, "the RTC's century byte");
        let flags = u32_at(fadt, 112);
        assert_eq!(flags & 1 << 4, 0, "the power button is a fixed feature");
        assert_ne!(flags & 1 << 5, 0, "there is no fixed sleep button");
        assert_eq!(flags, 0x80a5);
    }

    #[test]
    fn madt_entries() {
        let t = build(&config());
        let madt = &t.tables[u32_at(&t.tables, t.tables.len() - 8) as usize..];
        assert_eq!(&madt[..4], b"APIC");
        let len = u32_at(madt, 4) as usize;
        assert_eq!(u32_at(madt, 36), 0xfee0_0000);
        assert_eq!(u32_at(madt, 40), 1, "PC-AT compatible");
        let mut entries = Vec::new();
        let mut off = 44;
        while off < len {
            let (kind, elen) = (madt[off], madt[off + 1] as usize);
            assert!(elen >= 2 && off + elen <= len);
            entries.push((kind, madt[off..off + elen].to_vec()));
            off += elen;
        }
        assert_eq!(off, len);
        assert_eq!(entries[0], (0, vec![0, 8, 0, 0, 1, 0, 0, 0]), "CPU 0, APIC ID 0, enabled");
        assert_eq!(entries[1], (1, vec![1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0]), "the I/O APIC");
        let overrides: Vec<(u8, u32, u16)> = entries
            .iter()
            .filter(|e| e.0 == 2)
            .map(|(_, e)| (e[3], u32_at(e, 4), u16::from_le_bytes([e[8], e[9]])))
            .collect();
        assert_eq!(overrides, [(0, 2, 0), (5, 5, 0xd), (9, 9, 0xd), (10, 10, 0xd), (11, 11, 0xd)]);
        assert_eq!(entries.last().unwrap(), &(4, vec![4, 6, 0xff, 0, 0, 1]), "NMI on LINT1");
    }

    #[test]
    fn the_pci_window_follows_the_ram() {
        let small = build(&config());
        let big = build(&AcpiConfig { ram_below_4g: 0xc000_0000, ..config() });
        let window = |t: &AcpiTables, start: u32| {
            let needle = [0u32, start, 0xfebf_ffff, 0, 0xfec0_0000 - start]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>();
            t.tables.windows(needle.len()).any(|w| w == needle)
        };
        assert!(window(&small, 128 << 20));
        assert!(!window(&small, 0xc000_0000));
        assert!(window(&big, 0xc000_0000));
    }
}
