//! The 8254 programmable interval timer (ports 0x40-0x43) and the PC's system
//! control port B (port 0x61), which gates timer channel 2 and reads back its
//! output.
//!
//! The timer counts a 1.193182 MHz clock derived from the machine's virtual
//! time, so everything here is a function of that time: a counter's value and
//! output are computed when read, and channel 0's output rising edges (IRQ 0)
//! when the machine asks. Modelled from the 8254 data sheet: modes 0 to 5,
//! binary and BCD counting, LSB/MSB/word access with its flip-flops, the
//! counter latch and read-back commands with status bytes, and gates (channel
//! 2's from port 0x61; channels 0 and 1 are always enabled on a PC). As QEMU
//! does, the timer is running in mode 3 with a count of 65536 at power-on, and
//! a new count takes effect at once in every mode. The timer's state,
//! times included, is saved and restored as it is ([`Snapshot`]).

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// The timer's input clock.
pub const PIT_HZ: u64 = 1_193_182;
const NS_PER_S: u64 = 1_000_000_000;

/// Clock ticks in `ns` nanoseconds.
fn ticks(ns: u64) -> u64 {
    (ns as u128 * PIT_HZ as u128 / NS_PER_S as u128) as u64
}

/// The first nanosecond at which `ticks` ticks have passed.
fn ns_of(ticks: u64) -> u64 {
    (ticks as u128 * NS_PER_S as u128).div_ceil(PIT_HZ as u128) as u64
}

fn to_bcd(v: u32) -> u32 {
    (0..4).fold(0, |acc, i| acc | ((v / 10u32.pow(i)) % 10) << (4 * i))
}

