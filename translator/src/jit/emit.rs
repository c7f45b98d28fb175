//! Cranelift IR for one region of guest code.
//!
//! The emitter walks the region's blocks and their instructions. The general
//! registers a region uses, EFLAGS (in the lazy form of `crate::flags`) and the
//! instruction budget are Cranelift variables, loaded from the state at entry;
//! the ones the region may change go back at every exit, before every helper
//! call and on every fault path. An instruction only changes variables after all
//! of its memory accesses succeeded, so a fault path stores exactly the state
//! after the previous instruction. The same rule lets a slow path whose access
//! would reach a device or translated code hand the whole instruction to the
//! interpreter and leave (`helpers::read`): no access returns to generated code
//! with anything left to check. A branch to a block of the region is a jump
//! inside the function, so loops keep the guest registers in host registers.
//! The baseline tier keeps the general registers in the state instead (each
//! use loads, each definition stores: by the rule above, the state is the
//! same at every exit), which keeps its exits and slow paths short.
//! Within a block the emitter also remembers which operation set the flags
//! (`Known`), so conditions and carries are computed straight from its operands
//! without materializing EFLAGS.

use std::collections::HashMap;
use std::mem::offset_of;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block as IrBlock, FuncRef, Function, InstBuilder, JumpTableData, MemFlagsData, SigRef, Type, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use iced_x86::{Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register};
use vemu_decoder::{ends_block, Block};

use super::helpers::{self, interp_status, read_status, write_status};
use super::{
    block_signature, env_offset, status, HotCounter, Imports, JitError, JmpEntry, JMP_CACHE_ENTRIES,
};
use crate::cpu::Cpu;
use crate::flags::{op, Flags};
use crate::interp::{addr16, data::cc_nibble, mask, reg_size, seg_of};
use crate::state::{fl, reg, CpuState, Seg, Segment};

/// What a translation depends on besides the code bytes (all part of the block key).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mode {
    /// 16 or 32: EIP wraps at 64 KiB in 16-bit code.
    pub bitness: u32,
    /// SS.B: pushes and pops move ESP (or only SP).
    pub stack32: bool,
    /// CPL 3: accesses use the user TLB set.
    pub user: bool,
    /// Call the tracer before every instruction.
    pub traced: bool,
    /// ES, SS and DS are flat (base 0, limit 4 GiB, readable and writable):
    /// accesses through them need no segment arithmetic nor limit check.
    pub flat: bool,
    /// The CS limit: direct transfers to targets within it need no check at
    /// run time (the translation only runs under a limit covering its extent).
    pub cs_limit: u32,
    /// The block key's mode bits (for the jump cache).
    pub key: u32,
    /// `CpuConfig::jit_defect`: emit a wrong inline ADD (tests only).
    pub defect: bool,
    /// The CPU model has CMOVcc (else it goes to the interpreter, for #UD).
    pub cmov: bool,
    /// The model has SSE2 (LFENCE, MFENCE; and SSE for SFENCE).
    pub sse2: bool,
    /// The model has a time-stamp counter (RDTSC).
    pub tsc: bool,
}

const TLB_ENTRY_SIZE: i64 = std::mem::size_of::<vemu_softmmu::TlbEntry>() as i64;
const _: () = assert!(TLB_ENTRY_SIZE.count_ones() == 1, "TLB entries are a power of two in size");
const TLB_READ_TAG: i32 = offset_of!(vemu_softmmu::TlbEntry, read_tag) as i32;
const TLB_WRITE_TAG: i32 = offset_of!(vemu_softmmu::TlbEntry, write_tag) as i32;
const TLB_ADDEND: i32 = offset_of!(vemu_softmmu::TlbEntry, addend) as i32;
/// The supervisor TLB set's first entry, inside the `Cpu`; the user set
/// follows it. A translation knows its privilege level (`Mode::user`), so
/// its probes address their set at a constant offset from the `Cpu`
/// pointer, without loading a pointer to it first.
const TLB_SETS: i32 = (offset_of!(Cpu, mem)
    + offset_of!(vemu_softmmu::Memory, tlb)
    + offset_of!(vemu_softmmu::Tlb, sets)
    + offset_of!(vemu_softmmu::TlbSet, entries)) as i32;
const TLB_SET_SIZE: i32 = std::mem::size_of::<vemu_softmmu::TlbSet>() as i32;
const JMP_ENTRY_SIZE: i64 = std::mem::size_of::<JmpEntry>() as i64;
const _: () = assert!(JMP_ENTRY_SIZE.count_ones() == 1, "jump cache entries are a power of two in size");
const JMP_KEY: i32 = offset_of!(JmpEntry, key) as i32;
const JMP_EIP: i32 = offset_of!(JmpEntry, eip) as i32;
const JMP_CODE: i32 = offset_of!(JmpEntry, code) as i32;

/// Generated code reaches the CPU state and the JIT environment through the one
/// `Cpu` pointer it gets: at these offsets.
const STATE: i32 = offset_of!(Cpu, state) as i32;
const ENV: i32 = offset_of!(Cpu, jit_env) as i32;

const ST_REGS: i32 = STATE + offset_of!(CpuState, regs) as i32;
const ST_TSC_OFFSET: i32 = STATE + offset_of!(CpuState, tsc_offset) as i32;
/// The clock (`Cpu::now`).
const CPU_WARP: i32 = offset_of!(Cpu, warp) as i32;
const CPU_RATE: i32 = offset_of!(Cpu, rate) as i32;
const CPU_RATE_BASE: i32 = offset_of!(Cpu, rate_base) as i32;
const ST_EIP: i32 = STATE + offset_of!(CpuState, eip) as i32;
const ST_FLAGS: i32 = STATE + offset_of!(CpuState, flags) as i32;
const FL_BITS: i32 = ST_FLAGS + offset_of!(Flags, bits) as i32;
const FL_OP: i32 = ST_FLAGS + offset_of!(Flags, op) as i32;
const FL_RES: i32 = ST_FLAGS + offset_of!(Flags, res) as i32;
const FL_SRC1: i32 = ST_FLAGS + offset_of!(Flags, src1) as i32;
const FL_SRC2: i32 = ST_FLAGS + offset_of!(Flags, src2) as i32;
const ST_CS_LIMIT: i32 = STATE
    + (offset_of!(CpuState, segs)
        + Seg::CS as usize * std::mem::size_of::<Segment>()
        + offset_of!(Segment, limit)) as i32;

fn mf() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The operation that last set the flags in this block, with its operands.
#[derive(Copy, Clone)]
struct Known {
    /// `op::*` kind | size code.
    op: u32,
    res: Value,
    src1: Value,
    src2: Value,
}

/// Where a memory operand is: segment register index and offset.
struct Addr {
    seg: u32,
    offset: Value,
    /// After the read half of a read-modify-write: whether its probe (of the
    /// write tag) hit, and the host address; the write half uses them
    /// instead of probing again (nothing in between touches the TLB).
    probed: Option<(Value, Value)>,
    /// The operand as written (for the accesses the emitter remembers).
    key: Option<MemKey>,
}

/// A memory operand as the instruction names it: segment, base and index
/// registers (each with the count of its definitions so far, so that a
/// register changed in between makes another operand), scale, displacement
/// and address size. Two accesses with the same key in one guest block, with
/// no register of it redefined in between, reach the same linear address.
#[derive(Copy, Clone, PartialEq, Eq)]
struct MemKey {
    seg: u32,
    base: Option<(usize, u32)>,
    index: Option<(usize, u32, u32)>,
    disp: u32,
    addr16: bool,
}

/// A value the emitter knows memory holds: the last `size` bytes loaded
/// from, or stored to, the operand `key` (zero-extended).
#[derive(Copy, Clone)]
struct Remembered {
    key: MemKey,
    size: u32,
    value: Value,
}

/// Most accesses remembered at once (the oldest is forgotten first).
const REMEMBERED: usize = 8;

/// A TLB probe that serves several accesses of a guest block: those through
/// the same registers (a [`MemKey`] without its displacement), all reads or
/// all writes, within `lo..=hi` of the registers' sum. Its one check covers
/// the whole range: a hit means all of it lies in one page, mapped for the
/// access, at `addend` (host address minus linear address; 0 for a miss,
/// which the code tests with one register: a hit whose addend were 0 would
/// only take the slow path). A 32-bit kernel's locals at `[ebp-...]` are the case
/// it serves: one check for a function's loads from its frame, one for its
/// stores, instead of one at each access.
///
/// An access it covers needs no probe of its own while nothing could have
/// changed the TLB's mapping: no call but a memory helper's (which reads or
/// writes plain memory, else the code leaves), and the registers unchanged
/// (their definition counts are in the key). A miss proves nothing about the
/// access itself (the range may cross a page its bytes do not): each access
/// then probes alone, on its cold path.
#[derive(Copy, Clone)]
struct SharedProbe {
    key: MemKey,
    write: bool,
    lo: i64,
    hi: i64,
    addend: Value,
}

/// Most shared probes kept at once (the oldest is dropped first).
const SHARED_PROBES: usize = 8;
/// The widest range one probe covers: far below a page, so that a frame
/// rarely straddles a page boundary and misses every time.
const SHARED_SPAN: i64 = 512;
/// How far ahead in the block the emitter looks for accesses to share a probe with.
const SHARED_LOOKAHEAD: usize = 32;

/// The general registers a region touches. Only these live in variables:
/// `used` ones are loaded at entry and after every helper that may change the
/// state, `written` ones are stored back at exits and before helpers. Whatever
/// else the state holds, the region never reads nor writes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Usage {
    /// Bit i: general register i (EAX..EDI) is read or written.
    regs_used: u8,
    /// Bit i: general register i may be written.
    regs_written: u8,
}

/// Flags set in this block and not yet written to the state's lazy record:
/// its fields as values; `bits` only if INC/DEC changed its CF.
#[derive(Copy, Clone)]
struct Pending {
    op: Value,
    res: Value,
    src1: Value,
    src2: Value,
    bits: Option<Value>,
}

impl Usage {
    /// What the instructions of `blocks` touch, from iced-x86's instruction info
    /// (explicit and implicit operands, the stack pointer of PUSH/POP/CALL/RET).
    fn of(blocks: &[&Block]) -> Usage {
        let mut info = InstructionInfoFactory::new();
        let mut u = Usage::default();
        for ins in blocks.iter().flat_map(|b| b.insns.iter()) {
            for used in info.info(ins).used_registers() {
                let Some(i) = gpr_index(used.register()) else { continue };
                u.regs_used |= 1 << i;
                if writes_register(used.access()) {
                    u.regs_written |= 1 << i;
                }
            }
        }
        u
    }
}

/// AL, AX or EAX, by operand size in bytes.
fn accumulator(size: u32) -> Register {
    match size {
        1 => Register::AL,
        2 => Register::AX,
        _ => Register::EAX,
    }
}

/// Index (EAX=0 .. EDI=7) of the 32-bit register holding general register `r`.
fn gpr_index(r: Register) -> Option<usize> {
    if !r.is_gpr() {
        return None;
    }
    let i = (r.full_register32() as usize).wrapping_sub(Register::EAX as usize);
    (i < 8).then_some(i)
}

struct Emitter<'a, 'b> {
    b: FunctionBuilder<'a>,
    ptr: Type,
    regs: [Variable; 8],
    budget: Variable,
    usage: Usage,
    known: Option<Known>,
    /// Flags to write to the state at the next exit, helper call or jump to
    /// another block (within a block, EFLAGS stay in values, not in memory).
    pending: Option<Pending>,
    h_read: FuncRef,
    h_write: FuncRef,
    h_interp: FuncRef,
    h_cond: FuncRef,
    h_shift: FuncRef,
    h_trace: FuncRef,
    block_sig: SigRef,
    mode: Mode,
    /// Host addresses of the exits' link slots, taken in order.
    slots: &'b [usize],
    next_slot: usize,
    /// The first Cranelift block of each guest block of the region, by EIP.
    heads: HashMap<u32, IrBlock>,
    /// How many ways lead into each head (the entry counts for the first).
    preds: HashMap<u32, usize>,
    /// The flags a head with one way in starts with: those of the jump to it,
    /// which dominates it, so they need not go through memory.
    carried: HashMap<u32, (Option<Known>, Option<Pending>)>,
    /// Jumps emitted to each head (checked against `preds`).
    jumps: HashMap<u32, usize>,
    /// Heads emitted so far.
    emitted: std::collections::HashSet<u32>,
    /// Why this translation must not be used, if the emitter found itself
    /// out of step with its own bookkeeping.
    invalid: Option<String>,
    /// The instruction being emitted.
    ins: &'b Instruction,
    /// Instructions of the current block after the one being emitted.
    left_in_block: usize,
    /// A baseline translation's run counter, counted at the head of its
    /// first block, `root`.
    /// (Only baseline translations have one.)
    hot: Option<HotCounter>,
    root: u32,
    /// The `Cpu` pointer read from the pinned register in the current block
    /// since its last call, for the block's other loads and stores of state.
    cpu_here: Option<(IrBlock, Value)>,
    /// For an EFLAGS value `with_arith` made: the same without its six
    /// arithmetic flags (see `def_flags`).
    arith_free: HashMap<Value, Value>,
    /// Definitions of each general register so far (see [`MemKey`]).
    reg_defs: [u32; 8],
    /// What memory holds at operands loaded or stored earlier in the current
    /// guest block (see [`Emitter::load`]).
    remembered: Vec<Remembered>,
    /// The current guest block's probes that serve more than one access.
    shared: Vec<SharedProbe>,
    /// The current guest block's instructions after the one being emitted.
    rest: &'b [Instruction],
    /// For the look ahead of [`Emitter::shared_probe`].
    info: InstructionInfoFactory,
    /// The region's shared ways out, created at their first use and filled
    /// in at the end (see [`Exits`]).
    exits: Exits,
}

/// Code the region's exits share, one copy each, instead of one at every
/// exit: the IR the compiler works through is smaller, and with it the
/// compile time (most regions are a dozen guest instructions, with a few
/// memory accesses and exits each; in a Linux boot, the compile thread's
/// time fell by 6%).
#[derive(Default)]
struct Exits {
    /// Returns to the run loop with status `OK` and `FAULT` ([`Emitter::ret`]).
    ret: [Option<IrBlock>; 2],
    /// A memory helper asked to leave: its parameter is whether it faulted.
    helper: Option<IrBlock>,
    /// The jump cache's lookup ([`Emitter::through_jump_cache`]): EIP and
    /// the link slot to report.
    jump_cache: Option<IrBlock>,
}

// A helper's fault and other reasons to leave are the two highest values it
// returns, so that one comparison sees both; and whether it faulted is the
// status the region returns.
const _: () = assert!(read_status::INTERPRETED + 1 == read_status::FAULT);
const _: () = assert!(write_status::OK == 0 && write_status::FAULT == 1 && write_status::INTERPRETED == 2);
const _: () = assert!(status::OK == 0 && status::FAULT == 1);

/// What one translation covers.
pub(crate) struct Source<'s, 'b> {
    /// The region's blocks, entry block first; every other block starts on
    /// the entry's page.
    pub blocks: &'s [&'b Block],
    pub mode: Mode,
    /// The host addresses of its exits' link slots (see
    /// [`vemu_block_cache::Links`]), which
    /// the code reads its targets from.
    pub slots: &'b [usize],
    /// In the baseline tier: the counter its runs go to (else optimised).
    pub baseline: Option<HotCounter>,
}

