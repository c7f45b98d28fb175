//! The PIIX4's power management function (PCI 00:01.3, 8086:7113, as on
//! QEMU's `pc` machine): the ACPI fixed hardware (ACPI 6.x, 4.8) that the
//! FADT points at, and the SMBus host controller beside it.
//!
//! - The PM I/O block, 64 bytes where configuration register 0x40 (PMBASE)
//!   puts it once bit 0 of register 0x80 enables it (SeaBIOS writes 0x601
//!   and 1): PM1a_STS (0, write-1-to-clear), PM1a_EN (2), PM1a_CNT (4) and
//!   the PM timer (8). The timer is a free-running 24-bit count at
//!   3.579545 MHz computed from the machine's virtual time; TMR_STS is set
//!   each time its bit 23 changes. Writing PM1a_CNT with SLP_EN set enters
//!   the sleep type in SLP_TYP: type 0, which the DSDT's `\_S5` names,
//!   powers the machine off (an exit request with status 0); vemu offers no
//!   other sleep state, and says so on stderr if a guest asks for one.
//! - The GPE0 block at 0xafe0 (QEMU's): two status bytes
//!   (write-1-to-clear) and two enable bytes.
//! - The APM ports 0xb2 (SMI_CMD) and 0xb3: writing ACPI_ENABLE (0xf1) or
//!   ACPI_DISABLE (0xf0) to SMI_CMD sets or clears SCI_EN, the switch
//!   between legacy and ACPI mode, as QEMU's SMM-less PIIX4 does. vemu has
//!   no SMM: other commands do nothing, and configuration register 0x5b
//!   says SMM is already set up, so SeaBIOS does not try.
//! - The SCI, ISA IRQ 9, a level: high while SCI_EN is set and an enabled
//!   event (timer, global lock, power button, sleep button, RTC in PM1; any
//!   GPE) has its status set. The machine routes it (8259 or I/O APIC).
//! - The power button ([`Piix4Pm::power_button`], the monitor's
//!   `system_powerdown`): PWRBTN_STS is set if the guest enabled the event,
//!   as QEMU does.
//! - The SMBus block where register 0x90 puts it, enabled by bit 0 of
//!   0xd2 ([`SmbusHost`]).
//!
//! The configuration space lives with the other functions' in
//! [`crate::PciHost`]; the machine reads where the blocks are from it
//! ([`Piix4Pm::pm_base`], [`Piix4Pm::smbus_base`]) and hands this device
//! the accesses by offset. The fixed ports (APM, GPE) it answers as a
//! [`PortDevice`]. Registers and the timer's status are state
//! ([`Snapshot`]); the timer itself is the virtual clock.

use serde::{Deserialize, Serialize};

use super::smbus::SmbusHost;
use crate::chipset::pci::{command, ConfigSpace};
use crate::state::{self, Snapshot, StateError};
use crate::{PortDevice, Request};

/// The SCI's ISA interrupt.
pub const SCI_IRQ: u8 = crate::irq::line::SCI;
/// The APM control port (SMI_CMD) and the APM status port.
pub const SMI_CMD_PORT: u16 = 0xb2;
pub const APM_STATUS_PORT: u16 = 0xb3;
/// The SMI_CMD values that switch to ACPI mode and back.
pub const ACPI_ENABLE: u8 = 0xf1;
pub const ACPI_DISABLE: u8 = 0xf0;
/// The GPE0 block (QEMU's place for it on the PIIX4).
pub const GPE0_BASE: u16 = 0xafe0;
pub const GPE0_LEN: u16 = 4;
/// The PM I/O block's size and its registers' offsets.
pub const PM_BLOCK_BYTES: u16 = 64;
pub const PM1_STS: u16 = 0;
pub const PM1_EN: u16 = 2;
pub const PM1_CNT: u16 = 4;
pub const PM_TMR: u16 = 8;
/// The PM timer's rate.
pub const PM_TIMER_HZ: u64 = 3_579_545;
/// The sleep type of S5 (soft off), as the DSDT's `\_S5` says.
pub const SLP_TYP_S5: u8 = 0;

