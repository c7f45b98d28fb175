//! A PS/2 mouse with the wheel extensions QEMU's mouse has: the commands a
//! host sends it through the 8042's 0xd4 (reset, identify, sample rate with
//! the IntelliMouse knocks, resolution, scaling, stream and remote mode, wrap
//! mode, status request, read data, enable and disable), and the host
//! frontend's motion turned into 3-byte packets, or 4-byte ones once the
//! guest has knocked for a wheel (device ID 3, or 4 with buttons 4 and 5).
//!
//! As QEMU's: motion is kept only while data reporting is enabled; each
//! packet carries at most ±127 on an axis and the rest goes into the next
//! packets (so the overflow bits stay clear); packets are sent at once rather
//! than at the sample rate; 2:1 scaling is reported but not applied. Packets
//! are queued while they fit in 16 bytes; command answers may use 8 more.
//! The controller side is `i8042.rs`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Button bits of [`Ps2Mouse::mouse_event`], as packets carry them.
pub mod button {
    pub const LEFT: u8 = 1 << 0;
    pub const RIGHT: u8 = 1 << 1;
    pub const MIDDLE: u8 = 1 << 2;
    /// Button 4 (reported with device ID 4 only).
    pub const SIDE: u8 = 1 << 3;
    /// Button 5 (reported with device ID 4 only).
    pub const EXTRA: u8 = 1 << 4;
}

/// "Command understood".
pub const ACK: u8 = 0xfa;
/// "Send that again": an unknown command.
pub const RESEND: u8 = 0xfe;
/// The self test passed.
pub const BAT_OK: u8 = 0xaa;

/// Bytes of movement packets the mouse holds for the controller.
const PACKET_ROOM: usize = 16;
/// Bytes the queue may hold with command answers.
const REPLY_ROOM: usize = PACKET_ROOM + 8;

// The status byte (0xe9's first answer), without the buttons.
const STATUS_REMOTE: u8 = 0x40;
const STATUS_ENABLED: u8 = 0x20;
const STATUS_SCALE_2_1: u8 = 0x10;

const DEFAULT_SAMPLE_RATE: u8 = 100;
/// 4 counts per millimetre.
const DEFAULT_RESOLUTION: u8 = 2;

/// What the next byte from the host is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Expecting {
    Command,
    /// The argument of 0xe8.
    Resolution,
    /// The argument of 0xf3.
    SampleRate,
}

/// How far the guest got with a knock sequence of sample rates: 200, 100, 80
/// turns on the wheel (ID 3); 200, 200, 80 the wheel and buttons 4 and 5 (ID 4).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Knock {
    None,
    Rate200,
    Rate200And100,
    Rate200And200,
}

/// A PS/2 mouse.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ps2Mouse {
    queue: VecDeque<u8>,
    expecting: Expecting,
    /// Remote mode, data reporting, 2:1 scaling.
    status: u8,
    resolution: u8,
    sample_rate: u8,
    /// Wrap (echo) mode.
    wrap: bool,
    device_id: u8,
    knock: Knock,
    /// Motion not yet sent (y up, z towards the user).
    dx: i32,
    dy: i32,
    dz: i32,
    buttons: u8,
    /// The byte a resend command sends again.
    last_sent: u8,
}

impl Default for Ps2Mouse {
    fn default() -> Self {
        Self::new()
    }
}

impl Ps2Mouse {
    /// The mouse at power-on: stream mode, reporting disabled, ID 0.
    pub fn new() -> Self {
        Ps2Mouse {
            queue: VecDeque::new(),
            expecting: Expecting::Command,
            status: 0,
            resolution: DEFAULT_RESOLUTION,
            sample_rate: DEFAULT_SAMPLE_RATE,
            wrap: false,
            device_id: 0,
            knock: Knock::None,
            dx: 0,
            dy: 0,
            dz: 0,
            buttons: 0,
            last_sent: BAT_OK,
        }
    }

    /// 0 for a plain mouse, 3 with a wheel, 4 with a wheel and five buttons.
    pub fn device_id(&self) -> u8 {
        self.device_id
    }

    /// A byte from the host (the 8042's 0xd4 command).
    pub fn write(&mut self, byte: u8) {
        match self.expecting {
            Expecting::Resolution => {
                self.expecting = Expecting::Command;
                self.resolution = byte;
                self.reply(&[ACK]);
            }
            Expecting::SampleRate => {
                self.expecting = Expecting::Command;
                self.sample_rate = byte;
                self.knock(byte);
                self.reply(&[ACK]);
            }
            // In wrap mode everything comes back but its two ways out.
            Expecting::Command if self.wrap && byte != 0xec && byte != 0xff => self.reply(&[byte]),
            Expecting::Command => self.command(byte),
        }
    }

