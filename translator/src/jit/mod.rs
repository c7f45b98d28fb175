//! The Cranelift tier: a region of guest code becomes one host function.
//!
//! A region is a decoded block plus the blocks on the same page it branches to
//! directly (`Cpu::region`), so a loop runs inside one function with the guest
//! registers in host registers. Moves, ALU operations with their (lazily kept)
//! flags, shifts, compares with conditional branches, pushes and pops, near calls
//! and returns, and loads and stores are emitted inline; loads and stores probe
//! the software TLB inline and call a helper only on a miss, an MMIO or ROM page,
//! a page holding code, or a segment access that is not a plain in-limit one.
//! Every other instruction (all of the VMM layer, string instructions, rare
//! instructions) becomes a call to the interpreter's own implementation, so both
//! tiers share one definition of it.
//!
//! Guest registers and flags live in Cranelift variables inside a region and go
//! back to [`CpuState`] at every exit and before every helper call; a fault exits
//! with the state exactly as after the last completed instruction (invariant 2).
//!
//! Translations use Cranelift's `tail` calling convention, so an exit that is
//! linked to its target's translation ([`vemu_block_cache::Links`]), or whose
//! target is in the jump cache ([`JmpEntry`]), jumps straight into it; an
//! instruction budget in [`JitEnv`] returns control to the run loop every few
//! thousand guest instructions. Generated code is never freed one translation at
//! a time: when enough has been compiled, the whole module is dropped at a safe
//! point in the run loop and everything is compiled again on demand.
//!
//! There are two tiers ([`Tier`]). `Engine::Auto` compiles hot regions with
//! Cranelift's optimiser. `Engine::Jit` compiles every block before it first
//! runs, which for a Linux boot means some 100 000 blocks run a few times
//! each: those start in the baseline tier (the block alone, the guest
//! registers in memory, no optimisation, the single-pass register allocator),
//! which counts its runs and goes back to the run loop to be compiled as a
//! region by the optimiser once they reach the threshold.

mod emit;
pub(crate) mod helpers;
mod memory;
pub(crate) mod region;

use std::io::Write;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module, ModuleReloc};
use vemu_block_cache::Links;
use vemu_decoder::Block;

pub(crate) use emit::{Mode, EXITS};
use helpers::Imports;

/// How blocks are executed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The interpreter only.
    Interp,
    /// Every block is compiled before it first runs, by the baseline tier
    /// ([`Tier::Baseline`]), and compiled again by the optimising tier once
    /// it has run `jit_threshold` times.
    Jit,
    /// A block is interpreted until it has run `jit_threshold` times, then compiled.
    Auto,
}

/// What generated code reads besides the CPU state: per-entry facts the run loop
/// prepares, and the results a block leaves for it. `#[repr(C)]`: generated code
/// addresses the fields by offset.
#[repr(C)]
#[derive(Debug)]
pub struct JitEnv {
    /// Instructions left before control must return to the run loop; generated
    /// code counts it down by one per instruction it starts.
    pub budget: i64,
    /// The clock's value once the whole budget is spent: the clock reads
    /// `icount_base - budget` while generated code runs.
    pub icount_base: u64,
    /// The jump cache ([`JmpEntry`], [`JMP_CACHE_ENTRIES`] of them).
    pub jmp_cache: *const JmpEntry,
    /// Address of the link slot of the exit a block left through (0: none).
    pub exit_slot: usize,
    /// Segment bases (ES CS SS DS FS GS).
    pub seg_base: [u32; 6],
    /// Highest offset of the last byte a plain read may touch, per segment, or -1
    /// when reads must go through the helper (expand-down, unusable, execute-only).
    pub seg_read_limit: [i64; 6],
    /// The same for writes (-1 also for read-only data and code).
    pub seg_write_limit: [i64; 6],
}

impl Default for JitEnv {
    fn default() -> Self {
        JitEnv {
            budget: 0,
            icount_base: 0,
            jmp_cache: std::ptr::null(),
            exit_slot: 0,
            seg_base: [0; 6],
            seg_read_limit: [-1; 6],
            seg_write_limit: [-1; 6],
        }
    }
}

/// One entry of the jump cache, which lets a block whose exit is computed
/// (RET, indirect JMP) or not linked (another page) go straight on into the
/// translation of its target: `key` is the target's linear address with the
/// translation's mode bits above it, `eip` its EIP (a translation holds EIP
/// values, so the same linear address under another CS base is another
/// entry), `code` the translation's entry point. The run loop fills it and
/// empties it whenever one of its entries could have gone stale (a
/// translation dropped, a TLB flush, a smaller CS limit). 32 bytes.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct JmpEntry {
    pub key: u64,
    pub eip: u32,
    pub _pad: u32,
    pub code: usize,
    pub _pad2: u64,
}