/// PM1 status bits; the enable bits of the events are at the same places.
pub mod pm1 {
    pub const TMR: u16 = 1 << 0;
    pub const BM: u16 = 1 << 4;
    pub const GBL: u16 = 1 << 5;
    pub const PWRBTN: u16 = 1 << 8;
    pub const SLPBTN: u16 = 1 << 9;
    pub const RTC: u16 = 1 << 10;
    pub const WAK: u16 = 1 << 15;
    /// The status bits software clears by writing 1.
    pub const WRITE_1_CLEAR: u16 = TMR | BM | GBL | PWRBTN | SLPBTN | RTC | WAK;
    /// The events that raise the SCI when enabled.
    pub const SCI_EVENTS: u16 = TMR | GBL | PWRBTN | SLPBTN | RTC;
}

/// PM1 control bits.
pub mod cnt {
    pub const SCI_EN: u16 = 1 << 0;
    pub const SLP_TYP_SHIFT: u16 = 10;
    pub const SLP_TYP_MASK: u16 = 7 << SLP_TYP_SHIFT;
    pub const SLP_EN: u16 = 1 << 13;
}

/// Configuration registers of the function.
mod cfg {
    pub const PMBASE: u8 = 0x40;
    pub const DEVACTB: usize = 0x58;
    pub const PMREGMISC: u8 = 0x80;
    pub const SMBBA: u8 = 0x90;
    pub const SMBHSTCFG: u8 = 0xd2;
}

/// The PM timer's count at virtual time `ns` (not wrapped to 24 bits).
fn ticks(ns: u64) -> u64 {
    (ns as u128 * PM_TIMER_HZ as u128 / 1_000_000_000) as u64
}

/// The first virtual time at which the count reaches `tick`.
fn time_of_tick(tick: u64) -> u64 {
    (tick as u128 * 1_000_000_000).div_ceil(PM_TIMER_HZ as u128) as u64
}

/// The guest-visible registers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Registers {
    /// PM1 status bits other than TMR_STS.
    pm1_sts: u16,
    pm1_en: u16,
    pm1_cnt: u16,
    /// The timer's count when TMR_STS was last cleared: it is set again
    /// once bit 23 of the count changes.
    tmr_cleared_at: u64,
    gpe_sts: [u8; 2],
    gpe_en: [u8; 2],
    apm_cnt: u8,
    apm_sts: u8,
    smbus: SmbusHost,
}

/// The power management function.
#[derive(Debug, Default)]
pub struct Piix4Pm {
    regs: Registers,
    /// Virtual time of the access being made.
    now: u64,
    request: Option<Request>,
}

impl Piix4Pm {
    pub fn new() -> Piix4Pm {
        Piix4Pm::default()
    }

    /// The function's configuration space at power-on, as QEMU's: the PM
    /// block placed nowhere and off, the SMBus at 0xb100 and on, SMM marked
    /// as set up, the device resource registers saying COM1 is decoded.
    pub fn pci_function() -> ConfigSpace {
        let mut f = ConfigSpace::new(0x8086, 0x7113, 0x03, 0x06_80_00, 0x00);
        f.set16(0x06, 0x0280); // fast back-to-back, medium DEVSEL
        f.set16(0x2c, 0x1af4);
        f.set16(0x2e, 0x1100);
        f.enable_command(command::IO | command::MEMORY | command::BUS_MASTER | command::INTX_DISABLE);
        f.set_interrupt_pin(1);
        for off in 0x40..0x100 {
            f.allow(off, 0xff);
        }
        f.set8(cfg::PMBASE as usize, 0x01); // I/O space indicator
        f.allow(cfg::PMBASE as usize, 0xc0); // 64-byte aligned
        f.set16(cfg::SMBBA as usize, 0xb101);
        f.allow(cfg::SMBBA as usize, 0xf0); // 16-byte aligned
        f.set8(cfg::SMBHSTCFG as usize, 0x09); // enabled, interrupt on IRQ 9
        f.set8(cfg::DEVACTB + 3, 0x02); // APMC_EN: no SMM set-up wanted
        f.set8(0x5f, 0x10);
        f.set8(0x63, 0x60);
        f.set8(0x67, 0x08);
        f
    }

    /// Where the PM block is decoded: PMBASE, when bit 0 of PMREGMISC
    /// enables it and it is not 0.
    pub fn pm_base(f: &ConfigSpace) -> Option<u16> {
        let base = (f.read(cfg::PMBASE, 4) & 0xffc0) as u16;
        (f.read(cfg::PMREGMISC, 1) & 1 != 0 && base != 0).then_some(base)
    }

