//! Functions generated code calls: the slow paths of memory accesses, the
//! interpreter for every instruction the JIT does not emit inline, condition
//! evaluation when a block does not know who set the flags, and tracing.
//!
//! Each takes the `Cpu` as a raw pointer: generated code only runs inside
//! [`super::run`], whose caller hands over exclusive use of the CPU for the
//! duration, so each helper may turn it into a unique reference. No helper
//! changes the block cache (see `super::run` for why that matters).

use cranelift_codegen::ir::{self, types, AbiParam, FuncRef, Function, Signature};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};
use iced_x86::{Instruction, Mnemonic};

use super::JitError;
use crate::cpu::Cpu;
use crate::state::Seg;

/// What `vemu_jit_interp` tells the generated code.
pub(crate) mod interp_status {
    /// Go on with the next instruction of the block (reload the state first).
    pub const CONTINUE: u32 = 0;
    /// The instruction raised an exception (in `Cpu::jit_fault`).
    pub const FAULT: u32 = 1;
    /// Leave the block: the state (EIP included) is in `CpuState`.
    pub const EXIT: u32 = 2;
}

/// What a read's slow path tells the generated code: the value (below
/// 2^32), or `FAULT`, or `INTERPRETED`.
pub(crate) mod read_status {
    pub const FAULT: u64 = u64::MAX;
    /// The interpreter ran the instruction: leave (the state is stored).
    pub const INTERPRETED: u64 = u64::MAX - 1;
}

/// What a write's slow path tells the generated code.
pub(crate) mod write_status {
    pub const OK: u32 = 0;
    pub const FAULT: u32 = 1;
    /// The interpreter ran the instruction: leave (the state is stored).
    pub const INTERPRETED: u32 = 2;
    /// Set in the size given to [`write`]: the code takes the value
    /// written for a later load of the operand, so the write must go where
    /// reads see it (`Cpu::write_for_jit`'s `read_back`), or to the
    /// interpreter.
    pub const READ_BACK: u32 = 0x100;
}

/// The segment register numbered `n` (ES CS SS DS FS GS).
fn seg(n: u32) -> Seg {
    Seg::ALL[(n as usize).min(5)]
}

/// Reads `size` bytes at `seg:offset` (checked as a write when `rmw` is set)
/// for the instruction `ins`. Returns a [`read_status`]: the value, or
/// `FAULT` after storing the fault in `Cpu::jit_fault`.
///
/// A read that would reach a device (which may raise an interrupt the run
/// loop must see right after the instruction) is not made here: the
/// interpreter runs the whole instruction instead, and the generated code
/// leaves (`INTERPRETED`). What the instruction did before this access,
/// plain reads and writes of RAM, it does again alike; its registers are
/// written only after its accesses. Compiled code thus goes on after every
/// access it makes, and its fast path checks for nothing after it.
extern "C" fn read(
    cpu: *mut Cpu,
    segment: u32,
    offset: u32,
    size: u32,
    rmw: u32,
    ins: *const Instruction,
) -> u64 {
    // SAFETY: see the module documentation.
    let cpu = unsafe { &mut *cpu };
    cpu.sync_clock_from_jit();
    match cpu.read_for_jit(seg(segment), offset, size, rmw != 0) {
        Ok(Some(v)) => {
            debug_assert!(!cpu.device_access, "a plain read reached a device");
            v as u64
        }
        // SAFETY: as for `interp`.
        Ok(None) => match interpret(cpu, unsafe { &*ins }) {
            interp_status::FAULT => read_status::FAULT,
            _ => read_status::INTERPRETED,
        },
        Err(e) => {
            cpu.jit_fault = Some(e);
            read_status::FAULT
        }
    }
}

/// Writes `size` bytes at `seg:offset` for the instruction `ins`; returns a
/// [`write_status`]. As for [`read`], a write that would reach a device or
/// translated code is left to the interpreter, with the whole instruction
/// (and with [`write_status::READ_BACK`] in `size`, one that a read would
/// not see).
extern "C" fn write(
    cpu: *mut Cpu,
    segment: u32,
    offset: u32,
    size: u32,
    value: u32,
    ins: *const Instruction,
) -> u32 {
    // SAFETY: see the module documentation.
    let cpu = unsafe { &mut *cpu };
    cpu.sync_clock_from_jit();
    let read_back = size & write_status::READ_BACK != 0;
    match cpu.write_for_jit(seg(segment), offset, size & !write_status::READ_BACK, value, read_back) {
        Ok(true) => {
            debug_assert!(
                !cpu.device_access && !cpu.mem.has_dirty_code(),
                "a plain write reached a device or code"
            );
            write_status::OK
        }
        // SAFETY: as for `interp`.
        Ok(false) => match interpret(cpu, unsafe { &*ins }) {
            interp_status::FAULT => write_status::FAULT,
            _ => write_status::INTERPRETED,
        },
        Err(e) => {
            cpu.jit_fault = Some(e);
            write_status::FAULT
        }
    }
}

/// Executes one instruction with the interpreter; returns an [`interp_status`].
/// The generated code has stored the state (EIP at the instruction, the budget
/// counting it) before the call.
extern "C" fn interp(cpu: *mut Cpu, ins: *const Instruction) -> u32 {
    // SAFETY: see the module documentation; `ins` points into the block being
    // executed, which the run loop keeps alive.
    let (cpu, ins) = unsafe { (&mut *cpu, &*ins) };
    cpu.sync_clock_from_jit();
    interpret(cpu, ins)
}

