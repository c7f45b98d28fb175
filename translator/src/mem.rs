//! Guest memory as instructions see it: segment checks, then linear accesses
//! through the software TLB, with the slow path for misses, page crossings,
//! MMIO, ROM and pages that hold translated code.
//!
//! Segment checks follow the hardware (SDM Vol. 3A 5.3-5.6): limits, including
//! expand-down segments, and type (no writes to code or read-only data, no reads
//! of execute-only code) raise #GP(0), or #SS(0) for SS. Alignment checks (#AC)
//! apply to CPL-3 data accesses when CR0.AM and EFLAGS.AC are set. System
//! structures (descriptor tables, the TSS, the IDT) are read with supervisor
//! rights whatever the CPL, through [`Cpu::read_sys`] and [`Cpu::write_sys`].

use vemu_softmmu::{Access, PagingMode, PhysAddr, TlbMode, WriteTarget};

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};
use crate::state::{attr, cr0, cr4, efer, fl, Seg};

impl Cpu {
    /// Whether data accesses now run with user (CPL 3) rights.
    #[inline]
    pub(crate) fn user(&self) -> bool {
        self.state.cpl == 3
    }

    pub(crate) fn paging_mode(&self) -> PagingMode {
        let s = &self.state;
        PagingMode {
            enabled: s.cr0 & cr0::PG != 0 && s.cr0 & cr0::PE != 0,
            write_protect: s.cr0 & cr0::WP != 0,
            pse: s.cr4 & cr4::PSE != 0,
            pge: s.cr4 & cr4::PGE != 0,
            cr3: s.cr3,
            pae: s.cr4 & cr4::PAE != 0,
            nxe: s.msr.efer & efer::NXE != 0,
            pdptes: s.pdptes,
        }
    }

    /// Linear to physical for one access; fills the TLB; #PF on failure.
    /// `None`: a PAE page at or above 4 GiB, where there is no memory.
    pub(crate) fn translate(&mut self, linear: u32, access: Access, user: bool) -> Fault<Option<PhysAddr>> {
        if let Some(phys) = self.mem.translate_cached(linear, access, user) {
            return Ok(Some(phys));
        }
        let mode = self.paging_mode();
        self.mem.translate(&mode, linear, access, user).map_err(|pf| Exception::pf(pf.address, pf.error_code))
    }

    // ---- linear accesses -------------------------------------------------------------

    /// Reads `size` (1, 2 or 4) bytes at a linear address.
    #[inline]
    pub fn read_lin(&mut self, linear: u32, size: u32, user: bool) -> Fault<u32> {
        let mode = if user { TlbMode::User } else { TlbMode::Supervisor };
        if let Some(v) = self.mem.load_fast(mode, linear, size, false) {
            return Ok(v);
        }
        self.read_lin_slow(linear, size, user, Access::Read)
    }

    fn read_lin_slow(&mut self, linear: u32, size: u32, user: bool, access: Access) -> Fault<u32> {
        if (linear & 0xfff) + size > 0x1000 {
            // Page crossing: both pages must translate before anything is read
            // (a read of MMIO has side effects).
            let second = linear.wrapping_add(size - 1) & !0xfff;
            self.translate(linear, access, user)?;
            self.translate(second, access, user)?;
            let mut value = 0;
            for i in 0..size {
                value |= self.read_lin_slow(linear.wrapping_add(i), 1, user, access)? << (8 * i);
            }
            return Ok(value);
        }
        Ok(match self.translate(linear, access, user)? {
            Some(phys) => self.read_phys(phys, size),
            None => crate::interp::mask(size),
        })
    }

    /// Reads physical memory of any backing (MMIO goes to the bus).
    pub(crate) fn read_phys(&mut self, phys: PhysAddr, size: u32) -> u32 {
        if let Some(v) = self.mem.read_ram(phys, size) {
            return v;
        }
        match self.mem.phys.backing(phys) {
            vemu_softmmu::Backing::Mmio { id, offset } => {
                if !self.mem.phys.is_quiet(id) {
                    self.device_touched();
                }
                let now = self.now();
                self.bus.mmio_read(now, id, offset, size as u8)
            }
            _ => crate::interp::mask(size),
        }
    }

