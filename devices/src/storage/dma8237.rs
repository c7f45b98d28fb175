//! The PC/AT's two 8237A DMA controllers and the page registers beside them
//! (the PIIX3's ISA DMA, as QEMU's `pc` machine has it).
//!
//! DMA1 (ports 0x00-0x0f) serves the 8-bit channels 0-3; DMA2 (ports 0xc0-0xdf,
//! every register at an even port, the odd ports alias it as the AT's wiring
//! ignores A0) serves the 16-bit channels 4-7, counting words and addressing
//! a 128 KiB window. DMA1 is cascaded into DMA2's channel 4: its transfers
//! reach the bus only while channel 4 is unmasked and in cascade mode (the
//! BIOS sets that up at POST), and while neither controller is disabled in its
//! command register. The page registers give address bits 16-23 (bits 17-23
//! for the 16-bit channels): one per channel, at 0x87, 0x83, 0x81, 0x82 for
//! channels 0-3 and 0x8f, 0x8b, 0x89, 0x8a for 4-7. The AT's 74LS612 also
//! latched the spare ports between them (0x84-0x86, 0x88, 0x8c-0x8e); QEMU's
//! `pc` leaves them unclaimed (they read all ones) and so does this device, so
//! that guests see what they see under QEMU, the reference the differential
//! tests hold vemu to. Port 0x80 is the POST port, and the high page registers
//! of later chipsets are not modelled.
//!
//! Per channel: base and current address and count (written a byte at a time
//! through the byte flip-flop), the mode register (verify/write/read, autoinit,
//! address decrement, demand/single/block/cascade), the mask bit; per
//! controller: the command register (only its "controller disable" bit acts),
//! the status register (terminal-count bits cleared by reading it, request
//! bits), the request register, master clear, clear mask and write all mask.
//! Memory-to-memory transfers are not wired on the PC and not modelled; the
//! temporary register they use therefore reads 0.
//!
//! Transfers: a device raises DREQ on its channel ([`DmaClient::dma_request`]);
//! the machine then calls [`Dma8237::service`], which, if the channel may run,
//! hands the device a [`DmaTransfer`] (DACK) through which it moves its bytes
//! to or from guest memory. The channel applies the direction of its mode,
//! increments or decrements the address, wraps it within its 64 KiB (128 KiB)
//! page as the hardware does, and stops at terminal count, which the device
//! sees ([`DmaTransfer::terminal_count`]) as the 8237's EOP#. No device holds a
//! reference to the 8237 or to memory: the machine lends both for the call.
//! Demand, single and block mode move the same bytes here, since a transfer
//! runs for as long as the device has data and the count allows.
//!
//! Wiring: map [`Dma8237::ports`] to this device; after every access to a DMA
//! client's ports (the floppy controller's) and after every write to this
//! device's ports (unmasking a channel can start a waiting transfer), call
//! `service(channel, client, memory)` for each client channel; it does nothing
//! when the client is not requesting.

use serde::{Deserialize, Serialize};

use crate::dma::GuestMemory;
use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// Mode register: transfer type (bits 3-2); type 00 is verify (addresses
/// and count advance, memory is not touched), 11 is illegal and acts as verify.
const MODE_TYPE: u8 = 0x0c;
/// Type 01: write (device to memory).
const TYPE_WRITE: u8 = 0x04;
/// Type 10: read (memory to device).
const TYPE_READ: u8 = 0x08;
const MODE_AUTOINIT: u8 = 0x10;
const MODE_DECREMENT: u8 = 0x20;
/// Mode select (bits 7-6): demand, single, block, cascade.
const MODE_SELECT: u8 = 0xc0;
const SELECT_BLOCK: u8 = 0x80;
const SELECT_CASCADE: u8 = 0xc0;

/// Command register: the controller is disabled.
const COMMAND_DISABLE: u8 = 0x04;

/// Page register port (offset from 0x80) of each channel.
const PAGE_PORT: [usize; 8] = [0x7, 0x3, 0x1, 0x2, 0xf, 0xb, 0x9, 0xa];

/// One channel's registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Channel {
    base_address: u16,
    base_count: u16,
    address: u16,
    /// Transfers left, minus one: terminal count comes when it passes 0.
    count: u16,
    mode: u8,
}

