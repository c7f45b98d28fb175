//! The ATA command set of the hard disks (and the ATA commands a CD-ROM
//! drive answers): command decoding and completion, IDENTIFY DEVICE as QEMU
//! builds it, PIO sector transfers (single and MULTIPLE), the sector side of
//! READ/WRITE DMA, CHS/LBA28/LBA48 addressing, SET FEATURES, a small SMART,
//! and the geometry QEMU guesses for an image with what the BIOS is told
//! about it (CMOS). The register file and the data port are the
//! controller's (`mod.rs`); the packet commands are `atapi.rs`'s.
//!
//! Like QEMU's disks these advertise TRIM (DATA SET MANAGEMENT by DMA): its
//! ranges are checked, the data stays (reads after TRIM are deterministic).
//! Errors follow QEMU: an address past the end of the medium, a failed
//! read or write of the image (a read-only image included) and unsupported
//! commands end with ERR and ABRT. Where this goes beyond QEMU: INITIALIZE
//! DEVICE PARAMETERS sets the translation later CHS commands use (QEMU
//! ignores it), READ VERIFY checks its range, and IDENTIFY word 59 shows the
//! current MULTIPLE setting (QEMU keeps the one of the first IDENTIFY).

use serde::{Deserialize, Serialize};

use super::busmaster::BusMaster;
use super::{status, Chs, DmaKind, DriveKind, Next, Unit, DEVICE_LBA, FIRMWARE_REVISION};
use crate::dma::GuestMemory;
use crate::storage::image::BlockBackend;

/// Bytes per ATA sector.
pub(super) const SECTOR: usize = 512;
/// The largest READ/WRITE MULTIPLE block (QEMU's MAX_MULT_SECTORS), also
/// the setting after a reset.
pub(super) const MAX_MULTIPLE: u8 = 16;
pub(super) const EXECUTE_DEVICE_DIAGNOSTIC: u8 = 0x90;
/// IDENTIFY words 62 (single-word DMA 0-2), 63 (multiword DMA 0-2) and 88
/// (UDMA 0-5 supported, UDMA 5 selected) at power-on.
pub(super) const DEFAULT_DMA_MODES: [u16; 3] = [0x0007, 0x0007, 0x203f];

/// How the BIOS translates a disk's CHS geometry for INT 13h (QEMU's
/// BIOS_ATA_TRANSLATION_*).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Translation {
    None,
    Lba,
    Large,
}

impl Translation {
    /// The two bits of CMOS byte 0x39 for one drive.
    fn cmos_bits(self) -> u8 {
        match self {
            Translation::None => 0,
            Translation::Lba => 1,
            Translation::Large => 2,
        }
    }
}

/// A hard disk's physical geometry (IDENTIFY words 1, 3, 6) and the BIOS
/// translation QEMU picks for it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DiskGeometry {
    pub cylinders: u32,
    pub heads: u32,
    pub sectors: u32,
    pub translation: Translation,
}

/// The geometry QEMU's hd_geometry_guess gives an image: the one an MBR
/// partition table implies when its partitions end on cylinder boundaries
/// with at most 16 heads (no translation), else 16 heads and 63 sectors per
/// track with as many cylinders as fit (2 to 16383), translated by LBA
/// beyond 1024 cylinders (or LARGE when the partitions used more than 16
/// heads on a disk small enough).
pub(super) fn guess_geometry(image: &mut dyn BlockBackend) -> (Chs, Translation) {
    let total = image.len() / SECTOR as u64;
    let standard = Chs { cylinders: (total / (16 * 63)).clamp(2, 16383) as u32, heads: 16, sectors: 63 };
    match partition_geometry(image, total) {
        None => {
            let translation = if standard.cylinders <= 1024 { Translation::None } else { Translation::Lba };
            (standard, translation)
        }
        Some(chs) if chs.heads > 16 => {
            let large = standard.cylinders * standard.heads <= 131072;
            (standard, if large { Translation::Large } else { Translation::Lba })
        }
        Some(chs) => (chs, Translation::None),
    }
}

