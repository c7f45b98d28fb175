//! System control port A (port 0x92, "fast A20"): writing bit 1 opens or closes
//! the A20 gate, writing 1 to bit 0 resets the machine. The port reads back what
//! was written (0 at power-on: A20 starts enabled through the keyboard
//! controller's line, not this port, as on QEMU's PC). The value is the state
//! ([`Snapshot`]); a request is the machine's to take at once and is not.

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::{PortDevice, Request};

#[derive(Serialize, Deserialize)]
pub struct SystemControlA {
    value: u8,
    #[serde(skip)]
    pending: Option<Request>,
}

impl Default for SystemControlA {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemControlA {
    pub fn new() -> Self {
        SystemControlA { value: 0, pending: None }
    }
}

impl PortDevice for SystemControlA {
    fn read(&mut self, _port: u16, _size: u8) -> u32 {
        self.value as u32
    }
    fn write(&mut self, _port: u16, _size: u8, value: u32) {
        let v = value as u8;
        self.pending = Some(if v & 1 != 0 { Request::Reset } else { Request::SetA20(v & 2 != 0) });
        self.value = v & !1;
    }
    fn take_request(&mut self) -> Option<Request> {
        self.pending.take()
    }
    fn reset(&mut self) {
        *self = Self::new();
    }
}

impl Snapshot for SystemControlA {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        *self = state::decode(bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a20_and_reset() {
        let mut p = SystemControlA::new();
        assert_eq!(p.read(0x92, 1), 0);
        p.write(0x92, 1, 2);
        assert_eq!(p.take_request(), Some(Request::SetA20(true)));
        assert_eq!(p.read(0x92, 1), 2);
        p.write(0x92, 1, 0);
        assert_eq!(p.take_request(), Some(Request::SetA20(false)));
        assert_eq!(p.take_request(), None);
        p.write(0x92, 1, 1);
        assert_eq!(p.take_request(), Some(Request::Reset));
    }

    #[test]
    fn state_round_trips() {
        let mut p = SystemControlA::new();
        p.write(0x92, 1, 0x02);
        p.take_request();
        let mut copy = SystemControlA::new();
        copy.restore(&p.save()).unwrap();
        assert_eq!(copy.read(0x92, 1), 0x02, "A20 open through the port");
        assert_eq!(copy.take_request(), None);
        copy.write(0x92, 1, 0x03);
        assert_eq!(copy.take_request(), Some(Request::Reset));
        assert_eq!(copy.read(0x92, 1), 0x02);
    }
}
