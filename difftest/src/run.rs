//! Running a ROM in both emulators and collecting their traces: vemu in-process
//! with a tracer that also records each instruction's disassembly and flag
//! effects, QEMU as a process writing its `-d cpu,exec,nochain,int` log.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use iced_x86::{Formatter, Instruction, IntelFormatter, RflagsBits};
use vemu::{Boot, Machine, MachineConfig};
use vemu_translator::{CpuModel, CpuState, InterruptKind, Seg, Tracer};

use crate::record::{Event, Insn, State, Step};

/// The CPU model both emulators run: a Pentium III with SSE2 (QEMU has no
/// Pentium 4), with the features vemu lacks removed from QEMU's side
/// ([`CpuModel::qemu_equivalent`]).
pub fn cpu_model() -> CpuModel {
    CpuModel::parse("pentium3,+sse2").expect("vemu has a pentium3 model").0
}

/// QEMU's `-cpu` option for [`cpu_model`].
pub fn qemu_cpu() -> String {
    cpu_model().qemu_equivalent().expect("QEMU has a pentium3 model")
}

/// EFLAGS bits of iced-x86's `RflagsBits`.
pub fn eflags_of(bits: u32) -> u32 {
    const MAP: [(u32, u32); 9] = [
        (RflagsBits::OF, 0x800),
        (RflagsBits::SF, 0x80),
        (RflagsBits::ZF, 0x40),
        (RflagsBits::AF, 0x10),
        (RflagsBits::CF, 0x1),
        (RflagsBits::PF, 0x4),
        (RflagsBits::DF, 0x400),
        (RflagsBits::IF, 0x200),
        (RflagsBits::AC, 0x40000),
    ];
    MAP.iter().filter(|(i, _)| bits & i != 0).fold(0, |a, (_, e)| a | e)
}

/// The trace fields of a CPU state.
pub fn state_of(s: &CpuState) -> State {
    let r = &s.regs;
    let sel = |seg: Seg| s.seg(seg).selector as u32;
    State([
        r[0],
        r[3],
        r[1],
        r[2],
        r[6],
        r[7],
        r[5],
        r[4],
        s.eip,
        s.eflags(),
        s.cpl as u32,
        sel(Seg::ES),
        sel(Seg::CS),
        sel(Seg::SS),
        sel(Seg::DS),
        sel(Seg::FS),
        sel(Seg::GS),
        s.cr0,
        s.cr2,
        s.cr3,
        s.cr4,
    ])
}

/// What we learn about an instruction from iced-x86.
pub fn insn_of(ins: &Instruction) -> Insn {
    let mut text = String::new();
    IntelFormatter::new().format(ins, &mut text);
    Insn {
        text,
        mnemonic: format!("{:?}", ins.mnemonic()).to_lowercase(),
        undefined_flags: eflags_of(ins.rflags_undefined()),
        defined_flags: eflags_of(ins.rflags_written() | ins.rflags_cleared() | ins.rflags_set()),
    }
}

#[derive(Default)]
struct Collected {
    steps: Vec<Step>,
    events: Vec<Event>,
}

struct Collector(Rc<RefCell<Collected>>);

impl Tracer for Collector {
    fn before_instruction(&mut self, state: &CpuState, ins: &Instruction) {
        let mut c = self.0.borrow_mut();
        let events = std::mem::take(&mut c.events);
        c.steps.push(Step { events, state: state_of(state), insn: Some(insn_of(ins)) });
    }
    fn interrupt(&mut self, _state: &CpuState, vector: u8, error: Option<u32>, kind: InterruptKind) {
        let e = match kind {
            InterruptKind::Exception => Event::Exception { vector, error },
            InterruptKind::Software => Event::Software { vector },
            InterruptKind::Hardware => Event::Hardware { vector },
        };
        self.0.borrow_mut().events.push(e);
    }
}

/// How a vemu run ended, with its trace.
pub struct VemuRun {
    pub steps: Vec<Step>,
    pub exit_status: i32,
}

/// Runs a BIOS image in vemu with the trace on, the machine configured by
/// `configure` too, and `ram` loaded from physical address 0 before it
/// starts (as QEMU's `-device loader,addr=0` loads it).
pub fn run_vemu_with(
    rom: &Path,
    max_insns: u64,
    configure: impl FnOnce(&mut MachineConfig),
    ram: &[u8],
) -> Result<VemuRun, String> {
    let mut config = MachineConfig {
        boot: Boot::Bios(rom.to_path_buf()),
        max_insns: Some(max_insns),
        ..MachineConfig::default()
    };
    config.cpu.model = cpu_model();
    configure(&mut config);
    let sink = || Box::new(std::io::sink()) as Box<dyn std::io::Write>;
    let mut machine = Machine::with_outputs(config, sink(), sink()).map_err(|e| e.to_string())?;
    machine.cpu.mem.write_phys(vemu_softmmu::PhysAddr(0), ram);
    let collected = Rc::new(RefCell::new(Collected::default()));
    machine.cpu.tracer = Some(Box::new(Collector(collected.clone())));
    let outcome = machine.run();
    machine.cpu.tracer = None;
    let c = Rc::try_unwrap(collected).map_err(|_| "trace still shared".to_string())?.into_inner();
    Ok(VemuRun { steps: c.steps, exit_status: outcome.exit_status() })
}

