//! A 16550A UART (the PC's COM1 at 0x3f8, IRQ 4), as the drivers of a serial
//! console use it: SeaBIOS and SYSLINUX polling the line status, DOS programs
//! through the BIOS or their own interrupt handlers, Linux's 8250 and
//! FreeBSD's uart(4) with FIFOs, trigger levels and the character timeout.
//!
//! Modelled from the NS16550A data sheet: the receiver FIFO (16 bytes, or the
//! single receiver buffer register of 16450 mode when FCR bit 0 is clear) with
//! its trigger levels and the character-timeout interrupt (IIR 0x0c, four
//! character times without a byte arriving or being read); the interrupt
//! identification with its priorities and FIFO bits (line status, received
//! data or timeout, transmitter empty, modem status); the line status register
//! (data ready, overrun, THRE, TEMT); modem control and status with the delta
//! bits; loopback (the transmitter feeds the receiver, the modem outputs feed
//! the modem inputs, and the output pins, OUT2 among them, go inactive); the
//! scratch register; the divisor latch, which with the line control register
//! gives the character time.
//!
//! Not modelled: parity, framing and break conditions (PE, FE, BI and LSR bit 7,
//! which reports them in the FIFO, stay clear), the transmitter FIFO (DMA mode
//! and FCR bit 2 have no visible effect), sending a break.
//!
//! The transmitter is instant: a byte written to THR goes to the sink (the
//! terminal) during the write and LSR shows THRE and TEMT again at once. The
//! write clears the THRE interrupt, which comes back at the next nanosecond of
//! virtual time, when the transmitter has taken the byte; so the interrupt
//! line falls and rises again and an edge-triggered 8259 sees a new request,
//! as with a real UART.
//!
//! The receiver takes bytes from the host: the frontend queues them
//! ([`Uart16550::receive`]) and they come down the line at the baud rate set
//! by the guest, one character time apart, while the receiver has room for
//! them. A byte that finds the FIFO (or in 16450 mode, the receiver buffer)
//! full waits on the host's side, as a sender waits under flow control, and
//! starts a character time after the guest makes room: nothing typed ahead is
//! lost, and a guest that reads one byte per interrupt sees its line fall and
//! rise for each byte. Overruns happen only in loopback, where the guest
//! itself sends faster than it reads.
//!
//! Time comes from the machine: [`PortDevice::sync`] before each access, and
//! [`Uart16550::advance`] on the machine's clock steps, before it looks at
//! [`Uart16550::irq_level`]; [`Uart16550::next_event`] says when the
//! interrupt may change on its own. The state the guest sees is data
//! ([`Snapshot`]); the sink stays attached across a restore.

use std::collections::VecDeque;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

const IER_RDI: u8 = 1 << 0;
const IER_THRI: u8 = 1 << 1;
const IER_RLSI: u8 = 1 << 2;
const IER_MSI: u8 = 1 << 3;

/// Interrupt identification codes, highest priority first.
const IIR_LINE_STATUS: u8 = 0x06;
const IIR_RX_TIMEOUT: u8 = 0x0c;
const IIR_RX_DATA: u8 = 0x04;
const IIR_THRE: u8 = 0x02;
const IIR_MODEM_STATUS: u8 = 0x00;
const IIR_NONE: u8 = 0x01;
/// IIR bits 7-6 while the FIFOs are enabled.
const IIR_FIFOS_ENABLED: u8 = 0xc0;

const FCR_ENABLE: u8 = 1 << 0;
const FCR_CLEAR_RX: u8 = 1 << 1;

const LCR_STOP_BITS: u8 = 1 << 2;
const LCR_PARITY: u8 = 1 << 3;
const LCR_DLAB: u8 = 1 << 7;

const MCR_DTR: u8 = 1 << 0;
const MCR_RTS: u8 = 1 << 1;
const MCR_OUT1: u8 = 1 << 2;
const MCR_OUT2: u8 = 1 << 3;
const MCR_LOOP: u8 = 1 << 4;

const LSR_DR: u8 = 1 << 0;
const LSR_OE: u8 = 1 << 1;
const LSR_THRE: u8 = 1 << 5;
const LSR_TEMT: u8 = 1 << 6;

const MSR_DCTS: u8 = 1 << 0;
const MSR_DDSR: u8 = 1 << 1;
const MSR_TERI: u8 = 1 << 2;
const MSR_DDCD: u8 = 1 << 3;

/// The modem status inputs, as MSR bits 4-7 show them; the host sets them
/// with [`Uart16550::set_modem_inputs`].
pub mod modem_input {
    pub const CTS: u8 = 1 << 4;
    pub const DSR: u8 = 1 << 5;
    pub const RI: u8 = 1 << 6;
    pub const DCD: u8 = 1 << 7;
}

/// The receiver FIFO's depth.
const FIFO_LEN: usize = 16;

/// The FIFO's trigger levels, by FCR bits 7-6.
const TRIGGER_LEVELS: [usize; 4] = [1, 4, 8, 14];

/// The baud rate of divisor 1: the PC's 1.8432 MHz crystal over 16.
const BAUD_BASE: u64 = 115_200;
const NS_PER_S: u64 = 1_000_000_000;

/// The character timeout, in character times.
const TIMEOUT_CHARS: u64 = 4;

/// Host input beyond this many waiting bytes makes [`Uart16550::can_receive`]
/// say no (the bytes are still kept).
const HOST_INPUT_HIGH_WATER: usize = 4096;

