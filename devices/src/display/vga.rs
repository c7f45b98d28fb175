//! The standard VGA with the Bochs VBE extensions, as QEMU's `-vga std`
//! (PCI 1234:1111) has them: the VGA registers at 0x3b0-0x3df, the 128 KiB
//! window at 0xa0000, the VBE "dispi" registers at 0x1ce/0x1cf, and video
//! memory that is also the linear framebuffer (PCI BAR 0).
//!
//! Video memory is kept as QEMU and the VGA's own memory controller see it:
//! four planes interleaved, so that byte `4 * a + p` is plane `p` at planar
//! address `a`. Chain-4 mode then addresses it linearly, and the VBE modes
//! and the framebuffer use it as one flat array.
//!
//! What the guest writes to video memory marks its 4 KiB page dirty
//! ([`Vga::take_dirty`]), so that a display redraws only what changed.
//! Drawing it is [`super::render`]'s job.

use serde::{Deserialize, Serialize};

use crate::chipset::pci::{command, Bar, BarKind, ConfigSpace};
use crate::state::{self, Snapshot, StateError};
use crate::PortDevice;

/// Video memory size (QEMU's default `vgamem_mb=16`).
pub const VRAM_BYTES: usize = 16 << 20;
/// Size of the MMIO BAR.
pub const MMIO_BYTES: u32 = 4096;
/// Size of a dirty-tracking page.
pub const DIRTY_PAGE: usize = 4096;

/// VBE "dispi" register indexes (port 0x1ce selects, 0x1cf reads and writes).
pub mod dispi {
    pub const ID: usize = 0;
    pub const XRES: usize = 1;
    pub const YRES: usize = 2;
    pub const BPP: usize = 3;
    pub const ENABLE: usize = 4;
    pub const BANK: usize = 5;
    pub const VIRT_WIDTH: usize = 6;
    pub const VIRT_HEIGHT: usize = 7;
    pub const X_OFFSET: usize = 8;
    pub const Y_OFFSET: usize = 9;
    pub const VIDEO_MEMORY_64K: usize = 10;
    /// Number of registers.
    pub const COUNT: usize = 11;

    /// ENABLE bits.
    pub const ENABLED: u16 = 0x01;
    pub const GETCAPS: u16 = 0x02;
    pub const DAC_8BIT: u16 = 0x20;
    pub const LFB_ENABLED: u16 = 0x40;
    pub const NOCLEARMEM: u16 = 0x80;

    /// The interface versions the adapter implements (ID0 .. ID5).
    pub const ID0: u16 = 0xb0c0;
    pub const ID5: u16 = 0xb0c5;

    /// Largest mode (what GETCAPS reports, as QEMU's).
    pub const MAX_XRES: u16 = 16000;
    pub const MAX_YRES: u16 = 12000;
    pub const MAX_BPP: u16 = 32;
}

/// The EDID the MMIO BAR shows at offset 0 (VBE function 15h reads it): an
/// EDID 1.4 block for a monitor with 1280x800 as its preferred mode and
/// the usual VESA modes up to 1600x1200, as QEMU's default.
static EDID: [u8; 128] = edid();