fn from_bcd(v: u32) -> u32 {
    (0..4).fold(0, |acc, i| acc + ((v >> (4 * i)) & 0xf).min(9) * 10u32.pow(i))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Channel {
    mode: u8,
    /// 1: LSB only, 2: MSB only, 3: LSB then MSB.
    access: u8,
    bcd: bool,
    /// The count in effect (1..=65536, or 10000 in BCD).
    count: u64,
    /// Counting started (or restarted) at this time; None: waiting for a count
    /// or, in modes 1 and 5, for a gate trigger.
    start: Option<u64>,
    /// Ticks counted while the gate was low in modes 0 and 4 (counting paused
    /// at this many ticks).
    paused_at: Option<u64>,
    gate: bool,
    /// The LSB of a word count written, waiting for its MSB.
    pending_lsb: Option<u8>,
    /// Reads of a word: the next one returns the MSB.
    read_msb: bool,
    /// Counter latch: the value, and whether its LSB was read.
    latch: Option<(u16, bool)>,
    status_latch: Option<u8>,
    /// A count was written that counting has not picked up yet.
    null_count: bool,
    /// Channel 0's IRQ: ticks up to which rising edges were reported.
    edges_seen: Option<u64>,
}

impl Channel {
    fn new(gate: bool, now: u64) -> Channel {
        Channel {
            mode: 3,
            access: 3,
            bcd: false,
            count: 0x10000,
            start: Some(now),
            paused_at: None,
            gate,
            pending_lsb: None,
            read_msb: false,
            latch: None,
            status_latch: None,
            null_count: false,
            edges_seen: None,
        }
    }

    /// Ticks counted since counting started, if it did.
    fn elapsed(&self, now: u64) -> Option<u64> {
        match (self.paused_at, self.start) {
            (Some(p), _) => Some(p),
            (None, Some(s)) => Some(ticks(now.saturating_sub(s))),
            (None, None) => None,
        }
    }

    /// The counting element's value.
    fn value(&self, now: u64) -> u32 {
        let n = self.count;
        let v = match self.elapsed(now) {
            None => n,
            Some(d) => match self.mode {
                // Past zero the counter wraps around its whole range.
                0 | 1 | 4 | 5 => {
                    let range = if self.bcd { 10000 } else { 0x10000 };
                    (n + range - d % range) % range
                }
                2 => n - d % n,
                // Mode 3 counts down by two, twice per period.
                _ => n - (2 * d) % n,
            },
        };
        let v = (v & 0xffff) as u32;
        if self.bcd {
            to_bcd(v % 10000)
        } else {
            v
        }
    }

    /// The OUT pin.
    fn out(&self, now: u64) -> bool {
        let n = self.count;
        match (self.mode, self.elapsed(now)) {
            (0, None) => false,
            (_, None) => true,
            (0, Some(d)) | (1, Some(d)) => d >= n,
            (2, Some(d)) => !self.gate || d % n != n - 1,
            (3, Some(d)) => !self.gate || d % n < n.div_ceil(2),
            (_, Some(d)) => d != n,
        }
    }

    /// Ticks (since the start) at which OUT rises, after `after` ticks:
    /// the first one, if any.
    fn next_rise(&self, after: Option<u64>) -> Option<u64> {
        let n = self.count;
        let first = after.map_or(0, |a| a + 1);
        match self.mode {
            0 | 1 => (first <= n).then_some(n),
            4 | 5 => (first <= n + 1).then_some(n + 1),
            // OUT rises as the count reloads (it was high when counting began).
            _ => Some(first.div_ceil(n).max(1) * n),
        }
    }

    fn write_count(&mut self, v: u8, now: u64) {
        let value = match self.access {
            1 => v as u32,
            2 => (v as u32) << 8,
            _ => match self.pending_lsb.take() {
                None => {
                    self.pending_lsb = Some(v);
                    return;
                }
                Some(lsb) => lsb as u32 | (v as u32) << 8,
            },
        };
        let value = if self.bcd { from_bcd(value) } else { value };
        self.count = match value {
            0 if self.bcd => 10000,
            0 => 0x10000,
            v => v as u64,
        };
        // Modes 1 and 5 wait for a gate trigger; the others start now.
        self.null_count = false;
        self.paused_at = None;
        self.edges_seen = None;
        if matches!(self.mode, 1 | 5) {
            self.start = None;
        } else {
            self.start = Some(now);
            if !self.gate && matches!(self.mode, 0 | 4) {
                self.paused_at = Some(0);
            }
        }
    }

    fn set_gate(&mut self, high: bool, now: u64) {
        if high == self.gate {
            return;
        }
        self.gate = high;
        match self.mode {
            0 | 4 => {
                if high {
                    // Resume: move the start so that the paused ticks count.
                    if let Some(p) = self.paused_at.take() {
                        self.start = Some(now.saturating_sub(ns_of(p)));
                    }
                } else {
                    self.paused_at = self.elapsed(now);
                }
            }
            // A rising edge triggers (1, 5) or restarts (2, 3) the count.
            _ if high && !self.null_count => {
                self.start = Some(now);
                self.paused_at = None;
                self.edges_seen = None;
            }
            // A low gate holds modes 2 and 3 (OUT goes high meanwhile).
            2 | 3 if !high => self.paused_at = self.elapsed(now),
            _ => {}
        }
    }

    fn latch_count(&mut self, now: u64) {
        if self.latch.is_none() {
            self.latch = Some((self.value(now) as u16, false));
        }
    }

    fn latch_status(&mut self, now: u64) {
        if self.status_latch.is_none() {
            self.status_latch = Some(
                (self.out(now) as u8) << 7
                    | (self.null_count as u8) << 6
                    | self.access << 4
                    | self.mode << 1
                    | self.bcd as u8,
            );
        }
    }

    fn read(&mut self, now: u64) -> u8 {
        if let Some(s) = self.status_latch.take() {
            return s;
        }
        let (value, latched) = match self.latch {
            Some((v, _)) => (v, true),
            None => (self.value(now) as u16, false),
        };
        let byte = match self.access {
            1 => value as u8,
            2 => (value >> 8) as u8,
            _ => {
                let msb =
                    if latched { self.latch.is_some_and(|(_, lsb_read)| lsb_read) } else { self.read_msb };
                if latched {
                    if msb {
                        self.latch = None;
                    } else {
                        self.latch = Some((value, true));
                    }
                } else {
                    self.read_msb = !msb;
                }
                return if msb { (value >> 8) as u8 } else { value as u8 };
            }
        };
        if latched {
            self.latch = None;
        }
        byte
    }
}

/// The 8254 and port 0x61.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pit {
    channels: [Channel; 3],
    /// Port 0x61 bits 0-3 as last written (timer 2 gate, speaker, parity and
    /// channel-check enables).
    port61: u8,
    now: u64,
}

impl Pit {
    /// The timer as at power-on at virtual time `now`.
    pub fn new(now: u64) -> Pit {
        Pit {
            channels: [Channel::new(true, now), Channel::new(true, now), Channel::new(false, now)],
            port61: 0,
            now,
        }
    }