    fn command(&mut self, cmd: u8) {
        match cmd {
            0xe6 => {
                self.status &= !STATUS_SCALE_2_1;
                self.reply(&[ACK]);
            }
            0xe7 => {
                self.status |= STATUS_SCALE_2_1;
                self.reply(&[ACK]);
            }
            0xe8 => {
                self.expecting = Expecting::Resolution;
                self.reply(&[ACK]);
            }
            0xe9 => {
                // Buttons in the first byte: bit 2 left, bit 1 middle, bit 0 right.
                let buttons = (self.buttons & button::LEFT) << 2
                    | (self.buttons & button::MIDDLE) >> 1
                    | (self.buttons & button::RIGHT) >> 1;
                self.reply(&[ACK, self.status | buttons, self.resolution, self.sample_rate]);
            }
            0xea => {
                self.status &= !STATUS_REMOTE;
                self.reply(&[ACK]);
            }
            0xeb => {
                self.reply(&[ACK]);
                self.send_packet();
            }
            0xec => {
                self.wrap = false;
                self.reply(&[ACK]);
            }
            0xee => {
                self.wrap = true;
                self.reply(&[ACK]);
            }
            0xf0 => {
                self.status |= STATUS_REMOTE;
                self.reply(&[ACK]);
            }
            0xf2 => self.reply(&[ACK, self.device_id]),
            0xf3 => {
                self.expecting = Expecting::SampleRate;
                self.reply(&[ACK]);
            }
            0xf4 => {
                self.status |= STATUS_ENABLED;
                self.reply(&[ACK]);
            }
            0xf5 => {
                self.status &= !STATUS_ENABLED;
                self.reply(&[ACK]);
            }
            0xf6 => {
                self.set_defaults();
                self.reply(&[ACK]);
            }
            0xfe => self.reply(&[self.last_sent]),
            0xff => {
                self.set_defaults();
                self.queue.clear();
                self.wrap = false;
                self.device_id = 0;
                self.knock = Knock::None;
                self.reply(&[ACK, BAT_OK, self.device_id]);
            }
            _ => self.reply(&[RESEND]),
        }
    }

    /// Stream mode, reporting disabled, 1:1, 100 samples a second, 4
    /// counts/mm, motion forgotten.
    fn set_defaults(&mut self) {
        self.status = 0;
        self.sample_rate = DEFAULT_SAMPLE_RATE;
        self.resolution = DEFAULT_RESOLUTION;
        self.dx = 0;
        self.dy = 0;
        self.dz = 0;
    }

    fn knock(&mut self, rate: u8) {
        self.knock = match (self.knock, rate) {
            (Knock::None, 200) => Knock::Rate200,
            (Knock::Rate200, 100) => Knock::Rate200And100,
            (Knock::Rate200, 200) => Knock::Rate200And200,
            (Knock::Rate200And100, 80) => {
                self.device_id = 3;
                Knock::None
            }
            (Knock::Rate200And200, 80) => {
                self.device_id = 4;
                Knock::None
            }
            _ => Knock::None,
        };
    }

