//! The PC around the CPU: the devices of QEMU's `pc` machine, wired to the
//! CPU through the translator's [`Bus`] trait and to each other (interrupt
//! lines to the 8259s, the floppy controller to its DMA channel, the IDE
//! controller's bus master to guest memory).
//!
//! Ports, as on QEMU's `pc` machine: 0x00-0x0f, 0x81-0x8f and 0xc0-0xdf the
//! 8237 pair and its page registers, 0x20-0x21 and 0xa0-0xa1 the 8259 pair,
//! 0x4d0-0x4d1 their edge/level registers, 0x40-0x43 the 8254 timer, 0x61
//! system control port B, 0x60/0x64 the 8042 keyboard controller, 0x70-0x71
//! RTC/CMOS, 0x80 POST codes, 0x92 system control port A (fast A20, reset),
//! 0xf0 the FPU error logic (IGNNE#),
//! 0xe9 debug console, 0xf4 isa-debug-exit, 0x1f0-0x1f7/0x3f6 and
//! 0x170-0x177/0x376 the two IDE channels, 0x3f0-0x3f5/0x3f7 the floppy
//! controller, 0x3f8-0x3ff COM1, 0x510-0x511 fw_cfg, 0xcf8-0xcff PCI
//! configuration (the i440FX, the PIIX3, its IDE and power management
//! functions and the VGA) with the reset control register at 0xcf9, the
//! VGA's registers (0x3b4-0x3b5, 0x3ba, 0x3c0-0x3cf, 0x3d4-0x3d5, 0x3da;
//! VBE at 0x1ce-0x1d0), the APM ports 0xb2-0xb3 and the ACPI GPE block at
//! 0xafe0-0xafe3, and wherever the firmware puts them, the IDE bus
//! master's registers (BAR 4 of 00:01.1) and the PM and SMBus blocks of
//! 00:01.3 (its PMBASE and SMBus base registers). Everything else floats
//! high.
//!
//! Memory windows ([`window`]): the VGA's legacy window at 0xa0000-0xbffff,
//! and its framebuffer, registers and ROM wherever the firmware puts its
//! BARs (moved when it writes them); the I/O APIC at 0xfec00000; the local
//! APIC, when the CPU has one, where IA32_APIC_BASE puts it (0xfee00000;
//! out of the map while the MSR disables it).
//!
//! Interrupt lines: 0 the timer (edges), 1 the keyboard, 4 COM1, 6 the
//! floppy controller, 8 the RTC (edges), 9 the ACPI SCI, 12 the mouse, 13
//! the FPU's FERR#, 14 and 15 the IDE channels. After every access the
//! lines of level-triggered sources are read again; the timer, the RTC, the
//! UART, the keyboard and the PM timer also move with the clock (`advance`).
//! Every line drives both the 8259 pair and the I/O APIC (ISA IRQ n on pin
//! n, IRQ 0 on pin 2, as on QEMU's `pc`). The CPU's interrupts come through
//! its local APIC: the I/O APIC's messages, the APIC timer, and the 8259's
//! INTR on LINT0 (virtual wire); with no local APIC, or one disabled in its
//! MSR, the 8259 drives the CPU directly.

use std::any::Any;
use std::collections::VecDeque;
use std::io::Write;

use vemu_devices::acpi::pm::{self, Piix4Pm};
use vemu_devices::acpi::smbus::SMBUS_BYTES;
use vemu_devices::apic::ioapic::isa_pin;
use vemu_devices::apic::lapic::Ack;
use vemu_devices::chipset::pci::Slot;
use vemu_devices::irq::line;
use vemu_devices::storage::ide::{IdeChannel, IdeUnit};
use vemu_devices::{
    pam_segments, DebugCon, Dma8237, DualPic, Fdc, FpuErrorLatch, FwCfg, GuestMemory, Ide, IoApic,
    IsaDebugExit, LocalApic, PciHost, Pit, PortDevice, PostCodes, Request, Rtc, SystemControlA, Uart16550,
    Vga, FLOPPY_DMA_CHANNEL, I8042,
};
use vemu_softmmu::{Memory, MmioId, PhysAddr};
use vemu_translator::{msr, Bus, BusRequest};

/// Where the machine's output goes.
pub struct Outputs {
    /// The debug console (port 0xe9).
    pub debugcon: Box<dyn Write>,
    /// COM1's transmitter.
    pub serial: Box<dyn Write>,
    /// POST codes, when tracing.
    pub post: Option<Box<dyn Write>>,
}

/// The PIIX3's IDE function.
pub const IDE_SLOT: Slot = Slot { device: 1, function: 1 };
/// The PIIX4-style power management function (ACPI), as on QEMU's `pc`.
pub const PM_SLOT: Slot = Slot { device: 1, function: 3 };
/// The VGA adapter, where QEMU's `pc` machine puts it.
pub const VGA_SLOT: Slot = Slot { device: 2, function: 0 };

