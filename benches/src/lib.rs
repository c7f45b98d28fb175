//! The benchmark workloads (issue 4): guest programs under `benches/roms/`,
//! assembled with nasm on the test-ROM frame, and run in-process in vemu with a
//! chosen engine. Criterion's `guests` benchmark and the `compare-qemu` binary
//! both build on this; neither owns any emulation of its own.
//!
//! Every workload checks its own result and prints `PASS` last on the debug
//! console, so a benchmark that ran wrong code fails instead of reporting speed.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vemu::{Boot, Captured, Machine, MachineConfig, Outcome};
use vemu_translator::{CpuConfig, Engine};

/// The workloads, by the name of their source in `benches/roms/`.
pub const WORKLOADS: &[&str] =
    &["crc32", "sieve", "memops", "fib", "syscall", "codedata", "mandel", "matmul"];

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Assembles `benches/roms/{name}.asm` with `-DSCALE={scale}` (plus `defines`)
/// into `dir`, and returns the image's path.
pub fn assemble(name: &str, scale: u32, defines: &[&str], dir: &Path) -> Result<PathBuf, String> {
    let src = repo().join("benches/roms").join(format!("{name}.asm"));
    let suffix: String = defines.iter().map(|d| format!("-{}", d.to_lowercase().replace('=', "_"))).collect();
    let out = dir.join(format!("{name}-x{scale}{suffix}.bin"));
    let lib = repo().join("test-roms/lib/");
    let mut cmd = Command::new("nasm");
    cmd.args(["-f", "bin", "-i"]).arg(&lib).arg(format!("-DSCALE={scale}"));
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    let status = cmd
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .map_err(|e| format!("cannot run nasm (run scripts/install-deps.sh): {e}"))?;
    if !status.success() {
        return Err(format!("nasm failed on {}", src.display()));
    }
    Ok(out)
}

/// A machine with the workload loaded, at its reset state, ready to [`Prepared::run`].
pub struct Prepared {
    machine: Machine,
    console: Captured,
}

/// Builds a 128 MiB PC booting `rom` with `engine`.
pub fn prepare(rom: &Path, engine: Engine) -> Result<Prepared, String> {
    let console = Captured::default();
    let config = MachineConfig {
        boot: Boot::Bios(rom.to_path_buf()),
        no_reboot: true,
        max_insns: Some(50_000_000_000),
        cpu: CpuConfig { engine, ..CpuConfig::default() },
        ..MachineConfig::default()
    };
    let machine = Machine::with_outputs(config, Box::new(console.clone()), Box::new(std::io::sink()))
        .map_err(|e| e.to_string())?;
    Ok(Prepared { machine, console })
}

impl Prepared {
    /// Runs the workload to its end; returns the guest instructions executed,
    /// or what went wrong if it did not pass.
    pub fn run(mut self) -> Result<u64, String> {
        let outcome = self.machine.run();
        let text = self.console.text();
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        if outcome != Outcome::GuestExit(1) || last != "PASS" {
            return Err(format!("the workload failed ({outcome:?}); it printed:\n{text}"));
        }
        Ok(self.machine.cpu.icount)
    }
}

/// Assembles and runs one workload; returns its instruction count.
pub fn run_workload(rom: &Path, engine: Engine) -> Result<u64, String> {
    prepare(rom, engine)?.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let d = std::env::temp_dir().join(format!("vemu-benches-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Every workload computes the right answer in both tiers, and both tiers
    /// count the same instructions (criterion's throughput relies on it).
    #[test]
    fn workloads_pass_in_both_tiers_with_equal_counts() {
        let dir = scratch();
        for name in WORKLOADS {
            let rom = assemble(name, 1, &[], &dir).unwrap();
            let interp =
                run_workload(&rom, Engine::Interp).unwrap_or_else(|e| panic!("{name} (interp): {e}"));
            let jit = run_workload(&rom, Engine::Jit).unwrap_or_else(|e| panic!("{name} (jit): {e}"));
            assert_eq!(interp, jit, "{name}: the tiers count different instruction totals");
            assert!(interp > 500_000, "{name}: only {interp} instructions; not a workload");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A workload that computes a wrong answer is reported, not timed.
    #[test]
    fn a_wrong_result_is_an_error() {
        let dir = scratch().join("wrong");
        std::fs::create_dir_all(&dir).unwrap();
        let rom = assemble("fib", 1, &["EXPECTED=1"], &dir).unwrap();
        let err = run_workload(&rom, Engine::Jit).unwrap_err();
        assert!(err.contains("FAIL"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
