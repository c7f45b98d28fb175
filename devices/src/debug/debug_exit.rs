//! QEMU's isa-debug-exit: a write of `v` ends the emulator with exit status
//! `(v << 1) | 1` (so a guest can never signal plain success with 0).

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