/// Entries of the jump cache (a power of two).
pub const JMP_CACHE_ENTRIES: usize = 1024;

impl JmpEntry {
    /// The key of the code at `linear` translated in mode `mode`.
    pub fn key(linear: u32, mode: u32) -> u64 {
        linear as u64 | (mode as u64) << 32
    }

    /// The entry `linear` is cached in: its offset in the page mixed with
    /// the page number (generated code computes the same), so that routines
    /// at the same offset in different pages do not evict each other.
    pub fn index(linear: u32) -> usize {
        (linear ^ linear >> 12) as usize & (JMP_CACHE_ENTRIES - 1)
    }
}

/// Offsets into [`JitEnv`] for generated code.
pub(crate) mod env_offset {
    use super::*;
    pub const BUDGET: i32 = offset_of!(JitEnv, budget) as i32;
    pub const ICOUNT_BASE: i32 = offset_of!(JitEnv, icount_base) as i32;
    pub const JMP_CACHE: i32 = offset_of!(JitEnv, jmp_cache) as i32;
    pub const EXIT_SLOT: i32 = offset_of!(JitEnv, exit_slot) as i32;
    pub const SEG_BASE: i32 = offset_of!(JitEnv, seg_base) as i32;
    pub const SEG_READ_LIMIT: i32 = offset_of!(JitEnv, seg_read_limit) as i32;
    pub const SEG_WRITE_LIMIT: i32 = offset_of!(JitEnv, seg_write_limit) as i32;
}

/// How hard Cranelift works on a translation. Both tiers compile the same IR
/// from the same emitter; only the backend's effort differs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    /// No IR optimisation and the single-pass register allocator: a quarter
    /// to a third of the optimising tier's compile time, for slower code. Under
    /// `Engine::Jit` a translation starts here; it counts its runs, and leaves
    /// for the run loop to be compiled again once they reach the threshold.
    Baseline,
    /// Cranelift's optimiser and its backtracking register allocator.
    Optimized,
}

/// A compiled block.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct JitCode {
    /// Entry point (tail calling convention).
    pub entry: usize,
    /// The module generation it belongs to.
    pub generation: u64,
    pub tier: Tier,
}

/// A baseline translation's run counter: generated code adds one at every
/// pass through the region's first block and leaves, before running it, once
/// the counter reaches `threshold`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct HotCounter {
    /// Address of the `u32` counter (it outlives the translation's use).
    pub addr: usize,
    pub threshold: u32,
}

/// Why a block could not be compiled.
#[derive(Debug)]
pub struct JitError(pub String);

/// Signature of the entry trampoline: (cpu, code) -> status.
pub(crate) type Trampoline = unsafe extern "C" fn(*mut u8, usize) -> u32;

/// Status a block returns.
pub(crate) mod status {
    /// Left normally (its exit set EIP; the state is in `CpuState`).
    pub const OK: u32 = 0;
    /// An exception is waiting in `Cpu::jit_fault`.
    pub const FAULT: u32 = 1;
}

/// Code compiled into one module before it is thrown away and started afresh
/// (translations that were dropped or compiled again stay in it until then):
/// bytes, and translations (each costs Cranelift's module some bookkeeping).
const MODULE_BYTES: usize = 512 << 20;
const MODULE_FUNCTIONS: usize = 131072;

/// The compiler and the generated code.
pub struct Jit {
    module: JITModule,
    /// The baseline tier's ISA (the module's own is the optimising tier's).
    baseline_isa: OwnedTargetIsa,
    ctx: Context,
    fctx: FunctionBuilderContext,
    /// What the emitter needs of the module (shared with the compile thread).
    imports: Arc<Imports>,
    trampoline: Trampoline,
    generation: u64,
    pub(crate) compiled: usize,
    /// Of those, by the optimising tier.
    pub(crate) optimized: usize,
    /// Bytes of code the module holds.
    bytes: usize,
    /// Set when the module is full: the run loop flushes at its next safe point.
    pub(crate) needs_flush: bool,
    /// The compile thread, once started (see [`Jit::start_compile`]). A
    /// flush drops it with its module: what it still finishes goes nowhere.
    background: Option<Background>,
    debug: JitDebug,
}

/// A translation's machine code, ready for the module.
struct MachineCode {
    bytes: Vec<u8>,
    alignment: u64,
    relocs: Vec<ModuleReloc>,
}

/// The error of a compile whose emitter or Cranelift panicked (the compile
/// thread catches it).
const PANICKED: &str = "the emitter or Cranelift panicked";

