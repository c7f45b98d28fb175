//! The MC146818 real-time clock and its CMOS RAM (ports 0x70-0x71; bit 7 of
//! the index written to 0x70 is the NMI mask, which is only stored).
//!
//! The clock keeps the guest's date and time as the chip does, field by field
//! (a guest setting year, month and day one at a time never sees a date in
//! between normalised), exact at some virtual time; it advances with the
//! machine's virtual clock while running (SET clear, divider at 32.768 kHz)
//! and reads back in BCD or binary, 12- or 24-hour form (register B) with the
//! century at 0x32 (as on PC/AT BIOSes and QEMU). Register A's update-in-
//! progress bit is set for the last 244 us of every second; register C's
//! periodic, alarm and update-ended flags are set at their times and cleared
//! by reading C, and raise IRQ 8 when enabled in register B. Setting the SET
//! bit stops the clock for the guest to write a new time. Bytes 0x0e-0x7f are
//! plain CMOS RAM, which the machine fills with what a PC BIOS expects
//! (memory sizes, drives). Clock, flags and RAM are saved and restored as they
//! are ([`Snapshot`]): a restored clock goes on from the saved virtual time.

use serde::{Deserialize, Serialize};

use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

const NS_PER_S: u64 = 1_000_000_000;

/// Register A's update-in-progress bit lasts this long before each update.
const UIP_NS: u64 = 244_000;

/// The CMOS byte holding the century (the FADT names it).
pub const CENTURY_INDEX: usize = 0x32;

const REG_A: usize = 0x0a;
const REG_B: usize = 0x0b;
const REG_C: usize = 0x0c;
const REG_D: usize = 0x0d;

const A_UIP: u8 = 0x80;
const B_SET: u8 = 0x80;
const B_PIE: u8 = 0x40;
const B_AIE: u8 = 0x20;
const B_UIE: u8 = 0x10;
const B_BINARY: u8 = 0x04;
const B_24H: u8 = 0x02;
const C_IRQF: u8 = 0x80;
const C_PF: u8 = 0x40;
const C_AF: u8 = 0x20;
const C_UF: u8 = 0x10;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01: (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + (month <= 2) as i64;
    (year, month, day)
}

/// Broken-down wall time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Tm {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    /// 1 = Sunday, as the RTC counts.
    weekday: u32,
}

impl Tm {
    fn from_secs(secs: i64) -> Tm {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday (5 when Sunday is 1).
        let weekday = ((days + 4).rem_euclid(7) + 1) as u32;
        Tm { year, month, day, hour: rem / 3600, min: rem / 60 % 60, sec: rem % 60, weekday }
    }

    fn to_secs(self) -> i64 {
        days_from_civil(self.year, self.month.clamp(1, 12), self.day.max(1)) * 86_400
            + (self.hour * 3600 + self.min * 60 + self.sec) as i64
    }
}

/// The RTC and CMOS RAM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rtc {
    #[serde(with = "state::byte_array")]
    ram: [u8; 128],
    index: u8,
    /// The date and time registers (decoded, as written: not normalised),
    /// exact at virtual time `tm_ns`.
    tm: Tm,
    tm_ns: u64,
    /// Events up to this virtual time are in register C.
    checked_ns: u64,
    /// IRQ 8 rose since the machine last asked.
    irq_raised: bool,
    now: u64,
}

impl Rtc {
    /// A clock reading `wall_secs` (seconds since 1970, UTC) at virtual time
    /// `now`, with the CMOS RAM cleared.
    pub fn new(wall_secs: i64, now: u64) -> Rtc {
        let mut ram = [0u8; 128];
        ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
        ram[REG_B] = B_24H;
        ram[REG_D] = 0x80; // valid RAM and time
        Rtc {
            ram,
            index: 0,
            tm: Tm::from_secs(wall_secs),
            tm_ns: now,
            checked_ns: now,
            irq_raised: false,
            now,
        }
    }

    /// Sets CMOS byte `index` (0x0e-0x7f), as the machine's firmware set-up would.
    pub fn set_cmos(&mut self, index: u8, value: u8) {
        if (0x0e..0x80).contains(&index) {
            self.ram[index as usize] = value;
        }
    }

