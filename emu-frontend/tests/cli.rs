//! The command line as a user meets it: bad input gets one clear line on stderr
//! and a non-zero exit status (never a panic), and every way a run can end has
//! its documented exit status. Also: Multiboot kernels boot as under QEMU's
//! `-kernel`, and `--trace` writes the documented format.

mod common;

use std::path::PathBuf;

use common::{assemble, repo, require, run_with_limit, scratch, vemu, Run};

/// Builds tests/guests/NAME.asm into the scratch directory.
fn guest(name: &str) -> PathBuf {
    let src = repo().join("emu-frontend/tests/guests").join(format!("{name}.asm"));
    let out = scratch().join(format!("guest-{name}.bin"));
    assemble(&src, &out, &[]);
    out
}

/// One line on stderr, starting with "vemu:", and no sign of a panic.
fn assert_one_clear_line(run: &Run, status: i32, needle: &str) {
    assert_eq!(run.status, Some(status), "{}", run.describe());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {}", run.describe());
    assert!(lines[0].starts_with("vemu: "), "{}", run.describe());
    assert!(lines[0].contains(needle), "expected {needle:?}: {}", run.describe());
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
}

#[test]
fn missing_bios_file() {
    let run = vemu(&["run", "--bios", "/nonexistent/bios.bin"]);
    assert_one_clear_line(&run, 2, "cannot read /nonexistent/bios.bin");
}

#[test]
fn bios_of_the_wrong_size() {
    let path = scratch().join("short.rom");
    std::fs::write(&path, vec![0u8; 1000]).unwrap();
    let run = vemu(&["run", "--bios", path.to_str().unwrap()]);
    assert_one_clear_line(&run, 2, "must be a non-zero multiple of 64 KiB");
    std::fs::write(&path, []).unwrap();
    let run = vemu(&["run", "--bios", path.to_str().unwrap()]);
    assert_one_clear_line(&run, 2, "is 0 bytes");
}

#[test]
fn a_kernel_that_is_not_multiboot() {
    let path = scratch().join("not-a-kernel");
    std::fs::write(&path, b"just some text, no header here").unwrap();
    let run = vemu(&["run", "--kernel", path.to_str().unwrap()]);
    assert_one_clear_line(&run, 2, "is neither a Linux kernel (bzImage) nor a Multiboot kernel");
    let run = vemu(&["run", "--kernel", "/nonexistent/kernel"]);
    assert_one_clear_line(&run, 2, "cannot read /nonexistent/kernel");
}

#[test]
fn usage_errors() {
    let run = vemu(&["run", "--bios", "x.rom", "--frobnicate"]);
    assert_eq!(run.status, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("--frobnicate"), "{}", run.describe());
    let run = vemu(&["run", "-hda"]);
    assert_eq!(run.status, Some(2), "{}", run.describe());
    let run = vemu(&["run", "-smp", "2", "disk.img"]);
    assert_one_clear_line(&run, 2, "-smp is a QEMU option vemu does not support");
    let run = vemu(&["run", "-drive", "file=x.img,if=virtio"]);
    assert_one_clear_line(&run, 2, "if=virtio");
    let run = vemu(&["run", "--bios", "x.rom", "-m", "0"]);
    assert_eq!(run.status, Some(2), "{}", run.describe());
    let run = vemu(&["run", "--bios", "x.rom", "-m", "100000"]);
    assert_eq!(run.status, Some(2), "{}", run.describe());
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
}

#[test]
fn triple_fault_resets_or_stops() {
    let rom = guest("triple");
    let run = vemu(&["run", "--bios", rom.to_str().unwrap(), "--no-reboot"]);
    assert_one_clear_line(&run, 4, "triple-faulted at f000:");
    // Without --no-reboot the machine resets, runs the ROM again, and so on.
    let run = vemu(&["run", "--bios", rom.to_str().unwrap(), "--max-insns", "2000"]);
    assert_one_clear_line(&run, 6, "--max-insns");
}

#[test]
fn halt_with_interrupts_disabled_ends_the_run() {
    let rom = guest("halt");
    let run = vemu(&["run", "--bios", rom.to_str().unwrap()]);
    assert_eq!(run.stdout, "halting\n");
    assert_one_clear_line(&run, 8, "interrupts disabled");
}

