//! The host terminal in raw mode while a serial console runs on it, and back
//! as it was on every way out: the guard's drop (a normal end), the panic
//! hook, and the signals that end a run (SIGTERM, SIGHUP, and SIGINT when the
//! terminal still sends it), which the run loop sees as a request to quit.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use nix::sys::termios::{self, LocalFlags, OutputFlags, SetArg, Termios};

/// The terminal settings to put back, for the panic hook.
static SAVED: OnceLock<Mutex<Option<Termios>>> = OnceLock::new();

/// Raw mode on standard input while this lives.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts the terminal on standard input in raw mode: bytes as typed, no
    /// echo, output still with its newline translation; `signals` keeps
    /// Ctrl-C, Ctrl-Z and Ctrl-\ as signals (QEMU's `-serial stdio`),
    /// otherwise they reach the guest (`-serial mon:stdio`). None when
    /// standard input is not a terminal.
    pub fn enable(signals: bool) -> Option<RawMode> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        raw.output_flags |= OutputFlags::OPOST;
        if signals {
            raw.local_flags |= LocalFlags::ISIG;
        }
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        let slot = SAVED.get_or_init(|| Mutex::new(None));
        if let Ok(mut s) = slot.lock() {
            *s = Some(saved.clone());
        }
        install_panic_hook();
        Some(RawMode { saved })
    }
}

fn restore(t: &Termios) {
    let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, t);
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore(&self.saved);
        if let Some(Ok(mut s)) = SAVED.get().map(|m| m.lock()) {
            *s = None;
        }
    }
}

/// A panic puts the terminal back before the message is printed.
fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(Ok(s)) = SAVED.get().map(|m| m.lock()) {
                if let Some(t) = s.as_ref() {
                    restore(t);
                }
            }
            previous(info);
        }));
    });
}

/// The signals that end a run: set when one arrives.
#[derive(Clone)]
pub struct Signals {
    raised: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    /// Watches SIGTERM, SIGHUP and SIGINT.
    pub fn watch() -> Signals {
        let s = Signals { raised: Arc::new(AtomicBool::new(false)), which: Arc::new(AtomicUsize::new(0)) };
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT] {
            let _ = signal_hook::flag::register(sig, s.raised.clone());
            let _ = signal_hook::flag::register_usize(sig, s.which.clone(), sig as usize);
        }
        s
    }

    /// The signal that arrived, if one did.
    pub fn raised(&self) -> Option<i32> {
        self.raised.load(Ordering::Relaxed).then(|| self.which.load(Ordering::Relaxed) as i32)
    }
}
