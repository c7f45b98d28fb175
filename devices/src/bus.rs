//! The I/O port bus: port numbers routed to devices, with wide accesses to
//! narrow devices split as the ISA bus splits them.

use std::any::Any;

use crate::{ones, PortDevice, Request};

/// Routes I/O ports to devices. Unclaimed ports read as all ones and ignore writes,
/// as on a PC's ISA bus.
#[derive(Default)]
pub struct PortBus {
    devices: Vec<Box<dyn PortDevice>>,
    /// (first port, last port, device index), searched in order.
    ranges: Vec<(u16, u16, usize)>,
    /// The device that took the last write, to ask for a request.
    last_written: Option<usize>,
    /// Virtual time of the accesses being made.
    now: u64,
}

impl PortBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a device answering ports `first..=last`; returns its index.
    pub fn add(&mut self, first: u16, last: u16, device: Box<dyn PortDevice>) -> usize {
        let idx = self.devices.len();
        self.devices.push(device);
        self.ranges.push((first, last, idx));
        idx
    }

    /// Makes device `idx` answer ports `first..=last` as well.
    pub fn map(&mut self, first: u16, last: u16, idx: usize) {
        self.ranges.push((first, last, idx));
    }

    /// Sets the virtual time (nanoseconds) of the accesses that follow.
    pub fn set_time(&mut self, now: u64) {
        self.now = now;
    }

    fn find(&self, port: u16) -> Option<usize> {
        self.ranges.iter().find(|(a, b, _)| (*a..=*b).contains(&port)).map(|r| r.2)
    }

    pub fn read(&mut self, port: u16, size: u8) -> u32 {
        match self.find(port) {
            Some(i) if self.devices[i].access_size() >= size => {
                self.devices[i].sync(self.now);
                self.devices[i].read(port, size)
            }
            Some(i) => {
                let w = self.devices[i].access_size();
                (0..size / w)
                    .fold(0, |v, k| v | self.read(port.wrapping_add((k * w) as u16), w) << (8 * k * w) as u32)
            }
            None => ones(size),
        }
    }

    pub fn write(&mut self, port: u16, size: u8, value: u32) {
        match self.find(port) {
            Some(i) if self.devices[i].access_size() >= size => {
                self.devices[i].sync(self.now);
                self.devices[i].write(port, size, value);
                self.last_written = Some(i);
            }
            Some(i) => {
                let w = self.devices[i].access_size();
                for k in 0..size / w {
                    self.write(port.wrapping_add((k * w) as u16), w, value >> (8 * k * w) as u32);
                }
            }
            None => {}
        }
    }

    /// The request raised by the device written last, if any.
    pub fn take_request(&mut self) -> Option<Request> {
        let i = self.last_written.take()?;
        self.devices[i].take_request()
    }

    /// Resets every device, at the time last set.
    pub fn reset(&mut self) {
        for d in &mut self.devices {
            d.sync(self.now);
            d.reset();
        }
    }

    /// The device at `idx`, as its concrete type.
    pub fn device_mut<T: PortDevice>(&mut self, idx: usize) -> Option<&mut T> {
        let d: &mut dyn Any = self.devices.get_mut(idx)?.as_mut();
        d.downcast_mut::<T>()
    }

    /// Two different devices at once, as their concrete types: for the
    /// machine's calls that involve two devices, such as a DMA transfer
    /// between the 8237s and the floppy controller.
    pub fn device_pair_mut<A: PortDevice, B: PortDevice>(
        &mut self,
        a: usize,
        b: usize,
    ) -> Option<(&mut A, &mut B)> {
        if a == b || a.max(b) >= self.devices.len() {
            return None;
        }
        let (low, high) = self.devices.split_at_mut(a.max(b));
        let (lower, upper) = (low[a.min(b)].as_mut(), high[0].as_mut());
        let (da, db): (&mut dyn Any, &mut dyn Any) = if a < b { (lower, upper) } else { (upper, lower) };
        Some((da.downcast_mut::<A>()?, db.downcast_mut::<B>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DebugCon, Dma8237, IsaDebugExit};

    #[test]
    fn unclaimed_ports_float_high() {
        let mut bus = PortBus::new();
        assert_eq!(bus.read(0x1234, 1), 0xff);
        assert_eq!(bus.read(0x1234, 2), 0xffff);
        assert_eq!(bus.read(0x1234, 4), 0xffff_ffff);
        bus.write(0x1234, 1, 5);
        assert_eq!(bus.take_request(), None);
    }

    #[test]
    fn wide_accesses_to_byte_devices_are_split() {
        let mut bus = PortBus::new();
        let pages = bus.add(0x81, 0x83, Box::new(Dma8237::new()));
        bus.write(0x82, 2, 0x1234);
        assert_eq!(bus.read(0x82, 1), 0x34);
        assert_eq!(bus.read(0x83, 1), 0x12);
        assert_eq!(bus.read(0x82, 2), 0x1234);
        // The byte above 0x83 is nobody's: it floats high.
        assert_eq!(bus.read(0x83, 2), 0xff12);
        assert!(bus.device_mut::<Dma8237>(pages).is_some());
    }

    #[test]
    fn routes_and_requests() {
        let mut bus = PortBus::new();
        let exit = bus.add(0xf4, 0xf4, Box::new(IsaDebugExit::new()));
        bus.write(0xf4, 1, 0x10);
        assert_eq!(bus.take_request(), Some(Request::Exit(0x21)));
        assert_eq!(bus.take_request(), None);
        assert!(bus.device_mut::<IsaDebugExit>(exit).is_some());
        assert!(bus.device_mut::<DebugCon>(exit).is_none());
    }

    #[test]
    fn two_devices_at_once() {
        let mut bus = PortBus::new();
        let exit = bus.add(0xf4, 0xf4, Box::new(IsaDebugExit::new()));
        let dma = bus.add(0x00, 0x0f, Box::new(Dma8237::new()));
        assert!(bus.device_pair_mut::<Dma8237, IsaDebugExit>(dma, exit).is_some());
        assert!(bus.device_pair_mut::<IsaDebugExit, Dma8237>(exit, dma).is_some());
        assert!(bus.device_pair_mut::<IsaDebugExit, Dma8237>(dma, exit).is_none());
        assert!(bus.device_pair_mut::<Dma8237, Dma8237>(dma, dma).is_none());
    }
}
