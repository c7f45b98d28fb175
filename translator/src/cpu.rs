//! The CPU and its run loop (DESIGN.md, "One step of the machine").
//!
//! [`Cpu::run`] executes guest code until an instruction budget is spent, the CPU
//! halts, a device asks the machine for something, or the guest triple-faults.
//! Each step delivers a pending interrupt if the guest can take one, finds the
//! block at CS:EIP in the block cache (decoding it on a miss), and executes it
//! instruction by instruction. After every instruction, writes to pages holding
//! code invalidate their blocks (invariant 5), and a block that was invalidated
//! under its own feet stops there.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use iced_x86::Code;
use vemu_block_cache::{BlockCache, BlockKey, LinkTable, Links};
use vemu_decoder::{decode_block, Block, CodeSource, DecodeRequest, FetchError};
use vemu_softmmu::{Memory, PhysAddr};

use crate::bus::{Bus, BusRequest};
use crate::exception::{vector, Exception, Fault};
use crate::jit::{self, status, Engine, HotCounter, Jit, JitCode, JitEnv, JmpEntry, Tier, JMP_CACHE_ENTRIES};
use crate::state::{dr, fl, CpuState, Seg};
use crate::trace::Tracer;

/// Tunables of a CPU.
#[derive(Copy, Clone, Debug)]
pub struct CpuConfig {
    /// Most instructions in one block.
    pub max_block_insns: usize,
    /// Most blocks in the block cache.
    pub block_cache_size: usize,
    /// Interpreter, JIT, or both.
    pub engine: Engine,
    /// Under `Engine::Auto`, runs of a block before it is compiled.
    pub jit_threshold: u32,
    /// [`Cpu::run`] returns after every run of compiled code (a translation
    /// and whatever it chained into), so that a test can compare the state at
    /// every exit from compiled code (the lockstep test).
    pub stop_after_compiled: bool,
    /// A test hook: the JIT miscompiles inline ADD (one too many), so that a
    /// test can show the lockstep comparison catches wrong compiled code.
    #[doc(hidden)]
    pub jit_defect: bool,
    /// Under `Engine::Auto`, hot blocks are compiled on a thread of their
    /// own while the interpreter goes on running them, and their translations
    /// take over once ready. What the guest sees does not change (both tiers
    /// execute alike); when a block starts running compiled does, so tests
    /// that count compiles leave this off.
    pub background_compile: bool,
    /// The CPU model: CPUID, the reset signature, the instructions there are.
    pub model: crate::cpuid::CpuModel,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            max_block_insns: 128,
            block_cache_size: DEFAULT_BLOCK_CACHE_SIZE,
            engine: Engine::Auto,
            jit_threshold: 2000,
            stop_after_compiled: false,
            jit_defect: false,
            background_compile: false,
            model: crate::cpuid::CpuModel::default(),
        }
    }
}

/// Guest instructions compiled code may run before control returns to the run
/// loop (it returns sooner for a device event, an exit it cannot chain, or the
/// end of the machine's slice, which is as long). Nothing the run loop does
/// between two runs of compiled code needs it sooner: translations the compile
/// thread finished wait until then, and a return costs about what a hundred
/// compiled instructions do: at 4096, the kernel's decompressor (a loop that
/// stays in compiled code) spent about 3% of its time returning.
pub(crate) const CHAIN_BUDGET: u64 = 1 << 20;

/// Blocks the cache holds by default. A Linux boot's working set does not
/// fit in 16 384: the cache evicted hot blocks, to decode, count and compile
/// them again, and the boot took a third longer than with 65 536 or more.
pub const DEFAULT_BLOCK_CACHE_SIZE: usize = 131_072;

/// [`Cpu::set_rate`]'s unit: one nanosecond per instruction.
pub const NS_PER_INSN: u64 = 16;

/// Most code addresses whose invalidations are remembered at once.
const MAX_INVALIDATION_RECORDS: usize = 1 << 16;

/// Why [`Cpu::run`] returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The instruction budget is spent.
    Budget,
    /// HLT: nothing to do until an interrupt arrives.
    Halted,
    /// A device asked the machine for something.
    Request(BusRequest),
    /// A fault while delivering a double fault: the processor shuts down.
    TripleFault,
}

/// What kind of block the interpreter ran, for [`InterpStats`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InterpKind {
    /// Run fewer than 10 times before.
    Runs0,
    /// 10 to 99 times.
    Runs10,
    /// 100 times or more, not yet at the JIT threshold.
    Runs100,
    /// Hot, and waiting for the compile thread.
    Queued,
    /// Compiled, but run by the interpreter this time: the instructions
    /// up to a device event, under single-step, in an interrupt shadow.
    Compiled,
    /// Never to be compiled: `--engine interp`, or its compile failed.
    NotCompiled,
}

impl InterpKind {
    pub const ALL: [InterpKind; 6] = [
        InterpKind::Runs0,
        InterpKind::Runs10,
        InterpKind::Runs100,
        InterpKind::Queued,
        InterpKind::Compiled,
        InterpKind::NotCompiled,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            InterpKind::Runs0 => "runs<10",
            InterpKind::Runs10 => "runs<100",
            InterpKind::Runs100 => "runs>=100",
            InterpKind::Queued => "queued",
            InterpKind::Compiled => "compiled",
            InterpKind::NotCompiled => "never",
        }
    }
}

/// The instructions and block runs the interpreter executed, by the kind
/// of block ([`InterpKind`], by index): the share of a boot that code not
/// yet hot, or hot and waiting for the compile thread, costs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterpStats {
    pub insns: [u64; InterpKind::ALL.len()],
    pub runs: [u64; InterpKind::ALL.len()],
}

/// A block as the cache holds it.
///
/// The run loop reads the first fields (up to `block`, whose instruction
/// list, address and mode it needs) every time the block runs, most often
/// for blocks long out of the host's caches: `repr(C)` keeps them together
/// at the start, in the lines [`NextHint::prefetch`] fetches ahead, and the
/// fields only compiles and invalidations read after them. (Left to the
/// compiler, the run count and the hint were on a fifth line, never
/// prefetched: a miss for nearly every interpreted block.)
#[repr(C)]
pub struct CachedBlock {
    /// Times it has run (for the JIT threshold).
    runs: Cell<u32>,
    /// Lookups [`Cpu::recent`] answered with it: one in [`RECENT_PROMOTE`]
    /// marks it used in the block cache's LRU order.
    recent_hits: Cell<u32>,
    /// The highest CS offset of any byte of the block or its region.
    extent: Cell<u32>,
    /// How often translations of code at its address had been dropped for
    /// writes to their code when it was decoded (`Cpu::invalidations`): read
    /// once, not at every run (it was a hash lookup per interpreted block);
    /// a write to its code drops the block, and the one decoded after it
    /// reads the count afresh.
    invalidated: u32,
    /// Instructions it ran (interpreted) while the compile thread had it,
    /// not yet added to `heat` (see [`HEAT_STEP`]).
    unpublished_heat: Cell<u32>,
    /// Where the block that ran after it last time lives, for the run loop
    /// to prefetch while this one runs ([`NextHint`]).
    next: Cell<NextHint>,
    /// Its translation, once compiled.
    pub(crate) code: Cell<Option<JitCode>>,
    /// The ticket of its translation while the compile thread has it.
    ticket: Cell<Option<u64>>,
    /// Compiling it failed: it stays with the interpreter.
    jit_failed: Cell<bool>,
    /// Its last instruction leaves the mode as it was ([`keeps_mode`]),
    /// decided once: after every interpreted run, the instruction's
    /// mnemonic was a miss in iced-x86's tables as often as not.
    keeps_mode: bool,
    /// What executes each of its instructions in the interpreter
    /// ([`crate::interp::handler`]), chosen once, when it was decoded.
    handlers: Box<[crate::interp::Handler]>,
    pub block: Block,
    /// Instructions it ran (interpreted) while the compile thread had it:
    /// the thread compiles the hottest first.
    heat: std::cell::OnceCell<std::sync::Arc<std::sync::atomic::AtomicU32>>,
    /// The link slots of its translation's exits.
    pub(crate) links: Rc<Links>,
    /// The other blocks its translation covers (`jit::region`); a translation
    /// compiled on this thread points into them (and into `block`).
    pub(crate) region: RefCell<Vec<Block>>,
    /// The copies of `block` and `region` a translation compiled on the
    /// compile thread was built from and points into (the interpreter's
    /// helper gets the instruction it runs): kept while it can run.
    pub(crate) compiled_from: RefCell<Vec<Block>>,
}