const fn edid() -> [u8; 128] {
    let mut e = [0u8; 128];
    let head: [u8; 54] = [
        0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, // header
        0x49, 0x14, // manufacturer "RHT"
        0x34, 0x12, // product 0x1234
        0, 0, 0, 0, // serial
        42, 24, // week 42 of 2014
        1, 4,    // EDID 1.4
        0xa0, // digital, 8 bits per colour
        34, 21,   // 34 x 21 cm
        0x78, // gamma 2.2
        0x06, // sRGB, preferred timing is native
        0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54, // sRGB chromaticity
        0x21, 0x08, 0x00, // 640x480, 800x600, 1024x768 at 60 Hz
        0x45, 0x40, 0x61, 0x40, 0x71, 0x40, 0x81, 0x40, // 800x600, 1024x768, 1152x864, 1280x960
        0x81, 0x80, 0xa9, 0x40, 0x01, 0x01, 0x01, 0x01, // 1280x1024, 1600x1200
    ];
    let descriptors: [u8; 72] = [
        // 1280x800 at 60 Hz (reduced blanking), 71 MHz.
        0xbc, 0x1b, 0x00, 0xa0, 0x50, 0x20, 0x17, 0x30, 0x30, 0x20, 0x36, 0x00, 0x52, 0xd3, 0x10, 0x00, 0x00,
        0x1a, // monitor name
        0x00, 0x00, 0x00, 0xfc, 0x00, b'Q', b'E', b'M', b'U', b' ', b'M', b'o', b'n', b'i', b't', b'o', b'r',
        b'\n', // range limits: 50-125 Hz, 30-160 kHz
        0x00, 0x00, 0x00, 0xfd, 0x00, 0x32, 0x7d, 0x1e, 0xa0, 0xff, 0x01, 0x0a, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, // dummy
        0x00, 0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut i = 0;
    while i < 54 {
        e[i] = head[i];
        i += 1;
    }
    while i < 126 {
        e[i] = descriptors[i - 54];
        i += 1;
    }
    let mut sum = 0u8;
    let mut j = 0;
    while j < 127 {
        sum = sum.wrapping_add(e[j]);
        j += 1;
    }
    e[127] = 0u8.wrapping_sub(sum);
    e
}

/// Pages of video memory (of [`DIRTY_PAGE`] bytes) written since they were
/// last taken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirtyPages(Vec<u64>);

impl DirtyPages {
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Whether page `page` was written.
    pub fn contains(&self, page: usize) -> bool {
        self.0.get(page / 64).is_some_and(|w| w & (1 << (page % 64)) != 0)
    }

    /// Whether any byte of `len` bytes from `offset` was written (offsets
    /// wrap at `wrap`, a power of two).
    pub fn touches(&self, offset: usize, len: usize, wrap: usize) -> bool {
        let first = offset / DIRTY_PAGE;
        let last = (offset + len.max(1) - 1) / DIRTY_PAGE;
        let pages = (wrap / DIRTY_PAGE).max(1);
        (first..=last).any(|p| self.contains(p % pages))
    }
}

/// Expands a 4-bit plane mask to one byte per plane (bit p sets byte p).
fn expand4(mask: u8) -> u32 {
    (0..4).fold(0, |v, p| if mask & (1 << p) != 0 { v | 0xff << (8 * p) } else { v })
}

/// The adapter's registers and video memory.
#[derive(Clone, Serialize, Deserialize)]
pub struct Vga {
    pub(crate) vram: Vec<u8>,
    /// Miscellaneous output register (0x3c2 write, 0x3cc read).
    pub(crate) misc: u8,
    pub(crate) sr_index: u8,
    pub(crate) sr: [u8; 8],
    pub(crate) gr_index: u8,
    pub(crate) gr: [u8; 16],
    pub(crate) cr_index: u8,
    #[serde(with = "crate::state::byte_array")]
    pub(crate) cr: [u8; 256],
    /// Attribute controller index (bit 5: palette address source).
    pub(crate) ar_index: u8,
    pub(crate) ar: [u8; 21],
    /// The attribute controller's flip-flop: true when the next write to
    /// 0x3c0 is data.
    pub(crate) ar_flip: bool,
    /// Feature control (written at 0x3ba/0x3da, read at 0x3ca).
    pub(crate) fcr: u8,
    /// Input status 1's changing bits, toggled on each read.
    pub(crate) st01: u8,
    /// The DAC: 256 entries of three 6-bit (or 8-bit, VBE) components.
    #[serde(with = "crate::state::byte_array")]
    pub(crate) dac: [u8; 768],
    pub(crate) dac_read_index: u8,
    pub(crate) dac_write_index: u8,
    /// Component (0-2) of the entry being read or written.
    pub(crate) dac_sub: u8,
    /// 0x3c7 reads 3 after a read index was set, 0 after a write index.
    pub(crate) dac_state: u8,
    /// The pixel mask (0x3c6).
    pub(crate) pel_mask: u8,
    /// The latches: one byte per plane.
    pub(crate) latch: u32,
    /// VBE registers.
    pub(crate) vbe_index: u16,
    pub(crate) vbe: [u16; dispi::COUNT],
    /// Byte offset of the VBE display start in video memory and the line
    /// length in bytes (from the virtual width and offsets).
    pub(crate) vbe_start: u32,
    pub(crate) vbe_line: u32,
    /// Offset of the 64 KiB window in video memory (the VBE bank, while a
    /// VBE mode is on).
    pub(crate) bank_offset: u32,
    /// Pages of video memory written since the last [`Vga::take_dirty`].
    #[serde(skip, default = "all_dirty")]
    dirty: Vec<u64>,
    /// Set when something other than video memory changed what is shown
    /// (a register, the palette): the whole screen is to be redrawn.
    #[serde(skip, default = "yes")]
    pub(crate) full_redraw: bool,
    /// The size of the picture drawn last (a blanked screen keeps it).
    #[serde(skip, default = "vga_mode_size")]
    pub(crate) last_size: std::cell::Cell<(u32, u32)>,
    /// The VGA BIOS, behind the expansion ROM register (host data: the
    /// machine gives it again after a restore).
    #[serde(skip)]
    rom: Vec<u8>,
}

fn all_dirty() -> Vec<u64> {
    vec![u64::MAX; VRAM_BYTES / DIRTY_PAGE / 64]
}

fn yes() -> bool {
    true
}

fn vga_mode_size() -> std::cell::Cell<(u32, u32)> {
    std::cell::Cell::new((640, 480))
}

impl Default for Vga {
    fn default() -> Self {
        Self::new()
    }
}

/// Writable bits of the sequencer registers.
const SR_MASK: [u8; 8] = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
/// Writable bits of the graphics controller registers.
const GR_MASK: [u8; 16] = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0];

impl Vga {
    pub fn new() -> Vga {
        let mut v = Vga {
            vram: vec![0; VRAM_BYTES],
            misc: 0,
            sr_index: 0,
            sr: [0; 8],
            gr_index: 0,
            gr: [0; 16],
            cr_index: 0,
            cr: [0; 256],
            ar_index: 0,
            ar: [0; 21],
            ar_flip: false,
            fcr: 0,
            st01: 0,
            dac: [0; 768],
            dac_read_index: 0,
            dac_write_index: 0,
            dac_sub: 0,
            dac_state: 0,
            pel_mask: 0xff,
            latch: 0,
            vbe_index: 0,
            vbe: [0; dispi::COUNT],
            vbe_start: 0,
            vbe_line: 0,
            bank_offset: 0,
            dirty: all_dirty(),
            full_redraw: true,
            last_size: vga_mode_size(),
            rom: Vec::new(),
        };
        v.reset();
        v
    }

    /// Power-on state: registers cleared (the VGA BIOS sets a mode), video
    /// memory kept as it was (as on a real card, whose memory a reset does
    /// not clear).
    pub fn reset(&mut self) {
        self.misc = 0;
        self.sr_index = 0;
        self.sr = [0; 8];
        self.gr_index = 0;
        self.gr = [0; 16];
        self.cr_index = 0;
        self.cr = [0; 256];
        self.ar_index = 0;
        self.ar = [0; 21];
        self.ar_flip = false;
        self.fcr = 0;
        self.st01 = 0;
        self.dac = [0; 768];
        self.dac_read_index = 0;
        self.dac_write_index = 0;
        self.dac_sub = 0;
        self.dac_state = 0;
        self.pel_mask = 0xff;
        self.latch = 0;
        self.vbe_index = 0;
        self.vbe = [0; dispi::COUNT];
        self.vbe[dispi::ID] = dispi::ID5;
        self.vbe[dispi::VIDEO_MEMORY_64K] = (VRAM_BYTES >> 16) as u16;
        self.vbe_start = 0;
        self.vbe_line = 0;
        self.bank_offset = 0;
        self.full_redraw = true;
    }

