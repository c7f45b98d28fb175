//! The PIIX3 IDE controller of QEMU's `pc` machine (PCI function 00:01.1,
//! 8086:7010, class 0x010180: both channels in legacy mode) with its drives:
//! ATA hard disks and ATAPI CD-ROMs.
//!
//! This file owns the controller: the two channels at their legacy ports
//! (primary 0x1f0-0x1f7 and 0x3f6 on IRQ 14, secondary 0x170-0x177 and 0x376
//! on IRQ 15), the task-file registers each drive keeps (with the high-order
//! bytes of LBA48), the device control register (nIEN, SRST, HOB), the PIO
//! data port with its DRQ blocks, the channel's interrupt line, and the
//! public face the machine wires: [`Ide`], [`Drive`], snapshots, the PCI
//! function's configuration space and the CMOS bytes firmware reads.
//! The ATA command set, IDENTIFY and disk geometry live in `ata.rs`, the
//! packet commands of the CD-ROM in `atapi.rs`, the bus-master DMA engine
//! (BMIDE registers, PRD tables) in `busmaster.rs`. Images are
//! [`BlockBackend`]s the machine attaches; guest memory is lent for the
//! calls that transfer ([`Ide::bm_write`], [`Ide::run_dma`]).
//!
//! Register behaviour follows QEMU's hw/ide where drivers can tell: both
//! drives of a channel take every task-file write; a channel without drives
//! reads 0 from every register, and an absent slave reads 0 from status and
//! error (so SeaBIOS and libata see no device); commands to an absent slave
//! are ignored; a soft reset leaves each drive's signature. Where this
//! follows the hardware instead of QEMU: nIEN masks a pending interrupt
//! rather than dropping it (the interrupt shows when nIEN is cleared, as the
//! ATA standard describes INTRQ), and SRST negates INTRQ and holds the
//! drives busy until it is cleared (QEMU resets them at once). Transfers are
//! synchronous: a command's data is ready (or its DMA done) by the time the
//! access that started it returns.

mod ata;
mod atapi;
mod busmaster;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chipset::pci::{command, Bar, BarKind, ConfigSpace};
use crate::dma::GuestMemory;
use crate::irq::line;
use crate::state::{self, Snapshot, StateError};
use crate::storage::image::BlockBackend;
use crate::{ones, PortDevice};

pub use ata::{DiskGeometry, Translation};
use atapi::Atapi;
use busmaster::BusMaster;

/// Status register bits.
mod status {
    pub const BSY: u8 = 0x80;
    pub const DRDY: u8 = 0x40;
    /// Device fault; never set by these drives.
    #[cfg(test)]
    pub const DF: u8 = 0x20;
    pub const DSC: u8 = 0x10;
    pub const DRQ: u8 = 0x08;
    pub const ERR: u8 = 0x01;
}

/// Error register bits.
mod error {
    pub const ABRT: u8 = 0x04;
    /// Media changed (ATAPI: with the sense key in bits 4-7).
    pub const MC: u8 = 0x20;
}

/// Device control register bits.
mod control {
    pub const NIEN: u8 = 0x02;
    pub const SRST: u8 = 0x04;
    pub const HOB: u8 = 0x80;
}

/// The device/head register's bits that always read 1 (obsolete bits 7 and 5).
const DEVICE_ALWAYS_ON: u8 = 0xa0;
/// The device/head register's LBA bit.
const DEVICE_LBA: u8 = 0x40;
/// The device/head register's drive select bit.
const DEVICE_SLAVE: u8 = 0x10;

/// QEMU's firmware revision string for its drives ("hw_version" of current
/// machine types).
const FIRMWARE_REVISION: &str = "2.5+";

/// One of the two IDE channels.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdeChannel {
    Primary,
    Secondary,
}

impl IdeChannel {
    /// The eight task-file ports (data at the first).
    pub fn command_ports(self) -> (u16, u16) {
        match self {
            IdeChannel::Primary => (0x1f0, 0x1f7),
            IdeChannel::Secondary => (0x170, 0x177),
        }
    }

    /// The alternate status / device control port.
    pub fn control_port(self) -> u16 {
        match self {
            IdeChannel::Primary => 0x3f6,
            IdeChannel::Secondary => 0x376,
        }
    }

