//! A PC: memory, CPU and devices built from a [`MachineConfig`], run until it
//! ends, with resets handled as the firmware would see them.
//!
//! Time is virtual (DESIGN.md, invariant 6): one nanosecond per instruction,
//! and when the CPU halts the clock moves straight on to the next device
//! event (a timer tick), so a run is the same every time. The run loop stops
//! the CPU at each device event so that interrupts arrive when they are due.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::rc::Rc;

use vemu_softmmu::{Memory, PhysAddr, PhysMemory, Shadow};
use vemu_translator::{attr, cr0, fl, reg, BusRequest, Cpu, CpuConfig, Exit, Seg, Segment};

use crate::error::MachineError;
use crate::firmware;
use crate::multiboot::{self, MultibootImage};
use crate::platform::{Outputs, PcBus};
use crate::trace::{FileTracer, SharedWriter};

/// What the machine boots.
#[derive(Clone, Debug)]
pub enum Boot {
    /// A BIOS image, placed as QEMU's `-bios`.
    Bios(PathBuf),
    /// A Multiboot kernel and its command line, booted without firmware.
    Kernel { path: PathBuf, append: String },
}

/// Everything `vemu run` can set.
#[derive(Clone, Debug)]
pub struct MachineConfig {
    pub boot: Boot,
    /// Guest RAM in MiB.
    pub ram_mb: u32,
    /// Stop instead of resetting on a triple fault or a reset request.
    pub no_reboot: bool,
    /// Stop after this many instructions.
    pub max_insns: Option<u64>,
    /// Write a per-instruction trace here.
    pub trace: Option<PathBuf>,
    /// The RTC's time at power-on, in seconds since 1970 (UTC); None: the
    /// host's time (as QEMU's `-rtc base=utc`).
    pub rtc_base: Option<i64>,
    /// Milliseconds the firmware waits before retrying when nothing boots;
    /// None: it never retries (fw_cfg `etc/boot-fail-wait`, as QEMU's
    /// `-boot reboot-timeout`).
    pub reboot_timeout: Option<u32>,
    pub cpu: CpuConfig,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            boot: Boot::Bios(PathBuf::new()),
            ram_mb: 128,
            no_reboot: false,
            max_insns: None,
            trace: None,
            rtc_base: None,
            reboot_timeout: None,
            cpu: CpuConfig::default(),
        }
    }
}

/// How a run ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A device ended the run with this status (isa-debug-exit: `(v << 1) | 1`).
    GuestExit(i32),
    /// The guest asked for a reset and `--no-reboot` was given.
    ResetRequested,
    /// The CPU shut down (a fault while delivering #DF) and `--no-reboot` was given.
    TripleFault { cs: u16, eip: u32 },
    /// `--max-insns` instructions ran.
    InstructionLimit,
    /// HLT with nothing left that could ever wake the CPU (interrupts
    /// disabled, or every interrupt line masked).
    HaltedForever { cs: u16, eip: u32, interrupts_enabled: bool },
}

impl Outcome {
    /// The process exit status `vemu run` ends with (see the README).
    pub fn exit_status(&self) -> i32 {
        match self {
            Outcome::GuestExit(code) => *code,
            Outcome::ResetRequested => 0,
            Outcome::TripleFault { .. } => 4,
            Outcome::InstructionLimit => 6,
            Outcome::HaltedForever { .. } => 8,
        }
    }

    /// A line for stderr, for the outcomes that need one.
    pub fn message(&self) -> Option<String> {
        match self {
            Outcome::GuestExit(_) | Outcome::ResetRequested => None,
            Outcome::TripleFault { cs, eip } => Some(format!(
                "the guest triple-faulted at {cs:04x}:{eip:08x}; stopped instead of resetting (--no-reboot)"
            )),
            Outcome::InstructionLimit => Some("stopped after the --max-insns limit".to_string()),
            Outcome::HaltedForever { cs, eip, interrupts_enabled } => Some(format!(
                "the guest halted at {cs:04x}:{eip:08x} with {}; nothing can wake it",
                if *interrupts_enabled { "every interrupt masked" } else { "interrupts disabled" }
            )),
        }
    }
}

