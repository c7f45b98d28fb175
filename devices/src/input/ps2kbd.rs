//! A PS/2 keyboard, the MF2 keyboard of QEMU's `pc` machine: the commands a
//! host sends it through the 8042 (reset, identify, LEDs, scancode set,
//! typematic rate and delay, enable and disable, echo, resend, set 3's key
//! types), its 16-byte output queue with the overrun code, and the host
//! frontend's key presses turned into scancodes of set 1, 2 or 3, Print
//! Screen and Pause with the sequences QEMU sends. Auto-repeat runs only when
//! the frontend asks for it ([`Ps2Keyboard::set_auto_repeat`]): frontends
//! that repeat keys themselves (VNC, terminals) leave it off.
//!
//! The keyboard sends untranslated bytes; the 8042 translates set 2 to set 1
//! (`i8042.rs`). Key names and scancode tables are `keycode.rs`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::keycode::KeyCode;

/// "Command understood".
pub const ACK: u8 = 0xfa;
/// "Send that again": an unknown command or a bad argument.
pub const RESEND: u8 = 0xfe;
/// The power-on self test (BAT) passed.
pub const BAT_OK: u8 = 0xaa;
/// The answer to the echo command.
pub const ECHO: u8 = 0xee;

/// Scancode bytes the keyboard holds for the controller, as QEMU's keyboard.
const QUEUE_LEN: usize = 16;

/// Typematic byte at power-on and after set-defaults: 10.9 characters a
/// second after 500 ms.
const TYPEMATIC_DEFAULT: u8 = 0x2b;

/// One scancode set 1 time unit of the typematic period, 4.17 ms.
const TYPEMATIC_UNIT_NS: u64 = 4_166_667;

// Modifier keys held down, for Print Screen's and Pause's sequences.
const CTRL_L: u8 = 1 << 0;
const SHIFT_L: u8 = 1 << 1;
const ALT_L: u8 = 1 << 2;
const CTRL_R: u8 = 1 << 3;
const SHIFT_R: u8 = 1 << 4;
const ALT_R: u8 = 1 << 5;

/// The scancode set the keyboard sends.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScancodeSet {
    /// The XT's codes.
    Set1,
    /// The AT's codes, the default (which the 8042 usually translates to set 1).
    Set2,
    /// The PS/2 terminal codes: no prefixes, one byte per key.
    Set3,
}

impl ScancodeSet {
    /// The set's number (1, 2 or 3), as the keyboard reports it.
    pub fn number(self) -> u8 {
        match self {
            ScancodeSet::Set1 => 1,
            ScancodeSet::Set2 => 2,
            ScancodeSet::Set3 => 3,
        }
    }
}

/// The keyboard's LEDs, as the guest last set them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Leds {
    pub scroll_lock: bool,
    pub num_lock: bool,
    pub caps_lock: bool,
}

/// What the next byte from the host is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Expecting {
    Command,
    /// The argument of 0xed.
    Leds,
    /// The argument of 0xf0.
    ScancodeSet,
    /// The argument of 0xf3.
    Typematic,
    /// Set 3 make codes after 0xfb/0xfc/0xfd, until the next command.
    KeyList,
}

/// The key the frontend holds down, and when it repeats next.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Held {
    key: KeyCode,
    next_repeat: u64,
}

/// One make or break in sets 1 and 2: a key's set 1 and set 2 codes (with an
/// E0 or E1 prefix in the high byte, if any).
#[derive(Copy, Clone)]
struct Stroke {
    set1: u16,
    set2: u16,
    make: bool,
}

impl Stroke {
    fn make(key: KeyCode) -> Stroke {
        Stroke { set1: key.set1(), set2: key.set2(), make: true }
    }
    fn brk(key: KeyCode) -> Stroke {
        Stroke { make: false, ..Stroke::make(key) }
    }
}

/// The left shift with an E0 prefix that keyboards send around Print Screen.
const FAKE_SHIFT: Stroke = Stroke { set1: 0xe02a, set2: 0xe012, make: true };
/// The left control with an E1 prefix that starts Pause.
const PAUSE_CTRL: Stroke = Stroke { set1: 0xe11d, set2: 0xe114, make: true };

