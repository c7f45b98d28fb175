//! Cranelift IR for one block of guest code.
//!
//! The emitter walks the block's instructions. The general registers, EFLAGS (in
//! the lazy form of `crate::flags`) and the clock are Cranelift variables, loaded
//! from the state at entry and stored back at every exit, before every helper
//! call and on every fault path. An instruction only changes variables after all
//! of its memory accesses succeeded, so a fault path stores exactly the state
//! after the previous instruction. Within a block the emitter also remembers
//! which operation set the flags (`Known`), so conditions and carries are
//! computed straight from its operands without materializing EFLAGS.

use std::mem::offset_of;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block as IrBlock, FuncRef, InstBuilder, MemFlagsData, SigRef, Type, Value,
};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::Module;
use iced_x86::{Instruction, Mnemonic, OpKind, Register};
use vemu_block_cache::Links;
use vemu_decoder::{ends_block, Block};

use super::helpers::{interp_status, write_status, HelperIds};
use super::{block_signature, env_offset, status, JitError};
use crate::flags::{op, Flags};
use crate::interp::{addr16, data::cc_nibble, mask, reg_size, seg_of};
use crate::state::{fl, reg, CpuState, Seg, Segment};

/// What a translation depends on besides the code bytes (all part of the block key).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mode {
    /// 16 or 32: EIP wraps at 64 KiB in 16-bit code.
    pub bitness: u32,
    /// SS.B: pushes and pops move ESP (or only SP).
    pub stack32: bool,
    /// CPL 3: accesses use the user TLB set.
    pub user: bool,
    /// Call the tracer before every instruction.
    pub traced: bool,
}

const TLB_ENTRY_SIZE: i64 = std::mem::size_of::<vemu_softmmu::TlbEntry>() as i64;
const TLB_READ_TAG: i32 = offset_of!(vemu_softmmu::TlbEntry, read_tag) as i32;
const TLB_WRITE_TAG: i32 = offset_of!(vemu_softmmu::TlbEntry, write_tag) as i32;
const TLB_ADDEND: i32 = offset_of!(vemu_softmmu::TlbEntry, addend) as i32;

const ST_REGS: i32 = offset_of!(CpuState, regs) as i32;
const ST_EIP: i32 = offset_of!(CpuState, eip) as i32;
const ST_FLAGS: i32 = offset_of!(CpuState, flags) as i32;
const FL_BITS: i32 = ST_FLAGS + offset_of!(Flags, bits) as i32;
const FL_OP: i32 = ST_FLAGS + offset_of!(Flags, op) as i32;
const FL_RES: i32 = ST_FLAGS + offset_of!(Flags, res) as i32;
const FL_SRC1: i32 = ST_FLAGS + offset_of!(Flags, src1) as i32;
const FL_SRC2: i32 = ST_FLAGS + offset_of!(Flags, src2) as i32;
const ST_CS_LIMIT: i32 = (offset_of!(CpuState, segs)
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
}

struct Emitter<'a, 'b> {
    b: FunctionBuilder<'a>,
    ptr: Type,
    cpu: Value,
    state: Value,
    env: Value,
    regs: [Variable; 8],
    f_bits: Variable,
    f_op: Variable,
    f_res: Variable,
    f_src1: Variable,
    f_src2: Variable,
    icount: Variable,
    known: Option<Known>,
    h_read: FuncRef,
    h_write: FuncRef,
    h_interp: FuncRef,
    h_cond: FuncRef,
    h_trace: FuncRef,
    block_sig: SigRef,
    mode: Mode,
    links: &'b Links,
    next_slot: usize,
    /// The instruction being emitted.
    ins: &'b Instruction,
}

