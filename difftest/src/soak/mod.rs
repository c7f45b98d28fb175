//! The system-level soak (`vemu-diff soak`): generated guests ([`gen`]) run in
//! the interpreter and the JIT in lockstep ([`crate::lockstep`]), case after
//! case, for a number of instructions or a time; it reports what ran (cases,
//! instructions, how the cases ended, the interrupt and exception vectors
//! delivered) and everything that went wrong, each with the seed that
//! reproduces it: an interpreter/JIT divergence, a host panic (a debug build
//! has overflow checks on, so guest-controlled arithmetic that overflows
//! panics here), or a hang (a case that makes no progress for a minute ends
//! the process with status 3).

pub mod asm;
pub mod gen;
pub mod qemu;
pub mod rom;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vemu::Machine;
use vemu_softmmu::PhysAddr;
use vemu_translator::{attr, fl, reg, CpuConfig, Engine, Seg, Segment, TableReg, Tracer};

use crate::lockstep::{self, Side};

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    pub seed: u64,
    /// The first case's number (cases are numbered from 0 for a seed).
    pub first_case: u64,
    /// Stop after this many cases, instructions or seconds (whichever first).
    pub cases: Option<u64>,
    pub instructions: Option<u64>,
    pub seconds: Option<f64>,
    /// Most instructions one case may run.
    pub case_limit: u64,
}

/// What a soak found.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: u64,
    /// Instructions each tier executed, over all cases.
    pub instructions: u64,
    /// Comparisons of the two tiers (exits from compiled code).
    pub stops: u64,
    /// How cases ended, by kind.
    pub outcomes: BTreeMap<String, u64>,
    /// Interrupts and exceptions delivered, by vector (the interpreter's side).
    pub vectors: BTreeMap<u8, u64>,
    /// (case, what differed).
    pub divergences: Vec<(u64, String)>,
    /// (case, the panic).
    pub panics: Vec<(u64, String)>,
    pub elapsed: Duration,
}

impl Report {
    pub fn clean(&self) -> bool {
        self.divergences.is_empty() && self.panics.is_empty()
    }

    /// The report as text, with a reproducer for every problem.
    pub fn text(&self, seed: u64) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "soak: seed {seed}, {} cases, {} instructions in each tier, {} comparisons, {:.1} s",
            self.cases,
            self.instructions,
            self.stops,
            self.elapsed.as_secs_f64()
        );
        let outcomes: Vec<String> = self.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(t, "  cases ended by: {}", outcomes.join(", "));
        let vectors: Vec<String> = self.vectors.keys().map(|v| format!("{v:#04x}")).collect();
        let _ = writeln!(t, "  {} distinct vectors delivered: {}", self.vectors.len(), vectors.join(" "));
        let _ = writeln!(
            t,
            "  {} divergences, {} host panics, 0 hangs",
            self.divergences.len(),
            self.panics.len()
        );
        for (case, what) in self.divergences.iter().chain(self.panics.iter()) {
            let _ = writeln!(t, "  case {case}: {what}");
            let _ = writeln!(t, "    reproduce: vemu-diff soak --seed {seed} --first-case {case} --cases 1");
        }
        t
    }
}

/// Counts the vectors delivered (a tracer that ignores instructions).
struct VectorCount(Rc<RefCell<BTreeMap<u8, u64>>>);

impl Tracer for VectorCount {
    fn before_instruction(&mut self, _: &vemu_translator::CpuState, _: &vemu_translator::Instruction) {}
    fn interrupt(
        &mut self,
        _: &vemu_translator::CpuState,
        vector: u8,
        _: Option<u32>,
        _: vemu_translator::InterruptKind,
    ) {
        *self.0.borrow_mut().entry(vector).or_insert(0) += 1;
    }
}

/// A BIOS image that is never run (the case replaces the reset state), for
/// the machines to be built around.
fn placeholder_rom(dir: &Path) -> Result<std::path::PathBuf, String> {
    let path = dir.join("soak-placeholder.bin");
    let mut rom = vec![0xf4u8; 0x10000];
    rom[0xfff0..0xfff2].copy_from_slice(&[0xeb, 0xfe]);
    std::fs::write(&path, rom).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Puts case `c` into a machine: its RAM contents and the CPU state it
/// starts from (32-bit protected mode at CPL 0, at the init code).
fn install(c: &gen::Case, m: &mut Machine) {
    for (at, bytes) in &c.writes {
        m.cpu.mem.write_phys(PhysAddr(*at), bytes);
    }
    let flat = |selector: u16, code: bool| Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attr: if code { attr::CODE | attr::WRITABLE_READABLE } else { attr::WRITABLE_READABLE }
            | attr::ACCESSED
            | attr::S
            | attr::PRESENT
            | attr::DB
            | attr::G,
    };
    let s = &mut m.cpu.state;
    s.cr0 = c.cr0;
    s.cr3 = c.cr3;
    s.cr4 = c.cr4;
    s.gdtr = TableReg { base: 0x1000, limit: 0x1ff };
    s.idtr = TableReg { base: 0x2000, limit: 0x7ff };
    for seg in Seg::ALL {
        s.segs[seg as usize] =
            if seg == Seg::CS { flat(gen::SEL_CODE32, true) } else { flat(gen::SEL_DATA32, false) };
    }
    s.cpl = 0;
    s.flags.set(fl::FIXED1);
    s.regs = [0; 8];
    s.regs[reg::ESP] = 0x7ff00;
    s.eip = gen::INIT;
    m.cpu.mem.tlb.flush_all();
}