    /// CMOS byte `index`.
    pub fn cmos(&self, index: u8) -> u8 {
        self.ram[index as usize & 0x7f]
    }

    /// Whether the clock counts: SET clear and the divider at its normal
    /// 32.768 kHz time base (register A bits 6-4 = 010).
    fn running(&self) -> bool {
        self.ram[REG_B] & B_SET == 0 && self.ram[REG_A] & 0x70 == 0x20
    }

    /// Wall time in seconds since 1970 at virtual time `now`, and the
    /// nanoseconds into that second.
    fn wall(&self, now: u64) -> (i64, u64) {
        if !self.running() {
            return (self.tm.to_secs(), 0);
        }
        let elapsed = now.saturating_sub(self.tm_ns);
        (self.tm.to_secs() + (elapsed / NS_PER_S) as i64, elapsed % NS_PER_S)
    }

    /// The date and time registers at `now`: as written until the clock has
    /// counted a second since, then moved on by the seconds counted.
    fn current(&self, now: u64) -> Tm {
        match self.wall(now) {
            _ if !self.running() || now.saturating_sub(self.tm_ns) < NS_PER_S => self.tm,
            (secs, _) => Tm::from_secs(secs),
        }
    }

    /// Makes `tm` exact at `now` (keeping the phase of the second).
    fn settle(&mut self, now: u64) {
        if self.running() && now.saturating_sub(self.tm_ns) >= NS_PER_S {
            let whole = now.saturating_sub(self.tm_ns) / NS_PER_S;
            self.tm = self.current(now);
            self.tm_ns += whole * NS_PER_S;
        }
    }

    fn encode(&self, v: u32) -> u8 {
        if self.ram[REG_B] & B_BINARY != 0 {
            v as u8
        } else {
            (((v / 10) << 4) | (v % 10)) as u8
        }
    }

    fn decode(&self, v: u8) -> u32 {
        if self.ram[REG_B] & B_BINARY != 0 {
            v as u32
        } else {
            (v >> 4) as u32 * 10 + (v & 0xf) as u32
        }
    }

    fn encode_hour(&self, hour: u32) -> u8 {
        if self.ram[REG_B] & B_24H != 0 {
            return self.encode(hour);
        }
        let pm = if hour >= 12 { 0x80 } else { 0 };
        let h12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        self.encode(h12) | pm
    }

    fn decode_hour(&self, v: u8) -> u32 {
        if self.ram[REG_B] & B_24H != 0 {
            return self.decode(v);
        }
        let h = self.decode(v & 0x7f) % 12;
        if v & 0x80 != 0 {
            h + 12
        } else {
            h
        }
    }

    /// A clock register's value now.
    fn clock_register(&self, reg: usize, now: u64) -> u8 {
        let tm = self.current(now);
        match reg {
            0x00 => self.encode(tm.sec),
            0x02 => self.encode(tm.min),
            0x04 => self.encode_hour(tm.hour),
            0x06 => self.encode(tm.weekday),
            0x07 => self.encode(tm.day),
            0x08 => self.encode(tm.month),
            0x09 => self.encode(tm.year.rem_euclid(100) as u32),
            _ => self.encode((tm.year.div_euclid(100)) as u32),
        }
    }

    /// A guest write to a clock register: that field changes, as written,
    /// and the clock keeps the phase of the current second.
    fn set_clock_register(&mut self, reg: usize, v: u8) {
        self.update_flags(self.now);
        self.settle(self.now);
        let value = if reg == 0x04 { self.decode_hour(v) } else { self.decode(v) };
        let tm = &mut self.tm;
        match reg {
            0x00 => tm.sec = value,
            0x02 => tm.min = value,
            0x04 => tm.hour = value,
            0x06 => tm.weekday = value,
            0x07 => tm.day = value,
            0x08 => tm.month = value,
            0x09 => tm.year = tm.year.div_euclid(100) * 100 + value.min(99) as i64,
            _ => tm.year = value as i64 * 100 + tm.year.rem_euclid(100),
        }
    }