/// The device windows of the memory map.
pub mod window {
    use vemu_softmmu::MmioId;
    /// The VGA's legacy window at 0xa0000-0xbffff.
    pub const VGA_LEGACY: MmioId = MmioId(1);
    /// The VGA's framebuffer (BAR 0).
    pub const VGA_LFB: MmioId = MmioId(2);
    /// The VGA's MMIO registers (BAR 2).
    pub const VGA_MMIO: MmioId = MmioId(3);
    /// The VGA BIOS (expansion ROM).
    pub const VGA_ROM: MmioId = MmioId(4);
    /// The local APIC's registers.
    pub const LAPIC: MmioId = MmioId(5);
    /// The I/O APIC's registers.
    pub const IOAPIC: MmioId = MmioId(6);
}

/// Which device answers a port.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Dev {
    Dma,
    Pic,
    Pit,
    Kbc,
    Rtc,
    Post,
    Port92,
    Ferr,
    DebugCon,
    DebugExit,
    Ide,
    /// The bus master's registers; the BAR's base.
    IdeBusMaster(u16),
    Fdc,
    Uart,
    FwCfg,
    Pci,
    Vga,
    /// The power management function's fixed ports (APM, GPE0).
    Acpi,
    /// Its PM block; the block's base.
    PmBlock(u16),
    /// Its SMBus block; the block's base.
    Smbus(u16),
}

/// Guest memory lent to a device for DMA: the soft MMU's own write path.
struct GuestRam<'a>(&'a mut Memory);

impl GuestMemory for GuestRam<'_> {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        self.0.read_phys(PhysAddr(addr), buf);
    }
    fn write(&mut self, addr: u32, data: &[u8]) {
        self.0.write_phys(PhysAddr(addr), data);
    }
}

/// The devices of vemu's PC.
pub struct PcBus {
    pic: DualPic,
    pit: Pit,
    rtc: Rtc,
    uart: Uart16550,
    kbc: I8042,
    dma: Dma8237,
    fdc: Fdc,
    ide: Ide,
    pci: PciHost,
    fw_cfg: FwCfg,
    port92: SystemControlA,
    ferr: FpuErrorLatch,
    post: PostCodes,
    debugcon: DebugCon,
    debug_exit: IsaDebugExit,
    pm: Piix4Pm,
    /// The display adapter, if the machine has one.
    vga: Option<Box<Vga>>,
    /// The CPU's local APIC, if it has one.
    lapic: Option<LocalApic>,
    ioapic: IoApic,
    /// The level each ISA line was last driven to (bit per line), for the
    /// lines in `lines_known`: `update_lines` runs after every port access,
    /// and drives only the lines whose level changed.
    line_levels: u16,
    lines_known: u16,
    /// Where the movable windows (the VGA's PCI windows, the local APIC's)
    /// are mapped now: (id, base, length).
    windows: Vec<(MmioId, u32, u32)>,
    /// Virtual time of the accesses being made.
    now: u64,
    /// Requests waiting for the CPU (one device write may make several).
    requests: VecDeque<BusRequest>,
}

impl PcBus {
    /// The devices at power-on, with the RTC reading `wall_secs` (seconds since
    /// 1970, UTC) at virtual time 0, and a local APIC if the CPU has one.
    pub fn new(out: Outputs, wall_secs: i64, vga: Option<Vga>, local_apic: bool) -> PcBus {
        let mut pci = PciHost::new();
        pci.add_function(IDE_SLOT, Ide::pci_function());
        pci.add_function(PM_SLOT, Piix4Pm::pci_function());
        if let Some(v) = &vga {
            pci.add_function(VGA_SLOT, v.pci_function());
        }
        PcBus {
            pic: DualPic::new(),
            pit: Pit::new(0),
            rtc: Rtc::new(wall_secs, 0),
            uart: Uart16550::new(out.serial),
            kbc: I8042::new(),
            dma: Dma8237::new(),
            fdc: Fdc::new(),
            ide: Ide::new(),
            pci,
            fw_cfg: FwCfg::new(),
            port92: SystemControlA::new(),
            ferr: FpuErrorLatch::new(),
            post: PostCodes::new(out.post),
            debugcon: DebugCon::new(out.debugcon),
            debug_exit: IsaDebugExit::new(),
            pm: Piix4Pm::new(),
            vga: vga.map(Box::new),
            lapic: local_apic.then(LocalApic::new),
            ioapic: IoApic::new(),
            line_levels: 0,
            lines_known: 0,
            windows: Vec::new(),
            now: 0,
            requests: VecDeque::new(),
        }
    }

    /// COM1.
    pub fn uart(&mut self) -> &mut Uart16550 {
        &mut self.uart
    }

    /// The RTC and its CMOS RAM.
    pub fn rtc(&mut self) -> &mut Rtc {
        &mut self.rtc
    }

    /// The firmware configuration device.
    pub fn fw_cfg(&mut self) -> &mut FwCfg {
        &mut self.fw_cfg
    }

