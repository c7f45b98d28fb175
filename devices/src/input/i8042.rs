//! The PC's keyboard controller, an 8042 as QEMU's `pc` machine and PS/2
//! chipsets have it, with the keyboard and the mouse behind it.
//!
//! Ports: 0x60 data (read the output buffer; write a command's data byte or
//! a byte for the keyboard), 0x64 status (read) and command (write).
//! Interrupts: IRQ 1 is high while the output buffer holds a byte from the
//! keyboard side (the keyboard or the controller itself) and the command
//! byte enables it and the keyboard interface; IRQ 12 while it holds a byte
//! from the mouse side and the command byte enables it, as QEMU raises them.
//! Requests: the output port's A20 bit ([`Request::SetA20`]) and its reset
//! line ([`Request::Reset`], also from the 0xf0-0xff pulse commands).
//!
//! The output buffer is one byte: controller answers first, then the
//! keyboard's bytes (translated from set 2 to set 1 when the command byte's
//! bit 6 asks, the 0xf0 break prefix folded into bit 7), then the mouse's;
//! a device's bytes wait while the command byte disables its interface.
//! Reading port 0x60 empties the buffer and lowers the line; the next byte
//! comes in at the next access or [`I8042::advance`], so that the 8259 sees
//! the line fall and rise again for every byte.
//!
//! Commands: 0x20-0x3f/0x60-0x7f read and write the controller RAM (byte 0
//! is the command byte), 0xa1 version, 0xa4-0xa6 password, 0xa7/0xa8 mouse
//! interface off/on, 0xa9 and 0xab interface tests, 0xaa self test, 0xac
//! diagnostic dump, 0xad/0xae keyboard interface off/on, 0xc0 input port,
//! 0xc1/0xc2 input port polling, 0xd0/0xd1 output port, 0xd2/0xd3 write the
//! output buffer as the keyboard/mouse, 0xd4 write to the mouse, 0xdd/0xdf A20
//! off/on, 0xe0 test inputs, 0xf0-0xff output port pulses. Where QEMU does
//! not answer a command (0xa1, 0xa4-0xa6, 0xac, 0xc1, 0xc2, 0xe0) this
//! follows the 8042's documentation; the password lock itself (0xa6) is not
//! emulated. The status register's input buffer, time-out and parity bits
//! stay clear: bytes are taken at once and the devices always answer.
//!
//! The devices are `ps2kbd.rs` and `ps2mouse.rs`; this file owns the
//! controller and is the frontend's way in (keys, mouse motion, LEDs).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::keycode::KeyCode;
use super::ps2kbd::{Leds, Ps2Keyboard};
use super::ps2mouse::Ps2Mouse;
use crate::state::{self, Snapshot, StateError};
use crate::{ones, PortDevice, Request};

/// The data port.
pub const DATA_PORT: u16 = 0x60;
/// The status (read) and command (write) port.
pub const STATUS_PORT: u16 = 0x64;

// Status register.
const STATUS_OUTPUT_FULL: u8 = 0x01;
const STATUS_SYSTEM: u8 = 0x04;
/// The last write was to the command port.
const STATUS_COMMAND: u8 = 0x08;
/// No key lock inhibits the keyboard.
const STATUS_UNLOCKED: u8 = 0x10;
/// The output buffer's byte is from the mouse.
const STATUS_AUX: u8 = 0x20;

// The command byte (controller RAM byte 0).
const CB_KBD_INT: u8 = 0x01;
const CB_AUX_INT: u8 = 0x02;
const CB_KBD_DISABLED: u8 = 0x10;
const CB_AUX_DISABLED: u8 = 0x20;
const CB_TRANSLATE: u8 = 0x40;

// Output port.
const OUT_RESET: u8 = 0x01;
const OUT_A20: u8 = 0x02;
const OUT_KBD_FULL: u8 = 0x10;
const OUT_AUX_FULL: u8 = 0x20;
/// Reset line high, A20 on, and the unused bits 2, 3, 6 and 7 set, as QEMU.
const OUTPUT_PORT_POWER_ON: u8 = 0xcf;

/// The input port: bit 7, the keyboard is not inhibited (as QEMU reads it).
const INPUT_PORT: u8 = 0x80;
/// The answer to 0xa1, an ASCII version character as AMI controllers give.
const VERSION: u8 = b'0';
/// The program status word the diagnostic dump ends with (bit 3 reads as 1).
const DUMP_PSW: u8 = 0x08;