/// Emits the translation of `src` into `func`, whose signature and name the
/// caller set. It needs nothing of the module but `imports`, so that it can
/// run on the compile thread.
pub(crate) fn emit_region(
    imports: &Imports,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    src: Source,
) -> Result<(), JitError> {
    let Source { blocks, mode, slots, baseline } = src;
    let ptr = imports.frontend.pointer_type();
    let [h_read, h_write, h_interp, h_cond, h_shift, h_trace] =
        imports.helpers.each_ref().map(|h| h.declare_in(func));
    let mut b = FunctionBuilder::new(func, fctx);
    let block_sig = b.import_signature(block_signature());
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);

    let regs = std::array::from_fn(|_| b.declare_var(types::I32));
    let budget = b.declare_var(types::I64);
    let mut heads = HashMap::new();
    for blk in blocks {
        heads.entry(blk.eip).or_insert_with(|| b.create_block());
    }
    let mut preds = HashMap::from([(blocks[0].eip, 1)]);
    let mut seen = std::collections::HashSet::new();
    for blk in blocks.iter().filter(|b| seen.insert(b.eip)) {
        for t in super::region::successors(blk).into_iter().filter(|t| heads.contains_key(t)) {
            *preds.entry(t).or_insert(0) += 1;
        }
    }
    let mut e = Emitter {
        b,
        ptr,
        regs,
        budget,
        usage: Usage::of(blocks),
        known: None,
        pending: None,
        h_read,
        h_write,
        h_interp,
        h_cond,
        h_shift,
        h_trace,
        block_sig,
        mode,
        slots,
        next_slot: 0,
        heads,
        preds,
        carried: HashMap::new(),
        jumps: HashMap::new(),
        emitted: std::collections::HashSet::new(),
        invalid: None,
        ins: &blocks[0].insns[0],
        left_in_block: 0,
        hot: baseline,
        root: blocks[0].eip,
        cpu_here: None,
        arith_free: HashMap::new(),
        reg_defs: [0; 8],
        remembered: Vec::new(),
        shared: Vec::new(),
        rest: &[],
        info: InstructionInfoFactory::new(),
        exits: Exits::default(),
    };
    let bud = e.ld(types::I64, ENV + env_offset::BUDGET);
    e.b.def_var(budget, bud);
    e.load_state();
    e.b.ins().jump(e.heads[&blocks[0].eip], &[]);
    for (n, blk) in blocks.iter().enumerate() {
        if blocks[..n].iter().any(|o| o.eip == blk.eip) {
            continue;
        }
        e.block(blk);
    }
    if !e.jumps.iter().all(|(eip, n)| e.preds.get(eip).copied().unwrap_or(0) >= *n) {
        e.invalid.get_or_insert_with(|| "jumps between blocks the region did not count".to_string());
    }
    e.shared_exits();
    e.b.seal_all_blocks();
    e.b.finalize(imports.frontend);
    // A translation that broke the emitter's own bookkeeping would be wrong
    // code: the block stays with the interpreter instead (and debug builds,
    // the tests, stop right here).
    match e.invalid {
        Some(why) => {
            debug_assert!(false, "{why}");
            Err(JitError(why))
        }
        None => Ok(()),
    }
}

