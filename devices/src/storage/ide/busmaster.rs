//! The PIIX3's bus-master IDE engine (BMIDE, 8 bytes of BAR 4 per channel):
//! the command register (start/stop, direction), the status register
//! (active, error, interrupt; the drive-DMA-capable bits software keeps),
//! the PRD table pointer, and the walk along the PRD table that moves a DMA
//! command's data between the drive and guest memory.
//!
//! A PRD entry is a 32-bit physical address and a 32-bit word with the byte
//! count in bits 1-15 (0 meaning 64 KiB) and end-of-table in bit 31; as in
//! QEMU a table ends at its EOT entry or after 4 KiB of entries, whichever
//! comes first, and the direction bit is not consulted (the drive's command
//! decides). Accesses follow QEMU's PIIX: the command and status registers
//! take byte accesses only, the PRD pointer any width. Which drive
//! transfers, and when, is the channel's business (`mod.rs`).

use serde::{Deserialize, Serialize};

use crate::dma::GuestMemory;
use crate::ones;

/// The PCI BAR of the bus-master registers.
pub(super) const BAR: usize = 4;
/// Their size in I/O space: 8 bytes per channel.
pub(super) const SIZE: u32 = 16;

/// Command register bits.
const START: u8 = 0x01;
/// Direction: the engine writes memory (a read from the drive).
const WRITE_MEMORY: u8 = 0x08;

/// Status register bits.
pub(super) const ACTIVE: u8 = 0x01;
const ERROR: u8 = 0x02;
pub(super) const INTERRUPT: u8 = 0x04;
/// Drive 0 and drive 1 DMA capable: kept for software.
const CAPABLE: u8 = 0x60;

/// How far a PRD table may reach without an EOT entry.
const TABLE_LIMIT: u32 = 4096;

/// One channel's bus-master registers and its position in the PRD table.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct BusMaster {
    command: u8,
    status: u8,
    /// The PRD table pointer.
    table: u32,
    /// The next entry to fetch.
    next_entry: u32,
    /// The unused part of the current entry.
    piece_addr: u32,
    piece_left: u32,
    /// The current entry is the last one.
    last: bool,
}

impl BusMaster {
    /// Reads register `reg` (0-7 within the channel's block).
    pub(super) fn read(&self, reg: u8, size: u8) -> u32 {
        match reg {
            0..=3 if size != 1 => ones(size),
            0 => self.command as u32,
            2 => self.status as u32,
            1 | 3 => 0xff,
            _ => ((self.table as u64 >> (8 * (reg - 4))) & ones(size) as u64) as u32,
        }
    }

    /// Writes register `reg`; true when the write started the engine (the
    /// channel then serves a waiting DMA command).
    pub(super) fn write(&mut self, reg: u8, size: u8, value: u32) -> bool {
        match reg {
            0..=3 if size != 1 => false,
            0 => self.write_command(value as u8),
            2 => {
                let v = value as u8;
                self.status =
                    (v & CAPABLE) | (self.status & ACTIVE) | (self.status & !v & (ERROR | INTERRUPT));
                false
            }
            1 | 3 => false,
            _ => {
                let shift = 8 * (reg - 4) as u64;
                let mask = (ones(size) as u64) << shift;
                let table = (self.table as u64 & !mask) | (((value as u64) << shift) & mask);
                self.table = table as u32 & !3;
                false
            }
        }
    }

    fn write_command(&mut self, value: u8) -> bool {
        let mut started = false;
        if (value ^ self.command) & START != 0 {
            if value & START == 0 {
                self.status &= !ACTIVE;
            } else {
                self.next_entry = self.table;
                if self.status & ACTIVE == 0 {
                    self.status |= ACTIVE;
                    started = true;
                }
            }
        }
        self.command = value & (START | WRITE_MEMORY);
        started
    }

