//! vemu's CPU: the architectural state, the interpreter (the reference tier), the
//! VMM layer that emulates privileged instructions against virtual state, and the
//! run loop that ties them to the block cache and the soft MMU.
//!
//! The crate talks to devices only through [`Bus`]; the frontend wires it.

mod bus;
mod cpu;
pub mod cpuid;
mod exception;
pub mod f80;
mod flags;
pub(crate) mod interp;
mod jit;
mod mem;
mod state;
mod trace;
mod vmm;

pub use bus::{Bus, BusRequest, NullBus};
pub use cpu::{
    CachedBlock, Cpu, CpuConfig, Exit, InterpKind, InterpStats, DEFAULT_BLOCK_CACHE_SIZE, NS_PER_INSN,
};
pub use cpuid::CpuModel;
pub use exception::{vector, Exception, ExceptionClass, Fault};
pub use flags::Flags;
pub use iced_x86::Instruction;
pub use jit::{Engine, QueueStats, LATENCY_BOUNDS_MS};
pub use state::{
    attr, cr0, cr4, dr, fl, fsw, msr, reg, CpuState, Fpu, Msrs, Seg, Segment, Selector, TableReg,
};
pub use trace::{InterruptKind, Tracer};

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