    /// The ISA interrupt line.
    pub fn irq_line(self) -> u8 {
        match self {
            IdeChannel::Primary => line::IDE_PRIMARY,
            IdeChannel::Secondary => line::IDE_SECONDARY,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A drive's place on its channel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdeUnit {
    Master,
    Slave,
}

impl IdeUnit {
    fn index(self) -> usize {
        self as usize
    }
}

/// What kind of drive sits at a place.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriveKind {
    Disk,
    Cdrom,
}

/// Why the controller refused a request of the machine.
#[derive(Debug, PartialEq, Eq)]
pub enum IdeError {
    /// A hard disk image smaller than one 512-byte sector.
    EmptyDisk,
    /// A medium change asked of a place that holds no CD-ROM drive.
    NotRemovable,
    /// The guest has locked the tray (PREVENT MEDIUM REMOVAL); it has been
    /// told that an eject was requested.
    MediumLocked,
}

impl fmt::Display for IdeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdeError::EmptyDisk => write!(f, "the disk image holds less than one 512-byte sector"),
            IdeError::NotRemovable => write!(f, "there is no CD-ROM drive there to change the medium of"),
            IdeError::MediumLocked => {
                write!(
                    f,
                    "the guest has locked the CD-ROM tray; it was asked to release it (or force the eject)"
                )
            }
        }
    }
}

impl std::error::Error for IdeError {}

/// A drive to attach: a hard disk with its image, or a CD-ROM drive with a
/// disc or empty.
pub struct Drive {
    kind: DriveKind,
    medium: Option<Box<dyn BlockBackend>>,
}

impl Drive {
    /// A hard disk on `image` (512-byte sectors; a partial last sector is
    /// not addressable). A read-only image gives the guest errors on writes.
    pub fn disk(image: Box<dyn BlockBackend>) -> Result<Drive, IdeError> {
        if image.len() < ata::SECTOR as u64 {
            return Err(IdeError::EmptyDisk);
        }
        Ok(Drive { kind: DriveKind::Disk, medium: Some(image) })
    }

    /// A CD-ROM drive, with an ISO image (2048-byte sectors) or empty.
    pub fn cdrom(medium: Option<Box<dyn BlockBackend>>) -> Drive {
        Drive { kind: DriveKind::Cdrom, medium }
    }
}

/// The medium behind each unit of a channel (host attachments, not state).
type Media = [Option<Box<dyn BlockBackend>>; 2];

/// The PIIX3 IDE controller with up to four drives.
pub struct Ide {
    state: IdeState,
    media: [Media; 2],
}

/// Everything the guest can observe.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct IdeState {
    channels: [Channel; 2],
}

impl Default for Ide {
    fn default() -> Self {
        Self::new()
    }
}

impl Ide {
    /// A controller with no drives.
    pub fn new() -> Ide {
        Ide {
            state: IdeState { channels: [Channel::new(0), Channel::new(1)] },
            media: [[None, None], [None, None]],
        }
    }

    /// Puts `drive` at `channel`/`unit` (replacing what was there), as the
    /// machine does before the guest runs. A disk gets the geometry QEMU
    /// would guess for its image.
    pub fn attach(&mut self, channel: IdeChannel, unit: IdeUnit, drive: Drive) {
        let (c, u) = (channel.index(), unit.index());
        let mut medium = drive.medium;
        let number = (2 * c + u + 1) as u32;
        self.state.channels[c].units[u] = Unit::new(Some(drive.kind), number, &mut medium);
        self.media[c][u] = medium;
    }

    /// Inserts a disc into the CD-ROM drive at `channel`/`unit` (replacing
    /// any), closing the tray; the guest sees a medium change. This does not
    /// ask the guest's tray lock: a monitor `change` ejects first
    /// ([`Ide::eject_medium`]), which does.
    pub fn insert_medium(
        &mut self,
        channel: IdeChannel,
        unit: IdeUnit,
        medium: Box<dyn BlockBackend>,
    ) -> Result<(), IdeError> {
        let (c, u) = (channel.index(), unit.index());
        let ch = &mut self.state.channels[c];
        if ch.units[u].kind != Some(DriveKind::Cdrom) {
            return Err(IdeError::NotRemovable);
        }
        self.media[c][u] = Some(medium);
        ch.units[u].medium_changed(true);
        ch.settle(u);
        Ok(())
    }

