//! `vemu-diff`: runs ROMs in vemu and in QEMU, single-stepped, and reports the
//! first instruction after which their CPU states differ.
//!
//! ```text
//! vemu-diff rom FILE.asm|FILE.bin...          hand-written ROMs (.asm built with -DQEMU)
//! vemu-diff stream [--family F] [--mode M] [--seed S] [--count N]
//!                                             generated streams (all families and modes by default)
//! vemu-diff gen --family F --mode M --seed S --count N   print a generated ROM's source
//! vemu-diff soak [--seed S] [--instructions N] [--seconds T] [--cases N] [--first-case K]
//!                                             system-level guests, interpreter vs JIT
//! ```
//! Exit status: 0 when every run agrees, 1 on a divergence (or a host panic in
//! the soak), 2 on bad input, 3 when the soak finds a hang.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use vemu_difftest::gen::{generate, Family, Mode};
use vemu_difftest::run::cpu_model;
use vemu_difftest::soak::{self, SoakOptions};
use vemu_difftest::{
    assemble, default_allowlist, diff_rom_on, rom_cpu, stream_rom, Allowlist, CpuModel, Engine, QEMU_DEFINES,
};

#[derive(Parser)]
#[command(name = "vemu-diff", about = "Differential testing of vemu against QEMU")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compare hand-written ROMs (nasm sources or built images).
    Rom {
        #[arg(required = true)]
        roms: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Generate instruction streams and compare them.
    Stream {
        #[command(flatten)]
        select: Select,
        #[command(flatten)]
        common: Common,
    },
    /// Print the source of one generated ROM.
    Gen {
        #[command(flatten)]
        select: Select,
    },
    /// Run generated system-level guests in the interpreter and the JIT in
    /// lockstep (no QEMU): report cases, instructions, outcomes, vectors and
    /// every divergence, host panic or hang with its reproducer.
    Soak {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The first case to run (with --cases 1: reproduce one case).
        #[arg(long, default_value_t = 0)]
        first_case: u64,
        /// Stop after this many cases.
        #[arg(long)]
        cases: Option<u64>,
        /// Stop after this many instructions (in each tier).
        #[arg(long)]
        instructions: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<f64>,
        /// Most instructions one case runs (default: 2,000,000 in lockstep,
        /// 100,000 against QEMU).
        #[arg(long)]
        case_limit: Option<u64>,
        /// Compare each case with QEMU (single-stepped) instead of the two
        /// tiers with each other; the tier alternates between cases.
        #[arg(long)]
        qemu: bool,
        /// The allowlist for --qemu (default: difftest/allowlist.txt).
        #[arg(long)]
        allowlist: Option<PathBuf>,
        /// Where to keep files (default: a temporary directory).
        #[arg(long)]
        work: Option<PathBuf>,
    },
}

#[derive(Args)]
struct Select {
    /// Instruction family (alu shift muldiv bcd bit string data stack cond flags); all if absent.
    #[arg(long)]
    family: Option<String>,
    /// real, pm (32-bit paging) or pae (PAE paging); all if absent.
    #[arg(long)]
    mode: Option<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Instructions in total, spread over the families and modes selected.
    #[arg(long, default_value_t = 2000)]
    count: usize,
}

#[derive(Args)]
struct Common {
    /// vemu's engine: interp or jit (every block compiled, instrumented for the trace).
    #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
    engine: EngineArg,
    /// The allowlist (default: the project's difftest/allowlist.txt).
    #[arg(long)]
    allowlist: Option<PathBuf>,
    /// Where to keep built ROMs and logs (default: a temporary directory).
    #[arg(long)]
    work: Option<PathBuf>,
}

#[derive(Copy, Clone, clap::ValueEnum)]
enum EngineArg {
    Interp,
    Jit,
}

impl Common {
    fn engine(&self) -> Engine {
        match self.engine {
            EngineArg::Interp => Engine::Interp,
            EngineArg::Jit => Engine::Jit,
        }
    }
}

/// Largest stream in one ROM (it must fit the ROM's code sections).
const MAX_PER_ROM: usize = 2500;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vemu-diff: {e}");
            ExitCode::from(2)
        }
    }
}

fn selection(s: &Select) -> Result<(Vec<Family>, Vec<Mode>), String> {
    let families = match &s.family {
        Some(f) => vec![Family::parse(f).ok_or_else(|| format!("unknown family {f}"))?],
        None => Family::ALL.to_vec(),
    };
    let modes = match &s.mode {
        Some(m) => vec![Mode::parse(m).ok_or_else(|| format!("unknown mode {m} (real, pm or pae)"))?],
        None => Mode::ALL.to_vec(),
    };
    Ok((families, modes))
}

