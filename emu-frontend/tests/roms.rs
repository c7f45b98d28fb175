//! Every test ROM in test-roms/ passes in vemu (interpreter, JIT, and the two
//! together) and in QEMU (`-DQEMU` build: the
//! checks QEMU 7.2 is known to get wrong are left out), and, when it holds such
//! checks, in Bochs as well. A ROM passes when it prints "PASS" last and (vemu,
//! QEMU) exits through isa-debug-exit with 0, i.e. exit status 1. A ROM that
//! names a CPU (`; cpu: ...`, see test-roms/roms.rs) runs in vemu on the
//! default model and on that one, where it may skip nothing ("SKIP:" lines
//! name what a CPU without a feature leaves out), and in QEMU on that one.

mod common;

use std::path::PathBuf;

use common::{assemble, bochs_bios, qemu_bios, repo, scratch, vemu};

fn check_rom(name: &str) {
    let src = repo().join("test-roms").join(format!("{name}.asm"));
    let dir = scratch();
    let rom = dir.join(format!("{name}.bin"));
    let rom_qemu: PathBuf = dir.join(format!("{name}.qemu.bin"));
    assemble(&src, &rom, &[]);
    assemble(&src, &rom_qemu, &["QEMU"]);
    let text = std::fs::read_to_string(&src).expect("ROM source");
    let cpu = text.lines().find_map(|l| l.strip_prefix("; cpu:")).map(str::trim);
    let skips_nothing = |run: &common::Run| !run.stdout.lines().any(|l| l.starts_with("SKIP:"));

    // Both tiers, and the default (interpreted first, compiled when hot).
    for engine in ["interp", "jit", "auto"] {
        let args = ["run", "--bios", rom.to_str().unwrap(), "--max-insns", "100000000", "--engine", engine];
        let run = vemu(&args);
        assert!(
            run.status == Some(1) && run.last_line() == "PASS",
            "{name} fails in vemu (--engine {engine}): {}",
            run.describe()
        );
        if let Some(cpu) = cpu {
            let run = vemu(&[&args[..], &["-cpu", cpu]].concat());
            assert!(
                run.status == Some(1) && run.last_line() == "PASS" && skips_nothing(&run),
                "{name} fails in vemu (--engine {engine} -cpu {cpu}): {}",
                run.describe()
            );
        }
    }

    let qemu_args: Vec<&str> = cpu.map(|c| vec!["-cpu", c]).unwrap_or_default();
    let run = qemu_bios(&rom_qemu, &qemu_args);
    assert!(
        run.status == Some(1) && run.last_line() == "PASS" && skips_nothing(&run),
        "{name} fails in QEMU: {}",
        run.describe()
    );

    if text.lines().any(|l| l.starts_with("%ifndef QEMU")) {
        // Bochs has no isa-debug-exit: the ROM's output decides.
        let run = bochs_bios(&rom);
        let passed =
            run.stdout.lines().any(|l| l == "PASS") && !run.stdout.lines().any(|l| l.starts_with("FAIL"));
        assert!(passed, "{name} fails in Bochs: {}", run.describe());
    }
}

macro_rules! rom_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_rom(stringify!($name));
            }
        )*
        const ROMS: &[&str] = &[$(stringify!($name)),*];
    };
}

include!("../../test-roms/roms.rs");
for_each_rom!(rom_tests);

#[test]
fn every_rom_in_the_directory_has_a_test() {
    check_rom_list(&repo().join("test-roms"), ROMS);
}