    /// Takes the disc out of the CD-ROM drive at `channel`/`unit`, leaving
    /// the tray open, and gives it back. A tray the guest has locked is not
    /// opened unless `force` is set: the guest is told that an eject was
    /// requested instead.
    pub fn eject_medium(
        &mut self,
        channel: IdeChannel,
        unit: IdeUnit,
        force: bool,
    ) -> Result<Option<Box<dyn BlockBackend>>, IdeError> {
        let (c, u) = (channel.index(), unit.index());
        let ch = &mut self.state.channels[c];
        if ch.units[u].kind != Some(DriveKind::Cdrom) {
            return Err(IdeError::NotRemovable);
        }
        if ch.units[u].eject_request(force) {
            ch.settle(u);
            return Err(IdeError::MediumLocked);
        }
        let medium = self.media[c][u].take();
        ch.units[u].medium_changed(false);
        ch.settle(u);
        Ok(medium)
    }

    /// The level of `channel`'s interrupt line (IRQ 14 or 15): a pending
    /// interrupt, unless the guest masks it with nIEN.
    pub fn irq_level(&self, channel: IdeChannel) -> bool {
        self.state.channels[channel.index()].irq_level()
    }

    /// Reads the bus-master registers (the 16 bytes of BAR 4, `offset`
    /// 0-15: primary channel at 0, secondary at 8).
    pub fn bm_read(&mut self, offset: u8, size: u8) -> u32 {
        let ch = &self.state.channels[(offset as usize >> 3) & 1];
        ch.bm.read(offset & 7, size)
    }

    /// Writes the bus-master registers; starting an engine with a DMA
    /// command pending transfers through `mem` before returning.
    pub fn bm_write(&mut self, offset: u8, size: u8, value: u32, mem: &mut dyn GuestMemory) {
        let c = (offset as usize >> 3) & 1;
        let ch = &mut self.state.channels[c];
        if ch.bm.write(offset & 7, size, value) {
            ch.run_dma(&mut self.media[c], mem);
        }
    }

    /// Whether a DMA transfer is ready to run: a drive has a DMA command
    /// whose engine the guest started first. The machine then calls
    /// [`Ide::run_dma`] (checking after each write to the legacy ports is
    /// enough).
    pub fn dma_pending(&self) -> bool {
        self.state.channels.iter().any(Channel::dma_ready)
    }

    /// Runs the DMA transfers that are ready, through `mem`.
    pub fn run_dma(&mut self, mem: &mut dyn GuestMemory) {
        for (ch, media) in self.state.channels.iter_mut().zip(self.media.iter_mut()) {
            ch.run_dma(media, mem);
        }
    }

    /// What kind of drive sits at `channel`/`unit`, if any.
    pub fn drive_kind(&self, channel: IdeChannel, unit: IdeUnit) -> Option<DriveKind> {
        self.state.channels[channel.index()].units[unit.index()].kind
    }

    /// The physical geometry and BIOS translation of the hard disk at
    /// `channel`/`unit`, if there is one.
    pub fn disk_geometry(&self, channel: IdeChannel, unit: IdeUnit) -> Option<DiskGeometry> {
        let u = &self.state.channels[channel.index()].units[unit.index()];
        (u.kind == Some(DriveKind::Disk)).then_some(DiskGeometry {
            cylinders: u.default_chs.cylinders,
            heads: u.default_chs.heads,
            sectors: u.default_chs.sectors,
            translation: u.translation,
        })
    }

    /// The CMOS bytes QEMU's `pc` machine sets for the hard disks, as
    /// (index, value) pairs for the RTC: drive types (0x12) and parameter
    /// tables (0x19, 0x1b-0x23 and 0x1a, 0x24-0x2c) of the primary
    /// channel's disks, and the BIOS translation of all four (0x39), which
    /// SeaBIOS reads.
    pub fn cmos_entries(&self) -> Vec<(u8, u8)> {
        let geometry = |c, u| self.disk_geometry(c, u);
        ata::cmos_entries([
            geometry(IdeChannel::Primary, IdeUnit::Master),
            geometry(IdeChannel::Primary, IdeUnit::Slave),
            geometry(IdeChannel::Secondary, IdeUnit::Master),
            geometry(IdeChannel::Secondary, IdeUnit::Slave),
        ])
    }

