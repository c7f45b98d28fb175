//! The DMA page registers (the 74LS612 beside the PC's 8237 DMA controllers):
//! latches at ports 0x81-0x83, 0x87 (8-bit channels) and 0x89-0x8b, 0x8f (16-bit
//! channels) that read back what was written. Port 0x80, the POST port, is not
//! one of them here (QEMU's PC has it apart too). The DMA transfers themselves
//! come with the floppy and sound devices. The latches are the state
//! ([`Snapshot`]).

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// Ports with a latch, as offsets from 0x80.
const LATCHES: [u16; 8] = [0x1, 0x2, 0x3, 0x7, 0x9, 0xa, 0xb, 0xf];

#[derive(Default, Serialize, Deserialize)]
pub struct DmaPageRegisters {
    pages: [u8; 16],
}

impl DmaPageRegisters {
    pub fn new() -> Self {
        Self::default()
    }

    /// The ports to map this device at (byte accesses of word or dword size
    /// reach the neighbouring ports through the bus).
    pub fn ports() -> impl Iterator<Item = u16> {
        LATCHES.iter().map(|p| 0x80 + p)
    }
}

impl PortDevice for DmaPageRegisters {
    fn read(&mut self, port: u16, _size: u8) -> u32 {
        self.pages[(port & 0xf) as usize] as u32
    }
    fn write(&mut self, port: u16, _size: u8, value: u32) {
        self.pages[(port & 0xf) as usize] = value as u8;
    }
    fn reset(&mut self) {
        self.pages = [0; 16];
    }
}

impl Snapshot for DmaPageRegisters {
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
    fn state_round_trips() {
        let mut d = DmaPageRegisters::new();
        for (i, port) in DmaPageRegisters::ports().enumerate() {
            d.write(port, 1, 0x10 + i as u32);
        }
        let mut copy = DmaPageRegisters::new();
        copy.restore(&d.save()).unwrap();
        for (i, port) in DmaPageRegisters::ports().enumerate() {
            assert_eq!(copy.read(port, 1), 0x10 + i as u32, "port {port:#x}");
        }
    }
}