/// Everything the guest can see, and the bytes on their way to it.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    divisor: u16,
    /// FCR bit 0.
    fifo_enabled: bool,
    /// FCR bits 7-6 as last programmed (0-3).
    trigger: u8,
    /// Received bytes the guest has not read: the FIFO, or in 16450 mode
    /// the receiver buffer register (at most one byte).
    rx: VecDeque<u8>,
    /// The byte read last, which RBR reads again when nothing is waiting.
    last_read: u8,
    /// LSR's overrun bit, until LSR is read.
    overrun: bool,
    /// The THRE interrupt is pending (cleared by writing THR, or by reading
    /// IIR while it is the one shown).
    thre_pending: bool,
    /// When the transmitter takes the byte just written and the THRE
    /// interrupt comes back.
    thre_returns_at: Option<u64>,
    /// The character timeout has occurred (until RBR is read).
    timeout_pending: bool,
    /// The receive timeout counts from here: the last byte into the FIFO or
    /// read from it.
    rx_idle_since: u64,
    /// The modem status inputs on the host's side (MSR bits 7-4).
    modem_inputs: u8,
    /// MSR bits 3-0, until MSR is read.
    modem_deltas: u8,
    /// Bytes from the host that have not reached the receiver, in order.
    host_input: VecDeque<u8>,
    /// When the first of them will have come down the line, if it is on
    /// its way.
    arrival: Option<u64>,
    /// The virtual time the UART has been brought to.
    now: u64,
}

impl State {
    /// Power-on at virtual time `now`: 9600 baud, FIFOs off, and a terminal
    /// attached (carrier detect, data set ready, clear to send).
    fn power_on(now: u64) -> State {
        State {
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            divisor: 12,
            fifo_enabled: false,
            trigger: 0,
            rx: VecDeque::new(),
            last_read: 0,
            overrun: false,
            thre_pending: false,
            thre_returns_at: None,
            timeout_pending: false,
            rx_idle_since: now,
            modem_inputs: modem_input::CTS | modem_input::DSR | modem_input::DCD,
            modem_deltas: 0,
            host_input: VecDeque::new(),
            arrival: None,
            now,
        }
    }

    fn loopback(&self) -> bool {
        self.mcr & MCR_LOOP != 0
    }

    /// How many bytes the receiver holds: the FIFO, or the buffer register.
    fn capacity(&self) -> usize {
        if self.fifo_enabled {
            FIFO_LEN
        } else {
            1
        }
    }

    /// How many bytes make the received-data interrupt.
    fn rx_level(&self) -> usize {
        if self.fifo_enabled {
            TRIGGER_LEVELS[(self.trigger & 3) as usize]
        } else {
            1
        }
    }

    /// One character on the line (start bit, data bits, parity, stop bits)
    /// at the programmed rate, in nanoseconds. Divisor 0 counts as 65536,
    /// the divisor counter's full range.
    fn char_time(&self) -> u64 {
        let data_bits = 5 + (self.lcr & 3) as u64;
        let parity = (self.lcr & LCR_PARITY != 0) as u64;
        // Two stop bits, or one and a half with 5-bit characters.
        let stop_halves = match (self.lcr & LCR_STOP_BITS != 0, data_bits) {
            (false, _) => 2,
            (true, 5) => 3,
            (true, _) => 4,
        };
        let half_bits = 2 * (1 + data_bits + parity) + stop_halves;
        let divisor = if self.divisor == 0 { 0x10000 } else { self.divisor as u64 };
        (half_bits * divisor * NS_PER_S).div_ceil(2 * BAUD_BASE)
    }

    /// The modem status inputs as the guest sees them: in loopback, DTR drives
    /// DSR, RTS CTS, OUT1 RI and OUT2 DCD.
    fn modem_lines(&self) -> u8 {
        if self.loopback() {
            let m = self.mcr;
            let wire = |out: u8, input: u8| if m & out != 0 { input } else { 0 };
            wire(MCR_DTR, modem_input::DSR)
                | wire(MCR_RTS, modem_input::CTS)
                | wire(MCR_OUT1, modem_input::RI)
                | wire(MCR_OUT2, modem_input::DCD)
        } else {
            self.modem_inputs
        }
    }

    /// Sets the delta bits for the inputs that changed from `before`: CTS, DSR
    /// and DCD either way, RI only as it ends (the trailing edge).
    fn note_modem_change(&mut self, before: u8) {
        let after = self.modem_lines();
        let changed = before ^ after;
        let delta = |line: u8, bit: u8| if changed & line != 0 { bit } else { 0 };
        self.modem_deltas |= delta(modem_input::CTS, MSR_DCTS)
            | delta(modem_input::DSR, MSR_DDSR)
            | delta(modem_input::DCD, MSR_DDCD);
        if before & !after & modem_input::RI != 0 {
            self.modem_deltas |= MSR_TERI;
        }
    }

    /// Whether a byte from the host can come into the receiver now: there is
    /// room, and the line is connected (not in loopback).
    fn accepts_host_byte(&self) -> bool {
        !self.loopback() && self.rx.len() < self.capacity()
    }

    /// Puts the next host byte on the line at time `at`, if the line is free
    /// and the receiver will have room for it.
    fn start_next_byte(&mut self, at: u64) {
        if self.arrival.is_none() && !self.host_input.is_empty() && self.accepts_host_byte() {
            self.arrival = Some(at.saturating_add(self.char_time()));
        }
    }

