//! The monitor, as QEMU's: QMP on sockets ([`qmp`]), the human monitor's
//! commands ([`hmp`], through `human-monitor-command` and `-monitor`), and
//! what they do to the machine ([`commands`]), run by the machine's loop
//! between slices.

pub mod commands;
pub mod hmp;
pub mod json;
pub mod qmp;

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use vemu_devices::KeyCode;

pub use qmp::{Hub, QmpError, Request};

/// The machine's run state, as QMP reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Stopped by `stop` (or the HMP's).
    Paused,
    /// Started with `-S`: nothing has run yet.
    Prelaunch,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Prelaunch => "prelaunch",
        }
    }
}

/// The machine's side of the monitor: the commands waiting, the clients to
/// tell about events, and what the commands left to do over time.
pub struct Monitor {
    requests: Receiver<Request>,
    sender: Sender<Request>,
    pub hub: Hub,
    pub state: RunState,
    /// When the machine stopped, to hold the guest's clock still.
    pub stopped_at: Option<Instant>,
    /// Key presses and releases still to send, and when the next may go.
    pub keys: VecDeque<(KeyCode, bool, Duration)>,
    pub next_key: Instant,
    /// The human monitor's sticky `x`/`xp` format and size.
    pub x_format: (char, u32),
    /// A command ran or a key went to the guest since the machine last
    /// looked (a sleeping machine wakes to see what it changed).
    pub acted: bool,
}

impl Monitor {
    /// A monitor; `start_paused` as with `-S`.
    pub fn new(start_paused: bool) -> Monitor {
        let (sender, requests) = mpsc::channel();
        Monitor {
            requests,
            sender,
            hub: Hub::default(),
            state: if start_paused { RunState::Prelaunch } else { RunState::Running },
            stopped_at: start_paused.then(Instant::now),
            keys: VecDeque::new(),
            next_key: Instant::now(),
            x_format: ('x', 4),
            acted: false,
        }
    }

    /// Where the servers send commands.
    pub fn sender(&self) -> Sender<Request> {
        self.sender.clone()
    }

    /// The next command, waiting at most `wait` for one.
    pub fn next(&self, wait: Duration) -> Option<Request> {
        if wait.is_zero() {
            self.requests.try_recv().ok()
        } else {
            self.requests.recv_timeout(wait).ok()
        }
    }

    pub fn running(&self) -> bool {
        self.state == RunState::Running
    }
}