/// The part of a [`CachedBlock`] the run loop reads at each run, from its
/// start (the reference counts before it included): within three lines.
const HOT_BYTES: usize = std::mem::offset_of!(CachedBlock, block) + std::mem::size_of::<Block>();
const _: () = assert!(HOT_BYTES + 2 * std::mem::size_of::<usize>() <= 3 * 64);

/// Addresses of the block that ran after a block last time: its slot in
/// [`Cpu::recent`], its allocation and its first instructions. An
/// interpreted block of a cold boot path waits on three dependent cache
/// misses before its first instruction runs (the slot, the block, its
/// instructions); fetched while its predecessor runs, they are there when
/// the lookup comes. Only ever prefetched, never dereferenced: the block
/// may be gone by then, and a prefetch of any address is harmless.
#[derive(Copy, Clone, Default)]
struct NextHint {
    slot: usize,
    block: usize,
    insns: usize,
    handlers: usize,
}

impl NextHint {
    /// Asks the processor to fetch the lines the block at the hint needs
    /// first.
    #[inline(always)]
    fn prefetch(self) {
        if self.block == 0 {
            return;
        }
        // The block's reference counts and hot fields (`HOT_BYTES`), in at
        // most four lines wherever its allocation starts.
        let counts = self.block - 2 * std::mem::size_of::<usize>();
        for addr in [
            self.slot,
            counts,
            counts + 64,
            counts + 128,
            counts + 191,
            self.insns,
            self.insns + 64,
            self.handlers,
        ] {
            prefetch(addr);
        }
    }
}

/// Moves the cache line holding `addr` towards the core (a hint, never a fault).
#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 reads nothing architecturally and cannot fault,
    // whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

impl CachedBlock {
    /// The bytes its decoded instructions and its translation's other blocks
    /// came from, as runs within one page each.
    fn code_runs(&self) -> Vec<(PhysAddr, u32)> {
        let region = self.region.borrow();
        self.block.byte_runs().chain(region.iter().flat_map(|b| b.byte_runs())).collect()
    }

    /// Compiling its translation failed: it stays with the interpreter.
    fn compile_failed(&self, e: jit::JitError) {
        // Debug builds verify Cranelift's IR: malformed IR is the emitter's
        // bug, which the tests must not pass over.
        debug_assert!(!e.0.contains("Verifier"), "the emitter made malformed IR: {}", e.0);
        debug_assert!(!e.0.contains("panicked"), "{}", e.0);
        eprintln!("vemu: cannot compile the block at {:#x}: {}; interpreting it", self.block.eip, e.0);
        self.jit_failed.set(true);
        self.code.set(None);
    }

    fn new(block: Block, invalidated: u32) -> CachedBlock {
        let extent = block.last_offset();
        CachedBlock {
            handlers: block.insns.iter().map(crate::interp::handler).collect(),
            keeps_mode: block.insns.last().is_some_and(keeps_mode),
            unpublished_heat: Cell::new(0),
            block,
            invalidated,
            region: RefCell::new(Vec::new()),
            compiled_from: RefCell::new(Vec::new()),
            extent: Cell::new(extent),
            runs: Cell::new(0),
            recent_hits: Cell::new(0),
            code: Cell::new(None),
            jit_failed: Cell::new(false),
            ticket: Cell::new(None),
            heat: std::cell::OnceCell::new(),
            links: Links::new(jit::EXITS),
            next: Cell::new(NextHint::default()),
        }
    }
}

/// A CPU with its memory and the machine around it.
pub struct Cpu {
    pub state: CpuState,
    pub mem: Memory,
    pub bus: Box<dyn Bus>,
    pub config: CpuConfig,
    /// Instructions executed: the deterministic clock. It counts as QEMU's
    /// `-icount` does, so that time-stamp counters agree in differential tests:
    /// an instruction that faults counts, and a REP string instruction counts one
    /// per iteration plus one for the final look at a zero count (see `string`).
    pub icount: u64,
    /// Host time spent compiling translations, which the machine leaves out
    /// when it measures how fast instructions run.
    pub compile_time: std::time::Duration,
    /// Where the interpreter's instructions went, when asked for
    /// (`Some`): see [`InterpStats`].
    pub interp_stats: Option<Box<InterpStats>>,
    /// Virtual time at instruction `rate_base`, including what passed
    /// without instructions (the machine moves the clock on while the CPU
    /// halts, or to follow the host's).
    pub warp: u64,
    /// Virtual nanoseconds per instruction, in sixteenths ([`NS_PER_INSN`]
    /// is one nanosecond, QEMU's `-icount shift=0`), counted from
    /// instruction `rate_base`. The machine may follow the host's clock by
    /// setting the rate to the emulator's speed ([`Cpu::set_rate`]), so that
    /// time passes evenly between instructions instead of in jumps.
    pub(crate) rate: u64,
    pub(crate) rate_base: u64,
    /// Virtual time of the next device event (u64::MAX: none), and whether a
    /// port write may have changed it.
    event_at: u64,
    /// The first instruction at or after `event_at` (a division when the
    /// clock follows the host's: once per event rather than once per block).
    event_due: u64,
    pub(crate) events_stale: bool,
    /// The devices were reached (a port, a device's MMIO window, an MSR
    /// they own, an interrupt acknowledged) or the machine ran between
    /// slices since the run loop last asked them for an interrupt. Until
    /// then, or until the next device event is due, their answer cannot
    /// have changed, and the run loop does not ask again at every block.
    pub(crate) irq_stale: bool,
    /// `mode_bits()` as the run loop last computed it, until something that
    /// may change it runs (see [`Cpu::mode_key`]).
    mode_key: Option<u32>,
    /// The decoded blocks and their translations. Generated code embeds
    /// addresses that only this cache keeps alive (instructions it hands to
    /// helpers, link slots, other translations' entry points); nothing may
    /// change it while generated code runs (see `jit::run`): helpers only
    /// queue code writes, which the run loop applies once control is back.
    pub(crate) cache: BlockCache<CachedBlock>,
    /// How often a block compiled at each physical address was thrown away
    /// because its code was written: code that keeps changing is compiled
    /// ever more reluctantly (see `compile_threshold`).
    invalidations: HashMap<PhysAddr, u32>,
    /// EIP to commit when the current instruction completes.
    pub(crate) next_eip: u32,
    /// A device request raised by the current instruction.
    pub(crate) request: Option<BusRequest>,
    /// Set when the current instruction delivered an interrupt or exception itself
    /// (INT n, INTO, INT3, BOUND...), which discards a pending single-step trap.
    pub(crate) delivered: bool,
    /// A debug trap to take before the next instruction (the TSS T bit).
    pub(crate) pending_debug_trap: bool,
    /// DR7 enables a breakpoint: instructions run one at a time and data
    /// accesses are watched.
    pub(crate) breakpoints_armed: bool,
    /// DR6 bits of the data breakpoints the current instruction hit.
    pub(crate) data_breakpoint_hits: u32,
    /// Set when the current instruction loaded SS (MOV SS, POP SS, LSS).
    pub(crate) ss_loaded: bool,
    /// Set when the current instruction reached a device through MMIO: its
    /// block ends after it, as after a port access.
    pub(crate) device_access: bool,
    /// Whether the CPU triple-faulted during the current step.
    pub(crate) triple_fault: bool,
    /// Opcodes already reported as unimplemented.
    unimplemented: HashSet<Code>,
    /// Per-instruction trace sink (`--trace`), if any.
    pub tracer: Option<Box<dyn Tracer>>,
    /// The compiler, once needed (None with `Engine::Interp`, or if the host
    /// cannot run it).
    pub(crate) jit: Option<Jit>,
    /// What generated code reads and leaves (see [`JitEnv`]).
    pub(crate) jit_env: JitEnv,
    /// The exception compiled code stopped on.
    pub(crate) jit_fault: Option<Exception>,
    /// Every link slot of a compiled block (tagged with the block's EIP, to
    /// link the exit a block left through) and the links made.
    links: LinkTable,
    /// The jump cache generated code reads (see [`JmpEntry`]).
    jmp_cache: Box<[JmpEntry]>,
    /// The TLB's flush count when the jump cache was last checked.
    jmp_cache_tlb_flushes: u64,
    /// The highest CS offset any translation in the jump cache runs: under a
    /// smaller CS limit it could reach code beyond the limit.
    jmp_cache_extent: u32,
    /// The blocks found last, by physical address, in front of the block
    /// cache (see [`Cpu::lookup_block`]).
    recent: Box<[RecentSet]>,
    /// The blocks in the cache being compiled on the compile thread, by
    /// ticket (a block leaving the cache leaves this too: what the thread
    /// finishes for it is dropped unused).
    compiling: HashMap<u64, Rc<CachedBlock>>,
}

