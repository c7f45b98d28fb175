//! A VNC server (RFB 3.8, also 3.7 and 3.3), as QEMU's `-vnc`: no
//! authentication, the picture in raw or Hextile encoding in any true-colour
//! pixel format the client asks for, DesktopSize when the guest changes mode,
//! keys (X keysyms) to the PS/2 keyboard and the pointer to the PS/2 mouse.
//!
//! A client that sends garbage, an unknown message or goes away ends its own
//! session only; the guest runs on.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use vemu_devices::{mouse_button, Frame, KeyCode};

use super::{Input, Screen};

/// Where `-vnc` listens: `:N` (port 5900+N on every interface, as QEMU) or
/// `HOST:N`; `HOST:PORT` with a port above 5900... is not QEMU's syntax, so
/// only display numbers are taken, plus `unix:` is refused by name.
pub fn parse_vnc(spec: &str) -> Result<String, String> {
    let main = spec.split(',').next().unwrap_or_default();
    if main.starts_with("unix:") {
        return Err(format!("-vnc {spec}: vemu's VNC server listens on TCP only"));
    }
    let (host, display) =
        main.rsplit_once(':').ok_or_else(|| format!("-vnc {spec}: expected [HOST]:DISPLAY"))?;
    let n: u16 = display.parse().map_err(|_| format!("-vnc {spec}: the display number is not a number"))?;
    let port = 5900u16.checked_add(n).ok_or_else(|| format!("-vnc {spec}: display number too large"))?;
    let host = if host.is_empty() { "0.0.0.0" } else { host.trim_start_matches('[').trim_end_matches(']') };
    Ok(format!("{host}:{port}"))
}

/// Starts the server on `addr`; clients run in threads of their own.
pub fn serve(addr: &str, screen: Screen, input: Sender<Input>) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen for VNC on {addr}: {e}"))?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (screen, input) = (screen.clone(), input.clone());
            std::thread::spawn(move || {
                let _ = session(stream, screen, input);
            });
        }
    });
    Ok(())
}

/// A true-colour pixel format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct PixelFormat {
    bpp: u8,
    big_endian: bool,
    max: [u16; 3],
    shift: [u8; 3],
}

impl PixelFormat {
    /// QEMU's: 32 bits, little-endian, 8 bits per channel at 16/8/0.
    const DEFAULT: PixelFormat = PixelFormat { bpp: 32, big_endian: false, max: [255; 3], shift: [16, 8, 0] };

    fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = self.bpp;
        b[1] = if self.bpp == 32 { 24 } else { self.bpp };
        b[2] = self.big_endian as u8;
        b[3] = 1;
        for i in 0..3 {
            b[4 + 2 * i..6 + 2 * i].copy_from_slice(&self.max[i].to_be_bytes());
            b[10 + i] = self.shift[i];
        }
        b
    }

    fn decode(b: &[u8]) -> Option<PixelFormat> {
        let bpp = b[0];
        if !matches!(bpp, 8 | 16 | 32) || b[3] == 0 {
            return None;
        }
        let max = [
            u16::from_be_bytes([b[4], b[5]]),
            u16::from_be_bytes([b[6], b[7]]),
            u16::from_be_bytes([b[8], b[9]]),
        ];
        Some(PixelFormat { bpp, big_endian: b[2] != 0, max, shift: [b[10], b[11], b[12]] })
    }

    /// Appends pixel 0x00RRGGBB in this format.
    fn put(&self, out: &mut Vec<u8>, rgb: u32) {
        let c = [(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff];
        let v = (0..3).fold(0u32, |v, i| v | ((c[i] * self.max[i] as u32 + 127) / 255) << self.shift[i]);
        match (self.bpp, self.big_endian) {
            (8, _) => out.push(v as u8),
            (16, false) => out.extend_from_slice(&(v as u16).to_le_bytes()),
            (16, true) => out.extend_from_slice(&(v as u16).to_be_bytes()),
            (_, false) => out.extend_from_slice(&v.to_le_bytes()),
            (_, true) => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

/// What a client sent.
enum ClientMsg {
    SetPixelFormat(Option<PixelFormat>),
    SetEncodings(Vec<i32>),
    /// (The rectangle asked for is not kept: updates cover the screen.)
    UpdateRequest {
        incremental: bool,
    },
    Key {
        down: bool,
        keysym: u32,
    },
    Pointer {
        buttons: u8,
        x: u16,
        y: u16,
    },
    CutText,
}

fn read_msg(r: &mut impl Read) -> io::Result<ClientMsg> {
    let mut t = [0u8; 1];
    r.read_exact(&mut t)?;
    let mut buf = |n: usize| -> io::Result<Vec<u8>> {
        let mut b = vec![0; n];
        r.read_exact(&mut b)?;
        Ok(b)
    };
    Ok(match t[0] {
        0 => ClientMsg::SetPixelFormat(PixelFormat::decode(&buf(19)?[3..])),
        2 => {
            let b = buf(3)?;
            let n = u16::from_be_bytes([b[1], b[2]]) as usize;
            let e = buf(4 * n)?;
            ClientMsg::SetEncodings(
                e.chunks(4).map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect(),
            )
        }
        3 => {
            let b = buf(9)?;
            ClientMsg::UpdateRequest { incremental: b[0] != 0 }
        }
        4 => {
            let b = buf(7)?;
            ClientMsg::Key { down: b[0] != 0, keysym: u32::from_be_bytes([b[3], b[4], b[5], b[6]]) }
        }
        5 => {
            let b = buf(5)?;
            ClientMsg::Pointer {
                buttons: b[0],
                x: u16::from_be_bytes([b[1], b[2]]),
                y: u16::from_be_bytes([b[3], b[4]]),
            }
        }
        6 => {
            let b = buf(7)?;
            let len = u32::from_be_bytes([b[3], b[4], b[5], b[6]]);
            if len > 1 << 20 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "cut text too long"));
            }
            buf(len as usize)?;
            ClientMsg::CutText
        }
        other => {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown message type {other}")))
        }
    })
}

