//! The interpreter and the JIT in lockstep (DESIGN.md, "Correctness"): every
//! test ROM and every benchmark workload runs in two machines, one per tier,
//! without tracing (so the JIT runs the code it runs for users), stopping
//! together every so many instructions; at each stop the CPU state (EFLAGS
//! materialized) and the console output must be identical, and all of guest
//! RAM at every so many stops and at the end. The test ROMs stop after every
//! translated block the JIT runs (a budget of one instruction lets it run one
//! block), so each block's effect on the registers and flags is compared.

mod common;

use std::path::Path;

use common::{assemble, repo, scratch};
use vemu::{Boot, Captured, Machine, MachineConfig, Outcome};
use vemu_translator::{CpuConfig, Engine};

struct Side {
    machine: Machine,
    console: Captured,
    outcome: Outcome,
}

impl Side {
    fn new(rom: &Path, engine: Engine) -> Side {
        let console = Captured::default();
        let config = MachineConfig {
            boot: Boot::Bios(rom.to_path_buf()),
            ram_mb: 32,
            // As `vemu run` does: a triple fault resets (the triplefault ROM
            // counts on it).
            no_reboot: false,
            max_insns: Some(0),
            cpu: CpuConfig { engine, ..CpuConfig::default() },
            ..MachineConfig::default()
        };
        let machine = Machine::with_outputs(config, Box::new(console.clone()), Box::new(console.clone()))
            .unwrap_or_else(|e| panic!("{}: {e}", rom.display()));
        Side { machine, console, outcome: Outcome::InstructionLimit }
    }

    fn icount(&self) -> u64 {
        self.machine.cpu.icount
    }

    fn running(&self) -> bool {
        self.outcome == Outcome::InstructionLimit
    }

    /// Runs until at least `target` instructions have executed in all (blocks
    /// and REP chunks may carry it a little further) or the guest ends.
    fn run_to(&mut self, target: u64) {
        if self.running() && self.icount() < target {
            self.machine.set_max_insns(Some(target));
            self.outcome = self.machine.run();
        }
    }

    /// What must agree: the state (EFLAGS materialized), RAM, the output.
    fn snapshot(&self) -> (String, String) {
        let mut s = self.machine.cpu.state.clone();
        s.flags = vemu_translator::Flags::new(s.flags.get());
        (format!("{s:?}"), self.console.text())
    }
}

fn lockstep(name: &str, rom: &Path, chunk: u64, ram_every: u64) {
    let mut interp = Side::new(rom, Engine::Interp);
    let mut jit = Side::new(rom, Engine::Jit);
    let mut target = 0;
    let mut stops = 0;
    loop {
        target += chunk;
        interp.run_to(target);
        jit.run_to(target);
        // Bring the two to the same instruction boundary.
        for _ in 0..64 {
            let (a, b) = (interp.icount(), jit.icount());
            if a == b || !(interp.running() || jit.running()) {
                break;
            }
            if a < b {
                interp.run_to(b);
            } else {
                jit.run_to(a);
            }
        }
        stops += 1;
        let at = interp.icount();
        assert_eq!(at, jit.icount(), "{name}: the tiers stop at different instruction counts");
        let (si, oi) = interp.snapshot();
        let (sj, oj) = jit.snapshot();
        assert!(
            si == sj,
            "{name}: the CPU states differ after {at} instructions\ninterp: {si}\njit:    {sj}"
        );
        let (ri, rj) = (interp.machine.cpu.mem.phys.ram(), jit.machine.cpu.mem.phys.ram());
        let ended = !interp.running();
        if (ended || stops % ram_every == 0) && ri != rj {
            let i = (0..ri.len()).find(|&i| ri[i] != rj[i]).unwrap_or(0);
            panic!(
                "{name}: RAM differs after {at} instructions, first at {i:#x}: {:#04x} vs {:#04x}",
                ri[i], rj[i]
            );
        }
        assert_eq!(oi, oj, "{name}: the output differs after {at} instructions");
        assert_eq!(interp.outcome, jit.outcome, "{name}: the runs end differently");
        if !interp.running() {
            assert!(oi.lines().last() == Some("PASS"), "{name} did not pass:\n{oi}");
            assert!(stops > 1 || at < chunk, "{name}: never compared mid-run");
            return;
        }
    }
}

#[test]
fn test_roms_run_alike_in_both_tiers() {
    let dir = scratch();
    let mut roms: Vec<_> = std::fs::read_dir(repo().join("test-roms"))
        .expect("test-roms directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "asm"))
        .collect();
    roms.sort();
    assert!(roms.len() >= 30, "the test ROMs are missing");
    for src in roms {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        let bin = dir.join(format!("lockstep-{name}.bin"));
        assemble(&src, &bin, &[]);
        lockstep(&name, &bin, 1, 1000);
    }
}

#[test]
fn benchmark_workloads_run_alike_in_both_tiers() {
    let dir = scratch();
    for name in ["crc32", "sieve", "memops", "fib", "syscall", "codedata"] {
        let src = repo().join("benches/roms").join(format!("{name}.asm"));
        let bin = dir.join(format!("lockstep-bench-{name}.bin"));
        assemble(&src, &bin, &[]);
        lockstep(name, &bin, 3_000_000, 1);
    }
}