/// A block [`Cpu::recent`] holds, and its key.
type RecentBlock = (BlockKey, Rc<CachedBlock>);

/// The two blocks [`Cpu::recent`] holds for one slot, the one found last
/// first: one cache line, which a lookup reads whole. Two ways halve the
/// lookups a Linux boot sends on to the block cache (about 430 000 to
/// 240 000 of its 21 million lookups), each of which costs a hash lookup,
/// the LRU list's relinking and the release of the block it replaces here,
/// all misses in the host's caches.
#[derive(Clone, Default)]
#[repr(align(64))]
struct RecentSet([Option<RecentBlock>; 2]);
const _: () = assert!(std::mem::size_of::<RecentSet>() == 64, "a recent set is one cache line");

impl RecentSet {
    /// The block with `key`, if the set holds it.
    fn find(&self, key: &BlockKey) -> Option<&Rc<CachedBlock>> {
        self.0.iter().flatten().find(|(k, _)| k == key).map(|(_, b)| b)
    }

    /// The block with `key`, moved first if the set holds it.
    fn lookup(&mut self, key: &BlockKey) -> Option<&Rc<CachedBlock>> {
        if !matches!(&self.0[0], Some((k, _)) if k == key) {
            if !matches!(&self.0[1], Some((k, _)) if k == key) {
                return None;
            }
            self.0.swap(0, 1);
        }
        self.0[0].as_ref().map(|(_, b)| b)
    }

    /// Holds `b` first; the block found before it moves second.
    fn insert(&mut self, key: BlockKey, b: Rc<CachedBlock>) {
        self.0[1] = self.0[0].replace((key, b));
    }

    /// Lets `b` go, if the set holds it.
    fn forget(&mut self, b: &Rc<CachedBlock>) {
        for way in self.0.iter_mut() {
            if way.as_ref().is_some_and(|(_, r)| Rc::ptr_eq(r, b)) {
                *way = None;
            }
        }
    }
}

/// Slots of [`Cpu::recent`] (a power of two), two blocks each: 2 MiB. A
/// Linux boot runs some 90 000 blocks; with 16 384 blocks in all, conflicts
/// sent twice as many lookups to the block cache as with 65 536.
const RECENT_SETS: usize = 32768;
/// One hit in this many on a recent block also marks it used in the block
/// cache, so that the blocks run most stay the last to be evicted.
const RECENT_PROMOTE: u32 = 256;

/// Whether `ins`, ending a block, leaves the mode as it was: a near jump,
/// call or return, a conditional branch or a loop (the run loop need not
/// compute `Cpu::mode_bits` again after it; see `Cpu::mode_key`).
fn keeps_mode(ins: &iced_x86::Instruction) -> bool {
    use iced_x86::Mnemonic as M;
    match ins.mnemonic() {
        M::Jmp => !ins.is_jmp_far() && !ins.is_jmp_far_indirect(),
        M::Call => !ins.is_call_far() && !ins.is_call_far_indirect(),
        M::Ret => true,
        M::Loop | M::Loope | M::Loopne | M::Jcxz | M::Jecxz => true,
        _ => ins.is_jcc_short_or_near(),
    }
}

/// Instructions a block waiting for the compile thread runs in the
/// interpreter before they count in its job's heat (which orders the queue).
/// The thread reads every waiting job's heat at each job it takes: an
/// update at every run took that cache line back from the other core (and
/// the job's allocation, a line of its own) for every interpreted block.
const HEAT_STEP: u32 = 64;

/// The slot of [`Cpu::recent`] for a block starting at `phys`.
fn recent_slot(phys: PhysAddr) -> usize {
    (phys.0 ^ (phys.0 >> 12)) as usize & (RECENT_SETS - 1)
}

impl Cpu {
    pub fn new(mem: Memory, bus: Box<dyn Bus>, config: CpuConfig) -> Cpu {
        let mut state = CpuState::reset();
        state.regs[crate::state::reg::EDX] = config.model.signature();
        Cpu {
            state,
            mem,
            bus,
            config,
            icount: 0,
            compile_time: std::time::Duration::ZERO,
            interp_stats: None,
            warp: 0,
            rate: NS_PER_INSN,
            rate_base: 0,
            event_at: u64::MAX,
            event_due: u64::MAX,
            events_stale: true,
            irq_stale: true,
            mode_key: None,
            cache: BlockCache::new(config.block_cache_size),
            next_eip: 0,
            request: None,
            delivered: false,
            ss_loaded: false,
            device_access: false,
            invalidations: HashMap::new(),
            pending_debug_trap: false,
            breakpoints_armed: false,
            data_breakpoint_hits: 0,
            jit: None,
            jit_env: JitEnv::default(),
            jit_fault: None,
            links: LinkTable::new(),
            jmp_cache: vec![JmpEntry::default(); JMP_CACHE_ENTRIES].into_boxed_slice(),
            jmp_cache_tlb_flushes: 0,
            jmp_cache_extent: 0,
            recent: vec![RecentSet::default(); RECENT_SETS].into_boxed_slice(),
            compiling: HashMap::new(),
            triple_fault: false,
            unimplemented: HashSet::new(),
            tracer: None,
        }
    }

