//! compare-pc: the PC around the CPU in vemu and in QEMU, side by side in one
//! run (issue 8). `benches/compare-pc.sh` builds and runs it.
//!
//! - `disk`: benches/roms/diskio.asm reads and writes 64 MiB of an IDE hard
//!   disk (a raw image in a temporary directory) by PIO and by bus-master
//!   DMA; both emulators run it as `-bios ROM -drive file=IMG,format=raw`, and
//!   MB/s are the 64 MiB over each mode's shortest wall time minus that of a
//!   run that moves nothing (the same ROM, MODE=0).
//! - `boot`: the wall time from starting the emulator to the boot loader's
//!   prompt ("boot:" on the serial console) on target/guests/hd-syslinux.img
//!   (scripts/build-guests.sh), through SeaBIOS, with the host clock as a user
//!   runs it (`vemu run IMG`, `qemu-system-i386 -display none -serial stdio
//!   IMG`), both with `-snapshot`.
//! - `linux`: the wall time from starting the emulator to the line
//!   "VEMU-GUEST-READY" that Debian's kernel's init prints on the serial
//!   console once the root file system is mounted (issue 11): from the SYSLINUX
//!   disk (`--medium disk`, the 686 kernel, SYSLINUX's one-second prompt
//!   included) or with `-kernel`/`-initrd`/`-append` (`--medium kernel`,
//!   either kernel), the same command line in both, with the host clock.
//!
//! The shortest of `--runs` runs counts (noise only adds time). For `linux`,
//! the CPU time each thread of that run had used by the marker is printed
//! too (from /proc): how much of the wall time each emulator's CPU thread
//! worked and how much it waited for the guest's timers, and what vemu's
//! compile thread did beside it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use vemu_benches::{assemble, repo};

#[derive(Parser)]
#[command(about = "Disk throughput and boot time of vemu and QEMU, side by side")]
struct Args {
    #[command(subcommand)]
    what: What,
    /// Timed runs of each case in each emulator; the shortest counts.
    #[arg(long, default_value_t = 3, global = true)]
    runs: usize,
    /// The vemu binary (default: the `vemu` beside this program).
    #[arg(long, global = true)]
    vemu: Option<PathBuf>,
    /// The QEMU binary.
    #[arg(long, default_value = "qemu-system-i386", global = true)]
    qemu: PathBuf,
}

#[derive(Subcommand)]
enum What {
    /// MB/s of PIO and DMA reads and writes of 64 MiB.
    Disk,
    /// Seconds from power-on to SYSLINUX's prompt.
    Boot,
    /// Seconds from power-on to Debian's init on the root file system.
    Linux {
        /// disk (SYSLINUX) or kernel (-kernel, -initrd, -append).
        #[arg(long, default_value = "kernel")]
        medium: String,
        /// The kernel: 686 or 686-pae.
        #[arg(long, default_value = "686")]
        flavor: String,
    },
}

/// A run: its wall time, whether the marker showed, and the CPU time of
/// each of the emulator's threads when it did (by thread name, most first).
struct Run {
    secs: f64,
    marked: bool,
    threads: Vec<(String, f64)>,
}

/// The CPU time (seconds) each thread of process `pid` has used, by thread
/// name, most first; empty where /proc does not tell (schedstat).
fn thread_cpu(pid: u32) -> Vec<(String, f64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut threads: Vec<(String, f64)> = tasks
        .flatten()
        .filter_map(|t| {
            let dir = t.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?.trim_end().to_string();
            let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            Some((name, schedstat_seconds(&stat)?))
        })
        .collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    threads
}

/// The time on the CPU in a /proc schedstat line (nanoseconds, its first
/// field), in seconds.
fn schedstat_seconds(line: &str) -> Option<f64> {
    let ns: u64 = line.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// `threads` as "name 1.23 s, name 0.45 s", leaving out those under 50 ms.
fn describe(threads: &[(String, f64)]) -> String {
    let shown: Vec<String> =
        threads.iter().filter(|t| t.1 >= 0.05).map(|(name, secs)| format!("{name} {secs:.2} s")).collect();
    if shown.is_empty() {
        "not known".into()
    } else {
        shown.join(", ")
    }
}

/// Starts `cmd` and waits until it exits, or its output shows `marker` (then
/// kills it): how long that took, whether the marker showed, and what the
/// threads had used by then.
fn time_until(cmd: &mut Command, marker: Option<&str>) -> Result<Run, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = out.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        let log = String::from_utf8_lossy(&seen);
        if marker.is_some_and(|m| log.contains(m)) {
            let secs = start.elapsed().as_secs_f64();
            let threads = thread_cpu(child.id());
            let _ = child.kill();
            let _ = child.wait();
            // A kernel that failed its self-tests may well boot faster.
            let complaints = vemu::linuxboot::kernel_complaints(&log);
            if !complaints.is_empty() {
                return Err(format!(
                    "{:?}: the guest's kernel complained:\n{}",
                    cmd.get_program(),
                    complaints.join("\n")
                ));
            }
            return Ok(Run { secs, marked: true, threads });
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            return Err(format!("{:?} ran for more than 300 s", cmd.get_program()));
        }
    }
    let _ = child.wait();
    let secs = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&seen);
    if marker.is_none() && text.lines().rev().find(|l| !l.trim().is_empty()).map(str::trim) != Some("PASS") {
        return Err(format!("{:?} did not pass: {text}", cmd.get_program()));
    }
    Ok(Run { secs, marked: marker.is_none(), threads: Vec::new() })
}

