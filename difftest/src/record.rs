//! What a trace is made of: the CPU state before each instruction ([`State`],
//! the fields of `vemu run --trace` and of QEMU's `-d cpu` dump) and the
//! exceptions and interrupts delivered between instructions ([`Event`]).

use std::fmt;

/// Names of the state fields, in trace order.
pub const FIELDS: [&str; 21] = [
    "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP", "EIP", "EFL", "CPL", "ES", "CS", "SS", "DS",
    "FS", "GS", "CR0", "CR2", "CR3", "CR4",
];

/// Index of EFL in [`FIELDS`].
pub const EFL: usize = 9;
/// Index of EIP in [`FIELDS`].
pub const EIP: usize = 8;
/// Index of CS in [`FIELDS`].
pub const CS: usize = 12;
/// Index of CPL in [`FIELDS`].
pub const CPL: usize = 10;
/// Index of CR0 in [`FIELDS`].
pub const CR0: usize = 17;

/// The CPU state before one instruction: the values of [`FIELDS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct State(pub [u32; 21]);

impl State {
    /// Parses a `NAME=hex NAME=hex ...` line with exactly the fields of [`FIELDS`].
    pub fn parse(line: &str) -> Option<State> {
        let mut v = [0u32; 21];
        let mut n = 0;
        for (i, token) in line.split(' ').enumerate() {
            let (name, hex) = token.split_once('=')?;
            if FIELDS.get(i) != Some(&name) {
                return None;
            }
            v[i] = u32::from_str_radix(hex, 16).ok()?;
            n += 1;
        }
        (n == FIELDS.len()).then_some(State(v))
    }

    pub fn eip(&self) -> u32 {
        self.0[EIP]
    }

    pub fn cs(&self) -> u16 {
        self.0[CS] as u16
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in FIELDS.iter().enumerate() {
            let width = match i {
                10 => 1,
                11..=16 => 4,
                _ => 8,
            };
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={:0width$x}", self.0[i])?;
        }
        Ok(())
    }
}

/// An exception or interrupt delivered between two instructions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// Raised by the processor; the error code when the trace knows it.
    Exception { vector: u8, error: Option<u32> },
    /// INT n, INT3, INTO, INT1.
    Software { vector: u8 },
    /// From a device.
    Hardware { vector: u8 },
}

impl Event {
    /// Parses an `INT=vv [ERR=eeeeeeee] [SW|HW]` line.
    pub fn parse(line: &str) -> Option<Event> {
        let mut tokens = line.split(' ');
        let vector = u8::from_str_radix(tokens.next()?.strip_prefix("INT=")?, 16).ok()?;
        let mut error = None;
        let mut kind = "";
        for t in tokens {
            if let Some(e) = t.strip_prefix("ERR=") {
                error = Some(u32::from_str_radix(e, 16).ok()?);
            } else {
                kind = t;
            }
        }
        Some(match kind {
            "SW" => Event::Software { vector },
            "HW" => Event::Hardware { vector },
            _ => Event::Exception { vector, error },
        })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Exception { vector, error: Some(e) } => write!(f, "INT={vector:02x} ERR={e:08x}"),
            Event::Exception { vector, error: None } => write!(f, "INT={vector:02x}"),
            Event::Software { vector } => write!(f, "INT={vector:02x} SW"),
            Event::Hardware { vector } => write!(f, "INT={vector:02x} HW"),
        }
    }
}

/// What vemu knows about the instruction a step executes (QEMU's log has none of it).
#[derive(Clone, Debug, Default)]
pub struct Insn {
    /// Disassembly (Intel syntax).
    pub text: String,
    /// iced-x86's mnemonic, lower case (for allowlist entries).
    pub mnemonic: String,
    /// EFLAGS bits the SDM leaves undefined after it.
    pub undefined_flags: u32,
    /// EFLAGS bits it writes with a defined value.
    pub defined_flags: u32,
}

/// One executed instruction: the events delivered just before it and its state.
#[derive(Clone, Debug)]
pub struct Step {
    pub events: Vec<Event>,
    pub state: State,
    pub insn: Option<Insn>,
}

/// Parses a trace file in vemu's `--trace` format (comments skipped).
pub fn parse_trace(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(state) = State::parse(line) {
            steps.push(Step { events: std::mem::take(&mut events), state, insn: None });
        } else if let Some(e) = Event::parse(line) {
            events.push(e);
        } else {
            return Err(format!("line {}: not a trace line: {line}", n + 1));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000652 ESI=00000000 EDI=00000000 \
                        EBP=00000000 ESP=00000000 EIP=0000fff0 EFL=00000002 CPL=0 ES=0000 CS=f000 SS=0000 \
                        DS=0000 FS=0000 GS=0000 CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000";

    #[test]
    fn state_round_trip() {
        let s = State::parse(LINE).unwrap();
        assert_eq!(s.eip(), 0xfff0);
        assert_eq!(s.cs(), 0xf000);
        assert_eq!(s.to_string(), LINE);
        assert!(State::parse("EAX=0").is_none());
        assert!(State::parse(&LINE.replace("EBX", "EXX")).is_none());
    }

    #[test]
    fn events() {
        assert_eq!(
            Event::parse("INT=0d ERR=00000048"),
            Some(Event::Exception { vector: 13, error: Some(0x48) })
        );
        assert_eq!(Event::parse("INT=80 SW"), Some(Event::Software { vector: 0x80 }));
        assert_eq!(Event::parse("INT=08 HW"), Some(Event::Hardware { vector: 8 }));
        assert_eq!(Event::parse("INT=00"), Some(Event::Exception { vector: 0, error: None }));
        let t = parse_trace(&format!("{LINE}\n# POST 12\nINT=00\n{LINE}\n")).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].events, vec![Event::Exception { vector: 0, error: None }]);
    }
}
