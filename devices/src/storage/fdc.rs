//! The PC's floppy disk controller, an Intel 82077AA at 0x3f0-0x3f5 and 0x3f7
//! (0x3f6 belongs to the IDE controller), on IRQ 6 and DMA channel 2, with
//! two drives (A: and B:) and their media. It owns the controller's registers
//! and command engine and the drives; it does not own the DMA controller
//! ([`crate::storage::dma8237`]), which the machine lends it, through the
//! [`DmaClient`] interface, to move sector data.
//!
//! Registers, in the mixed model of QEMU's `pc` machine: SRA (interrupt
//! pending, second drive absent) and SRB (motor enables, drive select) as in
//! PS/2 mode, DOR (drive select, motors, reset, DMA/IRQ gate), TDR, MSR (RQM,
//! DIO, NDMA, CB and the drive-busy bits) and DSR, the data FIFO, DIR (bit 7:
//! disk change, the other bits undriven as in AT mode) and CCR. The DOR's gate
//! bit disables the IRQ and DRQ outputs, as in AT mode.
//!
//! Commands as the data sheet gives them: READ DATA, READ DELETED DATA, WRITE
//! DATA, WRITE DELETED DATA, READ TRACK, VERIFY, READ ID, FORMAT TRACK, the
//! three SCANs, SEEK, RELATIVE SEEK, RECALIBRATE, SENSE INTERRUPT STATUS,
//! SENSE DRIVE STATUS, SPECIFY, CONFIGURE, VERSION (0x90), LOCK, DUMPREG,
//! PERPENDICULAR MODE and QEMU's PART ID (0x41); any other byte is an invalid
//! command (result 0x80, no interrupt). Data commands run sector by sector from
//! R to EOT (or the last sector of the track, whichever comes first, which is
//! looser than the chip and what QEMU does), across to head 1 with MT, and
//! stop at terminal count with a normal result; reaching the end of the track
//! without terminal count ends with "end of cylinder" (ST0 abnormal, ST1 EN),
//! as on the chip (QEMU reports success there). The result's C/H/R/N are the
//! sector after the last one, per the data sheet's table. Everything completes
//! at once, without modelled rotation or step times.
//!
//! The medium: sector IDs carry the medium's cylinder, head, sector and size
//! code 2; a sector whose ID matches no sector on the track gives ND (with WC
//! when the cylinder differs), a track that does not exist on the medium, no
//! medium, FM (MFM bit clear) or a data rate other than the medium's gives MA,
//! as QEMU reports a data rate mismatch. Implied seeks happen only with
//! CONFIGURE's EIS bit, as on the chip (QEMU always seeks). Images hold no
//! deleted-data marks: WRITE DELETED DATA writes the data, READ DELETED DATA
//! finds normal marks (CM). Write-protected media give ST1 NW.
//!
//! DMA and non-DMA mode (SPECIFY's ND bit). In DMA mode the controller raises
//! DREQ for the whole execution phase and moves every sector when the machine
//! grants the channel. In non-DMA mode the host moves each byte through the
//! FIFO; the interrupt is asserted while the FIFO wants service, which, with
//! the data always ready, keeps it high through the execution phase as in QEMU.
//!
//! Reset (DOR bit 2 or DSR bit 7) ends with an interrupt and four SENSE
//! INTERRUPT STATUS replies (ST0 0xc0-0xc3), the drive-polling sequence; LOCK
//! keeps the FIFO settings and PRETRK across it. The disk-change line (DIR
//! bit 7) is set at power-on and whenever the medium changes, and cleared by a
//! step pulse (a seek that moves the head) with a medium in the drive.
//!
//! Drives take their type from the first medium inserted, as QEMU's automatic
//! drive type does (so a 720K diskette gives a 1.44M drive and a 360K one a
//! 1.2M drive); later media must have a format of that drive, or at least of
//! its size of diskette. The media are recognised by image size from QEMU's
//! table of formats; an image of another size is refused with an error.
//!
//! Wiring: map [`Fdc::ports`], read [`Fdc::irq_level`] onto IRQ 6 after every
//! access, and after every access to these ports or to the 8237's call
//! `dma.service(FLOPPY_DMA_CHANNEL, &mut fdc, memory)`. CMOS register 0x10
//! takes [`Fdc::cmos_drive_types`].

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::storage::dma8237::{DmaClient, DmaTransfer};
use crate::storage::image::BlockBackend;
use crate::PortDevice;

/// The DMA channel of the PC's floppy controller.
pub const FLOPPY_DMA_CHANNEL: u8 = 2;

/// Bytes per sector of every supported format (size code 2).
const SECTOR: usize = 512;
const SIZE_CODE: u8 = 2;
/// Drive selects the controller has (only 0 and 1 are wired to drives).
const UNITS: usize = 4;
/// Step pulses RECALIBRATE issues before it gives up looking for track 0.
const RECALIBRATE_STEPS: u8 = 79;

const DOR_SELECT: u8 = 0x03;
const DOR_NOT_RESET: u8 = 0x04;
const DOR_GATE: u8 = 0x08;
const DOR_MOTOR_A: u8 = 0x10;
const DOR_MOTOR_B: u8 = 0x20;

const MSR_RQM: u8 = 0x80;
const MSR_DIO: u8 = 0x40;
const MSR_NON_DMA: u8 = 0x20;
const MSR_BUSY: u8 = 0x10;

const DSR_SOFTWARE_RESET: u8 = 0x80;
const DIR_DISK_CHANGE: u8 = 0x80;

const SRA_INTERRUPT: u8 = 0x80;
const SRA_NO_SECOND_DRIVE: u8 = 0x40;

const ST0_ABNORMAL: u8 = 0x40;
const ST0_INVALID: u8 = 0x80;
const ST0_POLLED: u8 = 0xc0;
const ST0_SEEK_END: u8 = 0x20;
const ST0_EQUIPMENT_CHECK: u8 = 0x10;

const ST1_END_OF_CYLINDER: u8 = 0x80;
const ST1_DATA_ERROR: u8 = 0x20;
const ST1_NO_DATA: u8 = 0x04;
const ST1_NOT_WRITABLE: u8 = 0x02;
const ST1_MISSING_ADDRESS_MARK: u8 = 0x01;

const ST2_CONTROL_MARK: u8 = 0x40;
const ST2_DATA_ERROR_IN_FIELD: u8 = 0x20;
const ST2_WRONG_CYLINDER: u8 = 0x10;
const ST2_SCAN_EQUAL_HIT: u8 = 0x08;
const ST2_SCAN_NOT_SATISFIED: u8 = 0x04;
const ST2_BAD_CYLINDER: u8 = 0x02;

const ST3_WRITE_PROTECTED: u8 = 0x40;
/// The 82077AA ties ST3's ready and two-side bits high.
const ST3_TIED_HIGH: u8 = 0x28;
const ST3_TRACK0: u8 = 0x10;

const CONFIG_EIS: u8 = 0x40;
const CONFIG_EFIFO: u8 = 0x20;
const CONFIG_FIFOTHR: u8 = 0x0f;
/// CONFIGURE after a hardware reset: no implied seek, FIFO disabled, polling on.
const CONFIG_DEFAULT: u8 = CONFIG_EFIFO;

/// PERPENDICULAR MODE's GAP and WGATE bits (a software reset clears them).
const PERPENDICULAR_GAP_WGATE: u8 = 0x03;

const VERSION_82077AA: u8 = 0x90;
const PART_ID: u8 = 0x41;

/// Data rates, as DSR/CCR bits 1-0 encode them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataRate {
    Kbps500 = 0,
    Kbps300 = 1,
    Kbps250 = 2,
    Mbps1 = 3,
}

/// The kinds of drive QEMU gives a PC, with their CMOS codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveType {
    /// 5.25-inch high density (1.2M), CMOS type 2.
    Drive1200K,
    /// 3.5-inch high density (1.44M), CMOS type 4.
    Drive1440K,
    /// 3.5-inch extra density (2.88M), CMOS type 5.
    Drive2880K,
}

impl DriveType {
    /// The drive's type in CMOS register 0x10.
    pub fn cmos_type(self) -> u8 {
        match self {
            DriveType::Drive1200K => 2,
            DriveType::Drive1440K => 4,
            DriveType::Drive2880K => 5,
        }
    }

    fn three_and_a_half_inch(self) -> bool {
        self != DriveType::Drive1200K
    }
}

impl fmt::Display for DriveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriveType::Drive1200K => "1.2M 5.25-inch",
            DriveType::Drive1440K => "1.44M 3.5-inch",
            DriveType::Drive2880K => "2.88M 3.5-inch",
        })
    }
}

/// A diskette format: its geometry, recording rate and the drive it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloppyFormat {
    pub drive: DriveType,
    pub sectors_per_track: u8,
    pub cylinders: u8,
    pub heads: u8,
    pub rate: DataRate,
}

impl FloppyFormat {
    /// The image size of this format, in bytes.
    pub fn bytes(&self) -> u64 {
        self.sectors_per_track as u64 * self.cylinders as u64 * self.heads as u64 * SECTOR as u64
    }

    /// The byte offset of a sector (sector numbers count from 1).
    fn offset(&self, cylinder: u8, head: u8, sector: u8) -> u64 {
        let track = cylinder as u64 * self.heads as u64 + head as u64;
        (track * self.sectors_per_track as u64 + sector as u64 - 1) * SECTOR as u64
    }

    /// The format of an image of `len` bytes for a drive of type `drive`
    /// (none yet: any format). QEMU's preferences: a format of the drive's own
    /// type, then one of its size of diskette; the table's order breaks ties.
    pub fn for_image(len: u64, drive: Option<DriveType>) -> Result<FloppyFormat, FloppyError> {
        let mut sized = FORMATS.iter().filter(|f| f.bytes() == len).peekable();
        let first = *sized.peek().ok_or(FloppyError::UnknownSize(len))?;
        let Some(drive) = drive else { return Ok(*first) };
        let sized: Vec<&FloppyFormat> = sized.collect();
        sized
            .iter()
            .find(|f| f.drive == drive)
            .or_else(|| {
                sized.iter().find(|f| f.drive.three_and_a_half_inch() == drive.three_and_a_half_inch())
            })
            .map(|f| **f)
            .ok_or(FloppyError::WrongDrive { size: len, drive })
    }
}