    /// Writes `size` (1, 2 or 4) bytes at a linear address.
    #[inline]
    pub fn write_lin(&mut self, linear: u32, size: u32, value: u32, user: bool) -> Fault {
        let mode = if user { TlbMode::User } else { TlbMode::Supervisor };
        if self.mem.store_fast(mode, linear, size, value) {
            return Ok(());
        }
        self.write_lin_slow(linear, size, value, user)
    }

    fn write_lin_slow(&mut self, linear: u32, size: u32, value: u32, user: bool) -> Fault {
        if (linear & 0xfff) + size > 0x1000 {
            // Both pages must be writable before any byte is written.
            let second = linear.wrapping_add(size - 1) & !0xfff;
            self.translate(linear, Access::Write, user)?;
            self.translate(second, Access::Write, user)?;
            for i in 0..size {
                if let Some(phys) = self.translate(linear.wrapping_add(i), Access::Write, user)? {
                    self.write_phys(phys, 1, value >> (8 * i));
                }
            }
            return Ok(());
        }
        if let Some(phys) = self.translate(linear, Access::Write, user)? {
            self.write_phys(phys, size, value);
        }
        Ok(())
    }

    /// Writes physical memory of any backing (the soft MMU notices writes to
    /// code; MMIO goes to the bus).
    pub(crate) fn write_phys(&mut self, phys: PhysAddr, size: u32, value: u32) {
        if let WriteTarget::Mmio { id, offset } = self.mem.write_ram(phys, size, value) {
            if !self.mem.phys.is_quiet(id) {
                self.device_touched();
            }
            let now = self.now();
            self.bus.mmio_write(now, id, offset, size as u8, value)
        }
    }

    /// The current instruction reached a device through MMIO (a window that
    /// is not quiet): as after a port access, the block ends after it and the
    /// run loop asks the devices about interrupts and their next event again,
    /// so that both tiers take an interrupt the access raised at the same
    /// instruction.
    pub(crate) fn device_touched(&mut self) {
        self.device_access = true;
        self.events_stale = true;
        self.irq_stale = true;
    }

    /// Reads a system structure (GDT, LDT, IDT, TSS) with supervisor rights.
    pub(crate) fn read_sys(&mut self, linear: u32, size: u32) -> Fault<u32> {
        self.read_lin(linear, size, false)
    }

    /// Writes a system structure with supervisor rights.
    pub(crate) fn write_sys(&mut self, linear: u32, size: u32, value: u32) -> Fault {
        self.write_lin(linear, size, value, false)
    }

    // ---- segment checks ------------------------------------------------------------------

    /// Checks an access of `size` bytes at `seg:offset` and returns its linear address.
    #[inline]
    pub(crate) fn check_seg(&self, seg: Seg, offset: u32, size: u32, write: bool) -> Fault<u32> {
        let s = &self.state.segs[seg as usize];
        let fault = || if seg == Seg::SS { Exception::ss(0) } else { Exception::gp(0) };
        if s.attr & attr::UNUSABLE != 0 {
            return Err(fault());
        }
        let ty = s.attr & attr::TYPE_MASK;
        if self.state.protected_mode() && !self.state.v86_mode() {
            let code = ty & attr::CODE != 0;
            let rw = ty & attr::WRITABLE_READABLE != 0;
            // Writes need writable data; reads need data or readable code.
            let forbidden = if write { code || !rw } else { code && !rw };
            if forbidden {
                return Err(fault());
            }
        }
        let last = offset as u64 + size as u64 - 1;
        if ty & (attr::CODE | attr::EXPAND_DOWN_CONFORMING) == attr::EXPAND_DOWN_CONFORMING {
            let upper = if s.attr & attr::DB != 0 { 0xffff_ffff } else { 0xffff };
            if offset <= s.limit || last > upper {
                return Err(fault());
            }
        } else if last > s.limit as u64 {
            return Err(fault());
        }
        Ok(s.base.wrapping_add(offset))
    }

    /// A misaligned data access: #AC(0) if alignment checking is on (CPL 3 with
    /// CR0.AM and EFLAGS.AC set).
    pub(crate) fn check_alignment(&self) -> Fault {
        let s = &self.state;
        if s.cpl == 3 && s.cr0 & cr0::AM != 0 && s.flags.bits & fl::AC != 0 {
            return Err(Exception::ac());
        }
        Ok(())
    }

    // ---- data accesses -----------------------------------------------------------------

