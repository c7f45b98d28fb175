//! The command line of `vemu run`, in QEMU's spellings where the two overlap:
//! `-hda`..`-hdd`, `-fda`/`-fdb`, `-cdrom`, `-drive`, `-boot`, `-snapshot`,
//! `-bios`, `-m`, `-nographic`, `-serial`, `-display none`, `-no-reboot`,
//! `-icount`, with one dash or two, and a positional image as the first hard
//! disk. An option QEMU has and vemu does not is refused by name, never
//! ignored; so is an unknown `-drive` or `-boot` property.
//!
//! This module turns arguments into a [`MachineConfig`] and a [`ConsoleConfig`];
//! it opens no file (the machine does, and reports what is wrong with one).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use vemu_devices::storage::image::Format;
use vemu_translator::{CpuModel, Engine};

use crate::console::{ConsoleConfig, Display, SerialTarget};
use crate::firmware::check_boot_order;
use crate::machine::{Boot, Clock, DriveConfig, Interface, MachineConfig, Media};

/// Where Debian's seabios package puts the BIOS QEMU's `pc` machine runs.
pub const DEFAULT_BIOS: &str = "/usr/share/seabios/bios-256k.bin";
/// The VGA BIOS of `-vga std`, from Debian's seabios package, as QEMU uses it.
pub const DEFAULT_VGA_BIOS: &str = "/usr/share/seabios/vgabios-stdvga.bin";

#[derive(Parser)]
#[command(name = "vemu", version, about = "An x86 PC emulator with a Cranelift JIT")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Power on a PC and run it: `vemu run disk.img` boots a hard disk image
    /// through the BIOS, as `qemu-system-i386 disk.img` does.
    Run(Box<RunArgs>),
}

