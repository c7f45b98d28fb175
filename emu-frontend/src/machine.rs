//! A PC: memory, CPU and devices built from a [`MachineConfig`], run until it
//! ends, with resets handled as the firmware would see them.
//!
//! Time is virtual (DESIGN.md, invariant 6): one nanosecond per instruction,
//! and when the CPU halts the clock moves straight on to the next device
//! event (a timer tick), so a run is the same every time. The run loop stops
//! the CPU at each device event so that interrupts arrive when they are due.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use vemu_softmmu::{Memory, PhysAddr, PhysMemory, Shadow};
use vemu_translator::{attr, cr0, fl, reg, BusRequest, Cpu, CpuConfig, Exit, Seg, Segment};

use crate::console::{Console, ConsoleEvent};
use crate::display::terminal::KeyParser;
use crate::display::{Displays, Input};
use crate::error::MachineError;
use crate::firmware;
use crate::linuxboot;
use crate::monitor::Monitor;
use crate::multiboot::{self, MultibootImage};
use crate::platform::{window, Outputs, PcBus};
use crate::trace::{FileTracer, SharedWriter};
use vemu_devices::Vga;

/// The emulator's speed, for [`Clock::Host`], measured over the slices the
/// CPU runs (not the time it sleeps halted, nor the time it compiles):
/// instructions then count the host time they take, so that the guest's
/// clock moves evenly with the host's.
///
/// - Were each instruction to count a nanosecond, an emulator running at
///   tens of MIPS would see its clock stand nearly still within a slice and
///   then have to jump to the host's time. A periodic timer loses the ticks
///   jumped over, and Linux, finding its TSC and PIT (or PM timer) disagree,
///   distrusts both. So the clock never jumps while the CPU runs: the
///   distance to the host's clock that a mismeasured rate leaves is closed
///   by running the clock faster or slower over the next window (as QEMU's
///   `-icount shift=auto`, but measured rather than searched for), and a
///   clock behind catches up when the guest halts.
/// - Compile time is left out because, counted in, it would make each
///   instruction of a compile burst count hundreds of nanoseconds: the timer
///   would fire every few thousand instructions, and ticks would be lost
///   behind any longer stretch with interrupts off.
#[derive(Default)]
struct Pace {
    insns: u64,
    host: Duration,
    /// The measured rate, smoothed.
    measured: Option<u64>,
    /// Instructions in the last window.
    window: u64,
    fresh: bool,
}

impl Pace {
    /// Enough instructions and time for a measurement worth taking.
    const WINDOW_INSNS: u64 = 4 << 20;
    const WINDOW_TIME: Duration = Duration::from_millis(50);

    fn ran(&mut self, insns: u64, took: Duration) {
        self.insns += insns;
        self.host += took;
        if self.insns >= Self::WINDOW_INSNS && self.host >= Self::WINDOW_TIME {
            let measured = (self.host.as_nanos() as u64 * vemu_translator::NS_PER_INSN / self.insns)
                .max(vemu_translator::NS_PER_INSN);
            // Smoothed, so that one slow slice (a compile burst) does not swing it.
            self.measured = Some(match self.measured {
                Some(old) => (old + measured) / 2,
                None => measured,
            });
            self.window = self.insns;
            self.insns = 0;
            self.host = Duration::ZERO;
            self.fresh = true;
        }
    }

    /// A new rate, once per measurement: the measured one, plus what closes
    /// `lag` (host time minus virtual time, in nanoseconds) over the next
    /// window, at most doubling the clock's speed; a clock ahead of the
    /// host's slows down as far as a tenth of the measured rate.
    fn rate(&mut self, lag: i64) -> Option<u64> {
        if !std::mem::take(&mut self.fresh) {
            return None;
        }
        let measured = self.measured? as i64;
        let window = self.window.max(1) as i64;
        let correction = (lag.saturating_mul(vemu_translator::NS_PER_INSN as i64) / window)
            .clamp(-measured * 9 / 10, measured);
        Some((measured + correction).max(1) as u64)
    }
}

