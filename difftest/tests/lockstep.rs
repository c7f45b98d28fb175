//! The interpreter and the JIT in lockstep (see `vemu_difftest::lockstep`):
//! every test ROM, every benchmark workload and a generated stream of every
//! family in every mode runs in both tiers, compared at every exit from
//! compiled code, and a JIT with a deliberately wrong inline ADD must be
//! caught. A missing nasm fails the test.

use std::path::{Path, PathBuf};

use vemu_difftest::gen::{Family, Mode};
use vemu_difftest::lockstep::{self, Side};
use vemu_difftest::run::cpu_model;
use vemu_difftest::{assemble_with, rom_cpu, rom_dir, stream_rom, CpuModel, Engine, StreamRom};
use vemu_translator::CpuConfig;

fn work() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lockstep");
    std::fs::create_dir_all(&d).expect("work directory");
    d
}

/// More instructions than any guest here runs: a runaway guest ends the test.
const LIMIT: u64 = 20_000_000_000;

/// Runs `rom` in both tiers on `model`; the first disagreement, if any.
fn both_tiers(name: &str, rom: &Path, model: CpuModel, jit_defect: bool) -> Result<(), String> {
    // As `vemu run` does: a triple fault resets (the triplefault ROM counts on it).
    // The JIT side compiles with the optimiser from the first run (a
    // threshold of 1); tests/diff.rs runs `Engine::Jit` as users get it,
    // in the baseline tier until blocks are hot.
    let cpu = |engine| CpuConfig {
        engine,
        jit_threshold: 1,
        jit_defect: jit_defect && engine == Engine::Jit,
        model,
        ..CpuConfig::default()
    };
    let mut interp = Side::new(rom, 32, false, LIMIT, cpu(Engine::Interp))?;
    let mut jit = Side::new(rom, 32, false, LIMIT, cpu(Engine::Jit))?;
    let r = lockstep::run(name, &mut interp, &mut jit)?;
    let out = interp.console.text();
    assert!(out.lines().last() == Some("PASS"), "{name} did not pass:\n{out}");
    assert!(r.stops > 2, "{name}: compared only {} times", r.stops);
    Ok(())
}

/// The test ROMs: name, image, and the CPU to run it on (the one its `; cpu:`
/// line names, or the default).
fn test_roms() -> Vec<(String, PathBuf, CpuModel)> {
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
            let model = rom_cpu(&src).unwrap().unwrap_or_default();
            (name, bin, model)
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
    for (name, bin, model) in test_roms() {
        both_tiers(&name, &bin, model, false).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn benchmark_workloads_run_alike_in_both_tiers() {
    for name in ["crc32", "sieve", "memops", "fib", "syscall", "codedata", "matmul", "mandel"] {
        both_tiers(name, &workload(name), CpuModel::default(), false).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The generated streams of tests/diff.rs, which QEMU checks one instruction
/// at a time, here in whole blocks: the optimiser compiles their regions
/// (many instructions, helpers and cold paths in one translation), which
/// single steps never give it.
#[test]
fn generated_streams_run_alike_in_both_tiers() {
    for family in Family::ALL {
        for mode in Mode::ALL {
            let StreamRom { name, rom: bin, .. } = stream_rom(family, mode, 1, 2500, &work(), &[]).unwrap();
            let cpu =
                |engine| CpuConfig { engine, jit_threshold: 1, model: cpu_model(), ..CpuConfig::default() };
            let mut interp = Side::new(&bin, 32, true, LIMIT, cpu(Engine::Interp)).unwrap();
            let mut jit = Side::new(&bin, 32, true, LIMIT, cpu(Engine::Jit)).unwrap();
            let r = lockstep::run(&name, &mut interp, &mut jit).unwrap_or_else(|e| panic!("{e}"));
            assert!(r.instructions > 2500, "{name}: the stream ended early ({:?})", r.outcome);
            assert!(r.stops > 2, "{name}: compared only {} times", r.stops);
        }
    }
}

#[test]
fn a_miscompiled_add_is_caught() {
    // fib adds in a tight loop of calls and returns: the first translation
    // with an inline ADD leaves a wrong register, caught at its exit.
    let err = both_tiers("fib", &workload("fib"), CpuModel::default(), true)
        .expect_err("the broken JIT went unnoticed");
    assert!(err.contains("CPU states differ"), "{err}");
    for (name, bin, model) in test_roms().iter().filter(|(n, ..)| n == "alu" || n == "stack") {
        assert!(both_tiers(name, bin, *model, true).is_err(), "{name}: the broken JIT went unnoticed");
    }
}