/// A PS/2 keyboard.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ps2Keyboard {
    /// Answers to the last command, sent before any scancode.
    replies: VecDeque<u8>,
    /// Scancodes of key presses, at most [`QUEUE_LEN`] and an overrun code.
    scancodes: VecDeque<u8>,
    /// The overrun code is queued and no key event fitted since.
    overrun: bool,
    expecting: Expecting,
    /// Key presses are reported (0xf4), or ignored (0xf5).
    scanning: bool,
    set: ScancodeSet,
    /// Bit 0 scroll lock, bit 1 num lock, bit 2 caps lock.
    leds: u8,
    /// Bits 0-4 the rate, bits 5-6 the delay, as set by 0xf3.
    typematic: u8,
    modifiers: u8,
    /// The byte a resend command sends again.
    last_sent: u8,
    held: Option<Held>,
    /// The frontend wants held keys repeated (host-side choice, kept on restore).
    #[serde(skip)]
    auto_repeat: bool,
}

impl Default for Ps2Keyboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Ps2Keyboard {
    /// The keyboard at power-on: scanning, set 2, LEDs off.
    pub fn new() -> Self {
        Ps2Keyboard {
            replies: VecDeque::new(),
            scancodes: VecDeque::new(),
            overrun: false,
            expecting: Expecting::Command,
            scanning: true,
            set: ScancodeSet::Set2,
            leds: 0,
            typematic: TYPEMATIC_DEFAULT,
            modifiers: 0,
            // What a keyboard sends at power-on.
            last_sent: BAT_OK,
            held: None,
            auto_repeat: false,
        }
    }

    /// Back to power-on (the machine's reset); the frontend's auto-repeat
    /// choice stays.
    pub fn reset(&mut self) {
        *self = Ps2Keyboard { auto_repeat: self.auto_repeat, ..Ps2Keyboard::new() };
    }

    /// Whether a held key repeats at the guest's typematic rate (off unless
    /// the frontend turns it on).
    pub fn set_auto_repeat(&mut self, on: bool) {
        self.auto_repeat = on;
    }

    /// Whether the frontend turned auto-repeat on.
    pub fn auto_repeat(&self) -> bool {
        self.auto_repeat
    }

    /// The LEDs as the guest set them.
    pub fn leds(&self) -> Leds {
        Leds { scroll_lock: self.leds & 1 != 0, num_lock: self.leds & 2 != 0, caps_lock: self.leds & 4 != 0 }
    }

    /// The scancode set the keyboard sends.
    pub fn scancode_set(&self) -> ScancodeSet {
        self.set
    }

    /// A byte from the host (through the 8042's data port).
    pub fn write(&mut self, byte: u8) {
        // Answers to an earlier command that nobody read are dropped, as QEMU does.
        self.replies.clear();
        match self.expecting {
            Expecting::Leds => {
                self.expecting = Expecting::Command;
                self.leds = byte & 7;
                self.reply(&[ACK]);
            }
            Expecting::Typematic => {
                self.expecting = Expecting::Command;
                self.typematic = byte & 0x7f;
                self.reply(&[ACK]);
            }
            Expecting::ScancodeSet => {
                self.expecting = Expecting::Command;
                match byte {
                    0 => self.reply(&[ACK, self.set.number()]),
                    1 => self.select_set(ScancodeSet::Set1),
                    2 => self.select_set(ScancodeSet::Set2),
                    3 => self.select_set(ScancodeSet::Set3),
                    _ => self.reply(&[RESEND]),
                }
            }
            // Set 3 make codes are below the command bytes.
            Expecting::KeyList if byte < 0xed => self.reply(&[ACK]),
            Expecting::KeyList | Expecting::Command => self.command(byte),
        }
    }

