//! The DSDT of vemu's PC: its AML, written with [`aml`]. It describes what
//! QEMU 7.2's `pc` DSDT describes of the same hardware:
//!
//! - `\_SB.PCI0`, the i440FX host bridge (PNP0A03), with its resources
//!   (`_CRS`: bus numbers 0-255, the configuration ports, the I/O space
//!   around them, the legacy video window and the PCI memory window from
//!   the top of RAM to the I/O APIC) and its interrupt routing (`_PRT`):
//!   INTA#-INTD# of all 32 slots go to the PIIX3's four PIRQ lines, through
//!   the link devices `\_SB.LNKA`-`LNKD` (PNP0C0F), whose `_STA`, `_CRS`,
//!   `_SRS` and `_DIS` read and write the PIIX3's PIRQ route registers
//!   (configuration bytes 0x60-0x63 of 00:01.0) through a PCI configuration
//!   operation region, and whose `_PRS` offers ISA IRQs 5, 10 and 11. The
//!   power management function's INTA# (slot 1) is the SCI, link `LNKS`,
//!   fixed at IRQ 9. The swizzle is the PIIX3's: slot `s`, pin `p` (0 =
//!   INTA#) reaches PIRQ (s + p - 1) mod 4.
//! - The PIIX3's ISA bridge `\_SB.PCI0.S08` and the ISA devices behind it:
//!   the keyboard (PNP0303) and mouse (PNP0F13) of the 8042, the floppy
//!   controller (PNP0700), the serial ports (PNP0501), the RTC (PNP0B00).
//! - The GPE block's ports (a PNP0A06 container) and QEMU's fw_cfg
//!   (QEMU0002).
//! - `\_S5`, the soft-off sleep state: SLP_TYP 0, which the PM function
//!   turns into the end of the run. No other sleep state is offered.
//!
//! The power button is the FADT's fixed feature and needs no object here.
//! SeaBIOS parses this table too (to learn whether a PS/2 keyboard is
//! present): its parser takes names, scopes, devices, methods, buffers,
//! packages, operation regions and fields, and all of this is made of those.

use super::aml::resource::{self, Polarity, Trigger};
use super::aml::{self, FieldAccess, FieldUnit, FieldUpdate, RegionSpace};
use super::pm;
use super::tables::{AcpiConfig, IO_APIC_BASE};

/// The ISA IRQs a PCI link may be routed to.
const LINK_IRQS: [u32; 3] = [5, 10, 11];

/// The PIIX3's PIRQ route registers, as the links see them.
const PIRQ_FIELDS: [&str; 4] = ["PRQ0", "PRQ1", "PRQ2", "PRQ3"];

/// The link device that INTx# `pin` (0 = INTA#) of PCI slot `slot` is
/// wired to.
fn link_of(slot: u32, pin: u32) -> &'static str {
    if slot == 1 && pin == 0 {
        return "LNKS";
    }
    // PIRQ (slot + pin - 1) mod 4, i.e. LNKA for (slot + pin) mod 4 = 1.
    ["LNKD", "LNKA", "LNKB", "LNKC"][((slot + pin) & 3) as usize]
}

/// `_PRT`: one entry per slot and pin, `{0xSSSSFFFF, pin, link, 0}`.
fn routing_table() -> Vec<u8> {
    let entries: Vec<Vec<u8>> = (0..32)
        .flat_map(|slot| (0..4).map(move |pin| (slot, pin)))
        .map(|(slot, pin)| {
            aml::package(&[
                aml::integer((slot as u64) << 16 | 0xffff),
                aml::integer(pin as u64),
                aml::name_ref(link_of(slot, pin)),
                aml::integer(0),
            ])
        })
        .collect();
    aml::name("_PRT", aml::package(&entries))
}

/// One routable link, reading and writing PIRQ route register `n`.
fn link_device(n: usize) -> Vec<u8> {
    let reg = || aml::name_ref(PIRQ_FIELDS[n]);
    let name = ["LNKA", "LNKB", "LNKC", "LNKD"][n];
    aml::device(
        name,
        &[
            aml::name("_HID", aml::eisa_id("PNP0C0F")),
            aml::name("_UID", aml::integer(n as u64)),
            aml::name(
                "_PRS",
                resource::template(&[resource::interrupt(
                    Trigger::Level,
                    Polarity::ActiveHigh,
                    true,
                    &LINK_IRQS,
                )]),
            ),
            aml::method("_STA", 0, false, &[aml::ret(aml::call("IQST", &[reg()]))]),
            aml::method("_DIS", 0, false, &[aml::or(reg(), aml::integer(0x80), Some(reg()))]),
            aml::method("_CRS", 0, false, &[aml::ret(aml::call("IQCR", &[reg()]))]),
            aml::method(
                "_SRS",
                1,
                false,
                &[
                    aml::create_dword_field(aml::arg(0), aml::integer(5), "PRRI"),
                    aml::store(aml::name_ref("PRRI"), reg()),
                ],
            ),
        ],
    )
}

