//! The terminal display (`-display curses`): text modes drawn in the host
//! terminal (code page 437 as Unicode, the 16 colours, the cursor), redrawn
//! cell by cell where they changed; in a graphics mode, one line saying so.
//! Keys typed there go to the PS/2 keyboard; a terminal reports no key
//! releases, so each key's break code follows its make code at once, as
//! QEMU's curses display does. Ctrl-A x quits (the console's escapes).

use std::io::{self, Write};
use std::time::Duration;

use crossterm::style::{Color, Print, SetBackgroundColor, SetForegroundColor};
use crossterm::{cursor, queue, terminal};
use vemu_devices::display::TextScreen;
use vemu_devices::KeyCode;

use super::vnc::keysym_key;
use super::Screen;

/// Code page 437, the VGA BIOS's font, as Unicode.
const CP437: [char; 256] = [
    ' ', '☺', '☻', '♥', '♦', '♣', '♠', '•', '◘', '○', '◙', '♂', '♀', '♪', '♫', '☼', '►', '◄', '↕', '‼', '¶',
    '§', '▬', '↨', '↑', '↓', '→', '←', '∟', '↔', '▲', '▼', ' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')',
    '*', '+', ',', '-', '.', '/', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>',
    '?', '@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S',
    'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '[', '\\', ']', '^', '_', '`', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',
    'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '{', '|', '}',
    '~', '⌂', 'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', 'É', 'æ', 'Æ',
    'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', 'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º',
    '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝',
    '╜', '╛', '┐', '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', '╨', '╤',
    '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', 'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ',
    'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√',
    'ⁿ', '²', '■', ' ',
];

/// The terminal colour of VGA attribute colour `i` (0-15): the ANSI colours
/// in VGA's order (blue is 1 there, red 4), bright ones from 8.
fn colour(i: u8) -> Color {
    const ANSI: [Color; 16] = [
        Color::Black,
        Color::DarkBlue,
        Color::DarkGreen,
        Color::DarkCyan,
        Color::DarkRed,
        Color::DarkMagenta,
        Color::DarkYellow,
        Color::Grey,
        Color::DarkGrey,
        Color::Blue,
        Color::Green,
        Color::Cyan,
        Color::Red,
        Color::Magenta,
        Color::Yellow,
        Color::White,
    ];
    ANSI[(i & 15) as usize]
}

/// The terminal while the display runs: the alternate screen, put back on drop.
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let mut out = io::stdout();
        let _ = queue!(out, SetForegroundColor(Color::Reset), SetBackgroundColor(Color::Reset), cursor::Show);
        let _ = queue!(out, terminal::LeaveAlternateScreen);
        let _ = out.flush();
    }
}

/// Starts drawing `screen` on standard output in a thread of its own.
pub fn spawn(screen: Screen) -> TerminalGuard {
    let mut out = io::stdout();
    let _ = queue!(out, terminal::EnterAlternateScreen, terminal::Clear(terminal::ClearType::All));
    let _ = out.flush();
    std::thread::spawn(move || {
        let mut drawn: Option<TextScreen> = None;
        let mut graphics_line = String::new();
        let mut generation = 0;
        loop {
            let picture = screen.wait_newer(generation, Duration::from_millis(200));
            if picture.generation == generation {
                continue;
            }
            generation = picture.generation;
            let mut out = io::stdout().lock();
            match &picture.text {
                Some(text) => {
                    let _ = draw_text(&mut out, text, drawn.as_ref());
                    drawn = Some((**text).clone());
                    graphics_line.clear();
                }
                None => {
                    let f = &picture.frame;
                    let line = format!(
                        "vemu: the guest is in a {}x{} graphics mode; see it with -vnc or the monitor's screendump",
                        f.width, f.height
                    );
                    if line != graphics_line {
                        let _ =
                            queue!(out, SetBackgroundColor(Color::Reset), SetForegroundColor(Color::Reset));
                        let _ = queue!(
                            out,
                            terminal::Clear(terminal::ClearType::All),
                            cursor::MoveTo(0, 0),
                            Print(&line)
                        );
                        let _ = out.flush();
                        graphics_line = line;
                    }
                    drawn = None;
                }
            }
        }
    });
    TerminalGuard
}

/// Draws the cells of `text` that differ from `old` (all without one).
fn draw_text(out: &mut impl Write, text: &TextScreen, old: Option<&TextScreen>) -> io::Result<()> {
    let same_shape = old.is_some_and(|o| o.cols == text.cols && o.rows == text.rows);
    if !same_shape {
        queue!(out, SetBackgroundColor(Color::Reset), terminal::Clear(terminal::ClearType::All))?;
    }
    queue!(out, cursor::Hide)?;
    let mut at: Option<(u32, u32)> = None;
    let mut colours: Option<(u8, u8)> = None;
    for (i, cell) in text.cells.iter().enumerate() {
        if same_shape && old.is_some_and(|o| o.cells[i] == *cell) {
            continue;
        }
        let (x, y) = (i as u32 % text.cols, i as u32 / text.cols);
        if at != Some((x, y)) {
            queue!(out, cursor::MoveTo(x as u16, y as u16))?;
        }
        let fg = cell.attr & 0x0f;
        let bg = if text.blink_attr { (cell.attr >> 4) & 7 } else { cell.attr >> 4 };
        if colours != Some((fg, bg)) {
            queue!(out, SetForegroundColor(colour(fg)), SetBackgroundColor(colour(bg)))?;
            colours = Some((fg, bg));
        }
        queue!(out, Print(CP437[cell.ch as usize]))?;
        at = Some((x + 1, y));
    }
    if let Some((x, y)) = text.cursor {
        queue!(out, cursor::MoveTo(x as u16, y as u16), cursor::Show)?;
    }
    out.flush()
}

/// A key typed on the terminal: the key, with Shift, with Ctrl.
pub type TermKey = (KeyCode, bool, bool);

/// Turns the bytes a terminal sends for keys into PS/2 keys: the ASCII
/// characters, control characters as Ctrl with a letter, and the escape
/// sequences of the cursor, editing and function keys (xterm's). Each key
/// comes back as (key, with Shift, with Ctrl).
#[derive(Default)]
pub struct KeyParser {
    pending: Vec<u8>,
}

impl KeyParser {
    /// The keys in `bytes`; an escape sequence cut at the end waits for the
    /// rest, unless `flush` (no more bytes came): then a lone Esc is Esc.
    pub fn feed(&mut self, bytes: &[u8], flush: bool) -> Vec<TermKey> {
        self.pending.extend_from_slice(bytes);
        let mut keys = Vec::new();
        let key = |n: &str| KeyCode::from_qcode_name(n).expect("a key vemu knows");
        loop {
            let p = &self.pending;
            let Some(&b) = p.first() else { break };
            let (used, k) = match b {
                0x1b => match escape(p) {
                    Some((n, k)) => (n, k),
                    None if p.len() == 1 && !flush => break,
                    None if p.len() > 1 && p.len() < 6 && !flush => break,
                    None => (1, Some((key("esc"), false, false))),
                },
                b'\r' | b'\n' => (1, Some((key("ret"), false, false))),
                b'\t' => (1, Some((key("tab"), false, false))),
                0x7f | 0x08 => (1, Some((key("backspace"), false, false))),
                0x00 => (1, Some((key("spc"), false, true))),
                0x01..=0x1a => {
                    let letter = ((b - 1 + b'a') as char).to_string();
                    (1, KeyCode::from_qcode_name(&letter).map(|k| (k, false, true)))
                }
                0x20..=0x7e => (1, keysym_key(b as u32).map(|(k, shift)| (k, shift, false))),
                // Other bytes (UTF-8 beyond ASCII) have no key on a US keyboard.
                _ => (1, None),
            };
            self.pending.drain(..used);
            if let Some(k) = k {
                keys.push(k);
            }
        }
        keys
    }
}

/// An escape sequence at the start of `p`: its length and key (None: a
/// sequence vemu does not know, dropped whole).
fn escape(p: &[u8]) -> Option<(usize, Option<TermKey>)> {
    let key = |n: &str| KeyCode::from_qcode_name(n).map(|k| (k, false, false));
    match p.get(1)? {
        b'O' => {
            let k = match p.get(2)? {
                b'P' => key("f1"),
                b'Q' => key("f2"),
                b'R' => key("f3"),
                b'S' => key("f4"),
                b'H' => key("home"),
                b'F' => key("end"),
                b'A' => key("up"),
                b'B' => key("down"),
                b'C' => key("right"),
                b'D' => key("left"),
                _ => None,
            };
            Some((3, k))
        }
        b'[' => {
            let end = p[2..].iter().position(|c| (0x40..=0x7e).contains(c))? + 2;
            let params = std::str::from_utf8(&p[2..end]).ok()?;
            let k = match (p[end], params) {
                (b'A', _) => key("up"),
                (b'B', _) => key("down"),
                (b'C', _) => key("right"),
                (b'D', _) => key("left"),
                (b'H', _) => key("home"),
                (b'F', _) => key("end"),
                (b'~', "1" | "7") => key("home"),
                (b'~', "2") => key("insert"),
                (b'~', "3") => key("delete"),
                (b'~', "4" | "8") => key("end"),
                (b'~', "5") => key("pgup"),
                (b'~', "6") => key("pgdn"),
                (b'~', "11") => key("f1"),
                (b'~', "12") => key("f2"),
                (b'~', "13") => key("f3"),
                (b'~', "14") => key("f4"),
                (b'~', "15") => key("f5"),
                (b'~', "17") => key("f6"),
                (b'~', "18") => key("f7"),
                (b'~', "19") => key("f8"),
                (b'~', "20") => key("f9"),
                (b'~', "21") => key("f10"),
                (b'~', "23") => key("f11"),
                (b'~', "24") => key("f12"),
                _ => None,
            };
            Some((end + 1, k))
        }
        // Alt with a key: ESC then the key.
        c if (0x20..=0x7e).contains(c) => Some((1, key("esc"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keys: &[TermKey]) -> Vec<String> {
        keys.iter()
            .map(|(k, s, c)| {
                format!(
                    "{}{}{}",
                    if *c { "ctrl-" } else { "" },
                    if *s { "shift-" } else { "" },
                    k.qcode_name()
                )
            })
            .collect()
    }

    #[test]
    fn terminal_bytes_become_keys() {
        let mut p = KeyParser::default();
        let k = p.feed(b"aZ!\r\x03\x1b[A\x1bOP\x1b[15~\x7f", false);
        assert_eq!(names(&k), ["a", "shift-z", "shift-1", "ret", "ctrl-c", "up", "f1", "f5", "backspace"]);
        // A sequence split between reads waits for its end.
        assert!(p.feed(b"\x1b[2", false).is_empty());
        assert_eq!(names(&p.feed(b"4~", false)), ["f12"]);
        // A lone Esc is Esc once nothing more comes.
        assert!(p.feed(b"\x1b", false).is_empty());
        assert_eq!(names(&p.feed(b"", true)), ["esc"]);
    }

    #[test]
    fn cp437_and_colours() {
        assert_eq!(CP437[0x41], 'A');
        assert_eq!(CP437[0xc9], '╔');
        assert_eq!(CP437[0xdb], '█');
        assert_eq!(colour(1), Color::DarkBlue);
        assert_eq!(colour(12), Color::Red);
    }

    #[test]
    fn only_changed_cells_are_drawn() {
        use vemu_devices::display::Cell;
        let mut a =
            TextScreen { cols: 4, rows: 2, cells: vec![Cell { ch: b'x', attr: 7 }; 8], ..Default::default() };
        let mut out = Vec::new();
        draw_text(&mut out, &a, None).unwrap();
        let full = out.len();
        let old = a.clone();
        a.cells[5].ch = b'y';
        out.clear();
        draw_text(&mut out, &a, Some(&old)).unwrap();
        let s = String::from_utf8_lossy(&out);
        assert!(out.len() < full && s.contains('y') && !s.contains('x'), "{s:?}");
    }
}
