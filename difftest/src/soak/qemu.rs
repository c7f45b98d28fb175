//! The soak against QEMU (`vemu-diff soak --qemu`): each generated case
//! ([`gen::Flavour::Qemu`]: no timer interrupts, no time-dependent ports) is
//! made into a BIOS image ([`rom`]) and run single-stepped in QEMU and traced
//! in vemu, and the traces are compared as the ROM tests compare them, with
//! the reviewed allowlist (vemu right, QEMU 7.2 wrong).
//!
//! vemu's tier changes from case to case (interpreter, JIT compiling every
//! block, JIT compiling blocks on their third run), so both tiers meet
//! QEMU. A case runs until it ends or until vemu has run the case limit;
//! QEMU is stopped soon after, and when either run was cut the traces are
//! compared as far as both go.
//!
//! Known gaps are counted apart, not as divergences: random x87 code meets
//! QEMU 7.2's departures from the SDM at once (no stack faults, no C1 for a
//! result rounded up, no DE), so a case that runs an x87 instruction is
//! compared up to it; the x87 has its own ROM and host-processor oracle.

use std::path::Path;
use std::time::{Duration, Instant};

use vemu_translator::Engine;

use super::gen::{self, Flavour};
use super::{rom, SoakOptions};
use crate::compare::{self, Allowlist};
use crate::run::{self, QemuBound, QemuEnd};

/// What the soak against QEMU found.
#[derive(Debug, Default)]
pub struct QemuReport {
    pub cases: u64,
    /// Instructions vemu ran, over all cases.
    pub instructions: u64,
    /// Steps (instructions, a REP instruction once) found equal in both traces.
    pub steps_compared: u64,
    /// Cases compared only up to an x87 instruction.
    pub stopped_at_x87: u64,
    /// Cases compared up to a difference an allowlist entry explains (vemu
    /// right, QEMU wrong, and the runs cannot agree after it), by reason.
    pub explained: std::collections::BTreeMap<String, u64>,
    /// Allowlisted differences met.
    pub allowed: u64,
    /// (case, engine, the divergence, where the image was kept).
    pub divergences: Vec<(u64, Engine, String, String)>,
    pub elapsed: Duration,
}

impl QemuReport {
    pub fn clean(&self) -> bool {
        self.divergences.is_empty()
    }

    pub fn text(&self, seed: u64) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "soak against QEMU: seed {seed}, {} cases, {} instructions in vemu, {} steps compared, {:.1} s",
            self.cases,
            self.instructions,
            self.steps_compared,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            t,
            "  {} allowlisted differences; {} cases compared up to an x87 instruction",
            self.allowed, self.stopped_at_x87
        );
        for (reason, n) in &self.explained {
            let _ = writeln!(t, "  {n} cases compared up to an explained difference: {reason}");
        }
        let _ = writeln!(t, "  {} divergences", self.divergences.len());
        for (case, engine, what, image) in &self.divergences {
            let _ = writeln!(t, "  case {case} ({engine:?}, image {image}):\n{what}");
            let _ = writeln!(
                t,
                "    reproduce: vemu-diff soak --qemu --seed {seed} --first-case {case} --cases 1"
            );
        }
        t
    }
}

/// vemu's tier for case `case`.
fn engine_of(case: u64) -> (Engine, u32) {
    match case % 3 {
        0 => (Engine::Interp, 0),
        1 => (Engine::Jit, 0),
        _ => (Engine::Auto, 3),
    }
}

/// Runs the soak against QEMU; `progress` hears about every case.
pub fn run(
    opts: &SoakOptions,
    work: &Path,
    allow: &Allowlist,
    mut progress: impl FnMut(&QemuReport),
) -> Result<QemuReport, String> {
    let start = Instant::now();
    let mut report = QemuReport::default();
    let mut case = opts.first_case;
    loop {
        let done = opts.cases.is_some_and(|n| report.cases >= n)
            || opts.instructions.is_some_and(|n| report.instructions >= n)
            || opts.seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s);
        if done {
            break;
        }
        let c = gen::generate_for(super::case_seed(opts.seed, case), Flavour::Qemu);
        let image = rom::image(&c)?;
        let path = work.join(format!("soak-{}-{case}.bin", opts.seed));
        let ram_path = work.join(format!("soak-{}-{case}.ram", opts.seed));
        for (p, bytes) in [(&path, &image.bios), (&ram_path, &image.ram)] {
            std::fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        let (engine, threshold) = engine_of(case);
        let v = run::run_vemu_with(
            &path,
            opts.case_limit,
            |cfg| {
                cfg.no_reboot = true;
                cfg.cpu.engine = engine;
                if threshold > 0 {
                    cfg.cpu.jit_threshold = threshold;
                }
            },
            &image.ram,
        )?;
        let vemu_ended = v.exit_status != vemu::Outcome::InstructionLimit.exit_status();
        report.instructions += v.steps.len() as u64;
        // QEMU logs every iteration of a REP instruction: let it run well
        // past vemu's count, bounded in time and disk.
        let bound = QemuBound {
            steps: 4 * v.steps.len() as u64 + 10_000,
            log_bytes: 4 << 30,
            stall: Duration::from_secs(3),
            time: Duration::from_secs(300),
        };
        let loader = format!("loader,file={},addr=0,force-raw=on", ram_path.display());
        let q =
            run::run_qemu_bounded(&path, work, &["-no-reboot", "-vga", "none", "-device", &loader], bound)?;
        let (mut vs, mut qs) = (compare::normalise(v.steps), compare::normalise(q.steps));
        // A run that was cut is compared as far as it goes, less its last
        // step (which may be part of a REP instruction the other side
        // finished); a run that ended must end where the other does.
        let mut n = usize::MAX;
        if !vemu_ended {
            n = n.min(vs.len().saturating_sub(1));
        }
        if q.end == QemuEnd::Cut {
            n = n.min(qs.len().saturating_sub(1));
        }
        vs.truncate(n);
        qs.truncate(n);
        let cmp = compare::compare(&vs, &qs, allow);
        report.allowed += cmp.allowed.len() as u64;
        report.steps_compared += cmp.steps as u64;
        match cmp.divergence {
            None => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(&ram_path);
            }
            Some(d) => {
                let after = d.step.checked_sub(1).and_then(|k| vs[k].insn.as_ref());
                if let Some(reason) = d.explained {
                    *report.explained.entry(reason).or_insert(0) += 1;
                    let _ = std::fs::remove_file(&path);
                    let _ = std::fs::remove_file(&ram_path);
                } else if after.is_some_and(|i| is_x87(&i.mnemonic)) {
                    report.stopped_at_x87 += 1;
                    let _ = std::fs::remove_file(&path);
                    let _ = std::fs::remove_file(&ram_path);
                } else {
                    report.divergences.push((case, engine, d.text, path.display().to_string()));
                }
            }
        }
        report.cases += 1;
        report.elapsed = start.elapsed();
        progress(&report);
        case += 1;
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Whether an iced-x86 mnemonic (lower case) is an x87 instruction.
fn is_x87(mnemonic: &str) -> bool {
    mnemonic.starts_with('f')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x87_mnemonics() {
        assert!(is_x87("fld") && is_x87("fnstsw"));
        assert!(!is_x87("add") && !is_x87("lfs") && !is_x87("wait"));
    }
}