/// Emits `block` into `ctx.func` (whose signature and name the caller set).
pub(crate) fn emit_block(
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    helpers: &HelperIds,
    block: &Block,
    mode: Mode,
    links: &Links,
) -> Result<(), JitError> {
    let ptr = module.target_config().pointer_type();
    let h_read = module.declare_func_in_func(helpers.read, &mut ctx.func);
    let h_write = module.declare_func_in_func(helpers.write, &mut ctx.func);
    let h_interp = module.declare_func_in_func(helpers.interp, &mut ctx.func);
    let h_cond = module.declare_func_in_func(helpers.condition, &mut ctx.func);
    let h_trace = module.declare_func_in_func(helpers.trace, &mut ctx.func);
    let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
    let block_sig = b.import_signature(block_signature(ptr));
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (cpu, state, env) = (params[0], params[1], params[2]);

    // The budget: leave at once, state untouched, when it is spent.
    let budget = b.ins().load(types::I64, mf(), env, env_offset::BUDGET);
    let spent = b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, budget, 0);
    let budget = b.ins().iadd_imm_s(budget, -(block.insns.len() as i64));
    b.ins().store(mf(), budget, env, env_offset::BUDGET);
    let out = b.create_block();
    let body = b.create_block();
    b.ins().brif(spent, out, &[], body, &[]);
    b.switch_to_block(out);
    b.set_cold_block(out);
    let zero = b.ins().iconst(ptr, 0);
    b.ins().store(mf(), zero, env, env_offset::EXIT_SLOT);
    let ok = b.ins().iconst(types::I32, status::OK as i64);
    b.ins().return_(&[ok]);
    b.switch_to_block(body);

    let regs = std::array::from_fn(|_| b.declare_var(types::I32));
    let f_bits = b.declare_var(types::I32);
    let f_op = b.declare_var(types::I32);
    let f_res = b.declare_var(types::I32);
    let f_src1 = b.declare_var(types::I32);
    let f_src2 = b.declare_var(types::I32);
    let icount = b.declare_var(types::I64);
    let first = &block.insns[0];
    let mut e = Emitter {
        b,
        ptr,
        cpu,
        state,
        env,
        regs,
        f_bits,
        f_op,
        f_res,
        f_src1,
        f_src2,
        icount,
        known: None,
        h_read,
        h_write,
        h_interp,
        h_cond,
        h_trace,
        block_sig,
        mode,
        links,
        next_slot: 0,
        ins: first,
    };
    e.load_state();
    let last = block.insns.len() - 1;
    for (i, ins) in block.insns.iter().enumerate() {
        e.ins = ins;
        let ic = e.b.use_var(e.icount);
        let ic = e.b.ins().iadd_imm_s(ic, 1);
        e.b.def_var(e.icount, ic);
        if mode.traced {
            e.store_state_eip(ins.ip32());
            let p = e.insn_ptr();
            e.b.ins().call(e.h_trace, &[e.cpu, p]);
        }
        let ended = e.instruction();
        if ended {
            break;
        }
        if i == last {
            // The block stops before its next instruction (page, cap, fetch):
            // go on there.
            let next = e.next_eip();
            e.exit_direct(next);
        }
    }
    e.b.seal_all_blocks();
    e.b.finalize(module.target_config());
    Ok(())
}

impl Emitter<'_, '_> {
    // ---- state ----------------------------------------------------------------------

    fn load_state(&mut self) {
        for (i, v) in self.regs.iter().enumerate() {
            let x = self.b.ins().load(types::I32, mf(), self.state, ST_REGS + 4 * i as i32);
            self.b.def_var(*v, x);
        }
        for (var, off) in [
            (self.f_bits, FL_BITS),
            (self.f_op, FL_OP),
            (self.f_res, FL_RES),
            (self.f_src1, FL_SRC1),
            (self.f_src2, FL_SRC2),
        ] {
            let x = self.b.ins().load(types::I32, mf(), self.state, off);
            self.b.def_var(var, x);
        }
        let ic = self.b.ins().load(types::I64, mf(), self.env, env_offset::ICOUNT);
        self.b.def_var(self.icount, ic);
        self.known = None;
    }

