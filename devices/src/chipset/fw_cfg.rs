//! QEMU's firmware configuration device (fw_cfg), legacy I/O interface:
//! a 16-bit selector at port 0x510 and a byte-wide data port at 0x511 that
//! reads the selected item a byte at a time (zeros past its end). Firmware
//! built for QEMU, such as SeaBIOS, asks it for the machine's facts (RAM map,
//! CPU count, boot options) instead of probing hardware.
//!
//! The items and the layout of the file directory (key 0x19: a big-endian
//! count, then 64-byte entries of big-endian size and key and a 56-byte name)
//! follow QEMU's documentation (docs/specs/fw_cfg.rst).
//!
//! The DMA interface is offered too (bit 1 of the ID item): the guest writes
//! the physical address of a 16-byte descriptor (big-endian control, length
//! and 64-bit address) to ports 0x514 (high half) and 0x518 (low half, which
//! starts the transfer), and the device selects, skips, or copies the
//! selected item into guest memory, then clears the control word (or leaves
//! its error bit). SeaBIOS reads its tables this way, and the Linux loader
//! ROM the kernel: a byte port would take a port access per byte.
//!
//! The items are the machine's configuration, not the guest's doing: as QEMU
//! does, the machine sets them up again the same way before a restore, and
//! the state saved ([`Snapshot`]) is where the guest is: the selected item and
//! the offset of the next byte.

use serde::{Deserialize, Serialize};

use crate::dma::GuestMemory;
use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// The DMA descriptor's port: the high half of its address at this port,
/// the low half (which starts the transfer) four ports on.
pub const DMA_PORT: u16 = 0x514;
/// ID item bits: the traditional interface, and DMA.
const ID_TRADITIONAL: u32 = 1;
const ID_DMA: u32 = 2;

/// Control bits of a DMA descriptor.
mod control {
    pub const ERROR: u32 = 1 << 0;
    pub const READ: u32 = 1 << 1;
    pub const SKIP: u32 = 1 << 2;
    pub const SELECT: u32 = 1 << 3;
    pub const WRITE: u32 = 1 << 4;
}

/// Well-known items.
pub mod key {
    pub const SIGNATURE: u16 = 0x00;
    pub const ID: u16 = 0x01;
    pub const UUID: u16 = 0x02;
    pub const RAM_SIZE: u16 = 0x03;
    pub const NOGRAPHIC: u16 = 0x04;
    pub const NB_CPUS: u16 = 0x05;
    pub const BOOT_MENU: u16 = 0x0e;
    pub const MAX_CPUS: u16 = 0x0f;
    pub const KERNEL_ADDR: u16 = 0x07;
    pub const KERNEL_SIZE: u16 = 0x08;
    pub const INITRD_ADDR: u16 = 0x0a;
    pub const INITRD_SIZE: u16 = 0x0b;
    pub const KERNEL_ENTRY: u16 = 0x10;
    pub const KERNEL_DATA: u16 = 0x11;
    pub const INITRD_DATA: u16 = 0x12;
    pub const CMDLINE_ADDR: u16 = 0x13;
    pub const CMDLINE_SIZE: u16 = 0x14;
    pub const CMDLINE_DATA: u16 = 0x15;
    pub const SETUP_ADDR: u16 = 0x16;
    pub const SETUP_SIZE: u16 = 0x17;
    pub const SETUP_DATA: u16 = 0x18;
    pub const FILE_DIR: u16 = 0x19;
    /// The first key given to a file.
    pub const FILE_FIRST: u16 = 0x20;
}

#[derive(Clone, Debug, Default)]
pub struct FwCfg {
    items: Vec<(u16, Vec<u8>)>,
    files: Vec<(String, u16)>,
    selected: u16,
    offset: usize,
    /// The high half of the DMA descriptor address, as last written.
    dma_high: u32,
    /// A descriptor address written and not yet served.
    dma_pending: Option<u64>,
}

