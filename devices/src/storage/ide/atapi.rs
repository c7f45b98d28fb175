//! The ATAPI CD-ROM drive ("QEMU DVD-ROM"): IDENTIFY PACKET DEVICE, the
//! PACKET command with its phases (the 12-byte packet, data to the host in
//! DRQ blocks cut to the byte count limit of the cylinder registers, data
//! from the host, status), packet data by DMA when the features register
//! asks for it, and the MMC commands a PC's firmware and operating systems
//! send. Sectors are the 2048 bytes of an ISO image (READ CD can frame
//! them as raw 2352-byte mode-1 sectors).
//!
//! Answers follow QEMU's hw/ide/atapi.c: its INQUIRY, READ TOC formats,
//! mode pages (error recovery 0x01, CD audio control 0x0e, capabilities
//! 0x2a), GET CONFIGURATION profiles, polled media events, and its rules for
//! a changed medium: the next command that is not allowed under unit
//! attention reports NOT READY once, then UNIT ATTENTION (medium may have
//! changed), which stays until REQUEST SENSE reads it. Beyond QEMU: MODE
//! SENSE(6), MODE SENSE of all pages (0x3f), MODE SELECT (parameters taken
//! and ignored) and a minimal READ SUB-CHANNEL; a PIO data command with a
//! byte count limit of 0, which QEMU aborts silently, also interrupts.
//! Unknown commands end in CHECK CONDITION with ILLEGAL REQUEST / invalid
//! command operation code.

use serde::{Deserialize, Serialize};

use super::ata::{put_string, SECTOR};
use super::busmaster::BusMaster;
use super::{error, status, DmaKind, Next, Unit, FIRMWARE_REVISION};
use crate::dma::GuestMemory;
use crate::state::StateError;
use crate::storage::image::BlockBackend;

/// Bytes per CD-ROM sector (user data).
const CD_SECTOR: usize = 2048;
/// A raw mode-1 sector: sync, header, data, error correction.
const RAW_SECTOR: usize = 2352;
/// Sectors one DMA chunk reads from the image.
const DMA_CHUNK_SECTORS: u64 = 64;
/// The most 512-byte sectors a CD holds; more means a DVD.
const CD_MAX_SECTORS: u64 = 80 * 60 * 75 * CD_SECTOR as u64 / SECTOR as u64;
const PACKET_LEN: usize = 12;

/// Sense keys.
mod sense {
    pub const NO_SENSE: u8 = 0x00;
    pub const NOT_READY: u8 = 0x02;
    pub const ILLEGAL_REQUEST: u8 = 0x05;
    pub const UNIT_ATTENTION: u8 = 0x06;
}

/// Additional sense codes.
mod asc {
    pub const ILLEGAL_OPCODE: u8 = 0x20;
    pub const LBA_OUT_OF_RANGE: u8 = 0x21;
    pub const INVALID_FIELD: u8 = 0x24;
    pub const MEDIUM_MAY_HAVE_CHANGED: u8 = 0x28;
    pub const SAVING_PARAMETERS_NOT_SUPPORTED: u8 = 0x39;
    pub const MEDIUM_NOT_PRESENT: u8 = 0x3a;
    pub const DATA_PHASE_ERROR: u8 = 0x4b;
    pub const MEDIUM_REMOVAL_PREVENTED: u8 = 0x53;
}

/// Interrupt reason bits (sector count register).
const REASON_COD: u32 = 0x01;
const REASON_IO: u32 = 0x02;

/// MMC profiles.
const PROFILE_CD_ROM: u16 = 0x0008;
const PROFILE_DVD_ROM: u16 = 0x0010;

/// The CD-ROM side of a drive: sense data, tray, media events and the
/// transfer of the running packet command.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Atapi {
    sense_key: u8,
    asc: u8,
    /// A medium change to report: 1 = NOT READY next, 2 = UNIT ATTENTION
    /// next (QEMU's cdrom_changed).
    media_change: u8,
    tray_open: bool,
    tray_locked: bool,
    /// Media events for GET EVENT STATUS NOTIFICATION.
    new_media: bool,
    eject_request: bool,
    /// The packet command's data goes by DMA (features bit 0).
    dma: bool,
    /// Bytes of the command's data still to move.
    remaining: u64,
    /// Bytes left in the current DRQ block.
    block_left: u32,
    /// Position in the reply (or in the current sector).
    index: usize,
    /// The next sector to read, for READ commands.
    lba: Option<u32>,
    sector_size: usize,
}

