//! Drawing the VGA's picture as the CRT controller scans it out: text modes
//! from character and attribute bytes and the font in plane 2, the CGA
//! 4-colour and the EGA/VGA 16-colour planar modes, the 256-colour modes
//! (chained and unchained), and the VBE modes at 4 to 32 bits per pixel.
//!
//! The picture has the size the registers give, as QEMU's display shows it:
//! text modes are columns × character width (8 or 9, 16 with the dot clock
//! halved) by rows × character height; graphics modes are the horizontal
//! display end × 8 (doubled with the dot clock halved) by the vertical
//! display end, with double-scanned lines repeated.

use super::vga::{dispi, DirtyPages, Vga};

/// A picture: `width` × `height` pixels, 0x00RRGGBB, row by row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u32>,
}

impl Frame {
    fn new(width: u32, height: u32) -> Frame {
        Frame { width, height, pixels: vec![0; (width * height) as usize] }
    }
}

/// What the adapter shows, for a display to choose how to present it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ModeInfo {
    /// A text mode of `cols` × `rows` characters.
    Text { cols: u32, rows: u32 },
    /// A graphics mode of `width` × `height` pixels at `bpp` bits per pixel.
    Graphics { width: u32, height: u32, bpp: u32 },
    /// The screen is blanked (the attribute controller's palette is being
    /// written, or the sequencer turned the screen off).
    Blank,
}

/// One text cell, for displays that show text as text.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub ch: u8,
    pub attr: u8,
}

/// A text screen: cells row by row, the cursor's cell if shown, and the 16
/// colours of the attribute palette (0x00RRGGBB).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextScreen {
    pub cols: u32,
    pub rows: u32,
    pub cells: Vec<Cell>,
    pub cursor: Option<(u32, u32)>,
    pub palette: [u32; 16],
    /// Whether attribute bit 7 means blink (and backgrounds have 8 colours).
    pub blink_attr: bool,
}

/// A 6-bit DAC value as 8 bits, as QEMU widens it (the two new low bits
/// copy bit 0: 0x3f is 0xff, 0x2a is 0xa8).
fn c6_to_8(v: u8) -> u32 {
    let v = (v & 0x3f) as u32;
    let b = v & 1;
    (v << 2) | (b << 1) | b
}

fn rgb(r: u32, g: u32, b: u32) -> u32 {
    (r << 16) | (g << 8) | b
}

impl Vga {
    /// DAC entry `i` as 0x00RRGGBB.
    fn dac_rgb(&self, i: usize) -> u32 {
        let e = &self.dac[i * 3..i * 3 + 3];
        if self.dac_8bit() {
            rgb(e[0] as u32, e[1] as u32, e[2] as u32)
        } else {
            rgb(c6_to_8(e[0]), c6_to_8(e[1]), c6_to_8(e[2]))
        }
    }

    /// The 16 colours of the attribute controller's palette, through the
    /// colour select register and the DAC.
    pub fn palette16(&self) -> [u32; 16] {
        let mut p = [0; 16];
        for (i, c) in p.iter_mut().enumerate() {
            let v = self.ar[i];
            let v = if self.ar[0x10] & 0x80 != 0 {
                ((self.ar[0x14] & 0x0f) << 4) | (v & 0x0f)
            } else {
                ((self.ar[0x14] & 0x0c) << 4) | (v & 0x3f)
            };
            let e = &self.dac[v as usize * 3..v as usize * 3 + 3];
            *c = rgb(c6_to_8(e[0]), c6_to_8(e[1]), c6_to_8(e[2]));
        }
        p
    }

    fn palette256(&self) -> [u32; 256] {
        let mut p = [0; 256];
        for (i, c) in p.iter_mut().enumerate() {
            *c = self.dac_rgb(i);
        }
        p
    }

    fn start_address(&self) -> u32 {
        ((self.cr[0x0c] as u32) << 8) | self.cr[0x0d] as u32
    }

    fn vertical_display_end(&self) -> u32 {
        (self.cr[0x12] as u32 | ((self.cr[7] as u32 & 0x02) << 7) | ((self.cr[7] as u32 & 0x40) << 3)) + 1
    }

    fn line_compare(&self) -> u32 {
        self.cr[0x18] as u32 | ((self.cr[7] as u32 & 0x10) << 4) | ((self.cr[9] as u32 & 0x40) << 3)
    }