    /// The configuration space of the PCI function (00:01.1 on the `pc`
    /// machine): 8086:7010, class 0x010180 (legacy mode, bus mastering), the
    /// bus-master registers in BAR 4 (16 bytes of I/O), no interrupt pin
    /// (the channels use IRQ 14 and 15). As in QEMU, the device-specific
    /// registers from 0x40 (IDE timing, whose decode-enable bits firmware sets
    /// and Linux's ata_piix checks) keep what software writes.
    pub fn pci_function() -> ConfigSpace {
        let mut f = ConfigSpace::new(0x8086, 0x7010, 0x00, 0x01_01_80, 0x00);
        f.set16(0x06, 0x0280); // fast back-to-back, medium DEVSEL
        f.set16(0x2c, 0x1af4);
        f.set16(0x2e, 0x1100);
        f.enable_command(command::IO | command::MEMORY | command::BUS_MASTER | command::INTX_DISABLE);
        f.allow(0x0c, 0xff); // cache line size
        f.allow(0x3c, 0xff); // interrupt line
        f.set_bar(busmaster::BAR, Bar { size: busmaster::SIZE, kind: BarKind::Io });
        for off in 0x40..0x100 {
            f.allow(off, 0xff);
        }
        f
    }

    fn channel_of(port: u16) -> Option<(usize, Port)> {
        for c in [IdeChannel::Primary, IdeChannel::Secondary] {
            let (first, last) = c.command_ports();
            if (first..=last).contains(&port) {
                return Some((c.index(), Port::Register((port - first) as u8)));
            }
            if port == c.control_port() {
                return Some((c.index(), Port::Control));
            }
        }
        None
    }

    fn read_byte(&mut self, port: u16) -> u8 {
        match Ide::channel_of(port) {
            Some((c, Port::Register(reg))) => self.state.channels[c].read_register(reg),
            Some((c, Port::Control)) => self.state.channels[c].alt_status(),
            None => 0xff,
        }
    }

    fn write_byte(&mut self, port: u16, value: u8) {
        match Ide::channel_of(port) {
            Some((c, Port::Register(reg))) => {
                self.state.channels[c].write_register(&mut self.media[c], reg, value)
            }
            Some((c, Port::Control)) => self.state.channels[c].write_control(value),
            None => {}
        }
    }
}

/// Which of a channel's ports.
enum Port {
    /// Task-file register 0-7 (0: data).
    Register(u8),
    /// Alternate status (read) / device control (write).
    Control,
}

impl PortDevice for Ide {
    // Widths follow QEMU's PIIX ports: the data port moves 16 or 32 bits
    // (a byte read takes a whole word and gives its low byte; a byte write
    // is dropped); the other registers are bytes, a 16-bit access to them
    // is split in two and a 32-bit one reads all ones and writes nothing.
    fn read(&mut self, port: u16, size: u8) -> u32 {
        match (Ide::channel_of(port), size) {
            (Some((c, Port::Register(0))), _) => {
                let v = self.state.channels[c].read_data(&mut self.media[c], size.clamp(2, 4));
                if size == 1 {
                    v & 0xff
                } else {
                    v
                }
            }
            (_, 1) => self.read_byte(port) as u32,
            (_, 2) => self.read_byte(port) as u32 | (self.read_byte(port.wrapping_add(1)) as u32) << 8,
            _ => ones(size),
        }
    }

    fn write(&mut self, port: u16, size: u8, value: u32) {
        match (Ide::channel_of(port), size) {
            (Some((_, Port::Register(0))), 1) => {}
            (Some((c, Port::Register(0))), _) => {
                self.state.channels[c].write_data(&mut self.media[c], size.min(4), value)
            }
            (_, 1) => self.write_byte(port, value as u8),
            (_, 2) => {
                self.write_byte(port, value as u8);
                self.write_byte(port.wrapping_add(1), (value >> 8) as u8);
            }
            _ => {}
        }
    }

    fn reset(&mut self) {
        for ch in &mut self.state.channels {
            ch.hardware_reset();
        }
    }

    fn access_size(&self) -> u8 {
        4
    }
}

impl Snapshot for Ide {
    fn save(&self) -> Vec<u8> {
        state::encode(&self.state)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let restored: IdeState = state::decode(bytes)?;
        for ch in &restored.channels {
            ch.check()?;
        }
        self.state = restored;
        Ok(())
    }
}

/// What a drive asks of its channel after an operation.
#[derive(Clone, Copy, Debug, Default)]
struct Signals {
    /// Raise the interrupt.
    irq: bool,
    /// A DMA command was issued: the engine starts a new PRD walk.
    dma_start: bool,
}

/// One IDE channel: two drive places, the device control register, the
/// interrupt line and the bus-master engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Channel {
    units: [Unit; 2],
    /// The unit the device/head register selects.
    selected: usize,
    /// The device control register.
    control: u8,
    /// A drive interrupt is pending (cleared by reading status or writing a
    /// command).
    irq: bool,
    bm: BusMaster,
}