impl FwCfg {
    /// The device with its signature and ID (the traditional interface).
    pub fn new() -> FwCfg {
        let mut f = FwCfg::default();
        f.set(key::SIGNATURE, b"QEMU".to_vec());
        f.set(key::ID, (ID_TRADITIONAL | ID_DMA).to_le_bytes().to_vec());
        f
    }

    /// Whether a DMA descriptor waits for [`FwCfg::run_dma`].
    pub fn dma_pending(&self) -> bool {
        self.dma_pending.is_some()
    }

    /// Serves the DMA descriptor written last: selects, skips or reads as
    /// its control word says, then writes the control word back (zero, or
    /// the error bit). Writes to items are refused (no item is writable).
    pub fn run_dma(&mut self, mem: &mut dyn GuestMemory) {
        let Some(addr) = self.dma_pending.take() else { return };
        // vemu's memory lies below 4 GiB: a descriptor above cannot be read.
        let Ok(addr) = u32::try_from(addr) else { return };
        let mut desc = [0u8; 16];
        mem.read(addr, &mut desc);
        let be32 = |at: usize| u32::from_be_bytes(desc[at..at + 4].try_into().unwrap());
        let ctl = be32(0);
        let len = be32(4) as usize;
        let target = u64::from_be_bytes(desc[8..16].try_into().unwrap());
        if ctl & control::SELECT != 0 {
            self.selected = (ctl >> 16) as u16;
            self.offset = 0;
        }
        let mut status = 0;
        if ctl & control::READ != 0 {
            match u32::try_from(target).ok().filter(|t| t.checked_add(len as u32).is_some()) {
                Some(t) => {
                    let data = self.item(self.selected).unwrap_or(&[]);
                    let start = self.offset.min(data.len());
                    let end = self.offset.saturating_add(len).min(data.len());
                    let mut chunk = data[start..end].to_vec();
                    // Past the item's end the device reads zeros, as QEMU's.
                    chunk.resize(len, 0);
                    mem.write(t, &chunk);
                    self.offset = self.offset.saturating_add(len);
                }
                None => status = control::ERROR,
            }
        } else if ctl & control::WRITE != 0 {
            status = control::ERROR;
        } else if ctl & control::SKIP != 0 {
            self.offset = self.offset.saturating_add(len);
        }
        mem.write(addr, &status.to_be_bytes());
    }

    /// Sets item `key`.
    pub fn set(&mut self, key: u16, data: Vec<u8>) {
        match self.items.iter_mut().find(|(k, _)| *k == key) {
            Some(item) => item.1 = data,
            None => self.items.push((key, data)),
        }
    }

    /// Sets a 16-bit item (little-endian, as QEMU stores them).
    pub fn set_u16(&mut self, key: u16, v: u16) {
        self.set(key, v.to_le_bytes().to_vec());
    }

    /// Adds (or replaces) the named file.
    pub fn add_file(&mut self, name: &str, data: Vec<u8>) {
        let key = match self.files.iter().find(|(n, _)| n == name) {
            Some((_, k)) => *k,
            None => {
                let k = key::FILE_FIRST + self.files.len() as u16;
                self.files.push((name.to_string(), k));
                k
            }
        };
        self.set(key, data);
        self.rebuild_directory();
    }

    fn rebuild_directory(&mut self) {
        let mut dir = (self.files.len() as u32).to_be_bytes().to_vec();
        let mut files = self.files.clone();
        files.sort();
        for (name, key) in files {
            let size = self.item(key).map_or(0, |d| d.len()) as u32;
            dir.extend_from_slice(&size.to_be_bytes());
            dir.extend_from_slice(&key.to_be_bytes());
            dir.extend_from_slice(&[0, 0]);
            let mut n = [0u8; 56];
            let bytes = name.as_bytes();
            n[..bytes.len().min(55)].copy_from_slice(&bytes[..bytes.len().min(55)]);
            dir.extend_from_slice(&n);
        }
        self.set(key::FILE_DIR, dir);
    }

    fn item(&self, key: u16) -> Option<&[u8]> {
        self.items.iter().find(|(k, _)| *k == key).map(|(_, d)| d.as_slice())
    }
}