    /// RESET: the CPU state goes back to its power-on values and every cached
    /// translation is dropped. Memory contents survive (as on a real PC's reset).
    pub fn reset(&mut self) {
        self.state = CpuState::reset();
        self.state.regs[crate::state::reg::EDX] = self.config.model.signature();
        // The time-stamp counter restarts from zero.
        self.state.tsc_offset = 0u64.wrapping_sub(self.now());
        self.cache.clear();
        self.recent.fill(RecentSet::default());
        self.drop_compiling();
        self.links.clear();
        self.clear_jmp_cache();
        self.mem.tlb.flush_all();
        self.mem.set_a20(true);
        self.request = None;
        self.triple_fault = false;
        self.update_breakpoints();
    }

    /// The machine's virtual time in nanoseconds: the instructions executed
    /// at the rate (one nanosecond each unless the machine set another, as
    /// QEMU's `-icount shift=0`), plus the time skipped.
    pub fn now(&self) -> u64 {
        let ran = self.icount.wrapping_sub(self.rate_base);
        self.warp.wrapping_add(if self.rate == NS_PER_INSN { ran } else { ran * self.rate / NS_PER_INSN })
    }

    /// Instructions from now on count `rate` sixteenths of a nanosecond each
    /// (at least one); time so far is kept.
    pub fn set_rate(&mut self, rate: u64) {
        self.warp = self.now();
        self.rate_base = self.icount;
        self.rate = rate.clamp(1, 1 << 16);
        self.events_stale = true;
    }

    /// The rate instructions count at ([`Cpu::set_rate`]).
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The time-stamp counter: one tick per nanosecond of virtual time.
    pub fn tsc(&self) -> u64 {
        self.now().wrapping_add(self.state.tsc_offset)
    }

    /// Runs until `budget` instructions have executed or something needs the caller.
    pub fn run(&mut self, budget: u64) -> Exit {
        let mut end = self.icount.saturating_add(budget);
        // The block run last, to be told where its successor is.
        let mut previous: Option<Rc<CachedBlock>> = None;
        // The machine may have moved the clock (a halt) or the devices, and
        // anything may have changed the state.
        self.events_stale = true;
        self.irq_stale = true;
        self.mode_may_change();
        loop {
            if let Some(r) = self.request.take() {
                return Exit::Request(r);
            }
            if self.triple_fault {
                self.triple_fault = false;
                return Exit::TripleFault;
            }
            if self.icount >= end {
                return Exit::Budget;
            }
            if self.jit.as_ref().is_some_and(|j| j.needs_flush) {
                self.flush_translations();
            }
            if self.pending_debug_trap {
                self.pending_debug_trap = false;
                self.raise(Exception::new(vector::DB, None));
                continue;
            }
            if self.bus.take_nmi() {
                self.state.nmi_pending = true;
            }
            if self.state.nmi_pending && !self.state.nmi_blocked && !self.state.inhibit_interrupts {
                self.state.nmi_pending = false;
                self.state.halted = false;
                self.nmi();
                continue;
            }
            if !self.state.inhibit_interrupts
                && self.state.flags.bits & fl::IF != 0
                && (self.irq_stale || self.now() >= self.event_at)
            {
                self.irq_stale = false;
                if self.bus.interrupt_pending(self.now()) {
                    let v = self.bus.acknowledge_interrupt();
                    self.irq_stale = true;
                    self.state.halted = false;
                    self.external_interrupt(v);
                    continue;
                }
            }
            if self.state.halted {
                return Exit::Halted;
            }
            // Code written outside an instruction's own execution (the frame
            // an exception or interrupt pushed, a task switch's TSS writes)
            // is dropped before the next block is looked up.
            if self.mem.has_dirty_code() {
                self.invalidate_dirty_code(None);
            }
            // Then what the compile thread finished, for blocks still in the
            // cache with the code it was compiled from.
            if self.jit.as_ref().is_some_and(|j| j.has_news()) {
                self.take_finished_translations();
                if self.jit.as_ref().is_some_and(|j| j.needs_flush) {
                    self.flush_translations();
                }
            }
            let stop = self.stop_before_event(end);
            let mode = self.mode_key();
            let block = match self.lookup_block(mode) {
                Ok(b) => b,
                Err(e) => {
                    self.icount += 1;
                    self.raise(e);
                    continue;
                }
            };
            if let Some(p) = previous.take() {
                p.next.set(NextHint {
                    slot: &self.recent[recent_slot(block.block.phys)] as *const _ as usize,
                    block: Rc::as_ptr(&block) as usize,
                    insns: block.block.insns.as_ptr() as usize,
                    handlers: block.handlers.as_ptr() as usize,
                });
            }
            block.next.get().prefetch();
            match self.translation(&block) {
                // Compiled code runs whole blocks: the last few instructions
                // before `stop` are interpreted, so that both tiers stop at
                // exactly the same instruction.
                Some(code) if stop - self.icount >= block.block.insns.len() as u64 => {
                    self.check_chains();
                    self.remember_jump(&block, code, mode);
                    self.exec_jit(code, stop);
                    if self.config.stop_after_compiled {
                        // Whatever the code asked for first, then back.
                        end = self.icount;
                    }
                }
                _ => {
                    let before = self.icount;
                    self.exec_block(&block, stop);
                    if self.interp_stats.is_some() {
                        self.count_interpreted(&block, self.icount - before);
                    }
                    if !block.keeps_mode {
                        self.mode_may_change();
                    }
                }
            }
            previous = Some(block);
        }
    }

    /// What the compile thread did so far ([`jit::QueueStats`]).
    pub fn queue_stats(&self) -> jit::QueueStats {
        self.jit.as_ref().map(|j| j.queue_stats()).unwrap_or_default()
    }

    /// Adds a run of `cached` by the interpreter, `insns` instructions, to
    /// [`Cpu::interp_stats`].
    fn count_interpreted(&mut self, cached: &CachedBlock, insns: u64) {
        let generation = self.jit.as_ref().map(|j| j.generation());
        let kind = if self.config.engine == Engine::Interp || cached.jit_failed.get() {
            InterpKind::NotCompiled
        } else if cached.ticket.get().is_some() {
            InterpKind::Queued
        } else if cached.code.get().is_some_and(|c| Some(c.generation) == generation) {
            InterpKind::Compiled
        } else {
            match cached.runs.get() {
                0..10 => InterpKind::Runs0,
                10..100 => InterpKind::Runs10,
                _ => InterpKind::Runs100,
            }
        };
        if let Some(stats) = self.interp_stats.as_mut() {
            stats.insns[kind as usize] += insns;
            stats.runs[kind as usize] += 1;
        }
    }

    /// Where execution must pause (at most `end`): when the next device
    /// event is due, so that its interrupt is taken at that instruction.
    fn stop_before_event(&mut self, end: u64) -> u64 {
        let now = self.now();
        if now >= self.event_at {
            // The event is due: the devices' answer may change (the look at
            // interrupts may be held off now, by an interrupt shadow).
            self.irq_stale = true;
        }
        if self.events_stale || now >= self.event_at {
            self.event_at = self.bus.next_event(now).unwrap_or(u64::MAX);
            self.events_stale = false;
            // The first instruction at whose start the time is at or after
            // the event: `now()` rounds down, so it is the first count
            // since `rate_base` whose time, unrounded, reaches the event.
            // (Counted from `rate_base` and `warp`, not from now, it does not
            // depend on when it is asked.)
            let ahead = self.event_at.saturating_sub(self.warp);
            let insns = if self.rate == NS_PER_INSN {
                ahead
            } else {
                ahead.saturating_mul(NS_PER_INSN).div_ceil(self.rate)
            };
            self.event_due = self.rate_base.saturating_add(insns);
        }
        let due = self.event_due.max(self.icount + 1);
        end.min(due)
    }

