//! Reads what `qemu-system-i386 -singlestep -d cpu,exec,nochain,int -D LOG`
//! writes (QEMU 7.2) and turns it into the steps and events of vemu's trace.
//!
//! Each `Trace` line starts a translation block (one instruction under
//! `-singlestep`) and is followed by the CPU dump taken before it runs: that
//! dump is a step. `check_exception old: ... new: V` is an exception; the
//! `v=VV e=EEEE i=I` line of `-d int` that follows it gives its error code (in
//! protected mode only, as QEMU logs it only there), or marks a software
//! interrupt (`i=1`); the dump after that line is the state at the exception
//! and is not a step. `Servicing hardware INT=0xVV` is a hardware interrupt.
//! QEMU logs a block again when it restarts it without having run it (an
//! interrupt check, the end of an icount budget): a step identical to the one
//! before, with nothing in between, is such a repeat and is dropped.

use crate::record::{Event, State, Step};

/// Vectors whose delivery pushes an error code.
pub fn pushes_error(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17)
}

#[derive(Default)]
struct Dump {
    fields: [Option<u32>; 21],
}

impl Dump {
    /// Takes `NAME=hex` tokens (QEMU's dump lines) that name trace fields.
    fn take(&mut self, line: &str) {
        if let Some((seg, rest)) = segment_line(line) {
            if let Some(sel) = rest.split_whitespace().next().and_then(|t| u32::from_str_radix(t, 16).ok()) {
                self.fields[seg] = Some(sel);
            }
            return;
        }
        for token in line.split_whitespace() {
            let Some((name, value)) = token.split_once('=') else { continue };
            let Some(i) = crate::record::FIELDS.iter().position(|f| *f == name) else { continue };
            if let Ok(v) = u32::from_str_radix(value, 16) {
                self.fields[i] = Some(v);
            }
        }
    }

    fn complete(&self) -> Option<State> {
        let mut v = [0u32; 21];
        for (slot, f) in v.iter_mut().zip(self.fields.iter()) {
            *slot = (*f)?;
        }
        Some(State(v))
    }
}

/// `ES =0010 ...`: the field index of the segment register and the rest.
fn segment_line(line: &str) -> Option<(usize, &str)> {
    const SEGS: [(&str, usize); 6] =
        [("ES =", 11), ("CS =", 12), ("SS =", 13), ("DS =", 14), ("FS =", 15), ("GS =", 16)];
    SEGS.iter().find_map(|(p, i)| line.strip_prefix(p).map(|rest| (*i, rest)))
}

/// Parses a QEMU log into steps.
pub fn parse(log: &str) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    // The dump being read, if it belongs to a step.
    let mut dump: Option<Dump> = None;
    for line in log.lines() {
        if line.starts_with("Trace ") {
            finish(&mut dump, &mut steps, &mut events)?;
            dump = Some(Dump::default());
            continue;
        }
        if let Some(rest) = line.strip_prefix("check_exception old: ") {
            finish(&mut dump, &mut steps, &mut events)?;
            let hex = |t: &str| u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok();
            let (old, new) = rest.split_once(" new ").ok_or_else(|| format!("unreadable: {line}"))?;
            let (old, new) = (hex(old), hex(new));
            let (Some(old), Some(new)) = (old, new) else { return Err(format!("unreadable: {line}")) };
            // QEMU logs the exception raised, then turns it into #DF (or shuts
            // down) by the rules of SDM table 6-5 without logging that.
            // (None: a shutdown, nothing is delivered.)
            if let Some(vector) = delivered(old, new as u8) {
                events.push(Event::Exception { vector, error: None });
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("Servicing hardware INT=") {
            finish(&mut dump, &mut steps, &mut events)?;
            let vector = u8::from_str_radix(rest.trim().trim_start_matches("0x"), 16)
                .map_err(|_| format!("unreadable vector: {line}"))?;
            events.push(Event::Hardware { vector });
            continue;
        }
        if line.trim_start().split(' ').nth(1).is_some_and(|t| t.starts_with("v=")) {
            finish(&mut dump, &mut steps, &mut events)?;
            interrupt_line(line, &mut events)?;
            continue;
        }
        if let Some(d) = dump.as_mut() {
            d.take(line);
        }
    }
    finish(&mut dump, &mut steps, &mut events)?;
    Ok(steps)
}

/// What is delivered when exception `new` is raised while delivering `old`
/// (0xffffffff: nothing): `new`, #DF, or nothing at all (a triple fault).
fn delivered(old: u32, new: u8) -> Option<u8> {
    let contributory = |v: u32| matches!(v, 0 | 10..=13);
    let (new32, pf) = (new as u32, 14);
    if old == 8 && (contributory(new32) || new32 == pf) {
        return None;
    }
    if (contributory(old) && contributory(new32)) || (old == pf && (contributory(new32) || new32 == pf)) {
        return Some(8);
    }
    Some(new)
}

/// A `-d int` line: `N: v=0d e=0048 i=0 cpl=0 IP=...`.
fn interrupt_line(line: &str, events: &mut Vec<Event>) -> Result<(), String> {
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|t| t.strip_prefix(name))
            .and_then(|v| u32::from_str_radix(v, 16).ok())
            .ok_or_else(|| format!("unreadable {name} in: {line}"))
    };
    let vector = field("v=")? as u8;
    let error = field("e=")?;
    let software = field("i=")? == 1;
    if software {
        events.push(Event::Software { vector });
    } else if let Some(Event::Exception { vector: v, error: e }) = events.last_mut() {
        // The vector delivered, and the error code it pushed.
        *v = vector;
        if pushes_error(vector) {
            *e = Some(error);
        }
    }
    Ok(())
}