const ENC_RAW: i32 = 0;
const ENC_HEXTILE: i32 = 5;
const ENC_DESKTOP_SIZE: i32 = -223;

/// One client's session.
fn session(mut stream: TcpStream, screen: Screen, input: Sender<Input>) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    stream.write_all(b"RFB 003.008\n")?;
    let mut version = [0u8; 12];
    stream.read_exact(&mut version)?;
    let minor = match &version {
        b"RFB 003.008\n" => 8,
        b"RFB 003.007\n" => 7,
        b"RFB 003.003\n" | b"RFB 003.004\n" | b"RFB 003.005\n" => 3,
        _ => {
            stream.write_all(&0u32.to_be_bytes())?;
            return Ok(());
        }
    };
    if minor >= 7 {
        stream.write_all(&[1, 1])?;
        let mut chosen = [0u8; 1];
        stream.read_exact(&mut chosen)?;
        if chosen[0] != 1 {
            stream.write_all(&1u32.to_be_bytes())?;
            if minor == 8 {
                let why = b"Authentication failed\0";
                stream.write_all(&(why.len() as u32).to_be_bytes())?;
                stream.write_all(why)?;
            }
            return Ok(());
        }
        if minor == 8 {
            stream.write_all(&0u32.to_be_bytes())?;
        }
    } else {
        stream.write_all(&1u32.to_be_bytes())?;
    }
    let mut shared = [0u8; 1];
    stream.read_exact(&mut shared)?;
    let picture = screen.latest();
    let (w, h) = size_of(&picture.frame);
    let mut init = Vec::new();
    init.extend_from_slice(&(w as u16).to_be_bytes());
    init.extend_from_slice(&(h as u16).to_be_bytes());
    init.extend_from_slice(&PixelFormat::DEFAULT.encode());
    init.extend_from_slice(&4u32.to_be_bytes());
    init.extend_from_slice(b"vemu");
    stream.write_all(&init)?;

    // Messages are read in a thread of their own, so that updates can go
    // out while the client says nothing.
    let (tx, rx): (Sender<io::Result<ClientMsg>>, Receiver<_>) = mpsc::channel();
    let mut reader = stream.try_clone()?;
    std::thread::spawn(move || loop {
        let m = read_msg(&mut reader);
        let failed = m.is_err();
        if tx.send(m).is_err() || failed {
            return;
        }
    });

    let mut client = Client {
        format: PixelFormat::DEFAULT,
        hextile: false,
        desktop_size: false,
        sent: None,
        size: (w, h),
        pending: None,
        pointer: None,
        buttons: 0,
        shift_held: false,
        input,
        generation: 0,
    };
    loop {
        let msg = if client.pending.is_some() {
            rx.recv_timeout(Duration::from_millis(10))
        } else {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        };
        match msg {
            Ok(Ok(m)) => client.handle(m),
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some(incremental) = client.pending {
            let picture = if incremental && client.sent.is_some() {
                screen.wait_newer(client.generation, Duration::from_millis(20))
            } else {
                // A full update shows the screen as it is now.
                screen.current(Duration::from_millis(200))
            };
            client.generation = picture.generation;
            if let Some(update) = client.update(&picture.frame, incremental) {
                stream.write_all(&update)?;
                client.pending = None;
            }
        }
    }
}