    /// Reads `size` bytes of data at `seg:offset`.
    #[inline]
    pub fn read(&mut self, seg: Seg, offset: u32, size: u32) -> Fault<u32> {
        let linear = self.check_seg(seg, offset, size, false)?;
        if linear & (size - 1) != 0 {
            self.check_alignment()?;
        }
        if self.breakpoints_armed {
            self.watch_data(linear, size, false);
        }
        self.read_lin(linear, size, self.user())
    }

    /// Writes `size` bytes of data at `seg:offset`.
    #[inline]
    pub fn write(&mut self, seg: Seg, offset: u32, size: u32, value: u32) -> Fault {
        let linear = self.check_seg(seg, offset, size, true)?;
        if linear & (size - 1) != 0 {
            self.check_alignment()?;
        }
        if self.breakpoints_armed {
            self.watch_data(linear, size, true);
        }
        self.write_lin(linear, size, value, self.user())
    }

    /// Reads the destination of a read-modify-write: checked and translated as a
    /// write, as the hardware does, so a read-only page faults on the read.
    #[inline]
    pub fn read_rmw(&mut self, seg: Seg, offset: u32, size: u32) -> Fault<u32> {
        let linear = self.check_seg(seg, offset, size, true)?;
        if linear & (size - 1) != 0 {
            self.check_alignment()?;
        }
        if self.breakpoints_armed {
            self.watch_data(linear, size, true);
        }
        let user = self.user();
        let mode = if user { TlbMode::User } else { TlbMode::Supervisor };
        if let Some(v) = self.mem.load_fast(mode, linear, size, true) {
            return Ok(v);
        }
        self.read_lin_slow(linear, size, user, Access::Write)
    }

    /// The slow path of compiled code's reads (`jit::helpers::read`): reads
    /// `size` bytes at `seg:offset` (checked as a write for `rmw`) if the
    /// read is plain, else does nothing and gives None. A plain read reaches
    /// no device that is not quiet (`Memory::is_plain`; for `rmw`, as a
    /// write: no byte of code either). Faults come as `read` and `read_rmw`
    /// raise them, in the same order, before anything is decided.
    pub(crate) fn read_for_jit(&mut self, seg: Seg, offset: u32, size: u32, rmw: bool) -> Fault<Option<u32>> {
        let linear = self.check_seg(seg, offset, size, rmw)?;
        let access = if rmw { Access::Write } else { Access::Read };
        if (linear & 0xfff) + size <= 0x1000 {
            return Ok(match self.translate(linear, access, self.user())? {
                // RAM, ROM or nothing, read in one look at the page's backing.
                Some(phys) if !rmw => match self.mem.read_ram(phys, size) {
                    Some(v) => Some(v),
                    None => self.mem.is_plain(phys, size, false).then(|| self.read_phys(phys, size)),
                },
                Some(phys) => self.mem.is_plain(phys, size, true).then(|| self.read_phys(phys, size)),
                None => Some(crate::interp::mask(size)),
            });
        }
        if !self.crossing_is_plain(linear, size, access)? {
            return Ok(None);
        }
        self.read_lin_slow(linear, size, self.user(), access).map(Some)
    }

    /// The slow path of compiled code's writes: writes `size` bytes at
    /// `seg:offset` if the write is plain (no device that is not quiet, no
    /// byte of code) and gives true, else does nothing and gives false.
    /// With `read_back` (compiled code takes the value stored for a later
    /// load of the same operand), plain also means that a read sees what
    /// was written: RAM, in one page.
    pub(crate) fn write_for_jit(
        &mut self,
        seg: Seg,
        offset: u32,
        size: u32,
        value: u32,
        read_back: bool,
    ) -> Fault<bool> {
        let linear = self.check_seg(seg, offset, size, true)?;
        if (linear & 0xfff) + size <= 0x1000 {
            return Ok(match self.translate(linear, Access::Write, self.user())? {
                Some(phys) if !self.mem.is_plain(phys, size, true) => false,
                Some(phys) if read_back && !self.mem.reads_see_writes(phys) => false,
                Some(phys) => {
                    self.write_phys(phys, size, value);
                    true
                }
                None => !read_back,
            });
        }
        if !self.crossing_is_plain(linear, size, Access::Write)? || read_back {
            return Ok(false);
        }
        self.write_lin_slow(linear, size, value, self.user())?;
        Ok(true)
    }