impl<'b> Emitter<'_, 'b> {
    /// Emits one guest block from its head: the budget check, then its instructions.
    fn block(&mut self, blk: &'b Block) {
        let insns: &'b [Instruction] = &blk.insns;
        let head = self.heads[&blk.eip];
        self.b.switch_to_block(head); // sealed at the end: loops jump back to it
        (self.known, self.pending) = self.carried.remove(&blk.eip).unwrap_or((None, None));
        // (Values of another block do not reach this one.)
        self.remembered.clear();
        self.shared.clear();
        self.emitted.insert(blk.eip);
        if let Some(hot) = self.hot.filter(|_| blk.eip == self.root) {
            self.count_run(hot, blk.eip);
        }
        // Not enough budget left for the whole block: back to the run loop,
        // before it (which interprets up to the exact end).
        let left = self.b.use_var(self.budget);
        let spent = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, insns.len() as i64);
        let at = self.iconst(blk.eip);
        self.leave_if(spent, at);
        let last = insns.len() - 1;
        for (i, ins) in insns.iter().enumerate() {
            self.ins = ins;
            self.rest = &insns[i + 1..];
            self.left_in_block = last - i;
            let left = self.b.use_var(self.budget);
            let left = self.b.ins().iadd_imm_s(left, -1);
            self.b.def_var(self.budget, left);
            if self.mode.traced {
                self.store_state_eip(ins.ip32());
                let p = self.insn_ptr();
                let c = self.cpu();
                self.call_helper(self.h_trace, &[c, p]);
            }
            if self.instruction() {
                return;
            }
            if i == last {
                // The block stops before its next instruction (page, cap, fetch):
                // go on there.
                let next = self.next_eip();
                self.exit_direct(next);
            }
        }
    }

    /// Counts a pass through the region's first block at `eip` (an entry or
    /// a turn of one of its loops); once the count reaches the threshold,
    /// leaves before the block, for the run loop to compile the region again.
    fn count_run(&mut self, hot: HotCounter, eip: u32) {
        let at = self.b.ins().iconst(self.ptr, hot.addr as i64);
        let runs = self.b.ins().load(types::I32, mf(), at, 0);
        let runs = self.b.ins().iadd_imm_s(runs, 1);
        self.b.ins().store(mf(), runs, at, 0);
        let due = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, runs, hot.threshold as i64);
        let at = self.iconst(eip);
        self.leave_if(due, at);
    }

    /// If `cond`: back to the run loop (a cold path) with the state stored
    /// for `eip`; else on in a fresh block.
    fn leave_if(&mut self, cond: Value, eip: Value) {
        self.out_if(cond, |e| {
            e.store_state(eip);
            e.ret(status::OK);
        });
    }

    /// If `cond`: `out`, in a cold block that must end the path; else on in
    /// a fresh block.
    fn out_if(&mut self, cond: Value, out: impl FnOnce(&mut Self)) {
        let leave = self.b.create_block();
        let go_on = self.b.create_block();
        self.b.ins().brif(cond, leave, &[], go_on, &[]);
        self.enter(leave);
        self.b.set_cold_block(leave);
        out(self);
        self.enter(go_on);
    }

    // ---- state ----------------------------------------------------------------------

    /// The `Cpu`, which generated code keeps in the pinned register (see
    /// `Jit::trampoline`): never spilled, kept across helper calls.
    ///
    /// One read serves a Cranelift block until its next call: the value then
    /// lives no longer than the register does, and an exit's dozen stores
    /// need one register move, not a dozen.
    fn cpu(&mut self) -> Value {
        let here = self.b.current_block();
        match self.cpu_here {
            Some((blk, v)) if Some(blk) == here => v,
            _ => {
                let v = self.b.ins().get_pinned_reg(self.ptr);
                self.cpu_here = here.map(|blk| (blk, v));
                v
            }
        }
    }

    /// Calls `f` with `args` (the `Cpu` first): the pinned register is read
    /// afresh after it.
    fn call_helper(&mut self, f: FuncRef, args: &[Value]) -> cranelift_codegen::ir::Inst {
        if f != self.h_read {
            // It may write memory (the read helper only reads plain memory,
            // or interprets the instruction and the code leaves).
            self.remembered.clear();
        }
        if f != self.h_read && f != self.h_write {
            // It may change the TLB's mappings (the memory helpers only read
            // or write plain memory, or the code leaves).
            self.shared.clear();
        }
        let call = self.b.ins().call(f, args);
        self.cpu_here = None;
        call
    }

    /// Loads a `ty` at offset `off` in the `Cpu`.
    fn ld(&mut self, ty: Type, off: i32) -> Value {
        let cpu = self.cpu();
        self.b.ins().load(ty, mf(), cpu, off)
    }

    /// Stores `v` at offset `off` in the `Cpu`.
    fn st(&mut self, v: Value, off: i32) {
        let cpu = self.cpu();
        self.b.ins().store(mf(), v, cpu, off);
    }

    /// Loads the registers the region uses (at entry, and after a helper that
    /// may have changed them); the flags are in the state from then on.
    fn load_state(&mut self) {
        self.reload_after_call();
        self.known = None;
        self.pending = None;
    }

    /// Writes the pending flags to the state (on the current path; they stay
    /// pending for the code emitted after it).
    fn store_flags(&mut self) {
        if let Some(p) = self.pending {
            for (v, off) in [(p.op, FL_OP), (p.res, FL_RES), (p.src1, FL_SRC1), (p.src2, FL_SRC2)] {
                self.st(v, off);
            }
            if let Some(bits) = p.bits {
                self.st(bits, FL_BITS);
            }
        }
    }

    fn store_budget(&mut self) {
        let left = self.b.use_var(self.budget);
        self.st(left, ENV + env_offset::BUDGET);
    }

    /// Stores what the region may have changed (registers, flags, the budget)
    /// and `eip`.
    fn store_state(&mut self, eip: Value) {
        self.store_regs_and_flags();
        self.st(eip, ST_EIP);
        self.store_budget();
    }

    /// Stores the registers the region may have changed and the pending flags.
    fn store_regs_and_flags(&mut self) {
        let in_vars = if self.regs_in_memory() { 0 } else { self.usage.regs_written };
        for i in 0..8 {
            if in_vars & (1 << i) != 0 {
                let x = self.b.use_var(self.regs[i]);
                self.st(x, ST_REGS + 4 * i as i32);
            }
        }
        self.store_flags();
    }

    /// After a helper call that left the registers as they were (the state
    /// holds them): takes them from the state again, so that no register value
    /// lives across the call and the hot path keeps its host registers.
    fn reload_after_call(&mut self) {
        if self.regs_in_memory() {
            return;
        }
        for i in 0..8 {
            if self.usage.regs_used & (1 << i) != 0 {
                let x = self.ld(types::I32, ST_REGS + 4 * i as i32);
                self.b.def_var(self.regs[i], x);
            }
        }
    }

    fn store_state_eip(&mut self, eip: u32) {
        let e = self.b.ins().iconst(types::I32, eip as i64);
        self.store_state(e);
    }

    /// Reloads the budget after a helper that may have run instructions.
    fn load_budget(&mut self) {
        let x = self.ld(types::I64, ENV + env_offset::BUDGET);
        self.b.def_var(self.budget, x);
    }

    fn next_eip(&self) -> u32 {
        let m = if self.mode.bitness == 16 { 0xffff } else { u32::MAX };
        (self.ins.next_ip() as u32) & m
    }

    fn insn_ptr(&mut self) -> Value {
        self.b.ins().iconst(self.ptr, self.ins as *const Instruction as i64)
    }

    fn iconst(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, v as i32 as i64)
    }

    // ---- exits ------------------------------------------------------------------------

    /// Leaves with the state stored and status `s` (no link), through the
    /// region's shared return for `s`.
    fn ret(&mut self, s: u32) {
        let i = s as usize;
        let blk = *self.exits.ret[i].get_or_insert_with(|| self.b.create_block());
        self.b.ins().jump(blk, &[]);
    }

    /// Fills in the shared exits the region used.
    fn shared_exits(&mut self) {
        for (s, blk) in [status::OK, status::FAULT].into_iter().zip(self.exits.ret) {
            if let Some(blk) = blk {
                self.enter(blk);
                self.b.set_cold_block(blk);
                let st = self.b.ins().iconst(types::I32, s as i64);
                self.leave_with(st);
            }
        }
        if let Some(blk) = self.exits.helper {
            self.enter(blk);
            self.b.set_cold_block(blk);
            let faulted = self.b.block_params(blk)[0];
            let st = self.b.ins().uextend(types::I32, faulted);
            self.leave_with(st);
        }
        if let Some(blk) = self.exits.jump_cache {
            self.enter(blk);
            let &[eip, slot] = self.b.block_params(blk) else { unreachable!("two parameters") };
            self.jump_cache_lookup(eip, slot);
        }
    }

    /// Returns `st` to the run loop, no exit taken.
    fn leave_with(&mut self, st: Value) {
        let zero = self.b.ins().iconst(self.ptr, 0);
        self.st(zero, ENV + env_offset::EXIT_SLOT);
        self.b.ins().return_(&[st]);
    }

    /// Goes on at `eip`: a jump when it starts a block of the region, else out
    /// through the next link slot, which jumps straight into the target's
    /// translation once linked; without a link, through the jump cache.
    fn exit_direct(&mut self, eip: u32) {
        if let Some(&head) = self.heads.get(&eip) {
            *self.jumps.entry(eip).or_insert(0) += 1;
            // (Only while the head is still to be emitted: it then starts from
            // what is carried, not from the state.)
            if self.preds.get(&eip) == Some(&1)
                && !self.emitted.contains(&eip)
                && !self.carried.contains_key(&eip)
            {
                self.carried.insert(eip, (self.known, self.pending));
            } else {
                self.store_flags();
            }
            self.b.ins().jump(head, &[]);
            return;
        }
        self.store_state_eip(eip);
        let slot = self.next_slot;
        if slot >= self.slots.len() {
            let ev = self.iconst(eip);
            let none = self.b.ins().iconst(self.ptr, 0);
            self.through_jump_cache(ev, none);
            return;
        }
        self.next_slot += 1;
        let addr = self.slots[slot];
        let slot_ptr = self.b.ins().iconst(self.ptr, addr as i64);
        let target = self.b.ins().load(self.ptr, mf(), slot_ptr, 0);
        let linked = self.b.create_block();
        let unlinked = self.b.create_block();
        self.b.ins().brif(target, linked, &[], unlinked, &[]);
        self.enter(linked);
        self.b.ins().return_call_indirect(self.block_sig, target, &[]);
        self.enter(unlinked);
        let ev = self.iconst(eip);
        self.through_jump_cache(ev, slot_ptr);
    }

    /// Leaves for a computed EIP (returns, indirect jumps).
    fn exit_indirect(&mut self, eip: Value) {
        self.store_state(eip);
        let none = self.b.ins().iconst(self.ptr, 0);
        self.through_jump_cache(eip, none);
    }

    /// With the state stored for `eip`: jumps into the translation the jump
    /// cache holds for it, or returns to the run loop with `slot` as the exit
    /// taken (0: none) so that it can link it. (Through the region's one
    /// copy of the lookup.)
    fn through_jump_cache(&mut self, eip: Value, slot: Value) {
        let blk = *self.exits.jump_cache.get_or_insert_with(|| {
            let blk = self.b.create_block();
            self.b.append_block_param(blk, types::I32);
            self.b.append_block_param(blk, self.ptr);
            blk
        });
        self.b.ins().jump(blk, &[eip.into(), slot.into()]);
    }

    /// [`Emitter::through_jump_cache`]'s lookup.
    fn jump_cache_lookup(&mut self, eip: Value, slot: Value) {
        let cs_base = self.ld(types::I32, ENV + env_offset::SEG_BASE + 4 * Seg::CS as i32);
        let lin = self.b.ins().iadd(cs_base, eip);
        // (JmpEntry::index)
        let page = self.b.ins().ushr_imm_s(lin, 12);
        let mixed = self.b.ins().bxor(lin, page);
        let idx = self.b.ins().band_imm_s(mixed, (JMP_CACHE_ENTRIES - 1) as i64);
        let idx = self.b.ins().uextend(self.ptr, idx);
        let off = self.b.ins().ishl_imm_s(idx, JMP_ENTRY_SIZE.trailing_zeros() as i64);
        let table = self.ld(self.ptr, ENV + env_offset::JMP_CACHE);
        let entry = self.b.ins().iadd(table, off);
        let key = self.b.ins().load(types::I64, mf(), entry, JMP_KEY);
        let lin64 = self.b.ins().uextend(types::I64, lin);
        let want = self.b.ins().bor_imm_s(lin64, (self.mode.key as i64) << 32);
        let key_hit = self.b.ins().icmp(IntCC::Equal, key, want);
        let cached_eip = self.b.ins().load(types::I32, mf(), entry, JMP_EIP);
        let eip_hit = self.b.ins().icmp(IntCC::Equal, cached_eip, eip);
        let hit = self.b.ins().band(key_hit, eip_hit);
        let go = self.b.create_block();
        let back = self.b.create_block();
        self.b.ins().brif(hit, go, &[], back, &[]);
        self.enter(go);
        let code = self.b.ins().load(self.ptr, mf(), entry, JMP_CODE);
        self.b.ins().return_call_indirect(self.block_sig, code, &[]);
        self.enter(back);
        self.st(slot, ENV + env_offset::EXIT_SLOT);
        let st = self.b.ins().iconst(types::I32, status::OK as i64);
        self.b.ins().return_(&[st]);
    }

    /// Continues in a fresh Cranelift block (after a conditional exit).
    fn continue_in(&mut self, blk: IrBlock) {
        self.enter(blk);
    }

    /// Continues in `blk`, a block inside one guest instruction's code, all of
    /// whose predecessors are emitted already: it is sealed at once, which
    /// keeps Cranelift's SSA construction linear in long blocks (only the
    /// guest blocks' heads, which later code may jump back to, wait for the
    /// end).
    fn enter(&mut self, blk: IrBlock) {
        self.b.switch_to_block(blk);
        self.b.seal_block(blk);
    }

    // ---- registers ------------------------------------------------------------------------

    /// The baseline tier keeps the guest registers in the state: every use
    /// loads one, every definition stores it, and helper calls and exits
    /// have none to store or reload. (Its register allocator would spill
    /// them anyway; this keeps its slow paths and exits small.)
    fn regs_in_memory(&self) -> bool {
        self.hot.is_some()
    }

    /// The variable of general register `i` (which the region's usage lists).
    fn use_reg(&mut self, i: usize) -> Value {
        if self.usage.regs_used & (1 << i) == 0 {
            self.invalid
                .get_or_insert_with(|| format!("register {i} missing from the usage of {:?}", self.ins));
        }
        if self.regs_in_memory() {
            return self.ld(types::I32, ST_REGS + 4 * i as i32);
        }
        self.b.use_var(self.regs[i])
    }

    fn def_reg(&mut self, i: usize, v: Value) {
        self.reg_defs[i] = self.reg_defs[i].wrapping_add(1);
        if self.usage.regs_written & (1 << i) == 0 {
            self.invalid
                .get_or_insert_with(|| format!("register {i} missing from the writes of {:?}", self.ins));
        }
        if self.regs_in_memory() {
            return self.st(v, ST_REGS + 4 * i as i32);
        }
        self.b.def_var(self.regs[i], v);
    }

    fn get_reg(&mut self, r: Register) -> Value {
        let n = r as usize;
        match n {
            1..=8 => {
                let idx = (n - 1) & 3;
                let v = self.use_reg(idx);
                if n >= 5 {
                    let s = self.b.ins().ushr_imm_s(v, 8);
                    self.b.ins().band_imm_s(s, 0xff)
                } else {
                    self.b.ins().band_imm_s(v, 0xff)
                }
            }
            21..=28 => {
                let v = self.use_reg(n - 21);
                self.b.ins().band_imm_s(v, 0xffff)
            }
            _ => self.use_reg(n - 37),
        }
    }

    fn set_reg(&mut self, r: Register, v: Value) {
        let n = r as usize;
        match n {
            1..=8 => {
                let idx = (n - 1) & 3;
                let old = self.use_reg(idx);
                let byte = self.b.ins().band_imm_s(v, 0xff);
                let new = if n >= 5 {
                    let keep = self.b.ins().band_imm_s(old, !0xff00);
                    let sh = self.b.ins().ishl_imm_s(byte, 8);
                    self.b.ins().bor(keep, sh)
                } else {
                    let keep = self.b.ins().band_imm_s(old, !0xff);
                    self.b.ins().bor(keep, byte)
                };
                self.def_reg(idx, new);
            }
            21..=28 => {
                let old = self.use_reg(n - 21);
                let keep = self.b.ins().band_imm_s(old, !0xffff);
                let w = self.b.ins().band_imm_s(v, 0xffff);
                let new = self.b.ins().bor(keep, w);
                self.def_reg(n - 21, new);
            }
            _ => self.def_reg(n - 37, v),
        }
    }

    fn reg32(&mut self, i: usize) -> Value {
        self.use_reg(i)
    }

    // ---- memory -----------------------------------------------------------------------------

    /// The memory operand's segment and offset (wrapped to the address size).
    fn addr(&mut self) -> Addr {
        let ins = self.ins;
        let key = self.mem_key(ins);
        let mut a = self.iconst(ins.memory_displacement32());
        if ins.memory_base() != Register::None {
            let base = self.get_reg(ins.memory_base());
            a = self.b.ins().iadd(a, base);
        }
        if ins.memory_index() != Register::None {
            let idx = self.get_reg(ins.memory_index());
            let scaled = self.b.ins().ishl_imm_s(idx, ins.memory_index_scale().trailing_zeros() as i64);
            a = self.b.ins().iadd(a, scaled);
        }
        if addr16(ins) {
            a = self.b.ins().band_imm_s(a, 0xffff);
        }
        Addr { seg: seg_of(ins.memory_segment()) as u32, offset: a, probed: None, key }
    }

    /// The key of `ins`'s memory operand with the registers as they are now
    /// defined. A base or index that is not a general register (none in 16-
    /// and 32-bit code) leaves the operand without one.
    fn mem_key(&self, ins: &Instruction) -> Option<MemKey> {
        let reg = |r: Register| if r == Register::None { Some(None) } else { gpr_index(r).map(Some) };
        match (reg(ins.memory_base()), reg(ins.memory_index())) {
            (Some(base), Some(index)) => Some(MemKey {
                seg: seg_of(ins.memory_segment()) as u32,
                base: base.map(|i| (i, self.reg_defs[i])),
                index: index.map(|i| (i, self.reg_defs[i], ins.memory_index_scale())),
                disp: ins.memory_displacement32(),
                addr16: addr16(ins),
            }),
            _ => None,
        }
    }

    /// Whether segment `seg` is flat (base 0, no limit to check).
    fn flat(&self, seg: u32) -> bool {
        self.mode.flat && [Seg::ES, Seg::SS, Seg::DS].iter().any(|s| *s as u32 == seg)
    }

    /// The fast-path test of an access: in the segment's plain limit and a TLB
    /// hit; returns (ok, host address if ok).
    fn probe(&mut self, a: &Addr, size: u32, write: bool) -> (Value, Value) {
        let seg = a.seg as i32;
        let (lin, seg_ok) = if self.flat(a.seg) {
            // An access past 4 GiB wraps to another page: the TLB tag check
            // fails and the helper raises the fault.
            (a.offset, None)
        } else {
            let base = self.ld(types::I32, ENV + env_offset::SEG_BASE + 4 * seg);
            let lim_off = ENV + if write { env_offset::SEG_WRITE_LIMIT } else { env_offset::SEG_READ_LIMIT };
            let limit = self.ld(types::I64, lim_off + 8 * seg);
            let off64 = self.b.ins().uextend(types::I64, a.offset);
            let last = self.b.ins().iadd_imm_s(off64, size as i64 - 1);
            let seg_ok = self.b.ins().icmp(IntCC::SignedLessThanOrEqual, last, limit);
            (self.b.ins().iadd(base, a.offset), Some(seg_ok))
        };
        let lin_last = self.b.ins().iadd_imm_s(lin, size as i64 - 1);
        let (tlb_ok, addend) = self.tlb_probe(lin, lin_last, write);
        let ok = match seg_ok {
            Some(seg_ok) => self.b.ins().band(seg_ok, tlb_ok),
            None => tlb_ok,
        };
        let lin64 = self.b.ins().uextend(self.ptr, lin);
        let host = self.b.ins().iadd(addend, lin64);
        (ok, host)
    }

    /// Whether the TLB maps the linear addresses `first..=last` (less than a
    /// page apart) in one page for a read or a `write`; returns that and the
    /// entry's addend (host address minus linear address).
    fn tlb_probe(&mut self, first: Value, last: Value, write: bool) -> (Value, Value) {
        // The entry of `first`'s page, tagged with `last`'s page: they are
        // the same page, or the tag cannot match.
        let page = self.b.ins().band_imm_s(last, !0xfff);
        // The entry's offset in the TLB, ((first >> 12) % entries) * entry
        // size, in one shift and one mask.
        let shift = TLB_ENTRY_SIZE.trailing_zeros() as i64;
        let off = self.b.ins().ushr_imm_s(first, 12 - shift);
        let off = self.b.ins().band_imm_s(off, ((vemu_softmmu::TLB_ENTRIES - 1) << shift) as i64);
        let off = self.b.ins().uextend(self.ptr, off);
        let set = TLB_SETS + i32::from(self.mode.user) * TLB_SET_SIZE;
        let cpu = self.cpu();
        let entry = self.b.ins().iadd(cpu, off);
        let tag_at = set + if write { TLB_WRITE_TAG } else { TLB_READ_TAG };
        let tag = self.b.ins().load(types::I32, mf(), entry, tag_at);
        let ok = self.b.ins().icmp(IntCC::Equal, tag, page);
        let addend = self.b.ins().load(self.ptr, mf(), entry, set + TLB_ADDEND);
        (ok, addend)
    }

    /// A probe `a` shares with other accesses of the block (see
    /// [`SharedProbe`]): one made earlier that covers it, or a new one, made
    /// here, if accesses further on can share it. Returns its `addend`.
    fn shared_probe(&mut self, a: &Addr, size: u32, write: bool) -> Option<Value> {
        let key = a.key.filter(|k| !k.addr16 && self.flat(k.seg))?;
        let first = key.disp as i32 as i64;
        let last = first + size as i64 - 1;
        let key = MemKey { disp: 0, ..key };
        let covers = |p: &SharedProbe| p.key == key && p.write == write && p.lo <= first && last <= p.hi;
        if let Some(p) = self.shared.iter().find(|p| covers(p)) {
            return Some(p.addend);
        }
        let (lo, hi) = self.shared_range(key, write, first, last)?;
        let lin_lo = self.b.ins().iadd_imm_s(a.offset, lo - first);
        let lin_hi = self.b.ins().iadd_imm_s(a.offset, hi - first);
        let (ok, addend) = self.tlb_probe(lin_lo, lin_hi, write);
        // One value to keep, rather than the compare's two operands (the
        // compiler would compare again at every branch on its result).
        let zero = self.b.ins().iconst(self.ptr, 0);
        let addend = self.b.ins().select(ok, addend, zero);
        if self.shared.len() == SHARED_PROBES {
            self.shared.remove(0);
        }
        self.shared.push(SharedProbe { key, write, lo, hi, addend });
        Some(addend)
    }

    /// The range (displacements of the first and last bytes) a probe for
    /// the access to `first..=last` through `key` would cover: the accesses
    /// of the same kind through the same registers in the block's next
    /// instructions, up to the first that changes one of those registers
    /// (the current instruction's own changes included). None if no other
    /// access would share it.
    fn shared_range(&mut self, key: MemKey, write: bool, first: i64, last: i64) -> Option<(i64, i64)> {
        let regs = [key.base.map(|b| b.0), key.index.map(|x| x.0)];
        let (mut lo, mut hi) = (first, last);
        let mut shared = false;
        let rest = self.rest;
        for (n, ins) in std::iter::once(self.ins).chain(rest).take(SHARED_LOOKAHEAD).enumerate() {
            let info = self.info.info(ins);
            let access = memory_operand(ins).map_or(OpAccess::None, |i| info.op_access(i));
            let (writes, reads) = (is_write(access), is_read_only(access));
            let changes = changes_any(info, regs);
            if n > 0 && (writes && write || reads && !write) {
                if let Some(k) = self.mem_key(ins).filter(|k| MemKey { disp: 0, ..*k } == key) {
                    let d = k.disp as i32 as i64;
                    let (l, h) = (lo.min(d), hi.max(d + ins.memory_size().size() as i64 - 1));
                    if h - l < SHARED_SPAN {
                        (lo, hi, shared) = (l, h, true);
                    }
                }
            }
            if changes {
                break;
            }
        }
        shared.then_some((lo, hi))
    }

    /// Branches to the fast path of an access, `direct` (given the host
    /// address, it does the access and ends its block), if the TLB maps it,
    /// else to `slow`. A probe this access shares with others of its block
    /// decides for it; where it misses, the access probes alone (cold). Returns
    /// the access's own probe, if it made one on the hot path (for the write
    /// half of a read-modify-write).
    fn branch_to_fast_path(
        &mut self,
        a: &Addr,
        size: u32,
        write: bool,
        slow: IrBlock,
        direct: impl Fn(&mut Self, Value),
    ) -> Option<(Value, Value)> {
        let shared = if a.probed.is_some() { None } else { self.shared_probe(a, size, write) };
        let own = match shared {
            Some(addend) => {
                let fast = self.b.create_block();
                let alone = self.b.create_block();
                self.b.ins().brif(addend, fast, &[], alone, &[]);
                self.enter(fast);
                let lin64 = self.b.ins().uextend(self.ptr, a.offset);
                let host = self.b.ins().iadd(addend, lin64);
                direct(self, host);
                self.enter(alone);
                self.b.set_cold_block(alone);
                None
            }
            None => a.probed,
        };
        let (ok, host) = match own {
            Some(p) => p,
            None => self.probe(a, size, write),
        };
        let fast = self.b.create_block();
        self.b.ins().brif(ok, fast, &[], slow, &[]);
        self.enter(fast);
        if shared.is_some() {
            self.b.set_cold_block(fast);
        }
        direct(self, host);
        shared.is_none().then_some((ok, host))
    }

    /// Loads `size` bytes (zero-extended); `rmw` checks the access as a write.
    ///
    /// A load of an operand loaded or stored earlier in the guest block, with
    /// no other store, helper call or definition of its registers in between,
    /// takes the value it had then: the same linear address, the same size,
    /// and an access that succeeded there (a store's checks include a
    /// read's), so it can neither fault nor read anything else.
    fn load(&mut self, a: &mut Addr, size: u32, rmw: bool) -> Value {
        if let (Some(key), false) = (a.key, rmw) {
            if let Some(r) = self.remembered.iter().find(|r| r.key == key && r.size == size) {
                return r.value;
            }
        }
        let v = self.load_from_memory(a, size, rmw);
        if let Some(key) = a.key {
            self.remember(key, size, v);
        }
        v
    }

    /// Notes that memory holds `value` at operand `key` (`size` bytes).
    fn remember(&mut self, key: MemKey, size: u32, value: Value) {
        if self.remembered.len() == REMEMBERED {
            self.remembered.remove(0);
        }
        self.remembered.push(Remembered { key, size, value });
    }

    fn load_from_memory(&mut self, a: &mut Addr, size: u32, rmw: bool) -> Value {
        let slow = self.b.create_block();
        let done = self.b.create_block();
        let v = self.b.append_block_param(done, types::I32);
        let probed = self.branch_to_fast_path(a, size, rmw, slow, |e, host| {
            let x = match size {
                1 => e.b.ins().uload8(types::I32, mf(), host, 0),
                2 => e.b.ins().uload16(types::I32, mf(), host, 0),
                _ => e.b.ins().load(types::I32, mf(), host, 0),
            };
            e.b.ins().jump(done, &[x.into()]);
        });
        if rmw {
            a.probed = probed;
        }
        self.enter(slow);
        self.b.set_cold_block(slow);
        let rmw_v = self.iconst(rmw as u32);
        let r = self.memory_helper(
            self.h_read,
            a,
            size,
            rmw_v,
            [read_status::FAULT as i64, read_status::INTERPRETED as i64],
        );
        let r32 = self.b.ins().ireduce(types::I32, r);
        self.b.ins().jump(done, &[r32.into()]);
        self.enter(done);
        v
    }

    /// Stores `size` bytes.
    ///
    /// Memory remembered elsewhere may be what it writes: all is forgotten
    /// but the value it stores, which is remembered only where a later
    /// instruction of the block loads the operand. A load then takes the
    /// value without reading memory, so the store must go where reads see it
    /// (RAM; not a ROM, nothing, or video memory): its slow path asks the
    /// write helper so.
    fn store(&mut self, a: &Addr, size: u32, v: Value) {
        let read_back = a.key.is_some_and(|k| self.loaded_later(k, size));
        self.store_to_memory(a, size, v, read_back);
        self.remembered.clear();
        if let (Some(key), true) = (a.key, read_back) {
            let stored = if size < 4 { self.b.ins().band_imm_s(v, mask(size) as i64) } else { v };
            self.remember(key, size, stored);
        }
    }

    /// Whether an instruction after this one in the block loads `size` bytes
    /// of the operand `key` with nothing stored and the operand's registers
    /// unchanged in between (as [`Emitter::load`] would take a remembered value).
    fn loaded_later(&mut self, key: MemKey, size: u32) -> bool {
        let regs = [key.base.map(|b| b.0), key.index.map(|x| x.0)];
        let rest = self.rest;
        for ins in rest.iter().take(SHARED_LOOKAHEAD) {
            let operand_key = self.mem_key(ins);
            let info = self.info.info(ins);
            if memory_operand(ins).is_some_and(|i| is_read_only(info.op_access(i)))
                && operand_key == Some(key)
                && ins.memory_size().size() as u32 == size
            {
                return true;
            }
            if info.used_memory().iter().any(|m| is_write(m.access())) || changes_any(info, regs) {
                return false;
            }
        }
        false
    }

    fn store_to_memory(&mut self, a: &Addr, size: u32, v: Value, read_back: bool) {
        let slow = self.b.create_block();
        let done = self.b.create_block();
        self.branch_to_fast_path(a, size, true, slow, |e, host| {
            match size {
                1 => e.b.ins().istore8(mf(), v, host, 0),
                2 => e.b.ins().istore16(mf(), v, host, 0),
                _ => e.b.ins().store(mf(), v, host, 0),
            };
            e.b.ins().jump(done, &[]);
        });
        self.enter(slow);
        self.b.set_cold_block(slow);
        let flags = if read_back { write_status::READ_BACK } else { 0 };
        self.memory_helper(
            self.h_write,
            a,
            size | flags,
            v,
            [write_status::FAULT as i64, write_status::INTERPRETED as i64],
        );
        self.b.ins().jump(done, &[]);
        self.enter(done);
    }

    /// The slow path of a load or store: with the state stored, calls `helper`
    /// (the read or write helper: Cpu, segment, offset, size, `last`, the
    /// instruction) and leaves the region if it returned `fault` (an
    /// exception was delivered) or `interpreted` (the access would have
    /// reached a device or code, and the interpreter ran the instruction
    /// instead: no interrupt or stale code can be chained past); else takes
    /// the registers from the state again and returns its result.
    fn memory_helper(
        &mut self,
        helper: FuncRef,
        a: &Addr,
        size: u32,
        last: Value,
        [fault, interpreted]: [i64; 2],
    ) -> Value {
        self.store_state_eip(self.ins.ip32());
        let seg = self.iconst(a.seg);
        let sz = self.iconst(size);
        let c = self.cpu();
        let ins = self.insn_ptr();
        let call = self.call_helper(helper, &[c, seg, a.offset, sz, last, ins]);
        let r = self.b.inst_results(call)[0];
        // Still the slow path: placed with the cold code, out of the hot
        // path's way. `fault` and `interpreted` are the two highest values
        // the helper returns, and `fault` is one of them.
        let leave = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, r, fault.min(interpreted));
        let faulted = self.b.ins().icmp_imm_s(IntCC::Equal, r, fault);
        let out = *self.exits.helper.get_or_insert_with(|| {
            let blk = self.b.create_block();
            self.b.append_block_param(blk, types::I8);
            blk
        });
        let go_on = self.b.create_block();
        self.b.ins().brif(leave, out, &[faulted.into()], go_on, &[]);
        self.enter(go_on);
        self.b.set_cold_block(go_on);
        self.reload_after_call();
        r
    }

    // ---- operands ----------------------------------------------------------------------------

    fn op_size(&self, n: u32) -> u32 {
        let ins = self.ins;
        match ins.op_kind(n) {
            OpKind::Register => reg_size(ins.op_register(n)),
            OpKind::Immediate8 | OpKind::Immediate8_2nd => 1,
            OpKind::Immediate16 | OpKind::Immediate8to16 => 2,
            OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
            _ => ins.memory_size().size() as u32,
        }
    }

    fn imm(&mut self, n: u32) -> Option<Value> {
        let ins = self.ins;
        let v = match ins.op_kind(n) {
            OpKind::Immediate8 => ins.immediate8() as u32,
            OpKind::Immediate16 => ins.immediate16() as u32,
            OpKind::Immediate32 => ins.immediate32(),
            OpKind::Immediate8to16 => ins.immediate8to16() as u16 as u32,
            OpKind::Immediate8to32 => ins.immediate8to32() as u32,
            _ => return None,
        };
        Some(self.iconst(v))
    }

    /// Whether operand `n` is a general register (not segment/control/debug).
    fn is_gpr(&self, n: u32) -> bool {
        self.ins.op_kind(n) == OpKind::Register && self.ins.op_register(n).is_gpr()
    }

    fn is_mem(&self, n: u32) -> bool {
        self.ins.op_kind(n) == OpKind::Memory
    }

    /// Reads a register, immediate or memory source operand.
    fn read_src(&mut self, n: u32) -> Value {
        if let Some(v) = self.imm(n) {
            return v;
        }
        if self.is_gpr(n) {
            return self.get_reg(self.ins.op_register(n));
        }
        let mut a = self.addr();
        let size = self.op_size(n);
        self.load(&mut a, size, false)
    }

    // ---- flags -------------------------------------------------------------------------------

    /// Records a flag-setting operation known at translation time.
    fn set_flags_lazy(&mut self, kind: u32, size: u32, res: Value, src1: Value, src2: Value) {
        let opv = kind | op::size_code(size * 8);
        let o = self.iconst(opv);
        self.def_flags(o, res, src1, src2, kind == op::INC || kind == op::DEC);
        self.known = Some(Known { op: opv, res, src1, src2 });
    }

    /// Makes the lazy record (operation `opv`, result and operands) pending.
    /// `keeps_cf` (INC, DEC): CF stays as it was, so it goes into `bits`.
    fn def_flags(&mut self, opv: Value, res: Value, src1: Value, src2: Value, keeps_cf: bool) {
        let mut bits = self.pending.and_then(|p| p.bits);
        if !keeps_cf {
            // With an operation in the record, the arithmetic flags in `bits`
            // are not read (`Flags::get`): those an earlier instruction wrote
            // eagerly (a multiply, a shift) are dead from here on, and
            // Cranelift drops their computation unless an exit in between
            // stores them.
            bits = bits.map(|b| self.arith_free.get(&b).copied().unwrap_or(b));
        }
        let after_inc_dec = self.known.is_some_and(|k| matches!(k.op & !3, op::INC | op::DEC));
        if keeps_cf && !(after_inc_dec && bits.is_some()) {
            // (After INC or DEC, `bits` already holds the CF to keep.)
            let cf = self.cf();
            let cf = self.b.ins().uextend(types::I32, cf);
            let old = match bits {
                Some(b) => b,
                None => self.ld(types::I32, FL_BITS),
            };
            let free = self.arith_free.get(&old).copied();
            let old = self.b.ins().band_imm_s(old, !(fl::CF as i64));
            let new = self.b.ins().bor(old, cf);
            if let Some(free) = free {
                self.arith_free.insert(new, free);
            }
            bits = Some(new);
        }
        self.pending = Some(Pending { op: opv, res, src1, src2, bits });
    }

    /// CF, as an i8 boolean.
    fn cf(&mut self) -> Value {
        self.condition(0x2)
    }

    /// The sign bit mask of a size code.
    fn sign_of(size_code: u32) -> i64 {
        match size_code {
            op::SIZE8 => 0x80,
            op::SIZE16 => 0x8000,
            _ => 0x8000_0000,
        }
    }

    /// Evaluates condition `cc` (Jcc's low nibble) as an i8 boolean.
    fn condition(&mut self, cc: u8) -> Value {
        if let Some(k) = self.known {
            if let Some(v) = self.condition_known(k, cc) {
                return v;
            }
        }
        if matches!(cc >> 1, 1..=3) {
            // CF, ZF and CF|ZF from the lazy record, inline.
            let r = self.record();
            let base = match cc >> 1 {
                1 => self.cf_of(r),
                2 => self.zf_of(r),
                _ => {
                    let cf = self.cf_of(r);
                    let zf = self.zf_of(r);
                    self.b.ins().bor(cf, zf)
                }
            };
            return if cc & 1 != 0 { self.negate(base) } else { base };
        }
        self.store_regs_and_flags();
        let c = self.iconst(cc as u32);
        let cpu = self.cpu();
        let call = self.call_helper(self.h_cond, &[cpu, c]);
        let r = self.b.inst_results(call)[0];
        self.reload_after_call();
        self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0)
    }

    /// The lazy record as values: the pending one, or the state's.
    fn record(&mut self) -> Pending {
        let load = |e: &mut Self, off: i32| e.ld(types::I32, off);
        match self.pending {
            Some(p) => Pending { bits: Some(p.bits.unwrap_or_else(|| load(self, FL_BITS))), ..p },
            None => Pending {
                op: load(self, FL_OP),
                res: load(self, FL_RES),
                src1: load(self, FL_SRC1),
                src2: load(self, FL_SRC2),
                bits: Some(load(self, FL_BITS)),
            },
        }
    }

    /// ZF of a record (`bits` is set): from the result, or from `bits` when the
    /// record holds no operation.
    fn zf_of(&mut self, r: Pending) -> Value {
        let bits = r.bits.expect("record() fills bits");
        let from_bits = self.b.ins().band_imm_s(bits, fl::ZF as i64);
        let from_bits = self.b.ins().icmp_imm_s(IntCC::NotEqual, from_bits, 0);
        let from_res = self.b.ins().icmp_imm_s(IntCC::Equal, r.res, 0);
        let none = self.b.ins().icmp_imm_s(IntCC::Equal, r.op, op::NONE as i64);
        self.b.ins().select(none, from_bits, from_res)
    }

    /// CF of a record (`bits` is set), as `Flags::cf` computes it: one case per
    /// kind of operation, through a jump table.
    fn cf_of(&mut self, r: Pending) -> Value {
        let bits = r.bits.expect("record() fills bits");
        let done = self.b.create_block();
        let cf = self.b.append_block_param(done, types::I8);
        let kinds = [
            op::NONE,
            op::ADD,
            op::ADC,
            op::SUB,
            op::SBB,
            op::LOGIC,
            op::INC,
            op::DEC,
            op::SHL,
            op::SHR,
            op::SAR,
        ];
        let blocks: Vec<IrBlock> = kinds.iter().map(|_| self.b.create_block()).collect();
        let calls: Vec<_> = blocks.iter().map(|blk| self.b.func.dfg.block_call(*blk, &[])).collect();
        let table = self.b.create_jump_table(JumpTableData::new(calls[0], &calls));
        let index = self.b.ins().ushr_imm_s(r.op, 2);
        self.b.ins().br_table(index, table);
        for (kind, blk) in kinds.iter().zip(&blocks) {
            self.enter(*blk);
            let v = match *kind {
                op::ADD => self.b.ins().icmp(IntCC::UnsignedLessThan, r.res, r.src1),
                op::ADC => self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, r.res, r.src1),
                op::SUB => self.b.ins().icmp(IntCC::UnsignedLessThan, r.src1, r.src2),
                op::SBB => self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, r.src1, r.src2),
                op::LOGIC => self.b.ins().iconst(types::I8, 0),
                op::SHL => {
                    // The sign bit of the size: 1 << ((8 << size code) - 1).
                    let size = self.b.ins().band_imm_s(r.op, 3);
                    let eight = self.iconst(8);
                    let width = self.b.ins().ishl(eight, size);
                    let top = self.b.ins().iadd_imm_s(width, -1);
                    let v = self.b.ins().ushr(r.src1, top);
                    let v = self.b.ins().band_imm_s(v, 1);
                    self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
                }
                op::SHR | op::SAR => {
                    let v = self.b.ins().band_imm_s(r.src1, 1);
                    self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
                }
                _ => {
                    let v = self.b.ins().band_imm_s(bits, fl::CF as i64);
                    self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
                }
            };
            self.b.ins().jump(done, &[v.into()]);
        }
        self.enter(done);
        cf
    }

    /// Conditions computed from the operation that set the flags in this block.
    fn condition_known(&mut self, k: Known, cc: u8) -> Option<Value> {
        let kind = k.op & !3;
        let size = k.op & 3;
        let sign = Self::sign_of(size);
        let (a, b, r) = (k.src1, k.src2, k.res);
        let base = match (kind, cc >> 1) {
            (op::SUB, 1) => self.b.ins().icmp(IntCC::UnsignedLessThan, a, b),
            (op::SUB, 2) => self.b.ins().icmp(IntCC::Equal, a, b),
            (op::SUB, 3) => self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, a, b),
            (op::SUB, 6) | (op::SUB, 7) => {
                // Signed comparison at the operand size: flip the sign bits.
                let sa = self.b.ins().bxor_imm_s(a, sign);
                let sb = self.b.ins().bxor_imm_s(b, sign);
                let c = if cc >> 1 == 6 { IntCC::UnsignedLessThan } else { IntCC::UnsignedLessThanOrEqual };
                self.b.ins().icmp(c, sa, sb)
            }
            (_, 2) => self.b.ins().icmp_imm_s(IntCC::Equal, r, 0),
            (_, 4) => {
                let s = self.b.ins().band_imm_s(r, sign);
                self.b.ins().icmp_imm_s(IntCC::NotEqual, s, 0)
            }
            (op::LOGIC, 0) | (op::LOGIC, 1) => self.b.ins().iconst(types::I8, 0),
            (op::LOGIC, 3) => self.b.ins().icmp_imm_s(IntCC::Equal, r, 0),
            (op::LOGIC, 6) => {
                let s = self.b.ins().band_imm_s(r, sign);
                self.b.ins().icmp_imm_s(IntCC::NotEqual, s, 0)
            }
            (op::LOGIC, 7) => {
                let s = self.b.ins().band_imm_s(r, sign);
                let sf = self.b.ins().icmp_imm_s(IntCC::NotEqual, s, 0);
                let zf = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                self.b.ins().bor(sf, zf)
            }
            (op::ADD, 1) => self.b.ins().icmp(IntCC::UnsignedLessThan, r, a),
            (op::ADD, 3) => {
                let cf = self.b.ins().icmp(IntCC::UnsignedLessThan, r, a);
                let zf = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                self.b.ins().bor(cf, zf)
            }
            (op::INC, 1) | (op::DEC, 1) | (op::INC, 3) | (op::DEC, 3) => {
                // CF is in the pending `bits` (INC and DEC put it there).
                let bits = self.pending.and_then(|p| p.bits)?;
                let cf = self.b.ins().band_imm_s(bits, fl::CF as i64);
                let cf = self.b.ins().icmp_imm_s(IntCC::NotEqual, cf, 0);
                if cc >> 1 == 1 {
                    cf
                } else {
                    let zf = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                    self.b.ins().bor(cf, zf)
                }
            }
            (op::SHL, 1) => {
                let s = self.b.ins().band_imm_s(a, sign);
                self.b.ins().icmp_imm_s(IntCC::NotEqual, s, 0)
            }
            (op::SHR, 1) | (op::SAR, 1) => {
                let s = self.b.ins().band_imm_s(a, 1);
                self.b.ins().icmp_imm_s(IntCC::NotEqual, s, 0)
            }
            _ => return None,
        };
        Some(if cc & 1 != 0 { self.negate(base) } else { base })
    }

    /// The negation of the boolean `v`: the complementary comparison when `v`
    /// is a comparison (one instruction, and the branch can use its flags).
    fn negate(&mut self, v: Value) -> Value {
        use cranelift_codegen::ir::condcodes::CondCode;
        use cranelift_codegen::ir::{InstructionData, ValueDef};
        let dfg = &self.b.func.dfg;
        if let ValueDef::Result(inst, 0) = dfg.value_def(v) {
            if let InstructionData::IntCompare { cond, args, .. } = dfg.insts[inst] {
                return self.b.ins().icmp(cond.complement(), args[0], args[1]);
            }
        }
        self.b.ins().bxor_imm_s(v, 1)
    }

    // ---- instructions ---------------------------------------------------------------------------

    /// Emits the current instruction; returns whether it ended the block.
    fn instruction(&mut self) -> bool {
        use Mnemonic as M;
        let ins = self.ins;
        let handled = match ins.mnemonic() {
            M::Mov => self.mov(),
            M::Movzx | M::Movsx => self.movx(),
            M::Lea => self.lea(),
            M::Add | M::Adc | M::Sub | M::Sbb | M::Cmp => self.arith(),
            M::And | M::Or | M::Xor | M::Test => self.logic(),
            M::Inc | M::Dec => self.inc_dec(),
            M::Neg | M::Not => self.neg_not(),
            M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr => self.shift(),
            M::Shld | M::Shrd => self.shift_double(),
            M::Push => self.push_insn(),
            M::Pop => self.pop_insn(),
            // PAUSE is a hint; the fences order nothing for a single
            // interpreted CPU (they need SSE2 or SSE, or raise #UD).
            M::Nop | M::Pause => true,
            M::Lfence | M::Mfence if self.mode.sse2 => true,
            M::Sfence if self.mode.sse2 => true,
            M::Imul if ins.op_count() > 1 => self.imul(),
            M::Mul | M::Imul => self.mul_acc(),
            M::Div if self.op_size(0) == 4 => return self.div32(),
            M::Xchg if self.is_gpr(0) && self.is_gpr(1) => self.xchg_regs(),
            M::Rdtsc => self.rdtsc(),
            M::Leave => self.leave(),
            M::Cbw | M::Cwde | M::Cwd | M::Cdq => self.convert(),
            M::Bswap => self.bswap(),
            M::Xadd => self.xadd(),
            M::Cmpxchg => self.cmpxchg(),
            M::Bt | M::Bts | M::Btr | M::Btc => self.bit_test(),
            M::Cli => return self.cli(),
            M::Lodsb
            | M::Lodsw
            | M::Lodsd
            | M::Stosb
            | M::Stosw
            | M::Stosd
            | M::Scasb
            | M::Scasw
            | M::Scasd
            | M::Movsb
            | M::Movsw
            | M::Movsd
            | M::Cmpsb
            | M::Cmpsw
            | M::Cmpsd => self.string_once(),
            _ if is_cmovcc(ins.mnemonic()) && self.mode.cmov => self.cmovcc(),
            _ if is_setcc(ins.mnemonic()) => self.setcc(),
            M::Jmp => return self.jmp(),
            M::Call => return self.call(),
            M::Ret => return self.ret_near(),
            M::Loop | M::Loope | M::Loopne => return self.loop_insn(),
            _ if ins.is_jcc_short_or_near() => return self.jcc(),
            _ => false,
        };
        if handled {
            return false;
        }
        self.fallback()
    }

    /// LODS, STOS, SCAS, MOVS and CMPS without a REP prefix (C's `strcmp`
    /// and `strlen` loops in a 32-bit kernel): one iteration, as the
    /// interpreter's `string_step` does it. The source is DS:(E)SI (its
    /// segment can be overridden), the destination ES:(E)DI; the address
    /// size picks SI and DI or ESI and EDI; EFLAGS.DF says which way they
    /// move, by the element size. The pointers change only once every access
    /// succeeded.
    fn string_once(&mut self) -> bool {
        use Mnemonic as M;
        let ins = self.ins;
        // (MOVSD and CMPSD also name SSE2 instructions.)
        if !is_string(ins) || is_rep_string(ins) {
            return false;
        }
        let size = ins.memory_size().size() as u32;
        let (src, dst) = match ins.mnemonic() {
            M::Lodsb | M::Lodsw | M::Lodsd => (true, false),
            M::Stosb | M::Stosw | M::Stosd | M::Scasb | M::Scasw | M::Scasd => (false, true),
            _ => (true, true),
        };
        let a32 =
            (0..ins.op_count()).any(|n| matches!(ins.op_kind(n), OpKind::MemorySegESI | OpKind::MemoryESEDI));
        let (si_reg, di_reg) =
            if a32 { (Register::ESI, Register::EDI) } else { (Register::SI, Register::DI) };
        let bits = self.flag_bits();
        let df = self.b.ins().band_imm_s(bits, fl::DF as i64);
        let back = self.iconst(size.wrapping_neg());
        let forth = self.iconst(size);
        let delta = self.b.ins().select(df, back, forth);
        let at = |e: &mut Self, r: Register, seg: u32| {
            let offset = e.get_reg(r);
            Addr { seg, offset, probed: None, key: None }
        };
        let src_at = src.then(|| at(self, si_reg, seg_of(ins.memory_segment()) as u32));
        let mut dst_at = dst.then(|| at(self, di_reg, Seg::ES as u32));
        match ins.mnemonic() {
            M::Lodsb | M::Lodsw | M::Lodsd => {
                let v = self.load(&mut src_at.expect("LODS reads"), size, false);
                self.set_reg(accumulator(size), v);
            }
            M::Stosb | M::Stosw | M::Stosd => {
                let v = self.get_reg(accumulator(size));
                self.store(&dst_at.expect("STOS writes"), size, v);
            }
            M::Scasb | M::Scasw | M::Scasd => {
                let a = self.get_reg(accumulator(size));
                let b = self.load(dst_at.as_mut().expect("SCAS reads"), size, false);
                self.compare(size, a, b);
            }
            M::Movsb | M::Movsw | M::Movsd => {
                let v = self.load(&mut src_at.expect("MOVS reads"), size, false);
                self.store(&dst_at.expect("MOVS writes"), size, v);
            }
            _ => {
                let a = self.load(&mut src_at.expect("CMPS reads"), size, false);
                let b = self.load(dst_at.as_mut().expect("CMPS reads"), size, false);
                self.compare(size, a, b);
            }
        }
        for (moves, r) in [(src, si_reg), (dst, di_reg)] {
            if moves {
                let old = self.get_reg(r);
                let new = self.b.ins().iadd(old, delta);
                self.set_reg(r, new);
            }
        }
        true
    }

    /// The flags of CMP `a`, `b` (`size`-byte values, zero-extended).
    fn compare(&mut self, size: u32, a: Value, b: Value) {
        let r = self.b.ins().isub(a, b);
        let r = self.b.ins().band_imm_s(r, mask(size) as i64);
        self.set_flags_lazy(op::SUB, size, r, a, b);
    }

    /// DIV of EDX:EAX by a 32-bit register or memory operand (a 32-bit
    /// kernel's 64-by-32 divisions: `do_div`, printk's numbers). A quotient
    /// that fits (EDX below the divisor, which is then not 0) is computed
    /// inline; otherwise the interpreter runs the instruction, and raises
    /// #DE. The flags stay as they were, as the interpreter leaves them.
    fn div32(&mut self) -> bool {
        let divisor = self.read_src(0);
        let (eax, edx) = (self.reg32(reg::EAX), self.reg32(reg::EDX));
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThan, edx, divisor);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let join = self.b.create_block();
        self.b.ins().brif(fits, fast, &[], slow, &[]);
        self.enter(slow);
        self.b.set_cold_block(slow);
        // The interpreter leaves the flags alone (or leaves the block with
        // #DE): what the fast path has of them holds after the join too.
        let (known, pending) = (self.known, self.pending);
        if self.fallback() {
            self.invalid.get_or_insert_with(|| "DIV ended its block".to_string());
        }
        (self.known, self.pending) = (known, pending);
        self.b.ins().jump(join, &[]);
        self.enter(fast);
        let high = self.b.ins().uextend(types::I64, edx);
        let high = self.b.ins().ishl_imm_s(high, 32);
        let low = self.b.ins().uextend(types::I64, eax);
        let dividend = self.b.ins().bor(high, low);
        let d = self.b.ins().uextend(types::I64, divisor);
        let q = self.b.ins().udiv(dividend, d);
        let r = self.b.ins().urem(dividend, d);
        let q = self.b.ins().ireduce(types::I32, q);
        let r = self.b.ins().ireduce(types::I32, r);
        self.set_reg(Register::EAX, q);
        self.set_reg(Register::EDX, r);
        self.b.ins().jump(join, &[]);
        self.enter(join);
        false
    }

    /// XCHG of two registers (no memory: that one locks).
    fn xchg_regs(&mut self) -> bool {
        let (r0, r1) = (self.ins.op0_register(), self.ins.op1_register());
        let (a, b) = (self.get_reg(r0), self.get_reg(r1));
        self.set_reg(r0, b);
        self.set_reg(r1, a);
        true
    }

    /// The instruction runs in the interpreter; returns whether the block ended.
    fn fallback(&mut self) -> bool {
        let terminator = ends_block(self.ins);
        self.store_state_eip(self.ins.ip32());
        let p = self.insn_ptr();
        let c = self.cpu();
        let call = self.call_helper(self.h_interp, &[c, p]);
        let r = self.b.inst_results(call)[0];
        let fault = self.b.create_block();
        let other = self.b.create_block();
        let is_fault = self.b.ins().icmp_imm_s(IntCC::Equal, r, interp_status::FAULT as i64);
        self.b.ins().brif(is_fault, fault, &[], other, &[]);
        self.enter(fault);
        self.b.set_cold_block(fault);
        self.ret(status::FAULT);
        self.enter(other);
        if terminator {
            self.ret(status::OK);
            return true;
        }
        let leave = self.b.create_block();
        let go_on = self.b.create_block();
        let is_exit = self.b.ins().icmp_imm_s(IntCC::Equal, r, interp_status::EXIT as i64);
        self.b.ins().brif(is_exit, leave, &[], go_on, &[]);
        self.enter(leave);
        self.ret(status::OK);
        self.enter(go_on);
        self.load_state();
        self.load_budget();
        if is_rep_string(self.ins) && self.left_in_block > 0 {
            // A REP instruction counts one per iteration: if the rest of the
            // block no longer fits the budget, back to the run loop before
            // the next instruction (where the interpreter would stop too,
            // at a device event).
            let left = self.b.use_var(self.budget);
            let short = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, self.left_in_block as i64);
            let out = self.b.create_block();
            let fits = self.b.create_block();
            self.b.ins().brif(short, out, &[], fits, &[]);
            self.enter(out);
            self.b.set_cold_block(out);
            let next = self.next_eip();
            self.store_state_eip(next);
            self.ret(status::OK);
            self.enter(fits);
        }
        false
    }

    fn mov(&mut self) -> bool {
        let size = self.op_size(0);
        if self.is_gpr(0) && (self.is_gpr(1) || self.imm(1).is_some() || self.is_mem(1)) {
            let v = self.read_src(1);
            let r = self.ins.op0_register();
            self.set_reg(r, v);
            return true;
        }
        if self.is_mem(0) && (self.is_gpr(1) || self.ins.op1_kind() != OpKind::Register) {
            let v = self.read_src(1);
            let a = self.addr();
            self.store(&a, size, v);
            return true;
        }
        false
    }

    /// CMOVcc: the source is read (and may fault) whatever the condition.
    fn cmovcc(&mut self) -> bool {
        let v = self.read_src(1);
        let c = self.condition(cc_nibble(self.ins.condition_code()));
        let r = self.ins.op0_register();
        let old = self.get_reg(r);
        let new = self.b.ins().select(c, v, old);
        self.set_reg(r, new);
        true
    }

    fn setcc(&mut self) -> bool {
        let c = self.condition(cc_nibble(self.ins.condition_code()));
        let v = self.b.ins().uextend(types::I32, c);
        if self.is_gpr(0) {
            let r = self.ins.op0_register();
            self.set_reg(r, v);
            return true;
        }
        let a = self.addr();
        self.store(&a, 1, v);
        true
    }

    /// IMUL with two or three operands: the truncated product; CF and OF say
    /// whether it was truncated, SF ZF PF come from it and AF is cleared, all
    /// written eagerly (as the interpreter's `set_mul_flags` does).
    fn imul(&mut self) -> bool {
        let size = self.op_size(0);
        let (a, b) = if self.ins.op_count() == 3 {
            (self.read_src(1), self.read_src(2))
        } else {
            (self.read_src(0), self.read_src(1))
        };
        let (wa, wb) = (self.sign_extend64(a, size), self.sign_extend64(b, size));
        let p = self.b.ins().imul(wa, wb);
        let low = self.b.ins().ireduce(types::I32, p);
        let low = self.b.ins().band_imm_s(low, mask(size) as i64);
        let back = self.sign_extend64(low, size);
        let overflow = self.b.ins().icmp(IntCC::NotEqual, back, p);
        let r = self.ins.op0_register();
        self.set_reg(r, low);
        self.mul_flags(low, size, overflow);
        true
    }

    /// MUL and one-operand IMUL: the accumulator (AL, AX, EAX) times the
    /// operand, the product in AX, DX:AX or EDX:EAX (`interp::muldiv`).
    fn mul_acc(&mut self) -> bool {
        let size = self.op_size(0);
        let signed = self.ins.mnemonic() == Mnemonic::Imul;
        let src = self.read_src(0);
        let acc = self.get_reg(accumulator(size));
        let wide = |e: &mut Self, v: Value| {
            if signed {
                e.sign_extend64(v, size)
            } else {
                let v = e.b.ins().band_imm_s(v, mask(size) as i64);
                e.b.ins().uextend(types::I64, v)
            }
        };
        let (wa, wb) = (wide(self, acc), wide(self, src));
        let p = self.b.ins().imul(wa, wb);
        let low = self.b.ins().ireduce(types::I32, p);
        let low = self.b.ins().band_imm_s(low, mask(size) as i64);
        let high = self.b.ins().ushr_imm_s(p, (size * 8) as i64);
        let high = self.b.ins().ireduce(types::I32, high);
        let high = self.b.ins().band_imm_s(high, mask(size) as i64);
        let overflow = if signed {
            let back = wide(self, low);
            self.b.ins().icmp(IntCC::NotEqual, back, p)
        } else {
            self.b.ins().icmp_imm_s(IntCC::NotEqual, high, 0)
        };
        match size {
            1 => {
                let h = self.b.ins().ishl_imm_s(high, 8);
                let ax = self.b.ins().bor(h, low);
                self.set_reg(Register::AX, ax);
            }
            2 => {
                self.set_reg(Register::AX, low);
                self.set_reg(Register::DX, high);
            }
            _ => {
                self.set_reg(Register::EAX, low);
                self.set_reg(Register::EDX, high);
            }
        }
        self.mul_flags(low, size, overflow);
        true
    }

    /// The flags of a multiplication (`interp::muldiv::set_mul_flags`):
    /// CF and OF when the product `overflow`ed its low half, SF, ZF and PF
    /// from the low half, AF clear.
    fn mul_flags(&mut self, low: Value, size: u32, overflow: Value) {
        let on = self.b.ins().uextend(types::I32, overflow);
        let of = self.b.ins().imul_imm_s(on, (fl::CF | fl::OF) as i64);
        let szp = self.szp(low, size);
        let arith = self.b.ins().bor(szp, of);
        self.set_flags_eager(arith);
    }

    fn movx(&mut self) -> bool {
        let src_size = self.op_size(1);
        let v = self.read_src(1);
        let v = if self.ins.mnemonic() == Mnemonic::Movsx {
            let narrow = if src_size == 1 { types::I8 } else { types::I16 };
            let n = self.b.ins().ireduce(narrow, v);
            self.b.ins().sextend(types::I32, n)
        } else {
            v
        };
        let r = self.ins.op0_register();
        self.set_reg(r, v);
        true
    }

    fn lea(&mut self) -> bool {
        let a = self.addr();
        let r = self.ins.op0_register();
        self.set_reg(r, a.offset);
        true
    }

    /// Reads the destination operand (for writing back): register or memory.
    fn dest(&mut self, rmw: bool) -> (Option<Addr>, Value) {
        let size = self.op_size(0);
        if self.is_gpr(0) {
            let v = self.get_reg(self.ins.op0_register());
            (None, v)
        } else {
            let mut a = self.addr();
            let v = self.load(&mut a, size, rmw);
            (Some(a), v)
        }
    }

    /// Writes the destination back.
    fn write_dest(&mut self, at: Option<Addr>, size: u32, v: Value) {
        match at {
            None => {
                let r = self.ins.op0_register();
                self.set_reg(r, v);
            }
            Some(a) => self.store(&a, size, v),
        }
    }

    fn arith(&mut self) -> bool {
        let size = self.op_size(0);
        if !(self.is_gpr(0) || self.is_mem(0)) {
            return false;
        }
        let m = mask(size) as i64;
        let is_cmp = self.ins.mnemonic() == Mnemonic::Cmp;
        let (at, a) = self.dest(!is_cmp);
        let b = self.read_src(1);
        let b = self.b.ins().band_imm_s(b, m);
        let (kind, r) = match self.ins.mnemonic() {
            Mnemonic::Add if self.mode.defect => {
                let r = self.b.ins().iadd(a, b);
                (op::ADD, self.b.ins().iadd_imm_s(r, 1))
            }
            Mnemonic::Add => (op::ADD, self.b.ins().iadd(a, b)),
            Mnemonic::Sub | Mnemonic::Cmp => (op::SUB, self.b.ins().isub(a, b)),
            mn => {
                // ADC/SBB: the operation depends on the carry at run time.
                let cf = self.cf();
                let c = self.b.ins().uextend(types::I32, cf);
                let adc = mn == Mnemonic::Adc;
                let r = if adc {
                    let s = self.b.ins().iadd(a, b);
                    self.b.ins().iadd(s, c)
                } else {
                    let s = self.b.ins().isub(a, b);
                    self.b.ins().isub(s, c)
                };
                let r = self.b.ins().band_imm_s(r, m);
                let (with, without) = if adc { (op::ADC, op::ADD) } else { (op::SBB, op::SUB) };
                let sc = op::size_code(size * 8);
                let with_c = self.iconst(with | sc);
                let without_c = self.iconst(without | sc);
                let opv = self.b.ins().select(cf, with_c, without_c);
                if !is_cmp {
                    self.write_dest(at, size, r);
                }
                self.def_flags(opv, r, a, b, false);
                self.known = None;
                return true;
            }
        };
        let r = self.b.ins().band_imm_s(r, m);
        if !is_cmp {
            self.write_dest(at, size, r);
        }
        self.set_flags_lazy(kind, size, r, a, b);
        true
    }

    fn logic(&mut self) -> bool {
        let size = self.op_size(0);
        if !(self.is_gpr(0) || self.is_mem(0)) {
            return false;
        }
        let test = self.ins.mnemonic() == Mnemonic::Test;
        if !test && self.is_gpr(0) {
            // AL..BL or AX..DI: the operation on the whole register leaves its
            // other bits as they were (for AND, with them set in the source), so
            // no merge of the low part into the old value is needed.
            let r = self.ins.op0_register();
            let high_byte = matches!(r, Register::AH | Register::CH | Register::DH | Register::BH);
            if let Some(idx) = gpr_index(r).filter(|_| size < 4 && !high_byte) {
                let m = mask(size) as i64;
                let b = self.read_src(1);
                let b = self.b.ins().band_imm_s(b, m);
                let old = self.use_reg(idx);
                let new = match self.ins.mnemonic() {
                    Mnemonic::Or => self.b.ins().bor(old, b),
                    Mnemonic::Xor => self.b.ins().bxor(old, b),
                    _ => {
                        let b = self.b.ins().bor_imm_s(b, !m);
                        self.b.ins().band(old, b)
                    }
                };
                self.def_reg(idx, new);
                let r = self.b.ins().band_imm_s(new, m);
                let zero = self.iconst(0);
                self.set_flags_lazy(op::LOGIC, size, r, zero, zero);
                return true;
            }
        }
        let (at, a) = self.dest(!test);
        let b = self.read_src(1);
        let b = self.b.ins().band_imm_s(b, mask(size) as i64);
        let r = match self.ins.mnemonic() {
            Mnemonic::Or => self.b.ins().bor(a, b),
            Mnemonic::Xor => self.b.ins().bxor(a, b),
            _ => self.b.ins().band(a, b),
        };
        if !test {
            self.write_dest(at, size, r);
        }
        let zero = self.iconst(0);
        self.set_flags_lazy(op::LOGIC, size, r, zero, zero);
        true
    }

    fn inc_dec(&mut self) -> bool {
        let size = self.op_size(0);
        let (at, a) = self.dest(true);
        let (kind, r) = if self.ins.mnemonic() == Mnemonic::Inc {
            (op::INC, self.b.ins().iadd_imm_s(a, 1))
        } else {
            (op::DEC, self.b.ins().iadd_imm_s(a, -1))
        };
        let r = self.b.ins().band_imm_s(r, mask(size) as i64);
        let one = self.iconst(1);
        self.write_dest(at, size, r);
        self.set_flags_lazy(kind, size, r, a, one);
        true
    }

    fn neg_not(&mut self) -> bool {
        let size = self.op_size(0);
        let (at, a) = self.dest(true);
        let m = mask(size) as i64;
        if self.ins.mnemonic() == Mnemonic::Not {
            let r = self.b.ins().bnot(a);
            let r = self.b.ins().band_imm_s(r, m);
            self.write_dest(at, size, r);
            return true;
        }
        let r = self.b.ins().ineg(a);
        let r = self.b.ins().band_imm_s(r, m);
        self.write_dest(at, size, r);
        let zero = self.iconst(0);
        self.set_flags_lazy(op::SUB, size, r, zero, a);
        true
    }

    fn shift(&mut self) -> bool {
        let size = self.op_size(0);
        let m = mask(size) as i64;
        // Shifts by a count known at translation time (1 or an immediate)
        // are inline, and so are SHL, SHR and SAR of a register by CL, and
        // ROL and ROR by a count known where the flags they keep are known
        // too; the rest go through a helper.
        let count = match self.ins.op_count() {
            1 => Some(1),
            _ => match self.ins.op1_kind() {
                OpKind::Immediate8 => Some(self.ins.immediate8() as u32 & 0x1f),
                _ => None,
            },
        };
        let rotate =
            matches!(self.ins.mnemonic(), Mnemonic::Rol | Mnemonic::Ror | Mnemonic::Rcl | Mnemonic::Rcr);
        let rol_ror = matches!(self.ins.mnemonic(), Mnemonic::Rol | Mnemonic::Ror);
        let count = match count {
            Some(c) if !rotate || c == 0 => c,
            None if !rotate && self.is_gpr(0) => return self.shift_by_cl(),
            Some(c) if rol_ror => match self.kept_flags(false) {
                Some(kept) => return self.rotate(c, kept),
                None => return self.shift_by_helper(count),
            },
            _ => return self.shift_by_helper(count),
        };
        let (at, a) = self.dest(true);
        if count == 0 {
            return true;
        }
        let (kind, before, r) = match self.ins.mnemonic() {
            Mnemonic::Shr => {
                let v = self.b.ins().ushr_imm_s(a, (count - 1) as i64);
                let r = self.b.ins().ushr_imm_s(v, 1);
                (op::SHR, v, r)
            }
            Mnemonic::Sar => {
                let sa = self.sign_extend(a, size);
                let v = self.b.ins().sshr_imm_s(sa, (count - 1) as i64);
                let v = self.b.ins().band_imm_s(v, m);
                let r = self.b.ins().sshr_imm_s(sa, count.min(31) as i64);
                let r = self.b.ins().band_imm_s(r, m);
                (op::SAR, v, r)
            }
            _ => {
                let v = self.b.ins().ishl_imm_s(a, (count - 1) as i64);
                let v = self.b.ins().band_imm_s(v, m);
                let r = self.b.ins().ishl_imm_s(v, 1);
                let r = self.b.ins().band_imm_s(r, m);
                (op::SHL, v, r)
            }
        };
        self.write_dest(at, size, r);
        let zero = self.iconst(0);
        self.set_flags_lazy(kind, size, r, before, zero);
        true
    }

    /// ROL or ROR by a non-zero immediate `count` (masked to five bits), as
    /// `Cpu::shift_step` does it: CF and OF from the result, SF, ZF, AF and
    /// PF as they were (`kept`, from [`Emitter::kept_flags`]). The flags are
    /// computed eagerly, and dropped when the next operation replaces them
    /// (`Emitter::def_flags`), as in hashes that rotate and then add or xor.
    fn rotate(&mut self, count: u32, kept: Value) -> bool {
        let size = self.op_size(0);
        let bits = size * 8;
        let m = mask(size) as i64;
        let msb = (bits - 1) as i64;
        let (at, a) = self.dest(true);
        let n = count % bits;
        let left = self.ins.mnemonic() == Mnemonic::Rol;
        let r = match (n, size) {
            (0, _) => a,
            (_, 4) if left => self.b.ins().rotl_imm_s(a, n as i64),
            (_, 4) => self.b.ins().rotr_imm_s(a, n as i64),
            _ => {
                let (up, down) = if left { (n, bits - n) } else { (bits - n, n) };
                let hi = self.b.ins().ishl_imm_s(a, up as i64);
                let lo = self.b.ins().ushr_imm_s(a, down as i64);
                let r = self.b.ins().bor(hi, lo);
                self.b.ins().band_imm_s(r, m)
            }
        };
        self.write_dest(at, size, r);
        let top = self.b.ins().ushr_imm_s(r, msb);
        let (cf, other) = if left {
            let cf = self.b.ins().band_imm_s(r, 1);
            (cf, cf)
        } else {
            let next = self.b.ins().ushr_imm_s(r, msb - 1);
            let next = self.b.ins().band_imm_s(next, 1);
            (top, next)
        };
        let of = self.b.ins().bxor(top, other);
        let of = self.b.ins().ishl_imm_s(of, 11);
        let cf_of = self.b.ins().bor(cf, of);
        let arith = self.b.ins().bor(kept, cf_of);
        self.set_flags_eager(arith);
        true
    }

    /// The six arithmetic flags become `arith`, written eagerly: the record
    /// holds no operation, `bits` has them.
    fn set_flags_eager(&mut self, arith: Value) {
        let bits = self.with_arith(arith);
        let none = self.iconst(op::NONE);
        let zero = self.iconst(0);
        self.pending = Some(Pending { op: none, res: zero, src1: zero, src2: zero, bits: Some(bits) });
        self.known = None;
    }

    /// SF, ZF, AF and PF (and OF if `with_of`) as EFLAGS bits, when the
    /// flags are known here: set by an operation earlier in this block, or
    /// written whole (`op::NONE` pending). None when only the run time record
    /// has them. The same formulas as `Flags::arith`.
    fn kept_flags(&mut self, with_of: bool) -> Option<Value> {
        let szap = (fl::SF | fl::ZF | fl::AF | fl::PF) as i64;
        let Some(k) = self.known else {
            let p = self.pending?;
            let bits = p.bits?;
            let mask = if with_of { szap | fl::OF as i64 } else { szap };
            return self.is_const(p.op, op::NONE).then(|| self.b.ins().band_imm_s(bits, mask));
        };
        let size = match k.op & 3 {
            op::SIZE8 => 1,
            op::SIZE16 => 2,
            _ => 4,
        };
        let sign = Self::sign_of(k.op & 3);
        let (a, b, r) = (k.src1, k.src2, k.res);
        let kind = k.op & !3;
        let af = match kind {
            op::ADD | op::ADC | op::SUB | op::SBB => {
                let x = self.b.ins().bxor(a, b);
                let x = self.b.ins().bxor(x, r);
                self.b.ins().band_imm_s(x, fl::AF as i64)
            }
            op::LOGIC | op::SHL | op::SHR | op::SAR => self.iconst(0),
            op::INC | op::DEC => {
                let nibble = self.b.ins().band_imm_s(r, 0xf);
                let at = if kind == op::INC { 0 } else { 0xf };
                let on = self.b.ins().icmp_imm_s(IntCC::Equal, nibble, at);
                let on = self.b.ins().uextend(types::I32, on);
                self.b.ins().ishl_imm_s(on, 4)
            }
            _ => return None,
        };
        let szp = self.szp(r, size);
        let szap_v = self.b.ins().bor(szp, af);
        if !with_of {
            return Some(szap_v);
        }
        // OF as a value whose `sign` bit is the flag.
        let of_at_sign = match kind {
            op::ADD | op::ADC => {
                let x = self.b.ins().bxor(a, r);
                let y = self.b.ins().bxor(b, r);
                self.b.ins().band(x, y)
            }
            op::SUB | op::SBB => {
                let x = self.b.ins().bxor(a, b);
                let y = self.b.ins().bxor(a, r);
                self.b.ins().band(x, y)
            }
            op::INC | op::DEC => {
                let at = if kind == op::INC { sign } else { sign - 1 };
                let on = self.b.ins().icmp_imm_s(IntCC::Equal, r, at);
                let on = self.b.ins().uextend(types::I32, on);
                self.b.ins().imul_imm_s(on, sign)
            }
            op::SHL => self.b.ins().bxor(r, a),
            op::SHR => a,
            _ => self.iconst(0),
        };
        let of = self.b.ins().band_imm_s(of_at_sign, sign);
        let of = self.b.ins().icmp_imm_s(IntCC::NotEqual, of, 0);
        let of = self.b.ins().uextend(types::I32, of);
        let of = self.b.ins().ishl_imm_s(of, 11);
        Some(self.b.ins().bor(szap_v, of))
    }

    /// Whether `v` is the constant `c` (an `iconst` of this translation).
    fn is_const(&self, v: Value, c: u32) -> bool {
        use cranelift_codegen::ir::{InstructionData, Opcode, ValueDef};
        let dfg = &self.b.func.dfg;
        match dfg.value_def(v) {
            ValueDef::Result(inst, 0) => matches!(
                dfg.insts[inst],
                InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } if imm.bits() as u32 == c
            ),
            _ => false,
        }
    }

    /// SHL, SHR or SAR of a register by CL: the count is known only when
    /// it runs, and a count of zero (after masking to five bits) leaves both
    /// the register and the flags as they were.
    fn shift_by_cl(&mut self) -> bool {
        let size = self.op_size(0);
        let m = mask(size) as i64;
        let cl = self.get_reg(Register::CL);
        let count = self.b.ins().band_imm_s(cl, 0x1f);
        // Cranelift takes shift amounts modulo 32: for a zero count this is
        // 31, and the result is not used.
        let one_less = self.b.ins().iadd_imm_s(count, -1);
        let (_, a) = self.dest(true);
        let (kind, before, r) = match self.ins.mnemonic() {
            Mnemonic::Shr => {
                let v = self.b.ins().ushr(a, one_less);
                let r = self.b.ins().ushr_imm_s(v, 1);
                (op::SHR, v, r)
            }
            Mnemonic::Sar => {
                let sa = self.sign_extend(a, size);
                let v = self.b.ins().sshr(sa, one_less);
                let v = self.b.ins().band_imm_s(v, m);
                let r = self.b.ins().sshr(sa, count);
                let r = self.b.ins().band_imm_s(r, m);
                (op::SAR, v, r)
            }
            _ => {
                let v = self.b.ins().ishl(a, one_less);
                let v = self.b.ins().band_imm_s(v, m);
                let r = self.b.ins().ishl_imm_s(v, 1);
                let r = self.b.ins().band_imm_s(r, m);
                (op::SHL, v, r)
            }
        };
        let shifted = self.b.ins().icmp_imm_s(IntCC::NotEqual, count, 0);
        let result = self.b.ins().select(shifted, r, a);
        self.write_dest(None, size, result);
        let opv = self.iconst(kind | op::size_code(size * 8));
        let zero = self.iconst(0);
        self.def_flags_if(shifted, Pending { op: opv, res: r, src1: before, src2: zero, bits: None });
        true
    }

    /// `a` (of `size` bytes) sign-extended to 64 bits.
    fn sign_extend64(&mut self, a: Value, size: u32) -> Value {
        let v = self.sign_extend(a, size);
        self.b.ins().sextend(types::I64, v)
    }

    /// EFLAGS as the pending `bits` hold them, else the state (their
    /// arithmetic flags are stale while a record holds an operation).
    fn flag_bits(&mut self) -> Value {
        match self.pending.and_then(|p| p.bits) {
            Some(b) => b,
            None => self.ld(types::I32, FL_BITS),
        }
    }

    /// EFLAGS with the six arithmetic flags `arith` and the others as they
    /// are (in the pending `bits`, else in the state).
    fn with_arith(&mut self, arith: Value) -> Value {
        let old = self.flag_bits();
        let kept = self.without_arith(old);
        let bits = self.b.ins().bor(kept, arith);
        self.arith_free.insert(bits, kept);
        bits
    }

    /// EFLAGS `bits` without the six arithmetic flags. For a value
    /// `with_arith` made, the one it made it from: a run of multiplies or
    /// shifts then leaves no chain through the dead flags of each (Cranelift
    /// cannot see that `(x | arith) & !ARITH` does not depend on `arith`).
    fn without_arith(&mut self, bits: Value) -> Value {
        match self.arith_free.get(&bits) {
            Some(&kept) => kept,
            None => self.b.ins().band_imm_s(bits, !(fl::ARITH as i64)),
        }
    }

    /// `a` (of `size` bytes) sign-extended to 32 bits.
    fn sign_extend(&mut self, a: Value, size: u32) -> Value {
        let narrow = match size {
            1 => types::I8,
            2 => types::I16,
            _ => return a,
        };
        let n = self.b.ins().ireduce(narrow, a);
        self.b.ins().sextend(types::I32, n)
    }

    /// Where `apply` (an i8 boolean) holds, the flags become the record
    /// `new` (with `bits` left as they are unless `new` gives them); where it
    /// does not, they stay as they were.
    fn def_flags_if(&mut self, apply: Value, new: Pending) {
        let old = self.record();
        let old_bits = old.bits.expect("record() fills bits");
        let pick = |e: &mut Self, n: Value, o: Value| e.b.ins().select(apply, n, o);
        let bits = match new.bits {
            Some(b) => pick(self, b, old_bits),
            None => old_bits,
        };
        self.pending = Some(Pending {
            op: pick(self, new.op, old.op),
            res: pick(self, new.res, old.res),
            src1: pick(self, new.src1, old.src1),
            src2: pick(self, new.src2, old.src2),
            bits: Some(bits),
        });
        self.known = None;
    }

    /// SHLD and SHRD of a register (by an immediate or CL), or of memory by
    /// an immediate, as the interpreter does them (`interp::shift`): the
    /// flags are written whole, SF, ZF and PF from the result, CF the last
    /// bit shifted out, OF against the value before the last one-bit step.
    fn shift_double(&mut self) -> bool {
        let size = self.op_size(0);
        let bits = size * 8;
        let count = match self.ins.op2_kind() {
            OpKind::Immediate8 => Some(self.ins.immediate8() as u32 & 0x1f),
            _ => None,
        };
        if count == Some(0) || (count.is_none() && !self.is_gpr(0)) || !self.is_gpr(1) {
            // (A zero count writes nothing, a memory operand included: the
            // interpreter does those.)
            return false;
        }
        let left = self.ins.mnemonic() == Mnemonic::Shld;
        let src = self.get_reg(self.ins.op1_register());
        let count = match count {
            Some(c) => self.iconst(c),
            None => {
                let cl = self.get_reg(Register::CL);
                self.b.ins().band_imm_s(cl, 0x1f)
            }
        };
        let (at, a) = self.dest(true);
        let wide = |e: &mut Self, v: Value| e.b.ins().uextend(types::I64, v);
        let (a64, src64) = (wide(self, a), wide(self, src));
        let count64 = wide(self, count);
        let one_less = self.b.ins().iadd_imm_s(count, -1);
        let one_less64 = wide(self, one_less);
        // The 64-bit pattern shifted: dest:src (32-bit SHLD), src:dest (32-bit
        // SHRD), dest:src:dest (16-bit, both directions, as the hardware does).
        let (r, cf, before_last) = if bits == 32 {
            if left {
                let hi = self.b.ins().ishl_imm_s(a64, 32);
                let pat = self.b.ins().bor(hi, src64);
                let sh = self.b.ins().ishl(pat, count64);
                let r = self.b.ins().ushr_imm_s(sh, 32);
                // CF: bit 32 - count of the destination.
                let sh = self.b.ins().ishl(pat, one_less64);
                let cf = self.b.ins().ushr_imm_s(sh, 63);
                (r, cf, self.b.ins().ishl(a, one_less))
            } else {
                let hi = self.b.ins().ishl_imm_s(src64, 32);
                let pat = self.b.ins().bor(hi, a64);
                let r = self.b.ins().ushr(pat, count64);
                let sh = self.b.ins().ushr(a, one_less);
                let cf = self.b.ins().band_imm_s(sh, 1);
                (r, self.b.ins().uextend(types::I64, cf), sh)
            }
        } else {
            let hi = self.b.ins().ishl_imm_s(a64, 32);
            let mid = self.b.ins().band_imm_s(src64, 0xffff);
            let mid = self.b.ins().ishl_imm_s(mid, 16);
            let pat = self.b.ins().bor(hi, mid);
            let pat = self.b.ins().bor(pat, a64);
            if left {
                let k = self.b.ins().iconst(types::I64, 32);
                let amount = self.b.ins().isub(k, count64);
                let r = self.b.ins().ushr(pat, amount);
                let k = self.b.ins().iconst(types::I64, 48);
                let amount = self.b.ins().isub(k, count64);
                let sh = self.b.ins().ushr(pat, amount);
                let cf = self.b.ins().band_imm_s(sh, 1);
                (r, cf, self.b.ins().ishl(a, one_less))
            } else {
                let r = self.b.ins().ushr(pat, count64);
                let sh = self.b.ins().ushr(pat, one_less64);
                let cf = self.b.ins().band_imm_s(sh, 1);
                // (src:dest) >> (count - 1), on 32 bits.
                let sd = self.b.ins().ireduce(types::I32, pat);
                (r, cf, self.b.ins().ushr(sd, one_less))
            }
        };
        let r = self.b.ins().ireduce(types::I32, r);
        let r = self.b.ins().band_imm_s(r, mask(size) as i64);
        let cf = self.b.ins().ireduce(types::I32, cf);
        let changed = self.b.ins().bxor(r, before_last);
        let of = self.b.ins().ushr_imm_s(changed, (bits - 1) as i64);
        let of = self.b.ins().band_imm_s(of, 1);
        let of = self.b.ins().ishl_imm_s(of, 11);
        let szp = self.szp(r, size);
        let arith = self.b.ins().bor(szp, cf);
        let arith = self.b.ins().bor(arith, of);
        let shifted = self.b.ins().icmp_imm_s(IntCC::NotEqual, count, 0);
        let result = self.b.ins().select(shifted, r, a);
        self.write_dest(at, size, result);
        // The whole record: no operation, the flags in `bits`.
        let new_bits = self.with_arith(arith);
        let none = self.iconst(op::NONE);
        let zero = self.iconst(0);
        self.def_flags_if(
            shifted,
            Pending { op: none, res: zero, src1: zero, src2: zero, bits: Some(new_bits) },
        );
        true
    }

    /// CBW, CWDE, CWD and CDQ: the accumulator sign-extended
    /// (`interp::data::convert`).
    fn convert(&mut self) -> bool {
        match self.ins.mnemonic() {
            Mnemonic::Cbw => {
                let al = self.get_reg(Register::AL);
                let v = self.sign_extend(al, 1);
                self.set_reg(Register::AX, v);
            }
            Mnemonic::Cwde => {
                let ax = self.get_reg(Register::AX);
                let v = self.sign_extend(ax, 2);
                self.set_reg(Register::EAX, v);
            }
            Mnemonic::Cwd => {
                let ax = self.get_reg(Register::AX);
                let v = self.sign_extend(ax, 2);
                let hi = self.b.ins().sshr_imm_s(v, 16);
                self.set_reg(Register::DX, hi);
            }
            _ => {
                let eax = self.get_reg(Register::EAX);
                let hi = self.b.ins().sshr_imm_s(eax, 31);
                self.set_reg(Register::EDX, hi);
            }
        }
        true
    }

    /// XADD: the destination gets the sum, the source register the old
    /// destination, the flags those of the ADD (`interp::misc::xadd`: a
    /// memory destination is written before the register, a register one
    /// after it, so that XADD of a register with itself leaves the sum).
    fn xadd(&mut self) -> bool {
        let size = self.op_size(0);
        if !(self.is_gpr(0) || self.is_mem(0)) {
            return false;
        }
        let (at, a) = self.dest(true);
        let src = self.ins.op1_register();
        let b = self.get_reg(src);
        let r = self.b.ins().iadd(a, b);
        let r = self.b.ins().band_imm_s(r, mask(size) as i64);
        if at.is_some() {
            self.write_dest(at, size, r);
            self.set_reg(src, a);
        } else {
            self.set_reg(src, a);
            self.write_dest(at, size, r);
        }
        self.set_flags_lazy(op::ADD, size, r, a, b);
        true
    }

    /// CMPXCHG as the interpreter does it: the accumulator compared with the
    /// destination (the flags of that CMP); if equal, the source goes to the
    /// destination, else the destination's value to the accumulator, and a
    /// memory destination is written back unchanged (a locked cycle always
    /// writes), before the accumulator. A register destination that shares
    /// EAX with the accumulator is left to the interpreter.
    fn cmpxchg(&mut self) -> bool {
        let size = self.op_size(0);
        let acc_reg = accumulator(size);
        let shares_eax = self.is_gpr(0) && gpr_index(self.ins.op0_register()) == Some(0);
        if !(self.is_gpr(0) || self.is_mem(0)) || shares_eax {
            return false;
        }
        let (at, old) = self.dest(true);
        let acc = self.get_reg(acc_reg);
        let src = self.get_reg(self.ins.op1_register());
        let equal = self.b.ins().icmp(IntCC::Equal, acc, old);
        let new = self.b.ins().select(equal, src, old);
        self.write_dest(at, size, new);
        let acc_new = self.b.ins().select(equal, acc, old);
        self.set_reg(acc_reg, acc_new);
        let r = self.b.ins().isub(acc, old);
        let r = self.b.ins().band_imm_s(r, mask(size) as i64);
        self.set_flags_lazy(op::SUB, size, r, acc, old);
        true
    }

    /// BT, BTS, BTR and BTC of a register, or of memory by an immediate (by
    /// a register, the bit offset moves the address: the interpreter's), as
    /// `Cpu::bit_test` does them: CF the bit, the other flags kept, so only
    /// where they are known here ([`Emitter::kept_flags`]).
    fn bit_test(&mut self) -> bool {
        if !(self.is_gpr(0) || self.is_mem(0) && self.ins.op1_kind() != OpKind::Register) {
            return false;
        }
        let Some(kept) = self.kept_flags(true) else { return false };
        let size = self.op_size(0);
        let offset = self.read_src(1);
        let bit = self.b.ins().band_imm_s(offset, (size * 8 - 1) as i64);
        let mn = self.ins.mnemonic();
        let (at, v) = self.dest(mn != Mnemonic::Bt);
        let shifted = self.b.ins().ushr(v, bit);
        let cf = self.b.ins().band_imm_s(shifted, 1);
        if mn != Mnemonic::Bt {
            let one = self.iconst(1);
            let m = self.b.ins().ishl(one, bit);
            let new = match mn {
                Mnemonic::Bts => self.b.ins().bor(v, m),
                Mnemonic::Btr => {
                    let keep = self.b.ins().bnot(m);
                    self.b.ins().band(v, keep)
                }
                _ => self.b.ins().bxor(v, m),
            };
            let new = self.b.ins().band_imm_s(new, mask(size) as i64);
            self.write_dest(at, size, new);
        }
        let arith = self.b.ins().bor(kept, cf);
        self.set_flags_eager(arith);
        true
    }

    /// BSWAP of a 32-bit register (the 16-bit form's undefined result is
    /// the interpreter's: it clears the word).
    fn bswap(&mut self) -> bool {
        let r = self.ins.op0_register();
        let v = if reg_size(r) == 4 {
            let v = self.get_reg(r);
            self.b.ins().bswap(v)
        } else {
            self.iconst(0)
        };
        self.set_reg(r, v);
        true
    }

    /// Whether the translation runs in real mode or at CPL 0 outside
    /// virtual-8086 mode (from its mode key, `Cpu::mode_bits`): where
    /// instructions that check CPL or IOPL against 0 cannot fault.
    fn real_mode_or_ring0(&self) -> bool {
        let key = self.mode.key;
        let (cpl, protected, v86) = ((key >> 2) & 3, key & 1 << 4 != 0, key & 1 << 5 != 0);
        !protected || (cpl == 0 && !v86)
    }

    /// RDTSC where it cannot fault (real mode; CPL 0 outside virtual-8086
    /// mode, where CR4.TSD does not matter): the time-stamp counter from
    /// the clock as `Cpu::tsc` reads it, with the instruction counted.
    fn rdtsc(&mut self) -> bool {
        if !self.mode.tsc || !self.real_mode_or_ring0() {
            return false;
        }
        let left = self.b.use_var(self.budget);
        let base = self.ld(types::I64, ENV + env_offset::ICOUNT_BASE);
        let icount = self.b.ins().isub(base, left);
        let rate_base = self.ld(types::I64, CPU_RATE_BASE);
        let ran = self.b.ins().isub(icount, rate_base);
        let rate = self.ld(types::I64, CPU_RATE);
        let scaled = self.b.ins().imul(ran, rate);
        let scaled = self.b.ins().ushr_imm_s(scaled, crate::cpu::NS_PER_INSN.trailing_zeros() as i64);
        let one_each = self.b.ins().icmp_imm_s(IntCC::Equal, rate, crate::cpu::NS_PER_INSN as i64);
        let ns = self.b.ins().select(one_each, ran, scaled);
        let warp = self.ld(types::I64, CPU_WARP);
        let now = self.b.ins().iadd(warp, ns);
        let offset = self.ld(types::I64, ST_TSC_OFFSET);
        let tsc = self.b.ins().iadd(now, offset);
        let low = self.b.ins().ireduce(types::I32, tsc);
        let high = self.b.ins().ushr_imm_s(tsc, 32);
        let high = self.b.ins().ireduce(types::I32, high);
        self.set_reg(Register::EAX, low);
        self.set_reg(Register::EDX, high);
        true
    }

    /// SF, ZF and PF of a `size`-byte result, as EFLAGS bits.
    fn szp(&mut self, r: Value, size: u32) -> Value {
        let sign = self.b.ins().ushr_imm_s(r, (size * 8 - 1) as i64);
        let sf = self.b.ins().ishl_imm_s(sign, 7);
        let is_zero = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
        let zf = self.b.ins().uextend(types::I32, is_zero);
        let zf = self.b.ins().ishl_imm_s(zf, 6);
        let low = self.b.ins().band_imm_s(r, 0xff);
        let ones = self.b.ins().popcnt(low);
        let odd = self.b.ins().band_imm_s(ones, 1);
        let even = self.b.ins().bxor_imm_s(odd, 1);
        let pf = self.b.ins().ishl_imm_s(even, 2);
        let f = self.b.ins().bor(sf, zf);
        self.b.ins().bor(f, pf)
    }

    /// A shift or rotate by `count` (None: by CL) through the interpreter's
    /// own arithmetic (`helpers::shift`), which leaves the flags in the state.
    fn shift_by_helper(&mut self, count: Option<u32>) -> bool {
        // A count in CL may be zero, and then a memory operand must not be
        // written: the interpreter does those.
        if count.is_none() && !self.is_gpr(0) {
            return false;
        }
        let size = self.op_size(0);
        // Nor is it written by RCL or RCR by a multiple of its width plus one.
        let through_cf = matches!(self.ins.mnemonic(), Mnemonic::Rcl | Mnemonic::Rcr);
        if through_cf && !self.is_gpr(0) && count.is_some_and(|c| c % (8 * size + 1) == 0) {
            return false;
        }
        let mn = match self.ins.mnemonic() {
            Mnemonic::Sal => Mnemonic::Shl,
            m => m,
        };
        let Some(which) = helpers::SHIFTS.iter().position(|&s| s == mn) else { return false };
        let count = match count {
            Some(c) => self.iconst(c),
            None => self.get_reg(Register::CL),
        };
        let (at, a) = self.dest(true);
        self.store_flags();
        let cpu = self.cpu();
        let which = self.iconst(which as u32);
        let width = self.iconst(size);
        let call = self.call_helper(self.h_shift, &[cpu, which, width, a, count]);
        let r = self.b.inst_results(call)[0];
        self.pending = None;
        self.known = None;
        self.write_dest(at, size, r);
        true
    }

    /// SP or ESP, by the stack size.
    fn sp_mask(&self) -> i64 {
        if self.mode.stack32 {
            u32::MAX as i64
        } else {
            0xffff
        }
    }

    /// Stores `v` below the stack pointer; returns the new ESP.
    fn push_value(&mut self, v: Value, size: u32) -> Value {
        let esp = self.reg32(reg::ESP);
        let new = self.b.ins().iadd_imm_s(esp, -(size as i64));
        let sm = self.sp_mask();
        let off = self.b.ins().band_imm_s(new, sm);
        let a = Addr { seg: Seg::SS as u32, offset: off, probed: None, key: None };
        self.store(&a, size, v);
        let keep = self.b.ins().band_imm_s(esp, !sm);
        self.b.ins().bor(keep, off)
    }

    fn push_insn(&mut self) -> bool {
        if self.ins.op0_kind() == OpKind::Register && !self.is_gpr(0) {
            return false; // segment registers
        }
        let size = crate::cpu::Cpu::code_osize(self.ins);
        let v = self.read_src(0);
        let v = self.b.ins().band_imm_s(v, mask(size) as i64);
        let esp = self.push_value(v, size);
        self.def_reg(reg::ESP, esp);
        true
    }

    fn pop_value(&mut self, size: u32) -> (Value, Value) {
        let esp = self.reg32(reg::ESP);
        self.pop_from(esp, size)
    }

    /// Loads `size` bytes from the top of a stack whose pointer is `esp`;
    /// returns them and the pointer above them.
    fn pop_from(&mut self, esp: Value, size: u32) -> (Value, Value) {
        let sm = self.sp_mask();
        let off = self.b.ins().band_imm_s(esp, sm);
        let mut a = Addr { seg: Seg::SS as u32, offset: off, probed: None, key: None };
        let v = self.load(&mut a, size, false);
        let up = self.b.ins().iadd_imm_s(esp, size as i64);
        let up = self.b.ins().band_imm_s(up, sm);
        let keep = self.b.ins().band_imm_s(esp, !sm);
        let esp_new = self.b.ins().bor(keep, up);
        (v, esp_new)
    }

    fn pop_insn(&mut self) -> bool {
        if !self.is_gpr(0) {
            return false;
        }
        let size = crate::cpu::Cpu::code_osize(self.ins);
        let (v, esp) = self.pop_value(size);
        self.def_reg(reg::ESP, esp);
        let r = self.ins.op0_register();
        self.set_reg(r, v);
        true
    }

    /// LEAVE: the stack pointer from the frame pointer (as wide as the
    /// stack), then the frame pointer popped (as wide as the operand). The
    /// stack pointer changes only once the pop has not faulted.
    fn leave(&mut self) -> bool {
        let size = crate::cpu::Cpu::code_osize(self.ins);
        let sm = self.sp_mask();
        let esp = self.reg32(reg::ESP);
        let ebp = self.reg32(reg::EBP);
        let keep = self.b.ins().band_imm_s(esp, !sm);
        let low = self.b.ins().band_imm_s(ebp, sm);
        let frame = self.b.ins().bor(keep, low);
        let (v, esp) = self.pop_from(frame, size);
        self.def_reg(reg::ESP, esp);
        self.set_reg(if size == 4 { Register::EBP } else { Register::BP }, v);
        true
    }

    /// CLI, inline where it cannot fault (real mode; CPL 0 outside
    /// virtual-8086 mode, where CPL <= IOPL always holds): IF clear, in the
    /// pending `bits` when the flags in flight carry them, else in the
    /// state. CLI ends its block (`ends_block`, and so `region::successors`):
    /// the translation leaves for the run loop after it, as it does after
    /// the interpreter. Returns whether the block ended (it does).
    fn cli(&mut self) -> bool {
        if !self.real_mode_or_ring0() {
            return self.fallback();
        }
        match self.pending {
            Some(p) if p.bits.is_some() => {
                let bits = self.b.ins().band_imm_s(p.bits.expect("checked"), !(fl::IF as i64));
                self.pending = Some(Pending { bits: Some(bits), ..p });
            }
            _ => {
                let bits = self.ld(types::I32, FL_BITS);
                let bits = self.b.ins().band_imm_s(bits, !(fl::IF as i64));
                self.st(bits, FL_BITS);
            }
        }
        let next = self.next_eip();
        self.store_state_eip(next);
        self.ret(status::OK);
        true
    }

    /// Near relative target, masked to the operand size.
    fn rel_target(&self) -> u32 {
        match self.ins.op0_kind() {
            OpKind::NearBranch16 => self.ins.near_branch16() as u32,
            _ => self.ins.near_branch32(),
        }
    }

    /// Whether `target` is beyond the CS limit: then the interpreter raises #GP.
    fn beyond_cs_limit(&mut self, target: Value) -> Value {
        let limit = self.ld(types::I32, ST_CS_LIMIT);
        self.b.ins().icmp(IntCC::UnsignedGreaterThan, target, limit)
    }

    /// `guard_limit` for a direct target: nothing to check at run time when it is
    /// within the CS limit the region was compiled under (its extent covers it).
    fn guard_direct(&mut self, target: u32) {
        if target > self.mode.cs_limit {
            let tv = self.iconst(target);
            self.guard_limit(tv);
        }
    }

    /// For a transfer to `target` beyond the CS limit: the interpreter runs the
    /// instruction (and raises #GP(0)).
    fn guard_limit(&mut self, target: Value) {
        let bad = self.beyond_cs_limit(target);
        let slow = self.b.create_block();
        let fine = self.b.create_block();
        self.b.ins().brif(bad, slow, &[], fine, &[]);
        self.enter(slow);
        self.b.set_cold_block(slow);
        self.fallback_terminal();
        self.enter(fine);
    }

    /// Runs the current (terminating) instruction in the interpreter and leaves.
    fn fallback_terminal(&mut self) {
        self.store_state_eip(self.ins.ip32());
        let p = self.insn_ptr();
        let c = self.cpu();
        let call = self.call_helper(self.h_interp, &[c, p]);
        let r = self.b.inst_results(call)[0];
        let is_fault = self.b.ins().icmp_imm_s(IntCC::Equal, r, interp_status::FAULT as i64);
        let st = self.b.ins().uextend(types::I32, is_fault);
        let zero = self.b.ins().iconst(self.ptr, 0);
        self.st(zero, ENV + env_offset::EXIT_SLOT);
        self.b.ins().return_(&[st]);
    }

    fn jmp(&mut self) -> bool {
        match self.ins.op0_kind() {
            OpKind::NearBranch16 | OpKind::NearBranch32 => {
                let t = self.rel_target();
                self.guard_direct(t);
                self.exit_direct(t);
            }
            OpKind::Register | OpKind::Memory if !self.ins.is_jmp_far_indirect() => {
                let size = self.op_size(0);
                let t = self.read_src(0);
                let t = self.b.ins().band_imm_s(t, mask(size) as i64);
                self.guard_limit(t);
                self.exit_indirect(t);
            }
            _ => {
                self.fallback();
            }
        }
        true
    }

    fn call(&mut self) -> bool {
        match self.ins.op0_kind() {
            OpKind::NearBranch16 | OpKind::NearBranch32 => {
                let size = if self.ins.op0_kind() == OpKind::NearBranch16 { 2 } else { 4 };
                let t = self.rel_target();
                self.guard_direct(t);
                let ret = self.next_eip() & mask(size);
                let rv = self.iconst(ret);
                let esp = self.push_value(rv, size);
                self.def_reg(reg::ESP, esp);
                self.exit_direct(t);
            }
            _ => {
                self.fallback();
            }
        }
        true
    }

    fn ret_near(&mut self) -> bool {
        let size = crate::cpu::Cpu::code_osize(self.ins);
        let imm = if self.ins.op_count() > 0 { self.ins.immediate16() as i64 } else { 0 };
        let (t, _) = self.pop_value(size);
        self.guard_limit(t);
        let esp = self.reg32(reg::ESP);
        let sm = self.sp_mask();
        let up = self.b.ins().iadd_imm_s(esp, size as i64 + imm);
        let up = self.b.ins().band_imm_s(up, sm);
        let keep = self.b.ins().band_imm_s(esp, !sm);
        let esp_new = self.b.ins().bor(keep, up);
        self.def_reg(reg::ESP, esp_new);
        self.exit_indirect(t);
        true
    }

    /// A two-way exit: `cond` true goes to `taken`, else to the next instruction.
    /// `commit` holds register updates the instruction makes on both ways (not
    /// made when it is handed to the interpreter for a target beyond the limit).
    fn branch(&mut self, cond: Value, taken: u32, commit: &[(usize, Value)]) {
        if taken <= self.mode.cs_limit {
            // Within the limit it was compiled under, which the translation is
            // only ever run under (its extent covers the target).
            for (r, v) in commit {
                self.def_reg(*r, *v);
            }
            let yes = self.b.create_block();
            let no = self.b.create_block();
            self.b.ins().brif(cond, yes, &[], no, &[]);
            self.enter(yes);
            self.exit_direct(taken);
            self.continue_in(no);
            let next = self.next_eip();
            self.exit_direct(next);
            return;
        }
        let tv = self.iconst(taken);
        let bad = self.beyond_cs_limit(tv);
        let ok = self.b.ins().bxor_imm_s(bad, 1);
        let take = self.b.ins().band(cond, ok);
        let check_bad = self.b.ins().band(cond, bad);
        let yes = self.b.create_block();
        let no = self.b.create_block();
        let slow = self.b.create_block();
        let rest = self.b.create_block();
        self.b.ins().brif(check_bad, slow, &[], rest, &[]);
        self.enter(slow);
        self.b.set_cold_block(slow);
        self.fallback_terminal();
        self.enter(rest);
        for (r, v) in commit {
            self.def_reg(*r, *v);
        }
        self.b.ins().brif(take, yes, &[], no, &[]);
        self.enter(yes);
        self.exit_direct(taken);
        self.continue_in(no);
        let next = self.next_eip();
        self.exit_direct(next);
    }

    fn jcc(&mut self) -> bool {
        let cc = cc_nibble(self.ins.condition_code());
        let c = self.condition(cc);
        let t = self.rel_target();
        self.branch(c, t, &[]);
        true
    }

    fn loop_insn(&mut self) -> bool {
        let m = if self.ins.code().op_code().address_size() == 16 { 0xffff } else { u32::MAX as i64 };
        let ecx = self.reg32(reg::ECX);
        let dec = self.b.ins().iadd_imm_s(ecx, -1);
        let count = self.b.ins().band_imm_s(dec, m);
        let keep = self.b.ins().band_imm_s(ecx, !m);
        let new = self.b.ins().bor(keep, count);
        let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, count, 0);
        let cond = match self.ins.mnemonic() {
            Mnemonic::Loope => {
                let zf = self.condition(0x4);
                self.b.ins().band(nonzero, zf)
            }
            Mnemonic::Loopne => {
                let nzf = self.condition(0x5);
                self.b.ins().band(nonzero, nzf)
            }
            _ => nonzero,
        };
        let t = self.rel_target();
        self.branch(cond, t, &[(reg::ECX, new)]);
        true
    }
}

