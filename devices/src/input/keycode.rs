//! Keys of a PC keyboard, named as QEMU names them (its `QKeyCode`: "a",
//! "shift", "ctrl_r", "kp_add", "meta_l", ...), and the scancode each key
//! sends in the three PS/2 scancode sets.
//!
//! This file owns the names and the tables only: the 105 keys of an ISO
//! keyboard, the Windows and menu keys, the Japanese and Korean keys, the
//! ACPI power keys and the usual multimedia keys. How a keyboard turns a key
//! into bytes (break codes, Print Screen's and Pause's longer sequences,
//! queueing) is `ps2kbd.rs`; the 8042's set 2 to set 1 translation is
//! `i8042.rs`.

use serde::{Deserialize, Serialize};

/// The table behind [`KeyCode`]: each row names a key, its QEMU name, its
/// set 1 and set 2 make codes (0xe0xx for the keys with an E0 prefix) and its
/// set 3 make code (0 for keys that set 3 does not have).
macro_rules! key_table {
    ($($key:ident $name:literal $set1:literal $set2:literal $set3:literal;)*) => {
        /// A key of the PC keyboard.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum KeyCode {
            $($key,)*
        }

        /// One row per [`KeyCode`], in the enum's order.
        const KEYS: &[KeyInfo] = &[
            $(KeyInfo { key: KeyCode::$key, name: $name, set1: $set1, set2: $set2, set3: $set3 },)*
        ];
    };
}

struct KeyInfo {
    key: KeyCode,
    name: &'static str,
    set1: u16,
    set2: u16,
    set3: u8,
}

