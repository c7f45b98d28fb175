//! System control port A (port 0x92, "fast A20"): writing bit 1 opens or closes
//! the A20 gate, writing 1 to bit 0 resets the machine. The port reads back what
//! was written (0 at power-on: A20 starts enabled through the keyboard
//! controller's line, not this port, as on QEMU's PC).

use crate::{PortDevice, Request};

pub struct SystemControlA {
    value: u8,
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
}