/// Runs a BIOS image under QEMU with `-cpu cpu`, single-stepping with the
/// log on; returns its steps.
pub fn run_qemu(rom: &Path, work: &Path, cpu: &str, time_limit: Duration) -> Result<Vec<Step>, String> {
    let log = qemu_log_path(rom, work);
    let mut child = qemu_command(rom, &log, cpu, &[])?;
    let start = Instant::now();
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if start.elapsed() > time_limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("QEMU did not finish {} within {time_limit:?}", rom.display()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = std::fs::read_to_string(&log).map_err(|e| format!("reading {}: {e}", log.display()))?;
    let _ = std::fs::remove_file(&log);
    crate::qemu_log::parse(&text)
}

/// When to stop a QEMU run that does not end by itself.
#[derive(Clone, Copy, Debug)]
pub struct QemuBound {
    /// Stop once the log holds this many steps (instructions, REP iterations
    /// counted one by one as QEMU logs them).
    pub steps: u64,
    /// Stop once the log has grown past this many bytes.
    pub log_bytes: u64,
    /// Stop when the log has not grown for this long (the guest halted).
    pub stall: Duration,
    /// Stop after this long in any case.
    pub time: Duration,
}

/// How a bounded QEMU run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QemuEnd {
    /// QEMU exited (the guest exited, or shut down under `-no-reboot`).
    Exited,
    /// The log stopped growing: the guest halted for good.
    Stalled,
    /// A bound (steps, bytes, time) stopped it.
    Cut,
}

/// A bounded QEMU run.
pub struct QemuRun {
    /// The steps its log holds whole.
    pub steps: Vec<Step>,
    pub end: QemuEnd,
}

/// Runs a BIOS image under QEMU as [`run_qemu`] does, with `extra` options,
/// until it ends or reaches `bound`; a run stopped early gives the steps its
/// log holds whole.
pub fn run_qemu_bounded(
    rom: &Path,
    work: &Path,
    extra: &[&str],
    bound: QemuBound,
) -> Result<QemuRun, String> {
    let log = qemu_log_path(rom, work);
    let mut child = qemu_command(rom, &log, &qemu_cpu(), extra)?;
    let start = Instant::now();
    let mut grew = Instant::now();
    // The log read so far, for counting its steps as it grows.
    let mut reader: Option<std::fs::File> = None;
    let (mut size, mut steps, mut tail) = (0u64, 0u64, Vec::<u8>::new());
    const MARK: &[u8] = b"\nTrace ";
    let end = loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break QemuEnd::Exited;
        }
        if reader.is_none() {
            reader = std::fs::File::open(&log).ok();
        }
        if let Some(f) = reader.as_mut() {
            let mut fresh = Vec::new();
            std::io::Read::read_to_end(f, &mut fresh)
                .map_err(|e| format!("reading {}: {e}", log.display()))?;
            if !fresh.is_empty() {
                grew = Instant::now();
                size += fresh.len() as u64;
                tail.extend_from_slice(&fresh);
                steps += tail.windows(MARK.len()).filter(|w| *w == MARK).count() as u64;
                tail.drain(..tail.len().saturating_sub(MARK.len() - 1));
            }
        }
        let stalled = grew.elapsed() > bound.stall;
        if stalled || steps >= bound.steps || size > bound.log_bytes || start.elapsed() > bound.time {
            // SIGTERM: QEMU shuts down and flushes its log.
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().map_err(|e| e.to_string())?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
            break if stalled { QemuEnd::Stalled } else { QemuEnd::Cut };
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let bytes = std::fs::read(&log).map_err(|e| format!("reading {}: {e}", log.display()))?;
    let _ = std::fs::remove_file(&log);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    let steps = match crate::qemu_log::parse(&text) {
        Ok(steps) => steps,
        Err(_) if end != QemuEnd::Exited => {
            // The step being written when QEMU was stopped is incomplete.
            match text.rfind("\nTrace ") {
                Some(at) => text.truncate(at + 1),
                None => text.clear(),
            }
            crate::qemu_log::parse(&text)?
        }
        Err(e) => return Err(e),
    };
    Ok(QemuRun { steps, end })
}

fn qemu_log_path(rom: &Path, work: &Path) -> PathBuf {
    let log = work.join(format!("{}.qemu.log", rom.file_stem().unwrap_or_default().to_string_lossy()));
    let _ = std::fs::remove_file(&log);
    log
}

/// QEMU running `rom` on `-cpu cpu` single-stepped with its log going to `log`.
fn qemu_command(rom: &Path, log: &Path, cpu: &str, extra: &[&str]) -> Result<std::process::Child, String> {
    Command::new("qemu-system-i386")
        // The RTC on the virtual clock (QEMU's default is the host's), so
        // that its periodic interrupt comes at the same instruction in
        // every run, as vemu's does, however busy the host is.
        .args(["-cpu", cpu, "-icount", "shift=0,sleep=off", "-rtc", "clock=vm", "-bios"])
        .arg(rom)
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-debugcon", "null", "-display", "none"])
        .args(extra)
        .args(["-singlestep", "-d", "cpu,exec,nochain,int", "-D"])
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-i386 (run scripts/install-deps.sh): {e}"))
}