    /// The IDE controller (drives are attached before power-on).
    pub fn ide(&mut self) -> &mut Ide {
        &mut self.ide
    }

    /// The floppy controller.
    pub fn fdc(&mut self) -> &mut Fdc {
        &mut self.fdc
    }

    /// The keyboard controller, with the keyboard and mouse.
    pub fn kbc(&mut self) -> &mut I8042 {
        &mut self.kbc
    }

    /// The display adapter, if there is one.
    pub fn vga(&mut self) -> Option<&mut Vga> {
        self.vga.as_deref_mut()
    }

    /// Where the movable windows belong now (the VGA's framebuffer,
    /// registers and ROM by its BARs, the local APIC's by its MSR), against
    /// where they are mapped: the changes, as (window, base, length; length
    /// 0 takes it out of the map).
    pub fn take_window_changes(&mut self) -> Vec<(MmioId, u32, u32)> {
        let mut wanted: Vec<(MmioId, Option<u32>, u32)> = Vec::new();
        if let Some(f) = self.pci.function(VGA_SLOT) {
            wanted.extend([
                (window::VGA_LFB, f.bar_address(0), vemu_devices::display::vga::VRAM_BYTES as u32),
                (window::VGA_MMIO, f.bar_address(2), vemu_devices::display::vga::MMIO_BYTES),
                (window::VGA_ROM, f.rom_address(), f.rom_size()),
            ]);
        }
        if let Some(l) = &self.lapic {
            wanted.push((window::LAPIC, l.window(), vemu_devices::apic::lapic::WINDOW_BYTES));
        }
        let wanted: Vec<(MmioId, u32, u32)> = wanted
            .into_iter()
            .map(|(id, base, len)| match base {
                Some(b) => (id, b, len),
                None => (id, 0, 0),
            })
            .collect();
        let changes: Vec<_> = wanted
            .iter()
            .filter(|w| {
                let now = self.windows.iter().find(|m| m.0 == w.0).copied().unwrap_or((w.0, 0, 0));
                now != **w
            })
            .copied()
            .collect();
        self.windows = wanted;
        changes
    }

    /// Which device answers `port`.
    fn route(&self, port: u16) -> Option<Dev> {
        Some(match port {
            0x00..=0x0f | 0xc0..=0xdf => Dev::Dma,
            p if Dma8237::is_page_port(p) => Dev::Dma,
            0x20 | 0x21 | 0xa0 | 0xa1 | 0x4d0 | 0x4d1 => Dev::Pic,
            0x40..=0x43 | 0x61 => Dev::Pit,
            0x60 | 0x64 => Dev::Kbc,
            0x70 | 0x71 => Dev::Rtc,
            0x80 => Dev::Post,
            0x92 => Dev::Port92,
            vemu_devices::chipset::ferr::PORT => Dev::Ferr,
            0xe9 => Dev::DebugCon,
            0xf4 => Dev::DebugExit,
            0x170..=0x177 | 0x1f0..=0x1f7 | 0x376 | 0x3f6 => Dev::Ide,
            0x3f0..=0x3f5 | 0x3f7 => Dev::Fdc,
            0x3f8..=0x3ff => Dev::Uart,
            0x510 | 0x511 | 0x514..=0x51b => Dev::FwCfg,
            0xcf8..=0xcff => Dev::Pci,
            pm::SMI_CMD_PORT | pm::APM_STATUS_PORT => Dev::Acpi,
            p if p.wrapping_sub(pm::GPE0_BASE) < pm::GPE0_LEN => Dev::Acpi,
            p if self.vga.is_some() && Vga::claims(p) => Dev::Vga,
            _ => return self.route_relocatable(port),
        })
    }

    /// Which of the blocks the firmware places (through PCI configuration)
    /// answers `port`, if any.
    fn route_relocatable(&self, port: u16) -> Option<Dev> {
        let ide = self.pci.function(IDE_SLOT).and_then(|f| f.bar_address(4));
        if let Some(base) = ide.and_then(|b| u16::try_from(b).ok()) {
            if port.wrapping_sub(base) < 16 {
                return Some(Dev::IdeBusMaster(base));
            }
        }
        let f = self.pci.function(PM_SLOT)?;
        if let Some(base) = Piix4Pm::pm_base(f) {
            if port.wrapping_sub(base) < pm::PM_BLOCK_BYTES {
                return Some(Dev::PmBlock(base));
            }
        }
        let base = Piix4Pm::smbus_base(f)?;
        (port.wrapping_sub(base) < SMBUS_BYTES).then_some(Dev::Smbus(base))
    }

