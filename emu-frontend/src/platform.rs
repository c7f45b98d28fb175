//! The PC around the CPU: the devices on the port bus, wired to the CPU through
//! the translator's [`Bus`] trait.
//!
//! Ports: 0x80 POST codes, 0x81-0x8f DMA page registers, 0x92 system control
//! port A (fast A20, reset), 0xe9 debug console, 0xf4 isa-debug-exit,
//! 0x3f8-0x3ff COM1 (16550A). Everything else floats high.

use std::any::Any;
use std::io::Write;

use vemu_devices::{
    DebugCon, DmaPageRegisters, IsaDebugExit, PortBus, PostCodes, Request, SystemControlA, Uart16550,
};
use vemu_softmmu::MmioId;
use vemu_translator::{Bus, BusRequest};

/// Where the machine's output goes.
pub struct Outputs {
    /// The debug console (port 0xe9).
    pub debugcon: Box<dyn Write>,
    /// COM1's transmitter.
    pub serial: Box<dyn Write>,
    /// POST codes, when tracing.
    pub post: Option<Box<dyn Write>>,
}

/// The devices of vemu's PC.
pub struct PcBus {
    pub ports: PortBus,
    uart: usize,
}

impl PcBus {
    pub fn new(out: Outputs) -> PcBus {
        let mut ports = PortBus::new();
        ports.add(0x80, 0x80, Box::new(PostCodes::new(out.post)));
        let pages = ports.add(0x81, 0x81, Box::new(DmaPageRegisters::new()));
        for port in DmaPageRegisters::ports().skip(1) {
            ports.map(port, port, pages);
        }
        ports.add(0x92, 0x92, Box::new(SystemControlA::new()));
        ports.add(0xe9, 0xe9, Box::new(DebugCon::new(out.debugcon)));
        ports.add(0xf4, 0xf4, Box::new(IsaDebugExit::new()));
        let uart = ports.add(0x3f8, 0x3ff, Box::new(Uart16550::new(out.serial)));
        PcBus { ports, uart }
    }

    /// COM1.
    pub fn uart(&mut self) -> &mut Uart16550 {
        self.ports.device_mut::<Uart16550>(self.uart).expect("COM1 is a 16550")
    }
}

impl Bus for PcBus {
    fn port_in(&mut self, port: u16, size: u8) -> u32 {
        self.ports.read(port, size)
    }
    fn port_out(&mut self, port: u16, size: u8, value: u32) {
        self.ports.write(port, size, value)
    }
    fn mmio_read(&mut self, _id: MmioId, _offset: u32, size: u8) -> u32 {
        vemu_devices::ones(size)
    }
    fn mmio_write(&mut self, _id: MmioId, _offset: u32, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        0
    }
    fn take_request(&mut self) -> Option<BusRequest> {
        self.ports.take_request().map(|r| match r {
            Request::SetA20(on) => BusRequest::SetA20(on),
            Request::Reset => BusRequest::Reset,
            Request::Exit(code) => BusRequest::Exit(code),
        })
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