#[derive(Args)]
pub struct RunArgs {
    /// Disk image of the first hard disk (as -hda).
    #[arg(value_name = "IMAGE")]
    pub image: Option<PathBuf>,
    /// Hard disk images: IDE primary master, primary slave, secondary master,
    /// secondary slave.
    #[arg(long, value_name = "FILE")]
    pub hda: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub hdb: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub hdc: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub hdd: Option<PathBuf>,
    /// Floppy disk images (drives A: and B:).
    #[arg(long, value_name = "FILE")]
    pub fda: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub fdb: Option<PathBuf>,
    /// CD-ROM image (IDE secondary master).
    #[arg(long, value_name = "FILE")]
    pub cdrom: Option<PathBuf>,
    /// A drive: file=PATH[,if=ide|floppy][,index=N][,bus=B,unit=U][,media=disk|cdrom]
    /// [,format=raw|qcow2][,readonly=on|off][,snapshot=on|off].
    #[arg(long, value_name = "SPEC")]
    pub drive: Vec<String>,
    /// Boot order and menu: [order=]DRIVES[,menu=on|off][,reboot-timeout=MS];
    /// drives a (floppy), c (hard disk), d (CD-ROM); "cad" by default.
    #[arg(long, value_name = "SPEC")]
    pub boot: Option<String>,
    /// Writes go to a temporary overlay and never reach the images.
    #[arg(long)]
    pub snapshot: bool,
    /// BIOS image (a multiple of 64 KiB), placed as QEMU's -bios places it;
    /// Debian's SeaBIOS (bios-256k.bin) by default.
    #[arg(long, value_name = "ROM")]
    pub bios: Option<PathBuf>,
    /// Kernel to boot, as QEMU's -kernel: a Linux image (bzImage) boots
    /// through the BIOS; a Multiboot kernel is entered without firmware.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// Kernel command line (with -kernel).
    #[arg(long, value_name = "CMDLINE", requires = "kernel", default_value = "")]
    pub append: String,
    /// Initial RAM disk for a Linux -kernel.
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Option<PathBuf>,
    /// The CPU: MODEL[,+FEATURE|-FEATURE|FEATURE=on|off]... with QEMU's
    /// model and feature names (486, pentium, pentium2, pentium3, and
    /// pentium4, the default); `-cpu help` lists them.
    #[arg(long, value_name = "MODEL")]
    pub cpu: Option<String>,
    /// Guest RAM in MiB.
    #[arg(short = 'm', long = "memory", value_name = "MB", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(1..=3584))]
    pub memory: u32,
    /// No display: the serial console on this terminal, with QEMU's Ctrl-A
    /// escapes (the default when standard input or output is not a terminal).
    #[arg(long)]
    pub nographic: bool,
    /// Where COM1 goes: stdio, mon:stdio (with the Ctrl-A escapes), null,
    /// none, file:PATH.
    #[arg(long, value_name = "TARGET")]
    pub serial: Option<String>,
    /// The display: curses (the screen in this terminal, the default on a
    /// terminal) or none (the adapter works, nothing is shown).
    #[arg(long, value_name = "TYPE")]
    pub display: Option<String>,
    /// A VNC server on HOST:DISPLAY or :DISPLAY (port 5900 + DISPLAY), as QEMU's -vnc.
    #[arg(long, value_name = "ADDR")]
    pub vnc: Option<String>,
    /// The display adapter: std (QEMU's standard VGA with VBE, the default)
    /// or none.
    #[arg(long, value_name = "TYPE")]
    pub vga: Option<String>,
    /// QMP on a socket: unix:PATH,server=on,wait=off or
    /// tcp:HOST:PORT,server=on,wait=off (may be given more than once).
    #[arg(long, value_name = "DEV")]
    pub qmp: Vec<String>,
    /// The human monitor: stdio (this terminal), or a socket as for -qmp.
    #[arg(long, value_name = "DEV")]
    pub monitor: Vec<String>,
    /// Start stopped: the machine runs when the monitor says `cont`.
    #[arg(short = 'S')]
    pub start_stopped: bool,
    /// Stop instead of resetting when the guest triple-faults or asks for a reset.
    #[arg(long)]
    pub no_reboot: bool,
    /// When no device boots, the firmware retries after this many
    /// milliseconds; -1: never (as QEMU's -boot reboot-timeout).
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-1..=65535))]
    pub reboot_timeout: Option<i32>,
    /// Time counted in executed instructions, one nanosecond each, instead
    /// of following the host's clock: shift=0[,sleep=off] (as QEMU's -icount;
    /// sleep=off: a halted guest does not wait, and every run is the same).
    #[arg(long, value_name = "SPEC")]
    pub icount: Option<String>,
    /// Stop after this many instructions (exit status 6).
    #[arg(long, value_name = "N")]
    pub max_insns: Option<u64>,
    /// Write one line per executed instruction to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// How guest code runs: interp (interpreter only), jit (compile every block,
    /// quickly at first, and again with the optimiser after --jit-threshold
    /// runs), auto (compile blocks that have run --jit-threshold times).
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// Runs of a block before --engine auto compiles it (and before --engine
    /// jit compiles it again with the optimiser). Compiling costs
    /// about what a few thousand interpreted runs do: Debian's kernel boots
    /// in about a third of the time at 2000 than at 50 (which spent most of
    /// the boot in Cranelift compiling code that then ran a few times).
    /// [default: 1000 when --engine auto compiles on its own thread and the
    /// host has a core to spare for it, else 2000]
    #[arg(long, value_name = "N")]
    pub jit_threshold: Option<u32>,
    /// Whether --engine auto compiles on a thread of its own (on, the
    /// default) while the interpreter goes on running the block, or stops
    /// the guest for each compile (off). What the guest computes is the same
    /// either way; only the host time differs.
    #[arg(long, value_enum, value_name = "on|off", default_value_t = OnOff::On)]
    pub jit_thread: OnOff,
    /// Most translated blocks kept at once (least recently used ones are dropped).
    #[arg(long, value_name = "N", default_value_t = vemu_translator::DEFAULT_BLOCK_CACHE_SIZE as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub tb_cache_size: u32,
}

#[derive(Copy, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Copy, Clone, clap::ValueEnum)]
pub enum EngineArg {
    Interp,
    Jit,
    Auto,
}

/// The options of `vemu run` that may be written with one dash, as QEMU
/// writes them (clap wants two).
const SINGLE_DASH: &[&str] = &[
    "hda",
    "hdb",
    "hdc",
    "hdd",
    "fda",
    "fdb",
    "cdrom",
    "drive",
    "boot",
    "snapshot",
    "bios",
    "kernel",
    "append",
    "initrd",
    "cpu",
    "nographic",
    "serial",
    "display",
    "vga",
    "vnc",
    "qmp",
    "monitor",
    "no-reboot",
    "icount",
    "memory",
    "max-insns",
    "trace",
    "engine",
    "jit-threshold",
    "jit-thread",
    "tb-cache-size",
    "reboot-timeout",
];