/// Makes the (cleared) function in `ctx` the translation declared as `id`.
fn name_function(ctx: &mut Context, id: FuncId) {
    ctx.func.signature = block_signature();
    ctx.func.name = UserFuncName::user(0, id.as_u32());
}

/// The host addresses of `links`' slots, in exit order.
fn slot_addresses(links: &Links) -> Vec<usize> {
    (0..links.exits()).map(|i| links.slot_address(i)).collect()
}

/// Compiles the function in `ctx` (declared as `id`) for `isa`.
fn machine_code(ctx: &mut Context, isa: &dyn TargetIsa, id: FuncId) -> Result<MachineCode, String> {
    let mut ctrl = ControlPlane::default();
    ctx.compile(isa, &mut ctrl).map_err(|e| format!("{:?}", e.inner))?;
    let (func, code) = (&ctx.func, ctx.compiled_code().expect("just compiled"));
    let relocs = code.buffer.relocs().iter().map(|r| ModuleReloc::from_mach_reloc(r, func, id)).collect();
    Ok(MachineCode { bytes: code.code_buffer().to_vec(), alignment: code.buffer.alignment as u64, relocs })
}

/// The thread that compiles for [`Jit::start_compile`]: building the IR
/// needs the region's blocks (copies), its mode and link slots and the
/// helpers' imports, and Cranelift's passes nothing but the function, so
/// both run beside the guest, which goes on in the interpreter meanwhile. On
/// a Linux boot they are a third of the work a single thread would do (the
/// IR alone was 3% of the guest thread's time while it was built there).
struct Background {
    jobs: JobQueue,
    done: Receiver<Done>,
    /// Counts what the thread sent, and its end: the run loop, which looks
    /// before every block, reads it rather than the channel.
    sent: Arc<AtomicU64>,
    /// `sent` when the channel was last read.
    seen: u64,
    next_ticket: u64,
    /// Jobs sent whose result was not taken yet.
    in_flight: usize,
    stats: QueueStats,
}

/// Upper bounds (milliseconds) of [`QueueStats::latency`]'s buckets; the
/// last bucket holds the rest.
pub const LATENCY_BOUNDS_MS: [u32; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// What the compile thread did: translations it finished, the time it
/// spent compiling them, how long each waited from queueing until the run
/// loop took it (to install it, or to drop it for a block no longer
/// cached), and how many waited at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub compiled: u64,
    pub busy: std::time::Duration,
    /// Counts by latency, in the buckets of [`LATENCY_BOUNDS_MS`] and one
    /// for the rest.
    pub latency: [u64; LATENCY_BOUNDS_MS.len() + 1],
    pub most_queued: usize,
    pub queued: usize,
}

impl QueueStats {
    /// The bucket bound (milliseconds) under which fraction `p` of the
    /// latencies fall, or None for the open last bucket (and with none).
    pub fn latency_quantile(&self, p: f64) -> Option<u32> {
        let total: u64 = self.latency.iter().sum();
        let mut seen = 0;
        for (i, n) in self.latency.iter().enumerate() {
            seen += n;
            if total > 0 && seen as f64 >= p * total as f64 {
                return LATENCY_BOUNDS_MS.get(i).copied();
            }
        }
        None
    }
}

/// Counts the compile thread's end in `Background::sent`, however it ends.
struct CountEnd(Arc<AtomicU64>);

impl Drop for CountEnd {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// Most compiles queued for the compile thread at once. A Linux boot's
/// bursts stay below it; the bound keeps a guest that makes code hot
/// faster than it compiles from queueing without end.
const MAX_IN_FLIGHT: usize = 1024;

struct Job {
    ticket: u64,
    id: FuncId,
    /// The region's blocks, entry first: the thread builds the IR from
    /// them, and the translation points into their instructions (the
    /// interpreter's helper gets the instruction it runs).
    blocks: Vec<Block>,
    mode: Mode,
    /// The host addresses of the translation's link slots.
    slots: Vec<usize>,
    /// Instructions interpreted in the block since it was queued (see
    /// [`JobQueue`]).
    heat: Arc<AtomicU32>,
    queued_at: std::time::Instant,
}

/// The compiles waiting for the compile thread. The thread takes the
/// hottest first: the job whose block the guest has run most (in
/// instructions, interpreted) since it was queued, the oldest among equals.
/// Bursts of new code queue dozens of jobs at once (a Linux boot queues
/// half of its compiles behind ten or more others); in order of arrival, a
/// loop that became hot behind them (udelay's, a hash's) went on in the
/// interpreter until the code queued before it, mostly run and done with,
/// was compiled.
struct JobQueue(Arc<(Mutex<Jobs>, Condvar)>);

#[derive(Default)]
struct Jobs {
    waiting: Vec<Job>,
    /// The `Jit` is gone: the thread ends.
    closed: bool,
}

impl JobQueue {
    fn push(&self, job: Job) -> Result<(), JitError> {
        let (jobs, ready) = &*self.0;
        let mut jobs = jobs.lock().map_err(|_| JitError("the compile queue was poisoned".into()))?;
        jobs.waiting.push(job);
        ready.notify_one();
        Ok(())
    }

