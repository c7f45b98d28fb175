//! The PC's floating-point error logic (DOS-compatible FPU error reporting,
//! SDM Vol. 1 appendix D): the processor's FERR# output raises IRQ 13, and a
//! write to port 0xF0 asserts IGNNE#, which takes the request away and lets
//! the processor go on, until FERR# itself is released (the handler cleared
//! the exception flags). The two levels are the state ([`Snapshot`]).

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// The port whose write asserts IGNNE#.
pub const PORT: u16 = 0xf0;

#[derive(Default, Serialize, Deserialize)]
pub struct FpuErrorLatch {
    ferr: bool,
    ignne: bool,
}

impl FpuErrorLatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// The processor's FERR# output.
    pub fn set_ferr(&mut self, asserted: bool) {
        if !asserted {
            self.ignne = false;
        }
        self.ferr = asserted;
    }

    /// The level of IRQ 13.
    pub fn irq_level(&self) -> bool {
        self.ferr && !self.ignne
    }
}

impl PortDevice for FpuErrorLatch {
    /// Nothing answers a read of port 0xF0 (it floats high, as on QEMU's PC).
    fn read(&mut self, _port: u16, _size: u8) -> u32 {
        0xff
    }
    fn write(&mut self, _port: u16, _size: u8, _value: u32) {
        if self.ferr {
            self.ignne = true;
        }
    }
    fn reset(&mut self) {
        *self = Self::new();
    }
}

impl Snapshot for FpuErrorLatch {
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
    fn ferr_raises_irq13_until_ignne_or_release() {
        let mut f = FpuErrorLatch::new();
        assert!(!f.irq_level());
        f.write(PORT, 1, 0);
        f.set_ferr(true);
        assert!(f.irq_level(), "a write before the error does not hold it off");
        f.write(PORT, 1, 0);
        assert!(!f.irq_level());
        f.set_ferr(true);
        assert!(!f.irq_level(), "IGNNE# lasts while FERR# does");
        f.set_ferr(false);
        f.set_ferr(true);
        assert!(f.irq_level(), "a new error after FNCLEX raises IRQ 13 again");
        let saved = f.save();
        let mut g = FpuErrorLatch::new();
        g.restore(&saved).unwrap();
        assert!(g.irq_level());
    }
}