    /// The PCI function as QEMU's `VGA` device has it (1234:1111, a VGA
    /// controller): BAR 0 the framebuffer (prefetchable), BAR 2 the MMIO
    /// registers, and an expansion ROM for the VGA BIOS, if one is given.
    pub fn pci_function(&self) -> ConfigSpace {
        let mut f = ConfigSpace::new(0x1234, 0x1111, 0x02, 0x03_00_00, 0x00);
        f.set16(0x2c, 0x1af4);
        f.set16(0x2e, 0x1100);
        f.enable_command(command::IO | command::MEMORY);
        f.set_bar(0, Bar { size: VRAM_BYTES as u32, kind: BarKind::Memory { prefetchable: true } });
        f.set_bar(2, Bar { size: MMIO_BYTES, kind: BarKind::Memory { prefetchable: false } });
        if !self.rom.is_empty() {
            f.set_rom_bar((self.rom.len() as u32).next_power_of_two().max(0x800));
        }
        f
    }

    /// Gives the adapter its VGA BIOS (the expansion ROM's contents).
    pub fn set_rom(&mut self, rom: Vec<u8>) {
        self.rom = rom;
    }

    /// A read of the expansion ROM.
    pub fn rom_read(&self, offset: u32, size: u8) -> u32 {
        (0..size as usize).fold(0, |v, i| {
            let b = self.rom.get(offset as usize + i).copied().unwrap_or(0xff);
            v | (b as u32) << (8 * i)
        })
    }

    /// A read of the MMIO BAR: the VGA registers 0x3c0-0x3df at 0x400, the
    /// VBE registers (16 bits each) at 0x500, QEMU's extended registers at
    /// 0x600.
    pub fn mmio_read(&mut self, offset: u32, size: u8) -> u32 {
        match offset {
            0x400..=0x41f => (0..size as u32).fold(0, |v, i| {
                let port = 0x3c0 + (offset + i - 0x400) as u16;
                v | (if port <= 0x3df { self.port_read(port) } else { 0xff } as u32) << (8 * i)
            }),
            0..=0x17f => (0..size as usize)
                .fold(0, |v, i| v | (EDID.get(offset as usize + i).copied().unwrap_or(0) as u32) << (8 * i)),
            0x500..=0x515 => {
                self.vbe_index = ((offset - 0x500) / 2) as u16;
                let v = self.vbe_read(true) as u32;
                (v >> (8 * (offset & 1))) & crate::ones(size)
            }
            // QEMU's extended registers: their size, and little-endian
            // framebuffer byte order.
            0x600..=0x603 => 8 >> (8 * (offset - 0x600)) & crate::ones(size),
            0x604..=0x607 => 0x1e1e_1e1e >> (8 * (offset - 0x604)) & crate::ones(size),
            _ => crate::ones(size),
        }
    }

    /// A write to the MMIO BAR.
    pub fn mmio_write(&mut self, offset: u32, size: u8, value: u32) {
        match offset {
            0x400..=0x41f => {
                for i in 0..size as u32 {
                    let port = 0x3c0 + (offset + i - 0x400) as u16;
                    if port <= 0x3df {
                        self.port_write(port, (value >> (8 * i)) as u8);
                    }
                }
            }
            0x500..=0x515 if offset & 1 == 0 && size >= 2 => {
                self.vbe_index = ((offset - 0x500) / 2) as u16;
                self.vbe_write(true, value as u16);
            }
            _ => {}
        }
    }

    // ---- video memory -------------------------------------------------------------------

    fn mark(&mut self, offset: usize) {
        let page = offset / DIRTY_PAGE;
        self.dirty[page / 64] |= 1 << (page % 64);
    }

    /// The pages of video memory written since the last call, and whether
    /// everything must be redrawn (a register or the palette changed).
    pub fn take_dirty(&mut self) -> (DirtyPages, bool) {
        let words = std::mem::replace(&mut self.dirty, vec![0; VRAM_BYTES / DIRTY_PAGE / 64]);
        (DirtyPages(words), std::mem::take(&mut self.full_redraw))
    }

    /// Video memory, as planes interleaved (see the module's comment).
    pub fn vram(&self) -> &[u8] {
        &self.vram
    }

    /// The offset in video memory of `addr` in the legacy window (relative
    /// to 0xa0000), if the memory map select decodes it.
    fn window(&self, addr: u32) -> Option<u32> {
        let addr = addr & 0x1ffff;
        match (self.gr[6] >> 2) & 3 {
            0 => Some(addr),
            1 => (addr < 0x10000).then(|| addr + self.bank_offset()),
            2 => addr.checked_sub(0x10000).filter(|a| *a < 0x8000),
            _ => addr.checked_sub(0x18000).filter(|a| *a < 0x8000),
        }
    }

    /// Sequencer register `i` as the memory controller sees it: with a VBE
    /// mode on, every plane is written and chain 4 is on, whatever the
    /// registers hold (the guest reads back what it wrote).
    fn seq(&self, i: usize) -> u8 {
        let packed = self.vbe_enabled() && self.vbe[dispi::BPP] != 4;
        match i {
            2 if packed => 0x0f,
            4 if packed => self.sr[4] | 0x08,
            1 if self.vbe_enabled() => self.sr[1] & !0x08,
            _ => self.sr[i],
        }
    }

    /// The VBE bank's offset in the 64 KiB window.
    fn bank_offset(&self) -> u32 {
        self.bank_offset
    }

    /// Whether the window is a plain linear view of video memory: chain 4
    /// with every plane enabled (mode 13h, the VBE modes of 8 bpp and more).
    fn linear_window(&self) -> bool {
        self.seq(2) & 0x0f == 0x0f && self.seq(4) & 0x08 != 0
    }

