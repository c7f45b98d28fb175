//! The interpreter and the JIT in lockstep (DESIGN.md, "Correctness"): every
//! test ROM and every benchmark workload runs in two machines, one per tier,
//! without tracing (so the JIT runs the code it runs for users). The JIT
//! machine runs whole translations, chained ones included, and stops at every
//! exit from compiled code; the interpreter machine then runs to the same
//! instruction count, and the two must agree: the CPU state (EFLAGS
//! materialized), every page of RAM either machine wrote since the last stop
//! (the soft MMU's dirty log), the console output and how the run ended. A
//! JIT with a deliberately wrong inline ADD must be caught.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{assemble, repo, scratch};
use vemu::{Boot, Captured, Machine, MachineConfig, Outcome};
use vemu_softmmu::PhysAddr;
use vemu_translator::{CpuConfig, Engine};

struct Side {
    machine: Machine,
    console: Captured,
    /// How the run ended, once it did.
    outcome: Option<Outcome>,
}

/// More instructions than any guest here runs: a runaway guest ends the test.
const MAX_INSNS: u64 = 20_000_000_000;

impl Side {
    fn new(rom: &Path, engine: Engine, jit_defect: bool) -> Side {
        let console = Captured::default();
        let config = MachineConfig {
            boot: Boot::Bios(rom.to_path_buf()),
            ram_mb: 32,
            // As `vemu run` does: a triple fault resets (the triplefault ROM
            // counts on it).
            no_reboot: false,
            max_insns: Some(MAX_INSNS),
            cpu: CpuConfig {
                engine,
                stop_after_compiled: engine == Engine::Jit,
                jit_defect,
                ..CpuConfig::default()
            },
            ..MachineConfig::default()
        };
        let mut machine = Machine::with_outputs(config, Box::new(console.clone()), Box::new(console.clone()))
            .unwrap_or_else(|e| panic!("{}: {e}", rom.display()));
        machine.cpu.mem.start_dirty_log();
        Side { machine, console, outcome: None }
    }

    fn icount(&self) -> u64 {
        self.machine.cpu.icount
    }

    /// One step of the JIT machine: to its next exit from compiled code (or
    /// the end of a slice, or the end of the run).
    fn step(&mut self) {
        if self.outcome.is_none() {
            self.outcome = self.machine.step();
        }
    }

    /// Runs the interpreter machine until `target` instructions have executed
    /// in all, or the guest ends.
    fn run_to(&mut self, target: u64) {
        if self.outcome.is_some() || self.icount() >= target {
            return;
        }
        self.machine.set_max_insns(Some(target));
        match self.machine.run() {
            Outcome::InstructionLimit if target < MAX_INSNS => {}
            end => self.outcome = Some(end),
        }
        self.machine.set_max_insns(Some(MAX_INSNS));
    }

    /// The CPU state with EFLAGS materialized.
    fn state(&self) -> String {
        let mut s = self.machine.cpu.state.clone();
        s.flags = vemu_translator::Flags::new(s.flags.get());
        format!("{s:?}")
    }

    fn page(&self, page: PhysAddr) -> &[u8] {
        let at = page.0 as usize;
        &self.machine.cpu.mem.phys.ram()[at..at + 0x1000]
    }
}

/// Runs `rom` in both tiers in lockstep; the first disagreement, if any.
fn lockstep(name: &str, rom: &Path, jit_defect: bool) -> Result<(), String> {
    let mut interp = Side::new(rom, Engine::Interp, false);
    let mut jit = Side::new(rom, Engine::Jit, jit_defect);
    let mut stops = 0u64;
    loop {
        jit.step();
        let at = jit.icount();
        interp.run_to(at);
        stops += 1;
        if interp.icount() != at {
            return Err(format!(
                "{name}: the interpreter stopped at {} instructions, the JIT at {at} ({:?} vs {:?})",
                interp.icount(),
                interp.outcome,
                jit.outcome
            ));
        }
        let (si, sj) = (interp.state(), jit.state());
        if si != sj {
            return Err(format!(
                "{name}: the CPU states differ after {at} instructions\ninterp: {si}\njit:    {sj}"
            ));
        }
        let written: BTreeSet<PhysAddr> = interp
            .machine
            .cpu
            .mem
            .take_dirty_pages()
            .into_iter()
            .chain(jit.machine.cpu.mem.take_dirty_pages())
            .collect();
        for page in written {
            let (pi, pj) = (interp.page(page), jit.page(page));
            if let Some(i) = (0..pi.len()).find(|&i| pi[i] != pj[i]) {
                return Err(format!(
                    "{name}: RAM differs after {at} instructions at {:#x}: {:#04x} vs {:#04x}",
                    page.0 as usize + i,
                    pi[i],
                    pj[i]
                ));
            }
        }
        let (oi, oj) = (interp.console.text(), jit.console.text());
        if oi != oj {
            return Err(format!("{name}: the output differs after {at} instructions:\n{oi}\n---\n{oj}"));
        }
        if interp.outcome != jit.outcome {
            return Err(format!(
                "{name}: the runs end differently: {:?} vs {:?}",
                interp.outcome, jit.outcome
            ));
        }
        if interp.outcome.is_some() {
            let (ri, rj) = (interp.machine.cpu.mem.phys.ram(), jit.machine.cpu.mem.phys.ram());
            assert!(ri == rj, "{name}: RAM differs at the end although no written page did");
            assert!(oi.lines().last() == Some("PASS"), "{name} did not pass:\n{oi}");
            assert!(stops > 2, "{name}: compared only {stops} times");
            return Ok(());
        }
    }
}

fn test_roms() -> Vec<(String, std::path::PathBuf)> {
    let dir = scratch();
    let mut roms: Vec<_> = std::fs::read_dir(repo().join("test-roms"))
        .expect("test-roms directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "asm"))
        .collect();
    roms.sort();
    assert!(roms.len() >= 30, "the test ROMs are missing");
    roms.into_iter()
        .map(|src| {
            let name = src.file_stem().unwrap().to_string_lossy().into_owned();
            let bin = dir.join(format!("lockstep-{name}.bin"));
            assemble(&src, &bin, &[]);
            (name, bin)
        })
        .collect()
}

fn workload(name: &str) -> std::path::PathBuf {
    let src = repo().join("benches/roms").join(format!("{name}.asm"));
    let bin = scratch().join(format!("lockstep-bench-{name}.bin"));
    assemble(&src, &bin, &[]);
    bin
}

#[test]
fn test_roms_run_alike_in_both_tiers() {
    for (name, bin) in test_roms() {
        lockstep(&name, &bin, false).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn benchmark_workloads_run_alike_in_both_tiers() {
    for name in ["crc32", "sieve", "memops", "fib", "syscall", "codedata"] {
        lockstep(name, &workload(name), false).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_miscompiled_add_is_caught() {
    // fib adds in a tight loop of calls and returns: the first translation
    // with an inline ADD leaves a wrong register, caught at its exit.
    let err = lockstep("fib", &workload("fib"), true).expect_err("the broken JIT went unnoticed");
    assert!(err.contains("CPU states differ"), "{err}");
    for (name, bin) in test_roms().iter().filter(|(n, _)| n == "alu" || n == "stack") {
        assert!(lockstep(name, bin, true).is_err(), "{name}: the broken JIT went unnoticed");
    }
}