/// The 8042's set 2 to set 1 translation of bytes 0x00-0x7f; 0x83 (F7) and
/// 0x84 (SysRq) become 0x41 and 0x54, every other byte from 0x80 up passes
/// as it is.
#[rustfmt::skip]
const SET2_TO_SET1: [u8; 128] = [
    // 0x00
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    // 0x10
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    // 0x20
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    // 0x30
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    // 0x40
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    // 0x50
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    // 0x60
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    // 0x70
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
];

fn translate(byte: u8) -> u8 {
    match byte {
        0x00..=0x7f => SET2_TO_SET1[usize::from(byte)],
        0x83 => 0x41,
        0x84 => 0x54,
        _ => byte,
    }
}

/// Where the output buffer's byte came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Origin {
    Keyboard,
    Mouse,
    /// The controller's own answer, on the keyboard side.
    Controller,
    /// Written with 0xd3 as if the mouse had sent it.
    ControllerAux,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct OutputByte {
    data: u8,
    origin: Origin,
}

impl OutputByte {
    fn aux(self) -> bool {
        matches!(self.origin, Origin::Mouse | Origin::ControllerAux)
    }
    fn is_answer(self) -> bool {
        matches!(self.origin, Origin::Controller | Origin::ControllerAux)
    }
}

/// Input port polling (0xc1, 0xc2): the status register's bits 7-4 show
/// the input port's bits 3-0 or 7-4 until the next command.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum InputPoll {
    Low,
    High,
}

/// The 8042 keyboard controller with its PS/2 keyboard and mouse.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct I8042 {
    /// Controller RAM 0x00-0x1f; byte 0 is the command byte.
    ram: [u8; 32],
    /// The status register's system flag: set by the self test (as QEMU,
    /// the command byte's bit 2 does not change it).
    system_flag: bool,
    /// The last write was to the command port.
    last_write_command: bool,
    output: Option<OutputByte>,
    /// What port 0x60 reads with the output buffer empty (the last byte read).
    last_output: u8,
    /// The controller's answers still to go out.
    responses: VecDeque<OutputByte>,
    /// The command whose data byte port 0x60 takes next.
    awaiting_data: Option<u8>,
    output_port: u8,
    poll: Option<InputPoll>,
    /// Translating: the keyboard sent 0xf0, the next byte is a break.
    break_prefix: bool,
    password_installed: bool,
    /// Virtual time of the last access or advance, for the keyboard's typematic.
    now: u64,
    keyboard: Ps2Keyboard,
    mouse: Ps2Mouse,
    #[serde(skip)]
    request: Option<Request>,
}

impl Default for I8042 {
    fn default() -> Self {
        Self::new()
    }
}

impl I8042 {
    /// The controller at power-on, as QEMU's after reset: command byte 0x03
    /// (both interrupts on, no translation until the firmware asks), A20 on.
    pub fn new() -> Self {
        let mut ram = [0; 32];
        ram[0] = CB_KBD_INT | CB_AUX_INT;
        I8042 {
            ram,
            system_flag: false,
            last_write_command: true,
            output: None,
            last_output: 0,
            responses: VecDeque::new(),
            awaiting_data: None,
            output_port: OUTPUT_PORT_POWER_ON,
            poll: None,
            break_prefix: false,
            password_installed: false,
            now: 0,
            keyboard: Ps2Keyboard::new(),
            mouse: Ps2Mouse::new(),
            request: None,
        }
    }

    /// The keyboard's interrupt line (IRQ 1).
    pub fn keyboard_irq(&self) -> bool {
        let cb = self.ram[0];
        self.output.is_some_and(|o| !o.aux()) && cb & CB_KBD_INT != 0 && cb & CB_KBD_DISABLED == 0
    }

    /// The mouse's interrupt line (IRQ 12).
    pub fn mouse_irq(&self) -> bool {
        self.output.is_some_and(OutputByte::aux) && self.ram[0] & CB_AUX_INT != 0
    }

    /// The frontend pressed (`down`) or released a key.
    pub fn key_event(&mut self, key: KeyCode, down: bool) {
        self.keyboard.key_event(key, down, self.now);
        self.fill();
    }

    /// Whether the keyboard has room for `key`'s event now (see
    /// [`Ps2Keyboard::has_room_for`]).
    pub fn keyboard_has_room_for(&self, key: KeyCode, down: bool) -> bool {
        self.keyboard.has_room_for(key, down)
    }

