//! The interpreter and the JIT in lockstep (see `vemu_difftest::lockstep`):
//! every test ROM and every benchmark workload runs in both tiers, compared at
//! every exit from compiled code, and a JIT with a deliberately wrong inline
//! ADD must be caught. A missing nasm fails the test.

use std::path::{Path, PathBuf};

use vemu_difftest::lockstep::{self, Side};
use vemu_difftest::{assemble_with, rom_dir, Engine};

fn work() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lockstep");
    std::fs::create_dir_all(&d).expect("work directory");
    d
}

/// More instructions than any guest here runs: a runaway guest ends the test.
const LIMIT: u64 = 20_000_000_000;

/// Runs `rom` in both tiers; the first disagreement, if any.
fn both_tiers(name: &str, rom: &Path, jit_defect: bool) -> Result<(), String> {
    // As `vemu run` does: a triple fault resets (the triplefault ROM counts on it).
    let mut interp = Side::new(rom, Engine::Interp, 32, false, LIMIT, false)?;
    let mut jit = Side::new(rom, Engine::Jit, 32, false, LIMIT, jit_defect)?;
    let r = lockstep::run(name, &mut interp, &mut jit)?;
    let out = interp.console.text();
    assert!(out.lines().last() == Some("PASS"), "{name} did not pass:\n{out}");
    assert!(r.stops > 2, "{name}: compared only {} times", r.stops);
    Ok(())
}

fn test_roms() -> Vec<(String, PathBuf)> {
    let mut roms: Vec<_> = std::fs::read_dir(rom_dir())
        .expect("test-roms directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "asm"))
        .collect();
    roms.sort();
    assert!(roms.len() >= 30, "the test ROMs are missing");
    roms.into_iter()
        .map(|src| {
            let name = src.file_stem().unwrap().to_string_lossy().into_owned();
            let bin = work().join(format!("{name}.bin"));
            assemble_with(&src, &bin, &[]).unwrap();
            (name, bin)
        })
        .collect()
}

fn workload(name: &str) -> PathBuf {
    let src = rom_dir().join("../benches/roms").join(format!("{name}.asm"));
    let bin = work().join(format!("bench-{name}.bin"));
    assemble_with(&src, &bin, &[]).unwrap();
    bin
}

#[test]
fn test_roms_run_alike_in_both_tiers() {
    for (name, bin) in test_roms() {
        both_tiers(&name, &bin, false).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn benchmark_workloads_run_alike_in_both_tiers() {
    for name in ["crc32", "sieve", "memops", "fib", "syscall", "codedata"] {
        both_tiers(name, &workload(name), false).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_miscompiled_add_is_caught() {
    // fib adds in a tight loop of calls and returns: the first translation
    // with an inline ADD leaves a wrong register, caught at its exit.
    let err = both_tiers("fib", &workload("fib"), true).expect_err("the broken JIT went unnoticed");
    assert!(err.contains("CPU states differ"), "{err}");
    for (name, bin) in test_roms().iter().filter(|(n, _)| n == "alu" || n == "stack") {
        assert!(both_tiers(name, bin, true).is_err(), "{name}: the broken JIT went unnoticed");
    }
}