/// The link of the SCI: IRQ 9, level-triggered, active high, always on.
fn sci_link() -> Vec<u8> {
    let irq9 = resource::template(&[resource::interrupt(
        Trigger::Level,
        Polarity::ActiveHigh,
        true,
        &[pm::SCI_IRQ as u32],
    )]);
    aml::device(
        "LNKS",
        &[
            aml::name("_HID", aml::eisa_id("PNP0C0F")),
            aml::name("_UID", aml::integer(4)),
            aml::name("_PRS", irq9),
            aml::method("_STA", 0, false, &[aml::ret(aml::integer(0x0b))]),
            aml::method("_DIS", 0, false, &[]),
            aml::method("_CRS", 0, false, &[aml::ret(aml::name_ref("_PRS"))]),
            aml::method("_SRS", 1, false, &[]),
        ],
    )
}

/// `IQST (route)`: a link's status from its route register: present and
/// enabled (0x0b), or present and disabled (0x09) when routing is off.
fn link_status_method() -> Vec<u8> {
    aml::method(
        "IQST",
        1,
        false,
        &[
            aml::if_(aml::and(aml::integer(0x80), aml::arg(0), None), &[aml::ret(aml::integer(0x09))]),
            aml::ret(aml::integer(0x0b)),
        ],
    )
}

/// `IQCR (route)`: a link's current setting, the routed IRQ (0 when off).
fn link_setting_method() -> Vec<u8> {
    aml::method(
        "IQCR",
        1,
        true,
        &[
            aml::name(
                "PRR0",
                resource::template(&[resource::interrupt(Trigger::Level, Polarity::ActiveHigh, true, &[0])]),
            ),
            aml::create_dword_field(aml::name_ref("PRR0"), aml::integer(5), "PRRI"),
            aml::if_(
                aml::lless(aml::arg(0), aml::integer(0x80)),
                &[aml::store(aml::arg(0), aml::name_ref("PRRI"))],
            ),
            aml::ret(aml::name_ref("PRR0")),
        ],
    )
}

/// The host bridge's resources.
fn host_bridge_resources(config: &AcpiConfig) -> Vec<u8> {
    let mut r = vec![
        resource::word_bus_number(0, 0xff),
        resource::io(0xcf8, 0xcf8, 1, 8),
        resource::word_io(0x0000, 0x0cf7),
        resource::word_io(0x0d00, 0xffff),
        resource::dword_memory(0xa_0000, 0xb_ffff, true),
    ];
    if config.ram_below_4g < IO_APIC_BASE {
        r.push(resource::dword_memory(config.ram_below_4g, IO_APIC_BASE - 1, false));
    }
    resource::template(&r)
}

/// A device with a fixed set of resources, present (`_STA` 0x0f) unless
/// `hid` is a string.
fn isa_device(name: &str, hid: &str, uid: Option<u64>, resources: &[Vec<u8>], extra: &[Vec<u8>]) -> Vec<u8> {
    let mut terms = vec![aml::name("_HID", aml::eisa_id(hid))];
    if let Some(uid) = uid {
        terms.push(aml::name("_UID", aml::integer(uid)));
    }
    terms.push(aml::name("_STA", aml::integer(0x0f)));
    terms.push(aml::name("_CRS", resource::template(resources)));
    terms.extend_from_slice(extra);
    aml::device(name, &terms)
}