    fn blanked(&self) -> bool {
        self.ar_index & 0x20 == 0 || self.sr[1] & 0x20 != 0
    }

    /// Character cell width in pixels: 9 or 8 dots, 16 with the dot clock
    /// halved (as QEMU draws 40-column modes).
    fn char_width(&self) -> u32 {
        if self.sr[1] & 0x08 != 0 {
            16
        } else if self.sr[1] & 0x01 != 0 {
            8
        } else {
            9
        }
    }

    /// What is on the screen now.
    pub fn mode(&self) -> ModeInfo {
        if self.vbe_enabled() {
            let bpp = self.vbe[dispi::BPP] as u32;
            return ModeInfo::Graphics {
                width: self.vbe[dispi::XRES] as u32,
                height: self.vbe[dispi::YRES] as u32,
                bpp,
            };
        }
        if self.blanked() {
            return ModeInfo::Blank;
        }
        if self.gr[6] & 1 == 0 {
            let cheight = (self.cr[9] as u32 & 0x1f) + 1;
            return ModeInfo::Text {
                cols: self.cr[1] as u32 + 1,
                rows: self.vertical_display_end() / cheight,
            };
        }
        let (width, height) = self.graphics_size();
        let bpp = match (self.gr[5] >> 5) & 3 {
            0 => 4,
            1 => 2,
            _ => 8,
        };
        ModeInfo::Graphics { width, height, bpp }
    }

    fn graphics_size(&self) -> (u32, u32) {
        let mut width = (self.cr[1] as u32 + 1) * 8;
        if (self.gr[5] >> 5) & 3 < 2 && self.sr[1] & 0x08 != 0 && !self.vbe_enabled() {
            width <<= 1;
        }
        (width, self.vertical_display_end())
    }

    /// The text screen, in a text mode; `cursor_on`: the cursor's blink
    /// phase shows it.
    pub fn text_screen(&self, cursor_on: bool) -> Option<TextScreen> {
        let ModeInfo::Text { cols, rows } = self.mode() else { return None };
        let line = (self.cr[0x13] as u32) << 1;
        let start = self.start_address();
        let mut cells = Vec::with_capacity((cols * rows) as usize);
        for r in 0..rows {
            for c in 0..cols {
                let a = (start + r * line + c) as usize * 4 % self.vram.len();
                cells.push(Cell { ch: self.vram[a], attr: self.vram[a + 1] });
            }
        }
        let pos = (((self.cr[0x0e] as u32) << 8) | self.cr[0x0f] as u32).wrapping_sub(start);
        let shown = self.cr[0x0a] & 0x20 == 0 && cursor_on && pos < cols * rows;
        Some(TextScreen {
            cols,
            rows,
            cells,
            cursor: shown.then_some((pos % cols, pos / cols)),
            palette: self.palette16(),
            blink_attr: self.ar[0x10] & 0x08 != 0,
        })
    }

    /// Draws the screen. `cursor_on` and `blink_on` are the phases of the
    /// cursor's blink and of blinking characters'. A blanked screen is
    /// black, at the size last drawn.
    pub fn render(&self, cursor_on: bool, blink_on: bool) -> Frame {
        self.render_changed(cursor_on, blink_on, None)
    }

    /// Draws the screen again after `prev`, drawn when the registers were
    /// as they are now: graphics lines whose video memory is not in `dirty`
    /// are copied from it (text modes, cheap to draw, are drawn whole).
    pub fn redraw(&self, cursor_on: bool, blink_on: bool, prev: &Frame, dirty: &DirtyPages) -> Frame {
        self.render_changed(cursor_on, blink_on, Some((prev, dirty)))
    }

    fn render_changed(&self, cursor_on: bool, blink_on: bool, reuse: Option<(&Frame, &DirtyPages)>) -> Frame {
        let reuse = reuse.filter(|(prev, _)| {
            matches!(self.mode(), ModeInfo::Graphics { width, height, .. }
                if prev.width == width && prev.height == height)
        });
        let f = match self.mode() {
            ModeInfo::Blank => {
                let (w, h) = self.last_size.get();
                return Frame::new(w, h);
            }
            ModeInfo::Text { cols, rows } => self.render_text(cols, rows, cursor_on, blink_on),
            ModeInfo::Graphics { .. } if self.vbe_enabled() => self.render_vbe(reuse),
            ModeInfo::Graphics { width, height, .. } => self.render_graphics(width, height, reuse),
        };
        self.last_size.set((f.width, f.height));
        f
    }

