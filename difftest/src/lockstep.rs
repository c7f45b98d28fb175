//! The interpreter and the JIT in lockstep (DESIGN.md, "Correctness"): one
//! guest runs in two machines, one per tier. The JIT machine runs whole
//! translations, chained ones included, and stops at every exit from compiled
//! code; the interpreter machine then runs to the same instruction count, and
//! the two must agree on the CPU state (EFLAGS materialized), every RAM page
//! either machine wrote since the last stop (the soft MMU's dirty log), the
//! console output, and how the run ended.
//!
//! The lockstep test runs the test ROMs and benchmark workloads this way; the
//! system-level soak (`crate::soak`) runs generated guests.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use vemu::{Boot, Captured, Machine, MachineConfig, Outcome};
use vemu_softmmu::PhysAddr;
use vemu_translator::{CpuConfig, Engine};

/// Comparisons made so far in this process (a watchdog sees progress in it).
pub static STOPS: AtomicU64 = AtomicU64::new(0);

/// One of the two machines.
pub struct Side {
    pub machine: Machine,
    pub console: Captured,
    /// How the run ended, once it did.
    pub outcome: Option<Outcome>,
    /// The instruction limit of the whole run.
    limit: u64,
}

impl Side {
    /// A machine booting the BIOS image `rom` with `cpu` (its engine, model,
    /// ...; a JIT side stops at every exit from compiled code), `ram_mb` of
    /// RAM, resetting on a triple fault unless `no_reboot`, and at most
    /// `limit` instructions.
    pub fn new(rom: &Path, ram_mb: u32, no_reboot: bool, limit: u64, cpu: CpuConfig) -> Result<Side, String> {
        let console = Captured::default();
        let config = MachineConfig {
            boot: Boot::Bios(rom.to_path_buf()),
            ram_mb,
            no_reboot,
            max_insns: Some(limit),
            // The soak's guests keep time deterministic too: both sides
            // count instructions.
            cpu: CpuConfig { stop_after_compiled: cpu.engine == Engine::Jit, ..cpu },
            ..MachineConfig::default()
        };
        let mut machine = Machine::with_outputs(config, Box::new(console.clone()), Box::new(console.clone()))
            .map_err(|e| format!("{}: {e}", rom.display()))?;
        machine.cpu.mem.start_dirty_log();
        Ok(Side { machine, console, outcome: None, limit })
    }

    pub fn icount(&self) -> u64 {
        self.machine.cpu.icount
    }

    /// One step of the JIT machine: to its next exit from compiled code (or
    /// the end of a slice, or the end of the run).
    fn step(&mut self) {
        if self.outcome.is_none() {
            self.outcome = self.machine.step();
        }
        // Compiled code that ended in HLT: the next step sleeps, and ends the
        // run if nothing can wake the CPU, as the interpreter machine does
        // when it reaches the same instruction (see `Machine::step`).
        if self.outcome.is_none() && self.machine.cpu.state.halted {
            self.outcome = self.machine.step();
        }
        // A step that ends exactly at the limit: the run is over (the next
        // step would say so without running anything).
        if self.outcome.is_none() && self.icount() >= self.limit {
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
            Outcome::InstructionLimit if target < self.limit => {}
            end => self.outcome = Some(end),
        }
        self.machine.set_max_insns(Some(self.limit));
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

/// How a lockstep run went.
#[derive(Debug)]
pub struct Agreement {
    /// Times the two machines were compared.
    pub stops: u64,
    /// Instructions each executed.
    pub instructions: u64,
    /// How the run ended (the same on both).
    pub outcome: Outcome,
}

/// Runs `interp` (an `Engine::Interp` side) and `jit` (an `Engine::Jit` side)
/// in lockstep until the guest ends; the first disagreement, described, if
/// any.
pub fn run(name: &str, interp: &mut Side, jit: &mut Side) -> Result<Agreement, String> {
    let mut stops = 0u64;
    loop {
        let (from, from_eip) = (jit.icount(), jit.machine.cpu.state.eip);
        jit.step();
        let at = jit.icount();
        interp.run_to(at);
        if jit.outcome.is_some() && interp.outcome.is_none() {
            // The JIT machine's run ended with no instruction after the last
            // one both executed (an interrupt delivered into a triple fault,
            // say): let the interpreter machine take what is pending there
            // too. One more instruction would show as a divergence below.
            interp.run_to(at + 1);
        }
        stops += 1;
        STOPS.fetch_add(1, Ordering::Relaxed);
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
                "{name}: the CPU states differ after {at} instructions (the JIT ran from EIP {from_eip:#x} at {from})\ninterp: {si}\njit:    {sj}"
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
        let (oi, oj) = (interp.console.bytes(), jit.console.bytes());
        if oi != oj {
            return Err(format!(
                "{name}: the output differs after {at} instructions:\n{}\n---\n{}",
                String::from_utf8_lossy(&oi),
                String::from_utf8_lossy(&oj)
            ));
        }
        if interp.outcome != jit.outcome {
            return Err(format!(
                "{name}: the runs end differently: {:?} vs {:?}",
                interp.outcome, jit.outcome
            ));
        }
        if let Some(outcome) = interp.outcome.clone() {
            return Ok(Agreement { stops, instructions: at, outcome });
        }
    }
}
