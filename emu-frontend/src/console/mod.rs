//! The serial console: COM1 on this process's standard input and output (or
//! a file, or nothing), as QEMU's `-serial` gives it.
//!
//! What the guest sends reaches the terminal at once (the UART writes each
//! byte to its sink and flushes it). Keys come from a thread that reads
//! standard input and hands the bytes to the run loop through a channel; the
//! run loop drains it between slices and feeds the UART, whose FIFO and
//! host-side queue pace them. With standard input a terminal, it is in raw
//! mode ([`terminal`]) while the run lasts; with `mon:stdio` (the default, as
//! under `-nographic`) Ctrl-A starts QEMU's escapes: Ctrl-A x quits, Ctrl-A h
//! lists them, Ctrl-A Ctrl-A sends a Ctrl-A. When standard input is not a
//! terminal its bytes are the input, and its end is not an error.

pub mod terminal;

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use terminal::{RawMode, Signals};

/// Where COM1 goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SerialTarget {
    /// This terminal; `escapes`: with QEMU's Ctrl-A escapes (`mon:stdio`).
    Stdio { escapes: bool },
    /// Nowhere (output dropped, no input).
    Null,
    /// Output appended to a file, no input.
    File(PathBuf),
}

/// How the console is set up.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    pub serial: SerialTarget,
    /// QMP servers (`-qmp`): where, and whether to wait for a client first.
    pub qmp: Vec<(crate::monitor::qmp::Endpoint, bool)>,
    /// Human monitor servers (`-monitor`).
    pub hmp: Vec<(crate::monitor::qmp::Endpoint, bool)>,
    /// Start stopped (`-S`).
    pub start_stopped: bool,
    /// How the screen is shown.
    pub display: Display,
    /// The VNC server's address, if any (`-vnc`).
    pub vnc: Option<String>,
    /// The human monitor on this terminal (`-monitor stdio`).
    pub monitor_stdio: bool,
}

/// How the screen is shown.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Display {
    /// `-nographic`: no screen; the firmware and the serial console take the
    /// terminal.
    NoGraphic,
    /// `-display none`: the adapter works (screendumps, VNC), nothing is shown.
    None,
    /// `-display curses`: the screen in this terminal, keys to the keyboard.
    Curses,
}

/// What the run loop should do about the console.
#[derive(Debug, PartialEq, Eq)]
pub enum ConsoleEvent {
    /// A byte for the guest's serial port.
    Key(u8),
    /// The user asked to quit (Ctrl-A x, or a signal).
    Quit(String),
    /// A line typed at the human monitor (after Ctrl-A c, or `-monitor stdio`).
    MonitorLine(String),
}

/// Ctrl-A, QEMU's escape character.
const CTRL_A: u8 = 0x01;

const ESCAPE_HELP: &str = "\r\nC-a h    print this help\r\nC-a x    exit emulator\r\nC-a c    switch between console and monitor\r\nC-a C-a  sends C-a\r\n";

/// The serial console of a run.
pub struct Console {
    input: Option<Receiver<Vec<u8>>>,
    escapes: bool,
    after_ctrl_a: bool,
    signals: Signals,
    /// Keys go to the human monitor (Ctrl-A c switches), and the line
    /// typed so far.
    monitor: bool,
    line: Vec<u8>,
    /// Keeps the terminal raw; restores it when dropped.
    _raw: Option<RawMode>,
}

impl Console {
    fn new(
        input: Option<Receiver<Vec<u8>>>,
        escapes: bool,
        monitor: bool,
        signals: Signals,
        raw: Option<RawMode>,
    ) -> Console {
        Console { input, escapes, after_ctrl_a: false, signals, monitor, line: Vec::new(), _raw: raw }
    }

    /// Sets the console up; returns it and the sink COM1 writes to.
    pub fn open(config: &ConsoleConfig) -> Result<(Console, Box<dyn Write>), String> {
        let signals = Signals::watch();
        if config.display == Display::Curses {
            // The terminal is the display's: keys in raw mode with the
            // escapes (Ctrl-A x quits), COM1 where -serial says.
            let sink: Box<dyn Write> = match &config.serial {
                SerialTarget::File(path) => Box::new(open_output(path)?),
                _ => Box::new(std::io::sink()),
            };
            let raw = RawMode::enable(false);
            return Ok((Console::new(Some(spawn_reader()), true, false, signals, raw), sink));
        }
        if config.monitor_stdio {
            // The terminal is the human monitor's; COM1 where -serial says.
            let sink: Box<dyn Write> = match &config.serial {
                SerialTarget::File(path) => Box::new(open_output(path)?),
                _ => Box::new(std::io::sink()),
            };
            let raw = RawMode::enable(true);
            print_monitor_greeting();
            return Ok((Console::new(Some(spawn_reader()), false, true, signals, raw), sink));
        }
        let (sink, input, escapes, raw): (Box<dyn Write>, _, _, _) = match &config.serial {
            SerialTarget::Stdio { escapes } => {
                let raw = RawMode::enable(!escapes);
                (Box::new(std::io::stdout()), Some(spawn_reader()), *escapes, raw)
            }
            SerialTarget::Null => (Box::new(std::io::sink()), None, false, None),
            SerialTarget::File(path) => (Box::new(open_output(path)?), None, false, None),
        };
        Ok((Console::new(input, escapes, false, signals, raw), sink))
    }