    /// For an access at `linear` that crosses into a second page: translates
    /// both pages, in the order a fault would be raised, and tells whether
    /// both parts are plain (`Memory::is_plain`). The access itself then
    /// goes the interpreter's way (`read_lin_slow`, `write_lin_slow`).
    fn crossing_is_plain(&mut self, linear: u32, size: u32, access: Access) -> Fault<bool> {
        let user = self.user();
        let in_first = 0x1000 - (linear & 0xfff);
        let halves = [(linear, in_first), (linear.wrapping_add(in_first), size - in_first)];
        let mut phys = [None; 2];
        for (p, (at, _)) in phys.iter_mut().zip(halves) {
            *p = self.translate(at, access, user)?;
        }
        let write = access == Access::Write;
        Ok(phys.iter().zip(halves).all(|(p, (_, len))| p.is_none_or(|p| self.mem.is_plain(p, len, write))))
    }

    /// Reads an operand of any length (an x87 or SSE value, an FPU
    /// environment, an FXSAVE image) at `seg:offset`. The segment check covers
    /// all of it, and every page it touches is translated before anything is
    /// read. `align` is the alignment alignment checking (#AC) asks for.
    pub(crate) fn read_bytes(&mut self, seg: Seg, offset: u32, buf: &mut [u8], align: u32) -> Fault {
        let linear = self.begin_long_access(seg, offset, buf.len() as u32, align, false)?;
        let user = self.user();
        for (i, chunk) in buf.chunks_mut(4).enumerate() {
            let v = self.read_lin(linear.wrapping_add(4 * i as u32), chunk.len() as u32, user)?;
            chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }

    /// Writes an operand of any length at `seg:offset`; every page it touches
    /// must be writable before any byte is written.
    pub(crate) fn write_bytes(&mut self, seg: Seg, offset: u32, data: &[u8], align: u32) -> Fault {
        let linear = self.begin_long_access(seg, offset, data.len() as u32, align, true)?;
        let user = self.user();
        for (i, chunk) in data.chunks(4).enumerate() {
            let mut v = [0; 4];
            v[..chunk.len()].copy_from_slice(chunk);
            self.write_lin(
                linear.wrapping_add(4 * i as u32),
                chunk.len() as u32,
                u32::from_le_bytes(v),
                user,
            )?;
        }
        Ok(())
    }

    /// The checks before a long access: segment, alignment, data breakpoints,
    /// and, for an operand that crosses pages, the translation of every page
    /// (as a write for `write`) so that a fault comes before any byte moves.
    pub(crate) fn begin_long_access(
        &mut self,
        seg: Seg,
        offset: u32,
        len: u32,
        align: u32,
        write: bool,
    ) -> Fault<u32> {
        let linear = self.check_seg(seg, offset, len, write)?;
        if linear & (align - 1) != 0 {
            self.check_alignment()?;
        }
        if self.breakpoints_armed {
            for at in (0..len).step_by(4) {
                self.watch_data(linear.wrapping_add(at), (len - at).min(4), write);
            }
        }
        let last = linear.wrapping_add(len - 1);
        if linear & !0xfff == last & !0xfff {
            // One page: its first access translates it before anything is done.
            return Ok(linear);
        }
        let access = if write { Access::Write } else { Access::Read };
        let user = self.user();
        let mut at = linear;
        loop {
            self.translate(at, access, user)?;
            if at & !0xfff == last & !0xfff {
                break;
            }
            at = (at & !0xfff).wrapping_add(0x1000);
        }
        Ok(linear)
    }

    /// The code byte at a linear address (for the decoder and fetch checks).
    ///
    /// Code on a PAE page at or above 4 GiB, where there is no memory, would
    /// be all ones: FF FF is an undefined opcode (FF /7) whatever offset
    /// execution starts at, so the fetch raises #UD straight away. (An
    /// instruction that starts below such a page and runs into it raises #UD
    /// too, where the processor would decode its last bytes as FF.)
    #[inline]
    pub(crate) fn fetch_translate(&mut self, linear: u32) -> Fault<PhysAddr> {
        let user = self.user();
        // (The TLB's answer inline: the run loop asks before every block.)
        if let Some(phys) = self.mem.translate_cached(linear, Access::Fetch, user) {
            return Ok(phys);
        }
        self.translate(linear, Access::Fetch, user)?.ok_or_else(Exception::ud)
    }

    /// Copies code bytes from one physical page into `buf`; non-memory reads as 0xFF.
    pub(crate) fn read_code_bytes(&mut self, phys: PhysAddr, buf: &mut [u8]) {
        self.mem.read_code(phys, buf)
    }
}