/// Runs `ins` in the interpreter (the state stored, the budget counting it)
/// and gives the budget left back to the generated code.
fn interpret(cpu: &mut Cpu, ins: &Instruction) -> u32 {
    let status = cpu.interpret_for_jit(ins);
    cpu.jit_env.budget = cpu.jit_env.icount_base.wrapping_sub(cpu.icount) as i64;
    status
}

/// Evaluates condition `cc` from the flags in `CpuState` (stored by the caller).
extern "C" fn condition(cpu: *mut Cpu, cc: u32) -> u32 {
    // SAFETY: see the module documentation.
    let cpu = unsafe { &*cpu };
    cpu.state.flags.condition(cc as u8) as u32
}

/// The mnemonics [`shift`] takes, by number.
pub(crate) const SHIFTS: [Mnemonic; 7] =
    [Mnemonic::Shl, Mnemonic::Shr, Mnemonic::Sar, Mnemonic::Rol, Mnemonic::Ror, Mnemonic::Rcl, Mnemonic::Rcr];

/// A shift or rotate (`SHIFTS[which]`, of a `size`-byte `value` by `count`)
/// as the interpreter does it: returns the result and leaves the flags in
/// `CpuState` (the caller stored the pending ones and writes the result).
extern "C" fn shift(cpu: *mut Cpu, which: u32, size: u32, value: u32, count: u32) -> u32 {
    // SAFETY: see the module documentation.
    let cpu = unsafe { &mut *cpu };
    let (r, flags) = cpu.shift_step(SHIFTS[which as usize], size, value, count);
    cpu.set_shift_flags(size, flags);
    r
}

/// Tells the tracer about the instruction about to run (state stored by the caller).
extern "C" fn trace(cpu: *mut Cpu, ins: *const Instruction) {
    // SAFETY: as for `interp`.
    let (cpu, ins) = unsafe { (&mut *cpu, &*ins) };
    if let Some(t) = cpu.tracer.as_mut() {
        t.before_instruction(&cpu.state, ins);
    }
}

/// A helper declared in a module, as a function that calls it imports it:
/// what `Module::declare_func_in_func` reads from the module, kept apart
/// from it so that IR can be built on the compile thread.
#[derive(Clone, Debug)]
pub(crate) struct Import {
    id: FuncId,
    signature: Signature,
    colocated: bool,
}

impl Import {
    /// Imports the helper into `func` (as `Module::declare_func_in_func` does).
    pub(crate) fn declare_in(&self, func: &mut Function) -> FuncRef {
        let signature = func.import_signature(self.signature.clone());
        let name = func
            .declare_imported_user_function(ir::UserExternalName { namespace: 0, index: self.id.as_u32() });
        func.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature,
            colocated: self.colocated,
            patchable: false,
        })
    }
}

/// What the emitter needs of the module: the target's pointer type and
/// the helpers (read, write, interp, condition, shift, trace).
#[derive(Clone)]
pub(crate) struct Imports {
    pub frontend: TargetFrontendConfig,
    pub helpers: [Import; 6],
}

const READ: &str = "vemu_jit_read";
const WRITE: &str = "vemu_jit_write";
const INTERP: &str = "vemu_jit_interp";
const CONDITION: &str = "vemu_jit_condition";
const SHIFT: &str = "vemu_jit_shift";
const TRACE: &str = "vemu_jit_trace";

/// Makes the helpers known to the JIT's linker.
pub(crate) fn register(builder: &mut JITBuilder) {
    builder.symbol(READ, read as *const u8);
    builder.symbol(WRITE, write as *const u8);
    builder.symbol(INTERP, interp as *const u8);
    builder.symbol(CONDITION, condition as *const u8);
    builder.symbol(SHIFT, shift as *const u8);
    builder.symbol(TRACE, trace as *const u8);
}

/// Declares the helpers in `module`.
pub(crate) fn declare(module: &mut JITModule) -> Result<Imports, JitError> {
    let ptr = module.target_config().pointer_type();
    let mut decl = |name: &str, params: &[types::Type], ret: Option<types::Type>| {
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(ptr));
        for p in params {
            sig.params.push(AbiParam::new(*p));
        }
        if let Some(r) = ret {
            sig.returns.push(AbiParam::new(r));
        }
        let id = module
            .declare_function(name, Linkage::Import, &sig)
            .map_err(|e| JitError(format!("declaring {name}: {e}")))?;
        let colocated = module.declarations().get_function_decl(id).linkage.is_final();
        Ok(Import { id, signature: sig, colocated })
    };
    let i32t = types::I32;
    let helpers = [
        decl(READ, &[i32t, i32t, i32t, i32t, ptr], Some(types::I64))?,
        decl(WRITE, &[i32t, i32t, i32t, i32t, ptr], Some(i32t))?,
        decl(INTERP, &[ptr], Some(i32t))?,
        decl(CONDITION, &[i32t], Some(i32t))?,
        decl(SHIFT, &[i32t, i32t, i32t, i32t], Some(i32t))?,
        decl(TRACE, &[ptr], None)?,
    ];
    Ok(Imports { frontend: module.target_config(), helpers })
}
