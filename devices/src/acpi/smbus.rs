//! The PIIX4's SMBus host controller (function 3's second I/O block, 16
//! bytes where configuration register 0x90 puts it): the registers a driver
//! programs, and a bus with no device on it. Every transaction a driver
//! starts ends at once with "device error" (no device acknowledged its
//! address), never busy, so drivers and firmware that probe the bus move on.
//!
//! Registers (82371AB data sheet, "SMBus controller"): 0 host status
//! (bits 1-7 write-1-to-clear), 2 host control (bit 6 starts a
//! transaction; bits 0-4 read back), 3 command, 4 address, 5-6 data,
//! 7 block data. The controller raises no interrupt.

use serde::{Deserialize, Serialize};

/// The size of the I/O block.
pub const SMBUS_BYTES: u16 = 16;

const HST_STS: u16 = 0;
const HST_CNT: u16 = 2;
const HST_CMD: u16 = 3;
const HST_ADD: u16 = 4;
const HST_DAT0: u16 = 5;
const HST_DAT1: u16 = 6;
const BLK_DAT: u16 = 7;

/// Host status: no device answered.
pub const STS_DEV_ERR: u8 = 1 << 2;
/// Host status: the bus is busy (never, here).
const STS_HOST_BUSY: u8 = 1 << 0;
/// Host control: start the transaction programmed.
const CNT_START: u8 = 1 << 6;
/// Host control bits that read back.
const CNT_READ_BACK: u8 = 0x1f;

/// The controller's registers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmbusHost {
    status: u8,
    control: u8,
    command: u8,
    address: u8,
    data: [u8; 2],
    block: u8,
}

impl SmbusHost {
    /// Reads the byte at `offset` in the block.
    pub fn read(&self, offset: u16) -> u8 {
        match offset {
            HST_STS => self.status,
            HST_CNT => self.control & CNT_READ_BACK,
            HST_CMD => self.command,
            HST_ADD => self.address,
            HST_DAT0 => self.data[0],
            HST_DAT1 => self.data[1],
            BLK_DAT => self.block,
            _ => 0,
        }
    }

    /// Writes the byte at `offset` in the block.
    pub fn write(&mut self, offset: u16, v: u8) {
        match offset {
            HST_STS => self.status &= !(v & !STS_HOST_BUSY),
            HST_CNT => {
                self.control = v & !CNT_START;
                if v & CNT_START != 0 {
                    // Nobody acknowledges the address.
                    self.status |= STS_DEV_ERR;
                }
            }
            HST_CMD => self.command = v,
            HST_ADD => self.address = v,
            HST_DAT0 => self.data[0] = v,
            HST_DAT1 => self.data[1] = v,
            BLK_DAT => self.block = v,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_finds_no_device() {
        let mut s = SmbusHost::default();
        s.write(HST_ADD, 0xa1); // read from the EEPROM at 0x50
        s.write(HST_CMD, 0x00);
        s.write(HST_CNT, 0x48); // byte data, start
        assert_eq!(s.read(HST_STS) & STS_HOST_BUSY, 0, "never busy");
        assert_eq!(s.read(HST_STS), STS_DEV_ERR);
        assert_eq!(s.read(HST_CNT), 0x08, "the protocol reads back, start does not");
        assert_eq!(s.read(HST_ADD), 0xa1);
        s.write(HST_STS, STS_DEV_ERR);
        assert_eq!(s.read(HST_STS), 0, "write 1 to clear");
        s.write(HST_CNT, 0x08);
        assert_eq!(s.read(HST_STS), 0, "no start, no transaction");
    }
}