const fn format(
    drive: DriveType,
    sectors_per_track: u8,
    cylinders: u8,
    heads: u8,
    rate: DataRate,
) -> FloppyFormat {
    FloppyFormat { drive, sectors_per_track, cylinders, heads, rate }
}

use DataRate::{Kbps250, Kbps300, Kbps500, Mbps1};
use DriveType::{Drive1200K, Drive1440K, Drive2880K};

/// The formats QEMU recognises, in its order of preference.
const FORMATS: [FloppyFormat; 33] = [
    // 3.5-inch high density: 1.44M, then the extended formats (21 sectors is
    // DMF's 1.68M, and 1.72M on 82 cylinders).
    format(Drive1440K, 18, 80, 2, Kbps500),
    format(Drive1440K, 20, 80, 2, Kbps500),
    format(Drive1440K, 21, 80, 2, Kbps500),
    format(Drive1440K, 21, 82, 2, Kbps500),
    format(Drive1440K, 21, 83, 2, Kbps500),
    format(Drive1440K, 22, 80, 2, Kbps500),
    format(Drive1440K, 23, 80, 2, Kbps500),
    format(Drive1440K, 24, 80, 2, Kbps500),
    // 3.5-inch extra density: 2.88M and more.
    format(Drive2880K, 36, 80, 2, Mbps1),
    format(Drive2880K, 39, 80, 2, Mbps1),
    format(Drive2880K, 40, 80, 2, Mbps1),
    format(Drive2880K, 44, 80, 2, Mbps1),
    format(Drive2880K, 48, 80, 2, Mbps1),
    // 3.5-inch double density: 720K and more.
    format(Drive1440K, 9, 80, 2, Kbps250),
    format(Drive1440K, 10, 80, 2, Kbps250),
    format(Drive1440K, 10, 82, 2, Kbps250),
    format(Drive1440K, 10, 83, 2, Kbps250),
    format(Drive1440K, 13, 80, 2, Kbps250),
    format(Drive1440K, 14, 80, 2, Kbps250),
    // 5.25-inch high density: 1.2M and more.
    format(Drive1200K, 15, 80, 2, Kbps500),
    format(Drive1200K, 18, 80, 2, Kbps500),
    format(Drive1200K, 18, 82, 2, Kbps500),
    format(Drive1200K, 18, 83, 2, Kbps500),
    format(Drive1200K, 20, 80, 2, Kbps500),
    // 5.25-inch quad density: 720K.
    format(Drive1200K, 9, 80, 2, Kbps250),
    format(Drive1200K, 11, 80, 2, Kbps250),
    // 5.25-inch double density: 360K and 180K (single-sided), and more.
    format(Drive1200K, 9, 40, 2, Kbps300),
    format(Drive1200K, 9, 40, 1, Kbps300),
    format(Drive1200K, 10, 41, 2, Kbps300),
    format(Drive1200K, 10, 42, 2, Kbps300),
    // 5.25-inch 8 sectors: 320K and 160K.
    format(Drive1200K, 8, 40, 2, Kbps250),
    format(Drive1200K, 8, 40, 1, Kbps250),
    // 3.5-inch single-sided 360K, after the 5.25-inch 360K that wins a tie.
    format(Drive1440K, 9, 80, 1, Kbps250),
];

/// Why a medium or drive could not be attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FloppyError {
    /// Only drives 0 (A:) and 1 (B:) exist.
    NoSuchDrive(u8),
    /// A drive is already connected there.
    DriveConnected(u8),
    /// No diskette format has this many bytes.
    UnknownSize(u64),
    /// The image's format belongs to another kind of drive.
    WrongDrive { size: u64, drive: DriveType },
}

impl fmt::Display for FloppyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FloppyError::NoSuchDrive(unit) => {
                write!(f, "there is no floppy drive {unit}: the controller has drives 0 (A:) and 1 (B:)")
            }
            FloppyError::DriveConnected(unit) => write!(f, "floppy drive {unit} is already connected"),
            FloppyError::UnknownSize(len) => write!(
                f,
                "a floppy image of {len} bytes matches no diskette format; the sizes known are \
                 160K, 180K, 320K, 360K, 720K, 1.2M, 1.44M, 1.68M (DMF), 1.72M, 2.88M and QEMU's other \
                 formats"
            ),
            FloppyError::WrongDrive { size, drive } => {
                write!(f, "a floppy image of {size} bytes is not a diskette a {drive} drive can read")
            }
        }
    }
}

impl std::error::Error for FloppyError {}

/// A diskette in a drive.
struct Medium {
    backend: Box<dyn BlockBackend>,
    format: FloppyFormat,
}

/// A drive wired to the controller.
struct Drive {
    kind: DriveType,
    medium: Option<Medium>,
}

/// The medium in drive `unit`, if both exist.
fn medium_of(drives: &[Option<Drive>; 2], unit: u8) -> Option<&Medium> {
    drives.get(unit as usize)?.as_ref()?.medium.as_ref()
}

fn medium_of_mut(drives: &mut [Option<Drive>; 2], unit: u8) -> Option<&mut Medium> {
    drives.get_mut(unit as usize)?.as_mut()?.medium.as_mut()
}

/// The commands, decoded from the first command byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    Data(Op),
    Verify,
    ReadId,
    Format,
    Seek,
    RelativeSeek,
    Recalibrate,
    SenseInterrupt,
    SenseDriveStatus,
    Specify,
    Configure,
    Version,
    Lock,
    DumpReg,
    Perpendicular,
    PartId,
}

/// The command byte `op`'s command and its number of parameter bytes.
fn decode(op: u8) -> Option<(Command, usize)> {
    use Command::*;
    // Bits 7-5 of data commands are MT, MFM and SK where the command has them.
    let low = op & 0x1f;
    Some(match op {
        _ if low == 0x06 => (Data(Op::Read), 8),
        _ if low == 0x0c => (Data(Op::ReadDeleted), 8),
        // WRITE DATA with SK set is accepted, as QEMU does for BeOS.
        _ if low == 0x05 => (Data(Op::Write), 8),
        _ if op & 0x3f == 0x09 => (Data(Op::WriteDeleted), 8),
        _ if op & 0xbf == 0x02 => (Data(Op::ReadTrack), 8),
        _ if low == 0x11 => (Data(Op::Scan(ScanKind::Equal)), 8),
        _ if low == 0x19 => (Data(Op::Scan(ScanKind::LowOrEqual)), 8),
        _ if low == 0x1d => (Data(Op::Scan(ScanKind::HighOrEqual)), 8),
        _ if low == 0x16 => (Verify, 8),
        _ if op & 0xbf == 0x0a => (ReadId, 1),
        _ if op & 0xbf == 0x0d => (Format, 5),
        0x0f => (Seek, 2),
        0x8f | 0xcf => (RelativeSeek, 2),
        0x07 => (Recalibrate, 1),
        0x08 => (SenseInterrupt, 0),
        0x04 => (SenseDriveStatus, 1),
        0x03 => (Specify, 2),
        0x13 => (Configure, 3),
        0x10 => (Version, 0),
        _ if op & 0x7f == 0x14 => (Lock, 0),
        0x0e => (DumpReg, 0),
        0x12 => (Perpendicular, 1),
        0x18 => (PartId, 0),
        _ => return None,
    })
}

/// What a command's execution phase does with the data it moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Op {
    Read,
    ReadDeleted,
    Write,
    WriteDeleted,
    ReadTrack,
    Scan(ScanKind),
    /// FORMAT TRACK: the host gives four ID bytes per sector.
    Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum ScanKind {
    Equal,
    LowOrEqual,
    HighOrEqual,
}

impl Op {
    /// Whether the data goes to the host.
    fn to_host(self) -> bool {
        matches!(self, Op::Read | Op::ReadDeleted | Op::ReadTrack)
    }

    /// Whether the sector's data is read from the medium first.
    fn reads_medium(self) -> bool {
        self.to_host() || matches!(self, Op::Scan(_))
    }

    /// Whether the command writes the medium.
    fn writes_medium(self) -> bool {
        matches!(self, Op::Write | Op::WriteDeleted | Op::Format)
    }

    /// Bytes moved per sector.
    fn unit_len(self) -> usize {
        if self == Op::Format {
            4
        } else {
            SECTOR
        }
    }
}

/// Where the next sector is after the one just done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    SameTrack,
    /// MT: on to head 1 of the same cylinder.
    OtherHead,
    /// Past the end of the track (or of both, with MT).
    EndOfCylinder,
}

/// A command in its execution phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Execution {
    op: Op,
    unit: u8,
    /// The physical head.
    head: u8,
    /// The ID of the sector sought (cylinder, head, sector, size code); after
    /// the last sector, the result's ID.
    id: [u8; 4],
    eot: u8,
    /// SCAN's sector step; FORMAT's fill byte.
    arg: u8,
    mt: bool,
    mfm: bool,
    sk: bool,
    st0: u8,
    st1: u8,
    st2: u8,
    /// The sector (FORMAT: the ID) being moved, and how far.
    buf: Vec<u8>,
    pos: usize,
    /// Where the current sector lies in the image.
    offset: u64,
    /// FORMAT: sectors still to format.
    left: u8,
    /// SCAN: the current sector's data all equal, and the condition holds.
    scan_equal: bool,
    scan_met: bool,
    dma: bool,
}

/// Everything the guest can observe (the drives and media stay apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct FdcState {
    dor: u8,
    tdr: u8,
    /// Data rate (DSR/CCR bits 1-0; the DSR's precompensation bits act on
    /// nothing an image can show).
    rate: u8,
    /// Command bytes received so far.
    command: Vec<u8>,
    /// Result bytes, and how many the host has read.
    result: Vec<u8>,
    result_pos: usize,
    interrupt: bool,
    /// SPECIFY's two bytes: SRT/HUT, HLT/ND.
    specify: [u8; 2],
    config: u8,
    pretrk: u8,
    locked: bool,
    perpendicular: u8,
    /// The last EOT (or FORMAT's SC), for DUMPREG.
    last_eot: u8,
    /// Present cylinder of each drive select.
    pcn: [u8; UNITS],
    /// ST0 of finished seeks not yet sensed.
    seek_status: [Option<u8>; UNITS],
    /// Drive-polling replies still owed after a reset.
    reset_polls: u8,
    disk_changed: [bool; 2],
    /// The sector passing under each drive's head, for READ ID.
    rotation: [u8; 2],
    exec: Option<Execution>,
}