    /// The next job for the thread to compile; None once closed.
    fn take(queue: &(Mutex<Jobs>, Condvar)) -> Option<Job> {
        let (jobs, ready) = queue;
        let mut jobs = jobs.lock().ok()?;
        loop {
            if jobs.closed {
                return None;
            }
            // (Ties go to the first: the oldest.)
            let hottest =
                (0..jobs.waiting.len()).rev().max_by_key(|&i| jobs.waiting[i].heat.load(Ordering::Relaxed));
            if let Some(i) = hottest {
                return Some(jobs.waiting.remove(i));
            }
            jobs = ready.wait(jobs).ok()?;
        }
    }
}

impl JobQueue {
    /// Tells the thread to end: it takes nothing more.
    fn close(&self) {
        let (jobs, ready) = &*self.0;
        if let Ok(mut jobs) = jobs.lock() {
            jobs.closed = true;
        }
        ready.notify_one();
    }
}

impl Drop for JobQueue {
    fn drop(&mut self) {
        self.close();
    }
}

/// A translation the compile thread finished, as the module took it.
pub(crate) struct Finished {
    pub ticket: u64,
    pub code: Result<JitCode, JitError>,
    /// The blocks it was compiled from (see [`Job::blocks`]): they must live
    /// as long as the translation can run.
    pub blocks: Vec<Block>,
}

struct Done {
    ticket: u64,
    id: FuncId,
    code: Result<MachineCode, String>,
    blocks: Vec<Block>,
    queued_at: std::time::Instant,
    busy: std::time::Duration,
}

impl Background {
    fn start(imports: Arc<Imports>) -> Result<Background, JitError> {
        let isa = make_isa(Tier::Optimized)?;
        let queue = Arc::new((Mutex::new(Jobs::default()), Condvar::new()));
        let jobs = JobQueue(queue.clone());
        let (done_tx, done) = std::sync::mpsc::channel();
        let sent = Arc::new(AtomicU64::new(0));
        let end = CountEnd(sent.clone());
        std::thread::Builder::new()
            .name("vemu-jit".into())
            .spawn(move || {
                // The guard moves in whole, so that it counts however the thread ends.
                let end = end;
                let mut ctx = Context::new();
                let mut fctx = FunctionBuilderContext::new();
                // Ends when the `Jit` (its queue) is dropped.
                while let Some(job) = JobQueue::take(&queue) {
                    let started = std::time::Instant::now();
                    ctx.clear();
                    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let blocks: Vec<&Block> = job.blocks.iter().collect();
                        let src = emit::Source {
                            blocks: &blocks,
                            mode: job.mode,
                            slots: &job.slots,
                            baseline: None,
                        };
                        name_function(&mut ctx, job.id);
                        emit::emit_region(&imports, &mut ctx.func, &mut fctx, src).map_err(|e| e.0)?;
                        machine_code(&mut ctx, &*isa, job.id)
                    }));
                    let code = compiled.unwrap_or_else(|_| {
                        // The contexts may be half-way through anything.
                        ctx = Context::new();
                        fctx = FunctionBuilderContext::new();
                        Err(PANICKED.into())
                    });
                    let done = Done {
                        ticket: job.ticket,
                        id: job.id,
                        code,
                        blocks: job.blocks,
                        queued_at: job.queued_at,
                        busy: started.elapsed(),
                    };
                    if done_tx.send(done).is_err() {
                        break;
                    }
                    end.0.fetch_add(1, Ordering::Release);
                }
            })
            .map_err(|e| JitError(format!("starting the compile thread: {e}")))?;
        Ok(Background {
            jobs,
            done,
            sent,
            seen: 0,
            next_ticket: 0,
            in_flight: 0,
            stats: QueueStats::default(),
        })
    }
}

/// Developer aids, set from the environment: `VEMU_JIT_DUMP=1` prints every
/// region's Cranelift IR and host code on stderr (as QEMU's `-d op,out_asm`);
/// `VEMU_PERF_MAP=1` writes `/tmp/perf-PID.map`, which lets `perf report` name
/// generated code by guest address.
struct JitDebug {
    dump: bool,
    perf_map: Option<std::io::LineWriter<std::fs::File>>,
}

