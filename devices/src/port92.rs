//! System control port A (port 0x92, "fast A20"): bit 1 opens the A20 gate,
//! writing 1 to bit 0 resets the machine.

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
    /// A20 starts enabled, as on QEMU's PC.
    pub fn new() -> Self {
        SystemControlA { value: 0x02, pending: None }
    }
}

impl PortDevice for SystemControlA {
    fn read(&mut self, _port: u16, _size: u8) -> u32 {
        self.value as u32
    }
    fn write(&mut self, _port: u16, _size: u8, value: u32) {
        let v = value as u8;
        if v & 1 != 0 {
            self.pending = Some(Request::Reset);
        } else if (v ^ self.value) & 2 != 0 {
            self.pending = Some(Request::SetA20(v & 2 != 0));
        }
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
        assert_eq!(p.read(0x92, 1), 2);
        p.write(0x92, 1, 0);
        assert_eq!(p.take_request(), Some(Request::SetA20(false)));
        p.write(0x92, 1, 0);
        assert_eq!(p.take_request(), None);
        p.write(0x92, 1, 1);
        assert_eq!(p.take_request(), Some(Request::Reset));
    }
}