/// Link slots of a region's translation; further direct exits leave through
/// the jump cache only.
pub(crate) const EXITS: usize = 8;

fn is_cmovcc(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Cmovo
            | M::Cmovno
            | M::Cmovb
            | M::Cmovae
            | M::Cmove
            | M::Cmovne
            | M::Cmovbe
            | M::Cmova
            | M::Cmovs
            | M::Cmovns
            | M::Cmovp
            | M::Cmovnp
            | M::Cmovl
            | M::Cmovge
            | M::Cmovle
            | M::Cmovg
    )
}

/// The explicit memory operand of `ins`, if it has one.
fn memory_operand(ins: &Instruction) -> Option<u32> {
    (0..ins.op_count()).find(|&i| ins.op_kind(i) == OpKind::Memory)
}

/// Whether an operand access writes (perhaps reading first, perhaps not at all).
fn is_write(access: OpAccess) -> bool {
    matches!(access, OpAccess::Write | OpAccess::ReadWrite | OpAccess::CondWrite | OpAccess::ReadCondWrite)
}

/// Whether an operand access only reads.
fn is_read_only(access: OpAccess) -> bool {
    matches!(access, OpAccess::Read | OpAccess::CondRead)
}

/// Whether the instruction `info` describes writes any of the general
/// registers `regs` (indices, as [`gpr_index`] gives them).
fn changes_any(info: &iced_x86::InstructionInfo, regs: [Option<usize>; 2]) -> bool {
    info.used_registers().iter().any(|u| {
        writes_register(u.access()) && gpr_index(u.register()).is_some_and(|i| regs.contains(&Some(i)))
    })
}