impl JitDebug {
    fn from_env() -> JitDebug {
        let perf_map = std::env::var_os("VEMU_PERF_MAP").and_then(|_| {
            let path = format!("/tmp/perf-{}.map", std::process::id());
            let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
            match file {
                Ok(f) => Some(std::io::LineWriter::new(f)),
                Err(e) => {
                    eprintln!("vemu: cannot write {path}: {e}");
                    None
                }
            }
        });
        JitDebug { dump: std::env::var_os("VEMU_JIT_DUMP").is_some(), perf_map }
    }
}

fn make_isa(tier: Tier) -> Result<OwnedTargetIsa, JitError> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v).map_err(|e| JitError(format!("cranelift setting {k}={v}: {e}")))
    };
    match tier {
        Tier::Optimized => set(&mut flags, "opt_level", "speed")?,
        Tier::Baseline => {
            set(&mut flags, "opt_level", "none")?;
            set(&mut flags, "regalloc_algorithm", "single_pass")?;
        }
    }
    // Cranelift's IR verifier doubles compile times; debug builds (and so the
    // test suite) keep it, to catch malformed IR from the emitter.
    set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    // Tail calls between blocks need frame pointers on x86-64.
    set(&mut flags, "preserve_frame_pointers", "true")?;
    set(&mut flags, "is_pic", "false")?;
    // The `Cpu` lives in the pinned register (r15 on x86-64) while generated
    // code runs, so no translation ever spills or reloads it.
    set(&mut flags, "enable_pinned_reg", "true")?;
    let isa = cranelift_native::builder().map_err(|e| JitError(format!("host not supported: {e}")))?;
    isa.finish(settings::Flags::new(flags)).map_err(|e| JitError(format!("cranelift: {e}")))
}

/// The signature of a translation: () -> status, tail calling convention.
/// Generated code finds the `Cpu` in the pinned register, and the CPU state and
/// its [`JitEnv`] inside it.
pub(crate) fn block_signature() -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

impl Jit {
    pub fn new() -> Result<Jit, JitError> {
        Self::with_generation(1)
    }