    /// The frontend moved the mouse (see [`Ps2Mouse::mouse_event`]).
    pub fn mouse_event(&mut self, dx: i32, dy: i32, dz: i32, buttons: u8) {
        self.mouse.mouse_event(dx, dy, dz, buttons);
        self.fill();
    }

    /// The keyboard LEDs as the guest set them.
    pub fn leds(&self) -> Leds {
        self.keyboard.leds()
    }

    /// Whether held keys repeat at the guest's typematic rate (off unless the
    /// frontend asks; see [`Ps2Keyboard::set_auto_repeat`]).
    pub fn set_auto_repeat(&mut self, on: bool) {
        self.keyboard.set_auto_repeat(on);
    }

    pub fn keyboard(&self) -> &Ps2Keyboard {
        &self.keyboard
    }

    pub fn mouse(&self) -> &Ps2Mouse {
        &self.mouse
    }

    /// Brings the controller to virtual time `now`: a held key repeats if
    /// due, and the next waiting byte moves into an empty output buffer. The
    /// machine calls it on every clock step and then reads the lines.
    pub fn advance(&mut self, now: u64) {
        self.now = now;
        self.keyboard.advance(now);
        self.fill();
    }

    /// When [`I8042::advance`] has something to do next (a key repeat).
    pub fn next_event(&self) -> Option<u64> {
        self.keyboard.next_event()
    }

    fn status(&self) -> u8 {
        let mut s = STATUS_UNLOCKED;
        if let Some(out) = self.output {
            s |= STATUS_OUTPUT_FULL;
            if out.aux() {
                s |= STATUS_AUX;
            }
        }
        if self.system_flag {
            s |= STATUS_SYSTEM;
        }
        if self.last_write_command {
            s |= STATUS_COMMAND;
        }
        match self.poll {
            Some(InputPoll::Low) => s & 0x0f | INPUT_PORT << 4,
            Some(InputPoll::High) => s & 0x0f | INPUT_PORT & 0xf0,
            None => s,
        }
    }

    /// The output port as 0xd0 reads it: bit 4 while the output buffer is
    /// full, bit 5 while it holds a mouse byte (as QEMU).
    fn output_port(&self) -> u8 {
        let mut v = self.output_port & !(OUT_KBD_FULL | OUT_AUX_FULL);
        if let Some(out) = self.output {
            v |= OUT_KBD_FULL;
            if out.aux() {
                v |= OUT_AUX_FULL;
            }
        }
        v
    }

    /// Moves the next waiting byte into an empty output buffer.
    fn fill(&mut self) {
        if self.output.is_some() {
            return;
        }
        let cb = self.ram[0];
        if let Some(answer) = self.responses.pop_front() {
            self.output = Some(answer);
        } else if let Some(data) = (cb & CB_KBD_DISABLED == 0).then(|| self.pull_keyboard()).flatten() {
            self.output = Some(OutputByte { data, origin: Origin::Keyboard });
        } else if let Some(data) = (cb & CB_AUX_DISABLED == 0).then(|| self.mouse.pop()).flatten() {
            self.output = Some(OutputByte { data, origin: Origin::Mouse });
        }
    }

    /// The keyboard's next byte, translated if the command byte asks.
    fn pull_keyboard(&mut self) -> Option<u8> {
        loop {
            let byte = self.keyboard.pop()?;
            if self.ram[0] & CB_TRANSLATE == 0 {
                return Some(byte);
            }
            if byte == 0xf0 {
                self.break_prefix = true;
                continue;
            }
            let brk = if std::mem::take(&mut self.break_prefix) { 0x80 } else { 0 };
            return Some(translate(byte) | brk);
        }
    }

    /// Queues the controller's answer to a command. It replaces an earlier
    /// answer not yet read (in the output buffer too, as on the 8042) but not
    /// a device's byte.
    fn respond(&mut self, origin: Origin, bytes: &[u8]) {
        if self.output.is_some_and(OutputByte::is_answer) {
            self.output = None;
        }
        self.responses.clear();
        self.responses.extend(bytes.iter().map(|&data| OutputByte { data, origin }));
    }

    fn read_data(&mut self) -> u8 {
        if let Some(out) = self.output.take() {
            self.last_output = out.data;
        }
        self.last_output
    }

