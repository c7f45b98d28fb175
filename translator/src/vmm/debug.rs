//! Hardware breakpoints: DR0-DR3 with their enables and conditions in DR7
//! (SDM Vol. 3B 17.2). An instruction breakpoint (R/W = 00) raises a #DB fault
//! before the instruction at its linear address runs, unless EFLAGS.RF is set; a
//! data breakpoint (R/W = 01 writes, 11 reads and writes, LEN 1, 2 or 4 bytes)
//! raises a #DB trap after the instruction that touched it. DR6 records which
//! breakpoints matched. I/O breakpoints (R/W = 10 with CR4.DE) are not modelled.
//!
//! While any breakpoint is enabled the CPU runs one instruction per step and
//! checks every data access; otherwise all of this costs one flag test.

use crate::cpu::Cpu;

impl Cpu {
    /// Recomputes which breakpoints are armed after DR7 changes.
    pub(crate) fn update_breakpoints(&mut self) {
        self.breakpoints_armed = self.state.dr[7] & 0xff != 0;
    }

    /// (enabled, R/W, LEN) of breakpoint `n`.
    fn breakpoint(&self, n: usize) -> (bool, u32, u32) {
        let dr7 = self.state.dr[7];
        let enabled = dr7 & (3 << (2 * n)) != 0;
        let rw = (dr7 >> (16 + 4 * n)) & 3;
        let len = (dr7 >> (18 + 4 * n)) & 3;
        (enabled, rw, len)
    }

    /// DR6 bits of the instruction breakpoints at `linear` (before it runs).
    pub(crate) fn instruction_breakpoints(&self, linear: u32) -> u32 {
        (0..4)
            .filter(|&n| {
                let (enabled, rw, _) = self.breakpoint(n);
                enabled && rw == 0 && self.state.dr[n] == linear
            })
            .fold(0, |bits, n| bits | 1 << n)
    }

    /// Notes the data breakpoints an access of `size` bytes at `linear` hits.
    pub(crate) fn watch_data(&mut self, linear: u32, size: u32, write: bool) {
        for n in 0..4 {
            let (enabled, rw, len) = self.breakpoint(n);
            if !enabled || rw == 0 || rw == 2 || (rw == 1 && !write) {
                continue;
            }
            let bytes = match len {
                0 => 1u64,
                1 => 2,
                2 => 8,
                _ => 4,
            };
            let start = (self.state.dr[n] as u64) & !(bytes - 1);
            let (a, b) = (linear as u64, linear as u64 + size as u64);
            if a < start + bytes && start < b {
                self.data_breakpoint_hits |= 1 << n;
            }
        }
    }
}