impl FdcState {
    fn power_on() -> FdcState {
        FdcState {
            dor: DOR_NOT_RESET | DOR_GATE,
            tdr: 0,
            rate: DataRate::Kbps500 as u8,
            command: Vec::new(),
            result: Vec::new(),
            result_pos: 0,
            interrupt: false,
            specify: [0; 2],
            config: CONFIG_DEFAULT,
            pretrk: 0,
            locked: false,
            perpendicular: 0,
            last_eot: 0,
            pcn: [0; UNITS],
            seek_status: [None; UNITS],
            reset_polls: 0,
            disk_changed: [true; 2],
            rotation: [0; 2],
            exec: None,
        }
    }

    /// Checks what restored state indexes by.
    fn check(&self) -> Result<(), StateError> {
        let bad = |what: &str| Err(StateError(format!("floppy controller: {what}")));
        let result_read = self.result_pos > 0 && self.result_pos >= self.result.len();
        let command_done =
            self.command.first().is_some_and(|&op| decode(op).is_none_or(|(_, n)| self.command.len() > n));
        if command_done || self.result.len() > 10 || result_read {
            return bad("command or result phase out of range");
        }
        if self.reset_polls as usize > UNITS {
            return bad("too many reset polls");
        }
        if let Some(e) = &self.exec {
            if e.unit as usize >= UNITS
                || e.head > 1
                || e.buf.len() != e.op.unit_len()
                || e.pos >= e.buf.len()
            {
                return bad("execution phase out of range");
            }
        }
        Ok(())
    }
}

/// The 82077AA and its two drives.
pub struct Fdc {
    s: FdcState,
    drives: [Option<Drive>; 2],
}

impl Default for Fdc {
    fn default() -> Self {
        Self::new()
    }
}

impl Fdc {
    /// The controller at power-on, with no drives connected.
    pub fn new() -> Fdc {
        Fdc { s: FdcState::power_on(), drives: [None, None] }
    }

    /// The port ranges to map to this device.
    pub fn ports() -> [(u16, u16); 2] {
        [(0x3f0, 0x3f5), (0x3f7, 0x3f7)]
    }

    /// Connects an empty drive of type `kind` as drive `unit` (0 = A:, 1 = B:).
    pub fn connect_drive(&mut self, unit: u8, kind: DriveType) -> Result<(), FloppyError> {
        let slot = self.drives.get_mut(unit as usize).ok_or(FloppyError::NoSuchDrive(unit))?;
        if slot.is_some() {
            return Err(FloppyError::DriveConnected(unit));
        }
        *slot = Some(Drive { kind, medium: None });
        Ok(())
    }

    /// Inserts a diskette into drive `unit`, connecting the drive (of the
    /// medium's type) if it was not; the disk-change line goes active.
    /// Returns the format the image was recognised as.
    pub fn insert(&mut self, unit: u8, medium: Box<dyn BlockBackend>) -> Result<FloppyFormat, FloppyError> {
        let slot = self.drives.get_mut(unit as usize).ok_or(FloppyError::NoSuchDrive(unit))?;
        let format = FloppyFormat::for_image(medium.len(), slot.as_ref().map(|d| d.kind))?;
        let kind = slot.as_ref().map_or(format.drive, |d| d.kind);
        *slot = Some(Drive { kind, medium: Some(Medium { backend: medium, format }) });
        self.s.disk_changed[unit as usize] = true;
        Ok(format)
    }

    /// Takes the diskette out of drive `unit`; the disk-change line goes active.
    pub fn eject(&mut self, unit: u8) -> Option<Box<dyn BlockBackend>> {
        let medium = self.drives.get_mut(unit as usize)?.as_mut()?.medium.take()?;
        self.s.disk_changed[unit as usize] = true;
        Some(medium.backend)
    }

    /// The type of drive `unit`, if one is connected.
    pub fn drive_type(&self, unit: u8) -> Option<DriveType> {
        Some(self.drives.get(unit as usize)?.as_ref()?.kind)
    }

    /// The format of the diskette in drive `unit`, if there is one.
    pub fn medium_format(&self, unit: u8) -> Option<FloppyFormat> {
        Some(medium_of(&self.drives, unit)?.format)
    }

    /// CMOS register 0x10: drive A's type in the high nibble, B's in the low.
    pub fn cmos_drive_types(&self) -> u8 {
        let code = |unit| self.drive_type(unit).map_or(0, DriveType::cmos_type);
        code(0) << 4 | code(1)
    }

    /// Makes every write to the media durable.
    pub fn flush(&mut self) -> io::Result<()> {
        for drive in self.drives.iter_mut().flatten() {
            if let Some(medium) = &mut drive.medium {
                medium.backend.flush()?;
            }
        }
        Ok(())
    }

    /// The interrupt line (IRQ 6), gated by the DOR.
    pub fn irq_level(&self) -> bool {
        self.s.interrupt && self.s.dor & DOR_GATE != 0
    }

    /// DREQ on channel 2, gated by the DOR.
    fn dreq(&self) -> bool {
        self.s.dor & DOR_GATE != 0 && self.s.exec.as_ref().is_some_and(|e| e.dma)
    }

    fn in_reset(&self) -> bool {
        self.s.dor & DOR_NOT_RESET == 0
    }

    fn drive_connected(&self, unit: u8) -> bool {
        self.drives.get(unit as usize).is_some_and(Option::is_some)
    }

    fn medium(&self, unit: u8) -> Option<&Medium> {
        medium_of(&self.drives, unit)
    }

    // Registers.

    fn read_register(&mut self, reg: u16) -> u8 {
        match reg {
            0 => {
                let mut sra = 0;
                if self.s.interrupt {
                    sra |= SRA_INTERRUPT;
                }
                if !self.drive_connected(1) {
                    sra |= SRA_NO_SECOND_DRIVE;
                }
                sra
            }
            1 => {
                let dor = self.s.dor;
                0xc0 | (dor & DOR_MOTOR_A) >> 4 | (dor & DOR_MOTOR_B) >> 4 | (dor & 1) << 5
            }
            2 => self.s.dor,
            3 => self.s.tdr,
            4 => self.msr(),
            5 => self.read_fifo(),
            7 => {
                if self.disk_changed(self.s.dor & DOR_SELECT) {
                    DIR_DISK_CHANGE
                } else {
                    0
                }
            }
            _ => 0xff,
        }
    }

    fn write_register(&mut self, reg: u16, value: u8) {
        match reg {
            2 => self.write_dor(value),
            _ if self.in_reset() => {}
            3 => self.s.tdr = value & 0x03,
            4 => {
                self.s.rate = value & 0x03;
                if value & DSR_SOFTWARE_RESET != 0 {
                    self.software_reset();
                    self.leave_reset();
                }
            }
            5 => self.write_fifo(value),
            7 => self.s.rate = value & 0x03,
            _ => {}
        }
    }

    fn disk_changed(&self, unit: u8) -> bool {
        // A select with no drive reads the line as active (as QEMU's drives
        // without a medium backend do).
        !self.drive_connected(unit) || self.s.disk_changed[unit as usize]
    }

    fn msr(&self) -> u8 {
        if self.in_reset() {
            return 0;
        }
        let busy = (0..UNITS).filter(|&u| self.s.seek_status[u].is_some()).fold(0, |m, u| m | 1 << u);
        if !self.s.result.is_empty() {
            MSR_RQM | MSR_DIO | MSR_BUSY | busy
        } else if let Some(e) = &self.s.exec {
            if e.dma {
                MSR_BUSY | busy
            } else {
                MSR_RQM | MSR_NON_DMA | MSR_BUSY | busy | if e.op.to_host() { MSR_DIO } else { 0 }
            }
        } else if self.s.command.is_empty() {
            MSR_RQM | busy
        } else {
            MSR_RQM | MSR_BUSY | busy
        }
    }

    fn write_dor(&mut self, value: u8) {
        let was_reset = self.in_reset();
        self.s.dor = value;
        match (was_reset, self.in_reset()) {
            (false, true) => self.software_reset(),
            (true, false) => self.leave_reset(),
            _ => {}
        }
    }

    /// What a DOR or DSR reset clears: the command in progress, pending
    /// interrupts, the present cylinders, and the CONFIGURE settings LOCK does
    /// not protect. SPECIFY, the data rate and LOCK itself survive.
    fn software_reset(&mut self) {
        let s = &mut self.s;
        s.command.clear();
        s.result.clear();
        s.result_pos = 0;
        s.exec = None;
        s.interrupt = false;
        s.seek_status = [None; UNITS];
        s.reset_polls = 0;
        s.pcn = [0; UNITS];
        if s.locked {
            s.config &= CONFIG_EFIFO | CONFIG_FIFOTHR;
        } else {
            s.config = CONFIG_DEFAULT;
            s.pretrk = 0;
        }
        s.perpendicular &= !PERPENDICULAR_GAP_WGATE;
    }

    /// Out of reset, drive polling (always on after a reset) finds all four
    /// drive selects "changed": one interrupt, four statuses to sense.
    fn leave_reset(&mut self) {
        self.s.reset_polls = UNITS as u8;
        self.s.interrupt = true;
    }

    fn read_fifo(&mut self) -> u8 {
        if self.in_reset() {
            return 0;
        }
        if !self.s.result.is_empty() {
            let value = self.s.result[self.s.result_pos];
            // Reading the first result byte clears the interrupt; a seek not
            // yet sensed keeps it asserted, and raises it again once a SENSE
            // INTERRUPT STATUS that answered another drive is read.
            let seek_pending = self.s.seek_status.iter().any(Option::is_some);
            if self.s.result_pos == 0 && !seek_pending {
                self.s.interrupt = false;
            }
            self.s.result_pos += 1;
            if self.s.result_pos == self.s.result.len() {
                self.s.result.clear();
                self.s.result_pos = 0;
                self.s.interrupt |= seek_pending;
            }
            return value;
        }
        match &mut self.s.exec {
            Some(e) if !e.dma && e.op.to_host() => {
                let value = e.buf[e.pos];
                e.pos += 1;
                if e.pos == e.buf.len() {
                    self.sector_done(false);
                }
                value
            }
            _ => 0,
        }
    }