impl Channel {
    fn new(index: usize) -> Channel {
        let number = |u: usize| (2 * index + u + 1) as u32;
        Channel {
            units: [Unit::new(None, number(0), &mut None), Unit::new(None, number(1), &mut None)],
            selected: 0,
            control: 0,
            irq: false,
            bm: BusMaster::default(),
        }
    }

    fn check(&self) -> Result<(), StateError> {
        if self.selected > 1 {
            return Err(StateError("IDE unit number out of range".into()));
        }
        self.units.iter().try_for_each(Unit::check)
    }

    fn present(&self, u: usize) -> bool {
        self.units[u].kind.is_some()
    }

    /// Whether status and error reads reach a drive: not on a channel
    /// without drives, nor with an absent slave selected (QEMU reads 0).
    fn selected_answers(&self) -> bool {
        self.present(self.selected) || (self.selected == 0 && self.present(1))
    }

    fn raise_irq(&mut self) {
        self.irq = true;
        if self.control & control::NIEN == 0 {
            self.bm.interrupt();
        }
    }

    fn irq_level(&self) -> bool {
        self.irq && self.control & control::NIEN == 0
    }

    /// Takes up what unit `u` asked for in its last operation.
    fn settle(&mut self, u: usize) {
        let signals = std::mem::take(&mut self.units[u].signals);
        if signals.dma_start {
            self.bm.begin_command();
        }
        if signals.irq {
            self.raise_irq();
        }
    }

    fn read_register(&mut self, reg: u8) -> u8 {
        let hob = self.control & control::HOB != 0;
        let any = self.present(0) || self.present(1);
        let answers = self.selected_answers();
        let u = &self.units[self.selected];
        let tf = &u.tf;
        match reg {
            0 => 0xff,
            1 if !answers => 0,
            1 => {
                if hob {
                    tf.hob_feature
                } else {
                    u.error
                }
            }
            2..=6 if !any => 0,
            2 => {
                if hob {
                    tf.hob_count
                } else {
                    tf.count as u8
                }
            }
            3 => {
                if hob {
                    tf.hob_lba_low
                } else {
                    tf.lba_low
                }
            }
            4 => {
                if hob {
                    tf.hob_lba_mid
                } else {
                    tf.lba_mid
                }
            }
            5 => {
                if hob {
                    tf.hob_lba_high
                } else {
                    tf.lba_high
                }
            }
            6 => tf.device,
            _ => {
                let status = if answers { u.status } else { 0 };
                self.irq = false;
                status
            }
        }
    }

    fn alt_status(&self) -> u8 {
        if self.selected_answers() {
            self.units[self.selected].status
        } else {
            0
        }
    }

    fn write_register(&mut self, media: &mut Media, reg: u8, value: u8) {
        // The command block ignores writes while the drive is busy or
        // transferring, except the command register.
        if reg != 7 && self.units[self.selected].status & (status::BSY | status::DRQ) != 0 {
            return;
        }
        self.control &= !control::HOB;
        match reg {
            0 => {}
            1..=6 => {
                for u in &mut self.units {
                    u.tf.write(reg, value);
                }
                if reg == 6 {
                    self.selected = usize::from(value & DEVICE_SLAVE != 0);
                }
            }
            _ => {
                self.irq = false;
                self.command(media, value);
            }
        }
    }

    fn command(&mut self, media: &mut Media, cmd: u8) {
        let s = self.selected;
        if s == 1 && !self.present(1) {
            return;
        }
        if cmd == ata::EXECUTE_DEVICE_DIAGNOSTIC && self.units[s].status & (status::BSY | status::DRQ) == 0 {
            // Both drives run their diagnostics and leave their signatures;
            // the channel interrupts when they are done.
            for u in &mut self.units {
                u.diagnose();
            }
            self.raise_irq();
            return;
        }
        self.units[s].execute(&mut media[s], cmd);
        self.settle(s);
    }

    fn write_control(&mut self, value: u8) {
        let before = self.control;
        self.control = value;
        let srst = control::SRST;
        if value & srst != 0 && before & srst == 0 {
            self.irq = false;
            for u in &mut self.units {
                u.status |= status::BSY;
            }
        } else if value & srst == 0 && before & srst != 0 {
            for u in 0..2 {
                self.units[u].soft_reset();
                self.settle(u);
            }
        }
        if before & control::NIEN != 0 && value & control::NIEN == 0 && self.irq {
            self.bm.interrupt();
        }
    }