/// The logical geometry the first usable MBR partition entry implies: its
/// end head + 1 heads and its end sector per track.
fn partition_geometry(image: &mut dyn BlockBackend, total: u64) -> Option<Chs> {
    let mut mbr = [0u8; SECTOR];
    image.read_at(0, &mut mbr).ok()?;
    if mbr[510..512] != [0x55, 0xaa] {
        return None;
    }
    mbr[0x1be..0x1fe].chunks_exact(16).find_map(|entry| {
        let length = u32::from_le_bytes([entry[12], entry[13], entry[14], entry[15]]);
        let (end_head, end_sector) = (entry[5] as u32, entry[6] as u32 & 63);
        if length == 0 || end_head == 0 || end_sector == 0 {
            return None;
        }
        let heads = end_head + 1;
        let cylinders = total / (heads * end_sector) as u64;
        (1..=16383).contains(&cylinders).then_some(Chs {
            cylinders: cylinders as u32,
            heads,
            sectors: end_sector,
        })
    })
}

/// The CMOS bytes for the disks at the four places (primary master, primary
/// slave, secondary master, secondary slave), as QEMU's pc_cmos_init_late
/// sets them.
pub(super) fn cmos_entries(disks: [Option<DiskGeometry>; 4]) -> Vec<(u8, u8)> {
    let mut entries = Vec::new();
    let mut types = 0;
    for (g, type_index, table, bits) in [(disks[0], 0x19, 0x1b, 0xf0), (disks[1], 0x1a, 0x24, 0x0f)] {
        let Some(g) = g else { continue };
        let [cyl_lo, cyl_hi] = (g.cylinders as u16).to_le_bytes();
        let heads = g.heads as u8;
        entries.push((type_index, 47)); // user-defined type
        entries.extend([
            (table, cyl_lo),
            (table + 1, cyl_hi),
            (table + 2, heads),
            (table + 3, 0xff), // write precompensation: none
            (table + 4, 0xff),
            (table + 5, 0xc0 | (u8::from(heads > 8) << 3)),
            (table + 6, cyl_lo), // landing zone
            (table + 7, cyl_hi),
            (table + 8, g.sectors as u8),
        ]);
        types |= bits;
    }
    entries.push((0x12, types));
    let translations = disks
        .iter()
        .enumerate()
        .filter_map(|(i, g)| g.map(|g| g.translation.cmos_bits() << (2 * i)))
        .fold(0, |a, b| a | b);
    entries.push((0x39, translations));
    entries
}

/// An ATA command the drives know.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Command {
    DeviceReset,
    /// DATA SET MANAGEMENT: TRIM.
    DataSetManagement,
    Recalibrate,
    Read {
        ext: bool,
    },
    ReadMultiple {
        ext: bool,
    },
    ReadDma {
        ext: bool,
    },
    ReadNativeMax {
        ext: bool,
    },
    Write {
        ext: bool,
    },
    WriteMultiple {
        ext: bool,
    },
    WriteDma {
        ext: bool,
    },
    Verify {
        ext: bool,
    },
    Seek,
    InitializeParameters,
    /// IDLE, IDLE IMMEDIATE, STANDBY, STANDBY IMMEDIATE, SLEEP: nothing to do.
    PowerMode,
    CheckPowerMode,
    Packet,
    IdentifyPacket,
    Smart,
    SetMultiple,
    FlushCache,
    Identify,
    SetFeatures,
    /// SECURITY FREEZE LOCK (Windows needs it to succeed).
    FreezeLock,
}

/// Which drives accept a command.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Takes {
    Disk,
    Cdrom,
    Both,
}