/// The emulated PC.
pub struct Machine {
    pub cpu: Cpu,
    config: MachineConfig,
    kernel: Option<MultibootImage>,
    trace: Option<SharedWriter>,
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, MachineError> {
    std::fs::read(path).map_err(|source| MachineError::Read { path: path.clone(), source })
}

impl Machine {
    /// Builds the machine; output goes to stdout.
    pub fn new(config: MachineConfig) -> Result<Machine, MachineError> {
        let out = || Box::new(std::io::stdout()) as Box<dyn Write>;
        Self::with_outputs(config, out(), out())
    }

    /// Builds the machine with the debug console and COM1 going to the given sinks.
    pub fn with_outputs(
        config: MachineConfig,
        debugcon: Box<dyn Write>,
        serial: Box<dyn Write>,
    ) -> Result<Machine, MachineError> {
        let ram = config.ram_mb as u64 * (1 << 20);
        let mut phys = PhysMemory::new(ram)?;
        // No VGA card yet: the legacy video window answers nothing.
        phys.add_hole(0xa0000, 0x20000)?;
        let mut kernel = None;
        match &config.boot {
            Boot::Bios(path) => {
                let image = read_file(path)?;
                firmware::check_bios(path, &image)?;
                // The expansion ROM area and below the BIOS: nothing, until
                // the chipset shadows it with RAM.
                let low = firmware::low_alias_base(&image);
                if low > 0xc0000 {
                    phys.add_hole(0xc0000, low - 0xc0000)?;
                }
                firmware::map_bios(&mut phys, &image)?;
            }
            Boot::Kernel { path, append } => {
                let file = read_file(path)?;
                kernel = Some(multiboot::load(path, &file, append, phys.ram_size())?);
            }
        }
        let trace = match &config.trace {
            Some(path) => {
                let f = File::create(path)
                    .map_err(|source| MachineError::Create { path: path.clone(), source })?;
                Some(SharedWriter(Rc::new(RefCell::new(BufWriter::new(f)))))
            }
            None => None,
        };
        let wall = config.rtc_base.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        let mut bus = PcBus::new(
            Outputs { debugcon, serial, post: trace.clone().map(|t| Box::new(t) as Box<dyn Write>) },
            wall,
        );
        firmware::configure(&mut bus, ram as u32, config.reboot_timeout);
        let mut cpu = Cpu::new(Memory::new(phys), Box::new(bus), config.cpu);
        if let Some(t) = &trace {
            cpu.tracer = Some(Box::new(FileTracer::new(t.clone())));
        }
        let mut m = Machine { cpu, config, kernel, trace };
        m.power_on();
        Ok(m)
    }

    /// The CPU at its reset state, and a Multiboot kernel (re)loaded if there is one.
    fn power_on(&mut self) {
        self.cpu.reset();
        if let Some(k) = &self.kernel {
            for c in &k.chunks {
                self.cpu.mem.write_phys(PhysAddr(c.addr), &c.bytes);
            }
            let s = &mut self.cpu.state;
            let flat = |selector: u16, code: bool| {
                let ty = if code { attr::CODE | attr::WRITABLE_READABLE } else { attr::WRITABLE_READABLE };
                Segment {
                    selector,
                    base: 0,
                    limit: 0xffff_ffff,
                    attr: ty | attr::ACCESSED | attr::S | attr::PRESENT | attr::DB | attr::G,
                }
            };
            s.cr0 |= cr0::PE;
            s.gdtr.base = k.gdt;
            s.gdtr.limit = 0x17;
            for seg in Seg::ALL {
                s.segs[seg as usize] = if seg == Seg::CS { flat(0x08, true) } else { flat(0x10, false) };
            }
            s.flags.set(fl::FIXED1);
            s.regs = [0; 8];
            s.regs[reg::EAX] = multiboot::BOOT_MAGIC;
            s.regs[reg::EBX] = k.mbi;
            s.regs[reg::ESP] = 0x9_f000;
            s.eip = k.entry;
        }
    }