    fn command(&mut self, cmd: u8) {
        self.last_write_command = true;
        self.awaiting_data = None;
        self.poll = None;
        match cmd {
            0x20..=0x3f => self.respond(Origin::Controller, &[self.ram[usize::from(cmd & 0x1f)]]),
            0x60..=0x7f | 0xa5 | 0xd1..=0xd4 => self.awaiting_data = Some(cmd),
            0xa1 => self.respond(Origin::Controller, &[VERSION]),
            0xa4 => {
                let answer = if self.password_installed { 0xfa } else { 0xf1 };
                self.respond(Origin::Controller, &[answer]);
            }
            // Enable security: the keyboard lock that waits for the password
            // is not emulated.
            0xa6 => {}
            0xa7 => self.ram[0] |= CB_AUX_DISABLED,
            0xa8 => self.ram[0] &= !CB_AUX_DISABLED,
            // Interface tests: no clock or data line stuck.
            0xa9 | 0xab => self.respond(Origin::Controller, &[0x00]),
            // Self test: passed; the command byte stays as it is (as QEMU).
            0xaa => {
                self.system_flag = true;
                self.respond(Origin::Controller, &[0x55]);
            }
            0xac => {
                let mut dump = self.ram[..16].to_vec();
                dump.extend([INPUT_PORT, self.output_port(), DUMP_PSW]);
                self.respond(Origin::Controller, &dump);
            }
            0xad => self.ram[0] |= CB_KBD_DISABLED,
            0xae => self.ram[0] &= !CB_KBD_DISABLED,
            0xc0 => self.respond(Origin::Controller, &[INPUT_PORT]),
            0xc1 => self.poll = Some(InputPoll::Low),
            0xc2 => self.poll = Some(InputPoll::High),
            0xd0 => self.respond(Origin::Controller, &[self.output_port()]),
            0xdd => self.set_a20(false),
            0xdf => self.set_a20(true),
            // Test inputs: T0 the keyboard clock, T1 the mouse clock, high
            // while their interfaces are enabled.
            0xe0 => {
                let cb = self.ram[0];
                let t0 = u8::from(cb & CB_KBD_DISABLED == 0);
                let t1 = u8::from(cb & CB_AUX_DISABLED == 0);
                self.respond(Origin::Controller, &[t0 | t1 << 1]);
            }
            // Pulse the output port's bits 3-0 that are clear in the
            // command; only the reset line's pulse does something.
            0xf0..=0xff if cmd & OUT_RESET == 0 => self.request = Some(Request::Reset),
            _ => {}
        }
    }

    fn write_data(&mut self, value: u8) {
        self.last_write_command = false;
        match self.awaiting_data.take() {
            Some(cmd @ 0x60..=0x7f) => self.ram[usize::from(cmd & 0x1f)] = value,
            // The password, up to its terminating zero.
            Some(0xa5) => {
                if value != 0 {
                    self.password_installed = true;
                    self.awaiting_data = Some(0xa5);
                }
            }
            Some(0xd1) => self.write_output_port(value),
            Some(0xd2) => self.respond(Origin::Controller, &[value]),
            Some(0xd3) => self.respond(Origin::ControllerAux, &[value]),
            Some(0xd4) => {
                // Talking to the mouse enables its interface (as QEMU).
                self.ram[0] &= !CB_AUX_DISABLED;
                self.mouse.write(value);
            }
            _ => {
                // Likewise for the keyboard.
                self.ram[0] &= !CB_KBD_DISABLED;
                self.keyboard.write(value);
            }
        }
    }

    fn write_output_port(&mut self, value: u8) {
        self.output_port = value;
        self.request =
            Some(if value & OUT_RESET == 0 { Request::Reset } else { Request::SetA20(value & OUT_A20 != 0) });
    }

    fn set_a20(&mut self, on: bool) {
        if on {
            self.output_port |= OUT_A20;
        } else {
            self.output_port &= !OUT_A20;
        }
        self.request = Some(Request::SetA20(on));
    }
}

impl PortDevice for I8042 {
    fn sync(&mut self, now: u64) {
        self.now = now;
    }

    fn read(&mut self, port: u16, size: u8) -> u32 {
        self.fill();
        match port {
            DATA_PORT => u32::from(self.read_data()),
            STATUS_PORT => u32::from(self.status()),
            _ => ones(size),
        }
    }

    fn write(&mut self, port: u16, _size: u8, value: u32) {
        self.fill();
        match port {
            DATA_PORT => self.write_data(value as u8),
            STATUS_PORT => self.command(value as u8),
            _ => {}
        }
        self.fill();
    }

    fn take_request(&mut self) -> Option<Request> {
        self.request.take()
    }