fn work_dir(common: &Common) -> Result<PathBuf, String> {
    let dir = match &common.work {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("vemu-diff-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn allowlist(common: &Common) -> Result<Allowlist, String> {
    match &common.allowlist {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            Allowlist::parse(&text)
        }
        None => Ok(default_allowlist()),
    }
}

/// Runs one ROM image on `model`; prints a line (and the divergence); true
/// if it agreed.
fn check(
    name: &str,
    rom: &Path,
    work: &Path,
    allow: &Allowlist,
    engine: Engine,
    model: &CpuModel,
) -> Result<(bool, usize), String> {
    let start = Instant::now();
    let r = diff_rom_on(rom, work, allow, engine, model)?;
    let c = &r.comparison;
    match &c.divergence {
        None => {
            println!(
                "{name}: {} steps agree ({} instructions, {} allowlisted, {:.1}s)",
                c.steps,
                r.vemu_steps,
                c.allowed.len(),
                start.elapsed().as_secs_f64()
            );
            Ok((true, r.vemu_steps))
        }
        Some(d) => {
            println!("{name}: DIVERGENCE\n{}", d.text);
            Ok((false, r.vemu_steps))
        }
    }
}

fn run(cli: Cli) -> Result<bool, String> {
    match cli.command {
        Cmd::Rom { roms, common } => {
            let work = work_dir(&common)?;
            let allow = allowlist(&common)?;
            let mut all = true;
            for src in roms {
                let name = src.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                let (bin, model) = if src.extension().is_some_and(|e| e == "asm") {
                    let out = work.join(format!("{name}.bin"));
                    assemble(&src, &out)?;
                    (out, rom_cpu(&src)?.unwrap_or_else(cpu_model))
                } else {
                    (src.clone(), cpu_model())
                };
                all &= check(&name, &bin, &work, &allow, common.engine(), &model)?.0;
            }
            Ok(all)
        }
        Cmd::Stream { select, common } => {
            let (families, modes) = selection(&select)?;
            let work = work_dir(&common)?;
            let allow = allowlist(&common)?;
            let start = Instant::now();
            let pairs = families.len() * modes.len();
            let per_pair = select.count.div_ceil(pairs);
            let mut all = true;
            let mut executed = 0;
            for f in &families {
                for m in &modes {
                    let mut left = per_pair;
                    let mut seed = select.seed;
                    while left > 0 {
                        let n = left.min(MAX_PER_ROM);
                        let s = stream_rom(*f, *m, seed, n, &work, QEMU_DEFINES)?;
                        let (ok, steps) =
                            check(&s.name, &s.rom, &work, &allow, common.engine(), &cpu_model())?;
                        executed += steps;
                        if !ok {
                            println!("  (source kept: {})", s.source.display());
                            all = false;
                        }
                        left -= n.min(left);
                        seed = seed.wrapping_add(0x1_0000);
                    }
                }
            }
            println!(
                "streams: {executed} instructions executed in {:.1}s, {}",
                start.elapsed().as_secs_f64(),
                if all { "no divergence" } else { "DIVERGENCES" }
            );
            Ok(all)
        }
        Cmd::Soak {
            seed,
            first_case,
            cases,
            instructions,
            seconds,
            case_limit,
            qemu,
            allowlist: list,
            work,
        } => {
            if cases.is_none() && instructions.is_none() && seconds.is_none() {
                return Err("soak needs --cases, --instructions or --seconds".into());
            }
            let common = Common { engine: EngineArg::Interp, allowlist: list, work };
            let work = work_dir(&common)?;
            let case_limit = case_limit.unwrap_or(if qemu { 100_000 } else { 2_000_000 });
            let opts = SoakOptions { seed, first_case, cases, instructions, seconds, case_limit };
            let mut last_print = Instant::now();
            if qemu {
                let allow = allowlist(&common)?;
                let report = soak::qemu::run(&opts, &work, &allow, |r| {
                    if last_print.elapsed().as_secs() >= 10 {
                        last_print = Instant::now();
                        eprintln!(
                            "soak --qemu: {} cases, {} instructions, {} divergences, {:.0} s",
                            r.cases,
                            r.instructions,
                            r.divergences.len(),
                            r.elapsed.as_secs_f64()
                        );
                    }
                })?;
                print!("{}", report.text(seed));
                return Ok(report.clean());
            }
            let report = soak::run(&opts, &work, |r| {
                if last_print.elapsed().as_secs() >= 10 {
                    last_print = Instant::now();
                    eprintln!(
                        "soak: {} cases, {} instructions, {} divergences, {} panics, {:.0} s",
                        r.cases,
                        r.instructions,
                        r.divergences.len(),
                        r.panics.len(),
                        r.elapsed.as_secs_f64()
                    );
                }
            })?;
            print!("{}", report.text(seed));
            Ok(report.clean())
        }
        Cmd::Gen { select } => {
            let (families, modes) = selection(&select)?;
            if families.len() != 1 || modes.len() != 1 {
                return Err("gen needs one --family and one --mode".into());
            }
            print!("{}", generate(families[0], modes[0], select.seed, select.count.min(MAX_PER_ROM)).source);
            Ok(true)
        }
    }
}