    fn store_flags(&mut self) {
        for (var, off) in [
            (self.f_bits, FL_BITS),
            (self.f_op, FL_OP),
            (self.f_res, FL_RES),
            (self.f_src1, FL_SRC1),
            (self.f_src2, FL_SRC2),
        ] {
            let x = self.b.use_var(var);
            self.b.ins().store(mf(), x, self.state, off);
        }
    }

    /// Stores registers, flags and the clock, and `eip`.
    fn store_state(&mut self, eip: Value) {
        for (i, v) in self.regs.iter().enumerate() {
            let x = self.b.use_var(*v);
            self.b.ins().store(mf(), x, self.state, ST_REGS + 4 * i as i32);
        }
        self.store_flags();
        self.b.ins().store(mf(), eip, self.state, ST_EIP);
        let ic = self.b.use_var(self.icount);
        self.b.ins().store(mf(), ic, self.env, env_offset::ICOUNT);
    }

    fn store_state_eip(&mut self, eip: u32) {
        let e = self.b.ins().iconst(types::I32, eip as i64);
        self.store_state(e);
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

    /// Leaves with the state stored and status `s` (no link).
    fn ret(&mut self, s: u32) {
        let zero = self.b.ins().iconst(self.ptr, 0);
        self.b.ins().store(mf(), zero, self.env, env_offset::EXIT_SLOT);
        let st = self.b.ins().iconst(types::I32, s as i64);
        self.b.ins().return_(&[st]);
    }

    /// Leaves for `eip` through the next link slot: jumps straight into the
    /// target's translation when the slot is linked.
    fn exit_direct(&mut self, eip: u32) {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.store_state_eip(eip);
        let addr = self.links.slot_address(slot);
        let slot_ptr = self.b.ins().iconst(self.ptr, addr as i64);
        self.b.ins().store(mf(), slot_ptr, self.env, env_offset::EXIT_SLOT);
        let target = self.b.ins().load(self.ptr, mf(), slot_ptr, 0);
        let linked = self.b.create_block();
        let unlinked = self.b.create_block();
        self.b.ins().brif(target, linked, &[], unlinked, &[]);
        self.b.switch_to_block(linked);
        self.b.ins().return_call_indirect(self.block_sig, target, &[self.cpu, self.state, self.env]);
        self.b.switch_to_block(unlinked);
        let st = self.b.ins().iconst(types::I32, status::OK as i64);
        self.b.ins().return_(&[st]);
    }

    /// Leaves for a computed EIP (returns, indirect jumps).
    fn exit_indirect(&mut self, eip: Value) {
        self.store_state(eip);
        self.ret(status::OK);
    }

    /// Continues in a fresh Cranelift block (after a conditional exit).
    fn continue_in(&mut self, blk: IrBlock) {
        self.b.switch_to_block(blk);
    }

    // ---- registers ------------------------------------------------------------------------

    fn get_reg(&mut self, r: Register) -> Value {
        let n = r as usize;
        match n {
            1..=8 => {
                let idx = (n - 1) & 3;
                let v = self.b.use_var(self.regs[idx]);
                if n >= 5 {
                    let s = self.b.ins().ushr_imm_s(v, 8);
                    self.b.ins().band_imm_s(s, 0xff)
                } else {
                    self.b.ins().band_imm_s(v, 0xff)
                }
            }
            21..=28 => {
                let v = self.b.use_var(self.regs[n - 21]);
                self.b.ins().band_imm_s(v, 0xffff)
            }
            _ => self.b.use_var(self.regs[n - 37]),
        }
    }

    fn set_reg(&mut self, r: Register, v: Value) {
        let n = r as usize;
        match n {
            1..=8 => {
                let idx = (n - 1) & 3;
                let old = self.b.use_var(self.regs[idx]);
                let byte = self.b.ins().band_imm_s(v, 0xff);
                let new = if n >= 5 {
                    let keep = self.b.ins().band_imm_s(old, !0xff00);
                    let sh = self.b.ins().ishl_imm_s(byte, 8);
                    self.b.ins().bor(keep, sh)
                } else {
                    let keep = self.b.ins().band_imm_s(old, !0xff);
                    self.b.ins().bor(keep, byte)
                };
                self.b.def_var(self.regs[idx], new);
            }
            21..=28 => {
                let old = self.b.use_var(self.regs[n - 21]);
                let keep = self.b.ins().band_imm_s(old, !0xffff);
                let w = self.b.ins().band_imm_s(v, 0xffff);
                let new = self.b.ins().bor(keep, w);
                self.b.def_var(self.regs[n - 21], new);
            }
            _ => self.b.def_var(self.regs[n - 37], v),
        }
    }

    fn reg32(&mut self, i: usize) -> Value {
        self.b.use_var(self.regs[i])
    }

    // ---- memory -----------------------------------------------------------------------------

    /// The memory operand's segment and offset (wrapped to the address size).
    fn addr(&mut self) -> Addr {
        let ins = self.ins;
        let mut a = self.iconst(ins.memory_displacement32());
        if ins.memory_base() != Register::None {
            let base = self.get_reg(ins.memory_base());
            a = self.b.ins().iadd(a, base);
        }
        if ins.memory_index() != Register::None {
            let idx = self.get_reg(ins.memory_index());
            let scaled = self.b.ins().imul_imm_s(idx, ins.memory_index_scale() as i64);
            a = self.b.ins().iadd(a, scaled);
        }
        if addr16(ins) {
            a = self.b.ins().band_imm_s(a, 0xffff);
        }
        Addr { seg: seg_of(ins.memory_segment()) as u32, offset: a }
    }

    /// The fast-path test of an access: in the segment's plain limit and a TLB
    /// hit; returns (ok, host address if ok).
    fn probe(&mut self, a: &Addr, size: u32, write: bool) -> (Value, Value) {
        let seg = a.seg as i32;
        let base = self.b.ins().load(types::I32, mf(), self.env, env_offset::SEG_BASE + 4 * seg);
        let lim_off = if write { env_offset::SEG_WRITE_LIMIT } else { env_offset::SEG_READ_LIMIT };
        let limit = self.b.ins().load(types::I64, mf(), self.env, lim_off + 8 * seg);
        let off64 = self.b.ins().uextend(types::I64, a.offset);
        let last = self.b.ins().iadd_imm_s(off64, size as i64 - 1);
        let seg_ok = self.b.ins().icmp(IntCC::SignedLessThanOrEqual, last, limit);
        let lin = self.b.ins().iadd(base, a.offset);
        let lin_last = self.b.ins().iadd_imm_s(lin, size as i64 - 1);
        let page = self.b.ins().band_imm_s(lin_last, !0xfff);
        let idx = self.b.ins().ushr_imm_s(lin, 12);
        let idx = self.b.ins().band_imm_s(idx, (vemu_softmmu::TLB_ENTRIES - 1) as i64);
        let idx = self.b.ins().uextend(self.ptr, idx);
        let off = self.b.ins().imul_imm_s(idx, TLB_ENTRY_SIZE);
        let tlb = self.b.ins().load(self.ptr, mf(), self.env, env_offset::TLB);
        let entry = self.b.ins().iadd(tlb, off);
        let tag =
            self.b.ins().load(types::I32, mf(), entry, if write { TLB_WRITE_TAG } else { TLB_READ_TAG });
        let tlb_ok = self.b.ins().icmp(IntCC::Equal, tag, page);
        let ok = self.b.ins().band(seg_ok, tlb_ok);
        let addend = self.b.ins().load(self.ptr, mf(), entry, TLB_ADDEND);
        let lin64 = self.b.ins().uextend(self.ptr, lin);
        let host = self.b.ins().iadd(addend, lin64);
        (ok, host)
    }

    /// Loads `size` bytes (zero-extended); `rmw` checks the access as a write.
    fn load(&mut self, a: &Addr, size: u32, rmw: bool) -> Value {
        let (ok, host) = self.probe(a, size, rmw);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let done = self.b.create_block();
        let v = self.b.append_block_param(done, types::I32);
        self.b.ins().brif(ok, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        let x = match size {
            1 => self.b.ins().uload8(types::I32, mf(), host, 0),
            2 => self.b.ins().uload16(types::I32, mf(), host, 0),
            _ => self.b.ins().load(types::I32, mf(), host, 0),
        };
        self.b.ins().jump(done, &[x.into()]);
        self.b.switch_to_block(slow);
        self.b.set_cold_block(slow);
        self.store_state_eip(self.ins.ip32());
        let seg = self.iconst(a.seg);
        let sz = self.iconst(size);
        let rmw_v = self.iconst(rmw as u32);
        let call = self.b.ins().call(self.h_read, &[self.cpu, seg, a.offset, sz, rmw_v]);
        let r = self.b.inst_results(call)[0];
        let failed = self.b.ins().icmp_imm_s(IntCC::Equal, r, -1);
        let fail = self.b.create_block();
        let good = self.b.create_block();
        self.b.ins().brif(failed, fail, &[], good, &[]);
        self.b.switch_to_block(fail);
        self.b.set_cold_block(fail);
        self.ret(status::FAULT);
        self.b.switch_to_block(good);
        let r32 = self.b.ins().ireduce(types::I32, r);
        self.b.ins().jump(done, &[r32.into()]);
        self.b.switch_to_block(done);
        v
    }

    /// Stores `size` bytes; returns a value that is non-zero when a page holding
    /// code was written (the block must be left after this instruction).
    fn store(&mut self, a: &Addr, size: u32, v: Value) -> Value {
        let (ok, host) = self.probe(a, size, true);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let done = self.b.create_block();
        let smc = self.b.append_block_param(done, types::I32);
        self.b.ins().brif(ok, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        match size {
            1 => self.b.ins().istore8(mf(), v, host, 0),
            2 => self.b.ins().istore16(mf(), v, host, 0),
            _ => self.b.ins().store(mf(), v, host, 0),
        };
        let zero = self.iconst(0);
        self.b.ins().jump(done, &[zero.into()]);
        self.b.switch_to_block(slow);
        self.b.set_cold_block(slow);
        self.store_state_eip(self.ins.ip32());
        let seg = self.iconst(a.seg);
        let sz = self.iconst(size);
        let call = self.b.ins().call(self.h_write, &[self.cpu, seg, a.offset, sz, v]);
        let r = self.b.inst_results(call)[0];
        let failed = self.b.ins().icmp_imm_s(IntCC::Equal, r, write_status::FAULT as i64);
        let fail = self.b.create_block();
        let good = self.b.create_block();
        self.b.ins().brif(failed, fail, &[], good, &[]);
        self.b.switch_to_block(fail);
        self.b.set_cold_block(fail);
        self.ret(status::FAULT);
        self.b.switch_to_block(good);
        let code = self.b.ins().icmp_imm_s(IntCC::Equal, r, write_status::CODE_WRITTEN as i64);
        let code = self.b.ins().uextend(types::I32, code);
        self.b.ins().jump(done, &[code.into()]);
        self.b.switch_to_block(done);
        smc
    }

    /// After an instruction that stored: leave if code was written.
    fn after_store(&mut self, smc: Value) {
        let leave = self.b.create_block();
        let go_on = self.b.create_block();
        self.b.ins().brif(smc, leave, &[], go_on, &[]);
        self.b.switch_to_block(leave);
        self.b.set_cold_block(leave);
        let next = self.next_eip();
        self.store_state_eip(next);
        self.ret(status::OK);
        self.b.switch_to_block(go_on);
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
        let a = self.addr();
        let size = self.op_size(n);
        self.load(&a, size, false)
    }

    // ---- flags -------------------------------------------------------------------------------

    fn set_flags_lazy(&mut self, kind: u32, size: u32, res: Value, src1: Value, src2: Value) {
        let opv = kind | op::size_code(size * 8);
        if kind == op::INC || kind == op::DEC {
            // CF survives: keep it in `bits`.
            let cf = self.cf();
            let cf = self.b.ins().uextend(types::I32, cf);
            let bits = self.b.use_var(self.f_bits);
            let bits = self.b.ins().band_imm_s(bits, !(fl::CF as i64));
            let bits = self.b.ins().bor(bits, cf);
            self.b.def_var(self.f_bits, bits);
        }
        let o = self.iconst(opv);
        self.b.def_var(self.f_op, o);
        self.b.def_var(self.f_res, res);
        self.b.def_var(self.f_src1, src1);
        self.b.def_var(self.f_src2, src2);
        self.known = Some(Known { op: opv, res, src1, src2 });
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
        self.store_flags();
        let c = self.iconst(cc as u32);
        let call = self.b.ins().call(self.h_cond, &[self.cpu, c]);
        let r = self.b.inst_results(call)[0];
        self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0)
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
        Some(if cc & 1 != 0 { self.b.ins().bxor_imm_s(base, 1) } else { base })
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
            M::Shl | M::Sal | M::Shr | M::Sar => self.shift(),
            M::Push => self.push_insn(),
            M::Pop => self.pop_insn(),
            M::Nop => true,
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

    /// The instruction runs in the interpreter; returns whether the block ended.
    fn fallback(&mut self) -> bool {
        let terminator = ends_block(self.ins);
        self.store_state_eip(self.ins.ip32());
        let p = self.insn_ptr();
        let call = self.b.ins().call(self.h_interp, &[self.cpu, p]);
        let r = self.b.inst_results(call)[0];
        let fault = self.b.create_block();
        let other = self.b.create_block();
        let is_fault = self.b.ins().icmp_imm_s(IntCC::Equal, r, interp_status::FAULT as i64);
        self.b.ins().brif(is_fault, fault, &[], other, &[]);
        self.b.switch_to_block(fault);
        self.b.set_cold_block(fault);
        self.ret(status::FAULT);
        self.b.switch_to_block(other);
        if terminator {
            self.ret(status::OK);
            return true;
        }
        let leave = self.b.create_block();
        let go_on = self.b.create_block();
        let is_exit = self.b.ins().icmp_imm_s(IntCC::Equal, r, interp_status::EXIT as i64);
        self.b.ins().brif(is_exit, leave, &[], go_on, &[]);
        self.b.switch_to_block(leave);
        self.ret(status::OK);
        self.b.switch_to_block(go_on);
        self.load_state();
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
            let smc = self.store(&a, size, v);
            self.finish(Some(smc));
            return true;
        }
        false
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
            let a = self.addr();
            let v = self.load(&a, size, rmw);
            (Some(a), v)
        }
    }

    /// Writes the destination back; returns the store's code flag, if it stored.
    fn write_dest(&mut self, at: Option<Addr>, size: u32, v: Value) -> Option<Value> {
        match at {
            None => {
                let r = self.ins.op0_register();
                self.set_reg(r, v);
                None
            }
            Some(a) => Some(self.store(&a, size, v)),
        }
    }

    /// Ends an instruction whose effects are all in the variables: leaves the
    /// block if its store wrote code.
    fn finish(&mut self, smc: Option<Value>) {
        if let Some(smc) = smc {
            self.after_store(smc);
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
                let smc = if is_cmp { None } else { self.write_dest(at, size, r) };
                self.b.def_var(self.f_op, opv);
                self.b.def_var(self.f_res, r);
                self.b.def_var(self.f_src1, a);
                self.b.def_var(self.f_src2, b);
                self.known = None;
                self.finish(smc);
                return true;
            }
        };
        let r = self.b.ins().band_imm_s(r, m);
        let smc = if is_cmp { None } else { self.write_dest(at, size, r) };
        self.set_flags_lazy(kind, size, r, a, b);
        self.finish(smc);
        true
    }