    /// Whether channel 0's output rose (an IRQ 0 edge) since the last call,
    /// up to time `now`.
    pub fn irq0_rose(&mut self, now: u64) -> bool {
        let c = &mut self.channels[0];
        let (Some(start), None) = (c.start, c.paused_at) else { return false };
        let upto = ticks(now.saturating_sub(start));
        let rose = c.next_rise(c.edges_seen).is_some_and(|e| e <= upto);
        if c.edges_seen.is_none_or(|s| s < upto) {
            c.edges_seen = Some(upto);
        }
        rose
    }

    /// The time of channel 0's next output rising edge after `now`, if it will
    /// rise at all.
    pub fn next_irq0(&self, now: u64) -> Option<u64> {
        let c = &self.channels[0];
        let (Some(start), None) = (c.start, c.paused_at) else { return None };
        let seen = c.edges_seen.max(Some(ticks(now.saturating_sub(start))));
        c.next_rise(seen).map(|e| start + ns_of(e))
    }

    /// Channel 2's output, as port 0x61 bit 5 shows it.
    pub fn out2(&self, now: u64) -> bool {
        self.channels[2].out(now)
    }

    fn write_control(&mut self, v: u8) {
        let now = self.now;
        let sel = v >> 6;
        if sel == 3 {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches status.
            for (i, c) in self.channels.iter_mut().enumerate() {
                if v & (2 << i) != 0 {
                    if v & 0x20 == 0 {
                        c.latch_count(now);
                    }
                    if v & 0x10 == 0 {
                        c.latch_status(now);
                    }
                }
            }
            return;
        }
        let c = &mut self.channels[sel as usize];
        let access = (v >> 4) & 3;
        if access == 0 {
            c.latch_count(now);
            return;
        }
        c.access = access;
        c.mode = match (v >> 1) & 7 {
            6 => 2,
            7 => 3,
            m => m,
        };
        c.bcd = v & 1 != 0;
        c.start = None;
        c.paused_at = None;
        c.pending_lsb = None;
        c.read_msb = false;
        c.latch = None;
        c.status_latch = None;
        c.null_count = true;
        c.edges_seen = None;
    }
}

impl PortDevice for Pit {
    fn sync(&mut self, now: u64) {
        self.now = now;
    }

    fn read(&mut self, port: u16, _size: u8) -> u32 {
        let now = self.now;
        match port {
            0x40..=0x42 => self.channels[(port - 0x40) as usize].read(now) as u32,
            0x61 => {
                // Bit 4 toggles with every DRAM refresh request (about 15 us).
                let refresh = (now / 15_085) & 1 != 0;
                (self.port61 & 0x0f) as u32 | (refresh as u32) << 4 | (self.out2(now) as u32) << 5
            }
            _ => 0xff,
        }
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let now = self.now;
        let v = value as u8;
        match port {
            0x40..=0x42 => self.channels[(port - 0x40) as usize].write_count(v, now),
            0x43 => self.write_control(v),
            0x61 => {
                self.port61 = v & 0x0f;
                self.channels[2].set_gate(v & 1 != 0, now);
            }
            _ => {}
        }
    }

    fn reset(&mut self) {
        *self = Pit::new(self.now);
    }
}

impl Channel {
    /// Whether the saved fields make a channel the code above can run:
    /// a mode, an access, and a count in range.
    fn valid(&self) -> bool {
        let max = if self.bcd { 10000 } else { 0x10000 };
        self.mode <= 5 && (1..=3).contains(&self.access) && (1..=max).contains(&self.count)
    }
}

impl Snapshot for Pit {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let pit: Pit = state::decode(bytes)?;
        if let Some(i) = pit.channels.iter().position(|c| !c.valid()) {
            let c = &pit.channels[i];
            return Err(StateError(format!(
                "8254 channel {i}: mode {}, access {}, count {}",
                c.mode, c.access, c.count
            )));
        }
        *self = pit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(p: &mut Pit, now: u64) -> &mut Pit {
        p.sync(now);
        p
    }

    /// Nanoseconds of `t` timer ticks (rounded up).
    fn t(ticks: u64) -> u64 {
        ns_of(ticks)
    }

    #[test]
    fn power_on_channel_0_runs_at_18_2_hz() {
        let mut p = Pit::new(0);
        let first = p.next_irq0(0).unwrap();
        assert_eq!(first, t(0x10000));
        assert!(!p.irq0_rose(first - 1));
        assert!(p.irq0_rose(first));
        assert!(!p.irq0_rose(first + 10), "one edge per period");
        assert_eq!(p.next_irq0(first + 10), Some(t(0x20000)));
    }

