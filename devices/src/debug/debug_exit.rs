//! QEMU's isa-debug-exit: a write of `v` ends the emulator with exit status
//! `(v << 1) | 1` (so a guest can never signal plain success with 0). It
//! keeps no state ([`Snapshot`] saves nothing): a request is the machine's to
//! take at once.

use crate::state::{self, Snapshot, StateError};
use crate::{PortDevice, Request};

#[derive(Default)]
pub struct IsaDebugExit {
    pending: Option<Request>,
}

impl IsaDebugExit {
    pub fn new() -> Self {
        Self::default()
    }
}

impl PortDevice for IsaDebugExit {
    fn read(&mut self, _port: u16, size: u8) -> u32 {
        crate::ones(size)
    }
    fn write(&mut self, _port: u16, size: u8, value: u32) {
        let v = value & crate::ones(size);
        self.pending = Some(Request::Exit(((v << 1) | 1) as i32));
    }
    fn take_request(&mut self) -> Option<Request> {
        self.pending.take()
    }
}

impl Snapshot for IsaDebugExit {
    fn save(&self) -> Vec<u8> {
        state::encode(&())
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        state::decode::<()>(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let d = IsaDebugExit::new();
        let mut copy = IsaDebugExit::new();
        copy.restore(&d.save()).unwrap();
        assert_eq!(copy.read(0xf4, 1), 0xff);
        copy.write(0xf4, 1, 0x10);
        assert_eq!(copy.take_request(), Some(Request::Exit(0x21)));
        assert!(copy.restore(&[0]).is_err(), "another device's state");
    }
}
