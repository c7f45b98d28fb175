//! compare-qemu: the benchmark workloads in vemu and in QEMU's TCG, side by
//! side in one run (issue 4). `benches/compare-qemu.sh` builds and runs it.
//!
//! Each workload is assembled twice, at a small and a large scale; both
//! emulators run each image as a user would (`vemu run --bios`,
//! `qemu-system-i386 -bios`), several times, alternating, and the shortest
//! wall time of each counts (on a shared machine, noise only ever adds time). Guest MIPS are the extra instructions of the large
//! image over the extra time it took, so process start-up, the ROM's set-up and
//! most translation cancel out and what remains is the speed of the running
//! guest. The instruction counts come from vemu (both emulators run the same
//! instructions: the differential tests hold them to it), and every run must
//! print PASS, so neither side is timed computing a wrong answer.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::Parser;
use vemu_benches::{assemble, run_workload, WORKLOADS};
use vemu_translator::Engine;

#[derive(Parser)]
#[command(about = "Guest MIPS of vemu and QEMU (TCG) on the benchmark workloads, side by side")]
struct Args {
    /// Workloads to run (default: all).
    workloads: Vec<String>,
    /// Timed runs of each image in each emulator; the shortest counts.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The vemu binary (default: the `vemu` beside this program).
    #[arg(long)]
    vemu: Option<PathBuf>,
    /// vemu's engine.
    #[arg(long, default_value = "jit")]
    engine: String,
    /// The QEMU binary.
    #[arg(long, default_value = "qemu-system-i386")]
    qemu: PathBuf,
    /// Multiplies every workload's large scale (longer, steadier runs).
    #[arg(long, default_value_t = 1)]
    factor: u32,
}

/// The large scale of each workload: about a second of guest time in QEMU.
fn large_scale(name: &str) -> u32 {
    match name {
        "crc32" => 48,
        "sieve" => 64,
        "memops" => 16,
        "fib" => 128,
        "syscall" => 48,
        "codedata" => 8,
        "mandel" => 8,
        "matmul" => 64,
        _ => 16,
    }
}

/// Runs `cmd` to its end; the seconds it took, or why it failed.
fn timed(cmd: &mut Command) -> Result<f64, String> {
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::piped()).stdout(Stdio::piped()).output();
    let secs = start.elapsed().as_secs_f64();
    let out = out.map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    if out.status.code() != Some(1) || last != "PASS" {
        return Err(format!(
            "{:?} did not pass (status {:?}): {}{}",
            cmd.get_program(),
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(secs)
}

fn shortest(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

struct Emulators {
    vemu: PathBuf,
    engine: String,
    qemu: PathBuf,
}

impl Emulators {
    fn vemu(&self, rom: &Path) -> Command {
        // Instruction-counted time: under the default host clock vemu holds a
        // guest back to one instruction per nanosecond of wall time (so that
        // guests paced by their timers do not run fast), which would measure
        // the cap, not the engine. QEMU's TCG without -icount has no cap.
        let mut c = Command::new(&self.vemu);
        c.args(["run", "-icount", "shift=0,sleep=off", "--bios"]).arg(rom).args(["--engine", &self.engine]);
        c
    }

    fn qemu(&self, rom: &Path) -> Command {
        let mut c = Command::new(&self.qemu);
        c.args(["-nodefaults", "-display", "none", "-machine", "pc", "-accel", "tcg", "-m", "128", "-bios"])
            .arg(rom)
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-debugcon", "stdio"]);
        c
    }
}

/// Shortest seconds of vemu and of QEMU on `rom`, runs alternating.
fn measure(emu: &Emulators, rom: &Path, runs: usize) -> Result<(f64, f64), String> {
    let (mut v, mut q) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        v.push(timed(&mut emu.vemu(rom))?);
        q.push(timed(&mut emu.qemu(rom))?);
    }
    Ok((shortest(&v), shortest(&q)))
}

fn run(args: Args) -> Result<(), String> {
    if args.runs == 0 || args.factor == 0 {
        return Err("--runs and --factor must be at least 1".to_string());
    }
    let vemu = match args.vemu {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this program's path: {e}"))?
            .with_file_name("vemu"),
    };
    if !vemu.is_file() {
        return Err(format!(
            "no vemu binary at {} (build it: cargo build --release -p vemu)",
            vemu.display()
        ));
    }
    let emu = Emulators { vemu, engine: args.engine, qemu: args.qemu };
    let names: Vec<String> = if args.workloads.is_empty() {
        WORKLOADS.iter().map(|s| s.to_string()).collect()
    } else {
        args.workloads
    };
    if let Some(bad) = names.iter().find(|n| !WORKLOADS.contains(&n.as_str())) {
        return Err(format!("unknown workload {bad}; the workloads are {}", WORKLOADS.join(", ")));
    }
    let dir = std::env::temp_dir().join(format!("vemu-compare-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    println!(
        "{:<8} {:>12} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "workload", "Δinsns", "vemu s", "qemu s", "vemu MIPS", "qemu MIPS", "ratio"
    );
    let mut ratios = Vec::new();
    for name in &names {
        let large = large_scale(name) * args.factor;
        let small_rom = assemble(name, 1, &[], &dir)?;
        let large_rom = assemble(name, large, &[], &dir)?;
        let small_n = run_workload(&small_rom, Engine::Jit).map_err(|e| format!("{name}: {e}"))?;
        let large_n = run_workload(&large_rom, Engine::Jit).map_err(|e| format!("{name}: {e}"))?;
        let (vs, qs) = measure(&emu, &small_rom, args.runs)?;
        let (vl, ql) = measure(&emu, &large_rom, args.runs)?;
        let insns = (large_n - small_n) as f64;
        let (vt, qt) = ((vl - vs).max(1e-6), (ql - qs).max(1e-6));
        let (vm, qm) = (insns / vt / 1e6, insns / qt / 1e6);
        ratios.push(vm / qm);
        println!(
            "{name:<8} {:>12} {vt:>10.3} {qt:>10.3} {vm:>10.0} {qm:>10.0} {:>8.2}",
            large_n - small_n,
            vm / qm
        );
    }
    let geo = ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len().max(1) as f64;
    println!("geometric mean of vemu/QEMU: {:.2}", geo.exp());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("compare-qemu: {e}");
        std::process::exit(2);
    }
}