    fn write_fifo(&mut self, value: u8) {
        if !self.s.result.is_empty() {
            return;
        }
        if let Some(e) = &mut self.s.exec {
            if !e.dma && !e.op.to_host() {
                match e.op {
                    Op::Scan(kind) => scan_compare(e, kind, &[value]),
                    _ => e.buf[e.pos] = value,
                }
                e.pos += 1;
                if e.pos == e.buf.len() {
                    self.sector_done(false);
                }
            }
            return;
        }
        self.s.command.push(value);
        let Some((command, params)) = decode(self.s.command[0]) else {
            self.s.command.clear();
            self.respond(&[ST0_INVALID]);
            return;
        };
        if self.s.command.len() == params + 1 {
            let p = std::mem::take(&mut self.s.command);
            self.execute(command, &p);
        }
    }

    /// Enters the result phase with `bytes`, without an interrupt.
    fn respond(&mut self, bytes: &[u8]) {
        self.s.result = bytes.to_vec();
        self.s.result_pos = 0;
    }

    /// Ends a command with the seven-byte result and an interrupt.
    fn complete(&mut self, st0: u8, st1: u8, st2: u8, id: [u8; 4]) {
        self.s.exec = None;
        self.respond(&[st0, st1, st2, id[0], id[1], id[2], id[3]]);
        self.s.interrupt = true;
    }

    /// Ends the command in execution with interrupt code `ic` and the extra
    /// ST1/ST2 flags.
    fn finish(&mut self, ic: u8, st1: u8, st2: u8) {
        if let Some(e) = self.s.exec.take() {
            self.complete(ic | e.st0 | e.head << 2 | e.unit, e.st1 | st1, e.st2 | st2, e.id);
        }
    }

    // Commands.

    fn execute(&mut self, command: Command, p: &[u8]) {
        let unit = p.get(1).map_or(0, |b| b & 0x03);
        let head = p.get(1).map_or(0, |b| (b >> 2) & 1);
        match command {
            Command::Data(op) => self.start_data(op, p),
            Command::Verify => self.verify(p),
            Command::ReadId => self.read_id(unit, head, p[0] & 0x40 != 0),
            Command::Format => self.start_format(p),
            Command::Seek => {
                self.step_to(unit, p[2]);
                self.seek_done(unit, ST0_SEEK_END | head << 2 | unit);
            }
            Command::RelativeSeek => {
                let pcn = self.s.pcn[unit as usize];
                let target =
                    if p[0] & 0x40 != 0 { pcn.saturating_add(p[2]) } else { pcn.saturating_sub(p[2]) };
                self.step_to(unit, target);
                self.seek_done(unit, ST0_SEEK_END | head << 2 | unit);
            }
            Command::Recalibrate => self.recalibrate(unit),
            Command::SenseInterrupt => self.sense_interrupt(),
            Command::SenseDriveStatus => {
                let mut st3 = ST3_TIED_HIGH | head << 2 | unit;
                if self.drive_connected(unit) {
                    if self.s.pcn[unit as usize] == 0 {
                        st3 |= ST3_TRACK0;
                    }
                    // An empty drive senses write protection, as a drive does.
                    if self.medium(unit).is_none_or(|m| m.backend.read_only()) {
                        st3 |= ST3_WRITE_PROTECTED;
                    }
                }
                self.respond(&[st3]);
            }
            Command::Specify => self.s.specify = [p[1], p[2]],
            Command::Configure => {
                self.s.config = p[2] & 0x7f;
                self.s.pretrk = p[3];
            }
            Command::Version => self.respond(&[VERSION_82077AA]),
            Command::PartId => self.respond(&[PART_ID]),
            Command::Lock => {
                self.s.locked = p[0] & 0x80 != 0;
                self.respond(&[(self.s.locked as u8) << 4]);
            }
            Command::DumpReg => {
                let s = &self.s;
                let dump = [
                    s.pcn[0],
                    s.pcn[1],
                    s.pcn[2],
                    s.pcn[3],
                    s.specify[0],
                    s.specify[1],
                    s.last_eot,
                    (s.locked as u8) << 7 | s.perpendicular,
                    s.config,
                    s.pretrk,
                ];
                self.respond(&dump);
            }
            Command::Perpendicular => {
                // OW (bit 7) allows the drive bits D3-D0 to change; GAP and
                // WGATE are always written.
                let keep = if p[1] & 0x80 != 0 { 0 } else { 0x3c };
                self.s.perpendicular = (self.s.perpendicular & keep) | (p[1] & 0x3f & !keep);
            }
        }
    }

    /// Steps drive `unit`'s head to `cylinder`; a step pulse with a diskette
    /// in the drive clears its disk-change line.
    fn step_to(&mut self, unit: u8, cylinder: u8) {
        let from = std::mem::replace(&mut self.s.pcn[unit as usize], cylinder);
        if from != cylinder && self.medium(unit).is_some() {
            self.s.disk_changed[unit as usize] = false;
        }
    }

    fn seek_done(&mut self, unit: u8, st0: u8) {
        self.s.seek_status[unit as usize] = Some(st0);
        self.s.interrupt = true;
    }

    fn recalibrate(&mut self, unit: u8) {
        let pcn = self.s.pcn[unit as usize];
        let mut st0 = ST0_SEEK_END | unit;
        // Without a drive no track-0 signal ever comes.
        if !self.drive_connected(unit) || pcn > RECALIBRATE_STEPS {
            self.step_to(unit, pcn.saturating_sub(RECALIBRATE_STEPS));
            st0 |= ST0_ABNORMAL | ST0_EQUIPMENT_CHECK;
        } else {
            self.step_to(unit, 0);
        }
        self.seek_done(unit, st0);
    }

    fn sense_interrupt(&mut self) {
        if self.s.reset_polls > 0 {
            let unit = UNITS as u8 - self.s.reset_polls;
            self.s.reset_polls -= 1;
            self.s.interrupt = false;
            self.respond(&[ST0_POLLED | unit, self.s.pcn[unit as usize]]);
        } else if let Some(unit) = (0..UNITS).find(|&u| self.s.seek_status[u].is_some()) {
            let st0 = self.s.seek_status[unit].take().unwrap_or_default();
            self.s.interrupt = false;
            self.respond(&[st0, self.s.pcn[unit]]);
        } else {
            self.respond(&[ST0_INVALID]);
        }
    }

    /// The medium's format, if its track under `head` of drive `unit` can be
    /// read now: a diskette, MFM, the medium's data rate, an existing track.
    fn readable_track(&self, unit: u8, head: u8, mfm: bool) -> Option<FloppyFormat> {
        let format = self.medium(unit)?.format;
        let ok = mfm
            && self.s.rate == format.rate as u8
            && head < format.heads
            && self.s.pcn[unit as usize] < format.cylinders;
        ok.then_some(format)
    }

    /// Finds the sector `e` seeks: its image offset, or the ST1/ST2 error.
    fn locate(&self, e: &Execution) -> Result<u64, (u8, u8)> {
        let format = self.readable_track(e.unit, e.head, e.mfm).ok_or((ST1_MISSING_ADDRESS_MARK, 0))?;
        let cylinder = self.s.pcn[e.unit as usize];
        let [c, h, r, n] = e.id;
        // READ TRACK reads the sectors in their order on the track, whatever
        // their IDs.
        if e.op != Op::ReadTrack {
            if c != cylinder {
                return Err((ST1_NO_DATA, if c == 0xff { ST2_BAD_CYLINDER } else { ST2_WRONG_CYLINDER }));
            }
            if h != e.head || n != SIZE_CODE || r == 0 || r > format.sectors_per_track {
                return Err((ST1_NO_DATA, 0));
            }
        }
        Ok(format.offset(cylinder, e.head, r))
    }

    /// A new execution of `op` from the parameters `p` of a data command.
    fn execution(&self, op: Op, p: &[u8]) -> Execution {
        let unit = p[1] & 0x03;
        let head = (p[1] >> 2) & 1;
        Execution {
            op,
            unit,
            head,
            id: [p[2], p[3], if op == Op::ReadTrack { 1 } else { p[4] }, p[5]],
            eot: p[6],
            arg: p[8],
            mt: p[0] & 0x80 != 0,
            mfm: p[0] & 0x40 != 0,
            sk: p[0] & 0x20 != 0,
            st0: 0,
            st1: 0,
            st2: 0,
            buf: vec![0; op.unit_len()],
            pos: 0,
            offset: 0,
            left: 0,
            scan_equal: true,
            scan_met: true,
            dma: self.s.specify[1] & 1 == 0,
        }
    }

    /// An implied seek to the command's cylinder, if CONFIGURE enabled them.
    fn implied_seek(&mut self, e: &mut Execution) {
        if self.s.config & CONFIG_EIS != 0 {
            self.step_to(e.unit, e.id[0]);
            e.st0 |= ST0_SEEK_END;
        }
    }

    fn start_data(&mut self, op: Op, p: &[u8]) {
        let mut e = self.execution(op, p);
        self.s.last_eot = e.eot;
        self.implied_seek(&mut e);
        let protected = op.writes_medium() && self.medium(e.unit).is_some_and(|m| m.backend.read_only());
        self.s.exec = Some(e);
        if protected {
            return self.finish(ST0_ABNORMAL, ST1_NOT_WRITABLE, 0);
        }
        self.begin_sector();
        if self.s.exec.as_ref().is_some_and(|e| !e.dma) {
            self.s.interrupt = true;
        }
    }