impl Atapi {
    pub(super) fn reset(&mut self) {
        *self = Atapi { new_media: self.new_media, eject_request: self.eject_request, ..Atapi::default() };
    }

    /// Checks restored state against a PIO buffer of `buf_len` bytes.
    pub(super) fn check(&self, buf_len: usize) -> Result<(), StateError> {
        let sizes_ok = matches!(self.sector_size, 0 | CD_SECTOR | RAW_SECTOR);
        if !sizes_ok || self.index > buf_len.max(RAW_SECTOR) || self.block_left as u64 > self.remaining {
            return Err(StateError("ATAPI transfer state out of range".into()));
        }
        Ok(())
    }
}

/// How a packet command is checked before it runs.
#[derive(Copy, Clone, Default)]
struct Flags {
    /// Runs under a unit attention condition.
    allow_ua: bool,
    /// Needs a medium (else NOT READY).
    check_ready: bool,
    /// Moves no data, or decides itself whether it does: the byte count
    /// limit is not checked up front.
    no_data_check: bool,
}

/// The checks of a known command (None: unknown).
fn flags(opcode: u8) -> Option<Flags> {
    let f = Flags::default();
    let ua = Flags { allow_ua: true, ..f };
    let ready = Flags { check_ready: true, ..f };
    let nodata = Flags { no_data_check: true, ..f };
    let ready_nodata = Flags { check_ready: true, no_data_check: true, ..f };
    Some(match opcode {
        0x00 | 0x2b | 0xbe => ready_nodata,
        0x03 | 0x12 | 0x46 | 0x4a => ua,
        0x15 | 0x55 | 0x1b | 0x1e | 0xbb => nodata,
        0x25 | 0x28 | 0xa8 | 0x42 | 0x43 | 0x51 => ready,
        0x1a | 0x5a | 0xbd => f,
        _ => return None,
    })
}