fn size_of(f: &Frame) -> (u32, u32) {
    if f.width == 0 || f.height == 0 {
        (640, 480)
    } else {
        (f.width, f.height)
    }
}

struct Client {
    format: PixelFormat,
    hextile: bool,
    desktop_size: bool,
    /// The picture the client has.
    sent: Option<Arc<Frame>>,
    /// The size the client knows.
    size: (u32, u32),
    /// An update was asked for (incremental or not).
    pending: Option<bool>,
    pointer: Option<(u16, u16)>,
    buttons: u8,
    shift_held: bool,
    input: Sender<Input>,
    /// The generation of the picture last looked at.
    generation: u64,
}

impl Client {
    fn handle(&mut self, m: ClientMsg) {
        match m {
            ClientMsg::SetPixelFormat(f) => {
                self.format = f.unwrap_or(PixelFormat::DEFAULT);
                self.sent = None;
            }
            ClientMsg::SetEncodings(list) => {
                self.hextile = list.iter().take_while(|e| **e != ENC_RAW).any(|e| *e == ENC_HEXTILE);
                self.desktop_size = list.contains(&ENC_DESKTOP_SIZE);
            }
            ClientMsg::UpdateRequest { incremental } => {
                if !incremental {
                    self.sent = None;
                }
                self.pending = Some(self.pending.unwrap_or(true) && incremental);
            }
            ClientMsg::Key { down, keysym } => self.key(down, keysym),
            ClientMsg::Pointer { buttons, x, y } => self.pointer(buttons, x, y),
            ClientMsg::CutText => {}
        }
    }

    fn key(&mut self, down: bool, keysym: u32) {
        if matches!(keysym, 0xffe1 | 0xffe2) {
            self.shift_held = down;
        }
        let Some((key, shifted)) = keysym_key(keysym) else { return };
        let synthetic = shifted && !self.shift_held && down;
        if synthetic {
            let _ = self.input.send(Input::Key(KeyCode::from_qcode_name("shift").expect("shift"), true));
        }
        let _ = self.input.send(Input::Key(key, down));
        if synthetic {
            let _ = self.input.send(Input::Key(KeyCode::from_qcode_name("shift").expect("shift"), false));
        }
    }

    fn pointer(&mut self, mask: u8, x: u16, y: u16) {
        let (dx, dy) = match self.pointer {
            Some((px, py)) => (x as i32 - px as i32, y as i32 - py as i32),
            None => (0, 0),
        };
        self.pointer = Some((x, y));
        let pressed = mask & !self.buttons;
        let dz = if pressed & 0x08 != 0 {
            -1
        } else if pressed & 0x10 != 0 {
            1
        } else {
            0
        };
        self.buttons = mask;
        let mut b = 0;
        if mask & 1 != 0 {
            b |= mouse_button::LEFT;
        }
        if mask & 2 != 0 {
            b |= mouse_button::MIDDLE;
        }
        if mask & 4 != 0 {
            b |= mouse_button::RIGHT;
        }
        let _ = self.input.send(Input::Mouse { dx, dy, dz, buttons: b });
    }