    fn reset(&mut self) {
        let mut keyboard = std::mem::take(&mut self.keyboard);
        keyboard.reset();
        *self = I8042 { keyboard, now: self.now, ..I8042::new() };
    }
}

impl Snapshot for I8042 {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let mut restored: I8042 = state::decode(bytes)?;
        restored.keyboard.set_auto_repeat(self.keyboard.auto_repeat());
        *self = restored;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::ps2mouse::button;

    fn cmd(c: &mut I8042, command: u8) {
        c.write(STATUS_PORT, 1, command.into());
    }

    fn data(c: &mut I8042, value: u8) {
        c.write(DATA_PORT, 1, value.into());
    }

    fn status(c: &mut I8042) -> u8 {
        c.read(STATUS_PORT, 1) as u8
    }

    /// Reads the output buffer while it is full, as a polling driver does.
    fn read_all(c: &mut I8042) -> Vec<u8> {
        let mut out = Vec::new();
        while status(c) & STATUS_OUTPUT_FULL != 0 && out.len() < 64 {
            out.push(c.read(DATA_PORT, 1) as u8);
        }
        out
    }

    fn command_byte(c: &mut I8042) -> u8 {
        cmd(c, 0x20);
        c.read(DATA_PORT, 1) as u8
    }

    fn set_command_byte(c: &mut I8042, value: u8) {
        cmd(c, 0x60);
        data(c, value);
    }

    /// A key pressed and released, and what the guest reads for each.
    fn press(c: &mut I8042, key: KeyCode) -> (Vec<u8>, Vec<u8>) {
        c.key_event(key, true);
        let make = read_all(c);
        c.key_event(key, false);
        (make, read_all(c))
    }

    #[test]
    fn self_test_and_interface_tests() {
        let mut c = I8042::new();
        assert_eq!(status(&mut c), STATUS_UNLOCKED | STATUS_COMMAND);
        cmd(&mut c, 0xaa);
        assert_eq!(status(&mut c), STATUS_UNLOCKED | STATUS_COMMAND | STATUS_SYSTEM | STATUS_OUTPUT_FULL);
        assert_eq!(read_all(&mut c), [0x55]);
        assert_eq!(command_byte(&mut c), 0x03, "the self test leaves the command byte alone");
        cmd(&mut c, 0xab);
        assert_eq!(read_all(&mut c), [0x00]);
        cmd(&mut c, 0xa9);
        assert_eq!(read_all(&mut c), [0x00]);
        cmd(&mut c, 0xa1);
        assert_eq!(read_all(&mut c), [b'0']);
    }

    #[test]
    fn command_byte_and_ram() {
        let mut c = I8042::new();
        set_command_byte(&mut c, 0x65);
        assert_eq!(status(&mut c) & STATUS_COMMAND, 0, "the last write was data");
        assert_eq!(command_byte(&mut c), 0x65);
        cmd(&mut c, 0x6f);
        data(&mut c, 0x5a);
        cmd(&mut c, 0x2f);
        assert_eq!(read_all(&mut c), [0x5a]);
        cmd(&mut c, 0xa7);
        cmd(&mut c, 0xad);
        assert_eq!(command_byte(&mut c), 0x65 | 0x30);
        cmd(&mut c, 0xa8);
        cmd(&mut c, 0xae);
        assert_eq!(command_byte(&mut c), 0x45);
        // A newer answer replaces an unread one.
        cmd(&mut c, 0xc0);
        cmd(&mut c, 0x20);
        assert_eq!(read_all(&mut c), [0x45]);
        cmd(&mut c, 0xac);
        let dump = read_all(&mut c);
        assert_eq!(dump.len(), 19);
        assert_eq!((dump[0], dump[15], dump[16]), (0x45, 0x5a, INPUT_PORT));
    }

    #[test]
    fn translation_to_set_1() {
        let mut c = I8042::new();
        assert_eq!(press(&mut c, KeyCode::A), (vec![0x1c], vec![0xf0, 0x1c]), "untranslated");
        set_command_byte(&mut c, 0x41);
        assert_eq!(press(&mut c, KeyCode::A), (vec![0x1e], vec![0x9e]));
        assert_eq!(press(&mut c, KeyCode::CtrlR), (vec![0xe0, 0x1d], vec![0xe0, 0x9d]));
        assert_eq!(press(&mut c, KeyCode::Up), (vec![0xe0, 0x48], vec![0xe0, 0xc8]));
        assert_eq!(press(&mut c, KeyCode::F7), (vec![0x41], vec![0xc1]));
        assert_eq!(press(&mut c, KeyCode::Pause), (vec![0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5], vec![]));
        assert_eq!(
            press(&mut c, KeyCode::Print),
            (vec![0xe0, 0x2a, 0xe0, 0x37], vec![0xe0, 0xb7, 0xe0, 0xaa])
        );
        // Alt's make, then SysRq between Alt let go and pressed again.
        c.key_event(KeyCode::Alt, true);
        assert_eq!(press(&mut c, KeyCode::Print).0, [0x38, 0xb8, 0x38, 0x54]);
    }