/// What the machine boots.
#[derive(Clone, Debug)]
pub enum Boot {
    /// A BIOS image, placed as QEMU's `-bios`.
    Bios(PathBuf),
    /// A kernel and its command line (QEMU's `-kernel`, `-append`): a Linux
    /// image boots through the BIOS `bios` and the loader ROM, with `initrd`
    /// (see [`crate::linuxboot`]); a Multiboot kernel is loaded and entered
    /// without firmware.
    Kernel { path: PathBuf, append: String, initrd: Option<PathBuf>, bios: PathBuf },
}

/// How the machine's clock runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Clock {
    /// It follows the host's: timers tick at wall-clock rate whatever the
    /// engine's speed, and a halted guest sleeps until its next timer event
    /// (or a key). Within a slice, instructions count a nanosecond each; the
    /// clock is brought up to the host's between slices, and a guest running
    /// more than one instruction per nanosecond is held back.
    Host,
    /// Instructions count a nanosecond each (QEMU's `-icount shift=0`): the
    /// same run every time. With `sleep`, a halted guest still waits in real
    /// time for its next timer event; without (`sleep=off`), the clock jumps
    /// straight to it.
    Instructions { sleep: bool },
}

/// Which controller a drive hangs off.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Interface {
    /// IDE: index 0-3 is primary master, primary slave, secondary master,
    /// secondary slave (QEMU's -hda .. -hdd, -cdrom at 2).
    Ide,
    /// The floppy controller: index 0 is A:, 1 is B:.
    Floppy,
}

/// What a drive is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Media {
    Disk,
    Cdrom,
}

/// One drive and its image, as `-drive` describes it.
#[derive(Clone, Debug)]
pub struct DriveConfig {
    pub path: PathBuf,
    pub interface: Interface,
    pub index: u8,
    pub media: Media,
    /// None: probed from the file, as QEMU does.
    pub format: Option<vemu_devices::storage::image::Format>,
    pub read_only: bool,
    /// Writes go to a throw-away overlay (`snapshot=on`, `-snapshot`).
    pub snapshot: bool,
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
    /// The drives.
    pub drives: Vec<DriveConfig>,
    /// The firmware's boot order: drive letters as QEMU's `-boot order=`
    /// takes them (a floppy, c hard disk, d CD-ROM).
    pub boot_order: String,
    /// The firmware's boot menu (`-boot menu=on`).
    pub boot_menu: bool,
    pub clock: Clock,
    pub cpu: CpuConfig,
    /// The display adapter (`-vga std`, QEMU's default), or none (`-vga none`).
    pub vga: bool,
    /// The VGA BIOS behind the adapter's expansion ROM, if any.
    pub vga_bios: Option<PathBuf>,
    /// No display (QEMU's `-nographic`): the firmware is told so, and
    /// SeaBIOS then runs its serial console, so that what the BIOS shows
    /// and reads goes through COM1.
    pub nographic: bool,
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
            drives: Vec::new(),
            boot_order: "cad".to_string(),
            boot_menu: false,
            vga: true,
            vga_bios: None,
            nographic: true,
            clock: Clock::Instructions { sleep: false },
            cpu: CpuConfig::default(),
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A device ended the run with this status (isa-debug-exit: `(v << 1) | 1`).
    GuestExit(i32),
    /// The guest asked for a reset and `--no-reboot` was given.
    ResetRequested,
    /// The CPU shut down (a fault while delivering #DF) and `--no-reboot` was given.
    TripleFault { cs: u16, eip: u32 },
    /// `--max-insns` instructions ran.
    InstructionLimit,
    /// The user asked to stop (the console's Ctrl-A x, a signal, the
    /// monitor's quit); why (empty: nothing to say).
    Quit(String),
    /// HLT with nothing left that could ever wake the CPU (interrupts
    /// disabled, or every interrupt line masked).
    HaltedForever { cs: u16, eip: u32, interrupts_enabled: bool },
}