/// Whether a register access (iced-x86's used register) may write it: all
/// but reads (a register used only for an address is read).
fn writes_register(access: OpAccess) -> bool {
    !matches!(access, OpAccess::Read | OpAccess::CondRead | OpAccess::NoMemAccess)
}

/// A string instruction (LODS, STOS, SCAS, MOVS, CMPS, INS, OUTS): one of
/// its operands is addressed by (E)SI or (E)DI.
fn is_string(ins: &Instruction) -> bool {
    (0..ins.op_count()).any(|n| {
        matches!(
            ins.op_kind(n),
            OpKind::MemorySegSI | OpKind::MemorySegESI | OpKind::MemoryESDI | OpKind::MemoryESEDI
        )
    })
}

/// A string instruction with a REP prefix (it counts one per iteration).
fn is_rep_string(ins: &Instruction) -> bool {
    is_string(ins) && (ins.has_rep_prefix() || ins.has_repne_prefix())
}

fn is_setcc(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Seto
            | M::Setno
            | M::Setb
            | M::Setae
            | M::Sete
            | M::Setne
            | M::Setbe
            | M::Seta
            | M::Sets
            | M::Setns
            | M::Setp
            | M::Setnp
            | M::Setl
            | M::Setge
            | M::Setle
            | M::Setg
    )
}