/// QEMU options vemu does not have (yet): refused by name.
const QEMU_ONLY: &[&str] = &[
    "machine",
    "M",
    "smp",
    "numa",
    "enable-kvm",
    "accel",
    "net",
    "netdev",
    "nic",
    "usb",
    "usbdevice",
    "device",
    "full-screen",
    "k",
    "audio",
    "audiodev",
    "soundhw",
    "rtc",
    "localtime",
    "name",
    "uuid",
    "pidfile",
    "daemonize",
    "s",
    "gdb",
    "d",
    "D",
    "L",
    "option-rom",
    "global",
    "qmp-pretty",
    "chardev",
    "mon",
    "parallel",
    "debugcon",
    "spice",
    "sdl",
    "no-shutdown",
    "no-acpi",
    "no-hpet",
    "smbios",
    "fw_cfg",
    "acpitable",
    "singlestep",
    "watchdog",
    "watchdog-action",
    "echr",
    "virtfs",
    "fsdev",
    "mem-path",
    "mem-prealloc",
    "object",
    "incoming",
    "loadvm",
    "readconfig",
    "writeconfig",
    "nodefaults",
    "no-user-config",
    "trace-unassigned",
    "plugin",
    "sandbox",
    "msg",
    "overcommit",
    "semihosting",
    "dtb",
    "blockdev",
    "mtdblock",
    "sd",
    "pflash",
    "add-fd",
    "iscsi",
    "bt",
    "tpmdev",
    "g",
    "win2k-hack",
    "no-fd-bootchk",
    "prom-env",
    "old-param",
    "action",
    "run-with",
    "preconfig",
    "chroot",
    "runas",
    "set",
];

/// QEMU's spellings with one dash become clap's with two; an option QEMU
/// has and vemu does not is refused by name. `args` starts with the
/// program name.
pub fn normalise(args: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>, String> {
    let mut out = Vec::new();
    let mut value_next = false;
    for arg in args {
        let text = arg.to_string_lossy().into_owned();
        let is_option = text.starts_with('-') && !text.starts_with("--") && text.len() > 2;
        let name = text.trim_start_matches('-');
        let named = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if value_next || !is_option || !named {
            value_next = false;
            out.push(arg);
            continue;
        }
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (name, None),
        };
        if SINGLE_DASH.contains(&name) {
            out.push(OsString::from(match inline {
                Some(v) => format!("--{name}={v}"),
                None => format!("--{name}"),
            }));
            // The next argument is this option's value, even if it starts
            // with a dash (`-boot -1` is not valid anyway; `-append "-x"` is).
            value_next = inline.is_none() && !matches!(name, "snapshot" | "nographic" | "no-reboot");
        } else if QEMU_ONLY.contains(&name) {
            return Err(format!("-{name} is a QEMU option vemu does not support"));
        } else {
            return Err(format!("unknown option -{name} (see vemu run --help)"));
        }
    }
    Ok(out)
}

/// `key=value` pairs of a QEMU option (`,,` is a literal comma); a first
/// element without `=` is returned under the key `default_key`.
fn properties(spec: &str, default_key: &str) -> Result<Vec<(String, String)>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                items.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    items
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, item)| match item.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None if i == 0 && !default_key.is_empty() => Ok((default_key.to_string(), item)),
            None => Err(format!("'{item}' has no value (expected key=value)")),
        })
        .collect()
}

fn on_off(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!("{key}={v}: expected on or off")),
    }
}