// Print Screen and Pause are listed with their plain E0 codes (Pause with
// that of Ctrl+Pause, i.e. Break); the keyboard sends their full sequences.
// SysRq (Alt+Print Screen) is 0x84 in set 2, the code keyboards send.
key_table! {
    Esc "esc" 0x01 0x76 0x08;
    Digit1 "1" 0x02 0x16 0x16;
    Digit2 "2" 0x03 0x1e 0x1e;
    Digit3 "3" 0x04 0x26 0x26;
    Digit4 "4" 0x05 0x25 0x25;
    Digit5 "5" 0x06 0x2e 0x2e;
    Digit6 "6" 0x07 0x36 0x36;
    Digit7 "7" 0x08 0x3d 0x3d;
    Digit8 "8" 0x09 0x3e 0x3e;
    Digit9 "9" 0x0a 0x46 0x46;
    Digit0 "0" 0x0b 0x45 0x45;
    Minus "minus" 0x0c 0x4e 0x4e;
    Equal "equal" 0x0d 0x55 0x55;
    Backspace "backspace" 0x0e 0x66 0x66;
    Tab "tab" 0x0f 0x0d 0x0d;
    Q "q" 0x10 0x15 0x15;
    W "w" 0x11 0x1d 0x1d;
    E "e" 0x12 0x24 0x24;
    R "r" 0x13 0x2d 0x2d;
    T "t" 0x14 0x2c 0x2c;
    Y "y" 0x15 0x35 0x35;
    U "u" 0x16 0x3c 0x3c;
    I "i" 0x17 0x43 0x43;
    O "o" 0x18 0x44 0x44;
    P "p" 0x19 0x4d 0x4d;
    BracketLeft "bracket_left" 0x1a 0x54 0x54;
    BracketRight "bracket_right" 0x1b 0x5b 0x5b;
    Ret "ret" 0x1c 0x5a 0x5a;
    Ctrl "ctrl" 0x1d 0x14 0x11;
    A "a" 0x1e 0x1c 0x1c;
    S "s" 0x1f 0x1b 0x1b;
    D "d" 0x20 0x23 0x23;
    F "f" 0x21 0x2b 0x2b;
    G "g" 0x22 0x34 0x34;
    H "h" 0x23 0x33 0x33;
    J "j" 0x24 0x3b 0x3b;
    K "k" 0x25 0x42 0x42;
    L "l" 0x26 0x4b 0x4b;
    Semicolon "semicolon" 0x27 0x4c 0x4c;
    Apostrophe "apostrophe" 0x28 0x52 0x52;
    GraveAccent "grave_accent" 0x29 0x0e 0x0e;
    Shift "shift" 0x2a 0x12 0x12;
    Backslash "backslash" 0x2b 0x5d 0x5c;
    Z "z" 0x2c 0x1a 0x1a;
    X "x" 0x2d 0x22 0x22;
    C "c" 0x2e 0x21 0x21;
    V "v" 0x2f 0x2a 0x2a;
    B "b" 0x30 0x32 0x32;
    N "n" 0x31 0x31 0x31;
    M "m" 0x32 0x3a 0x3a;
    Comma "comma" 0x33 0x41 0x41;
    Dot "dot" 0x34 0x49 0x49;
    Slash "slash" 0x35 0x4a 0x4a;
    ShiftR "shift_r" 0x36 0x59 0x59;
    KpMultiply "kp_multiply" 0x37 0x7c 0x7e;
    Alt "alt" 0x38 0x11 0x19;
    Spc "spc" 0x39 0x29 0x29;
    CapsLock "caps_lock" 0x3a 0x58 0x14;
    F1 "f1" 0x3b 0x05 0x07;
    F2 "f2" 0x3c 0x06 0x0f;
    F3 "f3" 0x3d 0x04 0x17;
    F4 "f4" 0x3e 0x0c 0x1f;
    F5 "f5" 0x3f 0x03 0x27;
    F6 "f6" 0x40 0x0b 0x2f;
    F7 "f7" 0x41 0x83 0x37;
    F8 "f8" 0x42 0x0a 0x3f;
    F9 "f9" 0x43 0x01 0x47;
    F10 "f10" 0x44 0x09 0x4f;
    NumLock "num_lock" 0x45 0x77 0x76;
    ScrollLock "scroll_lock" 0x46 0x7e 0x5f;
    Kp7 "kp_7" 0x47 0x6c 0x6c;
    Kp8 "kp_8" 0x48 0x75 0x75;
    Kp9 "kp_9" 0x49 0x7d 0x7d;
    KpSubtract "kp_subtract" 0x4a 0x7b 0x4e;
    Kp4 "kp_4" 0x4b 0x6b 0x6b;
    Kp5 "kp_5" 0x4c 0x73 0x73;
    Kp6 "kp_6" 0x4d 0x74 0x74;
    KpAdd "kp_add" 0x4e 0x79 0x7c;
    Kp1 "kp_1" 0x4f 0x69 0x69;
    Kp2 "kp_2" 0x50 0x72 0x72;
    Kp3 "kp_3" 0x51 0x7a 0x7a;
    Kp0 "kp_0" 0x52 0x70 0x70;
    KpDecimal "kp_decimal" 0x53 0x71 0x71;
    SysRq "sysrq" 0x54 0x84 0x57;
    Less "less" 0x56 0x61 0x13;
    F11 "f11" 0x57 0x78 0x56;
    F12 "f12" 0x58 0x07 0x5e;
    KpEquals "kp_equals" 0x59 0x0f 0x00;
    KatakanaHiragana "katakanahiragana" 0x70 0x13 0x87;
    Ro "ro" 0x73 0x51 0x00;
    Hiragana "hiragana" 0x77 0x62 0x87;
    Henkan "henkan" 0x79 0x64 0x86;
    Muhenkan "muhenkan" 0x7b 0x67 0x85;
    Yen "yen" 0x7d 0x6a 0x5d;
    KpComma "kp_comma" 0x7e 0x6d 0x00;
    Lang2 "lang2" 0xf1 0xf1 0x00;
    Lang1 "lang1" 0xf2 0xf2 0x00;
    AudioPrev "audioprev" 0xe010 0xe015 0x94;
    AudioNext "audionext" 0xe019 0xe04d 0x93;
    KpEnter "kp_enter" 0xe01c 0xe05a 0x79;
    CtrlR "ctrl_r" 0xe01d 0xe014 0x58;
    AudioMute "audiomute" 0xe020 0xe023 0x9c;
    Calculator "calculator" 0xe021 0xe02b 0xa3;
    AudioPlay "audioplay" 0xe022 0xe034 0x00;
    AudioStop "audiostop" 0xe024 0xe03b 0x98;
    VolumeDown "volumedown" 0xe02e 0xe021 0x9d;
    VolumeUp "volumeup" 0xe030 0xe032 0x95;
    AcHome "ac_home" 0xe032 0xe03a 0x97;
    KpDivide "kp_divide" 0xe035 0xe04a 0x4a;
    Print "print" 0xe037 0xe07c 0x57;
    AltR "alt_r" 0xe038 0xe011 0x39;
    Pause "pause" 0xe046 0xe07e 0x62;
    Home "home" 0xe047 0xe06c 0x6e;
    Up "up" 0xe048 0xe075 0x63;
    Pgup "pgup" 0xe049 0xe07d 0x6f;
    Left "left" 0xe04b 0xe06b 0x61;
    Right "right" 0xe04d 0xe074 0x6a;
    End "end" 0xe04f 0xe069 0x65;
    Down "down" 0xe050 0xe072 0x60;
    Pgdn "pgdn" 0xe051 0xe07a 0x6d;
    Insert "insert" 0xe052 0xe070 0x67;
    Delete "delete" 0xe053 0xe071 0x64;
    MetaL "meta_l" 0xe05b 0xe01f 0x8b;
    MetaR "meta_r" 0xe05c 0xe027 0x8c;
    Compose "compose" 0xe05d 0xe02f 0x8d;
    Power "power" 0xe05e 0xe037 0x00;
    Sleep "sleep" 0xe05f 0xe03f 0x00;
    Wake "wake" 0xe063 0xe05e 0x00;
    AcBookmarks "ac_bookmarks" 0xe066 0xe018 0x00;
    AcRefresh "ac_refresh" 0xe067 0xe020 0x00;
    Stop "stop" 0xe068 0xe028 0x0a;
    AcForward "ac_forward" 0xe069 0xe030 0x00;
    AcBack "ac_back" 0xe06a 0xe038 0x00;
    Computer "computer" 0xe06b 0xe040 0x00;
    Mail "mail" 0xe06c 0xe048 0x00;
    MediaSelect "mediaselect" 0xe06d 0xe050 0x00;
}