    fn reply(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.queue.len() < REPLY_ROOM {
                self.queue.push_back(b);
            }
        }
    }

    /// The next byte for the controller.
    pub fn pop(&mut self) -> Option<u8> {
        let byte = self.queue.pop_front()?;
        self.last_sent = byte;
        Some(byte)
    }

    /// The frontend moved the mouse by `dx` (right) and `dy` (down the
    /// screen), turned the wheel by `dz` (towards the user, i.e. scrolling
    /// down, is positive) and holds `buttons` ([`button`] bits). In stream
    /// mode this sends packets at once.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, dz: i32, buttons: u8) {
        if self.status & STATUS_ENABLED == 0 {
            return;
        }
        self.dx = self.dx.saturating_add(dx);
        self.dy = self.dy.saturating_sub(dy);
        self.dz = self.dz.saturating_add(dz);
        self.buttons = buttons & 0x1f;
        if self.status & STATUS_REMOTE == 0 {
            // At least one packet (buttons may have changed), then more while
            // motion is left and packets fit.
            while self.send_packet() && (self.dx, self.dy, self.dz) != (0, 0, 0) {}
        }
    }

    /// Queues one packet with the motion it can carry; false if it does not fit.
    fn send_packet(&mut self) -> bool {
        let len = if self.device_id == 0 { 3 } else { 4 };
        if self.queue.len() + len > PACKET_ROOM {
            return false;
        }
        let x = self.dx.clamp(-127, 127);
        let y = self.dy.clamp(-127, 127);
        self.dx -= x;
        self.dy -= y;
        let first = 0x08 | (self.buttons & 0x07) | u8::from(x < 0) << 4 | u8::from(y < 0) << 5;
        self.queue.extend([first, x as u8, y as u8]);
        match self.device_id {
            3 => {
                let z = self.dz.clamp(-127, 127);
                self.dz -= z;
                self.queue.push_back(z as u8);
            }
            4 => {
                // Four bits of wheel, then buttons 4 and 5 in bits 4 and 5.
                let z = self.dz.clamp(-7, 7);
                self.dz -= z;
                self.queue.push_back((z as u8 & 0x0f) | (self.buttons & 0x18) << 1);
            }
            _ => self.dz = 0,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(m: &mut Ps2Mouse) -> Vec<u8> {
        std::iter::from_fn(|| m.pop()).collect()
    }

    fn command(m: &mut Ps2Mouse, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            m.write(b);
            out.extend(drain(m));
        }
        out
    }

    #[test]
    fn reset_and_identify() {
        let mut m = Ps2Mouse::new();
        assert_eq!(command(&mut m, &[0xff]), [ACK, BAT_OK, 0x00]);
        assert_eq!(command(&mut m, &[0xf2]), [ACK, 0x00]);
        assert_eq!(command(&mut m, &[0xe9]), [ACK, 0x00, 2, 100]);
        assert_eq!(command(&mut m, &[0x12]), [RESEND]);
        assert_eq!(command(&mut m, &[0xfe]), [RESEND], "resend repeats the last byte");
    }

    #[test]
    fn intellimouse_knocks() {
        let mut m = Ps2Mouse::new();
        let acks = command(&mut m, &[0xf3, 200, 0xf3, 100, 0xf3, 80]);
        assert_eq!(acks, [ACK; 6]);
        assert_eq!(command(&mut m, &[0xf2]), [ACK, 3]);
        command(&mut m, &[0xf3, 200, 0xf3, 200, 0xf3, 80]);
        assert_eq!(command(&mut m, &[0xf2]), [ACK, 4]);
        // A broken knock changes nothing; reset forgets the wheel.
        command(&mut m, &[0xf3, 200, 0xf3, 60, 0xf3, 80]);
        assert_eq!(m.device_id(), 4);
        assert_eq!(command(&mut m, &[0xff]), [ACK, BAT_OK, 0x00]);
        assert_eq!(m.device_id(), 0);
    }

    #[test]
    fn packets_with_signs_buttons_and_wheel() {
        let mut m = Ps2Mouse::new();
        m.mouse_event(5, 5, 0, button::LEFT);
        assert!(drain(&mut m).is_empty(), "reporting is off at power-on");
        assert_eq!(command(&mut m, &[0xf4]), [ACK]);
        m.mouse_event(5, 3, 0, button::LEFT | button::RIGHT);
        // Screen-down is PS/2 minus: y = -3 with the Y sign bit.
        assert_eq!(drain(&mut m), [0x08 | 0x03 | 0x20, 5, 0xfd]);
        m.mouse_event(-1, -2, 1, button::MIDDLE);
        assert_eq!(drain(&mut m), [0x08 | 0x04 | 0x10, 0xff, 2], "no wheel byte with ID 0");

        command(&mut m, &[0xf3, 200, 0xf3, 100, 0xf3, 80]);
        m.mouse_event(0, 0, -2, 0);
        assert_eq!(drain(&mut m), [0x08, 0, 0, 0xfe]);
        command(&mut m, &[0xf3, 200, 0xf3, 200, 0xf3, 80]);
        m.mouse_event(0, 0, 9, button::SIDE | button::EXTRA);
        assert_eq!(drain(&mut m), [0x08, 0, 0, 0x07 | 0x30, 0x08, 0, 0, 0x02 | 0x30]);
    }

    #[test]
    fn big_motion_is_split_and_carried() {
        let mut m = Ps2Mouse::new();
        command(&mut m, &[0xf4]);
        m.mouse_event(300, 0, 0, 0);
        assert_eq!(drain(&mut m), [0x08, 127, 0, 0x08, 127, 0, 0x08, 46, 0]);
        // More than the queue holds: the rest waits for the next event.
        m.mouse_event(-1000, 0, 0, 0);
        let got = drain(&mut m);
        assert_eq!(got.len(), 15);
        assert!(got.chunks(3).all(|p| p == [0x18, 0x81, 0]));
        m.mouse_event(0, 0, 0, 0);
        assert_eq!(drain(&mut m).len(), 9, "the remaining 365 in three packets");
    }

    #[test]
    fn remote_wrap_and_status() {
        let mut m = Ps2Mouse::new();
        command(&mut m, &[0xf4, 0xf0, 0xe7, 0xe8, 3]);
        m.mouse_event(4, 0, 0, button::LEFT);
        assert!(drain(&mut m).is_empty(), "remote mode waits for 0xeb");
        assert_eq!(command(&mut m, &[0xe9]), [ACK, 0x40 | 0x20 | 0x10 | 0x04, 3, 100]);
        assert_eq!(command(&mut m, &[0xeb]), [ACK, 0x09, 4, 0]);
        assert_eq!(command(&mut m, &[0xee, 0x55, 0xf4]), [ACK, 0x55, 0xf4]);
        assert_eq!(command(&mut m, &[0xec, 0xea]), [ACK, ACK]);
        assert_eq!(command(&mut m, &[0xf6, 0xe9]), [ACK, ACK, 0x04, 2, 100], "buttons stay held");
    }
}