    /// Whether the engine runs (the guest started it and no transfer has
    /// ended it).
    pub(super) fn active(&self) -> bool {
        self.status & ACTIVE != 0
    }

    /// The drive raised its interrupt.
    pub(super) fn interrupt(&mut self) {
        self.status |= INTERRUPT;
    }

    /// A DMA command begins: no entry is in use.
    pub(super) fn begin_command(&mut self) {
        self.piece_addr = 0;
        self.piece_left = 0;
        self.last = false;
    }

    /// A transfer ended: the engine goes inactive unless the PRD table
    /// described more than the transfer took.
    pub(super) fn finish(&mut self, stay_active: bool) {
        if stay_active {
            self.status |= ACTIVE;
        } else {
            self.status &= !ACTIVE;
        }
    }

    /// Fetches the next PRD entry; false at the end of the table.
    fn load_entry(&mut self, mem: &mut dyn GuestMemory) -> bool {
        if self.last || self.next_entry.wrapping_sub(self.table) >= TABLE_LIMIT {
            return false;
        }
        let mut entry = [0u8; 8];
        mem.read(self.next_entry, &mut entry);
        self.next_entry = self.next_entry.wrapping_add(8);
        let [a0, a1, a2, a3, c0, c1, c2, c3] = entry;
        let control = u32::from_le_bytes([c0, c1, c2, c3]);
        self.piece_addr = u32::from_le_bytes([a0, a1, a2, a3]);
        self.piece_left = match control & 0xfffe {
            0 => 0x10000,
            n => n,
        };
        self.last = control & 0x8000_0000 != 0;
        true
    }

    /// The next stretch of guest memory, at most `max` bytes long; None
    /// when the table has ended.
    fn next_piece(&mut self, mem: &mut dyn GuestMemory, max: u32) -> Option<(u32, u32)> {
        if self.piece_left == 0 && !self.load_entry(mem) {
            return None;
        }
        let n = self.piece_left.min(max);
        let addr = self.piece_addr;
        self.piece_addr = addr.wrapping_add(n);
        self.piece_left -= n;
        Some((addr, n))
    }

    /// Walks the whole rest of the table for a transfer of `limit` bytes:
    /// the memory stretches that carry it (less than `limit` in all when the
    /// table is too short) and how many bytes the table described.
    pub(super) fn gather(&mut self, mem: &mut dyn GuestMemory, limit: u64) -> (Vec<(u32, u32)>, u64) {
        let mut pieces = Vec::new();
        let (mut taken, mut described) = (0u64, 0u64);
        while self.piece_left != 0 || self.load_entry(mem) {
            let len = self.piece_left;
            let take = (limit - taken).min(len as u64) as u32;
            if take > 0 {
                pieces.push((self.piece_addr, take));
                taken += take as u64;
            }
            self.piece_addr = self.piece_addr.wrapping_add(len);
            self.piece_left = 0;
            described += len as u64;
        }
        (pieces, described)
    }

    /// Copies `data` to guest memory along the table; false when the table
    /// ended first.
    pub(super) fn write_guest(&mut self, mem: &mut dyn GuestMemory, data: &[u8]) -> bool {
        let mut done = 0;
        while done < data.len() {
            let max = (data.len() - done).min(u32::MAX as usize) as u32;
            let Some((addr, n)) = self.next_piece(mem, max) else { return false };
            mem.write(addr, &data[done..done + n as usize]);
            done += n as usize;
        }
        true
    }

    /// Fills `buf` from guest memory along the table; false when the table
    /// ended first.
    pub(super) fn read_guest(&mut self, mem: &mut dyn GuestMemory, buf: &mut [u8]) -> bool {
        let mut done = 0;
        while done < buf.len() {
            let max = (buf.len() - done).min(u32::MAX as usize) as u32;
            let Some((addr, n)) = self.next_piece(mem, max) else { return false };
            mem.read(addr, &mut buf[done..done + n as usize]);
            done += n as usize;
        }
        true
    }
}