/// One `-drive` specification.
pub fn parse_drive(spec: &str) -> Result<DriveConfig, String> {
    let mut path = None;
    let mut interface = Interface::Ide;
    let (mut index, mut bus, mut unit) = (None, None, None);
    let mut media = Media::Disk;
    let mut format = None;
    let (mut read_only, mut snapshot) = (false, false);
    let number = |k: &str, v: &str| v.parse::<u8>().map_err(|_| format!("-drive {k}={v}: not a number"));
    for (k, v) in properties(spec, "")? {
        match k.as_str() {
            "file" => path = Some(PathBuf::from(v)),
            "if" => {
                interface = match v.as_str() {
                    "ide" => Interface::Ide,
                    "floppy" => Interface::Floppy,
                    _ => return Err(format!("-drive if={v}: vemu has ide and floppy drives")),
                }
            }
            "index" => index = Some(number(&k, &v)?),
            "bus" => bus = Some(number(&k, &v)?),
            "unit" => unit = Some(number(&k, &v)?),
            "media" => {
                media = match v.as_str() {
                    "disk" => Media::Disk,
                    "cdrom" => Media::Cdrom,
                    _ => return Err(format!("-drive media={v}: expected disk or cdrom")),
                }
            }
            "format" => format = Some(v.parse::<Format>()?),
            "readonly" | "read-only" => read_only = on_off(&k, &v)?,
            "snapshot" => snapshot = on_off(&k, &v)?,
            _ => return Err(format!("-drive {k}=: a property vemu does not support")),
        }
    }
    let path = path.ok_or("-drive needs file=PATH")?;
    let (slots, per_bus) = match interface {
        Interface::Ide => (4, 2),
        Interface::Floppy => (2, 2),
    };
    let index = match (index, bus, unit) {
        (Some(i), None, None) => Some(i),
        (None, b, u) if b.is_some() || u.is_some() => Some(b.unwrap_or(0) * per_bus + u.unwrap_or(0)),
        (None, None, None) => None,
        _ => return Err("-drive: give index= or bus=/unit=, not both".into()),
    };
    if index.is_some_and(|i| i >= slots) {
        return Err(format!("-drive index {}: this interface has {slots} drives", index.unwrap_or(0)));
    }
    if interface == Interface::Floppy && media == Media::Cdrom {
        return Err("-drive: a floppy drive takes no CD-ROM".into());
    }
    Ok(DriveConfig { path, interface, index: index.unwrap_or(u8::MAX), media, format, read_only, snapshot })
}

/// What `-boot` says.
#[derive(Debug, PartialEq, Eq)]
pub struct BootSpec {
    pub order: Option<String>,
    pub menu: Option<bool>,
    pub reboot_timeout: Option<i32>,
}

/// `-boot [order=]DRIVES[,menu=on|off][,reboot-timeout=MS]`.
pub fn parse_boot(spec: &str) -> Result<BootSpec, String> {
    let mut b = BootSpec { order: None, menu: None, reboot_timeout: None };
    for (k, v) in properties(spec, "order")? {
        match k.as_str() {
            "order" => {
                check_boot_order(&v)?;
                b.order = Some(v);
            }
            "menu" => b.menu = Some(on_off(&k, &v)?),
            "reboot-timeout" => {
                let ms: i32 = v.parse().map_err(|_| format!("-boot reboot-timeout={v}: not a number"))?;
                if !(-1..=65535).contains(&ms) {
                    return Err(format!("-boot reboot-timeout={v}: -1 to 65535"));
                }
                b.reboot_timeout = Some(ms);
            }
            _ => return Err(format!("-boot {k}=: a property vemu does not support")),
        }
    }
    Ok(b)
}

/// `-serial TARGET`.
pub fn parse_serial(spec: &str) -> Result<SerialTarget, String> {
    Ok(match spec {
        "stdio" => SerialTarget::Stdio { escapes: false },
        "mon:stdio" => SerialTarget::Stdio { escapes: true },
        "null" | "none" => SerialTarget::Null,
        s if s.starts_with("file:") => SerialTarget::File(PathBuf::from(&s[5..])),
        _ => return Err(format!("-serial {spec}: vemu has stdio, mon:stdio, null, none and file:PATH")),
    })
}

/// `-icount shift=0[,sleep=on|off]`.
pub fn parse_icount(spec: &str) -> Result<Clock, String> {
    let mut sleep = true;
    for (k, v) in properties(spec, "shift")? {
        match k.as_str() {
            "shift" if v == "0" => {}
            "shift" => {
                return Err(format!(
                    "-icount shift={v}: vemu counts one nanosecond per instruction (shift=0)"
                ))
            }
            "sleep" => sleep = on_off(&k, &v)?,
            _ => return Err(format!("-icount {k}=: a property vemu does not support")),
        }
    }
    Ok(Clock::Instructions { sleep })
}