    fn read_data(&mut self, media: &mut Media, size: u8) -> u32 {
        let s = self.selected;
        let value = self.units[s].read_data(&mut media[s], size);
        self.settle(s);
        value
    }

    fn write_data(&mut self, media: &mut Media, size: u8, value: u32) {
        let s = self.selected;
        self.units[s].write_data(&mut media[s], size, value);
        self.settle(s);
    }

    /// The unit whose DMA command waits for the engine, if any.
    fn dma_unit(&self) -> Option<usize> {
        (0..2).find(|&u| self.units[u].dma.is_some())
    }

    fn dma_ready(&self) -> bool {
        self.bm.active() && self.dma_unit().is_some()
    }

    /// Transfers the pending DMA command's data if the engine runs.
    fn run_dma(&mut self, media: &mut Media, mem: &mut dyn GuestMemory) {
        if !self.bm.active() {
            return;
        }
        let Some(u) = self.dma_unit() else { return };
        let Some(kind) = self.units[u].dma.take() else { return };
        let unit = &mut self.units[u];
        let medium = &mut media[u];
        let stay_active = match kind {
            DmaKind::AtaRead | DmaKind::AtaWrite | DmaKind::Trim => {
                unit.ata_dma(medium, &mut self.bm, mem, kind)
            }
            DmaKind::AtapiIn => unit.atapi_dma_in(medium, &mut self.bm, mem),
            DmaKind::AtapiOut => unit.atapi_dma_out(&mut self.bm, mem),
        };
        self.bm.finish(stay_active);
        self.settle(u);
    }

    /// A hardware reset (the machine's reset): registers, drives and the
    /// bus-master engine as at power-on.
    fn hardware_reset(&mut self) {
        self.selected = 0;
        self.control = 0;
        self.irq = false;
        for u in &mut self.units {
            u.power_on();
        }
        self.bm = BusMaster::default();
    }
}

/// A DMA command waiting for (or being served by) the bus-master engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum DmaKind {
    /// READ DMA: medium to guest memory.
    AtaRead,
    /// WRITE DMA: guest memory to medium.
    AtaWrite,
    /// DATA SET MANAGEMENT (TRIM): ranges from guest memory.
    Trim,
    /// ATAPI data to the host (replies and sectors).
    AtapiIn,
    /// ATAPI data from the host (MODE SELECT parameters).
    AtapiOut,
}

/// The task-file registers of one drive, with the previous values the
/// LBA48 high-order bytes read back (HOB).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TaskFile {
    feature: u8,
    hob_feature: u8,
    /// The sector count; while a command runs, the whole count (up to
    /// 65536 for LBA48 commands). For ATAPI: the interrupt reason.
    count: u32,
    hob_count: u8,
    lba_low: u8,
    hob_lba_low: u8,
    lba_mid: u8,
    hob_lba_mid: u8,
    lba_high: u8,
    hob_lba_high: u8,
    /// The device/head register.
    device: u8,
}

impl TaskFile {
    /// A register write: the register's old value moves to its HOB byte.
    fn write(&mut self, reg: u8, value: u8) {
        match reg {
            1 => self.hob_feature = std::mem::replace(&mut self.feature, value),
            2 => self.hob_count = std::mem::replace(&mut self.count, value as u32) as u8,
            3 => self.hob_lba_low = std::mem::replace(&mut self.lba_low, value),
            4 => self.hob_lba_mid = std::mem::replace(&mut self.lba_mid, value),
            5 => self.hob_lba_high = std::mem::replace(&mut self.lba_high, value),
            _ => self.device = value | DEVICE_ALWAYS_ON,
        }
    }

    /// The ATAPI byte count limit (cylinder registers).
    fn byte_count(&self) -> u16 {
        u16::from_le_bytes([self.lba_mid, self.lba_high])
    }

    fn set_byte_count(&mut self, n: u16) {
        [self.lba_mid, self.lba_high] = n.to_le_bytes();
    }
}

