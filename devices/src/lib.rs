//! PC devices behind small traits, with no knowledge of the CPU.
//!
//! A device answers port reads and writes ([`PortDevice`]) and may ask the
//! machine for something ([`Request`]: open the A20 gate, reset, exit). The
//! [`PortBus`] routes port numbers to devices; the frontend turns it into the
//! CPU's bus. Devices see time only through the machine's virtual clock, in
//! nanoseconds, which the bus hands them before each access
//! ([`PortDevice::sync`]) and the machine when it asks for interrupts.
//!
//! The map (DESIGN.md, "The PC around the CPU"): `chipset/` the i440FX/PIIX3
//! parts, `apic/` the local and I/O APICs, `acpi/` the PIIX4 power management
//! function and the ACPI tables, `storage/` disks and their controllers,
//! `input/` the keyboard controller and PS/2 devices, `serial/` the UARTs,
//! `debug/` QEMU's debugging ports; [`bus`] routes ports, [`irq`] names the
//! interrupt lines, [`dma`] is how devices reach guest RAM. No device holds a
//! reference to another: the machine wires them, reading each device's
//! interrupt line after an access and moving DMA data between a controller
//! and guest memory.

#![forbid(unsafe_code)]

pub mod acpi;
pub mod apic;
pub mod bus;
mod capture;
pub mod chipset;
pub mod debug;
pub mod display;
pub mod dma;
pub mod input;
pub mod irq;
pub mod serial;
pub mod state;
pub mod storage;

pub use acpi::pm::Piix4Pm;
pub use acpi::tables::{AcpiConfig, AcpiTables};
pub use apic::ioapic::IoApic;
pub use apic::lapic::LocalApic;
pub use bus::PortBus;
pub use capture::Captured;
pub use chipset::ferr::FpuErrorLatch;
pub use chipset::fw_cfg::{key as fw_cfg_key, FwCfg};
pub use chipset::pci::{pam_segments, PciHost};
pub use chipset::pic::DualPic;
pub use chipset::pit::{Pit, PIT_HZ};
pub use chipset::port92::SystemControlA;
pub use chipset::rtc::Rtc;
pub use debug::debug_exit::IsaDebugExit;
pub use debug::debugcon::DebugCon;
pub use debug::post::PostCodes;
pub use display::{Frame, ModeInfo, Vga};
pub use dma::GuestMemory;
pub use input::i8042::I8042;
pub use input::keycode::KeyCode;
pub use input::ps2kbd::{Leds, Ps2Keyboard, ScancodeSet};
pub use input::ps2mouse::{button as mouse_button, Ps2Mouse};
pub use serial::uart::Uart16550;
pub use storage::dma8237::{Dma8237, DmaClient, DmaTransfer};
pub use storage::fdc::{DataRate, DriveType, Fdc, FloppyError, FloppyFormat, FLOPPY_DMA_CHANNEL};
pub use storage::ide::Ide;
pub use storage::image::{open_image, BlockBackend, ImageError, ImageOptions};

use std::any::Any;

/// Something a device asks of the machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Open (true) or close the A20 gate.
    SetA20(bool),
    /// Reset the whole machine.
    Reset,
    /// End the run with this process exit status.
    Exit(i32),
    /// The chipset's PAM registers changed (see [`pam_segments`]).
    Pam([u8; 7]),
}

/// A device on the I/O port bus.
pub trait PortDevice: Any {
    /// The machine's virtual time (nanoseconds) of the access about to be
    /// made; devices that keep time take it from here, the others ignore it.
    fn sync(&mut self, _now: u64) {}
    /// Reads `size` (1, 2 or 4) bytes at `port`.
    fn read(&mut self, port: u16, size: u8) -> u32;
    /// Writes `size` bytes at `port`.
    fn write(&mut self, port: u16, size: u8, value: u32);
    /// A request raised by the last access, if any.
    fn take_request(&mut self) -> Option<Request> {
        None
    }
    /// Back to the machine's own state after a reset.
    fn reset(&mut self) {}
    /// The widest access (in bytes) the device takes at once; the bus splits
    /// wider accesses into several at consecutive ports, as the ISA bus does.
    fn access_size(&self) -> u8 {
        1
    }
}

/// All ones in `size` bytes: what an unclaimed port reads.
pub fn ones(size: u8) -> u32 {
    if size >= 4 {
        u32::MAX
    } else {
        (1u32 << (size * 8)) - 1
    }
}