    /// Locates the sector the execution seeks and, for reads, loads it; ends
    /// the command if that fails.
    fn begin_sector(&mut self) {
        loop {
            let Some(e) = &self.s.exec else { return };
            let offset = match self.locate(e) {
                Ok(offset) => offset,
                Err((st1, st2)) => return self.finish(ST0_ABNORMAL, st1, st2),
            };
            let Some(e) = &mut self.s.exec else { return };
            if e.op == Op::ReadDeleted {
                // Images keep no deleted-data marks: every sector is normal
                // data, which SK skips and which otherwise ends the command
                // after this sector.
                e.st2 |= ST2_CONTROL_MARK;
                if e.sk {
                    match self.next_sector() {
                        Next::EndOfCylinder => return self.finish(ST0_ABNORMAL, ST1_END_OF_CYLINDER, 0),
                        next => self.turn_to(next),
                    }
                    continue;
                }
            }
            e.offset = offset;
            e.pos = 0;
            e.scan_equal = true;
            e.scan_met = true;
            if e.op.reads_medium() {
                let loaded = medium_of_mut(&mut self.drives, e.unit)
                    .is_some_and(|m| m.backend.read_at(offset, &mut e.buf).is_ok());
                if !loaded {
                    return self.finish(ST0_ABNORMAL, ST1_DATA_ERROR, ST2_DATA_ERROR_IN_FIELD);
                }
            }
            return;
        }
    }

    /// Advances the sought ID past the sector just done (the data sheet's
    /// result table): to the next sector, to head 1 with MT at the end of the
    /// track (EOT or the track's last sector), or past the cylinder.
    fn next_sector(&mut self) -> Next {
        let Some(e) = &mut self.s.exec else { return Next::EndOfCylinder };
        let last = medium_of(&self.drives, e.unit).map_or(0, |m| m.format.sectors_per_track);
        let step = if matches!(e.op, Op::Scan(_)) && e.arg == 2 { 2 } else { 1 };
        let next = e.id[2] as u16 + step;
        if next <= e.eot as u16 && next <= last as u16 {
            e.id[2] = next as u8;
            return Next::SameTrack;
        }
        e.id[2] = 1;
        if e.mt && e.head == 0 {
            e.id[1] ^= 1;
            return Next::OtherHead;
        }
        e.id[0] = e.id[0].wrapping_add(1);
        if e.mt {
            e.id[1] ^= 1;
        }
        Next::EndOfCylinder
    }

    /// Switches heads when the command goes on to head 1.
    fn turn_to(&mut self, next: Next) {
        if let (Next::OtherHead, Some(e)) = (next, &mut self.s.exec) {
            e.head = 1;
        }
    }

    /// The current sector's data has all moved (or terminal count came early):
    /// writes it, judges a scan, and goes on or ends the command.
    fn sector_done(&mut self, terminal_count: bool) {
        let Some(e) = &mut self.s.exec else { return };
        match e.op {
            Op::Write | Op::WriteDeleted => {
                // Terminal count in mid-sector: the rest is written as zeros.
                e.buf[e.pos..].fill(0);
                let written = medium_of_mut(&mut self.drives, e.unit)
                    .is_some_and(|m| m.backend.write_at(e.offset, &e.buf).is_ok());
                if !written {
                    return self.finish(ST0_ABNORMAL | ST0_EQUIPMENT_CHECK, 0, 0);
                }
            }
            Op::Format => return self.format_sector(terminal_count),
            Op::Scan(_) if e.pos == e.buf.len() && e.scan_met => {
                e.st2 |= if e.scan_equal { ST2_SCAN_EQUAL_HIT } else { 0 };
                return self.finish(0, 0, 0);
            }
            _ => {}
        }
        let stop_after_sector = e.op == Op::ReadDeleted;
        let scan_not_met = if matches!(e.op, Op::Scan(_)) { ST2_SCAN_NOT_SATISFIED } else { 0 };
        let next = self.next_sector();
        if stop_after_sector {
            self.finish(ST0_ABNORMAL, 0, 0);
        } else if terminal_count {
            self.finish(0, 0, scan_not_met);
        } else if next == Next::EndOfCylinder {
            self.finish(ST0_ABNORMAL, ST1_END_OF_CYLINDER, scan_not_met);
        } else {
            self.turn_to(next);
            self.begin_sector();
        }
    }

    fn start_format(&mut self, p: &[u8]) {
        let unit = p[1] & 0x03;
        let head = (p[1] >> 2) & 1;
        let (size, count, fill) = (p[2], p[3], p[5]);
        self.s.last_eot = count;
        let pcn = self.s.pcn[unit as usize];
        let e = Execution {
            id: [pcn, head, 1, size],
            arg: fill,
            left: count,
            ..self.execution(Op::Format, &[p[0], p[1], pcn, head, 1, size, count, 0, 0])
        };
        let readable = self.readable_track(unit, head, e.mfm).is_some();
        let protected = self.medium(unit).is_some_and(|m| m.backend.read_only());
        self.s.exec = Some(e);
        if !readable {
            self.finish(ST0_ABNORMAL, ST1_MISSING_ADDRESS_MARK, 0);
        } else if protected {
            self.finish(ST0_ABNORMAL, ST1_NOT_WRITABLE, 0);
        } else if count == 0 {
            self.finish(0, 0, 0);
        } else if self.s.exec.as_ref().is_some_and(|e| !e.dma) {
            self.s.interrupt = true;
        }
    }

    /// FORMAT TRACK has the next sector's ID: the sector is filled with the
    /// fill byte, when the ID names a sector the image has on this track (an
    /// image cannot hold other layouts; such IDs are taken and dropped).
    fn format_sector(&mut self, terminal_count: bool) {
        let Some(e) = &mut self.s.exec else { return };
        if e.pos < e.buf.len() {
            // Terminal count before the whole ID came: nothing more to format.
            return self.finish(0, 0, 0);
        }
        let id = [e.buf[0], e.buf[1], e.buf[2], e.buf[3]];
        e.id = id;
        e.pos = 0;
        e.left = e.left.saturating_sub(1);
        let (unit, head, fill, done) = (e.unit, e.head, e.arg, e.left == 0 || terminal_count);
        let pcn = self.s.pcn[unit as usize];
        if let Some(m) = medium_of_mut(&mut self.drives, unit) {
            let f = m.format;
            let fits = id[0] == pcn
                && id[1] == head
                && id[3] == SIZE_CODE
                && (1..=f.sectors_per_track).contains(&id[2])
                && pcn < f.cylinders
                && head < f.heads;
            if fits && m.backend.write_at(f.offset(pcn, head, id[2]), &[fill; SECTOR]).is_err() {
                return self.finish(ST0_ABNORMAL | ST0_EQUIPMENT_CHECK, 0, 0);
            }
        }
        if done {
            self.finish(0, 0, 0);
        }
    }

    /// VERIFY: reads the sectors without moving data; with EC the DTL byte
    /// counts them, otherwise the command ends at EOT, successfully.
    fn verify(&mut self, p: &[u8]) {
        let mut e = self.execution(Op::Read, p);
        let by_count = p[1] & 0x80 != 0;
        let mut left = e.arg;
        self.s.last_eot = e.eot;
        self.implied_seek(&mut e);
        self.s.exec = Some(e);
        loop {
            let Some(e) = &self.s.exec else { return };
            if let Err((st1, st2)) = self.locate(e) {
                return self.finish(ST0_ABNORMAL, st1, st2);
            }
            let next = self.next_sector();
            left = left.saturating_sub(1);
            if by_count && left == 0 {
                return self.finish(0, 0, 0);
            }
            if next == Next::EndOfCylinder {
                return if by_count {
                    self.finish(ST0_ABNORMAL, ST1_END_OF_CYLINDER, 0)
                } else {
                    self.finish(0, 0, 0)
                };
            }
            self.turn_to(next);
        }
    }

    /// READ ID: the ID of the next sector passing under the head.
    fn read_id(&mut self, unit: u8, head: u8, mfm: bool) {
        let pcn = self.s.pcn[unit as usize];
        let st0 = head << 2 | unit;
        match (self.readable_track(unit, head, mfm), self.s.rotation.get_mut(unit as usize)) {
            (Some(format), Some(sector)) => {
                *sector = *sector % format.sectors_per_track + 1;
                let id = [pcn, head, *sector, SIZE_CODE];
                self.complete(st0, 0, 0, id);
            }
            _ => self.complete(st0 | ST0_ABNORMAL, ST1_MISSING_ADDRESS_MARK, 0, [pcn, head, 1, SIZE_CODE]),
        }
    }
}

/// Compares host bytes against the sector at the scan's position; 0xff on
/// either side matches anything.
fn scan_compare(e: &mut Execution, kind: ScanKind, host: &[u8]) {
    for (&h, &d) in host.iter().zip(&e.buf[e.pos..]) {
        if h == 0xff || d == 0xff {
            continue;
        }
        e.scan_equal &= d == h;
        e.scan_met &= match kind {
            ScanKind::Equal => d == h,
            ScanKind::LowOrEqual => d <= h,
            ScanKind::HighOrEqual => d >= h,
        };
    }
}

impl PortDevice for Fdc {
    fn read(&mut self, port: u16, _size: u8) -> u32 {
        self.read_register(port & 7) as u32
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        self.write_register(port & 7, value as u8);
    }

    /// A hardware reset: every register to its power-on value (the DOR out of
    /// reset with DMA and IRQ enabled, as QEMU's machine reset leaves it),
    /// without the reset interrupt; the drives' disk-change lines stay.
    fn reset(&mut self) {
        let disk_changed = self.s.disk_changed;
        self.s = FdcState::power_on();
        self.s.disk_changed = disk_changed;
    }
}

impl DmaClient for Fdc {
    fn dma_request(&self, channel: u8) -> bool {
        channel == FLOPPY_DMA_CHANNEL && self.dreq()
    }

    fn dma_transfer(&mut self, channel: u8, transfer: &mut DmaTransfer<'_>) {
        if !self.dma_request(channel) {
            return;
        }
        while let Some(e) = self.s.exec.as_mut().filter(|e| e.dma) {
            let before = e.pos;
            match e.op {
                op if op.to_host() => e.pos += transfer.write_memory(&e.buf[e.pos..]),
                Op::Scan(kind) => {
                    let mut host = vec![0; e.buf.len() - e.pos];
                    let n = transfer.read_memory(&mut host);
                    scan_compare(e, kind, &host[..n]);
                    e.pos += n;
                }
                _ => {
                    let n = transfer.read_memory(&mut e.buf[e.pos..]);
                    e.pos += n;
                }
            }
            let terminal_count = transfer.terminal_count();
            if e.pos == e.buf.len() || terminal_count {
                self.sector_done(terminal_count);
            } else if e.pos == before {
                break;
            }
        }
    }
}