    fn render_text(&self, cols: u32, rows: u32, cursor_on: bool, blink_on: bool) -> Frame {
        let cw = self.char_width();
        let ch_h = (self.cr[9] as u32 & 0x1f) + 1;
        if cols * rows > 0x10000 {
            return Frame::default();
        }
        let mut f = Frame::new(cols * cw, rows * ch_h);
        let screen = self.text_screen(cursor_on).expect("a text mode");
        // Character maps A (attribute bit 3 set) and B in plane 2.
        let sr3 = self.sr[3] as usize;
        let map = |index: usize| index * 8192 * 4 + 2;
        let font_b = map(((sr3 >> 4) & 1) | ((sr3 << 1) & 6));
        let font_a = map(((sr3 >> 5) & 1) | ((sr3 >> 1) & 6));
        let line_graphics = self.ar[0x10] & 0x04 != 0;
        let (cur_start, cur_end) = (self.cr[0x0a] as u32 & 0x1f, (self.cr[0x0b] as u32 & 0x1f).min(ch_h - 1));
        for (i, cell) in screen.cells.iter().enumerate() {
            let (cx, cy) = (i as u32 % cols, i as u32 / cols);
            let mut fg = screen.palette[(cell.attr & 0x0f) as usize];
            let bg = if screen.blink_attr {
                if cell.attr & 0x80 != 0 && !blink_on {
                    fg = screen.palette[((cell.attr >> 4) & 7) as usize];
                }
                screen.palette[((cell.attr >> 4) & 7) as usize]
            } else {
                screen.palette[(cell.attr >> 4) as usize]
            };
            let font = if cell.attr & 0x08 != 0 { font_a } else { font_b };
            let glyph = font + 32 * 4 * cell.ch as usize;
            let dup9 = line_graphics && (0xc0..=0xdf).contains(&cell.ch);
            let cursor_here = screen.cursor == Some((cx, cy));
            for line in 0..ch_h {
                let mut bits = self.vram[(glyph + 4 * line as usize) % self.vram.len()] as u32;
                if cursor_here && line >= cur_start && line <= cur_end {
                    bits = 0xff;
                }
                let row = ((cy * ch_h + line) * f.width + cx * cw) as usize;
                let px = &mut f.pixels[row..row + cw as usize];
                match cw {
                    16 => {
                        for (x, p) in px.iter_mut().enumerate() {
                            *p = if bits & (0x80 >> (x / 2)) != 0 { fg } else { bg };
                        }
                    }
                    _ => {
                        for (x, p) in px.iter_mut().take(8).enumerate() {
                            *p = if bits & (0x80 >> x) != 0 { fg } else { bg };
                        }
                        if cw == 9 {
                            let ninth = (dup9 || cursor_here && bits == 0xff) && bits & 1 != 0;
                            px[8] = if ninth { fg } else { bg };
                        }
                    }
                }
            }
        }
        f
    }

