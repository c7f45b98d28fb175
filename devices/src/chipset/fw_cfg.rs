//! QEMU's firmware configuration device (fw_cfg), legacy I/O interface:
//! a 16-bit selector at port 0x510 and a byte-wide data port at 0x511 that
//! reads the selected item a byte at a time (zeros past its end). Firmware
//! built for QEMU, such as SeaBIOS, asks it for the machine's facts (RAM map,
//! CPU count, boot options) instead of probing hardware.
//!
//! The items and the layout of the file directory (key 0x19: a big-endian
//! count, then 64-byte entries of big-endian size and key and a 56-byte name)
//! follow QEMU's documentation (docs/specs/fw_cfg.rst). The DMA interface is
//! not offered (the ID item says so), so firmware uses the byte port.
//!
//! The items are the machine's configuration, not the guest's doing: as QEMU
//! does, the machine sets them up again the same way before a restore, and
//! the state saved ([`Snapshot`]) is where the guest is: the selected item and
//! the offset of the next byte.

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

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
}

impl FwCfg {
    /// The device with its signature and ID (the traditional interface).
    pub fn new() -> FwCfg {
        let mut f = FwCfg::default();
        f.set(key::SIGNATURE, b"QEMU".to_vec());
        f.set(key::ID, 1u32.to_le_bytes().to_vec());
        f
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
        if port == 0x510 && size == 2 {
            self.selected = value as u16;
            self.offset = 0;
        }
        // Writes to the data port are ignored (as in QEMU since 2.4).
    }

    fn reset(&mut self) {
        self.selected = 0;
        self.offset = 0;
    }

    fn access_size(&self) -> u8 {
        2
    }
}

/// The guest's place in the items: the state saved.
#[derive(Serialize, Deserialize)]
struct Position {
    selected: u16,
    offset: u64,
}

impl Snapshot for FwCfg {
    fn save(&self) -> Vec<u8> {
        state::encode(&Position { selected: self.selected, offset: self.offset as u64 })
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_item(f: &mut FwCfg, key: u16, len: usize) -> Vec<u8> {
        f.write(0x510, 2, key as u32);
        (0..len).map(|_| f.read(0x511, 1) as u8).collect()
    }

    #[test]
    fn signature_id_and_small_items() {
        let mut f = FwCfg::new();
        assert_eq!(read_item(&mut f, key::SIGNATURE, 4), b"QEMU");
        assert_eq!(read_item(&mut f, key::ID, 4), [1, 0, 0, 0], "no DMA interface");
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
        let mut copy = configure();
        copy.restore(&f.save()).unwrap();
        let rest: Vec<u32> = (0..130).map(|_| f.read(0x511, 1)).collect();
        assert_eq!((0..130).map(|_| copy.read(0x511, 1)).collect::<Vec<_>>(), rest);
        assert_eq!(copy.read(0x510, 2), key::FILE_DIR as u32);
        assert_eq!(read_item(&mut copy, 0x21, 4), b"/pci", "the items are the machine's");
    }
}
