//! `vemu run disk.img` and QEMU's spellings: booting through SeaBIOS from a
//! floppy, a hard disk and a CD-ROM, in every engine and, with the same
//! command line, in QEMU (issue 8).
//!
//! The guests are built from Debian packages by scripts/build-guests.sh
//! (cached under target/guests): boot programs of our own on each medium,
//! which exercise INT 13h and end through isa-debug-exit with PASS, and
//! SYSLINUX on a hard disk and a floppy and ISOLINUX on a CD, which must load
//! their kernel and initrd ("Loading /initrd-686.img... ok"; tests/linux.rs
//! follows Debian's kernel from there to its shell). Writes reach a disk
//! image without -snapshot and never with it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{require, run_until, scratch, Run};

/// The guest images, built once per test run (the script caches them).
fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::build_images("build-guests.sh"))
}

fn image(name: &str) -> String {
    guests().join(name).to_string_lossy().into_owned()
}

const ENGINES: [&str; 3] = ["interp", "jit", "auto"];

/// `vemu run -display none -serial stdio ARGS` until the markers show (the
/// host clock runs, as a user's does: boot loaders wait a second at their
/// prompt). Tests that share an image give `-snapshot`: it is then opened
/// read-only, which many may do at once (a writer would lock the others out,
/// as QEMU's locking has it).
///
/// `-display none`, as QEMU gets below, and not the `-nographic` a pipe
/// implies: with `-nographic` SeaBIOS's serial console shares COM1 with the
/// boot programs, and it writes lazily, from its timer tick. The last "." and
/// line end of its "Booting from DVD/CD..." can then come out in the middle of
/// the program's lines whenever a tick falls between them, which the host
/// clock on a loaded machine makes happen (tests/firmware.rs and
/// tests/console.rs cover the serial console).
fn vemu_until(args: &[String], markers: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vemu"));
    cmd.args(["run", "-display", "none", "-serial", "stdio"]).args(args);
    run_until(cmd, markers, Duration::from_secs(240))
}

/// The same command line in QEMU (with its debug-exit device and a console
/// on stdio).
fn qemu_until(args: &[String], markers: &[&str]) -> Run {
    require("qemu-system-i386");
    let mut cmd = Command::new("qemu-system-i386");
    cmd.args(["-display", "none", "-serial", "stdio", "-no-reboot", "-net", "none"]);
    cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01"]);
    cmd.args(args);
    run_until(cmd, markers, Duration::from_secs(120))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A boot program that ends through isa-debug-exit: PASS and exit status 1
/// in vemu (each engine) and in QEMU.
fn boot_program(args: &[String]) {
    let args = [args, &strings(&["-snapshot"])].concat();
    let args = &args;
    for engine in ENGINES {
        let mut a = args.to_vec();
        a.extend(strings(&["-no-reboot", "--engine", engine]));
        let run = vemu_until(&a, &[]);
        assert!(
            run.status == Some(1) && run.last_line() == "PASS",
            "vemu --engine {engine}: {}",
            run.describe()
        );
    }
    let run = qemu_until(args, &[]);
    assert!(run.status == Some(1) && run.last_line() == "PASS", "QEMU: {}", run.describe());
}

#[test]
fn a_boot_program_on_a_floppy() {
    boot_program(&strings(&["-fda", &image("boot-fd.img"), "-boot", "a"]));
}

#[test]
fn a_boot_program_on_a_hard_disk() {
    // The positional image is the first hard disk, as for qemu-system-i386.
    boot_program(&strings(&[&image("boot-hd.img")]));
}

#[test]
fn a_boot_program_on_a_cd() {
    boot_program(&strings(&["-drive", &format!("file={},media=cdrom", image("boot-cd.iso")), "-boot", "d"]));
}

/// Markers of SYSLINUX/ISOLINUX loading Debian's kernel and initrd.
const LOADED: [&str; 4] = ["Loading /vmlinuz-686", "ok", "Loading /initrd-686.img", "ok"];

fn loads_kernel_and_initrd(args: &[String]) {
    let args = [args, &strings(&["-snapshot"])].concat();
    let args = &args;
    for engine in ENGINES {
        let mut a = args.to_vec();
        a.extend(strings(&["-no-reboot", "--engine", engine]));
        let run = vemu_until(&a, &LOADED);
        assert!(!run.timed_out && run.status.is_none(), "vemu --engine {engine}: {}", run.describe());
    }
    let run = qemu_until(args, &LOADED);
    assert!(!run.timed_out && run.status.is_none(), "QEMU: {}", run.describe());
}

#[test]
fn syslinux_on_a_hard_disk_loads_linux() {
    loads_kernel_and_initrd(&strings(&[&image("hd-syslinux.img")]));
}

#[test]
fn isolinux_on_a_cd_loads_linux() {
    loads_kernel_and_initrd(&strings(&["-cdrom", &image("cd-isolinux.iso")]));
}

#[test]
fn syslinux_on_a_floppy_loads_a_kernel_that_checks_itself() {
    // The floppy's kernel is the project's test kernel (Debian's does not fit
    // on 1.44 MB): it checks its image, initrd and command line and exits.
    let fd = image("fd-syslinux.img");
    boot_program(&strings(&["-drive", &format!("file={fd},if=floppy,format=raw")]));
}

/// A copy of an image in the scratch directory.
fn copy_of(name: &str, as_name: &str) -> PathBuf {
    let to = scratch().join(as_name);
    std::fs::copy(guests().join(name), &to).expect("copying the image");
    to
}

/// What the write test's boot reports: "boots recorded before this one: N".
fn boots_recorded(args: &[String]) -> u32 {
    let run = vemu_until(args, &[]);
    assert_eq!(run.status, Some(1), "{}", run.describe());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("boots recorded before this one:"))
        .unwrap_or_else(|| panic!("no boot count: {}", run.describe()));
    line.rsplit(':').next().unwrap_or("").trim().parse().unwrap_or_else(|_| panic!("{line}"))
}

