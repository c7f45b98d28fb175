//! Debian's two i386 kernels (linux-image-686 and linux-image-686-pae) boot
//! to a shell three ways (issue 11): from the SYSLINUX hard disk, from the
//! ISOLINUX CD, and with -kernel/-initrd/-append. Every way and kernel boots
//! in the default engine (auto); the interpreter boots one kernel with
//! -kernel (a boot costs minutes there: it runs Linux at about 20 MIPS), and
//! the compile-everything JIT (`--engine jit`, whose baseline tier compiles
//! some 100 000 blocks in this boot) the other. The PAE kernel runs on
//! `-cpu pentium4,+nx` and must find NX. Their
//! initramfs loads Debian's IDE, disk, CD and file-system modules and mounts
//! the ext2 root on the hard disk's second partition; its init starts a shell
//! on the serial console (this test's standard input and output) and one on
//! the VGA console. In the shell, /proc/cpuinfo shows the model's features,
//! and `poweroff` ends vemu with status 0 through ACPI. Another test writes
//! a file, reboots, finds it again; another types on the VGA console.
//!
//! The images come from scripts/build-guests.sh (cached in target/guests).
//! The runs use the deterministic clock without sleeping
//! (`-icount shift=0,sleep=off`), so a boot costs only the instructions it
//! runs, except where a test must type at SYSLINUX's one-second prompt.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{scratch, Session, Tmux};

fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::build_images("build-guests.sh"))
}

fn image(name: &str) -> String {
    guests().join(name).to_string_lossy().into_owned()
}

const BOOT_LIMIT: Duration = Duration::from_secs(900);
const SHORT: Duration = Duration::from_secs(120);
const PROMPT: &str = "vemu:~# ";

#[derive(Copy, Clone, Debug)]
enum Medium {
    /// SYSLINUX on the hard disk; the root file system is its second partition.
    Disk,
    /// ISOLINUX on a CD, the hard disk attached for the root file system.
    Cd,
    /// -kernel, -initrd and -append, the hard disk attached.
    Kernel,
}

/// `vemu run` booting kernel `flavor` (686 or 686-pae) from `medium` in
/// `engine`, with `extra` arguments, on the deterministic clock.
fn boot(medium: Medium, flavor: &str, engine: &str, disk: &str, extra: &[&str]) -> Session {
    // Picking the PAE kernel at SYSLINUX's prompt needs the prompt's second
    // to pass in real time.
    let typed = !matches!(medium, Medium::Kernel) && flavor != "686";
    let clock = if typed { "shift=0" } else { "shift=0,sleep=off" };
    boot_on(medium, flavor, engine, disk, &[&["-icount", clock], extra].concat())
}

/// As [`boot`], on the clock `extra` chooses (the host's by default).
fn boot_on(medium: Medium, flavor: &str, engine: &str, disk: &str, extra: &[&str]) -> Session {
    let typed = !matches!(medium, Medium::Kernel) && flavor != "686";
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vemu"));
    cmd.args(["run", "-nographic", "--engine", engine]).args(extra);
    if flavor != "686" {
        cmd.args(["-cpu", "pentium4,+nx"]);
    }
    match medium {
        Medium::Disk => {
            cmd.arg(disk);
        }
        Medium::Cd => {
            cmd.args(["-cdrom", &image("cd-isolinux.iso"), "-hda", disk, "-boot", "d"]);
        }
        Medium::Kernel => {
            cmd.args(["-kernel", &image(&format!("vmlinuz-{flavor}"))]);
            cmd.args(["-initrd", &image(&format!("initrd-{flavor}.img"))]);
            cmd.args(["-append", "root=/dev/sda2 console=ttyS0 quiet", "-hda", disk]);
        }
    }
    let mut s = Session::start(cmd, &format!("{medium:?} {flavor} --engine {engine}"));
    if typed {
        s.expect("boot:", SHORT);
        s.send(&format!("linux-{}", flavor.trim_start_matches("686-")));
    }
    s
}

/// Waits for the shell, having seen the init's line and no complaint from
/// the kernel on the way.
fn reach_shell(s: &mut Session) -> String {
    let ready = s.expect("VEMU-GUEST-READY", BOOT_LIMIT);
    assert!(!ready.contains("VEMU-GUEST-FAIL"), "the initramfs found no root:\n{ready}");
    let complaints = vemu::linuxboot::kernel_complaints(&ready);
    assert!(complaints.is_empty(), "the kernel complained:\n{}\n\nthe log:\n{ready}", complaints.join("\n"));
    let line = s.expect("\n", SHORT);
    s.expect(PROMPT, SHORT);
    line
}

/// Runs `command` in the shell; its output.
fn shell(s: &mut Session, command: &str) -> String {
    s.send(command);
    s.expect(command, SHORT);
    s.expect(PROMPT, SHORT).trim().to_string()
}

fn boots_to_a_shell(medium: Medium, flavor: &str, engines: &[&str]) {
    for &engine in engines {
        let mut s = boot(medium, flavor, engine, &image("hd-syslinux.img"), &["-snapshot"]);
        let ready = reach_shell(&mut s);
        assert!(ready.contains("Linux 6.1.0-") && ready.contains(&format!("-{flavor} ")), "{ready}");
        assert!(ready.contains("root /dev/sda2"), "{ready}");
        let flags = shell(&mut s, "grep -m 1 ^flags /proc/cpuinfo");
        let words: Vec<&str> = flags.split_whitespace().collect();
        for f in ["fpu", "tsc", "cx8", "apic", "cmov", "mmx", "fxsr", "sse", "sse2", "pae"] {
            assert!(words.contains(&f), "{medium:?} {flavor} --engine {engine}: no {f} in {flags}");
        }
        assert_eq!(words.contains(&"nx"), flavor != "686", "NX on the +nx model only: {flags}");
        let modules = shell(&mut s, "cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' '");
        for m in ["ata_piix", "libata", "scsi_mod", "sd_mod", "sr_mod", "ext4", "button"] {
            assert!(modules.split(' ').any(|x| x == m), "{m} not loaded: {modules}");
        }
        s.send("poweroff");
        assert_eq!(s.wait(SHORT), Some(0), "poweroff ends the run with status 0:\n{}", s.output());
    }
}