    fn command(&mut self, cmd: u8) {
        self.expecting = Expecting::Command;
        match cmd {
            0xed => {
                self.expecting = Expecting::Leds;
                self.reply(&[ACK]);
            }
            0xee => self.reply(&[ECHO]),
            0xf0 => {
                self.expecting = Expecting::ScancodeSet;
                self.reply(&[ACK]);
            }
            // An MF2 keyboard.
            0xf2 => self.reply(&[ACK, 0xab, 0x83]),
            0xf3 => {
                self.expecting = Expecting::Typematic;
                self.reply(&[ACK]);
            }
            0xf4 => {
                self.scanning = true;
                self.reply(&[ACK]);
            }
            0xf5 => {
                self.set_defaults();
                self.scanning = false;
                self.reply(&[ACK]);
            }
            0xf6 => {
                self.set_defaults();
                self.scanning = true;
                self.reply(&[ACK]);
            }
            // Set 3's key types for all keys (typematic, make/break, make
            // only): accepted; every key keeps sending make and break codes.
            0xf7..=0xfa => self.reply(&[ACK]),
            // The same for a list of keys that follows.
            0xfb..=0xfd => {
                self.expecting = Expecting::KeyList;
                self.reply(&[ACK]);
            }
            0xfe => self.reply(&[self.last_sent]),
            0xff => {
                self.set_defaults();
                self.scanning = true;
                self.reply(&[ACK, BAT_OK]);
            }
            _ => self.reply(&[RESEND]),
        }
    }

    fn select_set(&mut self, set: ScancodeSet) {
        self.set = set;
        self.reply(&[ACK]);
    }

    /// What set-defaults, disable and reset restore: the queue emptied, set 2,
    /// LEDs off, the default typematic rate.
    fn set_defaults(&mut self) {
        self.scancodes.clear();
        self.overrun = false;
        self.set = ScancodeSet::Set2;
        self.leds = 0;
        self.typematic = TYPEMATIC_DEFAULT;
        self.held = None;
    }

    fn reply(&mut self, bytes: &[u8]) {
        self.replies.extend(bytes);
    }

    /// The next byte for the controller: command answers first, then
    /// scancodes.
    pub fn pop(&mut self) -> Option<u8> {
        let byte = self.replies.pop_front().or_else(|| self.scancodes.pop_front())?;
        self.last_sent = byte;
        Some(byte)
    }

    /// The frontend pressed (`down`) or released a key at virtual time `now`.
    /// Ignored while the guest has disabled scanning.
    /// Whether [`Ps2Keyboard::key_event`] of `key` would fit in the 16-byte
    /// queue now (a keyboard that does not scan drops keys anyway). A
    /// frontend with keys to type waits until it does, as QEMU's input
    /// queue spaces out the keys of its text displays.
    pub fn has_room_for(&self, key: KeyCode, down: bool) -> bool {
        !self.scanning || self.scancodes.len() + self.sequence(key, down).len() <= QUEUE_LEN
    }

    pub fn key_event(&mut self, key: KeyCode, down: bool, now: u64) {
        if !self.scanning {
            return;
        }
        let bit = modifier_bit(key);
        if down {
            self.modifiers |= bit;
        } else {
            self.modifiers &= !bit;
        }
        let bytes = self.sequence(key, down);
        self.queue_event(&bytes);
        if down {
            // The last key pressed repeats; Pause has no typematic.
            self.held = (key != KeyCode::Pause)
                .then(|| Held { key, next_repeat: now.saturating_add(self.typematic_delay()) });
        } else if self.held.is_some_and(|h| h.key == key) {
            self.held = None;
        }
    }

    /// Repeats the held key if its time has come (only with auto-repeat on).
    pub fn advance(&mut self, now: u64) {
        if let (Some(due), Some(held)) = (self.next_event(), self.held) {
            if now >= due {
                let bytes = self.sequence(held.key, true);
                self.queue_event(&bytes);
                self.held = Some(Held { next_repeat: now.saturating_add(self.typematic_period()), ..held });
            }
        }
    }

    /// When the held key repeats next, if it does.
    pub fn next_event(&self) -> Option<u64> {
        if self.auto_repeat && self.scanning {
            self.held.map(|h| h.next_repeat)
        } else {
            None
        }
    }

    /// From the typematic byte's bits 5-6: 250 to 1000 ms.
    fn typematic_delay(&self) -> u64 {
        (u64::from(self.typematic >> 5 & 3) + 1) * 250_000_000
    }

    /// From bits 0-4: (8 + bits 0-2) * 2^(bits 3-4) * 4.17 ms, 33 to 500 ms.
    fn typematic_period(&self) -> u64 {
        let (a, b) = (u64::from(self.typematic & 7), self.typematic >> 3 & 3);
        ((8 + a) << b) * TYPEMATIC_UNIT_NS
    }