fn be16(b: &[u8]) -> usize {
    u16::from_be_bytes([b[0], b[1]]) as usize
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A logical block address as minutes, seconds and frames (2 s of lead-in).
fn msf(lba: u32) -> [u8; 3] {
    let frames = lba.wrapping_add(150);
    [(frames / 75 / 60) as u8, (frames / 75 % 60) as u8, (frames % 75) as u8]
}

/// An address in a TOC or sub-channel reply: 4 bytes, MSF or LBA.
fn address(lba: u32, use_msf: bool) -> [u8; 4] {
    if use_msf {
        let [m, s, f] = msf(lba);
        [0, m, s, f]
    } else {
        lba.to_be_bytes()
    }
}

/// READ TOC format 0 for a one-track data disc of `total` sectors (QEMU's
/// answer, after Bochs); None for a start track past the first.
fn toc(total: u32, use_msf: bool, start_track: u8) -> Option<Vec<u8>> {
    if start_track > 1 && start_track != 0xaa {
        return None;
    }
    let mut t = vec![0, 0, 1, 1];
    if start_track <= 1 {
        t.extend([0, 0x14, 1, 0]);
        t.extend(address(0, use_msf));
    }
    t.extend([0, 0x16, 0xaa, 0]); // lead-out
    t.extend(address(total, use_msf));
    let len = (t.len() - 2) as u16;
    t[..2].copy_from_slice(&len.to_be_bytes());
    Some(t)
}

/// READ TOC format 2 (full TOC): the A0, A1, A2 points and track 1.
fn raw_toc(total: u32, use_msf: bool) -> Vec<u8> {
    let mut t = vec![0, 0, 1, 1];
    t.extend([1, 0x14, 0, 0xa0, 0, 0, 0, 0, 1, 0, 0]); // first track 1, CD-ROM
    t.extend([1, 0x14, 0, 0xa1, 0, 0, 0, 0, 1, 0, 0]); // last track 1
    t.extend([1, 0x14, 0, 0xa2, 0, 0, 0]); // lead-out
    t.extend(address(total, use_msf));
    t.extend([1, 0x14, 0, 1, 0, 0, 0]); // track 1
    t.extend(address(0, use_msf));
    let len = (t.len() - 2) as u16;
    t[..2].copy_from_slice(&len.to_be_bytes());
    t
}

/// Mode page 0x01: read error recovery.
const PAGE_ERROR_RECOVERY: [u8; 8] = [0x01, 6, 0x00, 0x05, 0, 0, 0, 0];

impl Unit {
    fn cd_sectors(medium: &Option<Box<dyn BlockBackend>>) -> u64 {
        medium.as_ref().map_or(0, |m| m.len() / CD_SECTOR as u64)
    }

    /// Whether a readable disc is in a closed tray.
    fn medium_present(&self, medium: &Option<Box<dyn BlockBackend>>) -> bool {
        !self.atapi.tray_open && medium.as_ref().is_some_and(|m| m.len() >= SECTOR as u64)
    }

    /// The machine changed the medium (`inserted`: a disc went in and the
    /// tray closed; else it came out and the tray stays open).
    pub(super) fn medium_changed(&mut self, inserted: bool) {
        let a = &mut self.atapi;
        a.tray_open = !inserted;
        a.media_change = 1;
        a.new_media = true;
        a.eject_request = false;
        self.signals.irq = true;
    }

    /// The machine wants the disc out: true when the guest's lock refuses
    /// (the guest sees an eject request). `force` breaks the lock.
    pub(super) fn eject_request(&mut self, force: bool) -> bool {
        if !self.atapi.tray_locked || force {
            self.atapi.tray_locked = false;
            return false;
        }
        self.atapi.eject_request = true;
        self.signals.irq = true;
        true
    }

    /// IDENTIFY PACKET DEVICE, as QEMU builds it (DMA supported).
    pub(super) fn identify_packet(&self) -> [u16; 256] {
        let mut w = [0u16; 256];
        // Removable CD-ROM, DRQ within 50 us, 12-byte packets.
        w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
        put_string(&mut w, 10, 20, &self.serial);
        w[20] = 3; // buffer type
        w[21] = 512; // buffer size in sectors
        w[22] = 4; // ECC bytes
        put_string(&mut w, 23, 8, FIRMWARE_REVISION);
        put_string(&mut w, 27, 40, "QEMU DVD-ROM");
        w[48] = 1; // doubleword I/O
        w[49] = (1 << 9) | (1 << 8); // LBA, DMA
        w[53] = 7; // words 54-58, 64-70 and 88 valid
        [w[62], w[63], w[88]] = self.dma_modes;
        w[64] = 3; // PIO 3-4
        w[65] = 0xb4; // multiword DMA cycle times
        w[66] = 0xb4;
        w[67] = 0x12c; // PIO cycle times
        w[68] = 0xb4;
        w[71] = 30; // release times (ns)
        w[72] = 30;
        w[80] = 0x1e; // ATA/ATAPI-1 to -4
        w
    }

    /// The PACKET command: the drive asks for the 12-byte packet (DRQ with
    /// "command" as the interrupt reason, no interrupt). True when it ended
    /// at once (overlapped operation is refused).
    pub(super) fn packet_command(&mut self) -> bool {
        if self.tf.feature & 0x02 != 0 {
            self.abort();
            return true;
        }
        self.status = status::DRDY | status::DSC;
        self.atapi.dma = self.tf.feature & 0x01 != 0;
        self.tf.count = REASON_COD;
        self.start_transfer(0, PACKET_LEN, Next::Packet);
        false
    }

    /// Completes the command: good status, interrupt reason "status".
    fn atapi_ok(&mut self) {
        self.error = 0;
        self.status = status::DRDY | status::DSC;
        self.tf.count = (self.tf.count & !7) | REASON_IO | REASON_COD;
        self.stop_transfer();
        self.signals.irq = true;
    }

    /// Ends the command in CHECK CONDITION with this sense.
    fn atapi_error(&mut self, key: u8, code: u8) {
        self.error = key << 4;
        self.status = status::DRDY | status::ERR;
        self.tf.count = (self.tf.count & !7) | REASON_IO | REASON_COD;
        self.atapi.sense_key = key;
        self.atapi.asc = code;
        self.stop_transfer();
        self.signals.irq = true;
    }

    /// A failed read of the image (QEMU's report for a non-"no medium" error).
    fn atapi_io_error(&mut self, medium: &Option<Box<dyn BlockBackend>>) {
        if medium.is_none() {
            self.atapi_error(sense::NOT_READY, asc::MEDIUM_NOT_PRESENT);
        } else {
            self.atapi_error(sense::ILLEGAL_REQUEST, asc::LBA_OUT_OF_RANGE);
        }
    }

    /// A command refused because of a pending unit attention.
    fn atapi_check_status(&mut self) {
        self.error = error::MC | (sense::UNIT_ATTENTION << 4);
        self.status = status::ERR;
        self.tf.count = 0;
        self.stop_transfer();
        self.signals.irq = true;
    }

    /// The byte count limit of a PIO data phase (0xffff counts as 0xfffe).
    fn byte_count_limit(&self) -> u32 {
        match self.tf.byte_count() {
            0xffff => 0xfffe,
            n => n as u32,
        }
    }

    /// A PIO data command needs a byte count limit; without one it is
    /// aborted at the ATA level. True when the command may go on.
    fn check_byte_count(&mut self) -> bool {
        if self.atapi.dma || self.byte_count_limit() != 0 {
            return true;
        }
        self.abort();
        self.signals.irq = true;
        false
    }

    /// The packet has arrived: check it and run it.
    pub(super) fn atapi_packet(&mut self, medium: &mut Option<Box<dyn BlockBackend>>) {
        let mut p = [0u8; PACKET_LEN];
        for (i, b) in p.iter_mut().enumerate() {
            *b = self.pio.buf.get(i).copied().unwrap_or(0);
        }
        let known = flags(p[0]);
        let f = known.unwrap_or_default();
        if self.atapi.sense_key == sense::UNIT_ATTENTION && !f.allow_ua {
            return self.atapi_check_status();
        }
        // A changed medium shows as gone once, then as a unit attention, to
        // guests that do not poll media events.
        if !f.allow_ua && !self.atapi.tray_open && medium.is_some() && self.atapi.media_change != 0 {
            if self.atapi.media_change == 1 {
                self.atapi_error(sense::NOT_READY, asc::MEDIUM_NOT_PRESENT);
                self.atapi.media_change = 2;
            } else {
                self.atapi_error(sense::UNIT_ATTENTION, asc::MEDIUM_MAY_HAVE_CHANGED);
                self.atapi.media_change = 0;
            }
            return;
        }
        if f.check_ready && !self.medium_present(medium) {
            return self.atapi_error(sense::NOT_READY, asc::MEDIUM_NOT_PRESENT);
        }
        if known.is_some() && !f.no_data_check && !self.check_byte_count() {
            return;
        }
        self.run_packet(&p, medium);
    }

    fn run_packet(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        let total = Unit::cd_sectors(medium);
        let total32 = total.min(u32::MAX as u64) as u32;
        match p[0] {
            0x00 | 0xbb => self.atapi_ok(), // TEST UNIT READY, SET CD SPEED
            0x03 => {
                // REQUEST SENSE
                let mut r = vec![0u8; 18];
                r[0] = 0x70 | 0x80; // current error, valid
                r[2] = self.atapi.sense_key;
                r[7] = 10;
                r[12] = self.atapi.asc;
                if self.atapi.sense_key == sense::UNIT_ATTENTION {
                    self.atapi.sense_key = sense::NO_SENSE;
                }
                self.reply(medium, r, p[4] as usize);
            }
            0x12 => self.inquiry(p, medium),
            0x15 => self.mode_select(p[4] as usize),
            0x55 => self.mode_select(be16(&p[7..9])),
            0x1a => self.mode_sense(p, medium, false),
            0x5a => self.mode_sense(p, medium, true),
            0x1b => self.start_stop_unit(p, medium),
            0x1e => {
                // PREVENT ALLOW MEDIUM REMOVAL
                self.atapi.tray_locked = p[4] & 1 != 0;
                self.atapi_ok();
            }
            0x25 => {
                // READ CAPACITY: the last sector and the sector size.
                let mut r = total32.wrapping_sub(1).to_be_bytes().to_vec();
                r.extend((CD_SECTOR as u32).to_be_bytes());
                self.reply(medium, r, 8);
            }
            0x28 | 0xa8 => {
                // READ(10), READ(12)
                let count = if p[0] == 0x28 { be16(&p[7..9]) as u32 } else { be32(&p[6..10]) };
                self.read_command(be32(&p[2..6]), count, CD_SECTOR, medium);
            }
            0xbe => self.read_cd(p, medium),
            0x2b => {
                // SEEK(10)
                if (be32(&p[2..6]) as u64) < total {
                    self.atapi_ok();
                } else {
                    self.atapi_error(sense::ILLEGAL_REQUEST, asc::LBA_OUT_OF_RANGE);
                }
            }
            0x42 => self.read_subchannel(p, medium),
            0x43 => {
                // READ TOC/PMA/ATIP; the format is in byte 2 (MMC) or in the
                // top bits of byte 9 (SFF-8020, what QEMU reads).
                let use_msf = p[1] & 0x02 != 0;
                let format = match p[2] & 0x0f {
                    0 => p[9] >> 6,
                    f => f,
                };
                let reply = match format {
                    0 => toc(total32, use_msf, p[6]),
                    1 => Some(vec![0, 0x0a, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]), // one session
                    2 => Some(raw_toc(total32, use_msf)),
                    _ => None,
                };
                match reply {
                    Some(r) => self.reply(medium, r, be16(&p[7..9])),
                    None => self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD),
                }
            }
            0x46 => self.get_configuration(p, medium),
            0x4a => self.event_status(p, medium),
            0x51 => {
                // READ DISC INFORMATION (type 0: a finalized one-session disc)
                if p[1] & 7 != 0 {
                    return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD);
                }
                let mut r = vec![0u8; 34];
                r[1] = 32;
                r[2] = 0x0e; // last session complete, disc finalized
                r[3..7].copy_from_slice(&[1, 1, 1, 1]); // first track, sessions, tracks of last session
                r[7] = 0x20; // unrestricted use
                self.reply(medium, r, be16(&p[7..9]));
            }
            0xbd => {
                // MECHANISM STATUS: no changer, one slot.
                self.reply(medium, vec![0, 0, 0, 0, 0, 1, 0, 0], be16(&p[8..10]));
            }
            _ => self.atapi_error(sense::ILLEGAL_REQUEST, asc::ILLEGAL_OPCODE),
        }
    }

    fn inquiry(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        let max_len = p[4] as usize;
        if p[1] & 0x01 == 0 {
            let mut r = vec![0x05, 0x80, 0x00, 0x21, 31, 0, 0, 0]; // CD-ROM, removable
            r.extend(pad(b"QEMU", 8));
            r.extend(pad(b"QEMU DVD-ROM", 16));
            r.extend(pad(FIRMWARE_REVISION.as_bytes(), 4));
            return self.reply(medium, r, max_len);
        }
        // Vital product data pages: the list, and device identification.
        let mut r = vec![0x05, p[2], 0, 0];
        match p[2] {
            0x00 => r.extend([0x00, 0x83]),
            0x83 => {
                if r.len() + 24 > max_len {
                    return self.atapi_error(sense::ILLEGAL_REQUEST, asc::DATA_PHASE_ERROR);
                }
                r.extend([0x02, 0x00, 0x00, 20]); // ASCII, vendor specific: the serial
                r.extend(pad(self.serial.as_bytes(), 20));
                if r.len() + 72 <= max_len {
                    r.extend([0x02, 0x01, 0x00, 68]); // ASCII, T10 vendor: model and serial
                    r.extend(pad(b"ATA", 8));
                    r.extend(pad(b"QEMU DVD-ROM", 40));
                    r.extend(pad(self.serial.as_bytes(), 20));
                }
            }
            _ => return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD),
        }
        r[3] = (r.len() - 4) as u8;
        self.reply(medium, r, max_len);
    }

    fn mode_sense(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>, ten: bool) {
        let max_len = if ten { be16(&p[7..9]) } else { p[4] as usize };
        let control = p[2] >> 6;
        let code = p[2] & 0x3f;
        match control {
            0 => {}
            3 => return self.atapi_error(sense::ILLEGAL_REQUEST, asc::SAVING_PARAMETERS_NOT_SUPPORTED),
            _ => return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD),
        }
        let mut audio = vec![0u8; 16];
        audio[..2].copy_from_slice(&[0x0e, 14]); // CD audio control, volumes 0
        let mut capabilities = vec![0x2a, 20, 0x3b, 0x00, 0x71, 0x60, 0x29, 0x00];
        if self.atapi.tray_locked {
            capabilities[6] |= 0x02;
        }
        capabilities.extend(704u16.to_be_bytes()); // maximum speed (4x)
        capabilities.extend([0, 2]); // volume levels
        capabilities.extend(512u16.to_be_bytes()); // buffer (KiB)
        capabilities.extend(704u16.to_be_bytes()); // current speed
        capabilities.extend([0; 6]);
        let pages = match code {
            0x01 => PAGE_ERROR_RECOVERY.to_vec(),
            0x0e => audio,
            0x2a => capabilities,
            0x3f => [PAGE_ERROR_RECOVERY.to_vec(), audio, capabilities].concat(),
            _ => return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD),
        };
        // Header: data length, medium type, device-specific byte, no block
        // descriptors.
        let mut r = if ten {
            let mut h = ((pages.len() + 6) as u16).to_be_bytes().to_vec();
            h.extend([0x70, 0, 0, 0, 0, 0]);
            h
        } else {
            vec![(pages.len() + 3) as u8, 0x70, 0, 0]
        };
        r.extend(pages);
        self.reply(medium, r, max_len);
    }

    /// MODE SELECT: takes `len` bytes of parameters from the host and
    /// ignores them.
    fn mode_select(&mut self, len: usize) {
        if len == 0 {
            return self.atapi_ok();
        }
        if !self.check_byte_count() {
            return;
        }
        let a = &mut self.atapi;
        a.lba = None;
        a.remaining = len as u64;
        if a.dma {
            self.status = status::DRDY | status::DSC | status::DRQ;
            self.dma = Some(DmaKind::AtapiOut);
            self.signals.dma_start = true;
        } else {
            self.atapi_data_out_next();
        }
    }

    fn start_stop_unit(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        let start = p[4] & 0x01 != 0;
        let load_eject = p[4] & 0x02 != 0;
        if p[4] & 0xf0 == 0 && load_eject {
            if !start && !self.atapi.tray_open && self.atapi.tray_locked {
                let key = if medium.is_some() { sense::NOT_READY } else { sense::ILLEGAL_REQUEST };
                return self.atapi_error(key, asc::MEDIUM_REMOVAL_PREVENTED);
            }
            self.atapi.tray_open = !start;
        }
        self.atapi_ok();
    }

    fn read_cd(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        let count = u32::from_be_bytes([0, p[6], p[7], p[8]]);
        let lba = be32(&p[2..6]);
        if count == 0 {
            return self.atapi_ok();
        }
        if !self.lba_in_range(lba, count, medium) {
            return self.atapi_error(sense::ILLEGAL_REQUEST, asc::LBA_OUT_OF_RANGE);
        }
        let size = match p[9] & 0xf8 {
            0x00 => return self.atapi_ok(), // nothing asked for
            0x10 => CD_SECTOR,              // user data
            0xf8 => RAW_SECTOR,             // sync, header, data, EDC/ECC
            _ => return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD),
        };
        if self.check_byte_count() {
            self.start_read(lba, count, size, medium);
        }
    }

    fn lba_in_range(&self, lba: u32, count: u32, medium: &Option<Box<dyn BlockBackend>>) -> bool {
        (lba as u64) + (count as u64) <= Unit::cd_sectors(medium)
    }

    fn read_command(
        &mut self,
        lba: u32,
        count: u32,
        size: usize,
        medium: &mut Option<Box<dyn BlockBackend>>,
    ) {
        if count == 0 {
            return self.atapi_ok();
        }
        if !self.lba_in_range(lba, count, medium) {
            return self.atapi_error(sense::ILLEGAL_REQUEST, asc::LBA_OUT_OF_RANGE);
        }
        self.start_read(lba, count, size, medium);
    }

    /// Starts sending `count` sectors of `size` bytes from `lba`.
    fn start_read(&mut self, lba: u32, count: u32, size: usize, medium: &mut Option<Box<dyn BlockBackend>>) {
        let a = &mut self.atapi;
        a.lba = Some(lba);
        a.remaining = count as u64 * size as u64;
        a.sector_size = size;
        a.block_left = 0;
        if a.dma {
            a.index = 0;
            self.status = status::DRDY | status::DSC | status::DRQ | status::BSY;
            self.dma = Some(DmaKind::AtapiIn);
            self.signals.dma_start = true;
        } else {
            a.index = size; // no sector read yet
            self.atapi_reply_next(medium);
        }
    }

    /// Reads `count` sectors from `lba` into the buffer as the running read
    /// wants them (2048 bytes each, or one raw 2352-byte sector).
    fn read_sectors(&mut self, medium: &mut Option<Box<dyn BlockBackend>>, lba: u32, count: u64) -> bool {
        let Some(m) = medium.as_mut() else { return false };
        let offset = lba as u64 * CD_SECTOR as u64;
        let raw = self.atapi.sector_size == RAW_SECTOR;
        let len = if raw { RAW_SECTOR } else { count as usize * CD_SECTOR };
        self.pio.buf.resize(len, 0);
        let data = if raw { 16..16 + CD_SECTOR } else { 0..len };
        if m.read_at(offset, &mut self.pio.buf[data]).is_err() {
            return false;
        }
        if raw {
            let b = &mut self.pio.buf;
            b[0] = 0;
            b[1..11].fill(0xff);
            b[11] = 0;
            b[12..15].copy_from_slice(&msf(lba));
            b[15] = 0x01; // mode 1
            b[16 + CD_SECTOR..].fill(0); // no EDC/ECC
        }
        true
    }

    /// Sends `data` (at most `max_len` bytes of it) as the command's reply.
    fn reply(&mut self, medium: &mut Option<Box<dyn BlockBackend>>, data: Vec<u8>, max_len: usize) {
        let size = data.len().min(max_len);
        self.pio.buf = data;
        let a = &mut self.atapi;
        a.lba = None;
        a.remaining = size as u64;
        a.block_left = 0;
        a.index = 0;
        if a.dma {
            self.status = status::DRDY | status::DSC | status::DRQ;
            self.dma = Some(DmaKind::AtapiIn);
            self.signals.dma_start = true;
        } else {
            self.status = status::DRDY | status::DSC;
            self.atapi_reply_next(medium);
        }
    }

    /// Offers the next piece of the reply or read by PIO: a new DRQ block
    /// (with an interrupt, cut to the byte count limit) or the rest of the
    /// current one; completes the command when everything has gone.
    pub(super) fn atapi_reply_next(&mut self, medium: &mut Option<Box<dyn BlockBackend>>) {
        if self.atapi.remaining == 0 {
            return self.atapi_ok();
        }
        if let Some(lba) = self.atapi.lba {
            if self.atapi.index >= self.atapi.sector_size {
                if !self.read_sectors(medium, lba, 1) {
                    return self.atapi_io_error(medium);
                }
                self.atapi.lba = Some(lba.wrapping_add(1));
                self.atapi.index = 0;
            }
        }
        let in_sector = |a: &Atapi, size: u32| match a.lba {
            Some(_) => size.min(a.sector_size.saturating_sub(a.index) as u32),
            None => size,
        };
        let size = if self.atapi.block_left > 0 {
            in_sector(&self.atapi, self.atapi.block_left)
        } else {
            self.tf.count = (self.tf.count & !7) | REASON_IO;
            self.signals.irq = true;
            let limit = self.byte_count_limit();
            let block =
                if self.atapi.remaining > limit as u64 { limit & !1 } else { self.atapi.remaining as u32 };
            if block == 0 {
                self.abort();
                self.signals.irq = true;
                return;
            }
            self.tf.set_byte_count(block as u16);
            self.atapi.block_left = block;
            in_sector(&self.atapi, block)
        };
        let a = &mut self.atapi;
        a.remaining -= size as u64;
        a.block_left -= size;
        let start = a.index;
        a.index += size as usize;
        self.start_transfer(start, size as usize, Next::AtapiReply);
    }

    /// Asks the host for the next block of parameter data, or completes the
    /// command when all has come.
    pub(super) fn atapi_data_out_next(&mut self) {
        if self.atapi.remaining == 0 {
            return self.atapi_ok();
        }
        self.tf.count &= !7; // data, from the host
        self.signals.irq = true;
        let limit = self.byte_count_limit();
        let block =
            if self.atapi.remaining > limit as u64 { limit & !1 } else { self.atapi.remaining as u32 };
        if block == 0 {
            self.abort();
            self.signals.irq = true;
            return;
        }
        self.tf.set_byte_count(block as u16);
        self.atapi.remaining -= block as u64;
        self.start_transfer(0, block as usize, Next::AtapiDataOut);
    }

    /// Serves a packet command's data to the host by DMA: the reply, or the
    /// sectors read in chunks. A PRD table that ends early stops the
    /// transfer without an interrupt (as QEMU). The engine never stays active.
    pub(super) fn atapi_dma_in(
        &mut self,
        medium: &mut Option<Box<dyn BlockBackend>>,
        bm: &mut BusMaster,
        mem: &mut dyn GuestMemory,
    ) -> bool {
        match self.atapi.lba {
            None => {
                let n = (self.atapi.remaining as usize).min(self.pio.buf.len());
                if !bm.write_guest(mem, &self.pio.buf[..n]) {
                    return false;
                }
                self.atapi.remaining = 0;
            }
            Some(mut lba) => {
                while self.atapi.remaining > 0 {
                    let size = self.atapi.sector_size as u64;
                    let count = if size == RAW_SECTOR as u64 {
                        1
                    } else {
                        (self.atapi.remaining / size).min(DMA_CHUNK_SECTORS)
                    };
                    if count == 0 {
                        break;
                    }
                    if !self.read_sectors(medium, lba, count) {
                        self.atapi_io_error(medium);
                        return false;
                    }
                    lba = lba.wrapping_add(count as u32);
                    self.atapi.lba = Some(lba);
                    let bytes = (count * size).min(self.atapi.remaining);
                    self.atapi.remaining -= bytes;
                    if !bm.write_guest(mem, &self.pio.buf[..bytes as usize]) {
                        return false;
                    }
                }
            }
        }
        self.status = status::DRDY | status::DSC;
        self.tf.count = (self.tf.count & !7) | REASON_IO | REASON_COD;
        self.signals.irq = true;
        false
    }

    /// Takes a packet command's parameter data from the host by DMA.
    pub(super) fn atapi_dma_out(&mut self, bm: &mut BusMaster, mem: &mut dyn GuestMemory) -> bool {
        let n = self.atapi.remaining.min(u16::MAX as u64) as usize;
        self.pio.buf.resize(n, 0);
        if !bm.read_guest(mem, &mut self.pio.buf[..n]) {
            return false;
        }
        self.atapi.remaining = 0;
        self.atapi_ok();
        false
    }

    fn read_subchannel(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        let use_msf = p[1] & 0x02 != 0;
        let subq = p[2] & 0x40 != 0;
        // Header: audio status "no current audio status", data length.
        let mut r = vec![0, 0x15, 0, 0];
        if subq {
            match p[3] {
                0x01 => {
                    // Current position: track 1, index 1, at the start.
                    r.extend([0x01, 0x14, 1, 1]);
                    r.extend(address(0, use_msf));
                    r.extend(address(0, use_msf));
                }
                0x02 | 0x03 => {
                    // No media catalogue number / ISRC.
                    let mut d = vec![0u8; 20];
                    d[0] = p[3];
                    if p[3] == 0x03 {
                        d[1] = 0x14;
                        d[2] = 1;
                    }
                    r.extend(d);
                }
                _ => return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD),
            }
        }
        let len = (r.len() - 4) as u16;
        r[2..4].copy_from_slice(&len.to_be_bytes());
        self.reply(medium, r, be16(&p[7..9]));
    }

    fn get_configuration(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        if p[2] != 0 || p[3] != 0 {
            // Only feature 0, the profile list.
            return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD);
        }
        let max_len = be16(&p[7..9]).min(SECTOR);
        let current = if !self.medium_present(medium) {
            0
        } else if medium.as_ref().map_or(0, |m| m.len() / SECTOR as u64) > CD_MAX_SECTORS {
            PROFILE_DVD_ROM
        } else {
            PROFILE_CD_ROM
        };
        let mut r = vec![0u8; 12];
        r[6..8].copy_from_slice(&current.to_be_bytes());
        r[10] = 0x03; // persistent, current
        r[11] = 8;
        for profile in [PROFILE_DVD_ROM, PROFILE_CD_ROM] {
            r.extend(profile.to_be_bytes());
            r.extend([u8::from(profile == current), 0]);
        }
        let len = (r.len() - 4) as u32;
        r[..4].copy_from_slice(&len.to_be_bytes());
        self.reply(medium, r, max_len);
    }

    /// GET EVENT STATUS NOTIFICATION, polled, media class only.
    fn event_status(&mut self, p: &[u8; PACKET_LEN], medium: &mut Option<Box<dyn BlockBackend>>) {
        const MEDIA_CLASS: u8 = 4;
        if p[1] & 0x01 == 0 {
            return self.atapi_error(sense::ILLEGAL_REQUEST, asc::INVALID_FIELD);
        }
        let mut r = vec![0, 0, 0, 1 << MEDIA_CLASS];
        if p[4] & (1 << MEDIA_CLASS) != 0 {
            r[2] = MEDIA_CLASS;
            let a = &mut self.atapi;
            let media_status = if a.tray_open {
                1
            } else if medium.is_some() {
                2
            } else {
                0
            };
            let mut event = 0; // no change
            if !a.tray_open {
                if a.new_media {
                    event = 2;
                    a.new_media = false;
                } else if a.eject_request {
                    event = 1;
                    a.eject_request = false;
                }
            }
            r.extend([event, media_status, 0, 0]);
        } else {
            r[2] = 0x80; // no event available
        }
        let len = (r.len() - 4) as u16;
        r[..2].copy_from_slice(&len.to_be_bytes());
        self.reply(medium, r, be16(&p[7..9]));
    }
}

/// `text` padded with spaces to `len` bytes.
fn pad(text: &[u8], len: usize) -> Vec<u8> {
    text.iter().copied().chain(std::iter::repeat(b' ')).take(len).collect()
}