    /// Whether compiled code may run now: it does not single-step, watch
    /// breakpoints, honour an interrupt shadow or RF, or check alignment.
    fn jit_allowed(&self) -> bool {
        let s = &self.state;
        let single_step =
            s.flags.bits & (fl::TF | fl::RF) != 0 || s.inhibit_interrupts || self.breakpoints_armed;
        let alignment_checks = s.cpl == 3 && s.cr0 & crate::state::cr0::AM != 0 && s.flags.bits & fl::AC != 0;
        !single_step && !alignment_checks
    }

    /// The block's translation, compiling it if the engine says it is time.
    fn translation(&mut self, cached: &Rc<CachedBlock>) -> Option<JitCode> {
        let engine = self.config.engine;
        if engine == Engine::Interp || !self.jit_allowed() {
            return None;
        }
        if self.jit.is_none() {
            match Jit::new() {
                Ok(j) => self.jit = Some(j),
                Err(e) => {
                    eprintln!("vemu: the JIT cannot run here ({}); interpreting", e.0);
                    self.config.engine = Engine::Interp;
                    return None;
                }
            }
        }
        let generation = self.jit.as_ref()?.generation();
        let optimize_at = self.config.jit_threshold;
        let current = cached.code.get().filter(|c| c.generation == generation);
        // A baseline translation counts its own runs (at its head).
        let runs = match current {
            Some(c) if c.tier == Tier::Baseline => cached.runs.get(),
            _ => cached.runs.get().saturating_add(1),
        };
        cached.runs.set(runs);
        if cached.ticket.get().is_some() {
            // The compile thread has it: interpreted until it is ready, and
            // counted, so that the thread takes it sooner.
            let heat = cached.unpublished_heat.get() + cached.block.insns.len() as u32;
            if heat < HEAT_STEP {
                cached.unpublished_heat.set(heat);
            } else {
                cached.unpublished_heat.set(0);
                if let Some(shared) = cached.heat.get() {
                    shared.fetch_add(heat, std::sync::atomic::Ordering::Relaxed);
                }
            }
            return None;
        }
        if let Some(code) = current {
            if code.tier == Tier::Optimized || runs < optimize_at {
                return Some(code);
            }
            // A baseline translation that became hot: compiled again by the
            // optimising tier, and what jumped into the old code comes back
            // here to be linked to the new.
            self.links.unlink_incoming(&cached.links);
            self.clear_jmp_cache();
        } else if cached.jit_failed.get() || runs < self.compile_threshold(cached) {
            return None;
        }
        let jit = self.jit.as_ref()?;
        let background = engine == Engine::Auto && self.config.background_compile && jit.background_allowed();
        if background && jit.queue_full() {
            // Asked again at the block's next run.
            return None;
        }
        // Under `Engine::Jit`, a block not yet hot starts in the baseline tier.
        let baseline = (engine == Engine::Jit && runs < optimize_at)
            .then(|| HotCounter { addr: cached.runs.as_ptr() as usize, threshold: optimize_at });
        let s = &self.state;
        let mode = jit::Mode {
            bitness: s.code_bitness(),
            stack32: s.stack32(),
            user: s.cpl == 3,
            traced: self.tracer.is_some(),
            flat: self.flat_data(),
            cs_limit: s.seg(Seg::CS).limit,
            key: self.mode_bits(),
            defect: self.config.jit_defect,
            cmov: self.config.model.has(crate::cpuid::feature::CMOV),
            sse2: self.config.model.has(crate::cpuid::feature::SSE2),
            tsc: self.config.model.has(crate::cpuid::feature::TSC),
        };
        self.links.unlink_outgoing(&cached.links);
        // A baseline translation is its block alone: its loops go through
        // links, and each block counts its own runs.
        let members = if baseline.is_some() { Vec::new() } else { self.region(&cached.block) };
        // The extent covers the code and the direct targets within the limit,
        // which the translation jumps to without checking the limit.
        let limit = mode.cs_limit;
        let extent = std::iter::once(&cached.block)
            .chain(members.iter())
            .flat_map(|b| {
                jit::region::successors(b).into_iter().filter(|t| *t <= limit).chain([b.last_offset()])
            })
            .max()
            .unwrap_or(0);
        cached.extent.set(extent);
        // The translation embeds its other blocks' code as well: writes to
        // their bytes must drop it.
        for (addr, len) in members.iter().flat_map(|b| b.byte_runs()) {
            self.mem.mark_code(addr, len);
        }
        *cached.region.borrow_mut() = members;
        let region = cached.region.borrow();
        let blocks: Vec<&Block> = std::iter::once(&cached.block).chain(region.iter()).collect();
        let jit = self.jit.as_mut()?;
        let started = std::time::Instant::now();
        if background {
            let heat = cached.heat.get_or_init(Default::default).clone();
            cached.unpublished_heat.set(0);
            let copies = blocks.iter().map(|b| (*b).clone()).collect();
            let ticket = jit.start_compile(copies, mode, &cached.links, heat);
            self.compile_time += started.elapsed();
            drop(region);
            match ticket {
                Ok(ticket) => {
                    cached.ticket.set(Some(ticket));
                    self.compiling.insert(ticket, cached.clone());
                }
                Err(e) => cached.compile_failed(e),
            }
            return None;
        }
        let compiled = jit.compile(&blocks, mode, &cached.links, baseline);
        self.compile_time += started.elapsed();
        drop(region);
        match compiled {
            Ok(code) => {
                self.install(cached, code);
                Some(code)
            }
            Err(e) => {
                cached.compile_failed(e);
                None
            }
        }
    }

    /// Forgets the compiles in flight (the block cache is being emptied).
    fn drop_compiling(&mut self) {
        for (_, b) in self.compiling.drain() {
            b.ticket.set(None);
        }
    }

    /// A block's translation is ready: it runs from its next lookup on, and
    /// exits link to it.
    fn install(&mut self, cached: &CachedBlock, code: JitCode) {
        cached.code.set(Some(code));
        self.links.add(&cached.links, cached.block.eip);
    }

    /// Installs what the compile thread finished for blocks still in
    /// `compiling`: a block dropped meanwhile (for a write to its code, to
    /// make room, by a flush or a reset) left it, and its translation is
    /// thrown away before it reaches the module.
    fn take_finished_translations(&mut self) {
        let Some(jit) = self.jit.as_mut() else { return };
        let compiling = &self.compiling;
        let finished = match jit.finished(|ticket| compiling.contains_key(&ticket), &mut self.compile_time) {
            Ok(finished) => finished,
            Err(e) => {
                // Whatever it had is lost: those blocks stay interpreted.
                for (_, b) in self.compiling.drain() {
                    b.ticket.set(None);
                    b.compile_failed(jit::JitError(e.0.clone()));
                }
                return;
            }
        };
        for jit::Finished { ticket, code, blocks } in finished {
            let Some(cached) = self.compiling.remove(&ticket) else { continue };
            cached.ticket.set(None);
            match code {
                Ok(code) => {
                    *cached.compiled_from.borrow_mut() = blocks;
                    self.install(&cached, code)
                }
                Err(e) => cached.compile_failed(e),
            }
        }
    }

    /// Runs of a block before it is compiled: none under `Engine::Jit`, the
    /// threshold under `Engine::Auto`; and for code at an address whose
    /// translations were thrown away for self-modification again and again
    /// (a loop that patches itself), twice as many for each time past the
    /// first, so that the JIT does not compile the same code over and over.
    fn compile_threshold(&self, cached: &CachedBlock) -> u32 {
        let base = match self.config.engine {
            Engine::Auto => self.config.jit_threshold,
            _ => 0,
        };
        match cached.invalidated {
            n if n > 1 => base.max(16).saturating_mul(1 << (n - 1).min(20)),
            _ => base,
        }
    }