    #[test]
    fn every_key_translates_to_its_set_1_code() {
        for key in KeyCode::all() {
            let (s1, s2) = (key.set1(), key.set2());
            assert_eq!(s1 >> 8, s2 >> 8, "{key:?}: same prefix");
            assert_eq!(u16::from(translate(s2 as u8)), s1 & 0xff, "{key:?}");
        }
    }

    #[test]
    fn keyboard_commands_through_the_controller() {
        let mut c = I8042::new();
        data(&mut c, 0xff);
        assert_eq!(read_all(&mut c), [0xfa, 0xaa]);
        data(&mut c, 0xf2);
        assert_eq!(read_all(&mut c), [0xfa, 0xab, 0x83]);
        set_command_byte(&mut c, 0x41);
        data(&mut c, 0xf2);
        assert_eq!(read_all(&mut c), [0xfa, 0xab, 0x41], "translated as QEMU answers");
        data(&mut c, 0xf0);
        data(&mut c, 0x00);
        assert_eq!(read_all(&mut c), [0xfa, 0xfa, 0x41], "set 2, translated");
        data(&mut c, 0xed);
        data(&mut c, 0x04);
        assert_eq!(read_all(&mut c), [0xfa, 0xfa]);
        assert!(c.leds().caps_lock && !c.leds().num_lock);
        set_command_byte(&mut c, 0x01);
        data(&mut c, 0xf0);
        data(&mut c, 0x01);
        assert_eq!(read_all(&mut c), [0xfa, 0xfa]);
        assert_eq!(press(&mut c, KeyCode::A), (vec![0x1e], vec![0x9e]), "set 1 sent as it is");
    }

    #[test]
    fn output_port_a20_and_reset() {
        let mut c = I8042::new();
        cmd(&mut c, 0xd0);
        assert_eq!(read_all(&mut c), [0xcf]);
        cmd(&mut c, 0xd1);
        data(&mut c, 0xcd);
        assert_eq!(c.take_request(), Some(Request::SetA20(false)));
        cmd(&mut c, 0xd0);
        assert_eq!(read_all(&mut c), [0xcd]);
        cmd(&mut c, 0xdf);
        assert_eq!(c.take_request(), Some(Request::SetA20(true)));
        cmd(&mut c, 0xdd);
        assert_eq!(c.take_request(), Some(Request::SetA20(false)));
        cmd(&mut c, 0xd1);
        data(&mut c, 0xce);
        assert_eq!(c.take_request(), Some(Request::Reset));
        assert_eq!(c.take_request(), None);
        // 0xd0 shows a full output buffer in bit 4, and a mouse byte in bit 5.
        cmd(&mut c, 0xd4);
        data(&mut c, 0xf4);
        cmd(&mut c, 0xd0);
        assert_eq!(read_all(&mut c), [0xfa, 0xce | 0x30]);
    }

    #[test]
    fn pulse_commands() {
        let mut c = I8042::new();
        cmd(&mut c, 0xfe);
        assert_eq!(c.take_request(), Some(Request::Reset));
        cmd(&mut c, 0xff);
        assert_eq!(c.take_request(), None);
        cmd(&mut c, 0xf0);
        assert_eq!(c.take_request(), Some(Request::Reset));
        cmd(&mut c, 0xfd);
        assert_eq!(c.take_request(), None);
    }

