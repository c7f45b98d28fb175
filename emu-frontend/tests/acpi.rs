//! ACPI as a guest finds it (issue 11): SeaBIOS installs the tables vemu
//! hands it over fw_cfg, and test-roms/boot/acpi.asm, booted from a floppy,
//! checks them (the RSDP in the BIOS area, the checksums of every table the
//! RSDT lists, the FACS, the DSDT and its `\_S5`) and prints the FADT, the
//! MADT and the WAET byte by byte; then it switches to ACPI mode through
//! SMI_CMD, checks the PM timer, waits for the SCI of the power button that
//! the monitor's `system_powerdown` presses, and enters S5, which ends the
//! run with exit status 0. QEMU 7.2's `pc` machine (without its HPET, which
//! vemu does not have) must show the same, but for the DSDT's length: QEMU's
//! describes hot-plug hardware vemu does not have.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{require, Run};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn boot_image() -> PathBuf {
    common::build_images("build-boot-tests.sh").join("boot-acpi.img")
}

/// Runs `cmd` (whose human monitor listens on `port`) until the program
/// waits for the power button, presses it through the monitor, and waits
/// for the end.
fn press_power_button(cmd: Command, port: u16) -> Run {
    // Open until the end: a monitor whose client leaves may drop what it sent.
    let mut monitor = None;
    common::run_watching(cmd, Duration::from_secs(120), |text| {
        if monitor.is_none() && text.contains("pm: waiting for the power button") {
            let mut m = TcpStream::connect(("127.0.0.1", port)).expect("the monitor listens");
            m.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            // The greeting, then the prompt.
            let mut reader = BufReader::new(m.try_clone().unwrap());
            let mut prompt = Vec::new();
            while !prompt.ends_with(b"(qemu) ") {
                let mut byte = [0u8];
                reader.read_exact(&mut byte).expect("the monitor's greeting and prompt");
                prompt.push(byte[0]);
            }
            m.write_all(b"system_powerdown\n").unwrap();
            monitor = Some(m);
        }
        false
    })
}

/// The program's lines (from its banner on), the DSDT's length left out.
fn program_lines(run: &Run) -> Vec<String> {
    let lines: Vec<String> = run.stdout.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
    let first = lines.iter().position(|l| l.starts_with("boot test: acpi")).unwrap_or(lines.len());
    lines[first..]
        .iter()
        .map(|l| match l.strip_prefix("table DSDT revision 01 length ") {
            Some(rest) => format!("table DSDT revision 01 length N{}", &rest[rest.find(',').unwrap_or(0)..]),
            None => l.clone(),
        })
        .collect()
}

fn common_args(image: &str, port: u16) -> Vec<String> {
    [
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-snapshot",
        "-monitor",
        &format!("tcp:127.0.0.1:{port},server=on,wait=off"),
        "-drive",
        &format!("file={image},if=floppy,format=raw"),
        "-boot",
        "a",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn the_guest_finds_qemus_tables_and_powers_off_on_the_power_button() {
    require("qemu-system-i386");
    let image = boot_image().to_string_lossy().into_owned();

    let port = free_port();
    let mut qemu = Command::new("qemu-system-i386");
    qemu.args(["-M", "pc,hpet=off", "-net", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x01"]);
    qemu.args(common_args(&image, port));
    let qemu = press_power_button(qemu, port);
    assert_eq!(qemu.status, Some(0), "QEMU: {}", qemu.describe());
    let expected = program_lines(&qemu);
    assert_eq!(expected.last().map(String::as_str), Some("pm: entering S5"), "QEMU: {}", qemu.describe());
    assert!(expected.iter().any(|l| l == "sci: PM1_STS 0100"), "{expected:?}");

    for engine in ["interp", "jit"] {
        let port = free_port();
        let mut vemu = Command::new(env!("CARGO_BIN_EXE_vemu"));
        vemu.args(["run", "-icount", "shift=0,sleep=off", "--engine", engine]);
        vemu.args(common_args(&image, port));
        let run = press_power_button(vemu, port);
        assert_eq!(run.status, Some(0), "vemu --engine {engine} does not power off: {}", run.describe());
        assert_eq!(
            program_lines(&run),
            expected,
            "vemu --engine {engine} and QEMU differ: {}",
            run.describe()
        );
    }
}