impl Command {
    /// The command, which drives take it, and whether it completes with DSC.
    fn decode(opcode: u8) -> Option<(Command, Takes, bool)> {
        use Command::*;
        use Takes::*;
        Some(match opcode {
            0x06 => (DataSetManagement, Disk, false),
            0x08 => (DeviceReset, Cdrom, false),
            0x10 => (Recalibrate, Disk, true),
            0x20 => (Read { ext: false }, Both, false),
            0x21 => (Read { ext: false }, Disk, false),
            0x24 => (Read { ext: true }, Disk, false),
            0x25 => (ReadDma { ext: true }, Disk, false),
            0x27 => (ReadNativeMax { ext: true }, Disk, true),
            0x29 => (ReadMultiple { ext: true }, Disk, false),
            0x30 | 0x31 | 0x3c => (Write { ext: false }, Disk, false),
            0x34 => (Write { ext: true }, Disk, false),
            0x35 => (WriteDma { ext: true }, Disk, false),
            0x39 => (WriteMultiple { ext: true }, Disk, false),
            0x40 | 0x41 => (Verify { ext: false }, Disk, true),
            0x42 => (Verify { ext: true }, Disk, true),
            0x70 => (Seek, Disk, true),
            0x91 => (InitializeParameters, Disk, true),
            0x94..=0x97 | 0x99 | 0xe0..=0xe3 | 0xe6 => (PowerMode, Disk, false),
            0x98 | 0xe5 => (CheckPowerMode, Disk, true),
            0xa0 => (Packet, Cdrom, false),
            0xa1 => (IdentifyPacket, Cdrom, false),
            0xb0 => (Smart, Disk, true),
            0xc4 => (ReadMultiple { ext: false }, Disk, false),
            0xc5 => (WriteMultiple { ext: false }, Disk, false),
            0xc6 => (SetMultiple, Disk, true),
            0xc8 | 0xc9 => (ReadDma { ext: false }, Disk, false),
            0xca | 0xcb => (WriteDma { ext: false }, Disk, false),
            0xe7 => (FlushCache, Both, false),
            0xea => (FlushCache, Disk, false),
            0xec => (Identify, Both, false),
            0xef => (SetFeatures, Both, true),
            0xf5 => (FreezeLock, Disk, true),
            0xf8 => (ReadNativeMax { ext: false }, Disk, true),
            _ => return None,
        })
    }
}

/// The medium's size in 512-byte sectors.
fn total_sectors(medium: &Option<Box<dyn BlockBackend>>) -> u64 {
    medium.as_ref().map_or(0, |m| m.len() / SECTOR as u64)
}

/// Writes `text` into IDENTIFY words from `first`, `chars` characters padded
/// with spaces, the first character of each word in its high byte.
pub(super) fn put_string(words: &mut [u16; 256], first: usize, chars: usize, text: &str) {
    let mut bytes = text.bytes().chain(std::iter::repeat(b' '));
    for w in &mut words[first..first + chars / 2] {
        let hi = bytes.next().unwrap_or(b' ');
        let lo = bytes.next().unwrap_or(b' ');
        *w = u16::from_be_bytes([hi, lo]);
    }
}

/// SMART attributes: id, flags, value, worst, raw value, threshold.
const SMART_ATTRIBUTES: [(u8, u16, u8, u8, u32, u8); 4] = [
    (0x01, 0x0003, 100, 100, 0, 6),  // raw read error rate
    (0x05, 0x0003, 100, 100, 0, 36), // reallocated sectors
    (0x09, 0x0002, 100, 100, 1, 0),  // power-on hours
    (0x0c, 0x0002, 100, 100, 1, 0),  // power cycles
];

impl Unit {
    /// Runs ATA command `opcode` on this drive (the selected one).
    pub(super) fn execute(&mut self, medium: &mut Option<Box<dyn BlockBackend>>, opcode: u8) {
        let decoded = Command::decode(opcode);
        if self.status & (status::BSY | status::DRQ) != 0 {
            // Only DEVICE RESET reaches a busy packet device.
            if !(self.is_cdrom() && matches!(decoded, Some((Command::DeviceReset, ..)))) {
                return;
            }
        }
        let permitted = |takes| match takes {
            Takes::Both => true,
            Takes::Cdrom => self.is_cdrom(),
            Takes::Disk => !self.is_cdrom(),
        };
        let Some((command, _, sets_dsc)) = decoded.filter(|&(_, takes, _)| permitted(takes)) else {
            self.abort();
            self.signals.irq = true;
            return;
        };
        self.status = status::DRDY | status::BSY;
        self.error = 0;
        if self.run(command, medium) {
            self.status &= !status::BSY;
            if sets_dsc && self.error == 0 {
                self.status |= status::DSC;
            }
            self.signals.irq = true;
        }
    }