impl Outcome {
    /// The process exit status `vemu run` ends with (see the README).
    pub fn exit_status(&self) -> i32 {
        match self {
            Outcome::GuestExit(code) => *code,
            Outcome::ResetRequested | Outcome::Quit(_) => 0,
            Outcome::TripleFault { .. } => 4,
            Outcome::InstructionLimit => 6,
            Outcome::HaltedForever { .. } => 8,
        }
    }

    /// A line for stderr, for the outcomes that need one.
    pub fn message(&self) -> Option<String> {
        match self {
            Outcome::GuestExit(_) | Outcome::ResetRequested => None,
            Outcome::Quit(why) => (!why.is_empty()).then(|| why.clone()),
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
    /// The serial console's keys and the user's quit requests, if attached.
    console: Option<Console>,
    /// When the machine was powered on (for `Clock::Host`), moved on by the
    /// time it spent stopped.
    pub(crate) started: Instant,
    /// How fast the CPU runs, for the clock that follows the host's.
    pace: Pace,
    /// The monitor (QMP, the human monitor), if one is attached.
    pub(crate) monitor: Option<Monitor>,
    /// How a monitor command ended the run, to return between slices.
    pub(crate) pending_outcome: Option<Outcome>,
    /// The mouse buttons held, as monitor input events left them.
    pub(crate) mouse_buttons: u8,
    /// The viewers of the screen (VNC, the terminal), if any.
    pub(crate) displays: Option<Displays>,
    /// When the picture was last published, and the blink phases it had.
    last_refresh: Instant,
    last_blink: (bool, bool),
    /// With the terminal display, the terminal's keys go to the keyboard.
    term_keys: Option<KeyParser>,
    /// Key events from the displays and the terminal not yet given to the
    /// PS/2 keyboard: they go in as its queue drains, so that a line pasted
    /// or typed faster than the guest reads loses no keys.
    typed_keys: VecDeque<(vemu_devices::KeyCode, bool)>,
    /// `VEMU_JIT_STATS`'s report, if asked for.
    jit_stats: Option<crate::jitstats::JitStats>,
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, MachineError> {
    std::fs::read(path).map_err(|source| MachineError::Read { path: path.clone(), source })
}

/// Opens the drives' images and attaches them to their controllers.
fn attach_drives(bus: &mut PcBus, drives: &[DriveConfig]) -> Result<(), MachineError> {
    use vemu_devices::storage::ide::{Drive, IdeChannel, IdeUnit};
    use vemu_devices::{open_image, ImageOptions};
    for d in drives {
        let read_only = d.read_only || d.media == Media::Cdrom;
        let options = ImageOptions { format: d.format, read_only, snapshot: d.snapshot };
        let image = open_image(&d.path, options).map_err(MachineError::Image)?;
        let err = |why: String| MachineError::Drive { path: d.path.clone(), why };
        match d.interface {
            Interface::Ide => {
                let channel = if d.index < 2 { IdeChannel::Primary } else { IdeChannel::Secondary };
                let unit = if d.index % 2 == 0 { IdeUnit::Master } else { IdeUnit::Slave };
                let drive = match d.media {
                    Media::Disk => Drive::disk(image).map_err(|e| err(e.to_string()))?,
                    Media::Cdrom => Drive::cdrom(Some(image)),
                };
                bus.ide().attach(channel, unit, drive);
            }
            Interface::Floppy => {
                bus.fdc().insert(d.index, image).map_err(|e| err(e.to_string()))?;
            }
        }
    }
    Ok(())
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
        // The legacy video window: the VGA's, or nothing without one.
        let vga = if config.vga {
            phys.add_mmio(0xa0000, 0x20000, crate::platform::window::VGA_LEGACY)?;
            // Video memory and the VGA BIOS raise no interrupts.
            for id in [window::VGA_LEGACY, window::VGA_LFB, window::VGA_ROM] {
                phys.set_quiet(id);
            }
            let mut vga = Vga::new();
            if let Some(path) = &config.vga_bios {
                vga.set_rom(read_file(path)?);
            }
            Some(vga)
        } else {
            phys.add_hole(0xa0000, 0x20000)?;
            None
        };
        let mut kernel = None;
        let mut linux = None;
        let bios = match &config.boot {
            Boot::Bios(path) => Some(path),
            Boot::Kernel { path, append, initrd, bios } => {
                let file = read_file(path)?;
                if linuxboot::is_linux(&file) {
                    let initrd = match initrd {
                        Some(p) => Some((p.clone(), read_file(p)?)),
                        None => None,
                    };
                    linux = Some(linuxboot::load(path, &file, initrd, append, phys.ram_size())?);
                    Some(bios)
                } else {
                    kernel = Some(multiboot::load(path, &file, append, phys.ram_size())?);
                    if let Some(p) = initrd {
                        return Err(MachineError::KernelLayout {
                            path: p.clone(),
                            why: "vemu passes an initrd only to a Linux kernel, not to a Multiboot one"
                                .into(),
                        });
                    }
                    None
                }
            }
        };
        if let Some(path) = bios {
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
            vga,
            config.cpu.model.has(vemu_translator::cpuid::feature::APIC),
        );
        phys.add_mmio(
            vemu_devices::apic::ioapic::DEFAULT_BASE,
            vemu_devices::apic::ioapic::WINDOW_BYTES,
            window::IOAPIC,
        )?;
        for (id, base, len) in bus.take_window_changes() {
            phys.map_mmio(id, base, len)?;
        }
        attach_drives(&mut bus, &config.drives)?;
        firmware::configure(&mut bus, ram as u32, &config);
        if let Some(linux) = linux {
            linux.install(bus.fw_cfg());
        }
        let mut cpu = Cpu::new(Memory::new(phys), Box::new(bus), config.cpu);
        if let Some(t) = &trace {
            cpu.tracer = Some(Box::new(FileTracer::new(t.clone())));
        }
        let jit_stats = crate::jitstats::JitStats::from_env(&mut cpu);
        let mut m = Machine {
            cpu,
            config,
            kernel,
            trace,
            console: None,
            started: Instant::now(),
            pace: Pace::default(),
            monitor: None,
            pending_outcome: None,
            mouse_buttons: 0,
            displays: None,
            last_refresh: Instant::now(),
            last_blink: (false, false),
            term_keys: None,
            typed_keys: VecDeque::new(),
            jit_stats,
        };
        m.power_on();
        Ok(m)
    }

    /// The CPU at its reset state, and a Multiboot kernel (re)loaded if there is one.
    fn power_on(&mut self) {
        self.cpu.reset();
        if self.kernel.is_some() {
            // What the firmware would have left (QEMU's does this).
            self.bus().set_virtual_wire();
        }
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

    /// Attaches the serial console: its keys go to COM1 between slices, and
    /// a halted guest waiting for them sleeps until one comes.
    pub fn attach_console(&mut self, console: Console) {
        self.console = Some(console);
    }

    /// Attaches the monitor: its commands run between slices; with
    /// `-S` the machine starts stopped.
    pub fn attach_monitor(&mut self, monitor: Monitor) {
        self.monitor = Some(monitor);
    }

    /// Attaches viewers of the screen; with `terminal_keys`, what is typed
    /// on the console goes to the keyboard (the terminal display) instead of
    /// COM1.
    pub fn attach_displays(&mut self, displays: Displays, terminal_keys: bool) {
        self.displays = Some(displays);
        self.term_keys = terminal_keys.then(KeyParser::default);
    }

    /// Gives the PS/2 keyboard the typed keys its queue has room for.
    fn feed_typed_keys(&mut self) {
        while let Some(&(key, down)) = self.typed_keys.front() {
            let kbc = self.bus().kbc();
            if !kbc.keyboard_has_room_for(key, down) {
                break;
            }
            kbc.key_event(key, down);
            self.typed_keys.pop_front();
        }
    }

    /// Publishes a new picture for the viewers when the guest changed it
    /// (video memory, registers, the blink), at most every
    /// [`crate::display::REFRESH`]; hands their input to the PS/2 devices.
    pub(crate) fn refresh_displays(&mut self) {
        let Some(d) = &self.displays else { return };
        let input = d.take_input();
        let wanted = d.screen.take_wanted();
        for i in input {
            match i {
                Input::Key(k, down) => self.typed_keys.push_back((k, down)),
                Input::Mouse { dx, dy, dz, buttons } => self.bus().kbc().mouse_event(dx, dy, dz, buttons),
            }
        }
        if !wanted && self.last_refresh.elapsed() < crate::display::REFRESH {
            return;
        }
        self.last_refresh = Instant::now();
        let now = self.cpu.now();
        let blink = ((now / 266_666_667) % 2 == 0, (now / 533_333_333) % 2 == 0);
        let last_blink = std::mem::replace(&mut self.last_blink, blink);
        let Some(vga) = self.bus().vga() else { return };
        let (pages, full) = vga.take_dirty();
        let text_mode = matches!(vga.mode(), vemu_devices::ModeInfo::Text { .. });
        if !wanted && pages.is_empty() && !full && (!text_mode || blink == last_blink) {
            return;
        }
        let prev = self.displays.as_ref().map(|d| d.screen.latest().frame);
        let Some(vga) = self.bus().vga() else { return };
        let frame = match prev {
            Some(prev) if !full => vga.redraw(blink.0, blink.1, &prev, &pages),
            _ => vga.render(blink.0, blink.1),
        };
        let text = vga.text_screen(blink.0);
        if let Some(d) = &self.displays {
            d.screen.publish(frame, text);
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
        self.bus().reset(now);
        for (base, len, read_ram, write_ram) in vemu_devices::pam_segments([0; 7]) {
            self.cpu.mem.set_shadow(PhysAddr(base), len, Shadow { read_ram, write_ram });
        }
        for (id, base, len) in self.bus().take_window_changes() {
            self.map_window(id, base, len);
        }
        self.power_on();
    }

    /// Moves a device window (a PCI BAR); one that would not fit below 4 GiB
    /// stays out of the map.
    fn map_window(&mut self, id: vemu_softmmu::MmioId, base: u32, len: u32) {
        if self.cpu.mem.map_mmio(id, base, len).is_err() {
            let _ = self.cpu.mem.map_mmio(id, 0, 0);
        }
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
        if let Some(s) = &self.jit_stats {
            s.finish(&self.cpu);
        }
        outcome
    }

    /// With the CPU halted: the clock moves on to the next device event that
    /// can wake it (when `skip`: at once, or in real time when the clock
    /// sleeps); if none ever can (interrupts disabled, or every line
    /// masked, and no console key can come), the run has ended.
    fn sleep(&mut self, skip: bool) -> Option<Outcome> {
        let s = &self.cpu.state;
        let interrupts_enabled = s.flags.bits & fl::IF != 0;
        let now = self.cpu.now();
        // The devices catch up with the clock first: an interrupt edge that
        // came after the CPU last looked (before the HLT itself) is then
        // waiting, and the look ahead below, which starts at `now`, cannot
        // skip it.
        if interrupts_enabled && vemu_translator::Bus::interrupt_pending(self.bus(), now) {
            return None;
        }
        let event = if interrupts_enabled { self.bus().next_wakeup(now) } else { None };
        let keys_can_wake = interrupts_enabled
            && self.console.as_ref().is_some_and(|c| c.has_input())
            && self.bus().serial_can_interrupt();
        match event {
            Some(t) if skip => {
                let wait = t.saturating_sub(now);
                match self.config.clock {
                    Clock::Instructions { sleep: false } => self.cpu.warp += wait,
                    // The guest waits in real time; a host clock that is
                    // behind the host's catches up first, up to the event.
                    Clock::Instructions { sleep: true } | Clock::Host => {
                        let lag = match self.config.clock {
                            Clock::Host => self.host_time().saturating_sub(now),
                            _ => 0,
                        };
                        let started = Instant::now();
                        let end = self.take_input(Duration::from_nanos(wait.saturating_sub(lag)));
                        let slept = started.elapsed().as_nanos() as u64;
                        self.cpu.warp += slept.saturating_add(lag).min(wait);
                        return end;
                    }
                }
                None
            }
            Some(_) => None,
            None if keys_can_wake => {
                if skip {
                    return self.take_input(Duration::from_millis(100));
                }
                None
            }
            None => {
                let s = &self.cpu.state;
                Some(Outcome::HaltedForever { cs: s.seg(Seg::CS).selector, eip: s.eip, interrupts_enabled })
            }
        }
    }

    /// Takes what the console has (waiting at most `wait` for something):
    /// keys go to COM1; a quit request ends the run. With a monitor, its
    /// commands and the keys it has queued are served during the wait too,
    /// which ends early when they did something (a key may wake the guest).
    pub(crate) fn take_input(&mut self, wait: Duration) -> Option<Outcome> {
        if self.monitor.is_none() && self.displays.is_none() || wait.is_zero() {
            return self.take_console(wait);
        }
        let end = Instant::now() + wait;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if let Some(o) = self.take_console(left.min(Duration::from_millis(2))) {
                return Some(o);
            }
            if let Some(o) = self.service_monitor() {
                return Some(o);
            }
            self.refresh_displays();
            let acted = self.monitor.as_mut().is_some_and(|m| std::mem::take(&mut m.acted));
            if acted || Instant::now() >= end {
                return None;
            }
        }
    }

    fn take_console(&mut self, wait: Duration) -> Option<Outcome> {
        let Some(console) = self.console.as_mut() else {
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            return None;
        };
        let mut typed = Vec::new();
        for event in console.poll(wait) {
            match event {
                ConsoleEvent::Key(b) if self.term_keys.is_some() => typed.push(b),
                ConsoleEvent::Key(b) => self.bus().serial_input(b),
                ConsoleEvent::Quit(why) => return Some(Outcome::Quit(why)),
                ConsoleEvent::MonitorLine(line) => {
                    let out = crate::monitor::hmp::execute(self, &line);
                    if let Some(end) = self.pending_outcome.take() {
                        return Some(end);
                    }
                    if let Some(c) = &self.console {
                        c.monitor_output(&out);
                    }
                }
            }
        }
        if let Some(parser) = self.term_keys.as_mut() {
            // A terminal sends no releases: each key is pressed and released
            // at once, inside its modifiers.
            let keys = parser.feed(&typed, typed.is_empty());
            for (key, shift, ctrl) in keys {
                let named = |n| vemu_devices::KeyCode::from_qcode_name(n).expect("a key vemu knows");
                let mods: Vec<_> = [(ctrl, named("ctrl")), (shift, named("shift"))]
                    .into_iter()
                    .filter(|m| m.0)
                    .map(|m| m.1)
                    .collect();
                let q = &mut self.typed_keys;
                q.extend(mods.iter().map(|&m| (m, true)));
                q.extend([(key, true), (key, false)]);
                q.extend(mods.iter().rev().map(|&m| (m, false)));
            }
        }
        None
    }

    /// Under `Clock::Host`: a guest that ran ahead of the host's clock by
    /// more than a second waits for it, and one that fell more than ten
    /// seconds behind (the host stopped the process) jumps forward to it.
    /// Smaller distances are [`Pace`]'s to close without a jump or a wait: a
    /// busy guest held back to the host's clock would waste the host's time
    /// (a Linux boot spent a quarter of it waiting so).
    fn follow_host_clock(&mut self) -> Option<Outcome> {
        const AHEAD: u64 = 1_000_000_000;
        const FAR_BEHIND: u64 = 10_000_000_000;
        if self.config.clock != Clock::Host {
            return None;
        }
        let host = self.host_time();
        let now = self.cpu.now();
        if host > now + FAR_BEHIND {
            self.cpu.warp += host - now;
        } else if now > host + AHEAD {
            return self.take_input(Duration::from_nanos(now - host - AHEAD));
        }
        None
    }

    /// Nanoseconds the machine has been running on the host's clock (paused
    /// time left out).
    fn host_time(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Runs one slice: the CPU until its budget (at most the next device event
    /// or the instruction limit) is spent or it stops for something, which is
    /// then handled. Returns how the run ended, if it did.
    pub fn step(&mut self) -> Option<Outcome> {
        const SLICE: u64 = 1 << 20;
        if let Some(end) = self.take_input(Duration::ZERO) {
            return Some(end);
        }
        if let Some(end) = self.service_monitor() {
            return Some(end);
        }
        self.refresh_displays();
        self.feed_typed_keys();
        if let Some(end) = self.follow_host_clock() {
            return Some(end);
        }
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
        let (ran_from, compiled_before, started) = (self.cpu.icount, self.cpu.compile_time, Instant::now());
        let exit = self.cpu.run(budget);
        let compiling = self.cpu.compile_time - compiled_before;
        if let Some(s) = self.jit_stats.as_mut() {
            s.tick(&self.cpu);
        }
        self.pace.ran(self.cpu.icount - ran_from, started.elapsed().saturating_sub(compiling));
        if self.config.clock == Clock::Host {
            let lag = self.host_time() as i64 - self.cpu.now() as i64;
            if let Some(rate) = self.pace.rate(lag) {
                self.cpu.set_rate(rate);
            }
        }
        match exit {
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
            Exit::Request(BusRequest::MapMmio { id, base, len }) => self.map_window(id, base, len),
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

#[cfg(test)]
mod tests {
    use super::Pace;
    use std::time::Duration;
    use vemu_translator::NS_PER_INSN;

    /// A window of 4 Mi instructions in `ms` milliseconds.
    fn measured(ms: u64) -> Pace {
        let mut p = Pace::default();
        p.ran(Pace::WINDOW_INSNS / 2, Duration::from_millis(ms / 2));
        assert_eq!(p.rate(0), None, "half a window measures nothing");
        p.ran(Pace::WINDOW_INSNS / 2, Duration::from_millis(ms / 2));
        p
    }

    #[test]
    fn the_rate_is_the_measured_time_per_instruction() {
        let mut p = measured(400);
        let per_insn = 400_000_000 * NS_PER_INSN / Pace::WINDOW_INSNS;
        assert_eq!(p.rate(0), Some(per_insn));
        assert_eq!(p.rate(0), None, "one new rate per window");
    }

    #[test]
    fn a_lag_is_closed_over_the_next_window_within_bounds() {
        let per_insn = 400_000_000 * NS_PER_INSN / Pace::WINDOW_INSNS;
        // 100 ms behind over a 400 ms window: a quarter faster.
        assert_eq!(measured(400).rate(100_000_000), Some(per_insn + per_insn / 4));
        // Far behind: at most twice as fast, never a jump.
        assert_eq!(measured(400).rate(60_000_000_000), Some(2 * per_insn));
        // Far ahead: down to a tenth.
        assert_eq!(measured(400).rate(-60_000_000_000), Some(per_insn - per_insn * 9 / 10));
    }

    #[test]
    fn measurements_are_smoothed() {
        let mut p = measured(400);
        p.rate(0);
        p.ran(Pace::WINDOW_INSNS, Duration::from_millis(200));
        let (slow, fast) = (400_000_000 * NS_PER_INSN, 200_000_000 * NS_PER_INSN);
        assert_eq!(p.rate(0), Some((slow / Pace::WINDOW_INSNS + fast / Pace::WINDOW_INSNS) / 2));
    }
}