    fn render_graphics(&self, width: u32, height: u32, reuse: Option<(&Frame, &DirtyPages)>) -> Frame {
        let (start, line_offset, line_compare, pan) = if self.vbe_enabled() {
            (self.vbe_start, self.vbe_line, u32::MAX, 0)
        } else {
            let pan = match self.ar[0x13] & 0x0f {
                p @ 0..=7 => p as usize,
                _ => 0,
            };
            (self.start_address() * 4, (self.cr[0x13] as u32) << 3, self.line_compare(), pan)
        };
        let mut f = Frame::new(width, height);
        let shift = (self.gr[5] >> 5) & 3;
        let double_scan = (self.cr[9] >> 7) as u32;
        // CGA addressing (CR17 bit 0 clear) ignores the maximum scan line.
        let multi_scan = if self.cr[0x17] & 1 != 0 {
            (((self.cr[9] as u32 & 0x1f) + 1) << double_scan) - 1
        } else {
            double_scan
        };
        let half_clock = self.sr[1] & 0x08 != 0 && !self.vbe_enabled();
        let plane_mask =
            (0..4).fold(0u32, |m, p| if self.ar[0x12] & (1 << p) != 0 { m | 0xff << (8 * p) } else { m });
        let pal16 = self.palette16();
        let pal256 = self.palette256();
        let mut addr1 = start;
        let mut y1 = 0u32;
        let mut run = multi_scan;
        let mut panning = pan;
        let vram = &self.vram;
        let word = |a: u32| {
            let a = (a as usize) & (vram.len() - 1) & !3;
            u32::from_le_bytes(vram[a..a + 4].try_into().expect("four bytes")) & plane_mask
        };
        // A line drawn wider by the panning, then shifted.
        let mut line = vec![0u32; width as usize + 32];
        for y in 0..height {
            let mut addr = addr1;
            if self.cr[0x17] & 1 == 0 {
                let bit = 14 + ((self.cr[0x17] >> 6) & 1) as u32;
                addr = (addr & !(1 << bit)) | ((y1 & 1) << bit);
            }
            if self.cr[0x17] & 2 == 0 {
                addr = (addr & !0x8000) | ((y1 & 2) << 14);
            }
            // The words this line reads: 8 pixels a word (4 in 256 colours),
            // doubled when they are wide, 16 pixels of panning margin.
            let px_per_word = if shift >= 2 {
                8
            } else if half_clock {
                16
            } else {
                8
            };
            let bytes = ((width as usize + 16).div_ceil(px_per_word) + 1) * 4;
            let row = (y * width) as usize;
            let unchanged = reuse.filter(|(_, dirty)| !dirty.touches(addr as usize, bytes, vram.len()));
            if let Some((prev, _)) = unchanged {
                f.pixels[row..row + width as usize].copy_from_slice(&prev.pixels[row..row + width as usize]);
            }
            let mut x = 0usize;
            while unchanged.is_none() && x < width as usize + 16 {
                let d = word(addr);
                let plane = |p: u32| (d >> (8 * p)) & 0xff;
                let mut pixels = [0u32; 8];
                let n = match shift {
                    0 => {
                        for (i, px) in pixels.iter_mut().enumerate() {
                            let b = 7 - i as u32;
                            let c = (0..4).fold(0, |c, p| c | ((plane(p) >> b) & 1) << p);
                            *px = pal16[c as usize];
                        }
                        8
                    }
                    1 => {
                        for (i, px) in pixels.iter_mut().enumerate() {
                            let (lo, hi) = if i < 4 { (plane(0), plane(2)) } else { (plane(1), plane(3)) };
                            let b = 6 - 2 * (i as u32 % 4);
                            let c = ((lo >> b) & 3) | (((hi >> b) & 3) << 2);
                            *px = pal16[c as usize];
                        }
                        8
                    }
                    _ => {
                        for (i, px) in pixels.iter_mut().take(4).enumerate() {
                            *px = pal256[plane(i as u32) as usize];
                        }
                        4
                    }
                };
                // 256 colours: each pixel two dots wide (the 8-bit pixel is
                // assembled over two dot clocks); the others: doubled with
                // the dot clock halved.
                let wide = if shift >= 2 { true } else { half_clock };
                for &p in &pixels[..n] {
                    for _ in 0..if wide { 2 } else { 1 } {
                        if x < line.len() {
                            line[x] = p;
                        }
                        x += 1;
                    }
                }
                addr += 4;
            }
            let shift_px = match shift {
                0 | 1 => panning << half_clock as usize,
                _ => (panning >> 1) << 1,
            };
            if unchanged.is_none() {
                f.pixels[row..row + width as usize]
                    .copy_from_slice(&line[shift_px..shift_px + width as usize]);
            }
            if run == 0 {
                let mask = (self.cr[0x17] as u32 & 3) ^ 3;
                if y1 & mask == mask {
                    addr1 += line_offset;
                }
                y1 += 1;
                run = multi_scan;
            } else {
                run -= 1;
            }
            if y == line_compare {
                addr1 = 0;
                if self.ar[0x10] & 0x20 != 0 {
                    panning = 0;
                }
            }
        }
        f
    }

