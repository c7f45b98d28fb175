//! A 16550A UART (the PC's COM1 at 0x3f8): transmit to a sink, receive from a
//! queue the frontend fills, divisor latch, FIFO control, scratch register,
//! loopback, and the interrupt identification logic. Transmission is immediate:
//! the transmitter is always empty again by the time the guest looks.

use std::collections::VecDeque;
use std::io::Write;

use crate::PortDevice;

const IER_RX: u8 = 1 << 0;
const IER_THRE: u8 = 1 << 1;
const IER_LINE: u8 = 1 << 2;
const IER_MODEM: u8 = 1 << 3;

const LSR_DR: u8 = 1 << 0;
const LSR_OE: u8 = 1 << 1;
const LSR_THRE: u8 = 1 << 5;
const LSR_TEMT: u8 = 1 << 6;

const MCR_LOOP: u8 = 1 << 4;
const MCR_OUT2: u8 = 1 << 3;

const LCR_DLAB: u8 = 1 << 7;

/// Receive FIFO depth.
const FIFO_LEN: usize = 16;

pub struct Uart16550 {
    out: Box<dyn Write>,
    rx: VecDeque<u8>,
    ier: u8,
    lcr: u8,
    mcr: u8,
    lsr_errors: u8,
    msr: u8,
    scr: u8,
    divisor: u16,
    fifo_enabled: bool,
    /// The "transmitter empty" interrupt is pending (cleared by reading IIR).
    thre_pending: bool,
}

impl Uart16550 {
    pub fn new(out: Box<dyn Write>) -> Self {
        Uart16550 {
            out,
            rx: VecDeque::new(),
            ier: 0,
            lcr: 0,
            mcr: 0,
            lsr_errors: 0,
            // Carrier detect, data set ready and clear to send: a terminal is attached.
            msr: 0xb0,
            scr: 0,
            divisor: 12, // 9600 baud
            fifo_enabled: false,
            thre_pending: false,
        }
    }

    /// Queues a byte arriving on the line (the console's keyboard).
    pub fn receive(&mut self, byte: u8) {
        if self.rx.len() >= if self.fifo_enabled { FIFO_LEN } else { 1 } {
            self.lsr_errors |= LSR_OE;
            return;
        }
        self.rx.push_back(byte);
    }

    /// Whether the UART can take another received byte without overrun.
    pub fn can_receive(&self) -> bool {
        self.rx.len() < if self.fifo_enabled { FIFO_LEN } else { 1 }
    }

    fn lsr(&self) -> u8 {
        let mut v = LSR_THRE | LSR_TEMT | self.lsr_errors;
        if !self.rx.is_empty() {
            v |= LSR_DR;
        }
        v
    }

    /// The highest-priority pending interrupt's IIR code (bit 0 clear), or 1.
    fn iir_code(&self) -> u8 {
        if self.ier & IER_LINE != 0 && self.lsr_errors != 0 {
            0x06
        } else if self.ier & IER_RX != 0 && !self.rx.is_empty() {
            0x04
        } else if self.ier & IER_THRE != 0 && self.thre_pending {
            0x02
        } else if self.ier & IER_MODEM != 0 && self.msr & 0x0f != 0 {
            0x00
        } else {
            0x01
        }
    }

    /// The interrupt line (IRQ 4 for COM1), gated by OUT2 as on a PC.
    pub fn irq_level(&self) -> bool {
        self.mcr & MCR_OUT2 != 0 && self.iir_code() & 1 == 0
    }

    fn transmit(&mut self, byte: u8) {
        if self.mcr & MCR_LOOP != 0 {
            self.receive(byte);
        } else {
            let _ = self.out.write_all(&[byte]);
            let _ = self.out.flush();
        }
        self.thre_pending = true;
    }

    fn modem_status(&self) -> u8 {
        if self.mcr & MCR_LOOP != 0 {
            // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
            let m = self.mcr;
            (m & 1) << 5 | (m & 2) << 3 | (m & 4) << 4 | (m & 8) << 4
        } else {
            self.msr & 0xf0
        }
    }
}