/// The shortest of `runs` runs.
fn shortest_run(cmd: &mut impl FnMut() -> Command, runs: usize, marker: Option<&str>) -> Result<Run, String> {
    let mut best: Option<Run> = None;
    for _ in 0..runs {
        let run = time_until(&mut cmd(), marker)?;
        if !run.marked {
            return Err(format!("{marker:?} never showed"));
        }
        if best.as_ref().is_none_or(|b| run.secs < b.secs) {
            best = Some(run);
        }
    }
    best.ok_or_else(|| "no runs".into())
}

/// The seconds of the shortest of `runs` runs.
fn shortest(cmd: &mut impl FnMut() -> Command, runs: usize, marker: Option<&str>) -> Result<f64, String> {
    shortest_run(cmd, runs, marker).map(|r| r.secs)
}

fn disk(args: &Args, vemu: &Path) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("vemu-compare-pc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let image = dir.join("disk.img");
    let file = std::fs::File::create(&image).map_err(|e| e.to_string())?;
    file.set_len(65 << 20).map_err(|e| e.to_string())?;
    let drive = format!("file={},format=raw", image.display());
    let modes = [(0, "nothing"), (1, "PIO read"), (2, "PIO write"), (3, "DMA read"), (4, "DMA write")];
    let mut times = Vec::new();
    for (mode, _) in modes {
        let define = format!("MODE={mode}");
        let rom = assemble("diskio", 1, &[&define], &dir)?;
        let v = shortest(
            &mut || {
                let mut c = Command::new(vemu);
                c.args(["run", "-no-reboot", "-bios"]).arg(&rom).args(["-drive", &drive]);
                c
            },
            args.runs,
            None,
        )?;
        let q = shortest(
            &mut || {
                let mut c = Command::new(&args.qemu);
                c.args(["-nodefaults", "-display", "none", "-no-reboot", "-bios"]).arg(&rom);
                c.args(["-drive", &format!("{drive},if=ide")]);
                c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-debugcon", "stdio"]);
                c
            },
            args.runs,
            None,
        )?;
        times.push((v, q));
    }
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "64 MiB", "vemu s", "qemu s", "vemu MB/s", "qemu MB/s", "ratio"
    );
    let (v0, q0) = times[0];
    for ((_, name), (v, q)) in modes.iter().zip(&times).skip(1) {
        let (vt, qt) = ((v - v0).max(1e-3), (q - q0).max(1e-3));
        let (vm, qm) = (64.0 / vt, 64.0 / qt);
        println!("{name:<10} {vt:>10.3} {qt:>10.3} {vm:>10.0} {qm:>10.0} {:>8.2}", vm / qm);
    }
    println!("(times less the run that moves nothing: vemu {v0:.3} s, QEMU {q0:.3} s)");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn boot(args: &Args, vemu: &Path) -> Result<(), String> {
    let image = repo().join("target/guests/hd-syslinux.img");
    if !image.is_file() {
        return Err(format!("{} is missing (run scripts/build-guests.sh)", image.display()));
    }
    let v = shortest(
        &mut || {
            let mut c = Command::new(vemu);
            c.args(["run", "-snapshot", "-no-reboot"]).arg(&image);
            c
        },
        args.runs,
        Some("boot:"),
    )?;
    let q = shortest(
        &mut || {
            let mut c = Command::new(&args.qemu);
            c.args(["-display", "none", "-serial", "stdio", "-snapshot", "-no-reboot", "-net", "none"]);
            c.args(["-drive", &format!("file={},format=raw", image.display())]);
            c
        },
        args.runs,
        Some("boot:"),
    )?;
    println!(
        "power-on to SYSLINUX's \"boot:\" on hd-syslinux.img: vemu {v:.3} s, QEMU {q:.3} s, ratio {:.2}",
        v / q
    );
    Ok(())
}

