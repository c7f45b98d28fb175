//! `vemu`: the command line. See README.md for the options and exit statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vemu::{Boot, Machine, MachineConfig};
use vemu_translator::Engine;

#[derive(Parser)]
#[command(name = "vemu", version, about = "An x86 PC emulator with a Cranelift JIT")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Power on a PC and run it.
    Run(RunArgs),
}

#[derive(Args)]
struct RunArgs {
    /// BIOS image (a multiple of 64 KiB), placed as QEMU's -bios places it.
    #[arg(long, value_name = "ROM", conflicts_with = "kernel", required_unless_present = "kernel")]
    bios: Option<PathBuf>,
    /// Multiboot kernel to boot without firmware, as QEMU's -kernel.
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// Kernel command line (with --kernel).
    #[arg(long, value_name = "CMDLINE", requires = "kernel", default_value = "")]
    append: String,
    /// Guest RAM in MiB.
    #[arg(short = 'm', long = "memory", value_name = "MB", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(1..=3584))]
    memory: u32,
    /// Stop instead of resetting when the guest triple-faults or asks for a reset.
    #[arg(long)]
    no_reboot: bool,
    /// When no device boots, the firmware retries after this many
    /// milliseconds; -1: never (as QEMU's -boot reboot-timeout).
    #[arg(long, value_name = "MS", default_value_t = -1, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-1..=65535))]
    reboot_timeout: i32,
    /// Stop after this many instructions (exit status 6).
    #[arg(long, value_name = "N")]
    max_insns: Option<u64>,
    /// Write one line per executed instruction to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// How guest code runs: interp (interpreter only), jit (compile every block),
    /// auto (compile blocks that have run --jit-threshold times).
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
    /// Runs of a block before --engine auto compiles it.
    #[arg(long, value_name = "N", default_value_t = 50)]
    jit_threshold: u32,
    /// Most translated blocks kept at once (least recently used ones are dropped).
    #[arg(long, value_name = "N", default_value_t = 16384,
          value_parser = clap::value_parser!(u32).range(1..))]
    tb_cache_size: u32,
}

#[derive(Copy, Clone, clap::ValueEnum)]
enum EngineArg {
    Interp,
    Jit,
    Auto,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; usage errors exit with 2.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let Command::Run(args) = cli.command;
    let boot = match (args.bios, args.kernel) {
        (Some(rom), _) => Boot::Bios(rom),
        (None, Some(path)) => Boot::Kernel { path, append: args.append },
        (None, None) => unreachable!("clap requires one of --bios and --kernel"),
    };
    let engine = match args.engine {
        EngineArg::Interp => Engine::Interp,
        EngineArg::Jit => Engine::Jit,
        EngineArg::Auto => Engine::Auto,
    };
    let mut config = MachineConfig {
        boot,
        ram_mb: args.memory,
        no_reboot: args.no_reboot,
        max_insns: args.max_insns,
        trace: args.trace,
        reboot_timeout: u32::try_from(args.reboot_timeout).ok(),
        ..MachineConfig::default()
    };
    config.cpu.engine = engine;
    config.cpu.jit_threshold = args.jit_threshold;
    config.cpu.block_cache_size = args.tb_cache_size as usize;
    let mut machine = match Machine::new(config) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("vemu: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = machine.run();
    if let Some(msg) = outcome.message() {
        eprintln!("vemu: {msg}");
    }
    ExitCode::from(outcome.exit_status() as u8)
}