/// The ISA bridge (00:01.0) with its PIRQ route registers and the ISA
/// devices behind it.
fn isa_bridge(config: &AcpiConfig) -> Vec<u8> {
    let mut terms = vec![
        aml::name("_ADR", aml::integer(0x0001_0000)),
        aml::op_region("P40C", RegionSpace::PciConfig, 0x60, 4),
        isa_device(
            "KBD",
            "PNP0303",
            None,
            &[resource::io(0x60, 0x60, 1, 1), resource::io(0x64, 0x64, 1, 1), resource::irq_no_flags(1)],
            &[],
        ),
        isa_device("MOU", "PNP0F13", None, &[resource::irq_no_flags(12)], &[]),
    ];
    // _FDE: which of drives 0-3 are there, then the tape (2: never).
    let mut fde = Vec::new();
    for present in [config.floppy_drives[0], config.floppy_drives[1], false, false] {
        fde.extend_from_slice(&(present as u32).to_le_bytes());
    }
    fde.extend_from_slice(&2u32.to_le_bytes());
    terms.push(isa_device(
        "FDC0",
        "PNP0700",
        None,
        &[
            resource::io(0x3f2, 0x3f2, 0, 4),
            resource::io(0x3f7, 0x3f7, 0, 1),
            resource::irq_no_flags(6),
            resource::dma(2),
        ],
        &[aml::name("_FDE", aml::buffer(&fde))],
    ));
    for (i, &(base, irq)) in config.serial_ports.iter().enumerate() {
        terms.push(isa_device(
            &format!("COM{}", i + 1),
            "PNP0501",
            Some(i as u64 + 1),
            &[resource::io(base, base, 0, 8), resource::irq_no_flags(irq)],
            &[],
        ));
    }
    terms.push(isa_device(
        "RTC",
        "PNP0B00",
        None,
        &[resource::io(0x70, 0x70, 1, 8), resource::irq_no_flags(8)],
        &[],
    ));
    aml::device("S08", &terms)
}

/// A device that only reserves I/O ports, with a string `_HID`, present
/// and decoding but not shown (`_STA` 0x0b).
fn port_reservation(name: &str, hid: &str, uid: Option<&str>, base: u16, len: u8) -> Vec<u8> {
    let mut terms = vec![aml::name("_HID", aml::string(hid))];
    if let Some(uid) = uid {
        terms.push(aml::name("_UID", aml::string(uid)));
    }
    terms.push(aml::name("_STA", aml::integer(0x0b)));
    terms.push(aml::name("_CRS", resource::template(&[resource::io(base, base, 1, len)])));
    aml::device(name, &terms)
}