/// One 8237A.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Controller {
    channels: [Channel; 4],
    command: u8,
    /// Terminal count reached, per channel (status bits 0-3).
    terminal: u8,
    /// DREQ as the devices last showed it (status bits 4-7).
    dreq: u8,
    /// The request register (software DREQ).
    soft_request: u8,
    mask: u8,
    /// The byte flip-flop: the next address or count byte is the high one.
    high_byte: bool,
}

impl Controller {
    fn new() -> Controller {
        Controller {
            channels: [Channel::default(); 4],
            command: 0,
            terminal: 0,
            dreq: 0,
            soft_request: 0,
            mask: 0x0f,
            high_byte: false,
        }
    }

    /// Master clear: command, status, request and flip-flop cleared, every
    /// channel masked (the channels' registers keep their values).
    fn master_clear(&mut self) {
        self.command = 0;
        self.terminal = 0;
        self.soft_request = 0;
        self.mask = 0x0f;
        self.high_byte = false;
    }

    fn flip(&mut self) -> bool {
        let high = self.high_byte;
        self.high_byte = !high;
        high
    }

    /// Register `reg` (0-15) read.
    fn read(&mut self, reg: u8) -> u8 {
        match reg {
            0..=7 => {
                let ch = self.channels[(reg >> 1) as usize];
                let value = if reg & 1 == 0 { ch.address } else { ch.count };
                let high = self.flip();
                if high {
                    (value >> 8) as u8
                } else {
                    value as u8
                }
            }
            8 => {
                let status = self.terminal | (self.dreq | self.soft_request) << 4;
                self.terminal = 0;
                status
            }
            // The temporary register holds the last memory-to-memory byte; the
            // PC never makes one, and master clear zeroes it.
            0xd => 0,
            // Reading all mask bits, as the PIIX's successors allow.
            0xf => 0xf0 | self.mask,
            _ => 0xff,
        }
    }

    /// Register `reg` (0-15) written.
    fn write(&mut self, reg: u8, value: u8) {
        match reg {
            0..=7 => {
                let high = self.flip();
                let ch = &mut self.channels[(reg >> 1) as usize];
                let (base, current) = if reg & 1 == 0 {
                    (&mut ch.base_address, &mut ch.address)
                } else {
                    (&mut ch.base_count, &mut ch.count)
                };
                *base = if high {
                    (*base & 0x00ff) | (value as u16) << 8
                } else {
                    (*base & 0xff00) | value as u16
                };
                *current = *base;
            }
            8 => self.command = value,
            9 => {
                let bit = 1 << (value & 3);
                if value & 4 != 0 {
                    self.soft_request |= bit;
                } else {
                    self.soft_request &= !bit;
                }
            }
            0xa => {
                let bit = 1 << (value & 3);
                if value & 4 != 0 {
                    self.mask |= bit;
                } else {
                    self.mask &= !bit;
                }
            }
            0xb => self.channels[(value & 3) as usize].mode = value,
            0xc => self.high_byte = false,
            0xd => self.master_clear(),
            0xe => self.mask = 0,
            0xf => self.mask = value & 0x0f,
            _ => {}
        }
    }

    /// Terminal count on channel `i`: the status bit is set, the software
    /// request dropped, and the channel reloads (autoinit) or masks itself.
    fn terminal_count(&mut self, i: usize) {
        let bit = 1 << i;
        self.terminal |= bit;
        self.soft_request &= !bit;
        let ch = &mut self.channels[i];
        if ch.mode & MODE_AUTOINIT != 0 {
            ch.address = ch.base_address;
            ch.count = ch.base_count;
        } else {
            self.mask |= bit;
        }
    }
}

/// A device that transfers through a DMA channel.
pub trait DmaClient {
    /// Whether the device asserts DREQ on `channel`.
    fn dma_request(&self, channel: u8) -> bool;
    /// DACK on `channel`: the device moves what it has ready through `transfer`
    /// and returns. After a terminal count the transfer moves nothing more
    /// within this call; a device that goes on (autoinit) asks again.
    fn dma_transfer(&mut self, channel: u8, transfer: &mut DmaTransfer<'_>);
}

/// A channel granted to a device: the bytes it moves go to or come from guest
/// memory at the channel's current address, as the channel's mode directs.
pub struct DmaTransfer<'a> {
    channel: &'a mut Controller,
    index: usize,
    page: u8,
    wide: bool,
    memory: &'a mut dyn GuestMemory,
    terminal: bool,
}