    /// Where the SMBus block is decoded: SMBBA, when bit 0 of SMBHSTCFG
    /// enables it and it is not 0.
    pub fn smbus_base(f: &ConfigSpace) -> Option<u16> {
        let base = (f.read(cfg::SMBBA, 4) & 0xfff0) as u16;
        (f.read(cfg::SMBHSTCFG, 1) & 1 != 0 && base != 0).then_some(base)
    }

    /// PM1 status as the guest reads it.
    fn pm1_status(&self) -> u16 {
        let toggled = ticks(self.now) >> 23 != self.regs.tmr_cleared_at >> 23;
        self.regs.pm1_sts | if toggled { pm1::TMR } else { 0 }
    }

    /// Whether the SCI is asserted now.
    pub fn sci_level(&self) -> bool {
        let r = &self.regs;
        let pm1 = self.pm1_status() & r.pm1_en & pm1::SCI_EVENTS != 0;
        let gpe = (r.gpe_sts[0] & r.gpe_en[0]) | (r.gpe_sts[1] & r.gpe_en[1]) != 0;
        r.pm1_cnt & cnt::SCI_EN != 0 && (pm1 || gpe)
    }

    /// When the SCI will next rise by itself (the timer's bit 23 changing
    /// with its event enabled), if it can.
    pub fn next_event(&self, now: u64) -> Option<u64> {
        let r = &self.regs;
        let armed = r.pm1_en & pm1::TMR != 0 && r.pm1_cnt & cnt::SCI_EN != 0;
        let pending = ticks(now) >> 23 != r.tmr_cleared_at >> 23;
        (armed && !pending).then(|| time_of_tick(((r.tmr_cleared_at >> 23) + 1) << 23))
    }

    /// The power button is pressed (QEMU's `system_powerdown`): its status
    /// is set if the guest enabled the event.
    pub fn power_button(&mut self) {
        if self.regs.pm1_en & pm1::PWRBTN != 0 {
            self.regs.pm1_sts |= pm1::PWRBTN;
        }
    }

    fn pm_read_byte(&self, offset: u16) -> u8 {
        let r = &self.regs;
        let half = |v: u16, off: u16| (v >> (8 * (off & 1))) as u8;
        match offset {
            0..=1 => half(self.pm1_status(), offset),
            2..=3 => half(r.pm1_en, offset),
            4..=5 => half(r.pm1_cnt, offset),
            8..=11 => ((ticks(self.now) & 0xff_ffff) >> (8 * (offset - 8))) as u8,
            o if o < PM_BLOCK_BYTES => 0,
            _ => 0xff,
        }
    }

    fn pm_write_byte(&mut self, offset: u16, v: u8) {
        let shift = 8 * (offset & 1);
        let replace = |old: u16| (old & !(0xff << shift)) | (v as u16) << shift;
        match offset {
            0..=1 => {
                let clear = (v as u16) << shift & pm1::WRITE_1_CLEAR;
                if clear & pm1::TMR != 0 && self.pm1_status() & pm1::TMR != 0 {
                    self.regs.tmr_cleared_at = ticks(self.now);
                }
                self.regs.pm1_sts &= !clear;
            }
            2..=3 => self.regs.pm1_en = replace(self.regs.pm1_en),
            4..=5 => {
                let value = replace(self.regs.pm1_cnt);
                self.regs.pm1_cnt = value & !cnt::SLP_EN;
                if value & cnt::SLP_EN != 0 {
                    self.sleep(((value & cnt::SLP_TYP_MASK) >> cnt::SLP_TYP_SHIFT) as u8);
                }
            }
            _ => {}
        }
    }

    fn sleep(&mut self, slp_typ: u8) {
        if slp_typ == SLP_TYP_S5 {
            self.request = Some(Request::Exit(0));
        } else {
            eprintln!(
                "vemu: the guest asked for ACPI sleep type {slp_typ}; vemu only powers off (S5, type 0)"
            );
        }
    }