    /// Changes where `run` stops: after this many instructions in all (None: no limit).
    pub fn set_max_insns(&mut self, max: Option<u64>) {
        self.config.max_insns = max;
    }

    /// The devices.
    pub fn bus(&mut self) -> &mut PcBus {
        self.cpu.bus.as_any_mut().downcast_mut::<PcBus>().expect("the machine's bus is a PcBus")
    }

    /// Resets the machine (CPU, devices, the chipset's shadowing; memory
    /// survives).
    pub fn reset(&mut self) {
        let now = self.cpu.now();
        let bus = self.bus();
        bus.ports.set_time(now);
        bus.ports.reset();
        for (base, len, read_ram, write_ram) in vemu_devices::pam_segments([0; 7]) {
            self.cpu.mem.set_shadow(PhysAddr(base), len, Shadow { read_ram, write_ram });
        }
        self.power_on();
    }

    /// Runs until the guest or a limit ends the run.
    pub fn run(&mut self) -> Outcome {
        let outcome = loop {
            if let Some(outcome) = self.step() {
                break outcome;
            }
        };
        if let Some(t) = &self.trace {
            let _ = t.0.borrow_mut().flush();
        }
        outcome
    }

    /// With the CPU halted: the clock skips to the next device event that can
    /// wake it (when `skip`); if none ever can (interrupts disabled, or every
    /// line masked), the run has ended.
    fn sleep(&mut self, skip: bool) -> Option<Outcome> {
        let s = &self.cpu.state;
        let interrupts_enabled = s.flags.bits & fl::IF != 0;
        let now = self.cpu.now();
        let event = if interrupts_enabled { self.bus().next_wakeup(now) } else { None };
        match event {
            Some(t) => {
                if skip {
                    self.cpu.warp += t.saturating_sub(now);
                }
                None
            }
            None => {
                let s = &self.cpu.state;
                Some(Outcome::HaltedForever { cs: s.seg(Seg::CS).selector, eip: s.eip, interrupts_enabled })
            }
        }
    }

    /// Runs one slice: the CPU until its budget (at most the next device event
    /// or the instruction limit) is spent or it stops for something, which is
    /// then handled. Returns how the run ended, if it did.
    pub fn step(&mut self) -> Option<Outcome> {
        const SLICE: u64 = 1 << 20;
        // A CPU that halted at the end of the last slice and that nothing
        // can ever wake has ended, whatever the instruction limit says (the
        // clock moves on, if something can wake it, when the CPU says it
        // is halted below).
        if self.cpu.state.halted {
            if let Some(end) = self.sleep(false) {
                return Some(end);
            }
        }
        let mut budget = match self.config.max_insns {
            Some(max) if self.cpu.icount >= max => return Some(Outcome::InstructionLimit),
            Some(max) => (max - self.cpu.icount).min(SLICE),
            None => SLICE,
        };
        // Stop when the next device event is due.
        let now = self.cpu.now();
        if let Some(event) = self.bus().next_event(now) {
            budget = budget.min(event.saturating_sub(now).max(1));
        }
        match self.cpu.run(budget) {
            Exit::Budget => {}
            Exit::Halted => {
                if let Some(end) = self.sleep(true) {
                    return Some(end);
                }
            }
            Exit::Request(BusRequest::Exit(code)) => return Some(Outcome::GuestExit(code)),
            Exit::Request(BusRequest::Reset) => {
                if self.config.no_reboot {
                    return Some(Outcome::ResetRequested);
                }
                self.reset();
            }
            Exit::Request(BusRequest::SetA20(on)) => self.cpu.mem.set_a20(on),
            Exit::Request(BusRequest::Shadow { base, len, read_ram, write_ram }) => {
                self.cpu.mem.set_shadow(PhysAddr(base), len, Shadow { read_ram, write_ram })
            }
            Exit::TripleFault => {
                if self.config.no_reboot {
                    let s = &self.cpu.state;
                    return Some(Outcome::TripleFault { cs: s.seg(Seg::CS).selector, eip: s.eip });
                }
                self.reset();
            }
        }
        None
    }
}