    /// Starts `command`; true when it completed (the caller finishes the
    /// status and interrupts), false when it went on (a transfer, DMA, or
    /// a completion of its own).
    fn run(&mut self, command: Command, medium: &mut Option<Box<dyn BlockBackend>>) -> bool {
        use Command::*;
        let has_medium = medium.is_some();
        match command {
            DeviceReset => {
                self.reset();
                self.status = 0;
                return false;
            }
            Recalibrate | Seek | PowerMode => {}
            Identify => {
                if self.kind == Some(DriveKind::Disk) && has_medium {
                    let words = self.identify_disk(total_sectors(medium));
                    self.send_words(&words);
                    return false;
                }
                if self.is_cdrom() {
                    // A packet device aborts, showing its signature.
                    self.set_signature();
                }
                self.abort();
            }
            IdentifyPacket => {
                let words = self.identify_packet();
                self.send_words(&words);
                return false;
            }
            Read { ext } => {
                if self.is_cdrom() {
                    self.set_signature();
                    self.abort();
                } else if !has_medium {
                    self.abort();
                } else {
                    self.lba48_count(ext);
                    self.block_sectors = 1;
                    self.read_sectors_block(medium);
                    return false;
                }
            }
            ReadMultiple { ext } => {
                if !has_medium || self.multiple == 0 {
                    self.abort();
                } else {
                    self.lba48_count(ext);
                    self.block_sectors = self.multiple as u32;
                    self.read_sectors_block(medium);
                    return false;
                }
            }
            Write { ext } | WriteMultiple { ext } => {
                let multiple = matches!(command, WriteMultiple { .. });
                if !has_medium || (multiple && self.multiple == 0) {
                    self.abort();
                } else {
                    self.lba48_count(ext);
                    self.block_sectors = if multiple { self.multiple as u32 } else { 1 };
                    let n = self.tf.count.min(self.block_sectors) as usize;
                    self.status = status::DRDY | status::DSC;
                    self.start_transfer(0, n * SECTOR, Next::WriteSectors);
                    return false;
                }
            }
            ReadDma { ext } | WriteDma { ext } => {
                if !has_medium {
                    self.abort();
                } else {
                    self.lba48_count(ext);
                    self.status = status::DRDY | status::DSC | status::DRQ;
                    let read = matches!(command, ReadDma { .. });
                    self.dma = Some(if read { DmaKind::AtaRead } else { DmaKind::AtaWrite });
                    self.signals.dma_start = true;
                    return false;
                }
            }
            DataSetManagement => {
                if self.tf.feature & 0x01 == 0 || !has_medium {
                    self.abort();
                } else {
                    self.status = status::DRDY | status::DSC | status::DRQ;
                    self.dma = Some(DmaKind::Trim);
                    self.signals.dma_start = true;
                    return false;
                }
            }
            Verify { ext } => {
                self.lba48_count(ext);
                let count = self.tf.count as u64;
                if !self.current_sector().is_some_and(|s| in_range(medium, s, count)) {
                    self.abort();
                }
            }
            ReadNativeMax { ext } => {
                let total = total_sectors(medium);
                if total == 0 {
                    self.abort();
                } else {
                    self.lba48_count(ext);
                    self.set_sector(total - 1);
                }
            }
            InitializeParameters => {
                let sectors = self.tf.count & 0xff;
                let heads = (self.tf.device & 0x0f) as u32 + 1;
                if sectors == 0 {
                    self.abort();
                } else {
                    let cylinders = (total_sectors(medium) / (heads * sectors) as u64).min(65535) as u32;
                    self.chs = Chs { cylinders, heads, sectors };
                }
            }
            CheckPowerMode => self.tf.count = 0xff, // active or idle
            SetMultiple => {
                let n = self.tf.count & 0xff;
                if n != 0 && (n > MAX_MULTIPLE as u32 || !n.is_power_of_two()) {
                    self.abort();
                } else {
                    self.multiple = n as u8;
                }
            }
            FlushCache => {
                if medium.as_mut().is_some_and(|m| m.flush().is_err()) {
                    self.abort();
                } else {
                    self.status = status::DRDY | status::DSC;
                }
            }
            SetFeatures => self.set_features(medium),
            Smart => return self.smart(),
            FreezeLock => self.tf.count = 0,
            Packet => return self.packet_command(),
        }
        true
    }

