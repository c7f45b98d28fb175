//! The VMM layer: everything privileged or system-level, emulated against the
//! guest's virtual state (invariant 3). The guest's CPL, IOPL, IF, descriptor
//! tables and task state live in [`crate::CpuState`]; instructions that reveal or
//! change them come here, are checked against the *virtual* CPL and raise the
//! exception real hardware would.
//!
//! - `descriptor`: reading descriptors from the GDT/LDT, their fields, the accessed bit
//! - `segment`: segment-register loads in real, virtual-8086 and protected mode
//! - `interrupt`: exception and interrupt delivery (IVT, IDT gates, #DF, triple fault)
//! - `far`: far JMP/CALL/RET and IRET, through call gates and across rings
//! - `task`: hardware task switches (TSS descriptors, task gates, IRET with NT)
//! - `system`: control/debug registers, descriptor-table registers, LMSW/SMSW,
//!   CLTS, INVLPG, HLT, CLI/STI, LAR/LSL/VERR/VERW/ARPL
//! - `io`: IN/OUT with the IOPL and TSS I/O-bitmap checks
//! - `sysenter`: SYSENTER/SYSEXIT
//! - `debug`: the breakpoints of DR0-DR3 and DR7

pub(crate) mod debug;
pub(crate) mod descriptor;
pub(crate) mod far;
pub(crate) mod interrupt;
pub(crate) mod io;
pub(crate) mod segment;
pub(crate) mod sysenter;
pub(crate) mod system;
pub(crate) mod task;

use crate::cpu::Cpu;
use crate::exception::{Exception, Fault};

impl Cpu {
    /// Privileged instructions: allowed in real mode and at CPL 0, #GP(0) otherwise
    /// (virtual-8086 mode runs at CPL 3).
    pub(crate) fn require_cpl0(&self) -> Fault {
        let s = &self.state;
        if s.protected_mode() && (s.v86_mode() || s.cpl != 0) {
            return Err(Exception::gp(0));
        }
        Ok(())
    }

    /// Instructions that exist only in protected mode (not real, not virtual-8086).
    pub(crate) fn require_protected(&self) -> Fault {
        let s = &self.state;
        if !s.protected_mode() || s.v86_mode() {
            return Err(Exception::ud());
        }
        Ok(())
    }
}