    /// Reads `size` bytes at `offset` in the PM block (bytes past its end
    /// read as all ones).
    pub fn pm_read(&self, offset: u16, size: u8) -> u32 {
        (0..size as u16).fold(0, |v, i| v | (self.pm_read_byte(offset.wrapping_add(i)) as u32) << (8 * i))
    }

    /// Writes `size` bytes at `offset` in the PM block.
    pub fn pm_write(&mut self, offset: u16, size: u8, value: u32) {
        for i in 0..size as u16 {
            self.pm_write_byte(offset.wrapping_add(i), (value >> (8 * i)) as u8);
        }
    }

    /// Reads `size` bytes at `offset` in the SMBus block.
    pub fn smbus_read(&self, offset: u16, size: u8) -> u32 {
        (0..size as u16).fold(0, |v, i| {
            let o = offset.wrapping_add(i);
            let byte = if o < super::smbus::SMBUS_BYTES { self.regs.smbus.read(o) } else { 0xff };
            v | (byte as u32) << (8 * i)
        })
    }

    /// Writes `size` bytes at `offset` in the SMBus block.
    pub fn smbus_write(&mut self, offset: u16, size: u8, value: u32) {
        for i in 0..size as u16 {
            self.regs.smbus.write(offset.wrapping_add(i), (value >> (8 * i)) as u8);
        }
    }
}

impl PortDevice for Piix4Pm {
    fn sync(&mut self, now: u64) {
        self.now = now;
    }

    fn read(&mut self, port: u16, _size: u8) -> u32 {
        match port {
            SMI_CMD_PORT => self.regs.apm_cnt as u32,
            APM_STATUS_PORT => self.regs.apm_sts as u32,
            p if p.wrapping_sub(GPE0_BASE) < 2 => self.regs.gpe_sts[(p - GPE0_BASE) as usize] as u32,
            p if p.wrapping_sub(GPE0_BASE) < GPE0_LEN => {
                self.regs.gpe_en[(p - GPE0_BASE - 2) as usize] as u32
            }
            _ => 0xff,
        }
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        let v = value as u8;
        match port {
            SMI_CMD_PORT => {
                self.regs.apm_cnt = v;
                match v {
                    ACPI_ENABLE => self.regs.pm1_cnt |= cnt::SCI_EN,
                    ACPI_DISABLE => self.regs.pm1_cnt &= !cnt::SCI_EN,
                    _ => {}
                }
            }
            APM_STATUS_PORT => self.regs.apm_sts = v,
            p if p.wrapping_sub(GPE0_BASE) < 2 => self.regs.gpe_sts[(p - GPE0_BASE) as usize] &= !v,
            p if p.wrapping_sub(GPE0_BASE) < GPE0_LEN => self.regs.gpe_en[(p - GPE0_BASE - 2) as usize] = v,
            _ => {}
        }
    }

    fn take_request(&mut self) -> Option<Request> {
        self.request.take()
    }

    /// Registers back to their power-on values; the timer runs on, its
    /// status clear.
    fn reset(&mut self) {
        self.regs = Registers { tmr_cleared_at: ticks(self.now), ..Registers::default() };
        self.request = None;
    }
}