    fn with_generation(generation: u64) -> Result<Jit, JitError> {
        let mut builder = JITBuilder::with_isa(make_isa(Tier::Optimized)?, default_libcall_names());
        builder.memory_provider(Box::new(memory::PackedCode::default()));
        helpers::register(&mut builder);
        let mut module = JITModule::new(builder);
        let imports = Arc::new(helpers::declare(&mut module)?);
        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let trampoline = build_trampoline(&mut module, &mut ctx, &mut fctx)?;
        Ok(Jit {
            module,
            baseline_isa: make_isa(Tier::Baseline)?,
            ctx,
            fctx,
            imports,
            trampoline,
            generation,
            compiled: 0,
            optimized: 0,
            bytes: 0,
            needs_flush: false,
            background: None,
            debug: JitDebug::from_env(),
        })
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Throws every translation away (the caller has dropped all references to
    /// them) and starts a fresh module.
    pub fn flush(&mut self) -> Result<(), JitError> {
        let fresh = Jit::with_generation(self.generation + 1)?;
        let old = std::mem::replace(self, fresh);
        // SAFETY: the run loop flushes only between blocks, after the block cache
        // dropped every translation of this generation: no code of the old module
        // runs or can be entered any more.
        unsafe { old.module.free_memory() };
        Ok(())
    }

    /// Compiles the region `blocks` (its entry block first, then blocks on the
    /// same page it branches to) for `mode`, with its exits' link slots in
    /// `links`: in the baseline tier if `baseline` gives the counter its runs
    /// go to, else in the optimising tier.
    pub(crate) fn compile(
        &mut self,
        blocks: &[&Block],
        mode: Mode,
        links: &Links,
        baseline: Option<HotCounter>,
    ) -> Result<JitCode, JitError> {
        let tier = if baseline.is_some() { Tier::Baseline } else { Tier::Optimized };
        let id = self.emit(blocks, mode, links, baseline)?;
        let isa = match tier {
            Tier::Optimized => self.module.isa(),
            Tier::Baseline => &*self.baseline_isa,
        };
        let code = machine_code(&mut self.ctx, isa, id);
        if self.debug.dump {
            if let Some(c) = self.ctx.compiled_code() {
                eprintln!("--- host code\n{}", c.vcode.as_deref().unwrap_or(""));
            }
        }
        self.module.clear_context(&mut self.ctx);
        let code = code.map_err(|e| JitError(format!("compiling the block at {:#x}: {e}", blocks[0].eip)))?;
        self.define(id, &code)?;
        self.finalize()?;
        Ok(self.installed(id, blocks[0].eip, code.bytes.len(), tier))
    }

    /// Whether [`Jit::start_compile`] may hand work to the compile thread
    /// (`VEMU_JIT_DUMP` wants the host code printed in order: it compiles here).
    pub(crate) fn background_allowed(&self) -> bool {
        !self.debug.dump
    }

    /// Starts compiling the region `blocks` (copies of the blocks, entry
    /// first) for `mode` with the optimiser on the compile thread, which
    /// builds the IR too: the guest's thread only declares the translation.
    /// [`Jit::finished`] hands the translation over once it is ready, under
    /// the ticket returned, with the blocks it points into.
    pub(crate) fn start_compile(
        &mut self,
        blocks: Vec<Block>,
        mode: Mode,
        links: &Links,
        heat: Arc<AtomicU32>,
    ) -> Result<u64, JitError> {
        let id = self.declare()?;
        let background = match &mut self.background {
            Some(b) => b,
            None => self.background.insert(Background::start(self.imports.clone())?),
        };
        let ticket = background.next_ticket;
        background.next_ticket += 1;
        heat.store(0, Ordering::Relaxed);
        let slots = slot_addresses(links);
        if let Err(e) = background.jobs.push(Job {
            ticket,
            id,
            blocks,
            mode,
            slots,
            heat,
            queued_at: std::time::Instant::now(),
        }) {
            self.background = None;
            return Err(e);
        }
        background.in_flight += 1;
        background.stats.most_queued = background.stats.most_queued.max(background.in_flight);
        Ok(ticket)
    }

    /// Whether translations are being compiled on the compile thread.
    #[cfg(test)]
    pub(crate) fn compiling(&self) -> bool {
        self.background.as_ref().is_some_and(|b| b.in_flight > 0)
    }

    /// Whether the compile thread sent anything (or ended) since
    /// [`Jit::finished`] last looked: one atomic load, for the run loop to
    /// make before every block while compiles are in flight.
    #[inline]
    pub(crate) fn has_news(&self) -> bool {
        self.background.as_ref().is_some_and(|b| b.in_flight > 0 && b.sent.load(Ordering::Acquire) != b.seen)
    }

    /// What the compile thread did so far (nothing without one).
    pub fn queue_stats(&self) -> QueueStats {
        self.background
            .as_ref()
            .map_or_else(QueueStats::default, |b| QueueStats { queued: b.in_flight, ..b.stats.clone() })
    }

    /// Whether the compile thread has as much queued as it may: a block that
    /// gets hot meanwhile waits (it is interpreted, and asks again).
    pub(crate) fn queue_full(&self) -> bool {
        self.background.as_ref().is_some_and(|b| b.in_flight >= MAX_IN_FLIGHT)
    }

    /// The translations the compile thread has finished since the last call
    /// and the run loop still `wants`, now in the module and ready to run,
    /// by ticket (those it no longer wants are dropped without a trace in
    /// the module); the host time putting them there took is added to
    /// `busy`. A look that finds nothing is not timed: the run loop looks
    /// before every block while any are in flight. An error: the thread is
    /// gone (it catches the compiler's panics, so this is not expected),
    /// with all it had; the next compile starts a thread afresh.
    pub(crate) fn finished(
        &mut self,
        wants: impl Fn(u64) -> bool,
        busy: &mut std::time::Duration,
    ) -> Result<Vec<Finished>, JitError> {
        let Some(background) = self.background.as_mut() else { return Ok(Vec::new()) };
        let sent = background.sent.load(Ordering::Acquire);
        if sent == background.seen {
            return Ok(Vec::new());
        }
        background.seen = sent;
        let mut done = Vec::new();
        let gone = loop {
            match background.done.try_recv() {
                Ok(d) => done.push(d),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if gone && done.is_empty() {
            self.background = None;
            return Err(JitError("the compile thread stopped".into()));
        }
        if gone {
            // What it finished goes in first; the next look reports the end.
            background.seen = sent.wrapping_sub(1);
        }
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        let out = self.install_finished(done, wants);
        *busy += started.elapsed();
        Ok(out)
    }

    fn install_finished(&mut self, done: Vec<Done>, wants: impl Fn(u64) -> bool) -> Vec<Finished> {
        let Some(background) = self.background.as_mut() else { return Vec::new() };
        background.in_flight -= done.len();
        let now = std::time::Instant::now();
        for d in &done {
            let ms = now.duration_since(d.queued_at).as_millis();
            let bucket =
                LATENCY_BOUNDS_MS.iter().position(|&b| ms < b as u128).unwrap_or(LATENCY_BOUNDS_MS.len());
            background.stats.latency[bucket] += 1;
            background.stats.compiled += 1;
            background.stats.busy += d.busy;
        }
        let mut out = Vec::with_capacity(done.len());
        let mut defined = Vec::new();
        for Done { ticket, id, code, blocks, .. } in done.into_iter().filter(|d| wants(d.ticket)) {
            let eip = blocks.first().map_or(0, |b| b.eip);
            let result = code
                .map_err(|e| JitError(format!("compiling the block at {eip:#x}: {e}")))
                .and_then(|code| self.define(id, &code).map(|()| code.bytes.len()));
            match result {
                Ok(size) => defined.push((ticket, id, eip, size, blocks)),
                Err(e) => out.push(Finished { ticket, code: Err(e), blocks }),
            }
        }
        if defined.is_empty() {
            return out;
        }
        if let Err(e) = self.finalize() {
            let failed =
                |(ticket, _, _, _, blocks)| Finished { ticket, code: Err(JitError(e.0.clone())), blocks };
            out.extend(defined.into_iter().map(failed));
            return out;
        }
        for (ticket, id, eip, size, blocks) in defined {
            let code = Ok(self.installed(id, eip, size, Tier::Optimized));
            out.push(Finished { ticket, code, blocks });
        }
        out
    }

    /// Declares a translation and builds its IR in the context.
    fn emit(
        &mut self,
        blocks: &[&Block],
        mode: Mode,
        links: &Links,
        baseline: Option<HotCounter>,
    ) -> Result<FuncId, JitError> {
        let id = self.declare()?;
        name_function(&mut self.ctx, id);
        let slots = slot_addresses(links);
        let emitted = emit::emit_region(
            &self.imports,
            &mut self.ctx.func,
            &mut self.fctx,
            emit::Source { blocks, mode, slots: &slots, baseline },
        );
        if let Err(e) = emitted {
            self.module.clear_context(&mut self.ctx);
            return Err(e);
        }
        if self.debug.dump {
            self.ctx.set_disasm(true);
            eprintln!("=== region at {:#x}\n{}", blocks[0].eip, self.ctx.func.display());
        }
        Ok(id)
    }

    /// Declares a translation in the module.
    fn declare(&mut self) -> Result<FuncId, JitError> {
        self.module
            .declare_anonymous_function(&block_signature())
            .map_err(|e| JitError(format!("declaring a block: {e}")))
    }

    /// Gives the module a translation's bytes.
    fn define(&mut self, id: FuncId, code: &MachineCode) -> Result<(), JitError> {
        let defined = self.module.define_function_bytes(id, code.alignment, &code.bytes, &code.relocs);
        // Code memory that failed to change protection may have lost its
        // mapping (`memory::PackedCode`), other translations with it: the
        // module must go before any of them runs again.
        if let Err(e @ cranelift_module::ModuleError::Allocation { .. }) = &defined {
            self.needs_flush = true;
            return Err(JitError(format!("code memory: {e}")));
        }
        defined.map_err(|e| JitError(format!("defining a translation: {e:?}")))
    }

    /// Applies the relocations of what was defined and makes it executable.
    fn finalize(&mut self) -> Result<(), JitError> {
        self.module.finalize_definitions().map_err(|e| {
            self.needs_flush = true;
            JitError(format!("finalizing: {e}"))
        })
    }

    /// A finalized translation's entry, counted (and named for perf).
    fn installed(&mut self, id: FuncId, eip: u32, size: usize, tier: Tier) -> JitCode {
        let entry = self.module.get_finalized_function(id) as usize;
        if let Some(map) = self.debug.perf_map.as_mut() {
            // One line per translation: perf names samples in it after the guest EIP.
            let t = if tier == Tier::Baseline { "b" } else { "" };
            let _ = writeln!(map, "{entry:x} {size:x} guest_{eip:x}_g{}{t}", self.generation);
        }
        self.compiled += 1;
        self.optimized += usize::from(tier == Tier::Optimized);
        self.bytes += size;
        if self.bytes >= MODULE_BYTES || self.compiled >= MODULE_FUNCTIONS {
            self.needs_flush = true;
        }
        JitCode { entry, generation: self.generation, tier }
    }

    /// The entry into compiled code: `trampoline(cpu, code)` runs the translation
    /// at `code` (of the current generation) on `cpu`, which nothing else may use
    /// until it returns.
    pub(crate) fn trampoline(&self) -> Trampoline {
        self.trampoline
    }
}

/// Runs the translation `code` on `cpu` until it leaves; returns its [`status`].
///
/// Soundness rests on three facts the run loop keeps:
/// - `code` belongs to the current generation of the module behind
///   `trampoline` (`Cpu::translation` checks it), whose memory lives until the
///   run loop flushes the module between translations;
/// - generated code holds addresses that only the block cache keeps alive:
///   the `Instruction`s it hands to the interpreter helper, its own and other
///   translations' link slots, the run counter a baseline translation adds to
///   (in its `CachedBlock`), the entry points it chains to through links and
///   the jump cache. Nothing changes the cache while generated code runs
///   (helpers execute instructions and queue code writes; the run loop drops
///   invalidated blocks, and unlinks them and clears the jump cache, only
///   after this returns), so every such address stays valid for the call;
/// - `cpu` is used by nothing else until the call returns: generated code and
///   the helpers reach it only through the pinned register.
pub(crate) fn run(trampoline: Trampoline, cpu: &mut crate::cpu::Cpu, code: JitCode) -> u32 {
    let cpu: *mut crate::cpu::Cpu = cpu;
    // SAFETY: see above.
    unsafe { trampoline(cpu as *mut u8, code.entry) }
}

/// The system-calling-convention entry that calls a block (tail convention).
fn build_trampoline(
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
) -> Result<Trampoline, JitError> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    for _ in 0..2 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig.returns.push(AbiParam::new(types::I32));
    let id: FuncId = module
        .declare_function("vemu_enter", Linkage::Local, &sig)
        .map_err(|e| JitError(format!("declaring the trampoline: {e}")))?;
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry).to_vec();
        let block_sig = b.import_signature(block_signature());
        // r15 belongs to our caller (callee-saved in the host's convention):
        // keep its value aside while the `Cpu` is in it.
        let saved = b.ins().get_pinned_reg(ptr);
        b.ins().set_pinned_reg(p[0]);
        let call = b.ins().call_indirect(block_sig, p[1], &[]);
        let status = b.inst_results(call)[0];
        b.ins().set_pinned_reg(saved);
        b.ins().return_(&[status]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
    }
    module.define_function(id, ctx).map_err(|e| JitError(format!("compiling the trampoline: {e:?}")))?;
    module.clear_context(ctx);
    module.finalize_definitions().map_err(|e| JitError(format!("finalizing: {e}")))?;
    let code = module.get_finalized_function(id);
    // SAFETY: `code` was just compiled with exactly the `Trampoline` signature
    // (two pointer-sized arguments, a 32-bit result, the host's C calling convention).
    Ok(unsafe { std::mem::transmute::<*const u8, Trampoline>(code) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compile_thread_takes_the_hottest_job_first_and_the_oldest_among_equals() {
        let queue = JobQueue(Arc::new((Mutex::new(Jobs::default()), Condvar::new())));
        let job = |ticket: u64, heat: &Arc<AtomicU32>| Job {
            ticket,
            id: FuncId::from_u32(0),
            blocks: Vec::new(),
            mode: Mode::default(),
            slots: Vec::new(),
            heat: heat.clone(),
            queued_at: std::time::Instant::now(),
        };
        let heats: Vec<Arc<AtomicU32>> = (0..4).map(|_| Arc::default()).collect();
        for (ticket, heat) in heats.iter().enumerate() {
            queue.push(job(ticket as u64, heat)).unwrap();
        }
        // Jobs 1 and 3 run in the interpreter while they wait; 0 and 2 do not.
        heats[1].fetch_add(5, Ordering::Relaxed);
        heats[3].fetch_add(5, Ordering::Relaxed);
        let first = JobQueue::take(&queue.0).unwrap().ticket;
        heats[2].fetch_add(9, Ordering::Relaxed);
        let rest: Vec<u64> = (0..3).map(|_| JobQueue::take(&queue.0).unwrap().ticket).collect();
        assert_eq!((first, rest), (1, vec![2, 3, 0]));
        // Once closed, the thread gets nothing more.
        queue.push(job(4, &Arc::default())).unwrap();
        let shared = queue.0.clone();
        drop(queue);
        assert!(JobQueue::take(&shared).is_none());
    }

    /// The run loop learns of a compile thread that ended (here: its job
    /// queue closed) through the same counter that announces finished work.
    #[test]
    fn a_compile_thread_that_ends_is_reported() {
        let mut jit = Jit::new().expect("a JIT on this host");
        let background =
            jit.background.insert(Background::start(jit.imports.clone()).expect("a compile thread"));
        background.jobs.close();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut busy = std::time::Duration::ZERO;
        loop {
            match jit.finished(|_| true, &mut busy) {
                Err(e) => {
                    assert!(e.0.contains("compile thread stopped"), "{}", e.0);
                    break;
                }
                Ok(done) => assert!(done.is_empty(), "nothing was queued"),
            }
            assert!(std::time::Instant::now() < deadline, "the thread's end went unnoticed");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(jit.background.is_none(), "the next compile starts a thread afresh");
    }
}