    /// The periodic interrupt's period, if the rate select gives one.
    fn period_ns(&self) -> Option<u64> {
        let rate = (self.ram[REG_A] & 0x0f) as u32;
        let hz = match rate {
            0 => return None,
            1 => 256,
            2 => 128,
            r => 32_768 >> (r - 1),
        };
        Some(NS_PER_S / hz)
    }

    /// Whether the alarm registers match wall time `secs`.
    fn alarm_matches(&self, secs: i64) -> bool {
        let tm = Tm::from_secs(secs);
        let field = |alarm: u8, value: u8| alarm & 0xc0 == 0xc0 || alarm == value;
        field(self.ram[0x01], self.encode(tm.sec))
            && field(self.ram[0x03], self.encode(tm.min))
            && field(self.ram[0x05], self.encode_hour(tm.hour))
    }

    /// Sets register C's flags for what happened up to `now`; IRQ 8 rises when
    /// IRQF goes up.
    fn update_flags(&mut self, now: u64) {
        if now <= self.checked_ns {
            return;
        }
        let from = self.checked_ns;
        self.checked_ns = now;
        let mut flags = 0;
        if let Some(p) = self.period_ns().filter(|_| self.ram[REG_A] & 0x60 != 0x60) {
            if now / p > from / p {
                flags |= C_PF;
            }
        }
        // Whether a second began in (from, now] needs only the time since
        // `tm` was exact; the calendar is read only when one did.
        let second = |t: u64| t.saturating_sub(self.tm_ns) / NS_PER_S;
        if self.running() && second(now) > second(from) {
            let (s0, _) = self.wall(from);
            let (s1, _) = self.wall(now);
            flags |= C_UF;
            // The seconds that began in (from, now]: at most a day's worth
            // need a look for the alarm.
            if (s0 + 1..=s1).rev().take(86_400).any(|s| self.alarm_matches(s)) {
                flags |= C_AF;
            }
        }
        self.ram[REG_C] |= flags;
        self.update_irqf();
    }

    /// IRQF = PF.PIE + AF.AIE + UF.UIE; IRQ 8 rises with it.
    fn update_irqf(&mut self) {
        let enables = self.ram[REG_B] & (B_PIE | B_AIE | B_UIE);
        let c = self.ram[REG_C] & 0x70;
        let irqf = if c & enables != 0 { C_IRQF } else { 0 };
        if irqf != 0 && self.ram[REG_C] & C_IRQF == 0 {
            self.irq_raised = true;
        }
        self.ram[REG_C] = c | irqf;
    }

    /// Whether IRQ 8 can still rise (IRQF is down, so a new event raises it).
    pub fn can_interrupt(&self) -> bool {
        self.ram[REG_C] & C_IRQF == 0
    }

    /// Whether IRQ 8 rose since the last call (events up to `now` counted).
    pub fn irq8_rose(&mut self, now: u64) -> bool {
        self.update_flags(now);
        std::mem::take(&mut self.irq_raised)
    }

    /// The next time an enabled interrupt can fire, after `now`.
    pub fn next_event(&self, now: u64) -> Option<u64> {
        let b = self.ram[REG_B];
        let mut next = None::<u64>;
        if b & B_PIE != 0 {
            if let Some(p) = self.period_ns() {
                next = Some((now / p + 1) * p);
            }
        }
        if b & (B_UIE | B_AIE) != 0 && self.running() {
            let (_, frac) = self.wall(now);
            let second = now + (NS_PER_S - frac);
            next = Some(next.map_or(second, |n| n.min(second)));
        }
        next
    }
}

impl PortDevice for Rtc {
    fn sync(&mut self, now: u64) {
        self.now = now;
    }

    fn read(&mut self, port: u16, _size: u8) -> u32 {
        if port == 0x70 {
            // The index register is write-only; a read floats.
            return 0xff;
        }
        let now = self.now;
        let reg = (self.index & 0x7f) as usize;
        let v = match reg {
            0x00 | 0x02 | 0x04 | 0x06..=0x09 | CENTURY_INDEX => self.clock_register(reg, now),
            REG_A => {
                let (_, frac) = self.wall(now);
                let updating = self.ram[REG_B] & B_SET == 0 && frac >= NS_PER_S - UIP_NS;
                (self.ram[REG_A] & !A_UIP) | if updating { A_UIP } else { 0 }
            }
            REG_C => {
                self.update_flags(now);
                std::mem::take(&mut self.ram[REG_C])
            }
            _ => self.ram[reg],
        };
        v as u32
    }