/// The machine and console `args` describe.
/// What `-cpu help` prints: the models and the feature names.
pub fn cpu_help() -> String {
    let mut s = String::from("Available CPUs:\n");
    for m in vemu_translator::cpuid::MODELS {
        let default = if m == CpuModel::default() { " (default)" } else { "" };
        s += &format!(
            "x86 {:<12} family {} model {} stepping {}{default}\n",
            m.name, m.family, m.model, m.stepping
        );
    }
    s += "\nRecognized CPUID flags:\n ";
    use vemu_translator::cpuid::{ext_feature, feature};
    for (name, _) in feature::NAMES.iter().chain(&ext_feature::NAMES) {
        s += &format!(" {name}");
    }
    s += "\n";
    s
}

pub fn configure(args: RunArgs) -> Result<(MachineConfig, ConsoleConfig), String> {
    let mut drives = Vec::new();
    let mut add = |drive: DriveConfig| -> Result<(), String> {
        let slot = (drive.interface, drive.index);
        if drive.index != u8::MAX && drives.iter().any(|d: &DriveConfig| (d.interface, d.index) == slot) {
            return Err(format!("two drives on {:?} index {}", drive.interface, drive.index));
        }
        drives.push(drive);
        Ok(())
    };
    let simple = |path: &PathBuf, interface, index, media| DriveConfig {
        path: path.clone(),
        interface,
        index,
        media,
        format: None,
        read_only: false,
        snapshot: false,
    };
    if args.image.is_some() && args.hda.is_some() {
        return Err("give the first hard disk either as IMAGE or as -hda, not both".into());
    }
    for (path, index) in [(args.image.as_ref().or(args.hda.as_ref()), 0), (args.hdb.as_ref(), 1)] {
        if let Some(p) = path {
            add(simple(p, Interface::Ide, index, Media::Disk))?;
        }
    }
    if let Some(p) = &args.hdc {
        add(simple(p, Interface::Ide, 2, Media::Disk))?;
    }
    if let Some(p) = &args.cdrom {
        add(simple(p, Interface::Ide, 2, Media::Cdrom))?;
    }
    if let Some(p) = &args.hdd {
        add(simple(p, Interface::Ide, 3, Media::Disk))?;
    }
    for (path, index) in [(&args.fda, 0), (&args.fdb, 1)] {
        if let Some(p) = path {
            add(simple(p, Interface::Floppy, index, Media::Disk))?;
        }
    }
    for spec in &args.drive {
        add(parse_drive(spec)?)?;
    }
    // Drives without an index take the first free one, as QEMU's do.
    for i in 0..drives.len() {
        if drives[i].index == u8::MAX {
            let iface = drives[i].interface;
            let slots = if iface == Interface::Ide { 4 } else { 2 };
            let free = (0..slots)
                .find(|n| !drives.iter().any(|d| d.interface == iface && d.index == *n))
                .ok_or_else(|| format!("no free {iface:?} drive left for {}", drives[i].path.display()))?;
            drives[i].index = free;
        }
    }
    if args.snapshot {
        for d in &mut drives {
            d.snapshot = true;
        }
    }

    let boot_spec = args.boot.as_deref().map(parse_boot).transpose()?;
    let reboot_timeout =
        boot_spec.as_ref().and_then(|b| b.reboot_timeout).or(args.reboot_timeout).unwrap_or(-1);
    let boot = match (args.kernel, args.bios) {
        (Some(path), bios) => Boot::Kernel {
            path,
            append: args.append,
            initrd: args.initrd,
            bios: bios.unwrap_or_else(|| PathBuf::from(DEFAULT_BIOS)),
        },
        (None, Some(rom)) => Boot::Bios(rom),
        (None, None) => Boot::Bios(PathBuf::from(DEFAULT_BIOS)),
    };

    use std::io::IsTerminal;
    let on_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let display = match (args.display.as_deref(), args.nographic) {
        (Some(_), true) => return Err("-nographic and -display cannot go together".into()),
        (Some("curses"), _) => Display::Curses,
        (Some("none"), _) => Display::None,
        (Some(other), _) => return Err(format!("-display {other}: vemu has curses and none")),
        (None, true) => Display::NoGraphic,
        // As QEMU shows its window when it can: the terminal, when there is one.
        (None, false) if on_terminal && args.vnc.is_none() => Display::Curses,
        (None, false) if args.vnc.is_some() => Display::None,
        (None, false) => Display::NoGraphic,
    };
    let vnc = args.vnc.as_deref().map(crate::display::vnc::parse_vnc).transpose()?;
    let vga = match args.vga.as_deref() {
        None | Some("std") => true,
        Some("none") => false,
        Some(other) => {
            return Err(format!("-vga {other}: vemu has the standard VGA (std) or none; not {other}"))
        }
    };
    let serial = match (&args.serial, display) {
        (Some(s), Display::Curses) if s.contains("stdio") => {
            return Err(format!("-serial {s}: the terminal is the display's (-display curses)"))
        }
        (Some(s), _) => parse_serial(s)?,
        // The terminal shows the screen; COM1 goes nowhere (QEMU's vc).
        (None, Display::Curses) => SerialTarget::Null,
        (None, _) => SerialTarget::Stdio { escapes: true },
    };
    let clock = args.icount.as_deref().map(parse_icount).transpose()?.unwrap_or(Clock::Host);

    let mut config = MachineConfig {
        boot,
        ram_mb: args.memory,
        no_reboot: args.no_reboot,
        max_insns: args.max_insns,
        trace: args.trace,
        reboot_timeout: u32::try_from(reboot_timeout).ok(),
        drives,
        boot_order: boot_spec.as_ref().and_then(|b| b.order.clone()).unwrap_or_else(|| "cad".into()),
        boot_menu: boot_spec.as_ref().and_then(|b| b.menu).unwrap_or(false),
        clock,
        vga,
        vga_bios: vga.then(|| PathBuf::from(DEFAULT_VGA_BIOS)),
        nographic: display == Display::NoGraphic,
        ..MachineConfig::default()
    };
    config.cpu.engine = match args.engine {
        EngineArg::Interp => Engine::Interp,
        EngineArg::Jit => Engine::Jit,
        EngineArg::Auto => Engine::Auto,
    };
    if let Some(spec) = &args.cpu {
        let (model, warnings) = CpuModel::parse(spec).map_err(|e| format!("-cpu: {e}"))?;
        for w in warnings {
            eprintln!("vemu: warning: {w}");
        }
        config.cpu.model = model;
    }
    config.cpu.background_compile = args.jit_thread == OnOff::On;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    config.cpu.jit_threshold = args
        .jit_threshold
        .unwrap_or_else(|| default_jit_threshold(config.cpu.engine, config.cpu.background_compile, cores));
    config.cpu.block_cache_size = args.tb_cache_size as usize;
    let endpoints = |specs: &[String], what: &str| -> Result<Vec<_>, String> {
        specs
            .iter()
            .map(|s| crate::monitor::qmp::parse_endpoint(s).map_err(|e| format!("-{what} {e}")))
            .collect()
    };
    let qmp = endpoints(&args.qmp, "qmp")?;
    let monitor_stdio = args.monitor.iter().any(|m| m == "stdio");
    let sockets: Vec<String> = args.monitor.iter().filter(|m| *m != "stdio").cloned().collect();
    let hmp = endpoints(&sockets, "monitor")?;
    if monitor_stdio
        && (display == Display::Curses
            || matches!(serial, SerialTarget::Stdio { .. }) && args.serial.is_some())
    {
        return Err("-monitor stdio: the terminal is already the display's or the serial port's".into());
    }
    let serial = if monitor_stdio && args.serial.is_none() { SerialTarget::Null } else { serial };
    Ok((
        config,
        ConsoleConfig { serial, qmp, hmp, start_stopped: args.start_stopped, display, vnc, monitor_stdio },
    ))
}