#[test]
fn linux_686_from_the_hard_disk() {
    boots_to_a_shell(Medium::Disk, "686", &["auto"]);
}

#[test]
fn linux_686_pae_from_the_hard_disk() {
    boots_to_a_shell(Medium::Disk, "686-pae", &["auto"]);
}

#[test]
fn linux_686_from_the_cd() {
    boots_to_a_shell(Medium::Cd, "686", &["auto"]);
}

#[test]
fn linux_686_pae_from_the_cd() {
    boots_to_a_shell(Medium::Cd, "686-pae", &["auto"]);
}

#[test]
fn linux_686_with_kernel_and_initrd() {
    boots_to_a_shell(Medium::Kernel, "686", &["auto", "interp"]);
}

#[test]
fn linux_686_pae_with_kernel_and_initrd() {
    boots_to_a_shell(Medium::Kernel, "686-pae", &["auto", "jit"]);
}

/// A copy of the hard disk, for a test that writes to it.
fn disk_copy(name: &str) -> String {
    let to = scratch().join(name);
    std::fs::copy(image("hd-syslinux.img"), &to).expect("copying the disk");
    to.to_string_lossy().into_owned()
}

#[test]
fn files_written_to_the_root_survive_a_reboot() {
    let disk = disk_copy("linux-persist.img");
    let mut s = boot(Medium::Disk, "686", "auto", &disk, &[]);
    reach_shell(&mut s);
    let stamp = format!("written-by-{}", std::process::id());
    shell(&mut s, &format!("echo {stamp} > /root/persisted && sync"));
    s.send("reboot");
    reach_shell(&mut s);
    assert_eq!(shell(&mut s, "cat /root/persisted"), stamp);
    s.send("poweroff");
    assert_eq!(s.wait(SHORT), Some(0));
    // The file is in the image too (debugfs reads ext2 without mounting it).
    let root = scratch().join("linux-persist-root.ext2");
    let offset_sectors = 84 * 16 * 63;
    let dd = Command::new("dd")
        .args([&format!("if={disk}"), &format!("of={}", root.display()), "bs=512"])
        .arg(format!("skip={offset_sectors}"))
        .arg("status=none")
        .status()
        .expect("dd");
    assert!(dd.success());
    let cat = Command::new("/sbin/debugfs")
        .args(["-R", "cat /root/persisted"])
        .arg(&root)
        .output()
        .expect("debugfs");
    assert_eq!(String::from_utf8_lossy(&cat.stdout).trim(), stamp);
}

/// This test runs on the host's clock, vemu's default, as a person at the
/// monitor would: there the guest's time follows the emulator's speed, and
/// Linux must find its clocks agree (the TSC kept as clock source, the ACPI
/// PM timer at its rate) however much of the boot goes to compiling.
#[test]
fn system_powerdown_reaches_the_guests_acpi_driver() {
    // The monitor shares the console (-serial mon:stdio, Ctrl-A c switches).
    let mut s = boot_on(
        Medium::Kernel,
        "686",
        "auto",
        &image("hd-syslinux.img"),
        &["-snapshot", "-serial", "mon:stdio"],
    );
    reach_shell(&mut s);
    let clocksource = "cat /sys/devices/system/clocksource/clocksource0/current_clocksource";
    assert_eq!(shell(&mut s, clocksource), "tsc", "{}", s.output());
    let complaints = "dmesg | grep -c -e 'TSC unstable' -e 'PM-Timer running at invalid rate'";
    assert_eq!(shell(&mut s, complaints), "0", "{}", s.output());
    let count = "awk '{print $1}' /sys/firmware/acpi/interrupts/ff_pwr_btn";
    let before: u32 = shell(&mut s, count).parse().expect("a count");
    s.send_raw(b"\x01c");
    s.expect("(qemu)", SHORT);
    s.send("system_powerdown");
    s.expect("(qemu)", SHORT);
    s.send_raw(b"\x01c");
    s.send("");
    s.expect(PROMPT, SHORT);
    let after: u32 = shell(&mut s, count).parse().expect("a count");
    assert_eq!(after, before + 1, "the power button's fixed event reached Linux once");
    s.send("poweroff");
    assert_eq!(s.wait(SHORT), Some(0));
}

#[test]
fn a_shell_on_the_vga_console() {
    // The terminal display shows the VGA screen; keys typed on the terminal
    // go to the PS/2 keyboard, and the second shell runs on tty1.
    let dir = scratch().join("linux-vga");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "{} run -icount shift=0,sleep=off -display curses -snapshot {}; sleep 60",
        env!("CARGO_BIN_EXE_vemu"),
        image("hd-syslinux.img")
    );
    let t = Tmux::start("linux-vga", &script);
    t.wait_for(PROMPT, BOOT_LIMIT);
    // A whole line at once, as a paste: more keys than the PS/2 keyboard's
    // 16-byte queue holds, which vemu gives it as the guest reads them.
    t.keys(&["-l", "echo vga-$((6*7)) typed in one go: 0123456789 abcdefghij"]);
    t.keys(&["Enter"]);
    t.wait_for("vga-42 typed in one go: 0123456789 abcdefghij", SHORT);
}