/// What happens when the host has moved the current PIO block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Next {
    /// No transfer (the data port reads 0).
    Idle,
    /// A single block to the host ends the command (IDENTIFY, SMART data).
    Stop,
    /// READ SECTORS / READ MULTIPLE: the next block.
    ReadSectors,
    /// WRITE SECTORS / WRITE MULTIPLE: write the block, ask for the next.
    WriteSectors,
    /// PACKET: the 12-byte command packet has arrived.
    Packet,
    /// An ATAPI reply or read: the next piece.
    AtapiReply,
    /// ATAPI parameter data from the host.
    AtapiDataOut,
}

impl Next {
    /// Whether data moves to the host (reads of the data port).
    fn to_host(self) -> bool {
        matches!(self, Next::Idle | Next::Stop | Next::ReadSectors | Next::AtapiReply)
    }
}

/// The PIO data window: bytes `pos..end` of `buf` are still to move.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Pio {
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    next: Next,
}

/// CHS geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Chs {
    cylinders: u32,
    heads: u32,
    sectors: u32,
}

/// One drive place: the drive's kind (if any), its registers, and the state
/// of the command it runs. QEMU keeps registers for an absent drive too
/// (both drives take every write), and so do we.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Unit {
    kind: Option<DriveKind>,
    serial: String,
    /// The geometry IDENTIFY reports as default (and CMOS as physical).
    default_chs: Chs,
    /// The geometry CHS addresses use (INITIALIZE DEVICE PARAMETERS).
    chs: Chs,
    translation: Translation,
    tf: TaskFile,
    status: u8,
    error: u8,
    /// The running command uses 48-bit addresses.
    lba48: bool,
    /// Sectors per block of READ/WRITE MULTIPLE (0: disabled).
    multiple: u8,
    /// Sectors per DRQ block of the running command.
    block_sectors: u32,
    write_cache: bool,
    /// IDENTIFY words 62, 63 and 88: the DMA modes, and which one is set.
    dma_modes: [u16; 3],
    smart_enabled: bool,
    smart_autosave: bool,
    pio: Pio,
    /// The DMA command waiting for the bus-master engine.
    dma: Option<DmaKind>,
    atapi: Atapi,
    #[serde(skip)]
    signals: Signals,
}

impl Unit {
    fn new(kind: Option<DriveKind>, number: u32, medium: &mut Option<Box<dyn BlockBackend>>) -> Unit {
        let (chs, translation) = match (kind, medium.as_deref_mut()) {
            (Some(DriveKind::Disk), Some(image)) => ata::guess_geometry(image),
            _ => (Chs { cylinders: 0, heads: 1, sectors: 1 }, Translation::None),
        };
        let mut unit = Unit {
            kind,
            serial: format!("QM{number:05}"),
            default_chs: chs,
            chs,
            translation,
            tf: TaskFile::default(),
            status: 0,
            error: 0,
            lba48: false,
            multiple: 0,
            block_sectors: 0,
            write_cache: true,
            dma_modes: ata::DEFAULT_DMA_MODES,
            smart_enabled: true,
            smart_autosave: true,
            pio: Pio { buf: Vec::new(), pos: 0, end: 0, next: Next::Idle },
            dma: None,
            atapi: Atapi::default(),
            signals: Signals::default(),
        };
        unit.reset();
        unit
    }

    fn check(&self) -> Result<(), StateError> {
        let p = &self.pio;
        if p.pos > p.end || p.end > p.buf.len() {
            return Err(StateError("IDE PIO window outside its buffer".into()));
        }
        if self.chs.heads == 0 || self.chs.sectors == 0 || self.default_chs.heads == 0 {
            return Err(StateError("IDE disk geometry with no heads or sectors".into()));
        }
        if self.block_sectors > ata::MAX_MULTIPLE as u32 || self.tf.count > 65536 {
            return Err(StateError("IDE sector counts out of range".into()));
        }
        self.atapi.check(p.buf.len())
    }

    fn is_cdrom(&self) -> bool {
        self.kind == Some(DriveKind::Cdrom)
    }

    /// The drive's register reset (QEMU's ide_reset), done by SRST, DEVICE
    /// RESET and hardware reset: registers, signature, multiple mode, the
    /// running transfer, ATAPI sense and tray.
    fn reset(&mut self) {
        self.multiple = ata::MAX_MULTIPLE;
        self.tf = TaskFile { device: DEVICE_ALWAYS_ON, ..TaskFile::default() };
        self.error = 0;
        self.status = status::DRDY | status::DSC;
        self.lba48 = false;
        self.block_sectors = 0;
        self.atapi.reset();
        self.dma = None;
        self.set_signature();
        self.stop_transfer();
    }