/// The generator's seed for case `case` of soak seed `seed`.
pub fn case_seed(seed: u64, case: u64) -> u64 {
    seed.wrapping_mul(0x1_0000_0001).wrapping_add(case)
}

/// Runs case `case` of `seed`; how it ended, or the divergence.
fn run_case(
    rom: &Path,
    seed: u64,
    case: u64,
    limit: u64,
    vectors: &Rc<RefCell<BTreeMap<u8, u64>>>,
) -> Result<lockstep::Agreement, String> {
    let c = gen::generate(case_seed(seed, case));
    let ram = gen::RAM_MB;
    let mut interp =
        Side::new(rom, ram, true, limit, CpuConfig { engine: Engine::Interp, ..CpuConfig::default() })?;
    // Every block compiled in one case in four; in the others, blocks are
    // compiled on their third run (the loops), as `auto` does at a lower
    // threshold: compiling every block of random code costs most of a case.
    let mut jit =
        Side::new(rom, ram, true, limit, CpuConfig { engine: Engine::Jit, ..CpuConfig::default() })?;
    if case % 4 != 0 {
        jit.machine.cpu.config.engine = Engine::Auto;
        jit.machine.cpu.config.jit_threshold = 3;
    }
    install(&c, &mut interp.machine);
    install(&c, &mut jit.machine);
    interp.machine.cpu.tracer = Some(Box::new(VectorCount(vectors.clone())));
    // A debugging aid: VEMU_SOAK_TRACE=DIR writes both tiers' instruction
    // traces of every case run (compiled code then calls the tracer too).
    if let Some(dir) = std::env::var_os("VEMU_SOAK_TRACE") {
        for (side, name) in [(&mut interp, "interp"), (&mut jit, "jit")] {
            let path = Path::new(&dir).join(format!("case-{case}-{name}.trace"));
            let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let out = vemu::trace::SharedWriter(Rc::new(RefCell::new(std::io::BufWriter::new(file))));
            side.machine.cpu.tracer = Some(Box::new(vemu::trace::FileTracer::new(out)));
        }
    }
    lockstep::run(&format!("case {case}"), &mut interp, &mut jit)
}

/// The panic of the case being run, as the hook saw it.
fn take_panic_message() -> String {
    PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "a panic".to_string())
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The case being run, for a panic that cannot unwind (in a function
    /// generated code calls) and so ends the process.
    static CASE: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// Runs the soak; `progress` hears about every case.
pub fn run(opts: &SoakOptions, work: &Path, mut progress: impl FnMut(&Report)) -> Result<Report, String> {
    let rom = placeholder_rom(work)?;
    let start = Instant::now();
    let mut report = Report::default();
    let vectors = Rc::new(RefCell::new(BTreeMap::new()));
    // A case whose machines make no progress (no comparison of the two
    // tiers, each after at most a few thousand instructions) for a minute is
    // a hang: say which and end.
    let current = Arc::new(AtomicU64::new(opts.first_case));
    let watched = current.clone();
    let seed = opts.seed;
    std::thread::spawn(move || {
        let mut last = u64::MAX;
        loop {
            std::thread::sleep(Duration::from_secs(60));
            let stops = lockstep::STOPS.load(Ordering::Relaxed);
            if stops == last {
                let case = watched.load(Ordering::Relaxed);
                eprintln!(
                    "vemu-diff soak: HANG: case {case} made no progress for 60 s; reproduce: vemu-diff soak --seed {seed} --first-case {case} --cases 1"
                );
                std::process::exit(3);
            }
            last = stops;
        }
    });
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let (seed, case) = CASE.with(|c| c.get());
        eprintln!(
            "vemu-diff soak: host panic in case {case}: {what}{at}; reproduce: vemu-diff soak --seed {seed} --first-case {case} --cases 1"
        );
        PANIC.with(|p| *p.borrow_mut() = Some(format!("host panic: {what}{at}")));
    }));
    let mut case = opts.first_case;
    loop {
        let done = opts.cases.is_some_and(|n| report.cases >= n)
            || opts.instructions.is_some_and(|n| report.instructions >= n)
            || opts.seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s);
        if done {
            break;
        }
        current.store(case, Ordering::Relaxed);
        CASE.with(|c| c.set((seed, case)));
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run_case(&rom, seed, case, opts.case_limit, &vectors)
        }));
        report.cases += 1;
        match r {
            Ok(Ok(a)) => {
                report.instructions += a.instructions;
                report.stops += a.stops;
                let kind = format!("{:?}", a.outcome);
                let kind = kind.split([' ', '{', '(']).next().unwrap_or("").to_string();
                *report.outcomes.entry(kind).or_insert(0) += 1;
            }
            Ok(Err(divergence)) => report.divergences.push((case, divergence)),
            Err(_) => report.panics.push((case, take_panic_message())),
        }
        report.vectors = vectors.borrow().clone();
        report.elapsed = start.elapsed();
        progress(&report);
        case += 1;
    }
    std::panic::set_hook(default_hook);
    report.elapsed = start.elapsed();
    Ok(report)
}