#[test]
fn halt_with_every_interrupt_masked_ends_the_run() {
    let rom = guest("halt-masked");
    let run = vemu(&["run", "--bios", rom.to_str().unwrap()]);
    assert_eq!(run.stdout, "halting\n");
    assert_one_clear_line(&run, 8, "every interrupt masked");
}

#[test]
fn a_halt_wakes_for_an_edge_that_came_while_interrupts_were_off() {
    let rom = guest("halt-late-edge");
    for engine in ["interp", "jit"] {
        let run = vemu(&["run", "--bios", rom.to_str().unwrap(), "--engine", engine]);
        assert_eq!((run.status, run.last_line()), (Some(1), "PASS"), "{engine}: {}", run.describe());
    }
}

#[test]
fn instruction_limit() {
    let rom = guest("spin");
    let run = vemu(&["run", "--bios", rom.to_str().unwrap(), "--max-insns", "12345"]);
    assert_one_clear_line(&run, 6, "--max-insns");
}

#[test]
fn unimplemented_instructions_raise_ud_and_are_reported_once() {
    let rom = guest("unimplemented");
    let run = vemu(&["run", "--bios", rom.to_str().unwrap()]);
    assert_eq!(run.last_line(), "PASS", "{}", run.describe());
    assert_one_clear_line(&run, 1, "unimplemented instruction Monitor at f000:");
}

#[test]
fn multiboot_kernel_boots_in_vemu_and_qemu() {
    let kernel = guest("multiboot");
    let k = kernel.to_str().unwrap();
    let run = vemu(&["run", "--kernel", k, "--append", "hello=world", "-m", "32"]);
    assert_eq!((run.status, run.last_line()), (Some(1), "PASS"), "{}", run.describe());
    // The same kernel under QEMU's -kernel (with its BIOS): same verdict.
    require("qemu-system-i386");
    let mut cmd = std::process::Command::new("qemu-system-i386");
    cmd.args(["-kernel", k, "-append", "hello=world", "-m", "32"]);
    cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-debugcon", "stdio", "-display", "none"]);
    let run = run_with_limit(cmd, std::time::Duration::from_secs(60));
    assert_eq!((run.status, run.last_line()), (Some(1), "PASS"), "{}", run.describe());
}

#[test]
fn multiboot_kernel_too_big_for_memory() {
    let kernel = guest("multiboot");
    let run = vemu(&["run", "--kernel", kernel.to_str().unwrap(), "-m", "1"]);
    assert_one_clear_line(&run, 2, "beyond the 1 MiB of RAM");
}

#[test]
fn trace_lines_have_the_documented_format() {
    let rom = repo().join("test-roms/framework.asm");
    let bin = scratch().join("trace-framework.bin");
    assemble(&rom, &bin, &[]);
    let trace = scratch().join("framework.trace");
    let run = vemu(&["run", "--bios", bin.to_str().unwrap(), "--trace", trace.to_str().unwrap()]);
    assert_eq!(run.status, Some(1), "{}", run.describe());
    let text = std::fs::read_to_string(&trace).unwrap();
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000f27 ESI=00000000 EDI=00000000 EBP=00000000 \
         ESP=00000000 EIP=0000fff0 EFL=00000002 CPL=0 ES=0000 CS=f000 SS=0000 DS=0000 FS=0000 GS=0000 \
         CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000"
    );
    // framework.asm takes a #DE in real mode and a #GP(0x48) in protected mode.
    assert!(text.lines().any(|l| l == "INT=00"), "no #DE line");
    assert!(text.lines().any(|l| l == "INT=0d ERR=00000048"), "no #GP line");
    let names = ["EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP", "EIP", "EFL", "CPL"];
    for line in text.lines().filter(|l| l.starts_with("EAX=")) {
        let keys: Vec<&str> = line.split(' ').map(|t| t.split('=').next().unwrap()).collect();
        assert_eq!(&keys[..names.len()], &names, "{line}");
        assert_eq!(keys.len(), 21, "{line}");
    }
}
