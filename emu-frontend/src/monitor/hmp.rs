//! The human monitor's commands, in QEMU's words and output formats:
//! `info status|registers|version`, `stop`, `cont`, `system_reset`,
//! `system_powerdown`, `quit`, `screendump`, `sendkey`, `x`, `xp`, `help`.
//! Every line of output ends in "\r\n", as QEMU's monitor writes it.

use std::path::Path;
use std::time::Duration;

use vemu_devices::KeyCode;
use vemu_softmmu::PhysAddr;
use vemu_translator::{Seg, Segment};

use super::commands::key_from_qnum;
use super::RunState;
use crate::machine::Machine;
use crate::screendump::Format;

/// The greeting of a human monitor session.
pub const GREETING: &str = "QEMU 7.2.0 monitor - type 'help' for more information\r\n";
/// The prompt.
pub const PROMPT: &str = "(qemu) ";

const HELP: &[(&str, &str)] = &[
    ("cont|c", "resume emulation"),
    ("help|? [cmd]", "show the help"),
    ("info status|registers|version", "show the VM status, the CPU registers, the version"),
    ("quit|q", "quit the emulator"),
    ("screendump filename [-f format]", "save the screen as an image (ppm or png)"),
    ("sendkey keys [hold_ms]", "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)"),
    ("stop|s", "stop emulation"),
    ("system_powerdown", "send system power down event"),
    ("system_reset", "reset the system"),
    ("x /fmt addr", "virtual memory dump starting at 'addr'"),
    ("xp /fmt addr", "physical memory dump starting at 'addr'"),
];

/// Runs one command line; returns what it printed.
pub fn execute(m: &mut Machine, line: &str) -> String {
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else { return String::new() };
    let args: Vec<&str> = words.collect();
    let out = match cmd {
        "info" => info(m, args.first().copied()),
        "stop" | "s" => {
            m.stop();
            String::new()
        }
        "cont" | "c" => {
            m.cont();
            String::new()
        }
        "system_reset" => {
            m.emit("RESET", Some(serde_json::json!({"guest": false, "reason": "host-qmp-system-reset"})));
            m.reset();
            String::new()
        }
        "system_powerdown" => {
            m.powerdown();
            String::new()
        }
        "quit" | "q" => {
            m.quit("host-qmp-quit");
            String::new()
        }
        "screendump" => screendump(m, &args),
        "sendkey" => sendkey(m, &args),
        "x" | "xp" => dump(m, cmd == "xp", &args),
        "help" | "?" => HELP.iter().map(|(c, h)| format!("{c} -- {h}\n")).collect(),
        other => format!("unknown command: '{other}'\n"),
    };
    out.replace('\n', "\r\n")
}

fn info(m: &mut Machine, what: Option<&str>) -> String {
    match what {
        Some("status") => match m.run_state() {
            RunState::Running => "VM status: running\n".into(),
            RunState::Paused => "VM status: paused\n".into(),
            other => format!("VM status: paused ({})\n", other.name()),
        },
        Some("registers") => registers(m),
        Some("version") => format!("7.2.0vemu {}\n", env!("CARGO_PKG_VERSION")),
        Some(other) => format!("info: unknown info command '{other}'\n"),
        None => "info: argument expected\nTry \"help info\" for more information\n".into(),
    }
}