    /// The blocks a translation of `root` also covers (see `jit::region`).
    fn region(&mut self, root: &Block) -> Vec<Block> {
        let cs = *self.state.seg(Seg::CS);
        let bitness = self.state.code_bitness();
        let max_insns = self.config.max_block_insns;
        let page = cs.base.wrapping_add(root.eip) & !0xfff;
        jit::region::grow(root, cs.base, |eip| {
            let req = DecodeRequest { cs_base: cs.base, eip, cs_limit: cs.limit, bitness, max_insns };
            let mut fetcher = PageFetcher { cpu: self, page, beyond: false };
            let block = decode_block(&mut fetcher, &req).ok();
            block.filter(|_| !fetcher.beyond)
        })
    }

    /// Puts the translation `code` of the block at CS:EIP, for `mode` (`Cpu::mode_bits`), in the jump cache.
    fn remember_jump(&mut self, cached: &CachedBlock, code: JitCode, mode: u32) {
        if cached.block.second_page.is_some() {
            // Its second page may be remapped without a flush of the first.
            return;
        }
        let cs = *self.state.seg(Seg::CS);
        let linear = cs.base.wrapping_add(self.state.eip);
        self.jmp_cache[JmpEntry::index(linear)] = JmpEntry {
            key: JmpEntry::key(linear, mode),
            eip: self.state.eip,
            code: code.entry,
            ..JmpEntry::default()
        };
        self.jmp_cache_extent = self.jmp_cache_extent.max(cached.extent.get());
    }

    /// Drops the jump-cache entries for code at linear addresses in
    /// `ranges` (start, length).
    fn forget_jumps_into(&mut self, ranges: &[(u32, u32)]) {
        for e in self.jmp_cache.iter_mut() {
            let linear = e.key as u32;
            if ranges.iter().any(|&(start, len)| linear.wrapping_sub(start) < len) {
                *e = JmpEntry::default();
            }
        }
    }

    pub(crate) fn clear_jmp_cache(&mut self) {
        self.jmp_cache.fill(JmpEntry::default());
        self.jmp_cache_extent = 0;
    }

    /// Before generated code runs: forgets jump-cache entries once the TLB was
    /// flushed (a linear address may lead elsewhere now), and the links and
    /// entries leading to translations that run beyond the CS limit (compiled
    /// code does not check the limit of direct targets again).
    fn check_chains(&mut self) {
        let limit = self.state.seg(Seg::CS).limit;
        self.links.cut_beyond(limit);
        if limit < self.jmp_cache_extent {
            self.clear_jmp_cache();
        }
        let flushes = self.mem.tlb.flushes;
        if flushes != self.jmp_cache_tlb_flushes {
            self.jmp_cache_tlb_flushes = flushes;
            // After INVLPGs, only the entries in the pages flushed go (the
            // kernel's text patching and fixmap changes flush a page at a
            // time, thousands of times in a Linux boot).
            match self.mem.tlb.take_flushed() {
                Some(ranges) => self.forget_jumps_into(&ranges),
                None => self.clear_jmp_cache(),
            }
        }
    }

    /// Fills the environment compiled code reads.
    fn prepare_jit_env(&mut self, end: u64) {
        let budget = end.saturating_sub(self.icount).min(CHAIN_BUDGET);
        let mut seg_base = [0; 6];
        let mut seg_read_limit = [-1; 6];
        let mut seg_write_limit = [-1; 6];
        for (i, seg) in self.state.segs.iter().enumerate() {
            seg_base[i] = seg.base;
            let (read_ok, write_ok) = self.plain_access(seg);
            seg_read_limit[i] = if read_ok { seg.limit as i64 } else { -1 };
            seg_write_limit[i] = if write_ok { seg.limit as i64 } else { -1 };
        }
        self.jit_env = JitEnv {
            budget: budget as i64,
            icount_base: self.icount + budget,
            jmp_cache: self.jmp_cache.as_ptr(),
            exit_slot: 0,
            seg_base,
            seg_read_limit,
            seg_write_limit,
        };
    }

    /// Whether reads and writes through `seg` need only the plain limit check
    /// (usable, expand-up, and in protected mode readable resp. writable data).
    #[inline]
    fn plain_access(&self, seg: &crate::state::Segment) -> (bool, bool) {
        use crate::state::attr;
        let s = &self.state;
        let pm = s.protected_mode() && !s.v86_mode();
        let ty = seg.attr & attr::TYPE_MASK;
        let code = ty & attr::CODE != 0;
        let rw = ty & attr::WRITABLE_READABLE != 0;
        let expand_down = !code && ty & attr::EXPAND_DOWN_CONFORMING != 0;
        let plain = !seg.unusable() && !expand_down;
        (plain && (!pm || !code || rw), plain && (!pm || (!code && rw)))
    }

    /// Runs compiled code from `code` until it leaves, then links the exit it
    /// left through when its target is compiled too.
    fn exec_jit(&mut self, code: JitCode, end: u64) {
        self.prepare_jit_env(end);
        let Some(jit) = self.jit.as_ref() else { return };
        let st = jit::run(jit.trampoline(), self, code);
        self.icount = self.jit_env.icount_base.wrapping_sub(self.jit_env.budget as u64);
        if st == status::FAULT {
            if let Some(e) = self.jit_fault.take() {
                self.raise(e);
            }
        } else if self.jit_env.exit_slot != 0 {
            self.link_exit(self.jit_env.exit_slot);
        }
        if self.mem.has_dirty_code() {
            self.invalidate_dirty_code(None);
        }
    }

    /// Links the exit whose slot is at `slot` to the translation of the block at
    /// CS:EIP, if that is compiled and on the same linear page as the exit's
    /// own translation: then whatever maps that page to the one (checked when
    /// the translation is entered) maps it to the other, under any mapping.
    ///
    /// The target is looked for among the recent blocks only, and the slot's
    /// owner only once the target turned out compiled: most exits that come
    /// back here lead to code still interpreted (each time they are taken),
    /// and a target that is hot but not recent is linked at a later exit.
    fn link_exit(&mut self, slot: usize) {
        let cs = *self.state.seg(Seg::CS);
        let linear = cs.base.wrapping_add(self.state.eip);
        // (From the TLB only: a page walk here would set accessed bits
        // before the guest fetches from the page, if it ever does.)
        let user = self.user();
        let Some(phys) = self.mem.translate_cached(linear, vemu_softmmu::Access::Fetch, user) else { return };
        let key = BlockKey { phys, eip: self.state.eip, mode: self.mode_bits() };
        let Some(target) = self.recent[recent_slot(phys)].find(&key) else { return };
        let generation = self.jit.as_ref().map_or(0, |j| j.generation());
        let Some(code) = target.code.get().filter(|c| c.generation == generation) else { return };
        if target.block.second_page.is_some() || target.extent.get() > cs.limit {
            // Its second page may be remapped without a flush of the first.
            return;
        }
        let (target_links, extent) = (target.links.clone(), target.extent.get());
        let Some((_, _, source_eip)) = self.links.owner(slot) else { return };
        if linear & !0xfff != cs.base.wrapping_add(source_eip) & !0xfff {
            return;
        }
        self.links.link(slot, &target_links, code.entry, extent);
    }