impl Snapshot for Fdc {
    fn save(&self) -> Vec<u8> {
        state::encode(&self.s)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let s: FdcState = state::decode(bytes)?;
        s.check()?;
        self.s = s;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::TestMemory;
    use crate::storage::dma8237::Dma8237;
    use crate::storage::image::MemBackend;

    const MB144: usize = 1_474_560;

    /// Every byte of an image tells its sector: the first two bytes are the
    /// sector's LBA, the rest a pattern of it.
    fn image(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| {
                let lba = i / SECTOR;
                match i % SECTOR {
                    0 => lba as u8,
                    1 => (lba >> 8) as u8,
                    k => (lba as u8).wrapping_mul(31) ^ k as u8,
                }
            })
            .collect()
    }

    /// The bytes of sector (c, h, r) of a 1.44M image.
    fn sector(data: &[u8], c: usize, h: usize, r: usize) -> &[u8] {
        let lba = (c * 2 + h) * 18 + r - 1;
        &data[lba * SECTOR..(lba + 1) * SECTOR]
    }

    /// The floppy controller, the 8237s and memory, wired as the machine does.
    struct Pc {
        fdc: Fdc,
        dma: Dma8237,
        mem: TestMemory,
    }

    impl Pc {
        /// A machine after the BIOS's DMA set-up, with `media` in A: (and B:).
        fn new(media: &[&[u8]]) -> Pc {
            let mut fdc = Fdc::new();
            for (unit, data) in media.iter().enumerate() {
                fdc.insert(unit as u8, Box::new(MemBackend::new(data.to_vec()))).unwrap();
            }
            let mut pc = Pc { fdc, dma: Dma8237::new(), mem: TestMemory::new(0x10_0000) };
            pc.out(0x0d, 0);
            pc.out(0xda, 0);
            pc.out(0xd6, 0xc0);
            pc.out(0xd4, 0);
            pc
        }

        fn service(&mut self) {
            self.dma.service(FLOPPY_DMA_CHANNEL, &mut self.fdc, &mut self.mem);
        }

        fn out(&mut self, port: u16, value: u8) {
            if port >= 0x3f0 {
                self.fdc.write(port, 1, value as u32);
            } else {
                self.dma.write(port, 1, value as u32);
            }
            self.service();
        }

        fn inp(&mut self, port: u16) -> u8 {
            let v = if port >= 0x3f0 { self.fdc.read(port, 1) } else { self.dma.read(port, 1) } as u8;
            self.service();
            v
        }

        fn msr(&mut self) -> u8 {
            self.inp(0x3f4)
        }

        /// Channel 2 set up as SeaBIOS's dma_floppy does.
        fn dma_setup(&mut self, addr: u32, len: u16, to_memory: bool) {
            self.out(0x0a, 0x06);
            self.out(0x0c, 0);
            self.out(0x04, addr as u8);
            self.out(0x04, (addr >> 8) as u8);
            self.out(0x0c, 0);
            self.out(0x05, (len - 1) as u8);
            self.out(0x05, ((len - 1) >> 8) as u8);
            self.out(0x0b, if to_memory { 0x46 } else { 0x4a });
            self.out(0x81, (addr >> 16) as u8);
            self.out(0x0a, 0x02);
        }

        /// Writes a command, checking the controller asks for each byte.
        fn command(&mut self, bytes: &[u8]) {
            for &b in bytes {
                assert_eq!(self.msr() & (MSR_RQM | MSR_DIO), MSR_RQM, "ready for command byte {b:#x}");
                self.out(0x3f5, b);
            }
        }

        /// Reads `n` result bytes and checks the controller is idle afterwards.
        fn result(&mut self, n: usize) -> Vec<u8> {
            let bytes = (0..n)
                .map(|_| {
                    assert_eq!(self.msr() & (MSR_RQM | MSR_DIO | MSR_BUSY), MSR_RQM | MSR_DIO | MSR_BUSY);
                    self.inp(0x3f5)
                })
                .collect();
            assert_eq!(self.msr() & (MSR_RQM | MSR_DIO | MSR_BUSY), MSR_RQM, "back in the command phase");
            bytes
        }

        /// Controller reset as SeaBIOS does it, with the four polling senses.
        fn reset(&mut self) {
            self.out(0x3f2, 0x08);
            self.out(0x3f2, 0x0c);
            for unit in 0..4 {
                self.command(&[0x08]);
                assert_eq!(self.result(2), vec![0xc0 | unit, 0]);
            }
        }

        /// SEEK and its SENSE INTERRUPT STATUS.
        fn seek(&mut self, unit: u8, cylinder: u8) {
            self.command(&[0x0f, unit, cylinder]);
            assert!(self.fdc.irq_level());
            self.command(&[0x08]);
            assert_eq!(self.result(2), vec![0x20 | unit, cylinder]);
        }
    }