    /// The device behind `dev` as a port device (for the bus master and the
    /// PM function's blocks, the device that owns them).
    fn device(&mut self, dev: Dev) -> &mut dyn PortDevice {
        match dev {
            Dev::Dma => &mut self.dma,
            Dev::Pic => &mut self.pic,
            Dev::Pit => &mut self.pit,
            Dev::Kbc => &mut self.kbc,
            Dev::Rtc => &mut self.rtc,
            Dev::Post => &mut self.post,
            Dev::Port92 => &mut self.port92,
            Dev::Ferr => &mut self.ferr,
            Dev::DebugCon => &mut self.debugcon,
            Dev::DebugExit => &mut self.debug_exit,
            Dev::Ide | Dev::IdeBusMaster(_) => &mut self.ide,
            Dev::Fdc => &mut self.fdc,
            Dev::Uart => &mut self.uart,
            Dev::FwCfg => &mut self.fw_cfg,
            Dev::Pci => &mut self.pci,
            Dev::Vga => match self.vga.as_deref_mut() {
                Some(v) => v,
                None => unreachable!("ports route to the VGA only when there is one"),
            },
            Dev::Acpi | Dev::PmBlock(_) | Dev::Smbus(_) => &mut self.pm,
        }
    }

    /// The widest access `dev` takes at once (wider ones are split into
    /// accesses at consecutive ports, as the ISA bus splits them).
    fn width(&mut self, dev: Dev) -> u8 {
        match dev {
            Dev::IdeBusMaster(_) | Dev::PmBlock(_) | Dev::Smbus(_) => 4,
            d => self.device(d).access_size(),
        }
    }

    fn read(&mut self, port: u16, size: u8, mem: &mut Memory) -> u32 {
        let Some(dev) = self.route(port) else { return vemu_devices::ones(size) };
        let w = self.width(dev);
        if size > w {
            return (0..size / w).fold(0, |v, k| {
                v | self.read(port.wrapping_add((k * w) as u16), w, mem) << (8 * k * w) as u32
            });
        }
        let v = match dev {
            Dev::IdeBusMaster(base) => self.ide.bm_read((port - base) as u8, size),
            Dev::PmBlock(base) => {
                self.pm.sync(self.now);
                self.pm.pm_read(port - base, size)
            }
            Dev::Smbus(base) => self.pm.smbus_read(port - base, size),
            d => {
                let now = self.now;
                let device = self.device(d);
                device.sync(now);
                device.read(port, size)
            }
        };
        self.after_access(dev, mem);
        v
    }

    fn write(&mut self, port: u16, size: u8, value: u32, mem: &mut Memory) {
        let Some(dev) = self.route(port) else { return };
        let w = self.width(dev);
        if size > w {
            for k in 0..size / w {
                self.write(port.wrapping_add((k * w) as u16), w, value >> (8 * k * w) as u32, mem);
            }
            return;
        }
        match dev {
            Dev::IdeBusMaster(base) => {
                self.ide.bm_write((port - base) as u8, size, value, &mut GuestRam(mem))
            }
            Dev::PmBlock(base) => {
                self.pm.sync(self.now);
                self.pm.pm_write(port - base, size, value);
                if let Some(r) = self.pm.take_request() {
                    self.request(r);
                }
            }
            Dev::Smbus(base) => self.pm.smbus_write(port - base, size, value),
            d => {
                let now = self.now;
                let device = self.device(d);
                device.sync(now);
                device.write(port, size, value);
                if let Some(r) = device.take_request() {
                    self.request(r);
                }
            }
        }
        self.after_access(dev, mem);
    }

    /// What an access to `dev` may set going: a DMA transfer (the floppy
    /// controller through channel 2, the IDE controller's bus master), and
    /// new levels on the interrupt lines.
    fn after_access(&mut self, dev: Dev, mem: &mut Memory) {
        match dev {
            Dev::Fdc | Dev::Dma => {
                self.dma.service(FLOPPY_DMA_CHANNEL, &mut self.fdc, &mut GuestRam(mem));
            }
            Dev::Ide if self.ide.dma_pending() => self.ide.run_dma(&mut GuestRam(mem)),
            Dev::FwCfg if self.fw_cfg.dma_pending() => self.fw_cfg.run_dma(&mut GuestRam(mem)),
            Dev::Pci => {
                for (id, base, len) in self.take_window_changes() {
                    self.requests.push_back(BusRequest::MapMmio { id, base, len });
                }
            }
            // A line made level-triggered (ELCR) or an 8259 initialised
            // while a device holds it high must see the level again.
            Dev::Pic => self.lines_known = 0,
            _ => {}
        }
        self.update_lines();
    }

    /// Passes the levels of the level-triggered sources to the interrupt
    /// controllers.
    fn update_lines(&mut self) {
        self.set_line(line::KEYBOARD, self.kbc.keyboard_irq());
        self.set_line(line::MOUSE, self.kbc.mouse_irq());
        self.set_line(line::FPU, self.ferr.irq_level());
        self.set_line(line::COM1, self.uart.irq_level());
        self.set_line(line::FLOPPY, self.fdc.irq_level());
        self.set_line(line::IDE_PRIMARY, self.ide.irq_level(IdeChannel::Primary));
        self.set_line(line::IDE_SECONDARY, self.ide.irq_level(IdeChannel::Secondary));
        self.set_line(line::SCI, self.pm.sci_level());
    }

