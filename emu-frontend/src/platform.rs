//! The PC around the CPU: the devices on the port bus, wired to the CPU through
//! the translator's [`Bus`] trait, and to each other (timer and clock to the
//! interrupt controller).
//!
//! Ports, as on QEMU's `pc` machine: 0x20-0x21 and 0xa0-0xa1 the 8259 pair,
//! 0x40-0x43 the 8254 timer, 0x61 system control port B, 0x70-0x71 RTC/CMOS,
//! 0x80 POST codes, 0x81-0x8f DMA page registers, 0x92 system control port A
//! (fast A20, reset), 0xe9 debug console, 0xf4 isa-debug-exit, 0x3f8-0x3ff
//! COM1 (16550A), 0x4d0-0x4d1 the interrupt edge/level registers, 0x510-0x511
//! fw_cfg, 0xcf8-0xcff PCI configuration (i440FX and PIIX3) with the reset
//! control register at 0xcf9. Everything else floats high.

use std::any::Any;
use std::collections::VecDeque;
use std::io::Write;

use vemu_devices::{
    pam_segments, DebugCon, DmaPageRegisters, DualPic, FwCfg, IsaDebugExit, PciHost, Pit, PortBus, PostCodes,
    Request, Rtc, SystemControlA, Uart16550,
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

/// Interrupt lines of the devices wired here.
const IRQ_TIMER: u8 = 0;
const IRQ_COM1: u8 = 4;
const IRQ_RTC: u8 = 8;

/// The devices of vemu's PC.
pub struct PcBus {
    pub ports: PortBus,
    uart: usize,
    pic: usize,
    pit: usize,
    rtc: usize,
    fw_cfg: usize,
    /// Requests waiting for the CPU (one device write may make several).
    requests: VecDeque<BusRequest>,
}

impl PcBus {
    /// The devices at power-on, with the RTC reading `wall_secs` (seconds since
    /// 1970, UTC) at virtual time 0.
    pub fn new(out: Outputs, wall_secs: i64) -> PcBus {
        let mut ports = PortBus::new();
        let pic = ports.add(0x20, 0x21, Box::new(DualPic::new()));
        ports.map(0xa0, 0xa1, pic);
        ports.map(0x4d0, 0x4d1, pic);
        let pit = ports.add(0x40, 0x43, Box::new(Pit::new(0)));
        ports.map(0x61, 0x61, pit);
        let rtc = ports.add(0x70, 0x71, Box::new(Rtc::new(wall_secs, 0)));
        ports.add(0x80, 0x80, Box::new(PostCodes::new(out.post)));
        let pages = ports.add(0x81, 0x81, Box::new(DmaPageRegisters::new()));
        for port in DmaPageRegisters::ports().skip(1) {
            ports.map(port, port, pages);
        }
        ports.add(0x92, 0x92, Box::new(SystemControlA::new()));
        ports.add(0xe9, 0xe9, Box::new(DebugCon::new(out.debugcon)));
        ports.add(0xf4, 0xf4, Box::new(IsaDebugExit::new()));
        let uart = ports.add(0x3f8, 0x3ff, Box::new(Uart16550::new(out.serial)));
        let fw_cfg = ports.add(0x510, 0x511, Box::new(FwCfg::new()));
        ports.add(0xcf8, 0xcff, Box::new(PciHost::new()));
        PcBus { ports, uart, pic, pit, rtc, fw_cfg, requests: VecDeque::new() }
    }

    /// COM1.
    pub fn uart(&mut self) -> &mut Uart16550 {
        self.ports.device_mut::<Uart16550>(self.uart).expect("COM1 is a 16550")
    }

    fn pic(&mut self) -> &mut DualPic {
        self.ports.device_mut::<DualPic>(self.pic).expect("the PIC pair")
    }

    fn pit(&mut self) -> &mut Pit {
        self.ports.device_mut::<Pit>(self.pit).expect("the 8254")
    }

    /// The RTC and its CMOS RAM.
    pub fn rtc(&mut self) -> &mut Rtc {
        self.ports.device_mut::<Rtc>(self.rtc).expect("the RTC")
    }

    /// The firmware configuration device.
    pub fn fw_cfg(&mut self) -> &mut FwCfg {
        self.ports.device_mut::<FwCfg>(self.fw_cfg).expect("fw_cfg")
    }

    /// Brings the timer and the clock up to `now`: their interrupt requests
    /// reach the PIC.
    pub fn advance(&mut self, now: u64) {
        if self.pit().irq0_rose(now) {
            self.pic().pulse(IRQ_TIMER);
        }
        if self.rtc().irq8_rose(now) {
            self.pic().pulse(IRQ_RTC);
        }
        let com1 = self.uart().irq_level();
        self.pic().set_irq(IRQ_COM1, com1);
    }

    /// The next virtual time at which a device will request an interrupt.
    pub fn next_event(&mut self, now: u64) -> Option<u64> {
        let timer = self.pit().next_irq0(now);
        let clock = self.rtc().next_event(now);
        match (timer, clock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next virtual time at which a device event will bring an interrupt
    /// to the CPU (its line unmasked, not held off by a level in service, and
    /// for the clock, its flag down so that it can rise), if any: a halted
    /// CPU with interrupts enabled sleeps until then, or for ever.
    pub fn next_wakeup(&mut self, now: u64) -> Option<u64> {
        let timer = if self.pic().deliverable(IRQ_TIMER) { self.pit().next_irq0(now) } else { None };
        let rtc_can = self.rtc().can_interrupt();
        let clock =
            if self.pic().deliverable(IRQ_RTC) && rtc_can { self.rtc().next_event(now) } else { None };
        match (timer, clock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Bus for PcBus {
    // Every access first brings the timer and clock up to the end of the
    // previous instruction (`now` counts the one doing the access), so that
    // the interrupt controller shows their requests even to a guest that
    // polls, exactly when QEMU's -icount does.
    fn port_in(&mut self, now: u64, port: u16, size: u8) -> u32 {
        self.advance(now.saturating_sub(1));
        self.ports.set_time(now);
        self.ports.read(port, size)
    }
    fn port_out(&mut self, now: u64, port: u16, size: u8, value: u32) {
        self.advance(now.saturating_sub(1));
        self.ports.set_time(now);
        self.ports.write(port, size, value);
        if let Some(r) = self.ports.take_request() {
            match r {
                Request::SetA20(on) => self.requests.push_back(BusRequest::SetA20(on)),
                Request::Reset => self.requests.push_back(BusRequest::Reset),
                Request::Exit(code) => self.requests.push_back(BusRequest::Exit(code)),
                Request::Pam(pam) => {
                    for (base, len, read_ram, write_ram) in pam_segments(pam) {
                        self.requests.push_back(BusRequest::Shadow { base, len, read_ram, write_ram });
                    }
                }
            }
        }
        // A write to COM1 may change its interrupt line; the PIC's own
        // registers may unmask or acknowledge.
        if (0x3f8..=0x3ff).contains(&port) {
            let com1 = self.uart().irq_level();
            self.pic().set_irq(IRQ_COM1, com1);
        }
    }
    fn mmio_read(&mut self, _now: u64, _id: MmioId, _offset: u32, size: u8) -> u32 {
        vemu_devices::ones(size)
    }
    fn mmio_write(&mut self, _now: u64, _id: MmioId, _offset: u32, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self, now: u64) -> bool {
        self.advance(now);
        self.pic().interrupt_pending()
    }
    fn next_event(&mut self, now: u64) -> Option<u64> {
        PcBus::next_event(self, now)
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        self.pic().acknowledge()
    }
    fn take_request(&mut self) -> Option<BusRequest> {
        self.requests.pop_front()
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