    fn logic(&mut self) -> bool {
        let size = self.op_size(0);
        if !(self.is_gpr(0) || self.is_mem(0)) {
            return false;
        }
        let test = self.ins.mnemonic() == Mnemonic::Test;
        let (at, a) = self.dest(!test);
        let b = self.read_src(1);
        let b = self.b.ins().band_imm_s(b, mask(size) as i64);
        let r = match self.ins.mnemonic() {
            Mnemonic::Or => self.b.ins().bor(a, b),
            Mnemonic::Xor => self.b.ins().bxor(a, b),
            _ => self.b.ins().band(a, b),
        };
        let smc = if test { None } else { self.write_dest(at, size, r) };
        let zero = self.iconst(0);
        self.set_flags_lazy(op::LOGIC, size, r, zero, zero);
        self.finish(smc);
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
        let smc = self.write_dest(at, size, r);
        self.set_flags_lazy(kind, size, r, a, one);
        self.finish(smc);
        true
    }

    fn neg_not(&mut self) -> bool {
        let size = self.op_size(0);
        let (at, a) = self.dest(true);
        let m = mask(size) as i64;
        if self.ins.mnemonic() == Mnemonic::Not {
            let r = self.b.ins().bnot(a);
            let r = self.b.ins().band_imm_s(r, m);
            let smc = self.write_dest(at, size, r);
            self.finish(smc);
            return true;
        }
        let r = self.b.ins().ineg(a);
        let r = self.b.ins().band_imm_s(r, m);
        let smc = self.write_dest(at, size, r);
        let zero = self.iconst(0);
        self.set_flags_lazy(op::SUB, size, r, zero, a);
        self.finish(smc);
        true
    }