    /// The planar address of window offset `addr` (already decoded by the
    /// memory map) after odd/even and chain 4 take the low bits and the
    /// CRTC's word or doubleword mode shifts it, as QEMU's memory
    /// controller applies them to the CPU's address; `for_write` selects
    /// the sequencer's odd/even bit (writes) or the graphics controller's
    /// (reads).
    fn planar_address(&self, mut a: u32, for_write: bool) -> u32 {
        let odd_even = if for_write { self.seq(4) & 0x04 == 0 } else { self.gr[5] & 0x10 != 0 };
        let chain4 = self.seq(4) & 0x08 != 0;
        if chain4 {
            a &= !3;
        }
        // Chain odd/even: the plane took the low bit.
        if self.gr[6] & 0x02 != 0 && (!for_write || !chain4 && odd_even) {
            a &= !1;
        }
        if self.cr[0x14] & 0x40 != 0 {
            a >> 2
        } else if odd_even && self.cr[0x17] & 0x40 == 0 {
            a >> 1
        } else {
            a
        }
    }

    /// A byte read from the legacy window (`addr` relative to 0xa0000).
    pub fn window_read(&mut self, addr: u32) -> u8 {
        let Some(a) = self.window(addr) else { return 0xff };
        if self.linear_window() {
            return self.vram.get(a as usize).copied().unwrap_or(0xff);
        }
        let plane = if self.seq(4) & 0x08 != 0 {
            a & 3
        } else if self.gr[5] & 0x10 != 0 {
            (self.gr[4] & 2) as u32 | (a & 1)
        } else {
            (self.gr[4] & 3) as u32
        };
        let d = self.planar_address(a, false) as usize;
        if d * 4 + 4 > self.vram.len() {
            return 0xff;
        }
        if self.seq(4) & 0x08 != 0 {
            return self.vram[d * 4 + plane as usize];
        }
        self.latch = u32::from_le_bytes(self.vram[d * 4..d * 4 + 4].try_into().expect("four bytes"));
        if self.gr[5] & 0x08 == 0 {
            // Read mode 0: the selected plane.
            (self.latch >> (8 * plane)) as u8
        } else {
            // Read mode 1: pixels whose colour matches the colour compare
            // register, in the planes colour don't care keeps.
            let mut v = (self.latch ^ expand4(self.gr[2])) & expand4(self.gr[7]);
            v |= v >> 16;
            v |= v >> 8;
            !(v as u8)
        }
    }

    /// A byte written to the legacy window (`addr` relative to 0xa0000).
    pub fn window_write(&mut self, addr: u32, value: u8) {
        let Some(a) = self.window(addr) else { return };
        if self.linear_window() {
            if let Some(b) = self.vram.get_mut(a as usize) {
                *b = value;
                self.mark(a as usize);
            }
            return;
        }
        let mut mask = self.seq(2) & 0x0f;
        let chain4 = self.seq(4) & 0x08 != 0;
        let plane = a & 3;
        if chain4 {
            mask &= 1 << plane;
        } else if self.seq(4) & 0x04 == 0 {
            mask &= if a & 1 != 0 { 0x0a } else { 0x05 };
        }
        let d = self.planar_address(a, true) as usize;
        let off = d * 4;
        if off + 4 > self.vram.len() {
            return;
        }
        if chain4 {
            if mask != 0 {
                self.vram[off + plane as usize] = value;
                self.mark(off);
            }
            return;
        }
        let rotate = self.gr[3] & 7;
        let (mut v, bit_mask) = match self.gr[5] & 3 {
            0 => {
                let b = value.rotate_right(rotate as u32) as u32;
                let v = b * 0x0101_0101;
                let set = expand4(self.gr[1]);
                ((v & !set) | (expand4(self.gr[0]) & set), self.gr[8])
            }
            // Write mode 1: the latches, as they are.
            1 => (self.latch, 0xff),
            2 => (expand4(value & 0x0f), self.gr[8]),
            _ => {
                let b = value.rotate_right(rotate as u32);
                (expand4(self.gr[0]), self.gr[8] & b)
            }
        };
        if self.gr[5] & 3 != 1 {
            v = match self.gr[3] >> 3 & 3 {
                0 => v,
                1 => v & self.latch,
                2 => v | self.latch,
                _ => v ^ self.latch,
            };
            let m = bit_mask as u32 * 0x0101_0101;
            v = (v & m) | (self.latch & !m);
        }
        let write_mask = expand4(mask);
        let old = u32::from_le_bytes(self.vram[off..off + 4].try_into().expect("four bytes"));
        let new = (old & !write_mask) | (v & write_mask);
        self.vram[off..off + 4].copy_from_slice(&new.to_le_bytes());
        self.mark(off);
    }

    /// A read of the linear framebuffer (BAR 0), `size` bytes little-endian.
    pub fn lfb_read(&self, offset: u32, size: u8) -> u32 {
        (0..size as usize).fold(0, |v, i| {
            let b = self.vram.get(offset as usize + i).copied().unwrap_or(0xff);
            v | (b as u32) << (8 * i)
        })
    }

    /// A write to the linear framebuffer.
    pub fn lfb_write(&mut self, offset: u32, size: u8, value: u32) {
        for i in 0..size as usize {
            let off = offset as usize + i;
            if off < self.vram.len() {
                self.vram[off] = (value >> (8 * i)) as u8;
                self.mark(off);
            }
        }
    }

    // ---- registers ----------------------------------------------------------------------

    /// Whether `port` answers under the current mono/colour addressing
    /// (misc output bit 0): 0x3bx in mono, 0x3dx in colour.
    fn decodes(&self, port: u16) -> bool {
        let colour = self.misc & 1 != 0;
        match port {
            0x3b4 | 0x3b5 | 0x3ba => !colour,
            0x3d4 | 0x3d5 | 0x3da => colour,
            _ => (0x3c0..=0x3cf).contains(&port),
        }
    }