    #[test]
    fn mode_2_rate_generator_and_counter_reads() {
        let mut p = Pit::new(0);
        at(&mut p, 1000).write(0x43, 1, 0x34); // channel 0, word, mode 2
        p.write(0x40, 1, 100);
        p.write(0x40, 1, 0);
        assert_eq!(p.next_irq0(1000), Some(1000 + t(100)));
        // The count read while running: 100 - ticks elapsed.
        at(&mut p, 1000 + t(30)).write(0x43, 1, 0x00); // latch channel 0
        assert_eq!(p.read(0x40, 1), 70);
        assert_eq!(p.read(0x40, 1), 0);
        assert!(!p.irq0_rose(1000 + t(99)));
        assert!(p.irq0_rose(1000 + t(100)));
        assert!(p.irq0_rose(1000 + t(200) + 5));
    }

    #[test]
    fn channel_2_one_shot_through_port_61() {
        // SeaBIOS's TSC calibration: gate on, mode 0, count 0x800, wait for OUT.
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x61, 1, 0x01);
        p.write(0x43, 1, 0xb0);
        p.write(0x42, 1, 0x00);
        p.write(0x42, 1, 0x08);
        assert_eq!(at(&mut p, t(0x7ff)).read(0x61, 1) & 0x20, 0);
        assert_eq!(at(&mut p, t(0x800)).read(0x61, 1) & 0x21, 0x21);
        assert_eq!(p.read(0x61, 1) & 0x0f, 0x01, "gate bit reads back");
    }

    #[test]
    fn a_low_gate_pauses_mode_0() {
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x61, 1, 0x01);
        p.write(0x43, 1, 0xb0);
        p.write(0x42, 1, 100);
        p.write(0x42, 1, 0);
        at(&mut p, t(40)).write(0x61, 1, 0x00);
        at(&mut p, t(1000)).write(0x43, 1, 0x80);
        assert_eq!(p.read(0x42, 1), 60, "paused at 60");
        p.read(0x42, 1);
        at(&mut p, t(1000)).write(0x61, 1, 0x01);
        assert_eq!(at(&mut p, t(1059)).read(0x61, 1) & 0x20, 0);
        assert_eq!(at(&mut p, t(1061)).read(0x61, 1) & 0x20, 0x20);
    }

    #[test]
    fn read_back_status_and_lsb_msb_flip_flop() {
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x43, 1, 0x76); // channel 1, word, mode 3
        p.write(0x41, 1, 0x34);
        p.write(0x41, 1, 0x12);
        // Read-back status and count of channel 1.
        p.write(0x43, 1, 0xc4);
        let status = p.read(0x41, 1);
        assert_eq!(status & 0x3f, 0x36, "access 3, mode 3, binary");
        assert_eq!(status & 0x40, 0, "count loaded");
        assert_eq!(p.read(0x41, 1), 0x34);
        assert_eq!(p.read(0x41, 1), 0x12);
        // Unlatched word reads alternate LSB and MSB.
        at(&mut p, t(2)).read(0x41, 1);
        let msb = p.read(0x41, 1);
        assert_eq!(msb, 0x12);
    }

    #[test]
    fn bcd_counts() {
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x43, 1, 0x31); // channel 0, word, mode 0, BCD
        p.write(0x40, 1, 0x00);
        p.write(0x40, 1, 0x10); // 1000 decimal
        at(&mut p, t(1)).write(0x43, 1, 0x00);
        assert_eq!(p.read(0x40, 1), 0x99);
        assert_eq!(p.read(0x40, 1), 0x09, "999 in BCD");
        assert_eq!(p.next_irq0(t(1)), Some(t(1000)));
    }

    #[test]
    fn mode_3_odd_count_and_bcd_wrap() {
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x43, 1, 0x16); // channel 0, LSB only, mode 3
        p.write(0x40, 1, 5);
        let reads: Vec<u32> = (0..6)
            .map(|i| {
                at(&mut p, t(i)).write(0x43, 1, 0x00);
                p.read(0x40, 1)
            })
            .collect();
        assert_eq!(reads, [5, 3, 1, 4, 2, 5], "period of 5 clocks");
        at(&mut p, 0).write(0x43, 1, 0x31); // mode 0, BCD
        p.write(0x40, 1, 0x00);
        p.write(0x40, 1, 0x10);
        at(&mut p, t(1001)).write(0x43, 1, 0x00);
        assert_eq!(p.read(0x40, 1), 0x99);
        assert_eq!(p.read(0x40, 1), 0x99, "past zero: 9999");
    }

    #[test]
    fn a_low_gate_holds_mode_2() {
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x61, 1, 0x01);
        p.write(0x43, 1, 0xb4); // channel 2, word, mode 2
        p.write(0x42, 1, 100);
        p.write(0x42, 1, 0);
        at(&mut p, t(30)).write(0x61, 1, 0x00);
        at(&mut p, t(60)).write(0x43, 1, 0x80);
        assert_eq!(p.read(0x42, 1), 70, "held at 70 while the gate is low");
        p.read(0x42, 1);
        assert_eq!(p.read(0x61, 1) & 0x20, 0x20, "OUT high while held");
        at(&mut p, t(60)).write(0x61, 1, 0x01);
        at(&mut p, t(60) + t(1)).write(0x43, 1, 0x80);
        assert_eq!(p.read(0x42, 1), 99, "the rising gate reloads");
    }

    #[test]
    fn mode_0_output_rises_once() {
        let mut p = Pit::new(0);
        at(&mut p, 0).write(0x43, 1, 0x30);
        p.write(0x40, 1, 10);
        p.write(0x40, 1, 0);
        assert!(p.irq0_rose(t(10)));
        assert!(!p.irq0_rose(t(100_000)));
        assert_eq!(p.next_irq0(t(100_000)), None);
    }

    /// What a guest and the machine see of `p` from time `now` on: channel 0's
    /// edges and next event, every counter read (latches first), port 0x61,
    /// and the rest of a count being written.
    fn observe(p: &mut Pit, now: u64) -> Vec<u64> {
        let mut seen = Vec::new();
        for step in 0..6 {
            let t = now + t(37 * step);
            seen.push(p.next_irq0(t).unwrap_or(u64::MAX));
            seen.push(p.irq0_rose(t) as u64);
            for port in [0x40, 0x40, 0x41, 0x41, 0x42, 0x42, 0x61] {
                seen.push(at(p, t).read(port, 1) as u64);
            }
        }
        let t = now + t(300);
        at(p, t).write(0x41, 1, 0x00);
        at(p, t).write(0x43, 1, 0xc2); // read-back: status and count of channel 0
        for port in [0x40, 0x40, 0x40, 0x41, 0x41] {
            seen.push(p.read(port, 1) as u64);
        }
        seen
    }

    #[test]
    fn state_round_trips() {
        let mut p = Pit::new(0);
        // Channel 0 in mode 2 (period 1000), latched mid-period.
        at(&mut p, 500).write(0x43, 1, 0x34);
        p.write(0x40, 1, 0xe8);
        p.write(0x40, 1, 0x03);
        at(&mut p, 500 + t(1000) + t(250)).write(0x43, 1, 0x00);
        // Channel 1: word access, the LSB of a new count written, MSB to come.
        p.write(0x43, 1, 0x70);
        p.write(0x41, 1, 0x34);
        // Channel 2: a one-shot with its gate low (paused), status latched.
        p.write(0x61, 1, 0x03);
        p.write(0x43, 1, 0xb0);
        p.write(0x42, 1, 0x00);
        p.write(0x42, 1, 0x10);
        at(&mut p, 500 + t(1500)).write(0x61, 1, 0x02);
        p.write(0x43, 1, 0xe8);
        let now = 500 + t(1600);
        p.sync(now);
        assert!(p.irq0_rose(now));
        let saved = p.save();

        let mut copy = Pit::new(0);
        copy.restore(&saved).unwrap();
        let seen = observe(&mut p, now);
        assert_eq!(observe(&mut copy, now), seen);
        assert_ne!(observe(&mut Pit::new(now), now), seen, "the state observed is not the power-on one");
        assert_eq!(seen[0], 500 + t(2000), "the next IRQ 0 is the period's end");
    }

    #[test]
    fn impossible_counts_are_refused() {
        let mut p = Pit::new(0);
        let mut bad = p.clone();
        bad.channels[1].count = 0;
        assert!(p.restore(&bad.save()).is_err());
        bad.channels[1].count = 2;
        bad.channels[1].mode = 6;
        assert!(p.restore(&bad.save()).is_err());
    }
}