    /// A byte comes into the receiver at time `at`. With no room it is an
    /// overrun: in FIFO mode the byte is lost, in 16450 mode it replaces the
    /// one in the buffer register.
    fn take_byte(&mut self, byte: u8, at: u64) {
        if self.rx.len() >= self.capacity() {
            self.overrun = true;
            if !self.fifo_enabled {
                self.rx.clear();
                self.rx.push_back(byte);
            }
        } else {
            self.rx.push_back(byte);
        }
        self.rx_idle_since = at;
    }

    /// When the character timeout will occur, if it is counting: FIFO mode,
    /// bytes waiting, and it has not occurred yet.
    fn timeout_due(&self) -> Option<u64> {
        let counting = self.fifo_enabled && !self.rx.is_empty() && !self.timeout_pending;
        counting.then(|| self.rx_idle_since.saturating_add(TIMEOUT_CHARS * self.char_time()))
    }

    fn check_timeout(&mut self, at: u64) {
        if self.timeout_due().is_some_and(|due| due <= at) {
            self.timeout_pending = true;
        }
    }

    /// Brings the line and the timers up to `now`, in order of time.
    fn catch_up(&mut self, now: u64) {
        while let Some(at) = self.arrival.filter(|&at| at <= now) {
            self.check_timeout(at);
            self.arrival = None;
            // A byte that finds no room waits on the host's side and is sent
            // again once there is room.
            if self.accepts_host_byte() {
                if let Some(byte) = self.host_input.pop_front() {
                    self.take_byte(byte, at);
                }
                self.start_next_byte(at);
            }
        }
        self.check_timeout(now);
        if self.thre_returns_at.is_some_and(|at| at <= now) {
            self.thre_returns_at = None;
            self.thre_pending = true;
        }
        self.now = self.now.max(now);
    }

    /// The interrupt the IIR shows: its code (bit 0 clear), or IIR_NONE.
    fn interrupt(&self) -> u8 {
        let enabled = |bit: u8| self.ier & bit != 0;
        if enabled(IER_RLSI) && self.overrun {
            IIR_LINE_STATUS
        } else if enabled(IER_RDI) && self.timeout_pending {
            IIR_RX_TIMEOUT
        } else if enabled(IER_RDI) && self.rx.len() >= self.rx_level() {
            IIR_RX_DATA
        } else if enabled(IER_THRI) && self.thre_pending {
            IIR_THRE
        } else if enabled(IER_MSI) && self.modem_deltas != 0 {
            IIR_MODEM_STATUS
        } else {
            IIR_NONE
        }
    }

    fn line_status(&self) -> u8 {
        let ready = if self.rx.is_empty() { 0 } else { LSR_DR };
        let overrun = if self.overrun { LSR_OE } else { 0 };
        ready | overrun | LSR_THRE | LSR_TEMT
    }

    fn read_rbr(&mut self) -> u8 {
        if let Some(byte) = self.rx.pop_front() {
            self.last_read = byte;
        }
        // A read restarts the timeout and clears one that occurred.
        self.timeout_pending = false;
        self.rx_idle_since = self.now;
        self.start_next_byte(self.now);
        self.last_read
    }

    fn read_iir(&mut self) -> u8 {
        let code = self.interrupt();
        if code == IIR_THRE {
            self.thre_pending = false;
        }
        code | if self.fifo_enabled { IIR_FIFOS_ENABLED } else { 0 }
    }

    fn write_ier(&mut self, v: u8) {
        // Enabling the THRE interrupt with the holding register empty (it
        // always is by then) raises it, even after an IIR read cleared it.
        if v & IER_THRI != 0 && self.ier & IER_THRI == 0 {
            self.thre_pending = true;
        }
        self.ier = v & 0x0f;
    }

    fn write_fcr(&mut self, v: u8) {
        let enable = v & FCR_ENABLE != 0;
        // Switching between 16450 and FIFO mode empties the FIFOs.
        if enable != self.fifo_enabled {
            self.clear_rx();
        }
        self.fifo_enabled = enable;
        // The other bits take effect only with bit 0 set.
        if enable {
            self.trigger = v >> 6;
            if v & FCR_CLEAR_RX != 0 {
                self.clear_rx();
            }
        }
        self.start_next_byte(self.now);
    }

    fn clear_rx(&mut self) {
        self.rx.clear();
        self.timeout_pending = false;
        self.rx_idle_since = self.now;
    }

    fn write_mcr(&mut self, v: u8) {
        let before = self.modem_lines();
        self.mcr = v & 0x1f;
        self.note_modem_change(before);
        // Leaving loopback connects the line again.
        self.start_next_byte(self.now);
    }
}

/// A 16550A and the sink its transmitter writes to.
pub struct Uart16550 {
    /// The terminal side of the transmitter: host side, not part of the state.
    out: Box<dyn Write>,
    s: State,
}

impl Uart16550 {
    /// The UART at power-on (virtual time 0), transmitting to `out`.
    pub fn new(out: Box<dyn Write>) -> Self {
        Uart16550 { out, s: State::power_on(0) }
    }

    /// Queues a byte from the host (the console's keyboard): it comes down the
    /// line, after the bytes queued before it, as the receiver has room.
    pub fn receive(&mut self, byte: u8) {
        self.s.host_input.push_back(byte);
        self.s.start_next_byte(self.s.now);
    }

    /// Whether the host may queue more input: false once many bytes wait for
    /// a guest that reads slowly, so that a frontend reading from a source it
    /// can pause (a pipe, a socket) stops for a while. Bytes queued anyway are
    /// kept.
    pub fn can_receive(&self) -> bool {
        self.s.host_input.len() < HOST_INPUT_HIGH_WATER
    }