    #[test]
    fn reset_sequence_polls_four_drives() {
        let mut pc = Pc::new(&[&image(MB144)]);
        assert_eq!(pc.msr(), MSR_RQM);
        pc.out(0x3f2, 0x08);
        assert_eq!(pc.msr(), 0, "held in reset");
        pc.out(0x3f5, 0x10);
        assert!(pc.fdc.s.command.is_empty(), "the FIFO ignores writes in reset");
        pc.out(0x3f2, 0x0c);
        assert!(pc.fdc.irq_level());
        assert_eq!(pc.inp(0x3f0) & SRA_INTERRUPT, SRA_INTERRUPT);
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0xc0, 0]);
        assert!(!pc.fdc.irq_level(), "the first sense clears the interrupt");
        for unit in 1..4 {
            pc.command(&[0x08]);
            assert_eq!(pc.result(2), vec![0xc0 | unit, 0]);
        }
        pc.command(&[0x08]);
        assert_eq!(pc.result(1), vec![ST0_INVALID], "nothing left to sense");
        // The DSR's software reset does the same, and clears itself.
        pc.out(0x3f4, 0x80);
        assert!(pc.fdc.irq_level());
        assert_eq!(pc.msr(), MSR_RQM);
        for unit in 0..4 {
            pc.command(&[0x08]);
            assert_eq!(pc.result(2), vec![0xc0 | unit, 0]);
        }
        // The DOR's gate bit holds the interrupt line down.
        pc.out(0x3f2, 0x00);
        pc.out(0x3f2, 0x04);
        assert!(!pc.fdc.irq_level());
        pc.out(0x3f2, 0x0c);
        assert!(pc.fdc.irq_level());
    }

    #[test]
    fn specify_version_configure_lock_dumpreg() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.command(&[0x10]);
        assert_eq!(pc.result(1), vec![0x90]);
        pc.command(&[0x18]);
        assert_eq!(pc.result(1), vec![0x41]);
        pc.command(&[0x03, 0xaf, 0x02]);
        assert_eq!(pc.msr(), MSR_RQM, "SPECIFY has no result phase");
        assert!(!pc.fdc.irq_level());
        pc.command(&[0x13, 0x00, 0x57, 0x10]);
        pc.command(&[0x12, 0x87]);
        pc.command(&[0x0e]);
        assert_eq!(pc.result(10), vec![0, 0, 0, 0, 0xaf, 0x02, 0, 0x07, 0x57, 0x10]);
        pc.command(&[0x94]);
        assert_eq!(pc.result(1), vec![0x10]);
        // Locked: the FIFO settings and PRETRK survive a reset, EIS and POLL
        // do not; PERPENDICULAR's GAP and WGATE are cleared, its drive bits stay.
        pc.reset();
        pc.command(&[0x0e]);
        assert_eq!(pc.result(10), vec![0, 0, 0, 0, 0xaf, 0x02, 0, 0x84, 0x07, 0x10]);
        pc.command(&[0x14]);
        assert_eq!(pc.result(1), vec![0x00]);
        pc.reset();
        pc.command(&[0x0e]);
        assert_eq!(pc.result(10), vec![0, 0, 0, 0, 0xaf, 0x02, 0, 0x04, 0x20, 0x00]);
        // An invalid command answers 0x80, without an interrupt.
        pc.command(&[0x1f]);
        assert!(!pc.fdc.irq_level());
        assert_eq!(pc.result(1), vec![0x80]);
    }

    #[test]
    fn recalibrate_seek_and_sense_interrupt() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.command(&[0x0f, 0x04, 10]);
        assert_eq!(pc.msr(), MSR_RQM | 0x01, "drive 0 busy until sensed");
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x24, 10]);
        assert_eq!(pc.msr(), MSR_RQM);
        pc.command(&[0x8f | 0x40, 0x00, 5]);
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x20, 15]);
        pc.command(&[0x8f, 0x00, 20]);
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x20, 0], "relative seek out stops at 0");
        pc.seek(0, 30);
        pc.command(&[0x07, 0x00]);
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x20, 0]);
        pc.command(&[0x04, 0x00]);
        assert_eq!(pc.result(1), vec![0x28 | ST3_TRACK0]);
        // Two seeks before sensing: one status each, the line rises again.
        pc.command(&[0x0f, 0x00, 3]);
        pc.command(&[0x0f, 0x01, 4]);
        assert_eq!(pc.msr(), MSR_RQM | 0x03);
        pc.command(&[0x10]);
        assert_eq!(pc.result(1), vec![0x90]);
        assert!(pc.fdc.irq_level(), "other results leave a seek's interrupt alone");
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x20, 3]);
        assert!(pc.fdc.irq_level());
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x21, 4]);
        assert!(!pc.fdc.irq_level());
        // No drive B: track 0 is never found.
        pc.command(&[0x07, 0x01]);
        pc.command(&[0x08]);
        assert_eq!(pc.result(2), vec![0x71, 0]);
    }

    /// READ DATA (SeaBIOS's 0xe6: MT, MFM, SK) of `count` sectors from
    /// (c, h, r) into memory at `addr` through DMA; the result bytes.
    fn dma_read(pc: &mut Pc, c: u8, h: u8, r: u8, eot: u8, count: u16, addr: u32) -> Vec<u8> {
        pc.dma_setup(addr, count * SECTOR as u16, true);
        pc.command(&[0xe6, h << 2, c, h, r, 2, eot, 0x1b, 0xff]);
        assert!(pc.fdc.irq_level());
        pc.result(7)
    }

    #[test]
    fn read_data_through_dma() {
        let data = image(MB144);
        let mut pc = Pc::new(&[&data]);
        pc.reset();
        pc.seek(0, 5);
        // The last sector before EOT on head 1: the result names cylinder 6.
        assert_eq!(dma_read(&mut pc, 5, 1, 3, 3, 1, 0x1_0000), vec![0x04, 0, 0, 6, 0, 1, 2]);
        assert_eq!(&pc.mem.0[0x1_0000..0x1_0200], sector(&data, 5, 1, 3));
        // Terminal count at the last sector of the track: success, and the
        // result names the next sector (MT: head 1, sector 1).
        assert_eq!(dma_read(&mut pc, 5, 0, 17, 18, 2, 0x2_0000), vec![0x00, 0, 0, 5, 1, 1, 2]);
        assert_eq!(&pc.mem.0[0x2_0000..0x2_0200], sector(&data, 5, 0, 17));
        assert_eq!(&pc.mem.0[0x2_0200..0x2_0400], sector(&data, 5, 0, 18));
        assert_eq!(pc.inp(0x08) & 0x04, 0x04, "terminal count on channel 2");
        // With the channel masked the controller waits in its execution phase,
        // DREQ showing in the 8237's status, until the channel is unmasked.
        pc.dma_setup(0x3_0000, SECTOR as u16, true);
        pc.out(0x0a, 0x06);
        pc.command(&[0xe6, 0x00, 5, 0, 1, 2, 1, 0x1b, 0xff]);
        assert_eq!(pc.msr(), MSR_BUSY);
        assert!(!pc.fdc.irq_level());
        assert_eq!(pc.inp(0x08), 0x40);
        pc.out(0x0a, 0x02);
        assert_eq!(pc.result(7), vec![0x00, 0, 0, 5, 1, 1, 2]);
        assert_eq!(&pc.mem.0[0x3_0000..0x3_0200], sector(&data, 5, 0, 1));
    }

    #[test]
    fn multi_track_reads_and_end_of_cylinder() {
        let data = image(MB144);
        let mut pc = Pc::new(&[&data]);
        pc.reset();
        pc.seek(0, 2);
        // MT: sectors 17-18 of head 0, then 1-2 of head 1.
        assert_eq!(dma_read(&mut pc, 2, 0, 17, 18, 4, 0x1_0000), vec![0x04, 0, 0, 2, 1, 3, 2]);
        for (k, (h, r)) in [(0, 17), (0, 18), (1, 1), (1, 2)].into_iter().enumerate() {
            assert_eq!(&pc.mem.0[0x1_0000 + k * SECTOR..][..SECTOR], sector(&data, 2, h, r));
        }
        assert_eq!(pc.inp(0x08) & 0x04, 0x04, "terminal count on channel 2");
        // Without MT, the track ends at EOT before terminal count: end of cylinder.
        pc.dma_setup(0x3_0000, 4 * SECTOR as u16, true);
        pc.command(&[0x46, 0x00, 2, 0, 8, 2, 9, 0x1b, 0xff]);
        assert_eq!(pc.result(7), vec![0x40, 0x80, 0, 3, 0, 1, 2]);
        assert_eq!(&pc.mem.0[0x3_0200..0x3_0400], sector(&data, 2, 0, 9));
        assert_eq!(pc.mem.0[0x3_0400..0x3_0600], [0; SECTOR], "nothing after EOT");
        assert_eq!(pc.inp(0x08) & 0x04, 0, "no terminal count");
        // MT on head 1 runs off the cylinder too: C+1, H complemented.
        pc.dma_setup(0x3_0000, 4 * SECTOR as u16, true);
        pc.command(&[0xc6, 0x04, 2, 1, 18, 2, 18, 0x1b, 0xff]);
        assert_eq!(pc.result(7), vec![0x44, 0x80, 0, 3, 0, 1, 2]);
    }

    #[test]
    fn read_data_without_dma() {
        let data = image(MB144);
        let mut pc = Pc::new(&[&data]);
        pc.reset();
        pc.command(&[0x03, 0xaf, 0x03]);
        pc.seek(0, 1);
        pc.command(&[0x46, 0x00, 1, 0, 4, 2, 5, 0x1b, 0xff]);
        assert!(pc.fdc.irq_level());
        let mut got = Vec::new();
        while pc.msr() & MSR_NON_DMA != 0 {
            assert_eq!(pc.msr() & (MSR_RQM | MSR_DIO | MSR_BUSY), MSR_RQM | MSR_DIO | MSR_BUSY);
            assert!(pc.fdc.irq_level(), "the FIFO wants service");
            got.push(pc.inp(0x3f5));
        }
        assert_eq!(got.len(), 2 * SECTOR);
        assert_eq!(&got[..SECTOR], sector(&data, 1, 0, 4));
        assert_eq!(&got[SECTOR..], sector(&data, 1, 0, 5));
        // No terminal count in non-DMA mode: the read ends at EOT.
        assert_eq!(pc.result(7), vec![0x40, 0x80, 0, 2, 0, 1, 2]);
        assert!(!pc.fdc.dma_request(FLOPPY_DMA_CHANNEL));
    }

    #[test]
    fn write_data_round_trip_and_write_protect() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.seek(0, 40);
        for (i, b) in pc.mem.0[0x5_0000..0x5_0400].iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        pc.dma_setup(0x5_0000, 2 * SECTOR as u16, false);
        pc.command(&[0xc5, 0x04, 40, 1, 9, 2, 18, 0x1b, 0xff]);
        assert_eq!(pc.result(7), vec![0x04, 0, 0, 40, 1, 11, 2]);
        let written: Vec<u8> = pc.mem.0[0x5_0000..0x5_0400].to_vec();
        assert_eq!(dma_read(&mut pc, 40, 1, 9, 10, 2, 0x6_0000), vec![0x04, 0, 0, 41, 0, 1, 2]);
        assert_eq!(pc.mem.0[0x6_0000..0x6_0400], written[..]);
        let backend = pc.fdc.eject(0).unwrap();
        let mut back = vec![0; 2 * SECTOR];
        let mut backend = backend;
        backend.read_at(((40 * 2 + 1) * 18 + 8) as u64 * SECTOR as u64, &mut back).unwrap();
        assert_eq!(back, written);

        let mut protected = MemBackend::new(image(MB144));
        protected.read_only = true;
        pc.fdc.insert(0, Box::new(protected)).unwrap();
        pc.command(&[0x04, 0x00]);
        assert_eq!(pc.result(1)[0] & ST3_WRITE_PROTECTED, ST3_WRITE_PROTECTED);
        pc.dma_setup(0x5_0000, SECTOR as u16, false);
        pc.command(&[0xc5, 0x04, 40, 1, 9, 2, 9, 0x1b, 0xff]);
        assert_eq!(pc.result(7), vec![0x44, ST1_NOT_WRITABLE, 0, 40, 1, 9, 2]);
    }

    #[test]
    fn read_id_and_data_rate() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.seek(0, 7);
        pc.command(&[0x4a, 0x04]);
        assert!(pc.fdc.irq_level());
        assert_eq!(pc.result(7), vec![0x04, 0, 0, 7, 1, 1, 2]);
        pc.command(&[0x4a, 0x04]);
        assert_eq!(pc.result(7), vec![0x04, 0, 0, 7, 1, 2, 2], "the diskette turns");
        // At 250 kb/s a 1.44M diskette cannot be read.
        pc.out(0x3f7, DataRate::Kbps250 as u8);
        pc.command(&[0x4a, 0x00]);
        assert_eq!(pc.result(7)[..3], [0x40, ST1_MISSING_ADDRESS_MARK, 0]);
        pc.command(&[0xe6, 0x00, 7, 0, 1, 2, 18, 0x1b, 0xff]);
        assert_eq!(pc.result(7)[..3], [0x40, ST1_MISSING_ADDRESS_MARK, 0]);
        pc.out(0x3f4, DataRate::Kbps500 as u8);
        pc.command(&[0x4a, 0x00]);
        assert_eq!(pc.result(7)[..3], [0x00, 0, 0]);
        // A 720K diskette reads at 250 kb/s.
        let mut pc = Pc::new(&[&image(737_280)]);
        pc.reset();
        pc.command(&[0x4a, 0x00]);
        assert_eq!(pc.result(7)[..2], [0x40, ST1_MISSING_ADDRESS_MARK]);
        pc.out(0x3f7, DataRate::Kbps250 as u8);
        pc.command(&[0x4a, 0x00]);
        assert_eq!(pc.result(7), vec![0x00, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn format_track_through_dma() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.seek(0, 12);
        for r in 0..18u8 {
            let at = 0x7_0000 + r as usize * 4;
            pc.mem.0[at..at + 4].copy_from_slice(&[12, 1, r + 1, 2]);
        }
        pc.dma_setup(0x7_0000, 18 * 4, false);
        pc.command(&[0x4d, 0x04, 2, 18, 0x6c, 0xf6]);
        assert_eq!(pc.result(7), vec![0x04, 0, 0, 12, 1, 18, 2]);
        let mut backend = pc.fdc.eject(0).unwrap();
        let mut track = vec![0; 18 * SECTOR];
        backend.read_at(((12 * 2 + 1) * 18) as u64 * SECTOR as u64, &mut track).unwrap();
        assert!(track.iter().all(|&b| b == 0xf6));
        let mut before = vec![0; SECTOR];
        backend.read_at(((12 * 2) * 18 + 17) as u64 * SECTOR as u64, &mut before).unwrap();
        assert_ne!(before, vec![0xf6; SECTOR], "head 0 untouched");
        // In non-DMA mode the host writes each ID through the FIFO.
        pc.fdc.insert(0, backend).unwrap();
        pc.command(&[0x03, 0xaf, 0x03]);
        pc.command(&[0x4d, 0x00, 2, 2, 0x6c, 0x11]);
        for r in 1..=2 {
            assert_eq!(pc.msr() & (MSR_RQM | MSR_DIO | MSR_NON_DMA), MSR_RQM | MSR_NON_DMA);
            for b in [12, 0, r, 2] {
                pc.out(0x3f5, b);
            }
        }
        assert_eq!(pc.result(7), vec![0x00, 0, 0, 12, 0, 2, 2]);
        pc.command(&[0x03, 0xaf, 0x02]);
        dma_read(&mut pc, 12, 0, 2, 2, 1, 0x8_0000);
        assert_eq!(pc.mem.0[0x8_0000..0x8_0200], [0x11; SECTOR]);
    }

    #[test]
    fn disk_change_line() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, DIR_DISK_CHANGE, "set at power-on");
        pc.seek(0, 0);
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, DIR_DISK_CHANGE, "no step, no clear");
        pc.seek(0, 1);
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, 0, "a step with a diskette clears it");
        let disk = pc.fdc.eject(0).unwrap();
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, DIR_DISK_CHANGE);
        pc.seek(0, 2);
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, DIR_DISK_CHANGE, "no diskette: stays");
        assert_eq!(dma_read(&mut pc, 2, 0, 1, 1, 1, 0)[..2], [0x40, ST1_MISSING_ADDRESS_MARK]);
        pc.fdc.insert(0, disk).unwrap();
        pc.seek(0, 3);
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, 0);
        // DIR shows the drive the DOR selects: B: is not connected.
        pc.out(0x3f2, 0x0d);
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, DIR_DISK_CHANGE);
    }

    #[test]
    fn sectors_past_the_end_and_implied_seeks() {
        let data = image(MB144);
        let mut pc = Pc::new(&[&data]);
        pc.reset();
        pc.seek(0, 3);
        // Sector 19 is on no 18-sector track.
        assert_eq!(dma_read(&mut pc, 3, 0, 19, 19, 1, 0)[..3], [0x40, ST1_NO_DATA, 0]);
        // No implied seek: the head is on cylinder 3, the IDs say 3.
        assert_eq!(
            dma_read(&mut pc, 4, 0, 1, 1, 1, 0),
            vec![0x40, ST1_NO_DATA, ST2_WRONG_CYLINDER, 4, 0, 1, 2]
        );
        // Head 1 named in the ID but head 0 selected.
        pc.dma_setup(0, SECTOR as u16, true);
        pc.command(&[0xe6, 0x00, 3, 1, 1, 2, 1, 0x1b, 0xff]);
        assert_eq!(pc.result(7)[..2], [0x40, ST1_NO_DATA]);
        // With EIS the controller seeks to the ID's cylinder first.
        pc.command(&[0x13, 0x00, 0x40 | 0x20, 0x00]);
        assert_eq!(dma_read(&mut pc, 60, 0, 5, 5, 1, 0x1000), vec![0x20, 0, 0, 60, 1, 1, 2]);
        assert_eq!(&pc.mem.0[0x1000..0x1200], sector(&data, 60, 0, 5));
        // Cylinder 80 is past the diskette's last one.
        assert_eq!(dma_read(&mut pc, 80, 0, 1, 1, 1, 0)[..2], [0x60, ST1_MISSING_ADDRESS_MARK]);
    }

    #[test]
    fn scan_and_verify() {
        let data = image(MB144);
        let mut pc = Pc::new(&[&data]);
        pc.reset();
        pc.seek(0, 0);
        pc.mem.0[0x9_0000..0x9_0200].copy_from_slice(sector(&data, 0, 0, 2));
        pc.mem.0[0x9_0010] = 0xff; // matches anything
        pc.dma_setup(0x9_0000, SECTOR as u16, false);
        pc.command(&[0x51, 0x00, 0, 0, 2, 2, 18, 0x1b, 1]);
        assert_eq!(pc.result(7)[..3], [0x00, 0, ST2_SCAN_EQUAL_HIT]);
        pc.mem.0[0x9_0020] = pc.mem.0[0x9_0020].wrapping_add(1);
        pc.dma_setup(0x9_0000, SECTOR as u16, false);
        pc.command(&[0x51, 0x00, 0, 0, 2, 2, 18, 0x1b, 1]);
        assert_eq!(pc.result(7)[..3], [0x00, 0, ST2_SCAN_NOT_SATISFIED]);
        // VERIFY with EC: three sectors, no data moved.
        pc.command(&[0xd6, 0x80, 0, 0, 17, 2, 18, 0x1b, 3]);
        assert_eq!(pc.result(7), vec![0x04, 0, 0, 0, 1, 2, 2]);
    }

    #[test]
    fn read_deleted_data_finds_normal_marks() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.dma_setup(0, SECTOR as u16, true);
        pc.command(&[0x4c, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff]);
        assert_eq!(pc.result(7), vec![0x40, 0, ST2_CONTROL_MARK, 0, 0, 2, 2]);
        pc.command(&[0x6c, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff]);
        assert_eq!(pc.result(7)[..3], [0x40, ST1_END_OF_CYLINDER, ST2_CONTROL_MARK], "all skipped");
    }

    #[test]
    fn media_by_size_and_cmos_types() {
        for (len, spt, cylinders, heads, cmos) in [
            (163_840, 8, 40, 1, 2),
            (184_320, 9, 40, 1, 2),
            (327_680, 8, 40, 2, 2),
            (368_640, 9, 40, 2, 2),
            (737_280, 9, 80, 2, 4),
            (1_228_800, 15, 80, 2, 2),
            (MB144, 18, 80, 2, 4),
            (1_720_320, 21, 80, 2, 4),
            (1_763_328, 21, 82, 2, 4),
            (2_949_120, 36, 80, 2, 5),
        ] {
            let mut fdc = Fdc::new();
            let f = fdc.insert(0, Box::new(MemBackend::new(vec![0; len]))).unwrap();
            assert_eq!(
                (f.sectors_per_track, f.cylinders, f.heads, f.bytes()),
                (spt, cylinders, heads, len as u64)
            );
            assert_eq!(fdc.cmos_drive_types(), cmos << 4);
        }
        let mut fdc = Fdc::new();
        let err = fdc.insert(0, Box::new(MemBackend::new(vec![0; 1_000_000]))).unwrap_err();
        assert_eq!(err, FloppyError::UnknownSize(1_000_000));
        assert!(err.to_string().contains("1000000 bytes"));
        assert_eq!(fdc.cmos_drive_types(), 0);
        assert_eq!(
            fdc.insert(2, Box::new(MemBackend::new(vec![0; MB144]))).unwrap_err(),
            FloppyError::NoSuchDrive(2)
        );
        // The drive keeps the type of its first diskette.
        fdc.insert(1, Box::new(MemBackend::new(vec![0; MB144]))).unwrap();
        assert_eq!(fdc.cmos_drive_types(), 0x04);
        let f = fdc.insert(1, Box::new(MemBackend::new(vec![0; 368_640]))).unwrap();
        assert_eq!((f.drive, f.sectors_per_track, f.cylinders, f.heads), (DriveType::Drive1440K, 9, 80, 1));
        assert_eq!(
            fdc.insert(1, Box::new(MemBackend::new(vec![0; 1_228_800]))).unwrap_err(),
            FloppyError::WrongDrive { size: 1_228_800, drive: DriveType::Drive1440K }
        );
        fdc.insert(1, Box::new(MemBackend::new(vec![0; 2_949_120]))).unwrap();
        assert_eq!(fdc.drive_type(1), Some(DriveType::Drive1440K));
        fdc.connect_drive(0, DriveType::Drive2880K).unwrap();
        assert_eq!(fdc.cmos_drive_types(), 0x54);
        assert_eq!(fdc.connect_drive(0, DriveType::Drive1200K), Err(FloppyError::DriveConnected(0)));
        assert_eq!(fdc.medium_format(0), None);
    }

    #[test]
    fn snapshot_round_trip_in_the_middle_of_a_read() {
        let data = image(MB144);
        let mut pc = Pc::new(&[&data]);
        pc.reset();
        pc.command(&[0x03, 0xaf, 0x03]);
        pc.command(&[0x46, 0x00, 0, 0, 1, 2, 2, 0x1b, 0xff]);
        let first: Vec<u8> = (0..100).map(|_| pc.inp(0x3f5)).collect();
        assert_eq!(first[..], sector(&data, 0, 0, 1)[..100]);
        let saved = pc.fdc.save();

        let mut fresh = Fdc::new();
        fresh.insert(0, Box::new(MemBackend::new(data.clone()))).unwrap();
        fresh.restore(&saved).unwrap();
        assert_eq!(fresh.s, pc.fdc.s);
        assert_eq!(fresh.read(0x3f4, 1), pc.fdc.read(0x3f4, 1));
        let mut rest = Vec::new();
        while fresh.read(0x3f4, 1) as u8 & MSR_NON_DMA != 0 {
            rest.push(fresh.read(0x3f5, 1) as u8);
        }
        assert_eq!(rest[..SECTOR - 100], sector(&data, 0, 0, 1)[100..]);
        assert_eq!(rest[SECTOR - 100..], *sector(&data, 0, 0, 2));
        let result: Vec<u8> = (0..7).map(|_| fresh.read(0x3f5, 1) as u8).collect();
        assert_eq!(result, vec![0x40, 0x80, 0, 1, 0, 1, 2]);

        assert!(fresh.restore(&[0xff; 4]).is_err());
        let mut broken = pc.fdc.s.clone();
        broken.exec.as_mut().unwrap().pos = SECTOR;
        assert!(fresh.restore(&state::encode(&broken)).is_err());
        let mut broken = pc.fdc.s.clone();
        broken.command = vec![0x03, 1, 2];
        assert!(fresh.restore(&state::encode(&broken)).is_err(), "a whole command never waits");
    }

    #[test]
    fn hardware_reset_keeps_the_disk_change_line() {
        let mut pc = Pc::new(&[&image(MB144)]);
        pc.reset();
        pc.seek(0, 9);
        pc.command(&[0x03, 0xaf, 0x03]);
        pc.command(&[0x46, 0x00, 9, 0, 1, 2, 2, 0x1b, 0xff]);
        pc.fdc.reset();
        assert_eq!(pc.msr(), MSR_RQM);
        assert!(!pc.fdc.irq_level());
        assert_eq!(pc.inp(0x3f2), 0x0c);
        assert_eq!(pc.inp(0x3f7) & DIR_DISK_CHANGE, 0);
        pc.command(&[0x0e]);
        assert_eq!(pc.result(10), vec![0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0]);
    }
}