    /// The bytes a key press or release sends in the current set.
    fn sequence(&self, key: KeyCode, down: bool) -> Vec<u8> {
        if self.set == ScancodeSet::Set3 {
            // Set 3: one code per key, the break code after 0xf0.
            return match (key.set3(), down) {
                (Some(code), true) => vec![code],
                (Some(code), false) => vec![0xf0, code],
                (None, _) => Vec::new(),
            };
        }
        let mods = self.modifiers;
        let strokes: Vec<Stroke> = match (key, down) {
            (KeyCode::Pause, false) | (KeyCode::Lang1 | KeyCode::Lang2, false) => Vec::new(),
            // Ctrl+Pause is Break: a key of its own.
            (KeyCode::Pause, true) if mods & (CTRL_L | CTRL_R) != 0 => {
                vec![Stroke::make(KeyCode::Pause), Stroke::brk(KeyCode::Pause)]
            }
            // Pause sends its make and break at once, as an E1-prefixed
            // control and num lock.
            (KeyCode::Pause, true) => {
                let ctrl_up = Stroke { make: false, ..PAUSE_CTRL };
                vec![PAUSE_CTRL, Stroke::make(KeyCode::NumLock), ctrl_up, Stroke::brk(KeyCode::NumLock)]
            }
            // With Alt held, Print Screen is SysRq, and the keyboard lets go
            // of Alt and presses it again around it (as QEMU sends it).
            (KeyCode::Print, _) if mods & (ALT_L | ALT_R) != 0 => {
                let alt = if mods & ALT_L != 0 { KeyCode::Alt } else { KeyCode::AltR };
                if down {
                    vec![Stroke::brk(alt), Stroke::make(alt), Stroke::make(KeyCode::SysRq)]
                } else {
                    vec![Stroke::brk(KeyCode::SysRq), Stroke::brk(alt), Stroke::make(alt)]
                }
            }
            (KeyCode::Print, _) if mods & (SHIFT_L | SHIFT_R | CTRL_L | CTRL_R) != 0 => {
                vec![if down { Stroke::make(key) } else { Stroke::brk(key) }]
            }
            // Alone, Print Screen comes with a fake left shift.
            (KeyCode::Print, true) => vec![FAKE_SHIFT, Stroke::make(key)],
            (KeyCode::Print, false) => vec![Stroke::brk(key), Stroke { make: false, ..FAKE_SHIFT }],
            (_, true) => vec![Stroke::make(key)],
            (_, false) => vec![Stroke::brk(key)],
        };
        let mut bytes = Vec::new();
        for s in strokes {
            let code = if self.set == ScancodeSet::Set1 { s.set1 } else { s.set2 };
            if code > 0xff {
                bytes.push((code >> 8) as u8);
            }
            let last = code as u8;
            match (self.set, s.make) {
                (_, true) => bytes.push(last),
                (ScancodeSet::Set1, false) => bytes.push(last | 0x80),
                (_, false) => bytes.extend([0xf0, last]),
            }
        }
        bytes
    }

    /// Queues a key event's bytes whole, or, when they do not fit, the
    /// overrun code once (in the queue's 17th place) until an event fits again.
    fn queue_event(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.scancodes.len() + bytes.len() <= QUEUE_LEN {
            self.scancodes.extend(bytes);
            self.overrun = false;
        } else if !self.overrun {
            let code = if self.set == ScancodeSet::Set1 { 0xff } else { 0x00 };
            self.scancodes.push_back(code);
            self.overrun = true;
        }
    }
}

