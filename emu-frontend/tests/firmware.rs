//! A real guest nobody here wrote: Debian's SeaBIOS (package seabios), the
//! BIOS QEMU runs. It powers on, shadows itself into RAM through the i440FX's
//! PAM registers, reads fw_cfg and CMOS, calibrates its clock on the 8254,
//! programs the 8259s, takes timer interrupts while it waits, looks for
//! something to boot and, finding nothing, gives up and asks for a reboot,
//! all on the serial console. vemu (each engine) and QEMU must show the same.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{require, run_with_limit, vemu, Run};

const SEABIOS: &str = "/usr/share/seabios/bios.bin";

/// What the console showed, without the terminal escape sequences SeaBIOS's
/// serial console sends and without carriage returns, one line per line.
fn console_lines(run: &Run) -> Vec<String> {
    let mut text = String::new();
    let mut chars = run.stdout.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC c, or ESC [ ... final byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                while let Some(&n) = chars.peek() {
                    chars.next();
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else if c != '\r' {
            text.push(c);
        }
    }
    text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

fn seabios_present() {
    assert!(
        Path::new(SEABIOS).is_file(),
        "{SEABIOS} is missing: run scripts/install-deps.sh (tests never skip)"
    );
}

#[test]
fn seabios_finds_nothing_to_boot_in_vemu_and_qemu() {
    seabios_present();
    require("qemu-system-i386");
    let mut cmd = std::process::Command::new("qemu-system-i386");
    cmd.args(["-bios", SEABIOS, "-nographic", "-nodefaults", "-serial", "stdio", "-m", "128"]);
    cmd.args(["-no-reboot", "-boot", "reboot-timeout=0"]);
    let qemu = run_with_limit(cmd, Duration::from_secs(60));
    assert_eq!(qemu.status, Some(0), "QEMU: {}", qemu.describe());
    let qemu_lines = console_lines(&qemu);

    for engine in ["interp", "jit", "auto"] {
        let run =
            vemu(&["run", "--bios", SEABIOS, "--no-reboot", "--reboot-timeout", "0", "--engine", engine]);
        assert_eq!(run.status, Some(0), "vemu --engine {engine}: {}", run.describe());
        let lines = console_lines(&run);
        assert!(
            lines.first().is_some_and(|l| l.starts_with("SeaBIOS (version ")),
            "vemu --engine {engine} shows no SeaBIOS banner: {lines:?}"
        );
        // QEMU's PC has more devices (an IDE controller), which changes the
        // order SeaBIOS tries; the messages are the same.
        let mut sorted = lines.clone();
        sorted.sort();
        let mut expected = qemu_lines.clone();
        expected.sort();
        assert_eq!(sorted, expected, "vemu --engine {engine} and QEMU show different things");
        assert_eq!(lines.last().map(String::as_str), Some("Rebooting"), "{lines:?}");
        assert!(lines.iter().any(|l| l == "No bootable device.  Retrying in 0 seconds."), "{lines:?}");
    }
}

#[test]
fn seabios_waits_with_the_timer_until_it_retries() {
    // The default wait is for ever (QEMU's -boot reboot-timeout=-1); a 2-second
    // wait ends with the reboot request after 2 s of virtual time, counted in
    // timer interrupts while the CPU halts.
    seabios_present();
    let run = vemu(&["run", "--bios", SEABIOS, "--no-reboot", "--reboot-timeout", "2000"]);
    assert_eq!(run.status, Some(0), "{}", run.describe());
    let lines = console_lines(&run);
    assert!(lines.iter().any(|l| l == "No bootable device.  Retrying in 2 seconds."), "{lines:?}");
    let run = vemu(&["run", "--bios", SEABIOS, "--max-insns", "60000000"]);
    assert_eq!(run.status, Some(6), "waits for ever by default: {}", run.describe());
    assert!(console_lines(&run).iter().any(|l| l == "No bootable device."), "{}", run.describe());
}
