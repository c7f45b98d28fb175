//! Differential testing of vemu against QEMU (issue 3): a ROM runs in both,
//! single-stepped, and the CPU state before every instruction must agree.
//!
//! - [`record`]: the trace's steps and events;
//! - [`qemu_log`]: QEMU's `-d cpu,exec,nochain,int` log as steps;
//! - [`run`]: running a ROM in vemu (in-process, traced) and in QEMU;
//! - [`compare`]: alignment, undefined-flag masking, the allowlist, the report;
//! - [`gen`]: seeded random instruction streams, one family at a time;
//! - [`lockstep`]: the interpreter and the JIT side by side, compared at
//!   every exit from compiled code;
//! - [`soak`]: generated system-level guests run in lockstep, for a given
//!   number of instructions or time.

#![forbid(unsafe_code)]

pub mod compare;
pub mod gen;
pub mod lockstep;
pub mod qemu_log;
pub mod record;
pub mod rng;
pub mod run;
pub mod soak;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use compare::{Allowlist, Comparison};
pub use vemu_translator::{CpuModel, Engine};

/// The reviewed allowlist shipped with the project.
pub fn default_allowlist() -> Allowlist {
    Allowlist::parse(include_str!("../allowlist.txt")).expect("difftest/allowlist.txt parses")
}

/// Where the test ROM sources and their frame live.
pub fn rom_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-roms")
}

/// The CPU a test ROM source asks to be run on, if it names one: its header
/// line `; cpu: MODEL[,+flag...]` (QEMU's `-cpu` syntax, see test-roms/roms.rs).
pub fn rom_cpu(src: &Path) -> Result<Option<CpuModel>, String> {
    let text = std::fs::read_to_string(src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("; cpu:"))
        .map(|spec| {
            CpuModel::parse(spec.trim()).map(|(m, _)| m).map_err(|e| format!("{}: {e}", src.display()))
        })
        .transpose()
}

/// Assembles a ROM source as QEMU runs it (`-DQEMU`: checks QEMU 7.2 gets wrong
/// left out), so that both emulators run the same bytes; `-DDIFFTEST` also
/// leaves out loops whose trip count depends on device timing, which lockstep
/// comparison cannot follow where QEMU's devices keep other time (see
/// test-roms/timer.asm).
pub fn assemble(src: &Path, out: &Path) -> Result<(), String> {
    assemble_with(src, out, QEMU_DEFINES)
}

/// The nasm defines of [`assemble`].
pub const QEMU_DEFINES: &[&str] = &["QEMU", "DIFFTEST"];

/// A generated instruction stream ([`gen::generate`]) as a ROM on disk.
pub struct StreamRom {
    /// `FAMILY-MODE-SEED`, the name of its files.
    pub name: String,
    /// The source, kept for whoever reports a failure.
    pub source: PathBuf,
    pub rom: PathBuf,
}

/// Generates `count` instructions of `family` in `mode` from `seed`, writes
/// the source to `dir` and assembles it there with nasm's `defines` (see
/// [`assemble_with`]; [`assemble`]'s for a ROM QEMU runs too).
pub fn stream_rom(
    family: gen::Family,
    mode: gen::Mode,
    seed: u64,
    count: usize,
    dir: &Path,
    defines: &[&str],
) -> Result<StreamRom, String> {
    let name = format!("{}-{}-{seed}", family.name(), mode.name());
    let source = dir.join(format!("{name}.asm"));
    std::fs::write(&source, gen::generate(family, mode, seed, count).source)
        .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
    let rom = dir.join(format!("{name}.bin"));
    assemble_with(&source, &rom, defines)?;
    Ok(StreamRom { name, source, rom })
}

/// Assembles a ROM source (or a benchmark workload) with the given nasm
/// defines (`NAME` or `NAME=VALUE`).
pub fn assemble_with(src: &Path, out: &Path, defines: &[&str]) -> Result<(), String> {
    let lib = rom_dir().join("lib/");
    let status = Command::new("nasm")
        .args(["-f", "bin"])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-i")
        .arg(&lib)
        .arg(src)
        .arg("-o")
        .arg(out)
        .status()
        .map_err(|e| format!("cannot run nasm (run scripts/install-deps.sh): {e}"))?;
    if !status.success() {
        return Err(format!("nasm failed on {}", src.display()));
    }
    Ok(())
}

/// The outcome of one differential run.
pub struct DiffRun {
    pub comparison: Comparison,
    /// Instructions vemu executed (before normalisation).
    pub vemu_steps: usize,
    pub vemu_exit: i32,
}

/// Runs the BIOS image `rom` in vemu (with `engine`) and in QEMU and compares
/// the traces, on the runner's CPU ([`run::cpu_model`]).
pub fn diff_rom(rom: &Path, work: &Path, allow: &Allowlist, engine: Engine) -> Result<DiffRun, String> {
    diff_rom_on(rom, work, allow, engine, &run::cpu_model())
}

/// [`diff_rom`] on CPU `model`, which QEMU must have
/// ([`CpuModel::qemu_equivalent`]).
pub fn diff_rom_on(
    rom: &Path,
    work: &Path,
    allow: &Allowlist,
    engine: Engine,
    model: &CpuModel,
) -> Result<DiffRun, String> {
    let qemu_cpu = model.qemu_equivalent().ok_or_else(|| format!("QEMU has no CPU model {}", model.name))?;
    let v = run::run_vemu_with(
        rom,
        20_000_000,
        |c| {
            c.cpu.engine = engine;
            c.cpu.model = *model;
        },
        &[],
    )?;
    let vemu_steps = v.steps.len();
    let q = run::run_qemu(rom, work, &qemu_cpu, Duration::from_secs(600))?;
    let comparison = compare::compare(&compare::normalise(v.steps), &compare::normalise(q), allow);
    Ok(DiffRun { comparison, vemu_steps, vemu_exit: v.exit_status })
}
