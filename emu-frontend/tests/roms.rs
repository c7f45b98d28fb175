//! Every test ROM in test-roms/ passes in vemu (interpreter, JIT, and the two
//! together) and in QEMU (`-DQEMU` build: the
//! checks QEMU 7.2 is known to get wrong are left out), and, when it holds such
//! checks, in Bochs as well. A ROM passes when it prints "PASS" last and (vemu,
//! QEMU) exits through isa-debug-exit with 0, i.e. exit status 1.

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

    // Both tiers, and the default (interpreted first, compiled when hot).
    for engine in ["interp", "jit", "auto"] {
        let args = ["run", "--bios", rom.to_str().unwrap(), "--max-insns", "100000000", "--engine", engine];
        let run = vemu(&args);
        assert!(
            run.status == Some(1) && run.last_line() == "PASS",
            "{name} fails in vemu (--engine {engine}): {}",
            run.describe()
        );
    }

    let run = qemu_bios(&rom_qemu, &[]);
    assert!(run.status == Some(1) && run.last_line() == "PASS", "{name} fails in QEMU: {}", run.describe());

    let text = std::fs::read_to_string(&src).expect("ROM source");
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

rom_tests!(
    alu,
    bcd,
    bitops,
    callgate,
    codealias,
    condition,
    control,
    data,
    descinsn,
    doublefault,
    exceptions,
    framework,
    iobitmap,
    misc,
    modeswitch,
    muldiv,
    pagefault,
    paging,
    rings,
    seglimits,
    segments,
    shift,
    smc,
    stack,
    string,
    sysenter,
    system,
    task,
    timer,
    triplefault,
    unreal,
    v86,
);

#[test]
fn every_rom_in_the_directory_has_a_test() {
    let mut found: Vec<String> = std::fs::read_dir(repo().join("test-roms"))
        .expect("test-roms directory")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "asm").then_some(stem)
        })
        .collect();
    found.sort();
    let mut listed: Vec<String> = ROMS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "add new ROMs to rom_tests! in emu-frontend/tests/roms.rs");
}