    /// Sets the modem status inputs (the [`modem_input`] bits: CTS, DSR, RI,
    /// DCD) as the host's side of the line drives them. At power-on CTS, DSR
    /// and DCD are on.
    pub fn set_modem_inputs(&mut self, lines: u8) {
        let before = self.s.modem_lines();
        self.s.modem_inputs = lines & 0xf0;
        self.s.note_modem_change(before);
    }

    /// Brings the UART up to virtual time `now`: bytes arriving, the character
    /// timeout, the THRE interrupt coming back.
    pub fn advance(&mut self, now: u64) {
        self.s.catch_up(now);
    }

    /// The next virtual time at which the UART's interrupt may change on its
    /// own (a byte arriving, the character timeout, the THRE interrupt coming
    /// back, each while its interrupt is enabled), if any: later than `now`
    /// after [`advance(now)`](Self::advance), and `now` itself for an event
    /// already due that `advance` has not seen yet.
    pub fn next_event(&self, now: u64) -> Option<u64> {
        let s = &self.s;
        let rx = s.ier & IER_RDI != 0;
        let thre = s.ier & IER_THRI != 0;
        [s.arrival.filter(|_| rx), s.timeout_due().filter(|_| rx), s.thre_returns_at.filter(|_| thre)]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.max(now))
    }

    /// Whether a received byte would raise the interrupt line (the receive
    /// interrupt enabled and OUT2 up, not in loopback): a halted guest
    /// waiting for a key can then be woken by one.
    pub fn receive_interrupt_enabled(&self) -> bool {
        self.s.ier & IER_RDI != 0 && self.s.mcr & (MCR_OUT2 | MCR_LOOP) == MCR_OUT2
    }

    /// The interrupt line (IRQ 4 for COM1). On a PC the OUT2 output gates it,
    /// and loopback sets the output pins inactive, OUT2 among them.
    pub fn irq_level(&self) -> bool {
        self.s.mcr & (MCR_OUT2 | MCR_LOOP) == MCR_OUT2 && self.s.interrupt() != IIR_NONE
    }

    fn transmit(&mut self, byte: u8) {
        let s = &mut self.s;
        s.thre_pending = false;
        s.thre_returns_at = Some(s.now.saturating_add(1));
        if s.loopback() {
            let now = s.now;
            s.take_byte(byte, now);
        } else {
            // A terminal that cannot be written to is not the guest's problem.
            let _ = self.out.write_all(&[byte]);
            let _ = self.out.flush();
        }
    }
}

impl PortDevice for Uart16550 {
    fn sync(&mut self, now: u64) {
        self.s.catch_up(now);
    }

    fn read(&mut self, port: u16, _size: u8) -> u32 {
        let s = &mut self.s;
        let dlab = s.lcr & LCR_DLAB != 0;
        (match port & 7 {
            0 if dlab => s.divisor as u8,
            0 => s.read_rbr(),
            1 if dlab => (s.divisor >> 8) as u8,
            1 => s.ier,
            2 => s.read_iir(),
            3 => s.lcr,
            4 => s.mcr,
            5 => {
                let v = s.line_status();
                s.overrun = false;
                v
            }
            6 => {
                let v = s.modem_lines() | s.modem_deltas;
                s.modem_deltas = 0;
                v
            }
            _ => s.scr,
        }) as u32
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let v = value as u8;
        let s = &mut self.s;
        let dlab = s.lcr & LCR_DLAB != 0;
        match port & 7 {
            0 if dlab => s.divisor = (s.divisor & 0xff00) | v as u16,
            0 => self.transmit(v),
            1 if dlab => s.divisor = (s.divisor & 0x00ff) | (v as u16) << 8,
            1 => s.write_ier(v),
            2 => s.write_fcr(v),
            3 => s.lcr = v,
            4 => s.write_mcr(v),
            // The status registers are read-only.
            5 | 6 => {}
            _ => s.scr = v,
        }
    }

    /// The master reset: every register as at power-on. What the host's side
    /// holds stays: the bytes it queued (they were never on the line) and
    /// the modem status inputs it drives.
    fn reset(&mut self) {
        let host_input = std::mem::take(&mut self.s.host_input);
        let modem_inputs = self.s.modem_inputs;
        self.s = State { host_input, modem_inputs, ..State::power_on(self.s.now) };
        self.s.start_next_byte(self.s.now);
    }
}