fn finish(dump: &mut Option<Dump>, steps: &mut Vec<Step>, events: &mut Vec<Event>) -> Result<(), String> {
    let Some(d) = dump.take() else { return Ok(()) };
    let state = d.complete().ok_or_else(|| "a CPU dump without all of its fields".to_string())?;
    if events.is_empty() && steps.last().is_some_and(|s| s.state == state) {
        return Ok(()); // QEMU restarted the block without running it
    }
    steps.push(Step { events: std::mem::take(events), state, insn: None });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663
ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000
EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 00000000 0000ffff 00009300
CS =f000 ffff0000 0000ffff 00009b00
SS =0000 00000000 0000ffff 00009300
DS =0000 00000000 0000ffff 00009300
FS =0000 00000000 0000ffff 00009300
GS =0000 00000000 0000ffff 00009300
LDT=0000 00000000 0000ffff 00008200
TR =0000 00000000 0000ffff 00008b00
GDT=     00000000 0000ffff
IDT=     00000000 0000ffff
CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000
DR0=00000000 DR1=00000000 DR2=00000000 DR3=00000000 
DR6=ffff0ff0 DR7=00000400
CCS=00000000 CCD=00000000 CCO=EFLAGS
EFER=0000000000000000
";

    #[test]
    fn steps_exceptions_and_repeats() {
        let log = format!(
            "Trace 0: 0x1 [ffff0000/fffffff0/00000040/ff000201] \n{DUMP}\
             Trace 0: 0x1 [ffff0000/fffffff0/00000040/ff000201] \n{DUMP}\
             check_exception old: 0xffffffff new 0xd\n\
             \x20    0: v=0d e=0048 i=0 cpl=0 IP=0008:000f62c4 pc=000f62c4 SP=0010:00007000 env->regs[R_EAX]=0\n\
             {DUMP}\
             Trace 0: 0x2 [ffff0000/fffffff0/00000040/ff000201] \n{}",
            DUMP.replace("EIP=0000fff0", "EIP=00000010")
        );
        let steps = parse(&log).unwrap();
        assert_eq!(steps.len(), 2, "the repeat is dropped, the exception dump is not a step");
        assert_eq!(steps[0].state.eip(), 0xfff0);
        assert_eq!(steps[0].state.cs(), 0xf000);
        assert_eq!(steps[0].state.0[3], 0x663);
        assert_eq!(steps[1].state.eip(), 0x10);
        assert_eq!(steps[1].events, vec![Event::Exception { vector: 13, error: Some(0x48) }]);
    }

    #[test]
    fn double_and_triple_faults() {
        assert_eq!(delivered(0xffff_ffff, 13), Some(13));
        assert_eq!(delivered(13, 11), Some(8));
        assert_eq!(delivered(14, 14), Some(8));
        assert_eq!(delivered(3, 13), Some(13), "benign first: serial");
        assert_eq!(delivered(14, 3), Some(3));
        assert_eq!(delivered(8, 13), None);
    }

    #[test]
    fn software_interrupts_in_protected_mode() {
        let log = format!(
            "Trace 0: 0x1 [0/0/0/0] \n{DUMP}\
             \x20    1: v=80 e=0000 i=1 cpl=3 IP=001b:00401000 pc=00401000 SP=0023:00009000 env->regs[R_EAX]=0\n\
             {DUMP}Trace 0: 0x2 [0/0/0/0] \n{}",
            DUMP.replace("EAX=00000000", "EAX=00000001")
        );
        let steps = parse(&log).unwrap();
        assert_eq!(steps[1].events, vec![Event::Software { vector: 0x80 }]);
    }
}