    /// Drops every translation (the code module is full): the block cache starts
    /// empty and blocks are decoded and compiled again as they run.
    fn flush_translations(&mut self) {
        self.cache.clear();
        self.recent.fill(RecentSet::default());
        self.drop_compiling();
        self.links.clear();
        self.clear_jmp_cache();
        if let Some(jit) = self.jit.as_mut() {
            if let Err(e) = jit.flush() {
                eprintln!("vemu: the JIT cannot start afresh ({}); interpreting", e.0);
                self.jit = None;
                self.config.engine = Engine::Interp;
            }
        }
    }

    /// Sets the clock from the budget compiled code has left (its stores
    /// before a helper call keep the budget current).
    pub(crate) fn sync_clock_from_jit(&mut self) {
        let env = &self.jit_env;
        self.icount = env.icount_base.wrapping_sub(env.budget as u64);
    }

    /// Executes one instruction for compiled code (see `jit::helpers`): returns
    /// whether the block may go on, must be left, or faulted.
    pub(crate) fn interpret_for_jit(&mut self, ins: &iced_x86::Instruction) -> u32 {
        use crate::jit::helpers::interp_status;
        let mask = if self.state.code_bitness() == 16 { 0xffff } else { u32::MAX };
        let sequential = (ins.next_ip() as u32) & mask;
        self.next_eip = sequential;
        self.delivered = false;
        self.ss_loaded = false;
        // (It may be one that changes the mode, which compiled code leaves
        // to the interpreter.)
        self.mode_may_change();
        match self.execute(ins) {
            Err(e) => {
                self.device_access = false;
                self.jit_fault = Some(e);
                interp_status::FAULT
            }
            Ok(()) => {
                self.state.eip = self.next_eip;
                // (Taken whatever else ends the block: the helpers of
                // compiled code expect it clear.)
                let touched = std::mem::take(&mut self.device_access);
                let leave = touched
                    || self.next_eip != sequential
                    || self.request.is_some()
                    || self.triple_fault
                    || self.state.halted
                    || self.pending_debug_trap
                    || self.mem.has_dirty_code()
                    || vemu_decoder::ends_block(ins);
                if leave {
                    interp_status::EXIT
                } else {
                    interp_status::CONTINUE
                }
            }
        }
    }

    /// [`Cpu::mode_bits`], computed again only after what may have changed
    /// it: the run loop's start (anything may have written the state), an
    /// interrupt or exception delivered (`deliver`), an instruction compiled
    /// code left to the interpreter, and an interpreted block that ends with
    /// anything but a near branch (whatever else changes a segment register,
    /// CR0, the CPL or EFLAGS.VM ends its block: `ends_block`). Debug builds
    /// check that the value kept is the value.
    fn mode_key(&mut self) -> u32 {
        match self.mode_key {
            Some(m) => {
                debug_assert_eq!(m, self.mode_bits(), "the mode changed unseen");
                m
            }
            None => {
                let m = self.mode_bits();
                self.mode_key = Some(m);
                m
            }
        }
    }

    /// Forgets the mode key (see [`Cpu::mode_key`]).
    pub(crate) fn mode_may_change(&mut self) {
        self.mode_key = None;
    }

    /// Mode bits a decoded block depends on.
    #[inline]
    fn mode_bits(&self) -> u32 {
        let s = &self.state;
        (s.code_bitness() == 32) as u32
            | (s.stack32() as u32) << 1
            | (s.cpl as u32) << 2
            | (s.protected_mode() as u32) << 4
            | (s.v86_mode() as u32) << 5
            | (s.paging() as u32) << 6
            | (self.tracer.is_some() as u32) << 7
            | (self.flat_data() as u32) << 8
    }

    /// Whether ES, SS and DS all have base 0 and a 4 GiB limit, and can be read
    /// and written (compiled code then skips their segment arithmetic).
    #[inline]
    fn flat_data(&self) -> bool {
        let s = &self.state;
        [Seg::ES, Seg::SS, Seg::DS].iter().all(|&r| {
            let seg = s.seg(r);
            seg.base == 0 && seg.limit == u32::MAX && self.plain_access(seg).1
        })
    }

    /// The EIP of the block the block at `phys` names as its successor
    /// ([`NextHint`]), among the blocks cached for that page.
    #[cfg(test)]
    pub(crate) fn hinted_successor(&self, phys: u32) -> Option<u32> {
        let page = PhysAddr(phys & !0xfff);
        let blocks = self.cache.on_page(page);
        let b = blocks.iter().find(|b| b.block.phys == PhysAddr(phys))?;
        let next = b.next.get().block;
        blocks.iter().find(|r| Rc::as_ptr(r) as usize == next).map(|r| r.block.eip)
    }

    /// The block at CS:EIP for `mode` (`Cpu::mode_bits`), from the cache or freshly decoded.
    fn lookup_block(&mut self, mode: u32) -> Fault<Rc<CachedBlock>> {
        let cs = *self.state.seg(Seg::CS);
        let eip = self.state.eip;
        if eip > cs.limit {
            return Err(Exception::gp(0));
        }
        let phys = self.fetch_translate(cs.base.wrapping_add(eip))?;
        let key = BlockKey { phys, eip, mode };
        // The recent blocks answer most lookups without the block cache's
        // hashing and LRU bookkeeping (a twentieth of a Linux boot's time).
        let found = match self.recent[recent_slot(phys)].lookup(&key) {
            Some(b) => {
                let b = b.clone();
                let hits = b.recent_hits.get().wrapping_add(1);
                b.recent_hits.set(hits);
                if hits % RECENT_PROMOTE == 0 {
                    self.cache.get(&key);
                }
                Some(b)
            }
            None => {
                let b = self.cache.get(&key);
                if let Some(b) = &b {
                    self.recent[recent_slot(phys)].insert(key, b.clone());
                }
                b
            }
        };
        if let Some(b) = found {
            let valid = b.extent.get() <= cs.limit
                && match b.block.second_page {
                    None => true,
                    Some((linear, page)) => {
                        self.fetch_translate(linear).map(|p| PhysAddr(p.0 & !0xfff)) == Ok(page)
                    }
                };
            if valid {
                return Ok(b);
            }
            if let Some(old) = self.cache.remove(&key) {
                self.forget_block(&old);
            }
        }
        let req = DecodeRequest {
            cs_base: cs.base,
            eip,
            cs_limit: cs.limit,
            bitness: self.state.code_bitness(),
            max_insns: self.config.max_block_insns,
        };
        let block = decode_block(&mut Fetcher(self), &req).map_err(|e| match e {
            FetchError::Fault(f) => f,
            FetchError::CsLimit => Exception::gp(0),
        })?;
        let pages: Vec<PhysAddr> = block.pages().collect();
        for (addr, len) in block.byte_runs() {
            self.mem.mark_code(addr, len);
        }
        let invalidated = self.invalidations.get(&block.phys).copied().unwrap_or(0);
        let cached = Rc::new(CachedBlock::new(block, invalidated));
        if let Some(evicted) = self.cache.insert(key, &pages, cached.clone()) {
            self.forget_block(&evicted);
        }
        self.recent[recent_slot(phys)].insert(key, cached.clone());
        Ok(cached)
    }

    /// Executes instructions of `cached` from its start until it ends, faults, is
    /// invalidated, or the budget ends.
    fn exec_block(&mut self, cached: &Rc<CachedBlock>, end: u64) {
        let s = &self.state;
        if s.flags.bits & fl::TF != 0
            || s.inhibit_interrupts
            || self.breakpoints_armed
            || self.tracer.is_some()
        {
            self.exec_instructions::<true>(cached, end)
        } else {
            self.exec_instructions::<false>(cached, end)
        }
    }