    /// Offers a 512-byte block of IDENTIFY-style words to the host, with an
    /// interrupt.
    fn send_words(&mut self, words: &[u16; 256]) {
        self.pio.buf.clear();
        self.pio.buf.extend(words.iter().flat_map(|w| w.to_le_bytes()));
        self.status = status::DRDY | status::DSC;
        self.start_transfer(0, SECTOR, Next::Stop);
        self.signals.irq = true;
    }

    /// IDENTIFY DEVICE for a disk of `total` sectors, word for word as QEMU
    /// builds it (with word 59 showing the current MULTIPLE setting).
    fn identify_disk(&self, total: u64) -> [u16; 256] {
        let mut w = [0u16; 256];
        let (def, cur) = (self.default_chs, self.chs);
        w[0] = 0x0040; // fixed device
        w[1] = def.cylinders as u16;
        w[3] = def.heads as u16;
        w[4] = (SECTOR as u32).wrapping_mul(def.sectors) as u16; // retired: bytes per track
        w[5] = SECTOR as u16; // retired: bytes per sector
        w[6] = def.sectors as u16;
        put_string(&mut w, 10, 20, &self.serial);
        w[20] = 3; // retired: buffer type
        w[21] = 512; // buffer size in sectors
        w[22] = 4; // ECC bytes
        put_string(&mut w, 23, 8, FIRMWARE_REVISION);
        put_string(&mut w, 27, 40, "QEMU HARDDISK");
        w[47] = 0x8000 | MAX_MULTIPLE as u16;
        w[48] = 1; // doubleword I/O
        w[49] = (1 << 11) | (1 << 9) | (1 << 8); // IORDY, LBA, DMA
        w[51] = 0x200; // PIO timing
        w[52] = 0x200; // DMA timing
        w[53] = 0x0007; // words 54-58, 64-70 and 88 valid
        w[54] = cur.cylinders as u16;
        w[55] = cur.heads as u16;
        w[56] = cur.sectors as u16;
        let capacity = cur.cylinders.wrapping_mul(cur.heads).wrapping_mul(cur.sectors);
        w[57] = capacity as u16;
        w[58] = (capacity >> 16) as u16;
        if self.multiple != 0 {
            w[59] = 0x100 | self.multiple as u16;
        }
        let lba28 = total.min((1 << 28) - 1);
        w[60] = lba28 as u16;
        w[61] = (lba28 >> 16) as u16;
        [w[62], w[63], w[88]] = self.dma_modes;
        w[64] = 0x0003; // PIO 3-4
        w[65..=68].fill(120); // cycle times
        w[69] = 1 << 14; // reads after TRIM are deterministic
        w[80] = 0x00f0; // ATA-4 to ATA-7
        w[81] = 0x0016;
        w[82] = (1 << 14) | (1 << 5) | 1; // NOP, write cache, SMART
        w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10); // FLUSH CACHE (EXT), LBA48
        w[84] = 1 << 14;
        w[85] = (1 << 14) | (u16::from(self.write_cache) << 5) | u16::from(self.smart_enabled);
        w[86] = (1 << 13) | (1 << 12) | (1 << 10);
        w[87] = 1 << 14;
        w[93] = 1 | (1 << 14) | 0x2000; // hardware reset result
        for (i, word) in w[100..=103].iter_mut().enumerate() {
            *word = (total >> (16 * i)) as u16;
        }
        w[106] = 0x6000; // one logical sector per physical sector
        w[169] = 1; // TRIM supported
        w
    }

    /// The sector count of a read, write or verify: the 16-bit LBA48 count
    /// (0 meaning 65536) or the 8-bit one (0 meaning 256).
    fn lba48_count(&mut self, ext: bool) {
        self.lba48 = ext;
        let tf = &mut self.tf;
        let count = if ext { (tf.hob_count as u32) << 8 | (tf.count & 0xff) } else { tf.count & 0xff };
        tf.count = match count {
            0 if ext => 65536,
            0 => 256,
            n => n,
        };
    }

    /// The address in the task file: LBA48, LBA28 or CHS (None for the
    /// invalid sector number 0).
    pub(super) fn current_sector(&self) -> Option<u64> {
        let tf = &self.tf;
        if tf.device & DEVICE_LBA != 0 {
            let high = if self.lba48 {
                u64::from_le_bytes([tf.hob_lba_low, tf.hob_lba_mid, tf.hob_lba_high, 0, 0, 0, 0, 0])
            } else {
                (tf.device & 0x0f) as u64
            };
            return Some(
                high << 24 | (tf.lba_high as u64) << 16 | (tf.lba_mid as u64) << 8 | tf.lba_low as u64,
            );
        }
        let cylinder = u16::from_le_bytes([tf.lba_mid, tf.lba_high]) as u64;
        let head = (tf.device & 0x0f) as u64;
        let sector = (tf.lba_low as u64).checked_sub(1)?;
        let (heads, sectors) = (self.chs.heads as u64, self.chs.sectors as u64);
        cylinder.checked_mul(heads)?.checked_add(head)?.checked_mul(sectors)?.checked_add(sector)
    }

    /// Writes address `n` back into the task file, in the addressing mode of
    /// the command.
    fn set_sector(&mut self, n: u64) {
        let lba48 = self.lba48;
        let tf = &mut self.tf;
        if tf.device & DEVICE_LBA != 0 {
            let b = n.to_le_bytes();
            (tf.lba_low, tf.lba_mid, tf.lba_high) = (b[0], b[1], b[2]);
            if lba48 {
                (tf.hob_lba_low, tf.hob_lba_mid, tf.hob_lba_high) = (b[3], b[4], b[5]);
            } else {
                tf.device = (tf.device & 0xf0) | (b[3] & 0x0f);
            }
            return;
        }
        let heads = self.chs.heads.max(1) as u64;
        let sectors = self.chs.sectors.max(1) as u64;
        let cylinder = n / (heads * sectors);
        let rest = n % (heads * sectors);
        [tf.lba_mid, tf.lba_high] = (cylinder as u16).to_le_bytes();
        tf.device = (tf.device & 0xf0) | ((rest / sectors) as u8 & 0x0f);
        tf.lba_low = (rest % sectors + 1) as u8;
    }

    /// The command failed on the medium (range or I/O): ABRT, interrupt.
    fn medium_error(&mut self) {
        self.abort();
        self.signals.irq = true;
    }

    /// Reads the next block of a PIO read and offers it, with an
    /// interrupt; ends the command when no sectors are left.
    pub(super) fn read_sectors_block(&mut self, medium: &mut Option<Box<dyn BlockBackend>>) {
        self.status = status::DRDY | status::DSC;
        self.error = 0;
        if self.tf.count == 0 {
            self.stop_transfer();
            return;
        }
        let n = self.tf.count.min(self.block_sectors.max(1));
        let Some(sector) = self.current_sector().filter(|&s| in_range(medium, s, n as u64)) else {
            return self.medium_error();
        };
        let len = n as usize * SECTOR;
        self.pio.buf.resize(len, 0);
        let Some(m) = medium.as_mut() else { return self.medium_error() };
        if m.read_at(sector * SECTOR as u64, &mut self.pio.buf[..len]).is_err() {
            return self.medium_error();
        }
        self.set_sector(sector + n as u64);
        self.tf.count -= n;
        self.start_transfer(0, len, Next::ReadSectors);
        self.signals.irq = true;
    }

    /// Writes the block the host has sent, then asks for the next one or
    /// ends the command; interrupts either way.
    pub(super) fn write_sectors_block(&mut self, medium: &mut Option<Box<dyn BlockBackend>>) {
        self.status = status::DRDY | status::DSC;
        let n = self.tf.count.min(self.block_sectors.max(1));
        let Some(sector) = self.current_sector().filter(|&s| in_range(medium, s, n as u64)) else {
            return self.medium_error();
        };
        let len = (n as usize * SECTOR).min(self.pio.buf.len());
        let Some(m) = medium.as_mut() else { return self.medium_error() };
        if m.write_at(sector * SECTOR as u64, &self.pio.buf[..len]).is_err() {
            return self.medium_error();
        }
        self.tf.count -= n;
        self.set_sector(sector + n as u64);
        if self.tf.count == 0 {
            self.stop_transfer();
        } else {
            let next = self.tf.count.min(self.block_sectors.max(1)) as usize;
            self.start_transfer(0, next * SECTOR, Next::WriteSectors);
        }
        self.signals.irq = true;
    }

    /// Serves READ DMA, WRITE DMA or TRIM (`kind`) through the engine's PRD
    /// table, all at once as QEMU does: a table shorter than the transfer
    /// moves nothing and ends without an interrupt, a longer one leaves the
    /// engine active. Returns whether the engine stays active. TRIM checks
    /// its ranges and keeps the data (reads after it are deterministic).
    pub(super) fn ata_dma(
        &mut self,
        medium: &mut Option<Box<dyn BlockBackend>>,
        bm: &mut BusMaster,
        mem: &mut dyn GuestMemory,
        kind: DmaKind,
    ) -> bool {
        let count = self.tf.count as u64;
        let wanted = count * SECTOR as u64;
        let (pieces, described) = bm.gather(mem, wanted);
        if pieces.iter().map(|&(_, len)| len as u64).sum::<u64>() < wanted {
            self.status = status::DRDY | status::DSC;
            return false;
        }
        let sector = self.current_sector();
        let ok = match kind {
            DmaKind::Trim => {
                let mut ranges = Vec::new();
                for &(addr, len) in &pieces {
                    let start = ranges.len();
                    ranges.resize(start + len as usize, 0);
                    mem.read(addr, &mut ranges[start..]);
                }
                ranges.chunks_exact(8).all(|e| {
                    let lba = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], 0, 0]);
                    let n = u16::from_le_bytes([e[6], e[7]]) as u64;
                    n == 0 || in_range(medium, lba, n)
                })
            }
            _ => match (sector.filter(|&s| in_range(medium, s, count)), medium.as_mut()) {
                (Some(s), Some(m)) => transfer(m.as_mut(), s * SECTOR as u64, &pieces, mem, kind),
                _ => false,
            },
        };
        if !ok {
            self.medium_error();
            return false;
        }
        if let Some(s) = sector {
            self.set_sector(s.wrapping_add(count));
        }
        self.tf.count = 0;
        self.status = status::DRDY | status::DSC;
        self.signals.irq = true;
        described > wanted
    }

    fn set_features(&mut self, medium: &mut Option<Box<dyn BlockBackend>>) {
        if self.kind.is_none() {
            return self.abort();
        }
        match self.tf.feature {
            0x02 => self.write_cache = true,
            0x82 => {
                self.write_cache = false;
                if medium.as_mut().is_some_and(|m| m.flush().is_err()) {
                    self.abort();
                }
            }
            // Defaults reverting, read look-ahead, power management,
            // acoustic management and vendor no-ops: accepted.
            0xcc | 0x66 | 0xaa | 0x55 | 0x05 | 0x85 | 0x69 | 0x67 | 0x96 | 0x9a | 0x42 | 0xc2 => {}
            0x03 => {
                let count = self.tf.count & 0xff;
                let selected = 1u16 << ((count & 7) + 8);
                let [sw, mw, udma] = DEFAULT_DMA_MODES;
                self.dma_modes = match count >> 3 {
                    0 | 1 => [sw, mw, udma & 0xff],
                    2 => [sw | selected, mw, udma & 0xff],
                    4 => [sw, mw | selected, udma & 0xff],
                    8 => [sw, mw, (udma & 0xff) | selected],
                    _ => return self.abort(),
                };
            }
            _ => self.abort(),
        }
    }

    /// SMART (enable, disable, attribute autosave, return status, read
    /// data and thresholds); true when done.
    fn smart(&mut self) -> bool {
        const READ_DATA: u8 = 0xd0;
        const READ_THRESHOLDS: u8 = 0xd1;
        const AUTOSAVE: u8 = 0xd2;
        const ENABLE: u8 = 0xd8;
        const DISABLE: u8 = 0xd9;
        const RETURN_STATUS: u8 = 0xda;
        let feature = self.tf.feature;
        if (self.tf.lba_mid, self.tf.lba_high) != (0x4f, 0xc2) || (!self.smart_enabled && feature != ENABLE) {
            self.abort();
            return true;
        }
        match feature {
            ENABLE => self.smart_enabled = true,
            DISABLE => self.smart_enabled = false,
            AUTOSAVE => match self.tf.lba_low {
                0x00 => self.smart_autosave = false,
                0xf1 => self.smart_autosave = true,
                _ => self.abort(),
            },
            RETURN_STATUS => {} // no threshold exceeded: 0x4f/0xc2 stay
            READ_DATA | READ_THRESHOLDS => {
                let mut page = [0u8; SECTOR];
                page[0] = 0x01; // revision
                for (i, &(id, flags, value, worst, raw, threshold)) in SMART_ATTRIBUTES.iter().enumerate() {
                    let e = &mut page[2 + 12 * i..2 + 12 * (i + 1)];
                    e[0] = id;
                    if feature == READ_DATA {
                        e[1..3].copy_from_slice(&flags.to_le_bytes());
                        e[3] = value;
                        e[4] = worst;
                        e[5..9].copy_from_slice(&raw.to_le_bytes());
                    } else {
                        e[1] = threshold;
                    }
                }
                if feature == READ_DATA {
                    page[362] = 0x02 | (u8::from(self.smart_autosave) << 7); // off-line collection done
                    page[368] = 0x03; // saves data before power saving, autosave
                }
                page[511] = page[..511].iter().fold(0u8, |a, b| a.wrapping_add(*b)).wrapping_neg();
                self.pio.buf.clear();
                self.pio.buf.extend_from_slice(&page);
                self.status = status::DRDY | status::DSC;
                self.start_transfer(0, SECTOR, Next::Stop);
                self.signals.irq = true;
                return false;
            }
            _ => self.abort(),
        }
        true
    }
}

/// Moves the bytes of a READ DMA (medium to `pieces` of guest memory) or a
/// WRITE DMA from `offset` of the medium; false when the medium fails.
fn transfer(
    medium: &mut dyn BlockBackend,
    mut offset: u64,
    pieces: &[(u32, u32)],
    mem: &mut dyn GuestMemory,
    kind: DmaKind,
) -> bool {
    let mut data = Vec::new();
    for &(addr, len) in pieces {
        data.resize(len as usize, 0);
        if kind == DmaKind::AtaRead {
            if medium.read_at(offset, &mut data).is_err() {
                return false;
            }
            mem.write(addr, &data);
        } else {
            mem.read(addr, &mut data);
            if medium.write_at(offset, &data).is_err() {
                return false;
            }
        }
        offset += len as u64;
    }
    true
}

/// Whether sectors `sector..sector + count` lie on the medium.
fn in_range(medium: &Option<Box<dyn BlockBackend>>, sector: u64, count: u64) -> bool {
    let total = total_sectors(medium);
    sector <= total && count <= total - sector
}
