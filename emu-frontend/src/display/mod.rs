//! Showing the display adapter's picture and taking input for it: the
//! machine publishes a new picture when the guest changed video memory or a
//! register, at most [`REFRESH`] apart and never in the middle of a slice
//! ([`Screen`]); viewers ([`vnc`], [`terminal`]) read the latest one from
//! their own threads and send keys and mouse motion back ([`Input`]), which
//! the machine hands to the PS/2 devices between slices. Drawing costs the
//! guest only the rendering of changed pictures, at a bounded rate.

pub mod terminal;
pub mod vnc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use vemu_devices::display::TextScreen;
use vemu_devices::{Frame, KeyCode};

/// How often, at most, the machine publishes a new picture (host time).
pub const REFRESH: Duration = Duration::from_millis(30);

/// The latest picture.
#[derive(Clone, Default)]
pub struct Picture {
    pub frame: Arc<Frame>,
    /// The text screen, when a text mode is on (for the terminal display).
    pub text: Option<Arc<TextScreen>>,
    /// Counts pictures; a viewer redraws when it changes.
    pub generation: u64,
}

/// The picture shared between the machine and its viewers.
#[derive(Clone, Default)]
pub struct Screen {
    inner: Arc<(Mutex<Picture>, Condvar)>,
    /// A viewer wants the picture as it is now (a new client, a full
    /// update), without waiting for the rate limit or a change.
    wanted: Arc<AtomicBool>,
}

impl Screen {
    /// Publishes a new picture (the machine's side).
    pub fn publish(&self, frame: Frame, text: Option<TextScreen>) {
        let (lock, cond) = &*self.inner;
        let mut p = lock.lock().unwrap_or_else(|e| e.into_inner());
        p.frame = Arc::new(frame);
        p.text = text.map(Arc::new);
        p.generation += 1;
        cond.notify_all();
    }

    /// The picture as it is now: asks the machine for one and waits (at most
    /// `wait`) for it; the latest one if it does not come.
    pub fn current(&self, wait: Duration) -> Picture {
        let generation = self.latest().generation;
        self.wanted.store(true, Ordering::Release);
        self.wait_newer(generation, wait)
    }

    /// Whether a viewer asked for the picture now (the machine's side;
    /// clears the request).
    pub fn take_wanted(&self) -> bool {
        self.wanted.swap(false, Ordering::AcqRel)
    }

    /// The latest picture.
    pub fn latest(&self) -> Picture {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (at most `wait`) for a picture newer than `generation`.
    pub fn wait_newer(&self, generation: u64, wait: Duration) -> Picture {
        let (lock, cond) = &*self.inner;
        let p = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (p, _) = cond
            .wait_timeout_while(p, wait, |p| p.generation <= generation)
            .unwrap_or_else(|e| e.into_inner());
        p.clone()
    }
}

/// Input from a viewer for the guest.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Key(KeyCode, bool),
    /// Relative motion, wheel (dz) and the buttons held (PS/2 bits).
    Mouse {
        dx: i32,
        dy: i32,
        dz: i32,
        buttons: u8,
    },
}

/// The machine's side of its viewers: the picture it publishes and the
/// input they send.
pub struct Displays {
    pub screen: Screen,
    input: Receiver<Input>,
    sender: Sender<Input>,
}

impl Default for Displays {
    fn default() -> Self {
        Self::new()
    }
}

impl Displays {
    pub fn new() -> Displays {
        let (sender, input) = mpsc::channel();
        Displays { screen: Screen::default(), input, sender }
    }

    /// Where viewers send input.
    pub fn sender(&self) -> Sender<Input> {
        self.sender.clone()
    }

    /// The input waiting.
    pub fn take_input(&self) -> Vec<Input> {
        self.input.try_iter().collect()
    }
}