impl PortDevice for FwCfg {
    fn read(&mut self, port: u16, size: u8) -> u32 {
        match (port, size) {
            // The selector is a 16-bit register; a byte at 0x510 is data (as
            // QEMU decodes the two ports).
            (0x510, 2) => self.selected as u32,
            // The DMA port reads the signature "QEMU CFG" (big-endian).
            (p @ DMA_PORT..=0x51b, _) => (0..size as u16)
                .map(|i| b"QEMU CFG".get((p - DMA_PORT + i) as usize).copied().unwrap_or(0xff) as u32)
                .enumerate()
                .fold(0, |v, (i, b)| v | b << (8 * i)),
            (0x510, _) | (0x511, _) => {
                let mut v = 0u32;
                for i in 0..size {
                    let byte =
                        self.item(self.selected).and_then(|d| d.get(self.offset).copied()).unwrap_or(0);
                    self.offset += 1;
                    v |= (byte as u32) << (8 * i);
                }
                v
            }
            _ => crate::ones(size),
        }
    }

    fn write(&mut self, port: u16, size: u8, value: u32) {
        match (port, size) {
            (0x510, 2) => {
                self.selected = value as u16;
                self.offset = 0;
            }
            // The address halves are big-endian 32-bit registers.
            (DMA_PORT, 4) => self.dma_high = u32::from_be(value),
            (0x518, 4) => self.dma_pending = Some((self.dma_high as u64) << 32 | u32::from_be(value) as u64),
            _ => {}
        }
        // Writes to the data port are ignored (as in QEMU since 2.4).
    }

    fn reset(&mut self) {
        self.selected = 0;
        self.offset = 0;
        self.dma_high = 0;
        self.dma_pending = None;
    }

    fn access_size(&self) -> u8 {
        4
    }
}

/// The guest's place in the items: the state saved.
#[derive(Serialize, Deserialize)]
struct Position {
    selected: u16,
    offset: u64,
    dma_high: u32,
}