impl Snapshot for Piix4Pm {
    fn save(&self) -> Vec<u8> {
        state::encode(&self.regs)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        self.regs = state::decode(bytes)?;
        self.request = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn pm_at(now: u64) -> Piix4Pm {
        let mut pm = Piix4Pm::new();
        pm.sync(now);
        pm
    }

    fn timer(pm: &mut Piix4Pm, now: u64) -> u32 {
        pm.sync(now);
        pm.pm_read(PM_TMR, 4)
    }

    #[test]
    fn the_timer_counts_at_3_579545_mhz_of_virtual_time() {
        let mut pm = Piix4Pm::new();
        assert_eq!(timer(&mut pm, 0), 0);
        assert_eq!(timer(&mut pm, SECOND), 3_579_545);
        assert_eq!(timer(&mut pm, SECOND / 1000), 3_579);
        assert_eq!(timer(&mut pm, 2 * SECOND) - timer(&mut pm, SECOND), 3_579_545);
        // 24 bits: it wraps after 2^24 ticks (4.687 s).
        let wrap = time_of_tick(1 << 24);
        assert_eq!(timer(&mut pm, wrap), 0);
        assert_eq!(timer(&mut pm, wrap - 1), 0xff_ffff);
        assert_eq!(timer(&mut pm, 10 * SECOND), (35_795_450 & 0xff_ffff) as u32);
        // Bytes and halves read the same count.
        pm.sync(SECOND);
        assert_eq!(pm.pm_read(PM_TMR, 2) | pm.pm_read(PM_TMR + 2, 2) << 16, 3_579_545);
        assert_eq!(pm.pm_read(PM_TMR + 2, 1), 3_579_545 >> 16);
        pm.pm_write(PM_TMR, 4, 0);
        assert_eq!(pm.pm_read(PM_TMR, 4), 3_579_545, "the timer is read-only");
    }

    #[test]
    fn timer_status_follows_bit_23_and_clears_by_writing_1() {
        let mut pm = Piix4Pm::new();
        let toggle = time_of_tick(1 << 23);
        pm.sync(toggle - 1);
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16 & pm1::TMR, 0);
        pm.sync(toggle);
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::TMR);
        pm.pm_write(PM1_STS, 2, 0);
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::TMR, "writing 0 clears nothing");
        pm.pm_write(PM1_STS, 2, pm1::TMR as u32);
        assert_eq!(pm.pm_read(PM1_STS, 2), 0);
        // Set again at the next change of bit 23 (back to 0), not before.
        let next = time_of_tick(2 << 23);
        pm.sync(next - 1);
        assert_eq!(pm.pm_read(PM1_STS, 2), 0);
        pm.sync(next);
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::TMR);
    }

    #[test]
    fn status_bits_are_write_1_to_clear_byte_by_byte() {
        let mut pm = pm_at(0);
        pm.pm_write(PM1_EN, 2, pm1::PWRBTN as u32);
        pm.power_button();
        pm.regs.pm1_sts |= pm1::WAK | pm1::GBL;
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::PWRBTN | pm1::WAK | pm1::GBL);
        pm.pm_write(PM1_STS, 1, 0xff); // the low byte: GBL
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::PWRBTN | pm1::WAK);
        pm.pm_write(PM1_STS + 1, 1, (pm1::WAK >> 8) as u32);
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::PWRBTN);
        pm.pm_write(PM1_STS, 4, (pm1::PWRBTN as u32) | 0xffff << 16);
        assert_eq!(pm.pm_read(PM1_STS, 2), 0);
        assert_eq!(pm.pm_read(PM1_EN, 2), 0xffff, "a dword write reaches the enables too");
    }

    #[test]
    fn the_timer_raises_the_sci_only_when_enabled_in_acpi_mode() {
        let mut pm = Piix4Pm::new();
        assert_eq!(pm.next_event(0), None);
        pm.pm_write(PM1_EN, 2, pm1::TMR as u32);
        assert_eq!(pm.next_event(0), None, "legacy mode: no SCI");
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        let due = pm.next_event(0).expect("armed");
        assert_eq!(due, time_of_tick(1 << 23));
        assert!((2_343_000_000..2_344_000_000).contains(&due), "2^23 ticks is 2.34 s");
        pm.sync(due - 1);
        assert!(!pm.sci_level());
        pm.sync(due);
        assert!(pm.sci_level());
        assert_eq!(pm.next_event(due), None, "pending until cleared");
        pm.pm_write(PM1_STS, 2, pm1::TMR as u32);
        assert!(!pm.sci_level());
        assert_eq!(pm.next_event(due), Some(time_of_tick(2 << 23)));
        pm.pm_write(PM1_EN, 2, 0);
        pm.sync(time_of_tick(3 << 23));
        assert!(!pm.sci_level(), "status set, event disabled");
        assert_ne!(pm.pm_read(PM1_STS, 2) as u16 & pm1::TMR, 0);
    }

    #[test]
    fn smi_cmd_switches_acpi_mode() {
        let mut pm = pm_at(0);
        assert_eq!(pm.pm_read(PM1_CNT, 2) as u16 & cnt::SCI_EN, 0, "legacy mode at power-on");
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        assert_eq!(pm.pm_read(PM1_CNT, 2) as u16 & cnt::SCI_EN, cnt::SCI_EN);
        assert_eq!(pm.read(SMI_CMD_PORT, 1), ACPI_ENABLE as u32);
        pm.write(SMI_CMD_PORT, 1, 0x42);
        assert_eq!(pm.pm_read(PM1_CNT, 2) as u16 & cnt::SCI_EN, cnt::SCI_EN, "other commands change nothing");
        pm.write(SMI_CMD_PORT, 1, ACPI_DISABLE as u32);
        assert_eq!(pm.pm_read(PM1_CNT, 2) as u16 & cnt::SCI_EN, 0);
        pm.write(APM_STATUS_PORT, 1, 0x5a);
        assert_eq!(pm.read(APM_STATUS_PORT, 1), 0x5a);
        assert_eq!(pm.take_request(), None);
    }

    #[test]
    fn entering_s5_powers_off() {
        let mut pm = pm_at(0);
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        // SLP_TYP alone is no request.
        pm.pm_write(PM1_CNT, 2, 5 << cnt::SLP_TYP_SHIFT | cnt::SCI_EN as u32);
        assert_eq!(pm.take_request(), None);
        pm.pm_write(PM1_CNT, 2, (SLP_TYP_S5 as u32) << cnt::SLP_TYP_SHIFT | cnt::SLP_EN as u32 | 1);
        assert_eq!(pm.take_request(), Some(Request::Exit(0)));
        assert_eq!(pm.pm_read(PM1_CNT, 2) as u16 & cnt::SLP_EN, 0, "SLP_EN reads 0");
        // The high byte alone carries SLP_TYP and SLP_EN.
        pm.pm_write(PM1_CNT + 1, 1, (cnt::SLP_EN >> 8) as u32);
        assert_eq!(pm.take_request(), Some(Request::Exit(0)));
        // Another sleep type is not offered, and ignored.
        pm.pm_write(PM1_CNT, 2, (1 << cnt::SLP_TYP_SHIFT | cnt::SLP_EN) as u32);
        assert_eq!(pm.take_request(), None);
    }

    #[test]
    fn the_power_button_raises_the_sci_only_when_enabled() {
        let mut pm = pm_at(0);
        pm.power_button();
        assert_eq!(pm.pm_read(PM1_STS, 2), 0, "event disabled: ignored, as QEMU does");
        pm.pm_write(PM1_EN, 2, pm1::PWRBTN as u32);
        pm.power_button();
        assert_eq!(pm.pm_read(PM1_STS, 2) as u16, pm1::PWRBTN);
        assert!(!pm.sci_level(), "no SCI in legacy mode");
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        assert!(pm.sci_level());
        pm.pm_write(PM1_STS, 2, pm1::PWRBTN as u32);
        assert!(!pm.sci_level());
        pm.power_button();
        assert!(pm.sci_level());
        pm.pm_write(PM1_EN, 2, 0);
        assert!(!pm.sci_level(), "the level follows the enable");
    }

    #[test]
    fn gpe_block() {
        let mut pm = pm_at(0);
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        pm.regs.gpe_sts = [0x06, 0x80];
        assert_eq!(pm.read(GPE0_BASE, 1), 0x06);
        assert_eq!(pm.read(GPE0_BASE + 1, 1), 0x80);
        assert!(!pm.sci_level());
        pm.write(GPE0_BASE + 2, 1, 0x02);
        assert_eq!(pm.read(GPE0_BASE + 2, 1), 0x02);
        assert!(pm.sci_level());
        pm.write(GPE0_BASE, 1, 0x02);
        assert_eq!(pm.read(GPE0_BASE, 1), 0x04, "write 1 to clear");
        assert!(!pm.sci_level());
        pm.write(GPE0_BASE + 3, 1, 0x80);
        assert!(pm.sci_level(), "the second byte's events too");
    }

    #[test]
    fn configuration_places_the_blocks() {
        let mut f = Piix4Pm::pci_function();
        assert_eq!(f.read(0x00, 4), 0x7113_8086);
        assert_eq!(f.read(0x08, 4), 0x0680_0003, "bridge (other), revision 3");
        assert_eq!(f.interrupt_pin(), 1);
        assert_eq!(Piix4Pm::pm_base(&f), None, "off at power-on");
        assert_eq!(Piix4Pm::smbus_base(&f), Some(0xb100));
        assert_eq!(f.read(0x58, 4) & 1 << 25, 1 << 25, "SMM marked as set up");
        // As SeaBIOS programs it.
        f.write(0x40, 4, 0x601);
        assert_eq!(f.read(0x40, 4), 0x601);
        assert_eq!(Piix4Pm::pm_base(&f), None);
        f.write(0x80, 1, 0x01);
        assert_eq!(Piix4Pm::pm_base(&f), Some(0x600));
        f.write(0x40, 4, 0x1234);
        assert_eq!(f.read(0x40, 4), 0x1201, "64-byte aligned, I/O indicator fixed");
        f.write(0x90, 4, 0x701);
        f.write(0xd2, 1, 0x09);
        assert_eq!(Piix4Pm::smbus_base(&f), Some(0x700));
        f.write(0xd2, 1, 0x08);
        assert_eq!(Piix4Pm::smbus_base(&f), None);
    }

    #[test]
    fn the_smbus_answers_through_the_function() {
        let mut pm = pm_at(0);
        pm.smbus_write(4, 1, 0xa1);
        pm.smbus_write(2, 1, 0x48);
        assert_eq!(pm.smbus_read(0, 1), super::super::smbus::STS_DEV_ERR as u32);
        assert_eq!(pm.smbus_read(15, 2), 0xff00, "past the block's end");
    }

    #[test]
    fn bytes_past_the_pm_block_are_nobody_s() {
        let pm = pm_at(0);
        assert_eq!(pm.pm_read(0x3e, 4), 0xffff_0000);
        assert_eq!(pm.pm_read(0x20, 4), 0, "unimplemented registers read 0");
    }

    #[test]
    fn reset_clears_the_registers_and_the_timer_runs_on() {
        let mut pm = pm_at(0);
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        pm.pm_write(PM1_EN, 2, 0x0121);
        pm.write(GPE0_BASE + 2, 1, 0xff);
        let now = time_of_tick(3 << 22); // bit 23 set
        pm.sync(now);
        assert_ne!(pm.pm_read(PM1_STS, 2), 0);
        pm.reset();
        assert_eq!(pm.pm_read(PM1_STS, 4), 0);
        assert_eq!(pm.pm_read(PM1_CNT, 2), 0);
        assert_eq!(pm.read(GPE0_BASE + 2, 1), 0);
        assert_eq!(pm.pm_read(PM_TMR, 4), (3 << 22) & 0xff_ffff);
    }

    /// What a guest sees of `pm` at `now` and a little later.
    fn observe(pm: &mut Piix4Pm, now: u64) -> Vec<u32> {
        let mut seen = Vec::new();
        for t in [now, now + SECOND, now + 3 * SECOND] {
            pm.sync(t);
            seen.extend((0..12).step_by(2).map(|o| pm.pm_read(o, 2)));
            seen.extend([SMI_CMD_PORT, APM_STATUS_PORT].map(|p| pm.read(p, 1)));
            seen.extend((0..4).map(|i| pm.read(GPE0_BASE + i, 1)));
            seen.extend((0..8).map(|o| pm.smbus_read(o, 1)));
            seen.push(pm.sci_level() as u32);
            seen.push(pm.next_event(t).map_or(0, |e| e as u32));
        }
        seen
    }

    #[test]
    fn state_round_trips() {
        let now = time_of_tick(3 << 22);
        let mut pm = pm_at(0);
        pm.write(SMI_CMD_PORT, 1, ACPI_ENABLE as u32);
        pm.write(APM_STATUS_PORT, 1, 0x33);
        pm.pm_write(PM1_EN, 2, (pm1::TMR | pm1::PWRBTN) as u32);
        pm.power_button();
        pm.write(GPE0_BASE + 3, 1, 0x10);
        pm.smbus_write(3, 1, 0x77);
        pm.smbus_write(2, 1, 0x44);
        pm.sync(now);
        pm.pm_write(PM1_STS, 2, pm1::TMR as u32);
        let saved = pm.save();

        let mut copy = Piix4Pm::new();
        copy.restore(&saved).unwrap();
        let seen = observe(&mut pm, now);
        assert_eq!(observe(&mut copy, now), seen);
        assert_ne!(observe(&mut pm_at(0), now), seen, "the state observed is not the power-on one");
        assert!(copy.restore(&saved[..saved.len() - 1]).is_err());
    }
}