    /// Drives ISA interrupt line `irq` on the 8259s and the I/O APIC.
    fn set_line(&mut self, irq: u8, high: bool) {
        let bit = 1 << irq;
        if self.lines_known & bit != 0 && (self.line_levels & bit != 0) == high {
            // Driving a line to the level it has changes nothing in either
            // controller (a level-triggered request is sent again on EOI or
            // unmasking, not on a repeated level).
            return;
        }
        self.lines_known |= bit;
        self.line_levels = if high { self.line_levels | bit } else { self.line_levels & !bit };
        self.pic.set_irq(irq, high);
        self.ioapic.set_irq(isa_pin(irq), high);
        self.route_apic_messages();
    }

    /// An edge on ISA line `irq`.
    fn pulse_line(&mut self, irq: u8) {
        self.set_line(irq, true);
        self.set_line(irq, false);
    }

    /// Carries the I/O APIC's messages to the local APIC (nowhere without one).
    fn route_apic_messages(&mut self) {
        let messages = self.ioapic.take_messages();
        if let Some(l) = self.lapic.as_mut() {
            for m in &messages {
                l.deliver(m);
            }
        }
    }

    /// Carries the local APIC's EOIs for level-triggered vectors to the I/O
    /// APIC, and what it sends again.
    fn route_eois(&mut self) {
        let Some(l) = self.lapic.as_mut() else { return };
        for v in l.take_eois() {
            self.ioapic.eoi(v);
        }
        self.route_apic_messages();
    }

    /// The local APIC, if the CPU has one and it is enabled in its MSR.
    fn active_lapic(&mut self) -> Option<&mut LocalApic> {
        self.lapic.as_mut().filter(|l| l.hardware_enabled())
    }

    /// Whether the 8259's INTR reaches the CPU: straight, or through LINT0
    /// in ExtINT mode.
    fn pic_reaches_cpu(&self) -> bool {
        match &self.lapic {
            Some(l) if l.hardware_enabled() => l.accepts_pic(),
            _ => true,
        }
    }

    /// Whether a request on ISA line `irq` could reach the CPU now, through
    /// the 8259s or the I/O APIC.
    fn line_can_interrupt(&self, irq: u8) -> bool {
        let through_pic = self.pic_reaches_cpu() && self.pic.deliverable(irq);
        let through_apic = self.lapic.as_ref().is_some_and(|l| l.hardware_enabled())
            && self.ioapic.deliverable(isa_pin(irq));
        through_pic || through_apic
    }

    /// Puts the local APIC in virtual-wire mode, as the firmware leaves it
    /// (for a kernel started without firmware).
    pub fn set_virtual_wire(&mut self) {
        if let Some(l) = self.lapic.as_mut() {
            l.set_virtual_wire();
        }
    }