impl Snapshot for Uart16550 {
    fn save(&self) -> Vec<u8> {
        state::encode(&self.s)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let s: State = state::decode(bytes)?;
        if s.rx.len() > s.capacity() {
            return Err(StateError(format!(
                "UART: {} received bytes in a {}-byte receiver",
                s.rx.len(),
                s.capacity()
            )));
        }
        self.s = s;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Captured;

    const RBR: u16 = 0x3f8;
    const IER: u16 = 0x3f9;
    const IIR: u16 = 0x3fa;
    const FCR: u16 = 0x3fa;
    const LCR: u16 = 0x3fb;
    const MCR: u16 = 0x3fc;
    const LSR: u16 = 0x3fd;
    const MSR: u16 = 0x3fe;
    const SCR: u16 = 0x3ff;

    /// One 8N1 character at 115200 baud, in nanoseconds.
    const CHAR: u64 = 86_806;

    fn rd(u: &mut Uart16550, now: u64, port: u16) -> u8 {
        u.sync(now);
        u.read(port, 1) as u8
    }

    fn wr(u: &mut Uart16550, now: u64, port: u16, v: u8) {
        u.sync(now);
        u.write(port, 1, v as u32);
    }

    /// A UART at 115200 baud, 8N1, with interrupts reaching the PIC (OUT2),
    /// as Linux sets it up.
    fn console() -> (Uart16550, Captured) {
        let sink = Captured::default();
        let mut u = Uart16550::new(Box::new(sink.clone()));
        wr(&mut u, 0, LCR, 0x80);
        wr(&mut u, 0, RBR, 1);
        wr(&mut u, 0, IER, 0);
        wr(&mut u, 0, LCR, 0x03);
        wr(&mut u, 0, MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
        (u, sink)
    }

    #[test]
    fn transmits_at_once_and_reports_an_empty_transmitter() {
        let (mut u, sink) = console();
        assert_eq!(rd(&mut u, 0, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
        wr(&mut u, 5, RBR, b'A');
        assert_eq!(sink.bytes(), b"A");
        assert_eq!(rd(&mut u, 5, LSR), LSR_THRE | LSR_TEMT, "nothing left to send");
    }

    #[test]
    fn divisor_latch_and_scratch() {
        let mut u = Uart16550::new(Box::new(std::io::sink()));
        wr(&mut u, 0, LCR, 0x80);
        wr(&mut u, 0, RBR, 0x01);
        wr(&mut u, 0, IER, 0x00);
        wr(&mut u, 0, LCR, 0x03);
        assert_eq!(rd(&mut u, 0, LCR), 3);
        wr(&mut u, 0, LCR, 0x83);
        assert_eq!(rd(&mut u, 0, RBR), 1);
        assert_eq!(rd(&mut u, 0, IER), 0);
        wr(&mut u, 0, SCR, 0x5a);
        assert_eq!(rd(&mut u, 0, SCR), 0x5a);
    }

    #[test]
    fn what_drivers_probe_for() {
        let (mut u, _) = console();
        // SeaBIOS: enabling the THRE interrupt shows it in IIR at once.
        wr(&mut u, 0, IER, IER_THRI);
        assert_eq!(rd(&mut u, 0, IER), IER_THRI);
        assert_eq!(rd(&mut u, 0, IIR) & 0x3f, IIR_THRE);
        // Linux: IER's low nibble reads back, its high nibble (XScale's UUE) does not.
        wr(&mut u, 0, IER, 0x0f);
        assert_eq!(rd(&mut u, 0, IER), 0x0f);
        wr(&mut u, 0, IER, 0xff);
        assert_eq!(rd(&mut u, 0, IER), 0x0f);
        wr(&mut u, 0, IER, 0);
        // Linux: loopback with RTS and OUT2 shows CTS and DCD.
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
        assert_eq!(rd(&mut u, 0, MSR) & 0xf0, 0x90);
        wr(&mut u, 0, MCR, 0);
        // FreeBSD: IIR bits 5-4 and MCR bits 7 and 5 read zero.
        assert_eq!(rd(&mut u, 0, IIR) & 0x30, 0);
        assert_eq!(rd(&mut u, 0, MCR) & 0xa0, 0);
        // Linux: FIFOs enabled make IIR bits 7-6 read 11 (a 16550A) ...
        assert_eq!(rd(&mut u, 0, IIR) >> 6, 0);
        wr(&mut u, 0, FCR, FCR_ENABLE);
        assert_eq!(rd(&mut u, 0, IIR) >> 6, 3);
        // ... and with LCR 0xbf the "EFR" reads as IIR, not zero: no 16650.
        wr(&mut u, 0, LCR, 0xbf);
        assert_ne!(rd(&mut u, 0, IIR), 0);
        // No 16750: FCR bit 5 does not show in IIR bit 5.
        wr(&mut u, 0, FCR, FCR_ENABLE | 0x20);
        assert_eq!(rd(&mut u, 0, IIR) & 0x20, 0);
    }

    #[test]
    fn interrupt_priorities() {
        let (mut u, _) = console();
        wr(&mut u, 0, IER, 0x0f);
        // Loopback in 16450 mode: with only DTR of the outputs on, CTS and DCD
        // drop (modem status changes), and the second of two bytes sent
        // overruns the first.
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_DTR);
        wr(&mut u, 0, RBR, b'a');
        wr(&mut u, 0, RBR, b'b');
        u.advance(10);
        assert_eq!(rd(&mut u, 10, IIR), IIR_LINE_STATUS);
        assert_eq!(rd(&mut u, 10, IIR), IIR_LINE_STATUS, "reading IIR does not clear it");
        assert_eq!(rd(&mut u, 10, LSR), LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
        assert_eq!(rd(&mut u, 10, IIR), IIR_RX_DATA);
        assert_eq!(rd(&mut u, 10, RBR), b'b', "16450 mode: the newer byte replaced the older");
        assert_eq!(rd(&mut u, 10, IIR), IIR_THRE);
        assert_eq!(rd(&mut u, 10, IIR), IIR_MODEM_STATUS, "reading IIR cleared THRE");
        assert_eq!(rd(&mut u, 10, MSR), modem_input::DSR | MSR_DCTS | MSR_DDCD);
        assert_eq!(rd(&mut u, 10, IIR), IIR_NONE);
        // The received-data interrupt masks the THRE interrupt, which a read
        // of IIR then leaves pending.
        wr(&mut u, 20, MCR, MCR_OUT2);
        u.receive(b'x');
        u.advance(20 + CHAR);
        assert_eq!(rd(&mut u, 20 + CHAR, IIR), IIR_RX_DATA);
        wr(&mut u, 20 + CHAR, IER, 0x0f & !IER_THRI);
        wr(&mut u, 20 + CHAR, IER, 0x0f);
        assert_eq!(rd(&mut u, 20 + CHAR, IIR), IIR_RX_DATA);
        assert_eq!(rd(&mut u, 20 + CHAR, RBR), b'x');
        assert_eq!(rd(&mut u, 20 + CHAR, IIR), IIR_THRE);
    }

    #[test]
    fn fifo_trigger_levels() {
        for (bits, level) in [(0x00, 1), (0x40, 4), (0x80, 8), (0xc0, 14)] {
            let (mut u, _) = console();
            wr(&mut u, 0, IER, IER_RDI);
            wr(&mut u, 0, FCR, bits | FCR_ENABLE);
            wr(&mut u, 0, MCR, MCR_LOOP);
            for n in 1..=FIFO_LEN as u8 {
                wr(&mut u, 0, RBR, n);
                let want = if n as usize >= level { IIR_RX_DATA } else { IIR_NONE };
                assert_eq!(rd(&mut u, 0, IIR), IIR_FIFOS_ENABLED | want, "trigger {level}, {n} bytes");
            }
            // Reading below the level clears the interrupt.
            for n in (0..FIFO_LEN).rev() {
                rd(&mut u, 0, RBR);
                let want = if n >= level { IIR_RX_DATA } else { IIR_NONE };
                assert_eq!(rd(&mut u, 0, IIR), IIR_FIFOS_ENABLED | want, "trigger {level}, {n} left");
            }
        }
    }

    #[test]
    fn character_timeout() {
        let (mut u, _) = console();
        wr(&mut u, 0, FCR, 0x80 | FCR_ENABLE);
        wr(&mut u, 0, IER, IER_RDI);
        for &b in b"abc" {
            u.receive(b);
        }
        // One character time apart, below the trigger level of 8.
        assert_eq!(u.next_event(0), Some(CHAR));
        u.advance(3 * CHAR);
        assert_eq!(rd(&mut u, 3 * CHAR, LSR) & LSR_DR, LSR_DR);
        assert_eq!(rd(&mut u, 3 * CHAR, IIR), 0xc1);
        assert!(!u.irq_level());
        // Four character times after the last byte came in.
        assert_eq!(u.next_event(3 * CHAR), Some(7 * CHAR));
        u.advance(7 * CHAR - 1);
        assert!(!u.irq_level());
        u.advance(7 * CHAR);
        assert!(u.irq_level());
        assert_eq!(rd(&mut u, 7 * CHAR, IIR), 0xc0 | IIR_RX_TIMEOUT);
        // A read clears it and starts the count again.
        assert_eq!(rd(&mut u, 7 * CHAR + 5, RBR), b'a');
        assert!(!u.irq_level());
        assert_eq!(u.next_event(7 * CHAR + 5), Some(11 * CHAR + 5));
        u.advance(11 * CHAR + 5);
        assert_eq!(rd(&mut u, 11 * CHAR + 5, IIR), 0xc0 | IIR_RX_TIMEOUT);
        assert_eq!(rd(&mut u, 11 * CHAR + 5, RBR), b'b');
        assert_eq!(rd(&mut u, 11 * CHAR + 5, RBR), b'c');
        assert_eq!(rd(&mut u, 11 * CHAR + 5, LSR) & LSR_DR, 0);
        assert_eq!(u.next_event(11 * CHAR + 5), None, "an empty FIFO does not time out");
        // Disabled by IER, it still occurs and shows once enabled.
        wr(&mut u, 20 * CHAR, IER, 0);
        u.receive(b'd');
        u.advance(30 * CHAR);
        assert!(!u.irq_level());
        wr(&mut u, 30 * CHAR, IER, IER_RDI);
        assert_eq!(rd(&mut u, 30 * CHAR, IIR), 0xc0 | IIR_RX_TIMEOUT);
    }

    #[test]
    fn no_timeout_in_16450_mode() {
        let (mut u, _) = console();
        wr(&mut u, 0, IER, IER_RDI);
        u.receive(b'q');
        u.advance(100 * CHAR);
        assert_eq!(rd(&mut u, 100 * CHAR, IIR), IIR_RX_DATA);
    }

    #[test]
    fn the_character_time_follows_divisor_and_line_control() {
        // The timeout shows it: four character times after a byte comes in.
        for (divisor, lcr, char_ns) in
            [(1u16, 0x03, CHAR), (12, 0x00, 729_167), (12, 0x1e, 1_145_834), (0, 0x03, 5_688_888_889)]
        {
            let (mut u, _) = console();
            wr(&mut u, 0, LCR, 0x80);
            wr(&mut u, 0, RBR, divisor as u8);
            wr(&mut u, 0, IER, (divisor >> 8) as u8);
            wr(&mut u, 0, LCR, lcr);
            wr(&mut u, 0, FCR, 0xc0 | FCR_ENABLE);
            wr(&mut u, 0, IER, IER_RDI);
            u.receive(b'x');
            assert_eq!(u.next_event(0), Some(char_ns), "divisor {divisor}, LCR {lcr:#x}");
            u.advance(char_ns);
            assert_eq!(u.next_event(char_ns), Some(5 * char_ns));
        }
    }

    #[test]
    fn typed_ahead_bytes_wait_for_the_guest() {
        let (mut u, _) = console();
        wr(&mut u, 0, IER, IER_RDI);
        for &b in b"hello" {
            u.receive(b);
        }
        let mut now = CHAR;
        u.advance(now);
        assert!(u.irq_level());
        // A guest that reads one byte per interrupt: the line falls at each
        // read and rises when the next byte has come down the line.
        let mut got = Vec::new();
        for _ in 0..5 {
            assert!(u.irq_level());
            got.push(rd(&mut u, now, RBR));
            assert!(!u.irq_level());
            // A guest busy elsewhere loses nothing: no overrun.
            now += 50 * CHAR;
            u.advance(now);
            assert_eq!(rd(&mut u, now, LSR) & LSR_OE, 0);
        }
        assert_eq!(got, b"hello");
        assert!(!u.irq_level());
        assert_eq!(u.next_event(now), None);
        // Each byte came a character time after the read made room.
        u.receive(b'!');
        rd(&mut u, now, RBR);
        u.receive(b'?');
        u.advance(now + CHAR);
        assert_eq!(rd(&mut u, now + CHAR, RBR), b'!');
        assert_eq!(u.next_event(now + CHAR), Some(now + 2 * CHAR));
        assert!(u.can_receive());
    }

    #[test]
    fn thre_interrupt_rules() {
        let (mut u, sink) = console();
        assert_eq!(rd(&mut u, 0, IIR), IIR_NONE);
        // Enabling it with the holding register empty raises it ...
        wr(&mut u, 0, IER, IER_THRI);
        assert!(u.irq_level());
        // ... reading IIR while it is shown clears it ...
        assert_eq!(rd(&mut u, 0, IIR), IIR_THRE);
        assert_eq!(rd(&mut u, 0, IIR), IIR_NONE);
        assert!(!u.irq_level());
        // ... enabling it again raises it again ...
        wr(&mut u, 0, IER, 0);
        wr(&mut u, 0, IER, IER_THRI);
        assert_eq!(rd(&mut u, 0, IIR), IIR_THRE);
        wr(&mut u, 0, IER, IER_THRI);
        assert_eq!(rd(&mut u, 0, IIR), IIR_NONE, "only enabling raises it");
        // ... and writing THR clears it until the transmitter has taken the
        // byte: the line falls and rises, an edge for the 8259.
        wr(&mut u, 100, IER, 0);
        wr(&mut u, 100, IER, IER_THRI);
        assert!(u.irq_level());
        wr(&mut u, 100, RBR, b'x');
        assert_eq!(sink.bytes(), b"x");
        assert!(!u.irq_level());
        assert_eq!(rd(&mut u, 100, LSR), LSR_THRE | LSR_TEMT);
        assert_eq!(u.next_event(100), Some(101));
        u.advance(101);
        assert!(u.irq_level());
        assert_eq!(rd(&mut u, 101, IIR), IIR_THRE);
        // Masked, it causes no event.
        wr(&mut u, 200, RBR, b'y');
        wr(&mut u, 200, IER, 0);
        assert_eq!(u.next_event(200), None);
    }

    #[test]
    fn modem_status_deltas() {
        let (mut u, _) = console();
        wr(&mut u, 0, IER, IER_MSI);
        assert_eq!(rd(&mut u, 0, MSR), 0xb0, "a terminal is attached");
        assert!(!u.irq_level());
        use modem_input::{CTS, DCD, DSR, RI};
        u.set_modem_inputs(CTS | DSR);
        assert!(u.irq_level());
        assert_eq!(rd(&mut u, 0, IIR), IIR_MODEM_STATUS);
        assert_eq!(rd(&mut u, 0, MSR), CTS | DSR | MSR_DDCD);
        assert_eq!(rd(&mut u, 0, MSR), CTS | DSR, "reading MSR cleared the deltas");
        assert!(!u.irq_level());
        u.set_modem_inputs(CTS | DSR | RI);
        assert_eq!(rd(&mut u, 0, MSR), CTS | DSR | RI, "RI's leading edge is no change");
        u.set_modem_inputs(CTS | DSR);
        assert_eq!(rd(&mut u, 0, MSR), CTS | DSR | MSR_TERI);
        // Loopback: the inputs follow the outputs.
        wr(&mut u, 0, MCR, MCR_LOOP);
        assert_eq!(rd(&mut u, 0, MSR), MSR_DCTS | MSR_DDSR);
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_RTS);
        assert_eq!(rd(&mut u, 0, MSR), CTS | MSR_DCTS);
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_RTS | MCR_OUT1);
        assert_eq!(rd(&mut u, 0, MSR), CTS | RI);
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_RTS);
        assert_eq!(rd(&mut u, 0, MSR), CTS | MSR_TERI);
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT2);
        assert_eq!(rd(&mut u, 0, IIR), IIR_MODEM_STATUS);
        assert_eq!(rd(&mut u, 0, MSR), CTS | DSR | DCD | MSR_DDSR | MSR_DDCD);
        // Out of loopback: the host's lines again.
        wr(&mut u, 0, MCR, MCR_OUT2);
        assert_eq!(rd(&mut u, 0, MSR), CTS | DSR | MSR_DDCD);
    }

