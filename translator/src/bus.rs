//! What the CPU needs from the rest of the machine: port I/O, MMIO windows,
//! the interrupt controller, and a way for devices to ask the machine for
//! something (open the A20 gate, reset, power off). The frontend implements
//! [`Bus`] over its devices; the translator never sees a device type.

use std::any::Any;

use vemu_softmmu::{Memory, MmioId};

/// A request from a device to the machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BusRequest {
    /// Open (true) or close the A20 gate.
    SetA20(bool),
    /// Reset the machine (as a triple fault or the keyboard controller's reset line do).
    Reset,
    /// Stop the machine with this process exit status (isa-debug-exit, power off).
    Exit(i32),
    /// Reads (`read_ram`) and writes (`write_ram`) of the `len` bytes at `base`
    /// (below 1 MiB) go to RAM, or else to the ROM or nothing over it (the
    /// chipset's shadow RAM control).
    Shadow { base: u32, len: u32, read_ram: bool, write_ram: bool },
    /// Device window `id` moves to `len` bytes at `base`, or leaves the
    /// memory map (`len` 0): a PCI BAR placed, moved or disabled.
    MapMmio { id: MmioId, base: u32, len: u32 },
}

/// The machine around the CPU. `now` is the machine's virtual time in
/// nanoseconds (see [`crate::Cpu::now`]) at the access. Port accesses lend
/// the devices guest memory (`mem`), through which a controller the access
/// starts moves data (DMA): it is the soft MMU's one write path, so DMA onto
/// translated code invalidates it like a CPU write.
pub trait Bus {
    /// Reads `size` (1, 2 or 4) bytes from an I/O port.
    fn port_in(&mut self, now: u64, port: u16, size: u8, mem: &mut Memory) -> u32;
    /// Writes `size` (1, 2 or 4) bytes to an I/O port.
    fn port_out(&mut self, now: u64, port: u16, size: u8, value: u32, mem: &mut Memory);
    /// Whether an access to the `size` ports from `port` (a write if
    /// `write`) is one the machine does not react to: it raises or clears
    /// no interrupt, moves no device's next event and changes no mapping (a
    /// POST code, a read of a free-running timer, ports nothing answers).
    /// After any other port access the CPU looks at interrupts before the
    /// next instruction (compiled code leaves for the run loop); after
    /// these it goes on, as the hardware would notice no difference.
    fn port_is_quiet(&self, _port: u16, _size: u8, _write: bool) -> bool {
        false
    }
    /// Reads from an MMIO window registered with the memory map.
    fn mmio_read(&mut self, now: u64, id: MmioId, offset: u32, size: u8) -> u32;
    /// Writes to an MMIO window.
    fn mmio_write(&mut self, now: u64, id: MmioId, offset: u32, size: u8, value: u32);
    /// Whether a maskable interrupt is waiting (devices bring themselves up to
    /// `now` first).
    fn interrupt_pending(&mut self, now: u64) -> bool;
    /// The virtual time after `now` at which a device will next request an
    /// interrupt, if any: the CPU pauses there so that it is taken on time.
    fn next_event(&mut self, _now: u64) -> Option<u64> {
        None
    }
    /// Acknowledges the pending interrupt and returns its vector.
    fn acknowledge_interrupt(&mut self) -> u8;
    /// Whether a non-maskable interrupt arrived since the last call (NMIs
    /// are edges: each is taken once).
    fn take_nmi(&mut self) -> bool {
        false
    }
    /// Reads a model-specific register that belongs to a device rather than
    /// to the core (the local APIC's IA32_APIC_BASE and IA32_TSC_DEADLINE),
    /// or `None` if none has it (the CPU raises #GP).
    fn read_msr(&mut self, _now: u64, _index: u32) -> Option<u64> {
        None
    }
    /// Writes such a register; `tsc` is the time-stamp counter at `now`.
    /// False if no device has it or it refuses the value (#GP).
    fn write_msr(&mut self, _now: u64, _tsc: u64, _index: u32, _value: u64) -> bool {
        false
    }
    /// The FPU's error output FERR#: asserted when a waiting x87 instruction
    /// finds an unmasked exception pending while CR0.NE is clear, released
    /// when the exception flags are cleared. The PC routes it to IRQ 13
    /// (unless IGNNE#, set by a write to port 0xF0, holds it off).
    fn set_ferr(&mut self, _asserted: bool) {}
    /// A device's request to the machine, if any (asked after every port write).
    fn take_request(&mut self) -> Option<BusRequest>;
    /// Lets the owner reach its concrete devices.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A bus with nothing on it: ports read all ones, no interrupts. For tests.
#[derive(Default)]
pub struct NullBus {
    /// Every port write, in order: (port, size, value).
    pub writes: Vec<(u16, u8, u32)>,
}

impl Bus for NullBus {
    fn port_in(&mut self, _now: u64, _port: u16, size: u8, _mem: &mut Memory) -> u32 {
        if size == 4 {
            u32::MAX
        } else {
            (1u32 << (size * 8)) - 1
        }
    }
    fn port_out(&mut self, _now: u64, port: u16, size: u8, value: u32, _mem: &mut Memory) {
        self.writes.push((port, size, value));
    }
    fn mmio_read(&mut self, _now: u64, _id: MmioId, _offset: u32, size: u8) -> u32 {
        crate::interp::mask(size as u32)
    }
    fn mmio_write(&mut self, _now: u64, _id: MmioId, _offset: u32, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self, _now: u64) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        0
    }
    fn take_request(&mut self) -> Option<BusRequest> {
        None
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