/// The `--jit-threshold` of a run that gives none. Under `--engine auto`
/// with the compile thread on a core of its own, compiling is off the
/// guest's path: blocks are compiled after 1000 runs, not 2000, which cuts
/// the time interpreting code that runs a few thousand times (a Linux
/// boot's initcalls, its initramfs unpacked) for about two fifths more
/// compiling on the other core. Where compiles stop the guest (`--jit-thread
/// off`, the baseline tier's recompiles under `--engine jit`) or share its
/// only core, 2000.
fn default_jit_threshold(engine: Engine, compile_thread: bool, cores: usize) -> u32 {
    if engine == Engine::Auto && compile_thread && cores >= 2 {
        1000
    } else {
        2000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn qemu_spellings_become_clap_ones() {
        let n = normalise(os(&["vemu", "run", "-hda", "a.img", "-boot", "order=c", "-snapshot", "-m", "64"]))
            .unwrap();
        assert_eq!(n, os(&["vemu", "run", "--hda", "a.img", "--boot", "order=c", "--snapshot", "-m", "64"]));
        let n = normalise(os(&["vemu", "run", "-kernel", "k", "-append", "-v quiet"])).unwrap();
        assert_eq!(n, os(&["vemu", "run", "--kernel", "k", "--append", "-v quiet"]));
        assert!(normalise(os(&["vemu", "run", "-smp", "2"])).unwrap_err().contains("-smp is a QEMU option"));
        assert!(normalise(os(&["vemu", "run", "-frobnicate"])).unwrap_err().contains("unknown option"));
        let n = normalise(os(&["vemu", "run", "--reboot-timeout", "-1"])).unwrap();
        assert_eq!(n[3], "-1");
    }

    #[test]
    fn drives() {
        let d = parse_drive("file=x,,y.img,if=floppy,index=1,readonly=on").unwrap();
        assert_eq!(d.path, PathBuf::from("x,y.img"));
        assert_eq!((d.interface, d.index, d.read_only), (Interface::Floppy, 1, true));
        let d = parse_drive("file=cd.iso,media=cdrom,bus=1,unit=0,format=raw").unwrap();
        assert_eq!(
            (d.interface, d.index, d.media, d.format),
            (Interface::Ide, 2, Media::Cdrom, Some(Format::Raw))
        );
        assert!(parse_drive("file=a,if=virtio").is_err());
        assert!(parse_drive("file=a,cache=none").unwrap_err().contains("cache"));
        assert!(parse_drive("if=ide").is_err());
        assert!(parse_drive("file=a,index=4").is_err());
        assert!(parse_drive("file=a,format=vmdk").is_err());
    }

    #[test]
    fn cpu_help_lists_every_flag_name() {
        let help = cpu_help();
        let flags = help.split("Recognized CPUID flags:").nth(1).unwrap();
        let names: Vec<&str> = flags.split_whitespace().collect();
        for name in ["pae", "pse", "sse2", "nx", "xd"] {
            assert!(names.contains(&name), "{name} missing from:\n{help}");
            assert!(CpuModel::parse(&format!("pentium4,+{name}")).is_ok(), "-cpu takes {name}");
        }
    }

    #[test]
    fn jit_threshold_defaults_to_1000_only_with_a_compile_thread_on_a_spare_core() {
        assert_eq!(default_jit_threshold(Engine::Auto, true, 2), 1000);
        assert_eq!(default_jit_threshold(Engine::Auto, true, 1), 2000);
        assert_eq!(default_jit_threshold(Engine::Auto, false, 8), 2000);
        assert_eq!(default_jit_threshold(Engine::Jit, true, 8), 2000);
        let threshold = |extra: &[&str]| {
            let mut argv = vec!["vemu", "run", "disk.img"];
            argv.extend_from_slice(extra);
            let cli = Cli::try_parse_from(normalise(os(&argv)).unwrap()).unwrap();
            let Command::Run(args) = cli.command;
            configure(*args).map(|(m, _)| m.cpu.jit_threshold)
        };
        assert_eq!(threshold(&["--jit-threshold", "300"]).unwrap(), 300);
        assert_eq!(threshold(&["--jit-thread", "off"]).unwrap(), 2000);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threshold(&[]).unwrap(), if cores >= 2 { 1000 } else { 2000 });
    }

    #[test]
    fn boot_serial_icount() {
        assert_eq!(parse_boot("d").unwrap().order.as_deref(), Some("d"));
        let b = parse_boot("order=cd,menu=on,reboot-timeout=0").unwrap();
        assert_eq!(b, BootSpec { order: Some("cd".into()), menu: Some(true), reboot_timeout: Some(0) });
        assert!(parse_boot("once=d").is_err());
        assert!(parse_boot("order=x").is_err());
        assert_eq!(parse_serial("mon:stdio").unwrap(), SerialTarget::Stdio { escapes: true });
        assert!(parse_serial("pty").is_err());
        assert_eq!(parse_icount("shift=0,sleep=off").unwrap(), Clock::Instructions { sleep: false });
        assert!(parse_icount("shift=3").is_err());
    }
}