impl KeyCode {
    /// The key QEMU calls `name` (as `sendkey` and QMP's `send-key` spell
    /// it), if this keyboard has it.
    pub fn from_qcode_name(name: &str) -> Option<KeyCode> {
        // QEMU has two names for the keypad's '*'.
        let name = if name == "asterisk" { "kp_multiply" } else { name };
        KEYS.iter().find(|k| k.name == name).map(|k| k.key)
    }

    /// QEMU's name of the key.
    pub fn qcode_name(self) -> &'static str {
        self.info().name
    }

    /// The make code in scancode set 1: one byte, or 0xe0xx for the keys sent
    /// with an E0 prefix. The break code has bit 7 set in the last byte.
    pub fn set1(self) -> u16 {
        self.info().set1
    }

    /// The make code in scancode set 2: one byte, or 0xe0xx for the keys sent
    /// with an E0 prefix. The break code puts 0xf0 before the last byte.
    pub fn set2(self) -> u16 {
        self.info().set2
    }

    /// The make code in scancode set 3, which has no prefixes; `None` for
    /// keys that set 3 does not have.
    pub fn set3(self) -> Option<u8> {
        Some(self.info().set3).filter(|&c| c != 0)
    }

    /// Every key, in table order.
    pub fn all() -> impl Iterator<Item = KeyCode> + Clone {
        KEYS.iter().map(|k| k.key)
    }

    fn info(self) -> &'static KeyInfo {
        // The macro lists the variants and the rows in the same order.
        &KEYS[self as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_enum() {
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(k.key as usize, i, "{}", k.name);
        }
    }

    #[test]
    fn names_as_qemu_spells_them() {
        assert_eq!(KeyCode::from_qcode_name("a"), Some(KeyCode::A));
        assert_eq!(KeyCode::from_qcode_name("ctrl"), Some(KeyCode::Ctrl));
        assert_eq!(KeyCode::from_qcode_name("alt"), Some(KeyCode::Alt));
        assert_eq!(KeyCode::from_qcode_name("delete"), Some(KeyCode::Delete));
        assert_eq!(KeyCode::from_qcode_name("ret"), Some(KeyCode::Ret));
        assert_eq!(KeyCode::from_qcode_name("kp_add"), Some(KeyCode::KpAdd));
        assert_eq!(KeyCode::from_qcode_name("meta_l"), Some(KeyCode::MetaL));
        assert_eq!(KeyCode::from_qcode_name("asterisk"), Some(KeyCode::KpMultiply));
        assert_eq!(KeyCode::from_qcode_name("unmapped"), None);
        assert_eq!(KeyCode::from_qcode_name(""), None);
        for k in KeyCode::all() {
            assert_eq!(KeyCode::from_qcode_name(k.qcode_name()), Some(k));
        }
    }

    #[test]
    fn codes_are_unique_within_each_set() {
        let keys: Vec<KeyCode> = KeyCode::all().collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a.set1(), b.set1(), "{a:?} {b:?}");
                assert_ne!(a.set2(), b.set2(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn set3_lacks_only_keys_beyond_the_105() {
        let non_105 = [
            KeyCode::KpEquals,
            KeyCode::Ro,
            KeyCode::KpComma,
            KeyCode::Lang1,
            KeyCode::Lang2,
            KeyCode::AudioPlay,
            KeyCode::Power,
            KeyCode::Sleep,
            KeyCode::Wake,
            KeyCode::AcBookmarks,
            KeyCode::AcRefresh,
            KeyCode::AcForward,
            KeyCode::AcBack,
            KeyCode::Computer,
            KeyCode::Mail,
            KeyCode::MediaSelect,
        ];
        let with_set3 = KeyCode::all().filter(|k| k.set3().is_some()).count();
        assert_eq!(with_set3, KEYS.len() - non_105.len());
        assert!(non_105.iter().all(|k| k.set3().is_none()));
        assert_eq!(KeyCode::A.set3(), Some(0x1c));
        assert_eq!(KeyCode::Up.set1(), 0xe048);
        assert_eq!(KeyCode::Up.set2(), 0xe075);
    }
}