#[test]
fn writes_reach_the_image_unless_snapshot() {
    let img = copy_of("boot-hd-write.img", "write-test.img");
    let path = img.to_string_lossy().into_owned();
    let before = std::fs::read(&img).unwrap();
    // -snapshot: the guest writes, the file does not change, and a second
    // boot sees nothing of the first.
    for _ in 0..2 {
        assert_eq!(boots_recorded(&strings(&[&path, "-snapshot", "-no-reboot"])), 0);
    }
    assert!(std::fs::read(&img).unwrap() == before, "-snapshot changed the image");
    // snapshot=on on the drive does the same.
    let drive = format!("file={path},format=raw,snapshot=on");
    assert_eq!(boots_recorded(&strings(&["-drive", &drive, "-no-reboot"])), 0);
    assert!(std::fs::read(&img).unwrap() == before, "snapshot=on changed the image");
    // Without it the writes stay: the next boot reads them back.
    assert_eq!(boots_recorded(&strings(&[&path, "-no-reboot"])), 0);
    assert_eq!(boots_recorded(&strings(&[&path, "-no-reboot"])), 1);
    assert!(std::fs::read(&img).unwrap() != before);
}

#[test]
fn bad_images_get_one_clear_line() {
    let odd = scratch().join("odd-floppy.img");
    std::fs::write(&odd, vec![0u8; 1000]).unwrap();
    let empty = scratch().join("empty.img");
    std::fs::write(&empty, []).unwrap();
    let bad = scratch().join("bad.qcow2");
    std::fs::write(&bad, b"QFI\xfb\0\0\0\x09garbage").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["/nonexistent/disk.img"], "cannot open disk image /nonexistent/disk.img"),
        (&["-fda", odd.to_str().unwrap()], "odd-floppy.img"),
        (&[empty.to_str().unwrap()], "empty"),
        (&[bad.to_str().unwrap()], "qcow2"),
    ];
    for (args, needle) in cases {
        let mut a = vec!["run"];
        a.extend_from_slice(args);
        let run = common::vemu(&a);
        assert_eq!(run.status, Some(2), "{}", run.describe());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(lines.len() == 1 && lines[0].starts_with("vemu: "), "{}", run.describe());
        assert!(lines[0].contains(needle), "expected {needle:?}: {}", run.describe());
    }
}

#[test]
fn a_locked_image_is_refused_and_left_alone() {
    let img = copy_of("boot-hd.img", "locked.img");
    let path = img.to_string_lossy().into_owned();
    let before = std::fs::read(&img).unwrap();
    // QEMU holds it (paused, -S) ...
    require("qemu-system-i386");
    let mut qemu = Command::new("qemu-system-i386")
        .args(["-display", "none", "-S", "-drive", &format!("file={path},format=raw")])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starting QEMU");
    // ... once it has locked the image (its write lock byte, 201, in
    // /proc/locks): a vemu started before that would take the image first.
    use std::os::unix::fs::MetadataExt;
    let inode = format!(":{} ", std::fs::metadata(&img).unwrap().ino());
    let start = std::time::Instant::now();
    let covers_201 = |l: &str| {
        let mut f = l.split_whitespace().rev().map(|x| x.parse::<u64>().ok());
        let (end, first) = (f.next().flatten(), f.next().flatten());
        matches!((first, end), (Some(a), Some(b)) if a <= 201 && 201 <= b)
    };
    while !std::fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("OFDLCK") && l.contains(&inode) && covers_201(l))
    {
        assert!(start.elapsed() < Duration::from_secs(30), "QEMU never locked the image");
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = common::vemu(&["run", &path, "-no-reboot"]);
    let _ = qemu.kill();
    let _ = qemu.wait();
    assert_eq!(run.status, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("lock"), "{}", run.describe());
    assert!(std::fs::read(&img).unwrap() == before, "the image changed");
}

#[test]
fn a_qcow2_image_over_its_raw_backing_file_boots() {
    require("qemu-img");
    let dir = scratch().join("qcow2-boot");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("base.img");
    std::fs::copy(guests().join("boot-hd.img"), &base).unwrap();
    let overlay = dir.join("overlay.qcow2");
    let ok = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
        .arg(&base)
        .arg(&overlay)
        .status()
        .expect("qemu-img");
    assert!(ok.success());
    let run = vemu_until(&strings(&[&overlay.to_string_lossy(), "-no-reboot"]), &[]);
    assert!(run.status == Some(1) && run.last_line() == "PASS", "{}", run.describe());
}

#[test]
fn the_clock_follows_the_host() {
    // SYSLINUX waits one second of BIOS timer ticks at its prompt before it
    // boots the default: with the host clock that is a second of wall time
    // (an instruction-counted clock would take as long as a billion
    // instructions take).
    let start = std::time::Instant::now();
    let run =
        vemu_until(&strings(&[&image("hd-syslinux.img"), "-snapshot", "-no-reboot"]), &["Loading /vmlinuz"]);
    let secs = start.elapsed().as_secs_f64();
    assert!(!run.timed_out, "after {secs:.2} s: {}", run.describe());
    assert!(secs >= 0.9, "the prompt's second took {secs:.2} s of wall time: {}", run.describe());
}