impl DmaTransfer<'_> {
    /// Bytes per transfer: 1 on channels 0-3, 2 on channels 4-7.
    fn unit(&self) -> usize {
        if self.wide {
            2
        } else {
            1
        }
    }

    /// Whether terminal count was reached during this grant.
    pub fn terminal_count(&self) -> bool {
        self.terminal
    }

    /// Bytes the channel takes before terminal count (0 once it was reached).
    pub fn remaining(&self) -> usize {
        if self.terminal {
            0
        } else {
            (self.channel.channels[self.index].count as usize + 1) * self.unit()
        }
    }

    /// Device to memory: stores as much of `data` as the channel takes (whole
    /// words on the 16-bit channels) and returns how many bytes it took. Only a
    /// channel in write mode stores them; in verify or read mode the bytes are
    /// counted but memory is left alone.
    pub fn write_memory(&mut self, data: &[u8]) -> usize {
        let store = self.channel.channels[self.index].mode & MODE_TYPE == TYPE_WRITE;
        let unit = self.unit();
        self.run(data.len(), |memory, addr, range, descending| {
            let chunk = &data[range];
            match (store, descending) {
                (false, _) => {}
                (true, false) => memory.write(addr, chunk),
                (true, true) => memory.write(addr, &reversed(chunk, unit)),
            }
        })
    }

    /// Memory to device: fills `buf` from memory as far as the channel goes
    /// and returns how many bytes it filled. Only a channel in read mode reads
    /// memory; in verify or write mode the device sees an undriven bus (0xff).
    pub fn read_memory(&mut self, buf: &mut [u8]) -> usize {
        let load = self.channel.channels[self.index].mode & MODE_TYPE == TYPE_READ;
        let unit = self.unit();
        self.run(buf.len(), |memory, addr, range, descending| {
            let chunk = &mut buf[range];
            if !load {
                chunk.fill(0xff);
                return;
            }
            memory.read(addr, chunk);
            if descending {
                let in_device_order = reversed(chunk, unit);
                chunk.copy_from_slice(&in_device_order);
            }
        })
    }

    /// Moves up to `len` bytes in runs that stay within the channel's page,
    /// calling `op(memory, lowest physical address, byte range of the device's
    /// buffer, descending)` for each run, and advances address and count.
    fn run(
        &mut self,
        len: usize,
        mut op: impl FnMut(&mut dyn GuestMemory, u32, std::ops::Range<usize>, bool),
    ) -> usize {
        let unit = self.unit();
        let mut done = 0;
        while !self.terminal && done + unit <= len {
            let ch = self.channel.channels[self.index];
            let left = ch.count as usize + 1;
            let addr = ch.address as usize;
            let descending = ch.mode & MODE_DECREMENT != 0;
            let in_page = if descending { addr + 1 } else { 0x1_0000 - addr };
            let n = left.min(in_page).min((len - done) / unit);
            let lowest = if descending { addr + 1 - n } else { addr };
            let phys = if self.wide {
                ((self.page & 0xfe) as u32) << 16 | (lowest as u32) << 1
            } else {
                (self.page as u32) << 16 | lowest as u32
            };
            op(&mut *self.memory, phys, done..done + n * unit, descending);
            done += n * unit;
            let ch = &mut self.channel.channels[self.index];
            ch.address = if descending { addr.wrapping_sub(n) } else { addr.wrapping_add(n) } as u16;
            ch.count = (left - n).wrapping_sub(1) as u16;
            if n == left {
                self.terminal = true;
                self.channel.terminal_count(self.index);
            }
        }
        done
    }
}

/// `bytes` with its `unit`-byte transfers in reverse order, each transfer's
/// own bytes kept in order (a word's low byte stays at the lower address).
fn reversed(bytes: &[u8], unit: usize) -> Vec<u8> {
    bytes.chunks(unit).rev().flatten().copied().collect()
}

/// The two 8237As and the page registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dma8237 {
    /// DMA1 (channels 0-3) and DMA2 (channels 4-7).
    controllers: [Controller; 2],
    /// Page registers by port offset from 0x80 (only [`PAGE_PORT`]'s are used).
    pages: [u8; 16],
}

impl Default for Dma8237 {
    fn default() -> Self {
        Self::new()
    }
}

impl Dma8237 {
    /// Both controllers at power-on: every channel masked, registers zero.
    pub fn new() -> Dma8237 {
        Dma8237 { controllers: [Controller::new(), Controller::new()], pages: [0; 16] }
    }