impl Snapshot for FwCfg {
    fn save(&self) -> Vec<u8> {
        state::encode(&Position {
            selected: self.selected,
            offset: self.offset as u64,
            dma_high: self.dma_high,
        })
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let pos: Position = state::decode(bytes)?;
        // No item comes near 4 GiB; a guest reading that far past one's end
        // would take billions of reads.
        if pos.offset > u32::MAX as u64 {
            return Err(StateError(format!("fw_cfg: offset {:#x} into an item", pos.offset)));
        }
        self.selected = pos.selected;
        self.offset = pos.offset as usize;
        self.dma_high = pos.dma_high;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::TestMemory;

    fn read_item(f: &mut FwCfg, key: u16, len: usize) -> Vec<u8> {
        f.write(0x510, 2, key as u32);
        (0..len).map(|_| f.read(0x511, 1) as u8).collect()
    }

    #[test]
    fn signature_id_and_small_items() {
        let mut f = FwCfg::new();
        assert_eq!(read_item(&mut f, key::SIGNATURE, 4), b"QEMU");
        assert_eq!(read_item(&mut f, key::ID, 4), [3, 0, 0, 0], "traditional and DMA interfaces");
        let sig: Vec<u8> = (0..8).map(|i| f.read(DMA_PORT + i, 1) as u8).collect();
        assert_eq!(sig, b"QEMU CFG");
        f.set_u16(key::NB_CPUS, 1);
        assert_eq!(read_item(&mut f, key::NB_CPUS, 3), [1, 0, 0], "zeros past the end");
        assert_eq!(read_item(&mut f, 0x1234, 2), [0, 0], "unknown items read zero");
    }

    #[test]
    fn file_directory() {
        let mut f = FwCfg::new();
        f.add_file("etc/e820", vec![0; 20]);
        f.add_file("bootorder", b"x".to_vec());
        let dir = read_item(&mut f, key::FILE_DIR, 4 + 2 * 64);
        assert_eq!(&dir[..4], &2u32.to_be_bytes());
        // Sorted by name: bootorder first.
        assert_eq!(&dir[4..8], &1u32.to_be_bytes());
        assert_eq!(&dir[8..10], &0x21u16.to_be_bytes());
        assert_eq!(&dir[12..21], b"bootorder");
        assert_eq!(&dir[68..72], &20u32.to_be_bytes());
        assert_eq!(&dir[72..74], &0x20u16.to_be_bytes());
        assert_eq!(&dir[76..84], b"etc/e820");
        assert_eq!(read_item(&mut f, 0x21, 1), b"x");
    }

    /// Writes a descriptor at 0x100 and starts it as SeaBIOS does.
    fn dma(f: &mut FwCfg, mem: &mut TestMemory, control: u32, len: u32, target: u64) -> u32 {
        let mut desc = control.to_be_bytes().to_vec();
        desc.extend_from_slice(&len.to_be_bytes());
        desc.extend_from_slice(&target.to_be_bytes());
        mem.write(0x100, &desc);
        f.write(DMA_PORT, 4, 0u32.to_be());
        f.write(0x518, 4, 0x100u32.to_be());
        assert!(f.dma_pending());
        f.run_dma(mem);
        assert!(!f.dma_pending());
        let mut c = [0; 4];
        mem.read(0x100, &mut c);
        u32::from_be_bytes(c)
    }

    #[test]
    fn dma_selects_skips_and_reads() {
        let mut f = FwCfg::new();
        f.add_file("etc/table", (1..=10).collect());
        let mut mem = TestMemory(vec![0xee; 0x1000]);
        let select = (key::FILE_FIRST as u32) << 16 | control::SELECT;
        assert_eq!(dma(&mut f, &mut mem, select | control::READ, 3, 0x800), 0);
        assert_eq!(mem.0[0x800..0x804], [1, 2, 3, 0xee]);
        assert_eq!(dma(&mut f, &mut mem, control::SKIP, 2, 0), 0);
        // Reading on from the offset; past the end the device gives zeros.
        assert_eq!(dma(&mut f, &mut mem, control::READ, 8, 0x900), 0);
        assert_eq!(mem.0[0x900..0x909], [6, 7, 8, 9, 10, 0, 0, 0, 0xee]);
        // The byte port continues where DMA left off.
        assert_eq!(dma(&mut f, &mut mem, select | control::SKIP, 4, 0), 0);
        assert_eq!(f.read(0x511, 1), 5);
        // Items cannot be written; a target beyond 4 GiB cannot be reached.
        assert_eq!(dma(&mut f, &mut mem, control::WRITE, 1, 0x800), control::ERROR);
        assert_eq!(dma(&mut f, &mut mem, control::READ, 1, 1 << 32), control::ERROR);
        assert_eq!(mem.0[0x800], 1);
    }

    #[test]
    fn state_round_trips() {
        let configure = || {
            let mut f = FwCfg::new();
            f.set_u16(key::NB_CPUS, 1);
            f.add_file("etc/boot-fail-wait", 5u32.to_le_bytes().to_vec());
            f.add_file("bootorder", b"/pci@i0cf8/ide@1,1/drive@0/disk@0".to_vec());
            f
        };
        let mut f = configure();
        // Half-way through the file directory.
        assert_eq!(read_item(&mut f, key::FILE_DIR, 10)[..4], 2u32.to_be_bytes());
        // And the high half of a DMA descriptor's address written.
        f.write(DMA_PORT, 4, 0x1234u32.to_be());
        let mut copy = configure();
        copy.restore(&f.save()).unwrap();
        assert_eq!(copy.dma_high, 0x1234);
        let rest: Vec<u32> = (0..130).map(|_| f.read(0x511, 1)).collect();
        assert_eq!((0..130).map(|_| copy.read(0x511, 1)).collect::<Vec<_>>(), rest);
        assert_eq!(copy.read(0x510, 2), key::FILE_DIR as u32);
        assert_eq!(read_item(&mut copy, 0x21, 4), b"/pci", "the items are the machine's");
    }
}