    fn request(&mut self, r: Request) {
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

    /// Brings the devices that keep time up to `now`: the timer's and the
    /// clock's interrupt edges, the UART's receiver, the keyboard's
    /// auto-repeat and the PM timer's status, and their lines.
    pub fn advance(&mut self, now: u64) {
        if self.pit.irq0_rose(now) {
            self.pulse_line(line::TIMER);
        }
        if self.rtc.irq8_rose(now) {
            self.pulse_line(line::RTC);
        }
        self.uart.advance(now);
        self.kbc.advance(now);
        if let Some(l) = self.lapic.as_mut() {
            l.advance(now);
        }
        self.pm.sync(now);
        self.update_lines();
    }

    /// The next virtual time at which a device has something to do.
    pub fn next_event(&mut self, now: u64) -> Option<u64> {
        let apic_timer = self.active_lapic().and_then(|l| l.next_event());
        [
            self.pit.next_irq0(now),
            self.rtc.next_event(now),
            self.uart.next_event(now),
            self.kbc.next_event(),
            apic_timer,
            self.pm.next_event(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next virtual time at which a device event can bring an interrupt
    /// to the CPU (its line unmasked, not held off by a level in service, and
    /// for the clock, its flag down so that it can rise), if any: a halted
    /// CPU with interrupts enabled sleeps until then, or for ever.
    pub fn next_wakeup(&mut self, now: u64) -> Option<u64> {
        let timer = if self.line_can_interrupt(line::TIMER) { self.pit.next_irq0(now) } else { None };
        let clock = if self.line_can_interrupt(line::RTC) && self.rtc.can_interrupt() {
            self.rtc.next_event(now)
        } else {
            None
        };
        let serial = if self.line_can_interrupt(line::COM1) { self.uart.next_event(now) } else { None };
        let keys = if self.line_can_interrupt(line::KEYBOARD) { self.kbc.next_event() } else { None };
        let sci = if self.line_can_interrupt(line::SCI) { self.pm.next_event(now) } else { None };
        // The APIC timer, unmasked (its priority against the TPR aside).
        let apic_timer = self.active_lapic().and_then(|l| l.next_event());
        [timer, clock, serial, keys, sci, apic_timer].into_iter().flatten().min()
    }

    /// Whether COM1 could interrupt the CPU if a byte arrived (its line
    /// unmasked, its receive interrupt enabled).
    pub fn serial_can_interrupt(&self) -> bool {
        self.line_can_interrupt(line::COM1) && self.uart.receive_interrupt_enabled()
    }

    /// The power button is pressed (the monitor's `system_powerdown`): the
    /// ACPI power-button event, if the guest enabled it.
    pub fn power_button(&mut self) {
        self.pm.power_button();
        self.update_lines();
    }

    /// A byte typed on the serial console.
    pub fn serial_input(&mut self, byte: u8) {
        self.uart.receive(byte);
        self.update_lines();
    }

    /// Puts every device back to its power-on state (the machine's reset).
    pub fn reset(&mut self, now: u64) {
        self.now = now;
        for d in [
            Dev::Dma,
            Dev::Pic,
            Dev::Pit,
            Dev::Kbc,
            Dev::Rtc,
            Dev::Post,
            Dev::Port92,
            Dev::Ferr,
            Dev::DebugCon,
            Dev::DebugExit,
            Dev::Ide,
            Dev::Fdc,
            Dev::Uart,
            Dev::FwCfg,
            Dev::Pci,
            Dev::Acpi,
        ] {
            let device = self.device(d);
            device.sync(now);
            device.reset();
        }
        if let Some(v) = self.vga.as_deref_mut() {
            v.sync(now);
            PortDevice::reset(v);
        }
        if let Some(l) = self.lapic.as_mut() {
            l.reset();
        }
        self.ioapic.reset();
        self.requests.clear();
        self.lines_known = 0;
        self.update_lines();
    }

    /// Whether the IDE position holds a drive (for the firmware's tables).
    pub fn has_ide(&self, channel: IdeChannel, unit: IdeUnit) -> bool {
        self.ide.drive_kind(channel, unit).is_some()
    }
}

impl Bus for PcBus {
    // Every access first brings the devices that keep time up to the end of
    // the previous instruction (`now` counts the one doing the access), so
    // that the interrupt controller shows their requests even to a guest
    // that polls, exactly when QEMU's -icount does.
    fn port_in(&mut self, now: u64, port: u16, size: u8, mem: &mut Memory) -> u32 {
        self.advance(now.saturating_sub(1));
        self.now = now;
        self.read(port, size, mem)
    }
    fn port_is_quiet(&self, port: u16, size: u8, write: bool) -> bool {
        (0..size as u16).all(|i| {
            let p = port.wrapping_add(i);
            match self.route(p) {
                // Nothing answers, or POST codes.
                None | Some(Dev::Post) => true,
                // Reads of the 8254's counters and of port B's timer 2
                // output (polled in calibration loops): the counter read
                // sequence moves on, the interrupts and events do not.
                Some(Dev::Pit) => !write && p != 0x43,
                // The ACPI PM timer counts the time: reading it changes
                // nothing (its overflow interrupt is an event of its own).
                Some(Dev::PmBlock(base)) => !write && (p - base) & !3 == pm::PM_TMR,
                _ => false,
            }
        })
    }
    fn port_out(&mut self, now: u64, port: u16, size: u8, value: u32, mem: &mut Memory) {
        self.advance(now.saturating_sub(1));
        self.now = now;
        self.write(port, size, value, mem);
    }
    fn mmio_read(&mut self, now: u64, id: MmioId, offset: u32, size: u8) -> u32 {
        match id {
            window::LAPIC => match self.lapic.as_mut() {
                Some(l) => l.read(now, offset, size),
                None => vemu_devices::ones(size),
            },
            window::IOAPIC => self.ioapic.read(offset, size),
            _ => {
                let Some(v) = self.vga.as_deref_mut() else { return vemu_devices::ones(size) };
                match id {
                    window::VGA_LEGACY => {
                        (0..size as u32).fold(0, |acc, i| acc | (v.window_read(offset + i) as u32) << (8 * i))
                    }
                    window::VGA_LFB => v.lfb_read(offset, size),
                    window::VGA_MMIO => v.mmio_read(offset, size),
                    window::VGA_ROM => v.rom_read(offset, size),
                    _ => vemu_devices::ones(size),
                }
            }
        }
    }
    fn mmio_write(&mut self, now: u64, id: MmioId, offset: u32, size: u8, value: u32) {
        match id {
            window::LAPIC => {
                if let Some(l) = self.lapic.as_mut() {
                    l.write(now, offset, size, value);
                }
                self.route_eois();
            }
            window::IOAPIC => {
                self.ioapic.write(offset, size, value);
                self.route_apic_messages();
            }
            _ => {
                let Some(v) = self.vga.as_deref_mut() else { return };
                match id {
                    window::VGA_LEGACY => {
                        for i in 0..size as u32 {
                            v.window_write(offset + i, (value >> (8 * i)) as u8);
                        }
                    }
                    window::VGA_LFB => v.lfb_write(offset, size, value),
                    window::VGA_MMIO => v.mmio_write(offset, size, value),
                    _ => {}
                }
            }
        }
    }
    fn interrupt_pending(&mut self, now: u64) -> bool {
        self.advance(now);
        let intr = self.pic.interrupt_pending();
        match self.active_lapic() {
            Some(l) => {
                l.set_lint(0, intr);
                l.interrupt_pending()
            }
            None => intr,
        }
    }
    fn next_event(&mut self, now: u64) -> Option<u64> {
        PcBus::next_event(self, now)
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        match self.active_lapic().map(|l| l.acknowledge()) {
            Some(Ack::Vector(v)) => v,
            Some(Ack::ExtInt) | None => self.pic.acknowledge(),
        }
    }
    fn take_nmi(&mut self) -> bool {
        self.active_lapic().is_some_and(|l| l.take_nmi())
    }
    fn read_msr(&mut self, now: u64, index: u32) -> Option<u64> {
        let l = self.lapic.as_mut()?;
        l.advance(now);
        match index {
            msr::APIC_BASE => Some(l.base_msr()),
            msr::TSC_DEADLINE => Some(l.tsc_deadline()),
            _ => None,
        }
    }
    fn write_msr(&mut self, now: u64, tsc: u64, index: u32, value: u64) -> bool {
        let Some(l) = self.lapic.as_mut() else { return false };
        match index {
            msr::APIC_BASE => {
                if !l.set_base_msr(now, value) {
                    return false;
                }
                for (id, base, len) in self.take_window_changes() {
                    self.requests.push_back(BusRequest::MapMmio { id, base, len });
                }
                true
            }
            msr::TSC_DEADLINE => {
                l.set_tsc_deadline(now, tsc, value);
                true
            }
            _ => false,
        }
    }
    fn set_ferr(&mut self, asserted: bool) {
        self.ferr.set_ferr(asserted);
        self.update_lines();
    }
    fn take_request(&mut self) -> Option<BusRequest> {
        self.requests.pop_front()
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use vemu_softmmu::PhysMemory;

    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn machine() -> (PcBus, Memory) {
        let sink = || Box::new(std::io::sink()) as Box<dyn Write>;
        let bus = PcBus::new(Outputs { debugcon: sink(), serial: sink(), post: None }, 0, None, false);
        (bus, Memory::new(PhysMemory::new(1 << 20).unwrap()))
    }

    fn config_write(bus: &mut PcBus, mem: &mut Memory, slot: Slot, reg: u8, size: u8, value: u32) {
        let address =
            0x8000_0000 | (slot.device as u32) << 11 | (slot.function as u32) << 8 | reg as u32 & 0xfc;
        bus.port_out(0, 0xcf8, 4, address, mem);
        bus.port_out(0, 0xcfc + (reg & 3) as u16, size, value, mem);
    }

    /// The 8259s as a BIOS sets them up (vectors 0x08 and 0x70), with
    /// everything masked but the cascade and `irq`.
    fn init_pics(bus: &mut PcBus, mem: &mut Memory, irq: u8) {
        for (base, vector, icw3) in [(0x20u16, 0x08u32, 0x04u32), (0xa0, 0x70, 0x02)] {
            for (port, v) in [(base, 0x11), (base + 1, vector), (base + 1, icw3), (base + 1, 0x01)] {
                bus.port_out(0, port, 1, v, mem);
            }
        }
        let mask = !(1u16 << irq) & !(1 << 2);
        bus.port_out(0, 0x21, 1, mask as u32 & 0xff, mem);
        bus.port_out(0, 0xa1, 1, (mask >> 8) as u32, mem);
    }

    #[test]
    fn the_pm_block_answers_where_the_firmware_puts_it() {
        let (mut bus, mut mem) = machine();
        assert_eq!(bus.port_in(SECOND, 0x608, 4, &mut mem), 0xffff_ffff, "nowhere at power-on");
        config_write(&mut bus, &mut mem, PM_SLOT, 0x40, 4, 0x601);
        config_write(&mut bus, &mut mem, PM_SLOT, 0x80, 1, 0x01);
        assert_eq!(bus.port_in(SECOND, 0x608, 4, &mut mem), 3_579_545, "the PM timer at PMBASE + 8");
        assert_eq!(bus.port_in(SECOND, 0x60a, 2, &mut mem), 3_579_545 >> 16);
        // Entering S5 asks the machine to end the run, with status 0.
        bus.port_out(SECOND, 0x604, 2, 0x2000, &mut mem);
        assert_eq!(bus.take_request(), Some(BusRequest::Exit(0)));
        // The SMBus where QEMU's PIIX4 has it at power-on: no device there.
        bus.port_out(SECOND, 0xb102, 1, 0x48, &mut mem);
        assert_eq!(bus.port_in(SECOND, 0xb100, 1, &mut mem), 0x04);
        // Moved by the firmware.
        config_write(&mut bus, &mut mem, PM_SLOT, 0x90, 4, 0x701);
        assert_eq!(bus.port_in(SECOND, 0xb100, 1, &mut mem), 0xff);
        assert_eq!(bus.port_in(SECOND, 0x700, 1, &mut mem), 0x04);
        bus.reset(SECOND);
        assert_eq!(bus.port_in(SECOND, 0x608, 4, &mut mem), 0xffff_ffff, "a reset puts it away again");
    }

    #[test]
    fn quiet_ports_are_post_codes_timer_reads_and_ports_nothing_answers() {
        let (mut bus, mut mem) = machine();
        config_write(&mut bus, &mut mem, PM_SLOT, 0x40, 4, 0x601);
        config_write(&mut bus, &mut mem, PM_SLOT, 0x80, 1, 0x01);
        for write in [false, true] {
            assert!(bus.port_is_quiet(0x80, 1, write), "POST codes");
            assert!(bus.port_is_quiet(0x2ff, 2, write), "nothing there");
            assert!(!bus.port_is_quiet(0x20, 1, write), "the PIC");
            assert!(!bus.port_is_quiet(0x43, 1, write), "the 8254's control word");
            assert!(!bus.port_is_quiet(0x92, 1, write), "port A (A20)");
            assert!(!bus.port_is_quiet(0x604, 2, write), "PM1 control (sleep)");
        }
        assert!(bus.port_is_quiet(0x608, 4, false), "reading the PM timer");
        assert!(bus.port_is_quiet(0x42, 1, false) && bus.port_is_quiet(0x61, 1, false), "reading the 8254");
        assert!(!bus.port_is_quiet(0x42, 1, true) && !bus.port_is_quiet(0x61, 1, true), "programming it");
        assert!(bus.port_is_quiet(0x60a, 2, false));
        assert!(!bus.port_is_quiet(0x608, 4, true), "a write there (ignored) is not vouched for");
        assert!(!bus.port_is_quiet(0x606, 4, false), "a read that takes in PM1 control too");
        assert!(!bus.port_is_quiet(0x80, 2, true), "a write that reaches a DMA page register too");
    }

    #[test]
    fn the_power_button_reaches_the_cpu_as_irq_9() {
        let (mut bus, mut mem) = machine();
        config_write(&mut bus, &mut mem, PM_SLOT, 0x40, 4, 0x601);
        config_write(&mut bus, &mut mem, PM_SLOT, 0x80, 1, 0x01);
        init_pics(&mut bus, &mut mem, line::SCI);
        bus.port_out(0, 0x4d1, 1, 0x02, &mut mem); // IRQ 9 level-triggered
        bus.port_out(0, 0x602, 2, 0x0100, &mut mem); // PWRBTN_EN
        bus.power_button();
        assert!(!bus.interrupt_pending(0), "legacy mode: no SCI");
        bus.port_out(0, pm::SMI_CMD_PORT, 1, pm::ACPI_ENABLE as u32, &mut mem);
        assert!(bus.interrupt_pending(0));
        assert_eq!(bus.acknowledge_interrupt(), 0x71);
        bus.port_out(0, 0x600, 2, 0x0100, &mut mem); // clear PWRBTN_STS
        bus.port_out(0, 0xa0, 1, 0x20, &mut mem);
        bus.port_out(0, 0x20, 1, 0x20, &mut mem);
        assert!(!bus.interrupt_pending(0), "the level went with the status");
    }

    #[test]
    fn the_pm_timer_wakes_a_waiting_guest() {
        // The SCI unmasked, or (masked) only the keyboard's line.
        for unmasked in [line::SCI, line::KEYBOARD] {
            let (mut bus, mut mem) = machine();
            config_write(&mut bus, &mut mem, PM_SLOT, 0x40, 4, 0x601);
            config_write(&mut bus, &mut mem, PM_SLOT, 0x80, 1, 0x01);
            init_pics(&mut bus, &mut mem, unmasked);
            bus.port_out(0, pm::SMI_CMD_PORT, 1, pm::ACPI_ENABLE as u32, &mut mem);
            bus.port_out(0, 0x602, 2, 0x0001, &mut mem); // TMR_EN
            if unmasked == line::KEYBOARD {
                assert_eq!(bus.next_wakeup(0), None, "a masked SCI wakes nobody");
                continue;
            }
            let due = bus.next_wakeup(0).expect("the timer's status will rise");
            assert!((2_343_000_000..2_344_000_000).contains(&due), "bit 23 of the count changes at 2.34 s");
            assert!(bus.next_event(0).is_some_and(|e| e <= due), "the CPU stops there too");
            assert!(!bus.interrupt_pending(due - 1));
            assert!(bus.interrupt_pending(due));
        }
    }
}