    /// Whether the adapter claims `port` at all (the rest of 0x3b0-0x3df
    /// floats high).
    pub fn claims(port: u16) -> bool {
        matches!(port, 0x3b4 | 0x3b5 | 0x3ba | 0x3c0..=0x3cf | 0x3d4 | 0x3d5 | 0x3da | 0x1ce..=0x1d0)
    }

    /// Reads a VGA register port (0x3b0-0x3df).
    pub fn port_read(&mut self, port: u16) -> u8 {
        if !self.decodes(port) {
            return 0xff;
        }
        match port {
            0x3c0 => {
                if self.ar_flip {
                    0
                } else {
                    self.ar_index
                }
            }
            0x3c1 => {
                let i = (self.ar_index & 0x1f) as usize;
                self.ar.get(i).copied().unwrap_or(0)
            }
            // Input status 0: no interrupt pending, switch sense clear.
            0x3c2 => 0,
            0x3c4 => self.sr_index,
            0x3c5 => self.sr[(self.sr_index & 7) as usize],
            0x3c6 => self.pel_mask,
            0x3c7 => self.dac_state,
            0x3c8 => self.dac_write_index,
            0x3c9 => {
                let v = self.dac[self.dac_read_index as usize * 3 + self.dac_sub as usize];
                self.dac_sub += 1;
                if self.dac_sub == 3 {
                    self.dac_sub = 0;
                    self.dac_read_index = self.dac_read_index.wrapping_add(1);
                }
                v
            }
            0x3ca => self.fcr,
            0x3cc => self.misc,
            0x3ce => self.gr_index,
            0x3cf => self.gr[(self.gr_index & 0x0f) as usize],
            0x3b4 | 0x3d4 => self.cr_index,
            0x3b5 | 0x3d5 => self.cr[self.cr_index as usize],
            0x3c3 | 0x3cb | 0x3cd => 0,
            0x3ba | 0x3da => {
                // Input status 1: display enable and vertical retrace
                // alternate from one read to the next, so that a program
                // waiting for either edge sees it at once.
                self.st01 ^= 0x09;
                self.ar_flip = false;
                self.st01
            }
            _ => 0xff,
        }
    }

    /// Writes a VGA register port (0x3b0-0x3df).
    pub fn port_write(&mut self, port: u16, value: u8) {
        if !self.decodes(port) {
            return;
        }
        match port {
            0x3c0 => {
                if !self.ar_flip {
                    if (self.ar_index ^ value) & 0x20 != 0 {
                        self.full_redraw = true;
                    }
                    self.ar_index = value & 0x3f;
                } else {
                    let i = (self.ar_index & 0x1f) as usize;
                    let v = match i {
                        0x00..=0x0f => value & 0x3f,
                        0x10 => value & !0x10,
                        0x11 => value,
                        0x12 => value & 0x3f,
                        0x13 => value & 0x0f,
                        0x14 => value & 0x0f,
                        _ => return self.ar_flip = false,
                    };
                    if self.ar[i] != v {
                        self.ar[i] = v;
                        self.full_redraw = true;
                    }
                }
                self.ar_flip = !self.ar_flip;
            }
            0x3c2 => {
                self.misc = value & !0x10;
                self.full_redraw = true;
            }
            0x3c4 => self.sr_index = value & 7,
            0x3c5 => {
                let i = (self.sr_index & 7) as usize;
                let old = self.sr[i];
                self.sr[i] = value & SR_MASK[i];
                // The map mask and the memory mode change how the CPU
                // writes, not what is shown.
                if old != self.sr[i] && !matches!(i, 2 | 4) {
                    self.full_redraw = true;
                }
            }
            0x3c6 => self.pel_mask = value,
            0x3c7 => {
                self.dac_read_index = value;
                self.dac_sub = 0;
                self.dac_state = 3;
            }
            0x3c8 => {
                self.dac_write_index = value;
                self.dac_sub = 0;
                self.dac_state = 0;
            }
            0x3c9 => {
                let wide = self.dac_8bit();
                let i = self.dac_write_index as usize * 3 + self.dac_sub as usize;
                self.dac[i] = if wide { value } else { value & 0x3f };
                self.dac_sub += 1;
                if self.dac_sub == 3 {
                    self.dac_sub = 0;
                    self.dac_write_index = self.dac_write_index.wrapping_add(1);
                }
                self.full_redraw = true;
            }
            0x3ce => self.gr_index = value & 0x0f,
            0x3cf => {
                let i = (self.gr_index & 0x0f) as usize;
                let old = self.gr[i];
                self.gr[i] = value & GR_MASK[i];
                self.vbe_update_vga();
                // Only the shift mode (GR5 bits 5-6) and the memory map
                // (GR6) change what is shown; the rest is how the CPU reads
                // and writes (set/reset, rotate, bit mask ...).
                let shown = match i {
                    5 => (old ^ self.gr[5]) & 0x60 != 0,
                    6 => old != self.gr[6],
                    _ => false,
                };
                if shown {
                    self.full_redraw = true;
                }
            }
            0x3b4 | 0x3d4 => self.cr_index = value,
            0x3b5 | 0x3d5 => {
                let i = self.cr_index as usize;
                // CR11 bit 7 protects CR0-CR7, except CR7's line compare bit.
                if self.cr[0x11] & 0x80 != 0 && i <= 7 {
                    if i == 7 {
                        self.cr[7] = (self.cr[7] & !0x10) | (value & 0x10);
                    }
                } else if i <= 0x18 {
                    self.cr[i] = value;
                }
                self.vbe_update_vga();
                self.full_redraw = true;
            }
            0x3ba | 0x3da => self.fcr = value & 0x10,
            _ => {}
        }
    }

    // ---- VBE ----------------------------------------------------------------------------