    fn reset(&mut self) {
        // The RESET line clears the interrupt enables, the square wave and
        // the flags; the time and the CMOS RAM stay.
        self.update_flags(self.now);
        self.ram[REG_B] &= !(B_PIE | B_AIE | B_UIE | 0x08);
        self.ram[REG_C] = 0;
        self.irq_raised = false;
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let v = value as u8;
        if port == 0x70 {
            self.index = v;
            return;
        }
        let now = self.now;
        let reg = (self.index & 0x7f) as usize;
        match reg {
            0x00 | 0x02 | 0x04 | 0x06..=0x09 | CENTURY_INDEX => self.set_clock_register(reg, v),
            REG_A | REG_B => {
                self.update_flags(now);
                // The clock stops where it is (SET, divider reset) and starts
                // again from the (perhaps rewritten) time.
                self.settle(now);
                let was_running = self.running();
                if reg == REG_A {
                    self.ram[REG_A] = v & !A_UIP;
                } else {
                    // SET also stops update-ended interrupts.
                    self.ram[REG_B] = if v & B_SET != 0 { v & !B_UIE } else { v };
                }
                if !was_running && self.running() {
                    self.tm_ns = now;
                    self.checked_ns = now;
                }
                self.update_irqf();
            }
            REG_C | REG_D => {}
            _ => self.ram[reg] = v,
        }
    }
}

impl Snapshot for Rtc {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let rtc: Rtc = state::decode(bytes)?;
        // A guest writes at most a byte's worth into each field (years up to
        // 25599); far beyond that, the date arithmetic would overflow.
        let tm = rtc.tm;
        let fields = [tm.month, tm.day, tm.hour, tm.min, tm.sec, tm.weekday];
        if !(-1_000_000..=1_000_000).contains(&tm.year) || fields.iter().any(|&f| f > 0xff) {
            return Err(StateError(format!("RTC: impossible date and time {tm:?}")));
        }
        *self = rtc;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 13:45:30 UTC, a Sunday.
    const WALL: i64 = 1_795_355_130;

    fn read(r: &mut Rtc, now: u64, reg: u8) -> u8 {
        r.sync(now);
        r.write(0x70, 1, reg as u32);
        r.read(0x71, 1) as u8
    }

    fn write(r: &mut Rtc, now: u64, reg: u8, v: u8) {
        r.sync(now);
        r.write(0x70, 1, reg as u32);
        r.write(0x71, 1, v as u32);
    }

    #[test]
    fn dates_round_trip() {
        for secs in [0, 951_782_400 /* 2000-02-29 */, WALL, 4_102_444_800 /* 2100-01-01 */] {
            assert_eq!(Tm::from_secs(secs).to_secs(), secs);
        }
        let tm = Tm::from_secs(WALL);
        assert_eq!(
            (tm.year, tm.month, tm.day, tm.hour, tm.min, tm.sec, tm.weekday),
            (2026, 11, 22, 13, 45, 30, 1)
        );
    }

    #[test]
    fn time_in_bcd_and_binary_advancing_with_virtual_time() {
        let mut r = Rtc::new(WALL, 0);
        assert_eq!(read(&mut r, 0, 0x00), 0x30);
        assert_eq!(read(&mut r, 0, 0x04), 0x13);
        assert_eq!(read(&mut r, 0, 0x09), 0x26);
        assert_eq!(read(&mut r, 0, 0x32), 0x20);
        assert_eq!(read(&mut r, 0, 0x06), 0x01);
        assert_eq!(read(&mut r, 90 * NS_PER_S, 0x02), 0x47, "90 s later: 13:47:00");
        write(&mut r, 0, 0x0b, B_24H | B_BINARY);
        assert_eq!(read(&mut r, 0, 0x07), 22);
        // 12-hour mode: 1 PM.
        write(&mut r, 0, 0x0b, B_BINARY);
        assert_eq!(read(&mut r, 0, 0x04), 0x81);
    }