    #[test]
    fn loopback() {
        let (mut u, sink) = console();
        wr(&mut u, 0, IER, IER_RDI);
        wr(&mut u, 0, FCR, 0x07);
        wr(&mut u, 0, MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR | MCR_RTS);
        // FreeBSD sizes the FIFO so: bytes sent until the receiver overruns.
        for n in 0..=FIFO_LEN as u8 {
            wr(&mut u, 0, RBR, n);
            assert_eq!(
                rd(&mut u, 0, LSR) & (LSR_OE | LSR_TEMT),
                if n < 16 { LSR_TEMT } else { LSR_OE | LSR_TEMT }
            );
        }
        assert!(sink.bytes().is_empty(), "nothing goes out on the line");
        // The interrupt is pending, but OUT2's pin is inactive in loopback.
        assert_eq!(rd(&mut u, 0, IIR), 0xc0 | IIR_RX_DATA);
        assert!(!u.irq_level());
        let got: Vec<u8> = (0..16).map(|_| rd(&mut u, 0, RBR)).collect();
        assert_eq!(got, (0..16).collect::<Vec<u8>>(), "the byte that overran was lost");
        // The host's bytes wait while the line is disconnected.
        u.receive(b'z');
        u.advance(10 * CHAR);
        assert_eq!(rd(&mut u, 10 * CHAR, LSR) & LSR_DR, 0);
        wr(&mut u, 10 * CHAR, MCR, MCR_OUT2);
        u.advance(11 * CHAR);
        assert!(u.irq_level());
        assert_eq!(rd(&mut u, 11 * CHAR, RBR), b'z');
    }

