//! Per-instruction tracing (`--trace`): a [`Tracer`] sees the CPU state before
//! each instruction and each exception or interrupt delivered. When no tracer is
//! installed the run loop pays one branch per instruction.

use iced_x86::Instruction;

use crate::state::CpuState;

/// What raised a traced interrupt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InterruptKind {
    /// An exception raised by the processor.
    Exception,
    /// INT n, INT3, INTO, INT1.
    Software,
    /// A device's interrupt request.
    Hardware,
}

/// Receives the trace of a run.
pub trait Tracer {
    /// Called before `ins` executes, with the state it starts from.
    fn before_instruction(&mut self, state: &CpuState, ins: &Instruction);
    /// Called when an exception or interrupt is delivered, before the CPU
    /// switches to its handler. `error` is the error code pushed, if any.
    fn interrupt(&mut self, state: &CpuState, vector: u8, error: Option<u32>, kind: InterruptKind);
}