    #[test]
    fn setting_the_time() {
        let mut r = Rtc::new(WALL, 0);
        write(&mut r, 0, 0x0b, B_SET | B_24H);
        write(&mut r, 10, 0x04, 0x08);
        write(&mut r, 10, 0x02, 0x00);
        write(&mut r, 10, 0x00, 0x00);
        assert_eq!(read(&mut r, 5 * NS_PER_S, 0x00), 0x00, "stopped while SET");
        write(&mut r, 5 * NS_PER_S, 0x0b, B_24H);
        assert_eq!(read(&mut r, 7 * NS_PER_S, 0x00), 0x02);
        assert_eq!(read(&mut r, 7 * NS_PER_S, 0x04), 0x08);
    }

    #[test]
    fn date_fields_are_written_one_at_a_time() {
        // 2026-01-31; set to 2026-02-10 month first: no "February 31st" in between.
        let mut r =
            Rtc::new(Tm { year: 2026, month: 1, day: 31, hour: 12, min: 0, sec: 0, weekday: 7 }.to_secs(), 0);
        write(&mut r, 0, 0x0b, B_SET | B_24H);
        write(&mut r, 0, 0x09, 0x26);
        write(&mut r, 0, 0x08, 0x02);
        write(&mut r, 0, 0x07, 0x10);
        write(&mut r, 0, 0x0b, B_24H);
        assert_eq!((read(&mut r, 0, 0x08), read(&mut r, 0, 0x07)), (0x02, 0x10));
        assert_eq!(read(&mut r, 3 * NS_PER_S, 0x00), 0x03);
        // Without SET, too, within the second.
        write(&mut r, 3 * NS_PER_S, 0x07, 0x31);
        write(&mut r, 3 * NS_PER_S, 0x08, 0x03);
        assert_eq!((read(&mut r, 3 * NS_PER_S, 0x08), read(&mut r, 3 * NS_PER_S, 0x07)), (0x03, 0x31));
    }

    #[test]
    fn divider_reset_stops_the_clock() {
        let mut r = Rtc::new(WALL, 0);
        write(&mut r, 0, 0x0a, 0x70);
        assert_eq!(read(&mut r, 5 * NS_PER_S, 0x00), 0x30);
        write(&mut r, 5 * NS_PER_S, 0x0a, 0x26);
        assert_eq!(read(&mut r, 6 * NS_PER_S, 0x00), 0x31);
    }

    #[test]
    fn reset_clears_enables_and_flags() {
        let mut r = Rtc::new(WALL, 0);
        write(&mut r, 0, 0x0b, B_24H | B_PIE);
        assert!(r.irq8_rose(NS_PER_S / 100));
        r.reset();
        assert_eq!(read(&mut r, NS_PER_S / 100, 0x0b), B_24H);
        assert_eq!(read(&mut r, NS_PER_S / 100, 0x0c), 0);
        assert!(r.can_interrupt());
    }

    #[test]
    fn update_in_progress_and_register_c() {
        let mut r = Rtc::new(WALL, 0);
        assert_eq!(read(&mut r, 0, 0x0a), 0x26);
        assert_eq!(read(&mut r, NS_PER_S - 100_000, 0x0a), 0xa6, "UIP near the end of the second");
        assert_eq!(read(&mut r, NS_PER_S + 10, 0x0c) & C_UF, C_UF, "an update ended");
        assert_eq!(read(&mut r, NS_PER_S + 20, 0x0c), 0, "reading C cleared it");
        assert_eq!(read(&mut r, NS_PER_S + 30, 0x0d), 0x80);
    }

    #[test]
    fn periodic_and_update_interrupts() {
        let mut r = Rtc::new(WALL, 0);
        assert!(!r.irq8_rose(10 * NS_PER_S), "nothing enabled");
        read(&mut r, 10 * NS_PER_S, 0x0c);
        write(&mut r, 10 * NS_PER_S, 0x0b, B_24H | B_PIE);
        let p = NS_PER_S / 1024;
        let next = r.next_event(10 * NS_PER_S).unwrap();
        assert!(next > 10 * NS_PER_S && next <= 10 * NS_PER_S + p);
        assert!(r.irq8_rose(next));
        assert!(!r.irq8_rose(next + 2 * p), "IRQF stays up until C is read");
        assert_eq!(read(&mut r, next + 2 * p, 0x0c), C_IRQF | C_PF);
        assert!(r.irq8_rose(next + 3 * p));
    }