    /// Reads the VBE index (port 0x1ce) or data (0x1cf, 0x1d0) register.
    pub fn vbe_read(&mut self, data: bool) -> u16 {
        if !data {
            return self.vbe_index;
        }
        let i = self.vbe_index as usize;
        if self.vbe[dispi::ENABLE] & dispi::GETCAPS != 0 {
            match i {
                dispi::XRES => return dispi::MAX_XRES,
                dispi::YRES => return dispi::MAX_YRES,
                dispi::BPP => return dispi::MAX_BPP,
                _ => {}
            }
        }
        self.vbe.get(i).copied().unwrap_or(0)
    }

    /// Writes the VBE index (port 0x1ce) or data (0x1cf, 0x1d0) register.
    pub fn vbe_write(&mut self, data: bool, value: u16) {
        if !data {
            self.vbe_index = value;
            return;
        }
        let i = self.vbe_index as usize;
        match i {
            dispi::ID if (dispi::ID0..=dispi::ID5).contains(&value) => self.vbe[i] = value,
            dispi::XRES
            | dispi::YRES
            | dispi::BPP
            | dispi::VIRT_WIDTH
            | dispi::X_OFFSET
            | dispi::Y_OFFSET => {
                self.vbe[i] = value;
                if self.vbe_enabled() {
                    self.vbe_fixup();
                    self.vbe_update_vga();
                }
            }
            dispi::BANK => {
                let v = value & ((VRAM_BYTES >> 16) as u16 - 1);
                self.vbe[i] = v;
                self.bank_offset = (v as u32) << 16;
            }
            dispi::ENABLE => self.vbe_enable(value),
            _ => {}
        }
        self.full_redraw = true;
    }

    fn vbe_enable(&mut self, value: u16) {
        if value & dispi::ENABLED != 0 && !self.vbe_enabled() {
            self.vbe[dispi::VIRT_WIDTH] = 0;
            self.vbe[dispi::X_OFFSET] = 0;
            self.vbe[dispi::Y_OFFSET] = 0;
            self.vbe[dispi::ENABLE] |= dispi::ENABLED;
            self.vbe_fixup();
            self.vbe_update_vga();
            if value & dispi::NOCLEARMEM == 0 {
                let bytes = (self.vbe[dispi::YRES] as usize * self.vbe_line as usize).min(self.vram.len());
                self.vram[..bytes].fill(0);
                for p in 0..bytes.div_ceil(DIRTY_PAGE) {
                    self.mark(p * DIRTY_PAGE);
                }
            }
        } else {
            self.bank_offset = 0;
        }
        self.vbe[dispi::ENABLE] = value;
        self.full_redraw = true;
    }

    /// Brings the mode's registers within what video memory holds (as the
    /// Bochs VBE does) and computes the display start and line length.
    fn vbe_fixup(&mut self) {
        let r = &mut self.vbe;
        if !matches!(r[dispi::BPP], 4 | 8 | 15 | 16 | 24 | 32) {
            r[dispi::BPP] = 8;
        }
        let bits = if r[dispi::BPP] == 15 { 16 } else { r[dispi::BPP] as u32 };
        r[dispi::XRES] &= !7;
        if r[dispi::XRES] == 0 {
            r[dispi::XRES] = 8;
        }
        r[dispi::XRES] = r[dispi::XRES].min(dispi::MAX_XRES);
        r[dispi::VIRT_WIDTH] = (r[dispi::VIRT_WIDTH] & !7).min(dispi::MAX_XRES).max(r[dispi::XRES]);
        let line = r[dispi::VIRT_WIDTH] as u32 * bits / 8;
        let max_y = VRAM_BYTES as u32 / line;
        if r[dispi::YRES] == 0 {
            r[dispi::YRES] = 1;
        }
        r[dispi::YRES] = (r[dispi::YRES].min(dispi::MAX_YRES) as u32).min(max_y) as u16;
        r[dispi::X_OFFSET] = r[dispi::X_OFFSET].min(dispi::MAX_XRES);
        r[dispi::Y_OFFSET] = r[dispi::Y_OFFSET].min(dispi::MAX_YRES);
        let height = r[dispi::YRES] as u32 * line;
        let mut offset = r[dispi::X_OFFSET] as u32 * bits / 8 + r[dispi::Y_OFFSET] as u32 * line;
        if offset + height > VRAM_BYTES as u32 {
            r[dispi::Y_OFFSET] = 0;
            offset = r[dispi::X_OFFSET] as u32 * bits / 8;
            if offset + height > VRAM_BYTES as u32 {
                r[dispi::X_OFFSET] = 0;
                offset = 0;
            }
        }
        r[dispi::VIRT_HEIGHT] = max_y.min(0xffff) as u16;
        self.vbe_line = line;
        self.vbe_start = offset & !3;
    }

    /// The VGA registers a VBE mode needs, set again after every write the
    /// guest makes to them while the mode is on: graphics with the 64 KiB
    /// window at 0xa0000, no CGA addressing, the mode's width, height and
    /// line length, no split screen, one scan line per row, and the
    /// 256-colour shift (16-colour for 4 bpp).
    fn vbe_update_vga(&mut self) {
        if !self.vbe_enabled() {
            return;
        }
        self.gr[6] = (self.gr[6] & !0x0c) | 0x05;
        self.cr[0x17] |= 3;
        self.cr[0x13] = (self.vbe_line >> 3) as u8;
        self.cr[1] = (self.vbe[dispi::XRES] / 8).wrapping_sub(1) as u8;
        let h = self.vbe[dispi::YRES] as u32 - 1;
        self.cr[0x12] = h as u8;
        self.cr[7] = (self.cr[7] & !0x42) | ((h >> 7) & 2) as u8 | ((h >> 3) & 0x40) as u8;
        self.cr[0x18] = 0xff;
        self.cr[7] |= 0x10;
        self.cr[9] |= 0x40;
        self.cr[9] &= !0x9f;
        let shift = if self.vbe[dispi::BPP] == 4 { 0 } else { 0x40 };
        self.gr[5] = (self.gr[5] & !0x60) | shift;
    }

    /// Whether a VBE mode is on.
    pub fn vbe_enabled(&self) -> bool {
        self.vbe[dispi::ENABLE] & dispi::ENABLED != 0
    }