impl PortDevice for Uart16550 {
    fn read(&mut self, port: u16, _size: u8) -> u32 {
        let dlab = self.lcr & LCR_DLAB != 0;
        (match port & 7 {
            0 if dlab => self.divisor as u8,
            0 => self.rx.pop_front().unwrap_or(0),
            1 if dlab => (self.divisor >> 8) as u8,
            1 => self.ier,
            2 => {
                let code = self.iir_code();
                if code == 0x02 {
                    self.thre_pending = false;
                }
                code | if self.fifo_enabled { 0xc0 } else { 0 }
            }
            3 => self.lcr,
            4 => self.mcr,
            5 => {
                let v = self.lsr();
                self.lsr_errors = 0;
                v
            }
            6 => self.modem_status(),
            _ => self.scr,
        }) as u32
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let v = value as u8;
        let dlab = self.lcr & LCR_DLAB != 0;
        match port & 7 {
            0 if dlab => self.divisor = (self.divisor & 0xff00) | v as u16,
            0 => self.transmit(v),
            1 if dlab => self.divisor = (self.divisor & 0x00ff) | (v as u16) << 8,
            1 => {
                // Enabling the THRE interrupt with an empty transmitter raises it.
                if v & IER_THRE != 0 && self.ier & IER_THRE == 0 {
                    self.thre_pending = true;
                }
                self.ier = v & 0x0f;
            }
            2 => {
                self.fifo_enabled = v & 1 != 0;
                if v & 2 != 0 {
                    self.rx.clear();
                }
            }
            3 => self.lcr = v,
            4 => self.mcr = v & 0x1f,
            5 | 6 => {}
            _ => self.scr = v,
        }
    }

    fn reset(&mut self) {
        let out = std::mem::replace(&mut self.out, Box::new(std::io::sink()));
        *self = Uart16550::new(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Captured;

    #[test]
    fn transmits_and_reports_an_empty_transmitter() {
        let sink = Captured::default();
        let mut u = Uart16550::new(Box::new(sink.clone()));
        assert_eq!(u.read(0x3fd, 1) as u8 & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
        u.write(0x3f8, 1, b'A' as u32);
        assert_eq!(sink.bytes(), b"A");
    }

    #[test]
    fn divisor_latch_and_scratch() {
        let mut u = Uart16550::new(Box::new(std::io::sink()));
        u.write(0x3fb, 1, 0x80);
        u.write(0x3f8, 1, 0x01);
        u.write(0x3f9, 1, 0x00);
        u.write(0x3fb, 1, 0x03);
        assert_eq!(u.read(0x3fb, 1), 3);
        u.write(0x3fb, 1, 0x83);
        assert_eq!(u.read(0x3f8, 1), 1);
        u.write(0x3ff, 1, 0x5a);
        assert_eq!(u.read(0x3ff, 1), 0x5a);
    }

    #[test]
    fn receive_and_interrupts() {
        let mut u = Uart16550::new(Box::new(std::io::sink()));
        u.write(0x3fc, 1, MCR_OUT2 as u32);
        u.write(0x3f9, 1, IER_RX as u32);
        assert_eq!(u.read(0x3fa, 1), 1, "nothing pending");
        assert!(!u.irq_level());
        u.receive(b'x');
        assert!(u.irq_level());
        assert_eq!(u.read(0x3fa, 1), 0x04);
        assert_eq!(u.read(0x3fd, 1) as u8 & LSR_DR, LSR_DR);
        assert_eq!(u.read(0x3f8, 1), b'x' as u32);
        assert!(!u.irq_level());
        // THRE: raised when enabled, cleared by reading IIR.
        u.write(0x3f9, 1, IER_THRE as u32);
        assert_eq!(u.read(0x3fa, 1), 0x02);
        assert_eq!(u.read(0x3fa, 1), 0x01);
    }

    #[test]
    fn loopback() {
        let sink = Captured::default();
        let mut u = Uart16550::new(Box::new(sink.clone()));
        u.write(0x3fc, 1, (MCR_LOOP | 0x3) as u32);
        u.write(0x3f8, 1, 0x55);
        assert!(sink.bytes().is_empty());
        assert_eq!(u.read(0x3f8, 1), 0x55);
        assert_eq!(u.read(0x3fe, 1) & 0x30, 0x30, "DTR->DSR, RTS->CTS");
    }
}