    /// Whether keys can still come (a terminal or a pipe that has not ended).
    pub fn has_input(&self) -> bool {
        self.input.is_some()
    }

    /// What arrived, waiting at most `wait` for something (a halted guest
    /// sleeps here until its next timer event or a key).
    pub fn poll(&mut self, wait: Duration) -> Vec<ConsoleEvent> {
        let mut events = Vec::new();
        if let Some(sig) = self.signals.raised() {
            events.push(ConsoleEvent::Quit(format!("terminating on signal {sig}")));
            return events;
        }
        let Some(rx) = &self.input else {
            std::thread::sleep(wait);
            return events;
        };
        let mut bytes = match rx.recv_timeout(wait) {
            Ok(b) => b,
            Err(RecvTimeoutError::Timeout) => return events,
            Err(RecvTimeoutError::Disconnected) => {
                // Standard input ended: no more keys, and no more waiting for them.
                self.input = None;
                std::thread::sleep(wait);
                return events;
            }
        };
        while let Ok(more) = rx.try_recv() {
            bytes.extend(more);
        }
        for b in bytes {
            self.key(b, &mut events);
        }
        events
    }

    /// One byte from the terminal, through the escapes.
    fn key(&mut self, b: u8, events: &mut Vec<ConsoleEvent>) {
        if !self.escapes {
            self.plain(b, events);
            return;
        }
        if !self.after_ctrl_a {
            if b == CTRL_A {
                self.after_ctrl_a = true;
            } else {
                self.plain(b, events);
            }
            return;
        }
        self.after_ctrl_a = false;
        match b {
            b'x' | b'X' => events.push(ConsoleEvent::Quit("terminating on user request (C-a x)".into())),
            b'h' | b'H' | b'?' => {
                let mut out = std::io::stdout();
                let _ = out.write_all(ESCAPE_HELP.as_bytes());
                let _ = out.flush();
            }
            b'c' | b'C' => {
                self.monitor = !self.monitor;
                self.line.clear();
                if self.monitor {
                    print_monitor_greeting();
                } else {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\r\n");
                    let _ = out.flush();
                }
            }
            CTRL_A => self.plain(CTRL_A, events),
            // Anything else after C-a is dropped, as QEMU's multiplexer does.
            _ => {}
        }
    }

    /// A byte past the escapes: to the guest, or to the monitor's line
    /// (echoed, with backspace; Enter hands the line over).
    fn plain(&mut self, b: u8, events: &mut Vec<ConsoleEvent>) {
        if !self.monitor {
            events.push(ConsoleEvent::Key(b));
            return;
        }
        let mut out = std::io::stdout();
        match b {
            b'\r' | b'\n' => {
                let _ = out.write_all(b"\r\n");
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                events.push(ConsoleEvent::MonitorLine(line));
            }
            0x7f | 0x08 if self.line.pop().is_some() => {
                let _ = out.write_all(b"\x08 \x08");
            }
            0x20..=0x7e => {
                self.line.push(b);
                let _ = out.write_all(&[b]);
            }
            _ => {}
        }
        let _ = out.flush();
    }
}

/// The human monitor's greeting and prompt, on the terminal.
fn print_monitor_greeting() {
    let mut out = std::io::stdout();
    let text = format!("\r\n{}{}", crate::monitor::hmp::GREETING, crate::monitor::hmp::PROMPT);
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

impl Console {
    /// Prints what a monitor command printed, and the prompt again.
    pub fn monitor_output(&self, text: &str) {
        let mut out = std::io::stdout();
        let _ = out.write_all(text.as_bytes());
        let _ = out.write_all(crate::monitor::hmp::PROMPT.as_bytes());
        let _ = out.flush();
    }
}

/// The file COM1's output is appended to.
fn open_output(path: &std::path::Path) -> Result<File, String> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open serial output file {}: {e}", path.display()))
}

/// A thread that reads standard input and sends what it reads.
fn spawn_reader() -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 256];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(escapes: bool) -> Console {
        Console::new(None, escapes, false, Signals::watch(), None)
    }

    #[test]
    fn ctrl_a_c_switches_to_the_monitor_and_back() {
        let mut c = console(true);
        let mut ev = Vec::new();
        for b in [b'a', CTRL_A, b'c', b'i', b'n', b'f', 0x7f, b'f', b'o', b'\r', CTRL_A, b'c', b'z'] {
            c.key(b, &mut ev);
        }
        assert_eq!(
            ev,
            [ConsoleEvent::Key(b'a'), ConsoleEvent::MonitorLine("info".into()), ConsoleEvent::Key(b'z')]
        );
    }

    #[test]
    fn escapes_as_qemu_multiplexer() {
        let mut c = console(true);
        let mut ev = Vec::new();
        for b in [b'a', CTRL_A, CTRL_A, CTRL_A, b'z', CTRL_A, b'x'] {
            c.key(b, &mut ev);
        }
        assert_eq!(ev[0], ConsoleEvent::Key(b'a'));
        assert_eq!(ev[1], ConsoleEvent::Key(CTRL_A));
        assert!(matches!(ev[2], ConsoleEvent::Quit(_)), "C-a z is dropped, C-a x quits: {ev:?}");
        let mut plain = console(false);
        let mut ev = Vec::new();
        plain.key(CTRL_A, &mut ev);
        plain.key(b'x', &mut ev);
        assert_eq!(ev, vec![ConsoleEvent::Key(CTRL_A), ConsoleEvent::Key(b'x')]);
    }
}