    /// [`Cpu::exec_block`]'s loop. `WATCHED`: under single-step (TF), an
    /// interrupt shadow, breakpoints or a tracer, whose checks the loop makes
    /// only then.
    #[inline(always)]
    fn exec_instructions<const WATCHED: bool>(&mut self, cached: &Rc<CachedBlock>, end: u64) {
        let block = &cached.block;
        // Under single-step (TF) or an interrupt shadow, one instruction at a time.
        let tf = WATCHED && self.state.flags.bits & fl::TF != 0;
        let shadow = WATCHED && self.state.inhibit_interrupts;
        let count = if tf || shadow || self.breakpoints_armed { 1 } else { block.insns.len() };
        let mask = if block.bitness == 16 { 0xffff } else { u32::MAX };
        for (ins, handler) in block.insns[..count].iter().zip(&cached.handlers[..count]) {
            if self.icount >= end {
                return;
            }
            if let Some(t) = self.tracer.as_mut().filter(|_| WATCHED) {
                t.before_instruction(&self.state, ins);
            }
            self.icount += 1;
            if WATCHED {
                // (What the single-step trap below asks about.)
                self.delivered = false;
                self.ss_loaded = false;
            }
            if shadow {
                // This instruction is the one shadowed; it may set a new shadow.
                self.state.inhibit_interrupts = false;
            }
            let sequential = (ins.next_ip() as u32) & mask;
            self.next_eip = sequential;
            let rf = self.state.flags.bits & fl::RF != 0;
            if WATCHED && self.breakpoints_armed {
                self.data_breakpoint_hits = 0;
                let linear = self.state.seg(Seg::CS).base.wrapping_add(self.state.eip);
                let hits = self.instruction_breakpoints(linear);
                if hits != 0 && !rf {
                    // An instruction breakpoint: a fault before the instruction.
                    self.state.dr[6] |= hits;
                    self.raise(Exception::new(vector::DB, None));
                    return;
                }
            }
            match handler(self, ins) {
                Ok(()) => {
                    self.state.eip = self.next_eip;
                    // RF lasts for one instruction (SDM Vol. 3A 17.3.1.1).
                    if rf {
                        self.state.flags.bits &= !fl::RF;
                    }
                }
                Err(e) => {
                    self.device_access = false;
                    self.raise(e);
                    return;
                }
            }
            // The single-step trap after an instruction that began with TF=1,
            // unless it delivered an interrupt itself (INT n clears TF first) or
            // loaded SS (which holds debug traps off for one more instruction).
            // Data breakpoints hit only while armed, which ends the block.
            if WATCHED {
                let data_hits = std::mem::take(&mut self.data_breakpoint_hits);
                if (tf || data_hits != 0) && !self.delivered && !self.ss_loaded {
                    self.debug_trap(tf, data_hits);
                }
            }
            // (Taken whatever ends the block, so that no later access sees it.)
            let touched = std::mem::take(&mut self.device_access);
            if self.mem.has_dirty_code() && self.invalidate_dirty_code(Some(cached)) {
                return;
            }
            if self.request.is_some() || self.triple_fault || touched {
                return;
            }
            // A REP instruction that yields to the run loop restarts itself (and
            // single-stepping does so after every iteration): the rest of the
            // block is not next.
            if self.state.eip != sequential {
                return;
            }
        }
    }

    /// The #DB trap after an instruction: single step (TF) and/or data breakpoints.
    fn debug_trap(&mut self, single_step: bool, data_hits: u32) {
        self.state.dr[6] |= data_hits | if single_step { dr::DR6_BS } else { 0 };
        self.raise(Exception::new(vector::DB, None));
    }

    /// Drops the blocks whose code bytes were written since the last call,
    /// and keeps the code map of their pages exact for the blocks that stay.
    /// Returns whether `running` was among those dropped.
    fn invalidate_dirty_code(&mut self, running: Option<&Rc<CachedBlock>>) -> bool {
        let writes = self.mem.take_code_writes();
        let mut pages: Vec<PhysAddr> = writes.iter().map(|w| w.page()).collect();
        pages.sort();
        pages.dedup();
        let mut hit = false;
        for page in pages {
            let here: Vec<_> = writes.iter().filter(|w| w.page() == page).collect();
            let stale = |b: &CachedBlock| {
                b.code_runs().iter().any(|&(addr, len)| here.iter().any(|w| w.overlaps(addr, len)))
            };
            for b in self.cache.invalidate_where(page, stale) {
                hit |= running.is_some_and(|r| Rc::ptr_eq(&b, r));
                // (A translation being compiled counts: code that patches
                // itself faster than it compiles must get the backoff too.)
                if b.code.get().is_some() || b.ticket.get().is_some() {
                    if self.invalidations.len() >= MAX_INVALIDATION_RECORDS {
                        self.invalidations.clear();
                    }
                    *self.invalidations.entry(b.block.phys).or_insert(0) += 1;
                }
                self.forget_block(&b);
            }
            self.mem.clear_code_page(page);
            for b in self.cache.on_page(page) {
                for (addr, len) in b.code_runs() {
                    if addr.0 & !0xfff == page.0 {
                        self.mem.mark_code(addr, len);
                    }
                }
            }
        }
        hit
    }

    /// A block left the cache: nothing may jump into its translation any more.
    fn forget_block(&mut self, b: &Rc<CachedBlock>) {
        if let Some(ticket) = b.ticket.take() {
            self.compiling.remove(&ticket);
        }
        self.recent[recent_slot(b.block.phys)].forget(b);
        self.links.remove(&b.links);
        if b.code.get().is_some() {
            self.clear_jmp_cache();
        }
    }

    /// Reports an opcode vemu does not implement, once per opcode, and raises #UD.
    pub(crate) fn unimplemented(&mut self, ins: &iced_x86::Instruction) -> Exception {
        if self.unimplemented.insert(ins.code()) {
            eprintln!(
                "vemu: unimplemented instruction {:?} at {:04x}:{:08x}; the guest gets #UD",
                ins.mnemonic(),
                self.state.seg(Seg::CS).selector,
                self.state.eip
            );
        }
        Exception::ud()
    }
}

/// The decoder's view of the CPU for blocks a region may take in, which
/// must lie on the linear page `page` (`jit::region`): it does not look
/// beyond, so that deciding what to compile walks no other page's tables
/// (a walk sets accessed bits the guest can see, for code that may never run;
/// the interpreter walks them when it decodes the block to run it). A block
/// that goes on past the page is left out (`beyond`).
struct PageFetcher<'a> {
    cpu: &'a mut Cpu,
    page: u32,
    beyond: bool,
}

impl CodeSource for PageFetcher<'_> {
    type Fault = Exception;
    fn translate_code(&mut self, linear: u32) -> Result<PhysAddr, Exception> {
        if linear & !0xfff != self.page {
            self.beyond = true;
            return Err(Exception::gp(0));
        }
        self.cpu.fetch_translate(linear)
    }
    fn read_code(&mut self, phys: PhysAddr, buf: &mut [u8]) {
        self.cpu.read_code_bytes(phys, buf)
    }
}

/// The decoder's view of the CPU: code fetches with the current privilege.
struct Fetcher<'a>(&'a mut Cpu);

impl CodeSource for Fetcher<'_> {
    type Fault = Exception;
    fn translate_code(&mut self, linear: u32) -> Result<PhysAddr, Exception> {
        self.0.fetch_translate(linear)
    }
    fn read_code(&mut self, phys: PhysAddr, buf: &mut [u8]) {
        self.0.read_code_bytes(phys, buf)
    }
}