    #[test]
    fn fifo_control() {
        let (mut u, _) = console();
        wr(&mut u, 0, MCR, MCR_LOOP);
        wr(&mut u, 0, FCR, FCR_ENABLE);
        for b in 1..=3 {
            wr(&mut u, 0, RBR, b);
        }
        wr(&mut u, 0, FCR, FCR_ENABLE | FCR_CLEAR_RX);
        assert_eq!(rd(&mut u, 0, LSR) & LSR_DR, 0, "cleared");
        wr(&mut u, 0, RBR, 4);
        wr(&mut u, 0, RBR, 5);
        // Back to 16450 mode: the FIFO is emptied, IIR bits 7-6 read 00, and
        // FCR bits without bit 0 are not programmed.
        wr(&mut u, 0, FCR, 0xc0);
        assert_eq!(rd(&mut u, 0, LSR) & LSR_DR, 0);
        assert_eq!(rd(&mut u, 0, IIR), IIR_NONE);
        wr(&mut u, 0, RBR, 6);
        wr(&mut u, 0, RBR, 7);
        assert_eq!(rd(&mut u, 0, LSR) & LSR_OE, LSR_OE, "a one-byte receiver");
        assert_eq!(rd(&mut u, 0, RBR), 7);
        assert_eq!(rd(&mut u, 0, RBR), 7, "RBR keeps the last byte");
        assert_eq!(rd(&mut u, 0, LSR), LSR_THRE | LSR_TEMT, "OE cleared by the read of LSR");
    }