    /// The update for the client's request, if there is something to send.
    fn update(&mut self, frame: &Arc<Frame>, incremental: bool) -> Option<Vec<u8>> {
        let (w, h) = size_of(frame);
        let mut rects: Vec<(u32, u32, u32, u32)> = Vec::new();
        let mut out = Vec::new();
        let mut count = 0u16;
        let resized = (w, h) != self.size;
        if resized && self.desktop_size {
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(&(w as u16).to_be_bytes());
            out.extend_from_slice(&(h as u16).to_be_bytes());
            out.extend_from_slice(&ENC_DESKTOP_SIZE.to_be_bytes());
            count += 1;
            self.size = (w, h);
            self.sent = None;
        }
        let (cw, ch) = self.size;
        match (&self.sent, incremental) {
            (Some(old), true) if old.width == frame.width && old.height == frame.height => {
                if Arc::ptr_eq(old, frame) && count == 0 {
                    return None;
                }
                rects = changed_tiles(old, frame, cw, ch);
                if rects.is_empty() && count == 0 {
                    self.sent = Some(frame.clone());
                    return None;
                }
            }
            _ => rects.push((0, 0, cw.min(w.max(1)), ch.min(h.max(1)))),
        }
        for &(x, y, rw, rh) in &rects {
            out.extend_from_slice(&(x as u16).to_be_bytes());
            out.extend_from_slice(&(y as u16).to_be_bytes());
            out.extend_from_slice(&(rw as u16).to_be_bytes());
            out.extend_from_slice(&(rh as u16).to_be_bytes());
            if self.hextile {
                out.extend_from_slice(&ENC_HEXTILE.to_be_bytes());
                self.hextile_rect(&mut out, frame, x, y, rw, rh);
            } else {
                out.extend_from_slice(&ENC_RAW.to_be_bytes());
                for yy in y..y + rh {
                    for xx in x..x + rw {
                        self.format.put(&mut out, pixel(frame, xx, yy));
                    }
                }
            }
            count += 1;
        }
        self.sent = Some(frame.clone());
        let mut msg = vec![0, 0];
        msg.extend_from_slice(&count.to_be_bytes());
        msg.extend_from_slice(&out);
        Some(msg)
    }

    /// Hextile: solid tiles as their background colour, the others raw.
    fn hextile_rect(&self, out: &mut Vec<u8>, frame: &Frame, x: u32, y: u32, w: u32, h: u32) {
        let mut bg: Option<u32> = None;
        for ty in (y..y + h).step_by(16) {
            for tx in (x..x + w).step_by(16) {
                let (tw, th) = ((x + w - tx).min(16), (y + h - ty).min(16));
                let first = pixel(frame, tx, ty);
                let solid = (ty..ty + th).all(|yy| (tx..tx + tw).all(|xx| pixel(frame, xx, yy) == first));
                if solid {
                    if bg == Some(first) {
                        out.push(0);
                    } else {
                        out.push(2);
                        self.format.put(out, first);
                        bg = Some(first);
                    }
                } else {
                    out.push(1);
                    for yy in ty..ty + th {
                        for xx in tx..tx + tw {
                            self.format.put(out, pixel(frame, xx, yy));
                        }
                    }
                    bg = None;
                }
            }
        }
    }
}

/// A pixel of the frame, black outside it.
fn pixel(f: &Frame, x: u32, y: u32) -> u32 {
    if x < f.width && y < f.height {
        f.pixels[(y * f.width + x) as usize]
    } else {
        0
    }
}

/// The 16-pixel-high bands of tiles that differ, each as one rectangle
/// from its first to its last differing tile.
fn changed_tiles(old: &Frame, new: &Frame, w: u32, h: u32) -> Vec<(u32, u32, u32, u32)> {
    let mut rects = Vec::new();
    for ty in (0..h.min(new.height)).step_by(16) {
        let th = (h.min(new.height) - ty).min(16);
        let mut first = None;
        let mut last = 0;
        for tx in (0..w.min(new.width)).step_by(16) {
            let tw = (w.min(new.width) - tx).min(16);
            let differs = (ty..ty + th).any(|y| {
                let a = (y * new.width + tx) as usize;
                old.pixels[a..a + tw as usize] != new.pixels[a..a + tw as usize]
            });
            if differs {
                first.get_or_insert(tx);
                last = tx + tw;
            }
        }
        if let Some(fx) = first {
            rects.push((fx, ty, last - fx, th));
        }
    }
    rects
}