    /// The port ranges to map to this device.
    pub fn ports() -> [(u16, u16); 6] {
        [(0x00, 0x0f), (0x81, 0x83), (0x87, 0x87), (0x89, 0x8b), (0x8f, 0x8f), (0xc0, 0xdf)]
    }

    /// Whether `port` is one of the channels' page registers.
    pub fn is_page_port(port: u16) -> bool {
        port & !0xf == 0x80 && PAGE_PORT.contains(&((port & 0xf) as usize))
    }

    /// The page register of `channel` (0-7).
    fn page(&self, channel: u8) -> u8 {
        self.pages[PAGE_PORT[channel as usize & 7]]
    }

    /// Whether channel `i` of controller `c` may make bus cycles now for a
    /// request that obeys (`maskable`) or ignores the channel's mask bit.
    fn may_run(&self, c: usize, i: usize, maskable: bool) -> bool {
        let ctl = &self.controllers[c];
        let enabled = ctl.command & COMMAND_DISABLE == 0
            && ctl.channels[i].mode & MODE_SELECT != SELECT_CASCADE
            && !(maskable && ctl.mask & 1 << i != 0);
        if c == 1 {
            return enabled;
        }
        // DMA1's hold request is DREQ of DMA2's channel 4.
        let master = &self.controllers[1];
        enabled
            && master.command & COMMAND_DISABLE == 0
            && master.mask & 1 == 0
            && master.channels[0].mode & MODE_SELECT == SELECT_CASCADE
    }

    /// Serves `channel` (0-7) for `client` if it requests and the channel may
    /// run: the client moves its data to or from `memory`. Returns whether the
    /// client was served.
    pub fn service(&mut self, channel: u8, client: &mut dyn DmaClient, memory: &mut dyn GuestMemory) -> bool {
        if channel > 7 {
            return false;
        }
        let (c, i) = ((channel >> 2) as usize, (channel & 3) as usize);
        let requesting = client.dma_request(channel);
        self.set_dreq(c, i, requesting);
        if !requesting || !self.may_run(c, i, true) {
            return false;
        }
        let page = self.page(channel);
        let mut transfer = DmaTransfer {
            channel: &mut self.controllers[c],
            index: i,
            page,
            wide: c == 1,
            memory,
            terminal: false,
        };
        client.dma_transfer(channel, &mut transfer);
        let still = client.dma_request(channel);
        self.set_dreq(c, i, still);
        true
    }

    fn set_dreq(&mut self, c: usize, i: usize, level: bool) {
        let ctl = &mut self.controllers[c];
        if level {
            ctl.dreq |= 1 << i;
        } else {
            ctl.dreq &= !(1 << i);
        }
    }

    /// Runs the software requests that may run: a channel in block mode with
    /// its request bit set runs to terminal count at once. No device answers
    /// its DACK, so nothing drives the data bus: the addresses and count
    /// advance and memory is left as it was.
    fn run_software_requests(&mut self) {
        for c in 0..2 {
            for i in 0..4 {
                let ch = self.controllers[c].channels[i];
                if self.controllers[c].soft_request & 1 << i == 0
                    || ch.mode & MODE_SELECT != SELECT_BLOCK
                    || !self.may_run(c, i, false)
                {
                    continue;
                }
                let units = ch.count;
                let ctl = &mut self.controllers[c];
                let ch = &mut ctl.channels[i];
                ch.address = if ch.mode & MODE_DECREMENT != 0 {
                    ch.address.wrapping_sub(units).wrapping_sub(1)
                } else {
                    ch.address.wrapping_add(units).wrapping_add(1)
                };
                ch.count = 0xffff;
                ctl.terminal_count(i);
            }
        }
    }
}

impl PortDevice for Dma8237 {
    fn read(&mut self, port: u16, _size: u8) -> u32 {
        (match port {
            0x00..=0x0f => self.controllers[0].read(port as u8),
            p if Self::is_page_port(p) => self.pages[(port & 0xf) as usize],
            0xc0..=0xdf => self.controllers[1].read(((port - 0xc0) >> 1) as u8),
            _ => 0xff,
        }) as u32
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let value = value as u8;
        match port {
            0x00..=0x0f => self.controllers[0].write(port as u8, value),
            p if Self::is_page_port(p) => self.pages[(port & 0xf) as usize] = value,
            0xc0..=0xdf => self.controllers[1].write(((port - 0xc0) >> 1) as u8, value),
            _ => return,
        }
        self.run_software_requests();
    }