    #[test]
    fn mouse_through_0xd4() {
        let mut c = I8042::new();
        let to_mouse = |c: &mut I8042, b: u8| {
            cmd(c, 0xd4);
            data(c, b);
        };
        to_mouse(&mut c, 0xff);
        assert_eq!(status(&mut c) & (STATUS_OUTPUT_FULL | STATUS_AUX), STATUS_OUTPUT_FULL | STATUS_AUX);
        assert!(c.mouse_irq() && !c.keyboard_irq());
        assert_eq!(read_all(&mut c), [0xfa, 0xaa, 0x00]);
        for rate in [200, 100, 80] {
            to_mouse(&mut c, 0xf3);
            to_mouse(&mut c, rate);
        }
        to_mouse(&mut c, 0xf2);
        assert_eq!(read_all(&mut c)[6..], [0xfa, 0x03]);
        to_mouse(&mut c, 0xf4);
        assert_eq!(read_all(&mut c), [0xfa]);
        c.mouse_event(3, -4, 1, button::LEFT);
        assert_eq!(read_all(&mut c), [0x09, 3, 4, 1]);
        // Mouse bytes wait while the mouse interface is disabled.
        cmd(&mut c, 0xa7);
        c.mouse_event(1, 0, 0, 0);
        assert_eq!(read_all(&mut c), []);
        cmd(&mut c, 0xa8);
        assert_eq!(read_all(&mut c), [0x08, 1, 0, 0]);
    }

    #[test]
    fn interrupt_lines_follow_the_output_buffer_and_command_byte() {
        let mut c = I8042::new();
        c.key_event(KeyCode::A, true);
        assert!(c.keyboard_irq() && !c.mouse_irq());
        c.key_event(KeyCode::A, false);
        assert_eq!(c.read(DATA_PORT, 1), 0x1c);
        assert!(!c.keyboard_irq(), "the line falls when the byte is read");
        c.advance(10);
        assert!(c.keyboard_irq(), "and rises for the next one");
        set_command_byte(&mut c, 0x00);
        assert!(!c.keyboard_irq() && status(&mut c) & STATUS_OUTPUT_FULL != 0);
        set_command_byte(&mut c, 0x01);
        assert!(c.keyboard_irq());
        cmd(&mut c, 0xad);
        assert!(!c.keyboard_irq(), "no IRQ 1 with the keyboard interface off (as QEMU)");
        cmd(&mut c, 0xae);
        assert_eq!(read_all(&mut c), [0xf0, 0x1c]);
        assert!(!c.keyboard_irq());

        cmd(&mut c, 0xd4);
        data(&mut c, 0xf4);
        assert!(!c.mouse_irq(), "IRQ 12 off in command byte 0x01");
        set_command_byte(&mut c, 0x03);
        assert!(c.mouse_irq());
        assert_eq!(c.read(DATA_PORT, 1), 0xfa);
        assert!(!c.mouse_irq());
        assert_eq!(c.read(DATA_PORT, 1), 0xfa, "an empty buffer reads its last byte again");
    }

    #[test]
    fn keyboard_bytes_wait_while_its_interface_is_off() {
        let mut c = I8042::new();
        cmd(&mut c, 0xad);
        c.key_event(KeyCode::B, true);
        assert_eq!(read_all(&mut c), []);
        cmd(&mut c, 0xae);
        assert_eq!(read_all(&mut c), [0x32]);
        // Writing to the keyboard enables the interface again (as QEMU).
        cmd(&mut c, 0xad);
        data(&mut c, 0xee);
        assert_eq!(read_all(&mut c), [0xee]);
    }

    #[test]
    fn writes_to_the_output_buffer() {
        let mut c = I8042::new();
        cmd(&mut c, 0xd2);
        data(&mut c, 0x42);
        assert!(c.keyboard_irq() && !c.mouse_irq());
        assert_eq!(status(&mut c) & STATUS_AUX, 0);
        assert_eq!(read_all(&mut c), [0x42]);
        set_command_byte(&mut c, 0x43);
        cmd(&mut c, 0xd2);
        data(&mut c, 0x1c);
        assert_eq!(read_all(&mut c), [0x1c], "not translated");
        cmd(&mut c, 0xd3);
        data(&mut c, 0x99);
        assert!(c.mouse_irq() && !c.keyboard_irq());
        assert_eq!(status(&mut c) & STATUS_AUX, STATUS_AUX);
        assert_eq!(read_all(&mut c), [0x99]);
    }

    #[test]
    fn overrun_reaches_the_guest_translated() {
        let mut c = I8042::new();
        set_command_byte(&mut c, 0x41);
        cmd(&mut c, 0xad);
        for _ in 0..20 {
            c.key_event(KeyCode::A, true);
        }
        cmd(&mut c, 0xae);
        let got = read_all(&mut c);
        assert_eq!(got.len(), 17);
        assert!(got[..16].iter().all(|&b| b == 0x1e));
        assert_eq!(got[16], 0xff);
    }