/// `info registers`, in QEMU's layout for a 32-bit x86 CPU, FPU and SSE
/// lines included.
fn registers(m: &Machine) -> String {
    let s = &m.cpu.state;
    let r = |i: usize| s.regs[i];
    let fl = s.flags.bits;
    let flag = |bit: u32, c: char| if fl & (1 << bit) != 0 { c } else { '-' };
    let seg_line = |name: &str, g: &Segment| {
        format!(
            "{name:<3}={:04x} {:08x} {:08x} {:08x}\n",
            g.selector,
            g.base,
            g.limit,
            (g.attr << 8) & 0x00ff_ff00
        )
    };
    let mut o = String::from("\nCPU#0\n");
    o += &format!("EAX={:08x} EBX={:08x} ECX={:08x} EDX={:08x}\n", r(0), r(3), r(1), r(2));
    o += &format!("ESI={:08x} EDI={:08x} EBP={:08x} ESP={:08x}\n", r(6), r(7), r(5), r(4));
    o += &format!(
        "EIP={:08x} EFL={:08x} [{}{}{}{}{}{}{}] CPL={} II={} A20={} SMM=0 HLT={}\n",
        s.eip,
        fl,
        flag(10, 'D'),
        flag(11, 'O'),
        flag(7, 'S'),
        flag(6, 'Z'),
        flag(4, 'A'),
        flag(2, 'P'),
        flag(0, 'C'),
        s.cpl,
        s.inhibit_interrupts as u8,
        m.cpu.mem.phys.a20_enabled() as u8,
        s.halted as u8
    );
    for (name, seg) in
        [("ES", Seg::ES), ("CS", Seg::CS), ("SS", Seg::SS), ("DS", Seg::DS), ("FS", Seg::FS), ("GS", Seg::GS)]
    {
        o += &seg_line(name, s.seg(seg));
    }
    o += &seg_line("LDT", &s.ldtr);
    o += &seg_line("TR", &s.tr);
    o += &format!("GDT=     {:08x} {:08x}\n", s.gdtr.base, s.gdtr.limit);
    o += &format!("IDT=     {:08x} {:08x}\n", s.idtr.base, s.idtr.limit);
    o += &format!("CR0={:08x} CR2={:08x} CR3={:08x} CR4={:08x}\n", s.cr0, s.cr2, s.cr3, s.cr4);
    o += &format!("DR0={:08x} DR1={:08x} DR2={:08x} DR3={:08x} \n", s.dr[0], s.dr[1], s.dr[2], s.dr[3]);
    o += &format!("DR6={:08x} DR7={:08x}\n", s.dr[6], s.dr[7]);
    o += "EFER=0000000000000000\n";
    let f = &s.fpu;
    o += &format!(
        "FCW={:04x} FSW={:04x} [ST={}] FTW={:02x} MXCSR={:08x}\n",
        f.cw,
        f.status(),
        f.top,
        f.valid,
        f.mxcsr
    );
    for (i, r) in f.regs.iter().enumerate() {
        o += &format!("FPR{i}={:016x} {:04x}{}", r.sig, r.se, if i & 1 == 1 { "\n" } else { " " });
    }
    for (i, x) in f.xmm.iter().enumerate() {
        o += &format!("XMM{i:02}={:016x} {:016x}{}", x >> 64, *x as u64, if i & 1 == 1 { "\n" } else { " " });
    }
    o
}

/// `screendump filename [-f ppm|png]` (the format flag after the name, as
/// QEMU's parser wants it).
fn screendump(m: &mut Machine, args: &[&str]) -> String {
    let Some(path) = args.first() else {
        return "screendump: filename expected\nTry \"help screendump\" for more information\n".into();
    };
    let format = match args.get(1..) {
        Some(["-f", "png", ..]) => Format::Png,
        Some(["-f", "ppm", ..]) | Some([]) | None => Format::Ppm,
        Some(["-f", other, ..]) => return format!("Parameter 'format' does not accept value '{other}'\n"),
        Some(_) => Format::Ppm,
    };
    match m.screendump(Path::new(path), format) {
        Ok(()) => String::new(),
        Err(e) => format!("{e}\n"),
    }
}

/// `sendkey ctrl-alt-delete [hold_ms]`: names joined by '-', or 0x.. numbers.
fn sendkey(m: &mut Machine, args: &[&str]) -> String {
    let Some(spec) = args.first() else {
        return "sendkey: string expected\nTry \"help sendkey\" for more information\n".into();
    };
    let hold = args
        .get(1)
        .and_then(|h| h.parse::<u64>().ok())
        .filter(|h| *h > 0)
        .map_or(Duration::from_millis(10), Duration::from_millis);
    let mut keys = Vec::new();
    // "<" alone is a key ("less"), not a separator.
    for name in spec.split('-').filter(|n| !n.is_empty()) {
        let key = match name {
            "<" => KeyCode::from_qcode_name("less"),
            n if n.starts_with("0x") => u64::from_str_radix(&n[2..], 16).ok().and_then(key_from_qnum),
            n => KeyCode::from_qcode_name(n),
        };
        match key {
            Some(k) => keys.push(k),
            None => return format!("invalid parameter: {name}\n"),
        }
    }
    m.send_keys(&keys, hold);
    String::new()
}