    fn reset(&mut self) {
        *self = Self::new();
    }
}

impl Snapshot for Dma8237 {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        *self = state::decode(bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::TestMemory;

    /// A device with `data` to move on one channel, or a sink for what comes.
    struct Device {
        channel: u8,
        request: bool,
        /// Bytes to send to memory (if `to_memory`) or received from it.
        data: Vec<u8>,
        to_memory: bool,
        /// Stops asking at terminal count, as the floppy controller does.
        saw_terminal: bool,
    }

    impl Device {
        fn sending(channel: u8, data: Vec<u8>) -> Device {
            Device { channel, request: true, data, to_memory: true, saw_terminal: false }
        }
        fn receiving(channel: u8) -> Device {
            Device { channel, request: true, data: Vec::new(), to_memory: false, saw_terminal: false }
        }
    }

    impl DmaClient for Device {
        fn dma_request(&self, channel: u8) -> bool {
            channel == self.channel && self.request
        }
        fn dma_transfer(&mut self, _channel: u8, t: &mut DmaTransfer<'_>) {
            if self.to_memory {
                let n = t.write_memory(&self.data);
                self.data.drain(..n);
                if self.data.is_empty() {
                    self.request = false;
                }
            } else {
                let mut buf = vec![0; t.remaining()];
                let n = t.read_memory(&mut buf);
                self.data.extend_from_slice(&buf[..n]);
            }
            if t.terminal_count() {
                self.saw_terminal = true;
                self.request = false;
            }
        }
    }

    fn out(d: &mut Dma8237, port: u16, value: u8) {
        d.write(port, 1, value as u32);
    }

    fn inp(d: &mut Dma8237, port: u16) -> u8 {
        d.read(port, 1) as u8
    }

    /// The BIOS's POST set-up: master clears, channel 4 cascade and unmasked.
    fn posted() -> Dma8237 {
        let mut d = Dma8237::new();
        out(&mut d, 0x0d, 0);
        out(&mut d, 0xda, 0);
        out(&mut d, 0xd6, 0xc0);
        out(&mut d, 0xd4, 0x00);
        d
    }

    /// Programs 8-bit channel `ch` as SeaBIOS does for a floppy transfer
    /// (`mode` without the channel bits).
    fn program8(d: &mut Dma8237, ch: u8, mode: u8, addr: u32, count: u16) {
        let (addr_port, count_port) = ((ch as u16) * 2, (ch as u16) * 2 + 1);
        out(d, 0x0a, 4 | ch);
        out(d, 0x0c, 0);
        out(d, addr_port, addr as u8);
        out(d, addr_port, (addr >> 8) as u8);
        out(d, 0x0c, 0);
        out(d, count_port, count as u8);
        out(d, count_port, (count >> 8) as u8);
        out(d, 0x0b, mode | ch);
        out(d, 0x80 + PAGE_PORT[ch as usize] as u16, (addr >> 16) as u8);
        out(d, 0x0a, ch);
    }

    #[test]
    fn registers_read_back_through_the_flip_flop() {
        let mut d = posted();
        program8(&mut d, 2, 0x44, 0x01_2345, 0x01ff);
        out(&mut d, 0x0c, 0);
        assert_eq!((inp(&mut d, 0x04), inp(&mut d, 0x04)), (0x45, 0x23));
        assert_eq!((inp(&mut d, 0x05), inp(&mut d, 0x05)), (0xff, 0x01));
        assert_eq!(inp(&mut d, 0x81), 0x01);
        // Only the channels' page registers are ours, as under QEMU.
        out(&mut d, 0x84, 0x5a);
        assert_eq!(inp(&mut d, 0x84), 0xff);
        assert!((0x80..=0x8f)
            .all(|p| Dma8237::is_page_port(p) == [1, 2, 3, 7, 9, 10, 11, 15].contains(&(p & 0xf))));
        assert_eq!(inp(&mut d, 0x0f) & 0x0f, 0x0b, "only channel 2 unmasked");
        // DMA2 at even ports; an odd port aliases the even one below it.
        out(&mut d, 0xd8, 0);
        out(&mut d, 0xc5, 0x34);
        out(&mut d, 0xc4, 0x12);
        assert_eq!((inp(&mut d, 0xc4), inp(&mut d, 0xc4)), (0x34, 0x12));
    }

    #[test]
    fn single_transfer_to_memory_with_terminal_count() {
        let mut d = posted();
        let mut mem = TestMemory::new(0x3_0000);
        program8(&mut d, 2, 0x44, 0x1_1000, 3);
        let mut dev = Device::sending(2, vec![1, 2, 3, 4, 5, 6]);
        assert!(d.service(2, &mut dev, &mut mem));
        assert_eq!(&mem.0[0x1_1000..0x1_1006], &[1, 2, 3, 4, 0, 0]);
        assert!(dev.saw_terminal);
        assert_eq!(dev.data, vec![5, 6]);
        // Status: TC on channel 2, cleared by reading; the channel masked itself.
        assert_eq!(inp(&mut d, 0x08) & 0x0f, 0x04);
        assert_eq!(inp(&mut d, 0x08) & 0x0f, 0);
        assert_eq!(inp(&mut d, 0x0f) & 0x04, 0x04);
        out(&mut d, 0x0c, 0);
        assert_eq!((inp(&mut d, 0x04), inp(&mut d, 0x04)), (0x04, 0x10));
        assert_eq!((inp(&mut d, 0x05), inp(&mut d, 0x05)), (0xff, 0xff));
        // Masked now: a new request is not served.
        dev.request = true;
        assert!(!d.service(2, &mut dev, &mut mem));
        assert_eq!(inp(&mut d, 0x08), 0x40, "the request shows in the status");
    }

    #[test]
    fn read_transfer_from_memory_and_verify_mode() {
        let mut d = posted();
        let mut mem = TestMemory::new(0x1_0000);
        mem.0[0x200..0x204].copy_from_slice(&[9, 8, 7, 6]);
        program8(&mut d, 1, 0x48, 0x200, 3);
        let mut dev = Device::receiving(1);
        assert!(d.service(1, &mut dev, &mut mem));
        assert_eq!(dev.data, vec![9, 8, 7, 6]);
        // Verify: the count runs down, memory stays as it is.
        program8(&mut d, 1, 0x40, 0x200, 1);
        let mut dev = Device::sending(1, vec![0xaa, 0xbb]);
        d.service(1, &mut dev, &mut mem);
        assert!(dev.saw_terminal);
        assert_eq!(&mem.0[0x200..0x202], &[9, 8]);
    }

    #[test]
    fn autoinit_reloads_and_stays_unmasked() {
        let mut d = posted();
        let mut mem = TestMemory::new(0x1000);
        program8(&mut d, 3, 0x54, 0x100, 1);
        let mut dev = Device::sending(3, vec![1, 2, 3, 4, 5]);
        d.service(3, &mut dev, &mut mem);
        assert!(dev.saw_terminal);
        assert_eq!(&mem.0[0x100..0x102], &[1, 2]);
        assert_eq!(inp(&mut d, 0x0f) & 0x08, 0, "autoinit keeps the channel unmasked");
        out(&mut d, 0x0c, 0);
        assert_eq!((inp(&mut d, 0x06), inp(&mut d, 0x06)), (0x00, 0x01));
        dev.request = true;
        d.service(3, &mut dev, &mut mem);
        assert_eq!(&mem.0[0x100..0x102], &[3, 4], "the buffer starts over");
    }

    #[test]
    fn decrement_and_page_wrap() {
        let mut d = posted();
        let mut mem = TestMemory::new(0x3_0000);
        program8(&mut d, 2, 0x64, 0x1_0001, 3);
        let mut dev = Device::sending(2, vec![1, 2, 3, 4]);
        d.service(2, &mut dev, &mut mem);
        // 0x10001, 0x10000, then the address wraps to 0xffff of the same page.
        assert_eq!(mem.0[0x1_0001], 1);
        assert_eq!(mem.0[0x1_0000], 2);
        assert_eq!(mem.0[0x1_ffff], 3);
        assert_eq!(mem.0[0x1_fffe], 4);
        assert_eq!(mem.0[0x0_ffff], 0, "the page register does not count");
        // Incrementing past 0xffff wraps to the start of the page as well.
        program8(&mut d, 2, 0x44, 0x2_fffe, 3);
        let mut dev = Device::sending(2, vec![5, 6, 7, 8]);
        d.service(2, &mut dev, &mut mem);
        assert_eq!(&mem.0[0x2_fffe..0x3_0000], &[5, 6]);
        assert_eq!(&mem.0[0x2_0000..0x2_0002], &[7, 8]);
    }

    #[test]
    fn sixteen_bit_channels_count_words_in_a_128k_window() {
        let mut d = posted();
        let mut mem = TestMemory::new(0x4_0000);
        // Channel 5: word address 0xffff of page 2 (bit 0 of the page is not
        // an address bit): byte address 0x3fffe, then the window wraps to 0x20000.
        out(&mut d, 0xd4, 4 | 1);
        out(&mut d, 0xd8, 0);
        out(&mut d, 0xc4, 0xff);
        out(&mut d, 0xc4, 0xff);
        out(&mut d, 0xc6, 1);
        out(&mut d, 0xc6, 0);
        out(&mut d, 0xd6, 0x45);
        out(&mut d, 0x8b, 0x03);
        out(&mut d, 0xd4, 1);
        let mut dev = Device::sending(5, vec![1, 2, 3, 4, 5]);
        d.service(5, &mut dev, &mut mem);
        assert_eq!(&mem.0[0x3_fffe..0x4_0000], &[1, 2]);
        assert_eq!(&mem.0[0x2_0000..0x2_0002], &[3, 4]);
        assert!(dev.saw_terminal);
        assert_eq!(dev.data, vec![5]);
        // Reading memory downwards goes word by word, each word in its order.
        out(&mut d, 0xd8, 0);
        out(&mut d, 0xc4, 0x01);
        out(&mut d, 0xc4, 0x00);
        out(&mut d, 0xc6, 1);
        out(&mut d, 0xc6, 0);
        out(&mut d, 0xd6, 0x69);
        out(&mut d, 0xd4, 1);
        mem.0[0x2_0000..0x2_0004].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
        let mut dev = Device::receiving(5);
        d.service(5, &mut dev, &mut mem);
        assert_eq!(dev.data, vec![0x33, 0x44, 0x11, 0x22]);
    }

    #[test]
    fn channel_4_cascade_gates_dma1_and_master_clear_masks() {
        let mut d = Dma8237::new();
        let mut mem = TestMemory::new(0x1000);
        program8(&mut d, 2, 0x44, 0x10, 0);
        let mut dev = Device::sending(2, vec![7]);
        assert!(!d.service(2, &mut dev, &mut mem), "channel 4 is masked at power-on");
        out(&mut d, 0xd6, 0xc0);
        out(&mut d, 0xd4, 0);
        out(&mut d, 0x08, COMMAND_DISABLE);
        assert!(!d.service(2, &mut dev, &mut mem), "DMA1 disabled");
        out(&mut d, 0x08, 0);
        assert!(d.service(2, &mut dev, &mut mem));
        assert_eq!(mem.0[0x10], 7);
        out(&mut d, 0x0d, 0);
        assert_eq!(inp(&mut d, 0x0f) & 0x0f, 0x0f);
        out(&mut d, 0x0e, 0);
        assert_eq!(inp(&mut d, 0x0f) & 0x0f, 0);
        out(&mut d, 0x0f, 0x05);
        assert_eq!(inp(&mut d, 0x0f) & 0x0f, 0x05);
    }

    #[test]
    fn software_request_in_block_mode_runs_to_terminal_count() {
        let mut d = posted();
        program8(&mut d, 0, 0x84, 0x100, 0x0f);
        out(&mut d, 0x0a, 4);
        out(&mut d, 0x09, 4);
        assert_eq!(inp(&mut d, 0x08), 0x01, "TC, and the request bit dropped");
        out(&mut d, 0x0c, 0);
        assert_eq!((inp(&mut d, 0x00), inp(&mut d, 0x00)), (0x10, 0x01));
        assert_eq!(inp(&mut d, 0x0f) & 1, 1);
    }

    #[test]
    fn snapshot_round_trip() {
        let mut d = posted();
        program8(&mut d, 2, 0x54, 0x1_2345, 0x1ff);
        out(&mut d, 0x04, 0x99); // flip-flop left pointing at the high byte
        let saved = d.save();
        let mut e = Dma8237::new();
        e.restore(&saved).unwrap();
        assert_eq!(e, d);
        assert_eq!(inp(&mut e, 0x04), inp(&mut d, 0x04));
        assert!(e.restore(&[1, 2, 3]).is_err());
    }
}