    /// Whether the DAC takes 8-bit components (VBE function 08h).
    pub fn dac_8bit(&self) -> bool {
        self.vbe[dispi::ENABLE] & dispi::DAC_8BIT != 0
    }
}

/// The adapter on the port bus: the VGA registers (0x3b0-0x3df, bytes) and
/// the VBE index and data registers (0x1ce, 0x1cf, 16 bits).
impl PortDevice for Vga {
    fn read(&mut self, port: u16, size: u8) -> u32 {
        match port {
            // The VBE registers decode 16-bit accesses only.
            0x1ce..=0x1d0 if size == 2 => self.vbe_read(port != 0x1ce) as u32,
            0x1ce..=0x1d0 => crate::ones(size),
            _ => (0..size as u16).fold(0, |v, i| v | (self.port_read(port + i) as u32) << (8 * i)),
        }
    }

    fn write(&mut self, port: u16, size: u8, value: u32) {
        match port {
            0x1ce..=0x1d0 if size == 2 => self.vbe_write(port != 0x1ce, value as u16),
            0x1ce..=0x1d0 => {}
            _ => {
                for i in 0..size as u16 {
                    self.port_write(port + i, (value >> (8 * i)) as u8);
                }
            }
        }
    }

    fn reset(&mut self) {
        Vga::reset(self);
    }

    fn access_size(&self) -> u8 {
        2
    }
}