    fn shift(&mut self) -> bool {
        let size = self.op_size(0);
        let m = mask(size) as i64;
        // Only counts known at translation time (1 or an immediate) are inline.
        let count = match self.ins.op_count() {
            1 => 1,
            _ => match self.ins.op1_kind() {
                OpKind::Immediate8 => self.ins.immediate8() as u32 & 0x1f,
                _ => return false,
            },
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
                let narrow = match size {
                    1 => Some(types::I8),
                    2 => Some(types::I16),
                    _ => None,
                };
                let sa = match narrow {
                    Some(t) => {
                        let n = self.b.ins().ireduce(t, a);
                        self.b.ins().sextend(types::I32, n)
                    }
                    None => a,
                };
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
        let smc = self.write_dest(at, size, r);
        let zero = self.iconst(0);
        self.set_flags_lazy(kind, size, r, before, zero);
        self.finish(smc);
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

    /// Stores `v` below the stack pointer; returns the new ESP and the code flag.
    fn push_value(&mut self, v: Value, size: u32) -> (Value, Value) {
        let esp = self.reg32(reg::ESP);
        let new = self.b.ins().iadd_imm_s(esp, -(size as i64));
        let sm = self.sp_mask();
        let off = self.b.ins().band_imm_s(new, sm);
        let a = Addr { seg: Seg::SS as u32, offset: off };
        let smc = self.store(&a, size, v);
        let keep = self.b.ins().band_imm_s(esp, !sm);
        let esp_new = self.b.ins().bor(keep, off);
        (esp_new, smc)
    }

    fn push_insn(&mut self) -> bool {
        if self.ins.op0_kind() == OpKind::Register && !self.is_gpr(0) {
            return false; // segment registers
        }
        let size = crate::cpu::Cpu::code_osize(self.ins);
        let v = self.read_src(0);
        let v = self.b.ins().band_imm_s(v, mask(size) as i64);
        let (esp, smc) = self.push_value(v, size);
        self.b.def_var(self.regs[reg::ESP], esp);
        self.finish(Some(smc));
        true
    }

    fn pop_value(&mut self, size: u32) -> (Value, Value) {
        let esp = self.reg32(reg::ESP);
        let sm = self.sp_mask();
        let off = self.b.ins().band_imm_s(esp, sm);
        let a = Addr { seg: Seg::SS as u32, offset: off };
        let v = self.load(&a, size, false);
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
        self.b.def_var(self.regs[reg::ESP], esp);
        let r = self.ins.op0_register();
        self.set_reg(r, v);
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
        let limit = self.b.ins().load(types::I32, mf(), self.state, ST_CS_LIMIT);
        self.b.ins().icmp(IntCC::UnsignedGreaterThan, target, limit)
    }

    /// For a transfer to `target` beyond the CS limit: the interpreter runs the
    /// instruction (and raises #GP(0)).
    fn guard_limit(&mut self, target: Value) {
        let bad = self.beyond_cs_limit(target);
        let slow = self.b.create_block();
        let fine = self.b.create_block();
        self.b.ins().brif(bad, slow, &[], fine, &[]);
        self.b.switch_to_block(slow);
        self.b.set_cold_block(slow);
        self.fallback_terminal();
        self.b.switch_to_block(fine);
    }

    /// Runs the current (terminating) instruction in the interpreter and leaves.
    fn fallback_terminal(&mut self) {
        self.store_state_eip(self.ins.ip32());
        let p = self.insn_ptr();
        let call = self.b.ins().call(self.h_interp, &[self.cpu, p]);
        let r = self.b.inst_results(call)[0];
        let is_fault = self.b.ins().icmp_imm_s(IntCC::Equal, r, interp_status::FAULT as i64);
        let st = self.b.ins().uextend(types::I32, is_fault);
        let zero = self.b.ins().iconst(self.ptr, 0);
        self.b.ins().store(mf(), zero, self.env, env_offset::EXIT_SLOT);
        self.b.ins().return_(&[st]);
    }

    fn jmp(&mut self) -> bool {
        match self.ins.op0_kind() {
            OpKind::NearBranch16 | OpKind::NearBranch32 => {
                let t = self.rel_target();
                let tv = self.iconst(t);
                self.guard_limit(tv);
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
                let tv = self.iconst(t);
                self.guard_limit(tv);
                let ret = self.next_eip() & mask(size);
                let rv = self.iconst(ret);
                let (esp, smc) = self.push_value(rv, size);
                self.b.def_var(self.regs[reg::ESP], esp);
                // A return address pushed onto a page of code: back to the run
                // loop (at the target) instead of chaining into stale code.
                let leave = self.b.create_block();
                let go_on = self.b.create_block();
                self.b.ins().brif(smc, leave, &[], go_on, &[]);
                self.b.switch_to_block(leave);
                self.b.set_cold_block(leave);
                self.store_state_eip(t);
                self.ret(status::OK);
                self.b.switch_to_block(go_on);
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
        self.b.def_var(self.regs[reg::ESP], esp_new);
        self.exit_indirect(t);
        true
    }

    /// A two-way exit: `cond` true goes to `taken`, else to the next instruction.
    /// `commit` holds register updates the instruction makes on both ways (not
    /// made when it is handed to the interpreter for a target beyond the limit).
    fn branch(&mut self, cond: Value, taken: u32, commit: &[(usize, Value)]) {
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
        self.b.switch_to_block(slow);
        self.b.set_cold_block(slow);
        self.fallback_terminal();
        self.b.switch_to_block(rest);
        for (r, v) in commit {
            self.b.def_var(self.regs[*r], *v);
        }
        self.b.ins().brif(take, yes, &[], no, &[]);
        self.b.switch_to_block(yes);
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

/// Link slots a block's translation uses: at most two direct exits (a
/// conditional branch, or a jump and the fall-through never both).
pub(crate) const EXITS: usize = 2;