/// The key an X keysym names on a US keyboard, and whether it needs Shift
/// (sent around it when the client does not hold Shift itself).
pub fn keysym_key(keysym: u32) -> Option<(KeyCode, bool)> {
    let name_shift: (&str, bool) = match keysym {
        0x61..=0x7a => {
            return KeyCode::from_qcode_name(&((keysym as u8) as char).to_string()).map(|k| (k, false))
        }
        0x41..=0x5a => {
            return KeyCode::from_qcode_name(&((keysym as u8).to_ascii_lowercase() as char).to_string())
                .map(|k| (k, true))
        }
        0x30..=0x39 => {
            return KeyCode::from_qcode_name(&((keysym as u8) as char).to_string()).map(|k| (k, false))
        }
        0x20 => ("spc", false),
        0x27 => ("apostrophe", false),
        0x2c => ("comma", false),
        0x2d => ("minus", false),
        0x2e => ("dot", false),
        0x2f => ("slash", false),
        0x3b => ("semicolon", false),
        0x3d => ("equal", false),
        0x5b => ("bracket_left", false),
        0x5c => ("backslash", false),
        0x5d => ("bracket_right", false),
        0x60 => ("grave_accent", false),
        0x21 => ("1", true),
        0x22 => ("apostrophe", true),
        0x23 => ("3", true),
        0x24 => ("4", true),
        0x25 => ("5", true),
        0x26 => ("7", true),
        0x28 => ("9", true),
        0x29 => ("0", true),
        0x2a => ("8", true),
        0x2b => ("equal", true),
        0x3a => ("semicolon", true),
        0x3c => ("comma", true),
        0x3e => ("dot", true),
        0x3f => ("slash", true),
        0x40 => ("2", true),
        0x5e => ("6", true),
        0x5f => ("minus", true),
        0x7b => ("bracket_left", true),
        0x7c => ("backslash", true),
        0x7d => ("bracket_right", true),
        0x7e => ("grave_accent", true),
        0xff08 => ("backspace", false),
        0xff09 | 0xfe20 => ("tab", false),
        0xff0d => ("ret", false),
        0xff1b => ("esc", false),
        0xffff => ("delete", false),
        0xff13 => ("pause", false),
        0xff14 => ("scroll_lock", false),
        0xff15 => ("sysrq", false),
        0xff61 => ("print", false),
        0xff50 => ("home", false),
        0xff51 => ("left", false),
        0xff52 => ("up", false),
        0xff53 => ("right", false),
        0xff54 => ("down", false),
        0xff55 => ("pgup", false),
        0xff56 => ("pgdn", false),
        0xff57 => ("end", false),
        0xff63 => ("insert", false),
        0xff67 => ("compose", false),
        0xff7f => ("num_lock", false),
        0xffbe..=0xffc9 => {
            let n = keysym - 0xffbe + 1;
            return KeyCode::from_qcode_name(&format!("f{n}")).map(|k| (k, false));
        }
        0xffe1 => ("shift", false),
        0xffe2 => ("shift_r", false),
        0xffe3 => ("ctrl", false),
        0xffe4 => ("ctrl_r", false),
        0xffe5 => ("caps_lock", false),
        0xffe7 | 0xffe9 => ("alt", false),
        0xffe8 | 0xffea | 0xfe03 => ("alt_r", false),
        0xffeb => ("meta_l", false),
        0xffec => ("meta_r", false),
        0xff8d => ("kp_enter", false),
        0xffaa => ("kp_multiply", false),
        0xffab => ("kp_add", false),
        0xffad => ("kp_subtract", false),
        0xffae | 0xff9f => ("kp_decimal", false),
        0xffaf => ("kp_divide", false),
        0xffbd => ("kp_equals", false),
        0xffb0..=0xffb9 => {
            let n = keysym - 0xffb0;
            return KeyCode::from_qcode_name(&format!("kp_{n}")).map(|k| (k, false));
        }
        0xff95 => ("kp_7", false),
        0xff96 => ("kp_4", false),
        0xff97 => ("kp_8", false),
        0xff98 => ("kp_6", false),
        0xff99 => ("kp_2", false),
        0xff9a => ("kp_9", false),
        0xff9b => ("kp_3", false),
        0xff9c => ("kp_1", false),
        0xff9d => ("kp_5", false),
        0xff9e => ("kp_0", false),
        _ => return None,
    };
    KeyCode::from_qcode_name(name_shift.0).map(|k| (k, name_shift.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_and_addresses() {
        assert_eq!(parse_vnc(":1").unwrap(), "0.0.0.0:5901");
        assert_eq!(parse_vnc("127.0.0.1:0").unwrap(), "127.0.0.1:5900");
        assert!(parse_vnc("unix:/tmp/v").is_err());
        assert!(parse_vnc("foo").is_err());
    }

    #[test]
    fn keysyms() {
        let k = |n: &str| KeyCode::from_qcode_name(n).unwrap();
        assert_eq!(keysym_key(0x61), Some((k("a"), false)));
        assert_eq!(keysym_key(0x41), Some((k("a"), true)));
        assert_eq!(keysym_key(0x21), Some((k("1"), true)));
        assert_eq!(keysym_key(0xff0d), Some((k("ret"), false)));
        assert_eq!(keysym_key(0xffc9), Some((k("f12"), false)));
        assert_eq!(keysym_key(0xffb5), Some((k("kp_5"), false)));
        assert_eq!(keysym_key(0x1234), None);
        // Every key the table names exists: all printable ASCII, and the
        // editing, function, modifier and keypad keys.
        let specials = [
            0xff08, 0xff09, 0xfe20, 0xff0d, 0xff1b, 0xffff, 0xff13, 0xff14, 0xff15, 0xff61, 0xff50, 0xff51,
            0xff52, 0xff53, 0xff54, 0xff55, 0xff56, 0xff57, 0xff63, 0xff67, 0xff7f, 0xffe1, 0xffe2, 0xffe3,
            0xffe4, 0xffe5, 0xffe7, 0xffe8, 0xffe9, 0xffea, 0xfe03, 0xffeb, 0xffec, 0xff8d, 0xffaa, 0xffab,
            0xffad, 0xffae, 0xff9f, 0xffaf, 0xffbd,
        ];
        for keysym in
            (0x20..=0x7e).chain(specials).chain(0xffbe..=0xffc9).chain(0xffb0..=0xffb9).chain(0xff95..=0xff9e)
        {
            assert!(keysym_key(keysym).is_some(), "keysym {keysym:#x} has no key");
        }
    }

    #[test]
    fn pixel_formats() {
        let mut out = Vec::new();
        PixelFormat::DEFAULT.put(&mut out, 0x123456);
        assert_eq!(out, [0x56, 0x34, 0x12, 0]);
        let rgb565 = PixelFormat { bpp: 16, big_endian: false, max: [31, 63, 31], shift: [11, 5, 0] };
        out.clear();
        rgb565.put(&mut out, 0xff0000);
        assert_eq!(out, 0xf800u16.to_le_bytes());
        assert_eq!(PixelFormat::decode(&PixelFormat::DEFAULT.encode()), Some(PixelFormat::DEFAULT));
    }

    #[test]
    fn incremental_updates_send_changed_tiles_only() {
        let (tx, _rx) = mpsc::channel();
        let mut c = Client {
            format: PixelFormat::DEFAULT,
            hextile: false,
            desktop_size: true,
            sent: None,
            size: (32, 32),
            pending: None,
            pointer: None,
            buttons: 0,
            shift_held: false,
            input: tx,
            generation: 0,
        };
        let a = Arc::new(Frame { width: 32, height: 32, pixels: vec![0; 1024] });
        let full = c.update(&a, false).unwrap();
        assert_eq!(u16::from_be_bytes([full[2], full[3]]), 1);
        assert_eq!(full.len(), 4 + 12 + 32 * 32 * 4);
        assert!(c.update(&a, true).is_none(), "nothing changed");
        let mut px = vec![0; 1024];
        px[20 * 32 + 20] = 0xffffff;
        let b = Arc::new(Frame { width: 32, height: 32, pixels: px });
        let inc = c.update(&b, true).unwrap();
        assert_eq!(&inc[4..12], &[0, 16, 0, 16, 0, 16, 0, 16], "one tile");
        // A new mode: DesktopSize, then the whole picture.
        let big = Arc::new(Frame { width: 64, height: 48, pixels: vec![1; 64 * 48] });
        let r = c.update(&big, true).unwrap();
        assert_eq!(u16::from_be_bytes([r[2], r[3]]), 2);
        assert_eq!(&r[12..16], &ENC_DESKTOP_SIZE.to_be_bytes());
    }
}