impl Snapshot for Vga {
    fn save(&self) -> Vec<u8> {
        state::encode(self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let mut v: Vga = state::decode(bytes)?;
        if v.vram.len() != VRAM_BYTES {
            return Err(StateError(format!("VGA: {} bytes of video memory, not {VRAM_BYTES}", v.vram.len())));
        }
        v.rom = std::mem::take(&mut self.rom);
        *self = v;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gr(v: &mut Vga, i: u8, value: u8) {
        v.port_write(0x3ce, i);
        v.port_write(0x3cf, value);
    }

    fn sr(v: &mut Vga, i: u8, value: u8) {
        v.port_write(0x3c4, i);
        v.port_write(0x3c5, value);
    }

    /// Planar 16-colour set-up as mode 12h has it.
    fn planar() -> Vga {
        let mut v = Vga::new();
        v.port_write(0x3c2, 0xe3);
        sr(&mut v, 2, 0x0f);
        sr(&mut v, 4, 0x06);
        gr(&mut v, 5, 0x00);
        gr(&mut v, 6, 0x05);
        gr(&mut v, 8, 0xff);
        v
    }

    #[test]
    fn write_mode_0_with_set_reset_and_bit_mask() {
        let mut v = planar();
        // Enable set/reset on planes 0 and 2 with colour 0b0101.
        gr(&mut v, 0, 0x05);
        gr(&mut v, 1, 0x05);
        gr(&mut v, 8, 0xf0);
        v.window_write(0, 0xaa);
        assert_eq!(&v.vram[0..4], &[0xf0, 0xa0, 0xf0, 0xa0]);
        // The latches keep the bits outside the bit mask.
        gr(&mut v, 1, 0);
        gr(&mut v, 8, 0x0f);
        v.window_read(0);
        v.window_write(0, 0x33);
        assert_eq!(&v.vram[0..4], &[0xf3, 0xa3, 0xf3, 0xa3]);
    }

    #[test]
    fn rotate_and_logical_ops() {
        let mut v = planar();
        v.vram[0..4].copy_from_slice(&[0x0f, 0x0f, 0x0f, 0x0f]);
        v.window_read(0);
        gr(&mut v, 3, 0x18 | 4); // XOR, rotate right by 4
        v.window_write(0, 0x12);
        assert_eq!(&v.vram[0..4], &[0x2e, 0x2e, 0x2e, 0x2e]);
        v.window_read(0);
        gr(&mut v, 3, 0x08); // AND
        v.window_write(0, 0x0f);
        assert_eq!(&v.vram[0..4], &[0x0e, 0x0e, 0x0e, 0x0e]);
    }

    #[test]
    fn write_modes_1_2_3() {
        let mut v = planar();
        v.vram[0..4].copy_from_slice(&[1, 2, 3, 4]);
        v.window_read(0);
        gr(&mut v, 5, 1);
        v.window_write(8, 0x99);
        assert_eq!(&v.vram[32..36], &[1, 2, 3, 4]);
        gr(&mut v, 5, 2);
        gr(&mut v, 8, 0x81);
        v.window_read(16);
        v.window_write(16, 0x06);
        assert_eq!(&v.vram[64..68], &[0, 0x81, 0x81, 0]);
        gr(&mut v, 5, 3);
        gr(&mut v, 0, 0x09);
        gr(&mut v, 8, 0xff);
        v.window_read(16);
        v.window_write(16, 0x0f);
        assert_eq!(&v.vram[64..68], &[0x0f, 0x80, 0x80, 0x0f]);
    }

    #[test]
    fn map_mask_and_read_modes() {
        let mut v = planar();
        sr(&mut v, 2, 0x04);
        v.window_write(3, 0x5a);
        assert_eq!(&v.vram[12..16], &[0, 0, 0x5a, 0]);
        gr(&mut v, 4, 2);
        assert_eq!(v.window_read(3), 0x5a);
        // Read mode 1: which pixels have colour 4 (plane 2 only).
        gr(&mut v, 5, 0x08);
        gr(&mut v, 2, 0x04);
        gr(&mut v, 7, 0x0f);
        assert_eq!(v.window_read(3), 0x5a);
        gr(&mut v, 7, 0x00);
        assert_eq!(v.window_read(3), 0xff);
    }

    #[test]
    fn odd_even_and_chain_4_addressing() {
        let mut v = Vga::new();
        v.port_write(0x3c2, 0x67);
        sr(&mut v, 2, 0x03);
        sr(&mut v, 4, 0x02);
        gr(&mut v, 5, 0x10);
        gr(&mut v, 6, 0x0e); // 0xb8000, 32 KiB
        gr(&mut v, 8, 0xff);
        v.take_dirty();
        v.window_write(0x18000 + 2, b'A');
        v.window_write(0x18000 + 3, 0x1f);
        assert_eq!(&v.vram[4..6], &[b'A', 0x1f]);
        assert_eq!(v.window_read(0x18000 + 3), 0x1f);
        // Outside the map: nothing.
        assert_eq!(v.window_read(0), 0xff);
        // Chain 4: linear bytes.
        sr(&mut v, 4, 0x0e);
        sr(&mut v, 2, 0x0f);
        gr(&mut v, 5, 0x40);
        gr(&mut v, 6, 0x05);
        v.window_write(0x1235, 7);
        assert_eq!(v.vram[0x1235], 7);
        assert_eq!(v.window_read(0x1235), 7);
        let (pages, _) = v.take_dirty();
        assert!(pages.contains(1) && pages.contains(0) && !pages.contains(2));
        assert!(v.take_dirty().0.is_empty());
    }

    #[test]
    fn registers_dac_and_attribute_flip_flop() {
        let mut v = Vga::new();
        v.port_write(0x3c2, 0x01);
        v.port_write(0x3c8, 5);
        for c in [1, 2, 3] {
            v.port_write(0x3c9, c);
        }
        v.port_write(0x3c7, 5);
        assert_eq!(v.port_read(0x3c7), 3);
        assert_eq!([v.port_read(0x3c9), v.port_read(0x3c9), v.port_read(0x3c9)], [1, 2, 3]);
        v.port_read(0x3da);
        v.port_write(0x3c0, 0x01);
        v.port_write(0x3c0, 0x3f);
        v.port_write(0x3c0, 0x21);
        assert_eq!(v.ar[1], 0x3f);
        v.port_read(0x3da);
        assert_eq!(v.port_read(0x3c0), 0x21);
        // Mono ports do not answer in colour addressing.
        v.port_write(0x3b4, 0x0e);
        assert_eq!(v.port_read(0x3b4), 0xff);
        v.port_write(0x3d4, 0x0e);
        v.port_write(0x3d5, 0x12);
        assert_eq!(v.port_read(0x3d5), 0x12);
        // CR11 bit 7 protects CR0-7.
        v.port_write(0x3d4, 0x11);
        v.port_write(0x3d5, 0x80);
        v.port_write(0x3d4, 0x01);
        v.port_write(0x3d5, 0x4f);
        assert_eq!(v.port_read(0x3d5), 0);
        // Retrace toggles.
        let a = v.port_read(0x3da) & 8;
        let b = v.port_read(0x3da) & 8;
        assert_ne!(a, b);
    }

    #[test]
    fn state_round_trips_and_keeps_the_rom() {
        let mut v = planar();
        v.set_rom(vec![0x55, 0xaa, 1]);
        v.window_write(5, 0x3c);
        v.port_write(0x3c8, 9);
        for c in [10, 20, 30] {
            v.port_write(0x3c9, c);
        }
        v.vbe_write(false, dispi::BANK as u16);
        v.vbe_write(true, 2);
        let saved = v.save();
        let mut w = Vga::new();
        w.set_rom(vec![0x55, 0xaa, 1]);
        w.restore(&saved).unwrap();
        assert_eq!(w.save(), saved);
        assert_eq!(w.rom_read(0, 2), 0xaa55, "the ROM is the machine's, kept across a restore");
        assert_eq!(w.render(true, true), v.render(true, true));
        assert!(w.restore(&saved[..saved.len() - 1]).is_err(), "a truncated state is an error");
    }

    #[test]
    fn vbe_modes_and_caps() {
        let mut v = Vga::new();
        v.vbe_write(false, dispi::ID as u16);
        assert_eq!(v.vbe_read(true), dispi::ID5);
        v.vbe_write(true, dispi::ID0);
        assert_eq!(v.vbe_read(true), dispi::ID0);
        v.vbe_write(false, dispi::ENABLE as u16);
        v.vbe_write(true, dispi::GETCAPS);
        v.vbe_write(false, dispi::XRES as u16);
        assert_eq!(v.vbe_read(true), dispi::MAX_XRES);
        v.vbe_write(false, dispi::ENABLE as u16);
        v.vbe_write(true, 0);
        for (i, val) in [(dispi::XRES, 800), (dispi::YRES, 600), (dispi::BPP, 32)] {
            v.vbe_write(false, i as u16);
            v.vbe_write(true, val);
        }
        v.lfb_write(0, 4, 0x1234_5678);
        v.vbe_write(false, dispi::ENABLE as u16);
        v.vbe_write(true, dispi::ENABLED | dispi::LFB_ENABLED);
        assert!(v.vbe_enabled());
        assert_eq!(v.lfb_read(0, 4), 0, "enabling clears the screen");
        assert_eq!(v.vbe_line, 3200);
        // Changed while enabled: brought within bounds, the VGA side follows.
        v.vbe_write(false, dispi::XRES as u16);
        v.vbe_write(true, 643);
        assert_eq!(v.vbe_read(true), 640);
        assert_eq!(v.cr[1], 79);
        v.vbe_write(false, dispi::XRES as u16);
        v.vbe_write(true, 800);
        // Video memory size in 64 KiB units, and GETCAPS's maxima.
        v.vbe_write(false, dispi::VIDEO_MEMORY_64K as u16);
        assert_eq!(v.vbe_read(true), 256);
        // Panning by the offsets.
        v.vbe_write(false, dispi::Y_OFFSET as u16);
        v.vbe_write(true, 2);
        assert_eq!(v.vbe_start, 6400);
        // Banked window.
        v.vbe_write(false, dispi::BANK as u16);
        v.vbe_write(true, 3);
        v.window_write(0x10, 0xab);
        assert_eq!(v.vram[0x30010], 0xab);
    }
}