    fn render_vbe(&self, reuse: Option<(&Frame, &DirtyPages)>) -> Frame {
        let (w, h) = (self.vbe[dispi::XRES] as u32, self.vbe[dispi::YRES] as u32);
        let bpp = self.vbe[dispi::BPP];
        if bpp == 4 {
            return self.render_graphics(w, h, reuse);
        }
        let bytes_per_pixel = match bpp {
            8 => 1,
            15 | 16 => 2,
            24 => 3,
            _ => 4,
        };
        let mut f = Frame::new(w, h);
        let pal = self.palette256();
        let byte = |a: usize| self.vram.get(a).copied().unwrap_or(0) as u32;
        let five = |v: u32| (v << 3) | (v >> 2);
        let six = |v: u32| (v << 2) | (v >> 4);
        for y in 0..h {
            let base = (self.vbe_start + y * self.vbe_line) as usize;
            let row = (y * w) as usize;
            if let Some((prev, _)) =
                reuse.filter(|(_, d)| !d.touches(base, w as usize * bytes_per_pixel, usize::MAX / 2 + 1))
            {
                f.pixels[row..row + w as usize].copy_from_slice(&prev.pixels[row..row + w as usize]);
                continue;
            }
            for x in 0..w as usize {
                let p = match bpp {
                    8 => pal[byte(base + x) as usize],
                    15 | 16 => {
                        let v = byte(base + 2 * x) | byte(base + 2 * x + 1) << 8;
                        if bpp == 15 {
                            // QEMU draws 15-bit pixels with the low bits clear,
                            // 16-bit ones with the high bits repeated there.
                            rgb(((v >> 10) & 31) << 3, ((v >> 5) & 31) << 3, (v & 31) << 3)
                        } else {
                            rgb(five((v >> 11) & 31), six((v >> 5) & 63), five(v & 31))
                        }
                    }
                    24 => rgb(byte(base + 3 * x + 2), byte(base + 3 * x + 1), byte(base + 3 * x)),
                    _ => rgb(byte(base + 4 * x + 2), byte(base + 4 * x + 1), byte(base + 4 * x)),
                };
                f.pixels[(y * w) as usize + x] = p;
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &mut Vga, index_port: u16, regs: &[(u8, u8)]) {
        for &(i, val) in regs {
            v.port_write(index_port, i);
            v.port_write(index_port + 1, val);
        }
    }

    /// Mode 3's registers, as the VGA BIOS programs them.
    fn mode3() -> Vga {
        let mut v = Vga::new();
        v.port_write(0x3c2, 0x67);
        set(&mut v, 0x3c4, &[(0, 3), (1, 0x00), (2, 0x03), (3, 0x00), (4, 0x02)]);
        set(
            &mut v,
            0x3d4,
            &[
                (0x01, 0x4f),
                (0x07, 0x1f),
                (0x09, 0x4f),
                (0x0a, 0x0d),
                (0x0b, 0x0e),
                (0x12, 0x8f),
                (0x13, 0x28),
                (0x17, 0xa3),
                (0x18, 0xff),
            ],
        );
        set(&mut v, 0x3ce, &[(5, 0x10), (6, 0x0e)]);
        v.port_read(0x3da);
        for i in 0..16u8 {
            v.port_write(0x3c0, i);
            v.port_write(0x3c0, if i < 8 { i } else { i + 0x30 });
        }
        for (i, val) in [(0x10u8, 0x0cu8), (0x12, 0x0f), (0x13, 0x08), (0x14, 0)] {
            v.port_write(0x3c0, i);
            v.port_write(0x3c0, val);
        }
        v.port_write(0x3c0, 0x20);
        // DAC: entry 1 blue, 0x3f white.
        v.port_write(0x3c8, 1);
        for c in [0, 0, 0x2a] {
            v.port_write(0x3c9, c);
        }
        v.port_write(0x3c8, 0x3f);
        for c in [0x3f, 0x3f, 0x3f] {
            v.port_write(0x3c9, c);
        }
        v
    }

    #[test]
    fn text_mode_3_draws_glyphs_from_plane_2() {
        let mut v = mode3();
        assert_eq!(v.mode(), ModeInfo::Text { cols: 80, rows: 25 });
        // Glyph of 'A' (0x41) line 0: 0b1000_0001.
        v.vram[(0x41 * 32) * 4 + 2] = 0x81;
        // Cell (1, 0): 'A', white on blue.
        v.vram[4] = 0x41;
        v.vram[5] = 0x1f;
        let f = v.render(false, true);
        assert_eq!((f.width, f.height), (720, 400));
        let white = 0xffffff;
        let blue = 0x0000a8;
        assert_eq!(f.pixels[9], white);
        assert_eq!(f.pixels[10], blue);
        assert_eq!(f.pixels[16], white);
        // Not a line-graphics character: the ninth column is background.
        assert_eq!(f.pixels[17], blue);
        // The cursor (cell 0, lines 13-14) in the cell's foreground colour,
        // in the phase of the blink that shows it.
        v.vram[1] = 0x1f;
        let (on, off) = (v.render(true, true), v.render(false, true));
        assert_eq!(on.pixels[13 * 720], white);
        assert_eq!(on.pixels[13 * 720 + 8], white);
        assert_eq!(on.pixels[12 * 720], blue);
        assert_eq!(off.pixels[13 * 720], blue);
    }

    #[test]
    fn mode_13h_is_640x400_with_doubled_pixels() {
        let mut v = Vga::new();
        v.port_write(0x3c2, 0x63);
        set(&mut v, 0x3c4, &[(1, 0x01), (2, 0x0f), (4, 0x0e)]);
        set(
            &mut v,
            0x3d4,
            &[
                (0x01, 0x4f),
                (0x07, 0x1f),
                (0x09, 0x41),
                (0x12, 0x8f),
                (0x13, 0x28),
                (0x17, 0xa3),
                (0x18, 0xff),
            ],
        );
        set(&mut v, 0x3ce, &[(5, 0x40), (6, 0x05)]);
        v.port_read(0x3da);
        for (i, val) in [(0x10u8, 0x41u8), (0x12, 0x0f), (0x13, 0)] {
            v.port_write(0x3c0, i);
            v.port_write(0x3c0, val);
        }
        v.port_write(0x3c0, 0x20);
        v.port_write(0x3c8, 4);
        for c in [0x3f, 0, 0] {
            v.port_write(0x3c9, c);
        }
        v.window_write(320 + 5, 4);
        let f = v.render(false, true);
        assert_eq!((f.width, f.height), (640, 400));
        let red = 0xff0000;
        // Pixel (5, 1) covers dots 10-11 on lines 2-3.
        for (x, y) in [(10, 2), (11, 2), (10, 3), (11, 3)] {
            assert_eq!(f.pixels[y * 640 + x], red, "({x}, {y})");
        }
        assert_eq!(f.pixels[2 * 640 + 12], 0);
        assert_eq!(f.pixels[640 + 10], 0);
    }

    /// An adapter in a VBE mode with its linear framebuffer.
    fn vbe_mode(width: u16, height: u16, bpp: u16) -> Vga {
        let mut v = Vga::new();
        for (i, val) in [(dispi::XRES, width), (dispi::YRES, height), (dispi::BPP, bpp)] {
            v.vbe_write(false, i as u16);
            v.vbe_write(true, val);
        }
        v.vbe_write(false, dispi::ENABLE as u16);
        v.vbe_write(true, dispi::ENABLED | dispi::LFB_ENABLED);
        v
    }

    #[test]
    fn a_redraw_draws_only_the_lines_whose_memory_changed() {
        let mut v = vbe_mode(64, 64, 32);
        let first = v.render(false, true);
        v.take_dirty();
        // Line 20 is in video memory page 1 (64 pixels of 4 bytes a line).
        v.lfb_write(20 * 256 + 8, 4, 0x00ff00);
        let (dirty, full) = v.take_dirty();
        assert!(!full && dirty.contains(1) && !dirty.contains(0));
        // A stale picture shows what the redraw copies and what it draws.
        let mut stale = first.clone();
        stale.pixels[0] = 0x123456;
        stale.pixels[20 * 64] = 0x123456;
        let f = v.redraw(false, true, &stale, &dirty);
        assert_eq!(f.pixels[20 * 64 + 2], 0x00ff00, "the written line is drawn");
        assert_eq!(f.pixels[20 * 64], 0, "... all of it");
        assert_eq!(f.pixels[0], 0x123456, "an unwritten line is copied");
        assert_eq!(v.render(false, true).pixels[0], 0);
    }

    #[test]
    fn vbe_32bpp_and_16bpp() {
        let mut v = vbe_mode(64, 48, 32);
        v.lfb_write((64 * 2 + 3) * 4, 4, 0x00123456);
        let f = v.render(false, true);
        assert_eq!((f.width, f.height), (64, 48));
        assert_eq!(f.pixels[64 * 2 + 3], 0x123456);
        v.vbe_write(false, dispi::ENABLE as u16);
        v.vbe_write(true, 0);
        v.vbe_write(false, dispi::BPP as u16);
        v.vbe_write(true, 16);
        v.vbe_write(false, dispi::ENABLE as u16);
        v.vbe_write(true, dispi::ENABLED | dispi::LFB_ENABLED);
        v.lfb_write(2, 2, 0xf800);
        assert_eq!(v.render(false, true).pixels[1], 0xff0000);
    }
}