/// `x /fmt addr` (linear) and `xp /fmt addr` (physical).
fn dump(m: &mut Machine, physical: bool, args: &[&str]) -> String {
    let (mut format, mut size) = m.monitor.as_ref().map_or(('x', 4), |mon| mon.x_format);
    let mut count = 1u64;
    let mut rest = args;
    if let Some(f) = args.first().and_then(|a| a.strip_prefix('/')) {
        rest = &args[1..];
        let digits: String = f.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() {
            count = digits.parse().unwrap_or(1);
        }
        for c in f[digits.len()..].chars() {
            match c {
                'x' | 'd' | 'u' | 'o' | 'c' | 'i' => format = c,
                'b' => size = 1,
                'h' => size = 2,
                'w' => size = 4,
                'g' | 'L' => size = 8,
                other => return format!("invalid char in format: '{other}'\n"),
            }
        }
    }
    if let Some(mon) = m.monitor.as_mut() {
        mon.x_format = (format, size);
    }
    let Some(expr) = rest.first() else { return "unexpected end of expression\n".into() };
    let addr = match parse_number(expr) {
        Some(a) => a,
        None => return format!("invalid char '{}' in expression\n", expr.chars().next().unwrap_or('?')),
    };
    if format == 'i' {
        return disassemble(m, physical, addr, count);
    }
    let item = if format == 'c' { 1 } else { size };
    let per_line = if format == 'c' || size == 1 { 8 } else { 16 / size as u64 };
    let total = if format == 'c' { count * size as u64 } else { count };
    let mut out = String::new();
    let mut i = 0;
    while i < total {
        let line_addr = addr.wrapping_add(i * item as u64);
        if physical {
            out += &format!("{line_addr:016x}:");
        } else {
            out += &format!("{:08x}:", line_addr as u32);
        }
        for k in 0..per_line.min(total - i) {
            let a = line_addr.wrapping_add(k * item as u64);
            let Some(bytes) = read(m, physical, a, item) else {
                out += " Cannot access memory\n";
                return out;
            };
            let v = bytes.iter().rev().fold(0u64, |v, b| v << 8 | *b as u64);
            out += &match format {
                'x' => format!(" 0x{v:0w$x}", w = 2 * item as usize),
                'u' => format!(" {v:>w$}", w = (item as usize * 80).div_ceil(33)),
                'd' => {
                    let sv = match item {
                        1 => v as u8 as i8 as i64,
                        2 => v as u16 as i16 as i64,
                        4 => v as u32 as i32 as i64,
                        _ => v as i64,
                    };
                    format!(" {sv:>w$}", w = (item as usize * 80).div_ceil(33))
                }
                'o' => format!(" {:>w$}", format!("{v:#o}"), w = (item as usize * 8).div_ceil(3)),
                _ => format!(" '{}'", char_repr(v as u8)),
            };
        }
        out.push('\n');
        i += per_line;
    }
    out
}

/// `x /Ni`: N instructions from `addr`, decoded in the CPU's current code
/// size, one a line: address, bytes, and the instruction (Intel syntax,
/// where QEMU prints AT&T).
fn disassemble(m: &Machine, physical: bool, addr: u64, count: u64) -> String {
    use iced_x86::{Decoder, DecoderOptions};
    let bits = if m.cpu.state.cr0 & 1 != 0 && m.cpu.state.seg(Seg::CS).big() { 32 } else { 16 };
    let mut out = String::new();
    let mut at = addr;
    for _ in 0..count {
        let Some(bytes) = read(m, physical, at, 15).or_else(|| read(m, physical, at, 1)) else {
            out += &format!("0x{at:08x}:  Cannot access memory\n");
            break;
        };
        let mut d = Decoder::with_ip(bits, &bytes, at, DecoderOptions::NONE);
        let ins = d.decode();
        let len = ins.len().max(1);
        let hex: Vec<String> = bytes[..len.min(bytes.len())].iter().map(|b| format!("{b:02x}")).collect();
        out += &format!("0x{at:08x}:  {:<24} {ins}\n", hex.join(" "));
        at = at.wrapping_add(len as u64);
    }
    out
}

fn char_repr(b: u8) -> String {
    match b {
        b'\n' => "\\n".into(),
        b'\r' => "\\r".into(),
        b'\\' => "\\\\".into(),
        b'\'' => "\\'".into(),
        0x20..=0x7e => (b as char).to_string(),
        _ => format!("\\x{b:02x}"),
    }
}

fn parse_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// `len` bytes at `addr`, physical or through the guest's page tables
/// (read without setting accessed bits), if mapped.
fn read(m: &Machine, physical: bool, addr: u64, len: u32) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len as usize);
    for k in 0..len as u64 {
        let a = addr.wrapping_add(k);
        let phys = if physical { u32::try_from(a).ok()? } else { translate(m, a as u32)? };
        let mut b = [0u8];
        m.cpu.mem.read_phys(PhysAddr(phys), &mut b);
        out.push(b[0]);
    }
    Some(out)
}

/// The physical address of a linear one through the two-level page tables,
/// as the debugger sees it (no accessed bits set, no fault).
fn translate(m: &Machine, linear: u32) -> Option<u32> {
    let s = &m.cpu.state;
    if s.cr0 & 0x8000_0000 == 0 {
        return Some(linear);
    }
    let word = |a: u32| {
        let mut b = [0u8; 4];
        m.cpu.mem.read_phys(PhysAddr(a), &mut b);
        u32::from_le_bytes(b)
    };
    let pde = word((s.cr3 & !0xfff) | (linear >> 22) << 2);
    if pde & 1 == 0 {
        return None;
    }
    if pde & 0x80 != 0 && s.cr4 & 0x10 != 0 {
        return Some((pde & 0xffc0_0000) | (linear & 0x3f_ffff));
    }
    let pte = word((pde & !0xfff) | ((linear >> 12) & 0x3ff) << 2);
    (pte & 1 != 0).then_some((pte & !0xfff) | (linear & 0xfff))
}