    /// Power-on: the reset, and the settings SET FEATURES and INITIALIZE
    /// DEVICE PARAMETERS changed back to their defaults.
    fn power_on(&mut self) {
        self.reset();
        self.chs = self.default_chs;
        self.write_cache = true;
        self.dma_modes = ata::DEFAULT_DMA_MODES;
        self.smart_enabled = true;
        self.smart_autosave = true;
    }

    /// SRST: the reset, then the diagnostic result (a disk also interrupts,
    /// as QEMU's does).
    fn soft_reset(&mut self) {
        self.reset();
        self.diagnose();
        if self.kind != Some(DriveKind::Cdrom) {
            self.signals.irq = true;
        }
    }

    /// EXECUTE DEVICE DIAGNOSTIC's outcome: the signature, "passed" in the
    /// error register, and a status without DRDY for a packet device.
    fn diagnose(&mut self) {
        self.set_signature();
        self.status = if self.is_cdrom() { 0 } else { status::DRDY | status::DSC };
        self.error = 0x01;
    }

    /// The device signature in the task file: 0x00/0x00 for ATA, 0x14/0xeb
    /// for ATAPI, 0xff/0xff where there is no drive.
    fn set_signature(&mut self) {
        self.tf.device &= !0x0f;
        self.tf.count = 1;
        self.tf.lba_low = 1;
        (self.tf.lba_mid, self.tf.lba_high) = match self.kind {
            Some(DriveKind::Cdrom) => (0x14, 0xeb),
            Some(DriveKind::Disk) => (0, 0),
            None => (0xff, 0xff),
        };
    }

    /// Ends the command with ABRT.
    fn abort(&mut self) {
        self.stop_transfer();
        self.status = status::DRDY | status::ERR;
        self.error = error::ABRT;
    }

    /// Offers `len` bytes of `buf` from `start` to the host (or asks for
    /// them), with DRQ unless the command failed.
    fn start_transfer(&mut self, start: usize, len: usize, next: Next) {
        let end = start.saturating_add(len);
        if self.pio.buf.len() < end {
            self.pio.buf.resize(end, 0);
        }
        self.pio.pos = start;
        self.pio.end = end;
        self.pio.next = next;
        if self.status & status::ERR == 0 {
            self.status |= status::DRQ;
        }
    }

    fn stop_transfer(&mut self) {
        self.pio.pos = 0;
        self.pio.end = 0;
        self.pio.next = Next::Idle;
        self.status &= !status::DRQ;
    }

    fn read_data(&mut self, medium: &mut Option<Box<dyn BlockBackend>>, size: u8) -> u32 {
        if self.status & status::DRQ == 0 || !self.pio.next.to_host() {
            return 0;
        }
        let n = (size as usize).min(self.pio.end.saturating_sub(self.pio.pos));
        if n == 0 {
            return 0;
        }
        let value = (0..n).fold(0u32, |v, i| {
            v | (self.pio.buf.get(self.pio.pos + i).copied().unwrap_or(0) as u32) << (8 * i)
        });
        self.pio.pos += n;
        if self.pio.pos >= self.pio.end {
            self.status &= !status::DRQ;
            self.block_done(medium);
        }
        value
    }

    fn write_data(&mut self, medium: &mut Option<Box<dyn BlockBackend>>, size: u8, value: u32) {
        if self.status & status::DRQ == 0 || self.pio.next.to_host() {
            return;
        }
        let n = (size as usize).min(self.pio.end.saturating_sub(self.pio.pos));
        if n == 0 {
            return;
        }
        for i in 0..n {
            if let Some(b) = self.pio.buf.get_mut(self.pio.pos + i) {
                *b = (value >> (8 * i)) as u8;
            }
        }
        self.pio.pos += n;
        if self.pio.pos >= self.pio.end {
            self.status &= !status::DRQ;
            self.block_done(medium);
        }
    }

    /// The host has moved the whole PIO block.
    fn block_done(&mut self, medium: &mut Option<Box<dyn BlockBackend>>) {
        match self.pio.next {
            Next::Idle | Next::Stop => self.stop_transfer(),
            Next::ReadSectors => self.read_sectors_block(medium),
            Next::WriteSectors => self.write_sectors_block(medium),
            Next::Packet => self.atapi_packet(medium),
            Next::AtapiReply => self.atapi_reply_next(medium),
            Next::AtapiDataOut => self.atapi_data_out_next(),
        }
    }
}

#[cfg(test)]
mod tests;