    #[test]
    fn password_polling_and_test_inputs() {
        let mut c = I8042::new();
        cmd(&mut c, 0xa4);
        assert_eq!(read_all(&mut c), [0xf1]);
        cmd(&mut c, 0xa5);
        for b in [0x1e, 0x30, 0x00] {
            data(&mut c, b);
        }
        assert_eq!(read_all(&mut c), [], "the password went to the controller, not the keyboard");
        cmd(&mut c, 0xa4);
        assert_eq!(read_all(&mut c), [0xfa]);
        cmd(&mut c, 0xc2);
        assert_eq!(status(&mut c) & 0xf0, 0x80, "input port bits 7-4");
        cmd(&mut c, 0xc1);
        assert_eq!(status(&mut c) & 0xf0, 0x00, "input port bits 3-0");
        cmd(&mut c, 0xa7);
        assert_eq!(status(&mut c) & 0xf0, STATUS_UNLOCKED, "polling ends with the next command");
        cmd(&mut c, 0xe0);
        assert_eq!(read_all(&mut c), [0x01]);
    }

    #[test]
    fn reset_returns_to_power_on() {
        let mut c = I8042::new();
        set_command_byte(&mut c, 0x61);
        cmd(&mut c, 0xdd);
        c.take_request();
        c.set_auto_repeat(true);
        c.key_event(KeyCode::A, true);
        c.reset();
        assert!(c.keyboard().auto_repeat(), "the frontend's choice survives");
        assert_eq!(c.next_event(), None, "no key held any more");
        assert_eq!(status(&mut c), STATUS_UNLOCKED | STATUS_COMMAND);
        assert_eq!(command_byte(&mut c), 0x03);
        cmd(&mut c, 0xd0);
        assert_eq!(read_all(&mut c), [0xcf]);
    }

    #[test]
    fn snapshot_round_trip() {
        let mut c = I8042::new();
        set_command_byte(&mut c, 0x07);
        cmd(&mut c, 0xaa);
        read_all(&mut c);
        data(&mut c, 0xed);
        data(&mut c, 0x02);
        data(&mut c, 0xf0);
        data(&mut c, 0x03);
        read_all(&mut c);
        cmd(&mut c, 0xd4);
        data(&mut c, 0xf4);
        read_all(&mut c);
        for rate in [200, 200, 80] {
            cmd(&mut c, 0xd4);
            data(&mut c, 0xf3);
            cmd(&mut c, 0xd4);
            data(&mut c, rate);
        }
        read_all(&mut c);
        c.set_auto_repeat(true);
        c.key_event(KeyCode::A, true);
        c.key_event(KeyCode::Up, true);
        c.mouse_event(7, 0, 0, 0);
        cmd(&mut c, 0xd1);
        let saved = c.save();

        let mut d = I8042::new();
        d.restore(&saved).unwrap();
        assert_eq!(d.next_event(), None, "auto-repeat is the host's choice, not restored");
        d.set_auto_repeat(true);
        assert_eq!(d.leds(), c.leds());
        assert_eq!(d.mouse().device_id(), 4);
        assert_eq!(d.next_event(), c.next_event());
        for dev in [&mut c, &mut d] {
            data(dev, 0xcf);
            assert_eq!(dev.take_request(), Some(Request::SetA20(true)), "still waiting for 0xd1's byte");
        }
        let (from_c, from_d) = (read_all(&mut c), read_all(&mut d));
        assert_eq!(from_c, [0x1c, 0x63, 0x08, 7, 0, 0]);
        assert_eq!(from_c, from_d);
        assert_eq!(status(&mut c), status(&mut d));

        assert!(d.restore(&saved[..3]).is_err());
    }

    #[test]
    fn guest_garbage_never_panics() {
        let mut c = I8042::new();
        let mut x: u32 = 12345;
        for i in 0..200_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let v = (x >> 16) as u8;
            match x >> 29 {
                0 | 1 => cmd(&mut c, v),
                2 | 3 => data(&mut c, v),
                4 => {
                    c.read(DATA_PORT, 1);
                }
                5 => {
                    status(&mut c);
                }
                6 => c.mouse_event((x as i16).into(), i32::MIN, i32::MAX, v),
                _ => {
                    c.key_event(KeyCode::all().cycle().nth(usize::from(v)).unwrap_or(KeyCode::A), v & 1 != 0)
                }
            }
            c.take_request();
            c.advance(u64::from(i) * 1_000_000);
            assert!(c.responses.len() <= 19);
        }
    }
}