/// The DSDT's definition block (what follows the table header).
pub fn aml(config: &AcpiConfig) -> Vec<u8> {
    let pci0 = aml::device(
        "PCI0",
        &[
            aml::name("_HID", aml::eisa_id("PNP0A03")),
            aml::name("_ADR", aml::integer(0)),
            aml::name("_UID", aml::integer(0)),
            aml::name("_CRS", host_bridge_resources(config)),
            isa_bridge(config),
            port_reservation("GPE0", "PNP0A06", Some("GPE0 resources"), pm::GPE0_BASE, pm::GPE0_LEN as u8),
            port_reservation("FWCF", "QEMU0002", None, 0x510, 2),
        ],
    );
    let pirq_fields: Vec<FieldUnit> = PIRQ_FIELDS.iter().map(|f| FieldUnit::Named(f, 8)).collect();
    let mut sb = vec![
        pci0,
        // After the region it names.
        aml::field("PCI0.S08.P40C", FieldAccess::Byte, FieldUpdate::Preserve, &pirq_fields),
        link_status_method(),
        link_setting_method(),
    ];
    sb.extend((0..4).map(link_device));
    sb.push(sci_link());
    // After the links it names.
    sb.push(aml::scope("PCI0", &[routing_table()]));
    let s5 = aml::package(&[
        aml::integer(pm::SLP_TYP_S5 as u64),
        aml::integer(0),
        aml::integer(0),
        aml::integer(0),
    ]);
    [aml::scope("\\_SB", &sb), aml::scope("\\", &[aml::name("_S5", s5)])].concat()
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::acpi::tables::sdt;
    use crate::storage::image::test_files::TempDir;
    use crate::PortDevice;

    /// Runs ACPICA's `iasl` in `dir`; its output, and whether it succeeded.
    fn iasl(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
        let out = Command::new("iasl").args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("cannot run iasl (scripts/install-deps.sh installs acpica-tools): {e}")
        });
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    #[test]
    fn iasl_decompiles_the_dsdt_and_compiles_it_back() {
        let config = AcpiConfig {
            ram_below_4g: 256 << 20,
            serial_ports: vec![(0x3f8, 4)],
            floppy_drives: [true, true],
        };
        let dir = TempDir::new("dsdt");
        dir.file("dsdt.aml", &sdt(b"DSDT", 1, &aml(&config)));
        let (ok, out) = iasl(dir.path(), &["-d", "dsdt.aml"]);
        assert!(ok, "iasl -d failed:\n{out}");
        let asl = std::fs::read_to_string(dir.path().join("dsdt.dsl")).expect("iasl wrote dsdt.dsl");
        for expected in [
            "DefinitionBlock (\"\", \"DSDT\", 1, \"BOCHS \", \"BXPC    \", 0x00000001)",
            "Device (PCI0)",
            "Name (_HID, EisaId (\"PNP0A03\")",
            "0x10000000,         // Range Minimum",
            "Device (S08)",
            "OperationRegion (P40C, PCI_Config, 0x60, 0x04)",
            "Field (PCI0.S08.P40C, ByteAcc, NoLock, Preserve)",
            "Name (_HID, EisaId (\"PNP0303\")",
            "Name (_HID, EisaId (\"PNP0F13\")",
            "Name (_HID, EisaId (\"PNP0700\")",
            "Device (COM1)",
            "Name (_HID, EisaId (\"PNP0B00\")",
            "Name (_HID, \"QEMU0002\")",
            "Method (IQST, 1, NotSerialized)",
            "Method (IQCR, 1, Serialized)",
            "Device (LNKA)",
            "Device (LNKB)",
            "Device (LNKC)",
            "Device (LNKD)",
            "Device (LNKS)",
            "PRQ3 = PRRI",
            "Name (_PRT, Package (0x80)",
            "Name (_S5, Package (0x04)",
        ] {
            assert!(asl.contains(expected), "the disassembly lacks {expected:?}:\n{asl}");
        }
        assert!(!asl.contains("COM2"));
        // 128 routing entries and \_S5.
        assert_eq!(asl.matches("Package (0x04)").count(), 129);
        assert_eq!(asl.matches("0x001FFFFF,").count(), 4, "slot 31's four pins");
        let (ok, out) = iasl(dir.path(), &["-p", "again", "dsdt.dsl"]);
        assert!(
            ok && out.contains("Compilation successful. 0 Errors"),
            "iasl cannot compile it back:\n{out}"
        );
    }

    #[test]
    fn routing_follows_the_piix3_swizzle() {
        // Route PIRQA#-PIRQD# to IRQs 3-6 and ask the chipset where each
        // slot's pins go: the link the _PRT names must be that PIRQ's.
        let mut host = crate::PciHost::new();
        host.write(0xcf8, 4, 0x8000_0860);
        host.write(0xcfc, 4, 0x0605_0403);
        for slot in 0..32u32 {
            for pin in 0..4u32 {
                let link = link_of(slot, pin);
                if slot == 1 && pin == 0 {
                    assert_eq!(link, "LNKS", "the PM function's INTA# is the SCI");
                    continue;
                }
                let irq = host.isa_irq(slot as u8, pin as u8 + 1).expect("routed");
                assert_eq!(link, ["LNKA", "LNKB", "LNKC", "LNKD"][irq as usize - 3], "slot {slot} pin {pin}");
            }
        }
    }

    #[test]
    fn the_routing_table_has_every_slot_and_pin() {
        let prt = routing_table();
        // Name, _PRT, Package op, a two-byte length, 128 elements.
        assert_eq!(&prt[..6], b"\x08_PRT\x12");
        assert_eq!(prt[6] >> 6, 1, "two-byte package length");
        assert_eq!(prt[8], 128);
        // Slot 2's INTA# entry: {0x0002FFFF, Zero, LNKB, Zero}.
        let entry = [&[0x12, 0x0d, 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00, 0x00][..], b"LNKB", &[0x00]].concat();
        assert!(prt.windows(entry.len()).any(|w| w == entry));
    }

    #[test]
    fn the_serial_ports_and_drives_are_the_machine_s() {
        let base = AcpiConfig { ram_below_4g: 64 << 20, serial_ports: vec![], floppy_drives: [false; 2] };
        let none = aml(&base);
        let two = aml(&AcpiConfig { serial_ports: vec![(0x3f8, 4), (0x2f8, 3)], ..base.clone() });
        let has = |code: &[u8], what: &[u8]| code.windows(what.len()).any(|w| w == what);
        assert!(!has(&none, b"COM1"));
        assert!(has(&two, b"COM1") && has(&two, b"COM2"));
        assert!(has(&two, &resource::io(0x2f8, 0x2f8, 0, 8)));
        let with_a = aml(&AcpiConfig { floppy_drives: [true, false], ..base });
        let fde = |present: u8| {
            aml::name(
                "_FDE",
                aml::buffer(&[present, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]),
            )
        };
        assert!(has(&with_a, &fde(1)) && has(&none, &fde(0)));
    }
}