/// The guest's command line for `linux`, the same for both emulators.
fn linux_args(medium: &str, flavor: &str) -> Result<Vec<String>, String> {
    let guests = repo().join("target/guests");
    let file = |name: &str| -> Result<String, String> {
        let p = guests.join(name);
        if p.is_file() {
            Ok(p.to_string_lossy().into_owned())
        } else {
            Err(format!("{} is missing (run scripts/build-guests.sh)", p.display()))
        }
    };
    let disk = format!("file={},format=raw,index=0,media=disk", file("hd-syslinux.img")?);
    let mut a = vec!["-display".into(), "none".into(), "-serial".into(), "stdio".into(), "-snapshot".into()];
    a.extend(["-no-reboot".into(), "-drive".into(), disk]);
    match (medium, flavor) {
        ("disk", "686") => {}
        ("disk", _) => {
            return Err("the disk boots its default entry, the 686 kernel; use --medium kernel".into())
        }
        ("kernel", "686" | "686-pae") => {
            a.extend(["-kernel".into(), file(&format!("vmlinuz-{flavor}"))?]);
            a.extend(["-initrd".into(), file(&format!("initrd-{flavor}.img"))?]);
            a.extend(["-append".into(), "root=/dev/sda2 console=ttyS0 quiet".into()]);
        }
        _ => return Err(format!("--medium {medium} --flavor {flavor}: disk or kernel, 686 or 686-pae")),
    }
    Ok(a)
}

fn linux(args: &Args, vemu: &Path, medium: &str, flavor: &str) -> Result<(), String> {
    let guest = linux_args(medium, flavor)?;
    let marker = Some("VEMU-GUEST-READY");
    let v = shortest_run(
        &mut || {
            let mut c = Command::new(vemu);
            c.arg("run").args(&guest);
            c
        },
        args.runs,
        marker,
    )?;
    let q = shortest_run(
        &mut || {
            let mut c = Command::new(&args.qemu);
            c.args(["-net", "none"]).args(&guest);
            c
        },
        args.runs,
        marker,
    )?;
    println!(
        "power-on to VEMU-GUEST-READY (linux {flavor}, {medium}): vemu {:.2} s, QEMU {:.2} s, ratio {:.2}",
        v.secs,
        q.secs,
        v.secs / q.secs
    );
    println!(
        "CPU time by thread in those runs: vemu {}; QEMU {}",
        describe(&v.threads),
        describe(&q.threads)
    );
    Ok(())
}

fn main() {
    let args = Args::parse();
    let vemu = match &args.vemu {
        Some(p) => p.clone(),
        None => std::env::current_exe().map(|p| p.with_file_name("vemu")).unwrap_or_default(),
    };
    let result = if args.runs == 0 {
        Err("--runs must be at least 1".to_string())
    } else if !vemu.is_file() {
        Err(format!("no vemu binary at {} (build it: cargo build --release -p vemu)", vemu.display()))
    } else {
        match &args.what {
            What::Disk => disk(&args, &vemu),
            What::Boot => boot(&args, &vemu),
            What::Linux { medium, flavor } => linux(&args, &vemu, medium, flavor),
        }
    };
    if let Err(e) = result {
        eprintln!("compare-pc: {e}");
        std::process::exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_gives_the_time_on_the_cpu() {
        assert_eq!(schedstat_seconds("5350000000 12345 678\n"), Some(5.35));
        assert_eq!(schedstat_seconds(""), None);
        assert_eq!(schedstat_seconds("x 1 2"), None);
    }

    #[test]
    fn a_thread_that_works_shows_its_time() {
        let worker = std::thread::Builder::new()
            .name("busy-thread".into())
            .spawn(|| {
                // Busy until the thread itself has used 60 ms of CPU (on a
                // loaded machine that takes longer than 60 ms).
                let own = || {
                    std::fs::read_to_string("/proc/thread-self/schedstat")
                        .ok()
                        .and_then(|s| schedstat_seconds(&s))
                };
                let start = Instant::now();
                let mut x = 0u64;
                while own().unwrap_or(0.0) < 0.06 && start.elapsed() < Duration::from_secs(20) {
                    for _ in 0..100_000 {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                }
                thread_cpu(std::process::id())
            })
            .unwrap();
        let threads = worker.join().unwrap();
        let busy = threads.iter().find(|t| t.0 == "busy-thread").expect("the thread is listed");
        assert!(busy.1 >= 0.05, "{threads:?}");
        assert!(describe(&threads).contains("busy-thread"), "{}", describe(&threads));
        assert_eq!(describe(&[("idle".into(), 0.01)]), "not known");
    }
}