    #[test]
    fn reset_keeps_what_the_host_sent() {
        let (mut u, _) = console();
        wr(&mut u, 0, SCR, 0x55);
        u.receive(b'k');
        u.reset();
        assert_eq!(rd(&mut u, 0, SCR), 0);
        assert_eq!(rd(&mut u, 0, LCR), 0);
        // At 9600 baud, 5 data bits (the power-on line control).
        u.advance(729_167);
        assert_eq!(rd(&mut u, 729_167, RBR), b'k');
    }

    /// What a guest sees of `u` from `now` on: the interrupt line and its next
    /// event as time passes, then every register, then a byte sent.
    fn observe(u: &mut Uart16550, now: u64) -> Vec<u64> {
        let mut seen = Vec::new();
        for step in 0..40 {
            let t = now + step * CHAR / 2;
            u.advance(t);
            seen.push(u.irq_level() as u64);
            seen.push(u.next_event(t).unwrap_or(u64::MAX));
            if step % 8 == 7 {
                seen.push(rd(u, t, IIR) as u64);
                seen.push(rd(u, t, RBR) as u64);
            }
        }
        let t = now + 20 * CHAR;
        for port in [IIR, LSR, MSR, IER, LCR, MCR, SCR, RBR, RBR] {
            seen.push(rd(u, t, port) as u64);
        }
        wr(u, t, LCR, 0x83);
        seen.push(rd(u, t, RBR) as u64);
        seen.push(rd(u, t, IER) as u64);
        wr(u, t, LCR, 0x03);
        wr(u, t, RBR, b'!');
        seen.push(rd(u, t, IIR) as u64);
        seen
    }

    #[test]
    fn state_round_trips() {
        let (mut u, sink) = console();
        wr(&mut u, 0, FCR, 0x81);
        wr(&mut u, 0, IER, 0x0f);
        wr(&mut u, 0, SCR, 0xa5);
        for &b in b"snapshot!" {
            u.receive(b);
        }
        u.set_modem_inputs(modem_input::CTS);
        // Three bytes in the FIFO, six on their way, THRE coming back.
        let now = 3 * CHAR + 7;
        u.advance(now);
        wr(&mut u, now, RBR, b'>');
        let saved = u.save();

        let copy_sink = Captured::default();
        let mut copy = Uart16550::new(Box::new(copy_sink.clone()));
        copy.restore(&saved).unwrap();
        assert_eq!(observe(&mut copy, now), observe(&mut u, now));
        assert_eq!(sink.bytes(), b">!");
        assert_eq!(copy_sink.bytes(), b"!", "the new sink stays attached");
        assert!(copy.restore(&saved[..saved.len() / 2]).is_err());
    }
}