    #[test]
    fn alarm() {
        let mut r = Rtc::new(WALL, 0);
        write(&mut r, 0, 0x01, 0x35);
        write(&mut r, 0, 0x03, 0xc0);
        write(&mut r, 0, 0x05, 0xc0);
        write(&mut r, 0, 0x0b, B_24H | B_AIE);
        assert!(!r.irq8_rose(4 * NS_PER_S));
        assert!(r.irq8_rose(5 * NS_PER_S), "at hh:mm:35");
        assert_eq!(read(&mut r, 5 * NS_PER_S, 0x0c) & (C_IRQF | C_AF), C_IRQF | C_AF);
    }

    #[test]
    fn cmos_ram() {
        let mut r = Rtc::new(WALL, 0);
        r.set_cmos(0x15, 0x80);
        assert_eq!(read(&mut r, 0, 0x15), 0x80);
        write(&mut r, 0, 0x40, 0x12);
        assert_eq!(read(&mut r, 0, 0x40), 0x12);
        assert_eq!(read(&mut r, 0, 0x80 | 0x40), 0x12, "bit 7 of the index masks NMI");
        assert_eq!(r.read(0x70, 1), 0xff);
    }

    /// What a guest and the machine see of `r` from time `now` on: IRQ 8 and
    /// the next event, the clock, the status registers and CMOS bytes, as
    /// time passes.
    fn observe(r: &mut Rtc, now: u64) -> Vec<u64> {
        let mut seen = Vec::new();
        for step in 0..12 {
            let t = now + step * NS_PER_S / 7;
            seen.push(r.next_event(t).unwrap_or(u64::MAX));
            seen.push(r.irq8_rose(t) as u64);
            seen.push(r.can_interrupt() as u64);
            // The index the guest selected before the save comes first.
            r.sync(t);
            seen.push(r.read(0x71, 1) as u64);
            for reg in [0x00, 0x02, 0x04, 0x07, 0x09, 0x32, 0x0a, 0x0b, 0x0c, 0x0d, 0x01, 0x0e, 0x3f, 0x7f] {
                seen.push(read(r, t, reg) as u64);
            }
        }
        seen
    }

    #[test]
    fn state_round_trips() {
        let mut r = Rtc::new(WALL, 0);
        r.set_cmos(0x3f, 0x12);
        write(&mut r, 0, 0x7f, 0x99);
        // 12-hour binary mode, an alarm at hh:mm:33, a periodic rate of 64 Hz.
        write(&mut r, 0, 0x01, 33);
        write(&mut r, 0, 0x03, 0xc0);
        write(&mut r, 0, 0x05, 0xc0);
        write(&mut r, 0, 0x0a, 0x2a);
        write(&mut r, 0, 0x0b, B_BINARY | B_PIE | B_AIE);
        // Mid-second, the periodic flag up and IRQ 8 reported, then the index
        // left at register C.
        let now = 2 * NS_PER_S + 300_000_000;
        assert!(r.irq8_rose(now));
        r.write(0x70, 1, 0x0c);
        let saved = r.save();

        let mut copy = Rtc::new(0, 0);
        copy.restore(&saved).unwrap();
        let seen = observe(&mut r, now);
        assert_eq!(observe(&mut copy, now), seen);
        assert_ne!(
            observe(&mut Rtc::new(WALL, now), now),
            seen,
            "the state observed is not the power-on one"
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        let mut r = Rtc::new(WALL, 0);
        let mut bad = r.clone();
        bad.tm.year = i64::MAX;
        assert!(r.restore(&bad.save()).is_err());
        bad.tm.year = 2026;
        bad.tm.hour = u32::MAX;
        assert!(r.restore(&bad.save()).is_err());
        assert_eq!(read(&mut r, 0, 0x09), 0x26, "a refused state changes nothing");
    }
}