fn modifier_bit(key: KeyCode) -> u8 {
    match key {
        KeyCode::Ctrl => CTRL_L,
        KeyCode::Shift => SHIFT_L,
        KeyCode::Alt => ALT_L,
        KeyCode::CtrlR => CTRL_R,
        KeyCode::ShiftR => SHIFT_R,
        KeyCode::AltR => ALT_R,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(k: &mut Ps2Keyboard) -> Vec<u8> {
        std::iter::from_fn(|| k.pop()).collect()
    }

    fn command(k: &mut Ps2Keyboard, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            k.write(b);
            out.extend(drain(k));
        }
        out
    }

    fn press(k: &mut Ps2Keyboard, key: KeyCode) -> (Vec<u8>, Vec<u8>) {
        k.key_event(key, true, 0);
        let make = drain(k);
        k.key_event(key, false, 0);
        (make, drain(k))
    }

    #[test]
    fn room_for_a_key_is_room_for_its_whole_sequence() {
        let mut k = Ps2Keyboard::new();
        // Set 2: a press is one byte, a release two; 15 bytes leave room for
        // a press, not for a release.
        for _ in 0..5 {
            k.key_event(KeyCode::A, true, 0);
            k.key_event(KeyCode::A, false, 0);
        }
        assert_eq!(k.scancodes.len(), 15);
        assert!(k.has_room_for(KeyCode::A, true));
        assert!(!k.has_room_for(KeyCode::A, false));
        assert!(!k.has_room_for(KeyCode::CtrlR, true), "E0 14 is two bytes");
        k.scanning = false;
        assert!(k.has_room_for(KeyCode::A, false), "a keyboard that does not scan drops keys");
    }

    #[test]
    fn reset_identify_echo() {
        let mut k = Ps2Keyboard::new();
        assert_eq!(command(&mut k, &[0xff]), [ACK, BAT_OK]);
        assert_eq!(command(&mut k, &[0xf2]), [ACK, 0xab, 0x83]);
        assert_eq!(command(&mut k, &[0xee]), [ECHO]);
        assert_eq!(command(&mut k, &[0x42]), [RESEND], "unknown command");
        assert_eq!(command(&mut k, &[0xf7, 0xfa]), [ACK, ACK], "set 3 key types");
    }

    #[test]
    fn leds_and_typematic() {
        let mut k = Ps2Keyboard::new();
        assert_eq!(command(&mut k, &[0xed, 0x06]), [ACK, ACK]);
        assert_eq!(k.leds(), Leds { scroll_lock: false, num_lock: true, caps_lock: true });
        assert_eq!(command(&mut k, &[0xf3, 0x00]), [ACK, ACK]);
        assert_eq!((k.typematic_delay(), k.typematic_period()), (250_000_000, 8 * TYPEMATIC_UNIT_NS));
        assert_eq!(command(&mut k, &[0xff]), [ACK, BAT_OK]);
        assert_eq!(k.leds(), Leds::default());
        assert_eq!(k.typematic_delay(), 500_000_000);
    }

    #[test]
    fn scancode_sets() {
        let mut k = Ps2Keyboard::new();
        assert_eq!(command(&mut k, &[0xf0, 0x00]), [ACK, ACK, 2]);
        assert_eq!(press(&mut k, KeyCode::A), (vec![0x1c], vec![0xf0, 0x1c]));
        assert_eq!(press(&mut k, KeyCode::CtrlR), (vec![0xe0, 0x14], vec![0xe0, 0xf0, 0x14]));

        assert_eq!(command(&mut k, &[0xf0, 0x01]), [ACK, ACK]);
        assert_eq!(k.scancode_set(), ScancodeSet::Set1);
        assert_eq!(press(&mut k, KeyCode::A), (vec![0x1e], vec![0x9e]));
        assert_eq!(press(&mut k, KeyCode::Up), (vec![0xe0, 0x48], vec![0xe0, 0xc8]));

        assert_eq!(command(&mut k, &[0xf0, 0x03]), [ACK, ACK]);
        assert_eq!(command(&mut k, &[0xf0, 0x00]), [ACK, ACK, 3]);
        assert_eq!(press(&mut k, KeyCode::Ctrl), (vec![0x11], vec![0xf0, 0x11]));
        assert_eq!(press(&mut k, KeyCode::Up), (vec![0x63], vec![0xf0, 0x63]));
        assert_eq!(press(&mut k, KeyCode::Power), (vec![], vec![]), "no such key in set 3");

        assert_eq!(command(&mut k, &[0xf0, 0x04]), [ACK, RESEND]);
        assert_eq!(k.scancode_set(), ScancodeSet::Set3);
        // Set 3 key lists end at the next command.
        assert_eq!(command(&mut k, &[0xfc, 0x1c, 0x11, 0xf4]), [ACK, ACK, ACK, ACK]);
    }

    #[test]
    fn pause_and_print_screen() {
        let mut k = Ps2Keyboard::new();
        assert_eq!(
            press(&mut k, KeyCode::Pause),
            (vec![0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77], vec![])
        );
        assert_eq!(
            press(&mut k, KeyCode::Print),
            (vec![0xe0, 0x12, 0xe0, 0x7c], vec![0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12])
        );
        k.key_event(KeyCode::Ctrl, true, 0);
        drain(&mut k);
        assert_eq!(press(&mut k, KeyCode::Pause), (vec![0xe0, 0x7e, 0xe0, 0xf0, 0x7e], vec![]));
        assert_eq!(press(&mut k, KeyCode::Print), (vec![0xe0, 0x7c], vec![0xe0, 0xf0, 0x7c]));
        k.key_event(KeyCode::Ctrl, false, 0);
        k.key_event(KeyCode::Alt, true, 0);
        drain(&mut k);
        assert_eq!(
            press(&mut k, KeyCode::Print),
            (vec![0xf0, 0x11, 0x11, 0x84], vec![0xf0, 0x84, 0xf0, 0x11, 0x11])
        );

        command(&mut k, &[0xf0, 0x01]);
        k.key_event(KeyCode::Alt, false, 0);
        drain(&mut k);
        assert_eq!(press(&mut k, KeyCode::Pause), (vec![0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5], vec![]));
        assert_eq!(
            press(&mut k, KeyCode::Print),
            (vec![0xe0, 0x2a, 0xe0, 0x37], vec![0xe0, 0xb7, 0xe0, 0xaa])
        );
        k.key_event(KeyCode::AltR, true, 0);
        drain(&mut k);
        assert_eq!(
            press(&mut k, KeyCode::Print),
            (vec![0xe0, 0xb8, 0xe0, 0x38, 0x54], vec![0xd4, 0xe0, 0xb8, 0xe0, 0x38])
        );
    }

    #[test]
    fn disabled_keyboard_ignores_keys() {
        let mut k = Ps2Keyboard::new();
        assert_eq!(command(&mut k, &[0xf5]), [ACK]);
        assert_eq!(press(&mut k, KeyCode::A), (vec![], vec![]));
        assert_eq!(command(&mut k, &[0xf4]), [ACK]);
        assert_eq!(press(&mut k, KeyCode::A).0, [0x1c]);
    }

    #[test]
    fn answers_come_before_queued_keys() {
        let mut k = Ps2Keyboard::new();
        k.key_event(KeyCode::A, true, 0);
        k.write(0xee);
        assert_eq!(drain(&mut k), [ECHO, 0x1c]);
        // Resend sends the last byte again.
        assert_eq!(command(&mut k, &[0xfe]), [0x1c]);
    }

    #[test]
    fn overrun_code_once_when_full() {
        let mut k = Ps2Keyboard::new();
        for _ in 0..8 {
            k.key_event(KeyCode::A, true, 0);
            k.key_event(KeyCode::A, false, 0);
        }
        // Five presses and releases and a sixth press fill the 16 bytes.
        let mut got = drain(&mut k);
        assert_eq!(got.len(), 16 + 1);
        assert_eq!(got.pop(), Some(0x00));
        k.key_event(KeyCode::B, true, 0);
        assert_eq!(drain(&mut k), [0x32], "room again after the guest read");

        command(&mut k, &[0xf0, 0x01]);
        for _ in 0..20 {
            k.key_event(KeyCode::A, true, 0);
        }
        let got = drain(&mut k);
        assert_eq!(got.len(), 17);
        assert_eq!(got[16], 0xff, "set 1's overrun code");
    }

    #[test]
    fn auto_repeat_only_when_asked() {
        let mut k = Ps2Keyboard::new();
        k.key_event(KeyCode::A, true, 1_000);
        assert_eq!(drain(&mut k), [0x1c]);
        assert_eq!(k.next_event(), None, "the frontend repeats keys itself");
        k.advance(2_000_000_000);
        assert!(drain(&mut k).is_empty());

        k.set_auto_repeat(true);
        k.key_event(KeyCode::A, true, 1_000);
        drain(&mut k);
        let first = 1_000 + 500_000_000;
        assert_eq!(k.next_event(), Some(first));
        k.advance(first - 1);
        assert!(drain(&mut k).is_empty());
        k.advance(first);
        assert_eq!(drain(&mut k), [0x1c]);
        assert_eq!(k.next_event(), Some(first + 11 * 2 * TYPEMATIC_UNIT_NS));
        k.key_event(KeyCode::A, false, first + 1);
        assert_eq!(drain(&mut k), [0xf0, 0x1c]);
        assert_eq!(k.next_event(), None);
    }
}
