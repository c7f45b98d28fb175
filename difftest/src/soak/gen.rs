//! The soak's guests: seeded random *system* states and the code that runs in
//! them.
//!
//! A case is a guest image written straight into RAM, and the CPU state it
//! starts from (32-bit protected mode, CPL 0):
//! - a GDT with the usual flat segments and around them 16-bit segments, a
//!   data segment whose base wraps around 4 GiB, conforming and expand-down
//!   ones, three TSSes (32-bit, a second 32-bit one to switch to, a 16-bit
//!   one), an LDT, call gates and a task gate, and random descriptors (bases
//!   near 4 GiB, limits crossing pages, every type, DPL and present bit);
//! - an IDT whose 256 gates are interrupt, trap and task gates of both sizes,
//!   some not present or pointing nowhere, most leading to the dispatcher;
//! - page tables (when the case turns paging on) with random U/S, R/W, A, D
//!   and G bits outside the pages the dispatcher needs, some pages absent;
//! - SYSENTER MSRs, DR7 breakpoints and CR4 bits set by the code itself;
//! - the 8259s and the 8254 programmed so that timer interrupts arrive while
//!   the code runs with IF set.
//!
//! The code is a list of chunks. The dispatcher (ring 0, flat) restores the
//! GDT, IDT, control registers and flat segments and jumps to the next chunk;
//! every exception, interrupt, gate and task in the IDT leads back to it.
//! A chunk sets random registers and segments and enters its mode (ring 0 or
//! ring 3, 32- or 16-bit code, virtual-8086 mode, a 16- or 32-bit stack, IF
//! and IOPL at random), then runs its body a few times: random instructions
//! of the system kind (segment loads of every register, far jumps, calls and
//! returns across rings and into tasks, INT n, IRET, SYSENTER/SYSEXIT, LGDT,
//! LTR, MOV CRn/DRn, INVLPG, PUSHF/POPF, ENTER/LEAVE, I/O, string
//! instructions) mixed with ordinary ones (ALU and moves through memory, so
//! that compiled code's inline paths run too). A fault ends the chunk; a
//! triple fault or a halt with nothing to wake it ends the case.

use super::asm::{r, Asm};
use crate::rng::Rng;

// ---- where things live (linear = physical) --------------------------------------
pub const RAM_MB: u32 = 16;
const GDT: u32 = 0x1000;
const GDT_ENTRIES: u32 = 64;
const IDT: u32 = 0x2000;
const TSS_A: u32 = 0x3000;
const TSS_B: u32 = 0x3200;
const TSS_16: u32 = 0x3400;
const LDT: u32 = 0x3800;
const LDT_ENTRIES: u32 = 16;
const PAGE_DIR: u32 = 0x4000;
const PAGE_TABLES: u32 = 0x5000; // four: 16 MiB identity-mapped
const DISPATCH16: u32 = 0x9000;
pub const DISPATCH: u32 = 0xa000;
const CHUNK_INDEX: u32 = 0xb000;
const SAVED_GDTR: u32 = 0xb010;
const SAVED_IDTR: u32 = 0xb018;
const CHUNK_TABLE: u32 = 0xb100;
pub const INIT: u32 = 0xc000;
const CODE: u32 = 0x20000;
const CODE_END: u32 = 0x50000;
const DATA: u32 = 0x50000;
const FAR_POINTERS: u32 = DATA + 0xf000;
const STACK16_BASE: u32 = 0x80000;
const STACK0_TOP: u32 = 0x7ff00;
const TSS_STACK_TOP: u32 = 0x6f000;
/// The base of the data segment that wraps around 4 GiB.
const WRAP_BASE: u32 = 0x789e_0000;

// ---- the GDT's fixed slots -----------------------------------------------------------
pub const SEL_CODE32: u16 = 0x08;
pub const SEL_DATA32: u16 = 0x10;
const SEL_CODE16: u16 = 0x18;
const SEL_STACK16: u16 = 0x20;
const SEL_CODE32_R3: u16 = 0x28 | 3;
const SEL_DATA32_R3: u16 = 0x30 | 3;
const SEL_STACK16_R3: u16 = 0x38 | 3;
const SEL_TSS_A: u16 = 0x40;
const SEL_TSS_B: u16 = 0x48;
const SEL_TSS_16: u16 = 0x50;
const SEL_LDT: u16 = 0x58;
const SEL_CGATE32: u16 = 0x60;
const SEL_CGATE16: u16 = 0x68;
const SEL_TASK_GATE: u16 = 0x70;
const SEL_WRAP: u16 = 0x78;
const SEL_CONFORMING: u16 = 0x80;
const SEL_EXPAND_DOWN: u16 = 0x88;
/// Slots 0x98..0xf8: 16-bit code segments based at a chunk (one per chunk
/// that needs one); 0x100 and up: random descriptors.
const FIRST_CODE16_SLOT: u32 = 0x98 / 8;
const LAST_CODE16_SLOT: u32 = 0xf8 / 8;
const FIRST_RANDOM_SLOT: u32 = 0x100 / 8;

/// What a case writes into RAM and the state it starts from.
pub struct Case {
    /// (physical address, bytes).
    pub writes: Vec<(u32, Vec<u8>)>,
    pub cr0: u32,
    pub cr3: u32,
    pub cr4: u32,
    /// Chunks of code.
    pub chunks: usize,
}

/// How a chunk's body runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ChunkMode {
    Ring0Bits32,
    Ring3Bits32,
    Ring0Bits16,
    Ring3Bits16,
    V86,
}

/// A descriptor from its parts (base, limit in the descriptor's units,
/// access byte, flags nibble G D/B L AVL).
fn descriptor(base: u32, limit: u32, access: u8, flags: u8) -> u64 {
    (limit as u64 & 0xffff)
        | (base as u64 & 0xffff) << 16
        | ((base >> 16) as u64 & 0xff) << 32
        | (access as u64) << 40
        | ((limit >> 16) as u64 & 0xf) << 48
        | ((flags & 0xf) as u64) << 52
        | ((base >> 24) as u64) << 56
}

/// A gate: offset, selector, attribute byte (P DPL type), parameter count.
fn gate(offset: u32, selector: u16, attr: u8, params: u8) -> u64 {
    (offset as u64 & 0xffff)
        | (selector as u64) << 16
        | (params as u64 & 0x1f) << 32
        | (attr as u64) << 40
        | ((offset >> 16) as u64) << 48
}

/// Whom a case is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// vemu's two tiers in lockstep: timer interrupts on, any device port.
    Lockstep,
    /// vemu beside QEMU: nothing whose timing the two machines keep
    /// differently (QEMU's devices run on their own time, see
    /// test-roms/timer.asm): the timer's interrupt stays masked, the chunks'
    /// port I/O goes only to ports whose values do not depend on time (nor
    /// unmask the timer), and no RDTSC. Nor memory nothing answers: QEMU 7.2
    /// reads 0 there where a PC (and vemu) reads all ones, so segment bases
    /// and virtual-8086 segments stay where RAM or the BIOS answers (the
    /// segment that wraps around 4 GiB is based in the BIOS's 64 KiB, so
    /// that the data area's offsets wrap into RAM).
    Qemu,
}

/// The generator's state for one case.
struct Gen {
    rng: Rng,
    flavour: Flavour,
    gdt: Vec<u64>,
    ldt: Vec<u64>,
    next_code16_slot: u32,
    /// Selectors worth loading: the fixed ones, LDT ones, random ones.
    selectors: Vec<u16>,
}

impl Gen {
    fn sel(&mut self) -> u16 {
        let s = self.rng.pick(&self.selectors);
        match self.rng.below(10) {
            0 => s ^ self.rng.below(4) as u16,
            1 => {
                let v = self.rng.u32() as u16;
                self.segment_value(v)
            }
            _ => s,
        }
    }

    /// A random 16-bit value that may become a virtual-8086 segment: under
    /// [`Flavour::Qemu`] one whose 64 KiB lie in RAM below the video window.
    fn segment_value(&self, v: u16) -> u16 {
        match self.flavour {
            Flavour::Lockstep => v,
            Flavour::Qemu => v % 0x9000,
        }
    }

    /// The base of the data segment that wraps around 4 GiB.
    fn wrap_base(&self) -> u32 {
        match self.flavour {
            Flavour::Lockstep => WRAP_BASE,
            Flavour::Qemu => 0xffff_0000,
        }
    }

    /// A value for a general register.
    fn value(&mut self) -> u32 {
        match self.rng.below(6) {
            0 => DATA + self.rng.below(0x1000),
            1 => self.rng.below(0x100),
            2 => self.sel() as u32,
            _ => self.rng.interesting(),
        }
    }

    /// A memory offset for an access through a segment the chunk loaded:
    /// mostly inside the data area of a flat segment or a 64 KiB one, some at
    /// segment limits and beyond.
    fn offset(&mut self, addr: u32) -> u32 {
        let v = match self.rng.below(10) {
            0 => 0xfff0 + self.rng.below(0x10),
            1 => 0u32.wrapping_sub(self.rng.below(8)),
            2 => self.rng.below(0x100),
            3..=5 => 0xf000 + self.rng.below(0x800),
            _ => DATA + self.rng.below(0x8000),
        };
        if addr == 16 {
            v & 0xffff
        } else {
            v
        }
    }
}

/// Builds case `seed` for the lockstep soak.
pub fn generate(seed: u64) -> Case {
    generate_for(seed, Flavour::Lockstep)
}

/// Builds case `seed` for `flavour`.
pub fn generate_for(seed: u64, flavour: Flavour) -> Case {
    let mut g = Gen {
        rng: Rng::new(seed),
        flavour,
        gdt: vec![0; GDT_ENTRIES as usize],
        ldt: vec![0; LDT_ENTRIES as usize],
        next_code16_slot: FIRST_CODE16_SLOT,
        selectors: Vec::new(),
    };
    let mut writes = Vec::new();
    let paging = g.rng.chance(50);
    let cr4 =
        [0u32, 0x10, 0x80, 0x90, 0x08][g.rng.below(5) as usize] | if g.rng.chance(20) { 0x4 } else { 0 };
    let cr0 = 0x0000_0011
        | if paging { 0x8000_0000 } else { 0 }
        | if g.rng.chance(50) { 0x1_0000 } else { 0 } // WP
        | if g.rng.chance(30) { 0x4_0000 } else { 0 } // AM
        | if g.rng.chance(30) { 0x20 } else { 0 }; // NE

    // ---- GDT ----
    let fixed = [
        (SEL_CODE32, descriptor(0, 0xfffff, 0x9b, 0xc)),
        (SEL_DATA32, descriptor(0, 0xfffff, 0x93, 0xc)),
        (SEL_CODE16, descriptor(0, 0xffff, 0x9b, 0)),
        (SEL_STACK16, descriptor(STACK16_BASE, 0xffff, 0x93, 0)),
        (SEL_CODE32_R3, descriptor(0, 0xfffff, 0xfb, 0xc)),
        (SEL_DATA32_R3, descriptor(0, 0xfffff, 0xf3, 0xc)),
        (SEL_STACK16_R3, descriptor(STACK16_BASE, 0xffff, 0xf3, 0)),
        (SEL_TSS_A, descriptor(TSS_A, 0x68 + 0x81, 0x89, 0)),
        (SEL_TSS_B, descriptor(TSS_B, 0x67, 0x89, 0)),
        (SEL_TSS_16, descriptor(TSS_16, 0x2b, 0x81, 0)),
        (SEL_LDT, descriptor(LDT, LDT_ENTRIES * 8 - 1, 0x82, 0)),
        (SEL_CGATE32, gate(DISPATCH, SEL_CODE32, 0xec, g.rng.below(4) as u8)),
        (SEL_CGATE16, gate(DISPATCH16, SEL_CODE16, 0xe4, g.rng.below(3) as u8)),
        (SEL_TASK_GATE, gate(0, SEL_TSS_B, 0xe5, 0)),
        (SEL_WRAP, descriptor(g.wrap_base(), 0xfffff, 0x93, 0xc)),
        (SEL_CONFORMING, descriptor(0, 0xfffff, 0x9f, 0xc)),
        (SEL_EXPAND_DOWN, descriptor(0, 0x7ffff, 0x97, 0x4)),
    ];
    for (sel, d) in fixed {
        g.gdt[(sel >> 3) as usize] = d;
        g.selectors.push(sel & !3 | if (sel & 3) == 3 || g.rng.chance(20) { 3 } else { 0 });
    }
    for slot in FIRST_RANDOM_SLOT..GDT_ENTRIES {
        g.gdt[slot as usize] = random_descriptor(&mut g.rng, flavour);
        g.selectors.push((slot * 8) as u16 | g.rng.below(4) as u16);
    }
    for slot in 0..LDT_ENTRIES {
        g.ldt[slot as usize] = if slot < 8 {
            g.gdt[[1, 2, 4, 5, 6, 7, 15, 16][slot as usize]]
        } else {
            random_descriptor(&mut g.rng, flavour)
        };
        g.selectors.push((slot * 8) as u16 | 4 | g.rng.below(4) as u16);
    }
    g.selectors.extend_from_slice(&[0, 3, 0xfff8, 0x1ff8]);

    // ---- IDT ----
    let mut idt = Vec::with_capacity(256 * 8);
    for v in 0..256u32 {
        let sane = gate(DISPATCH, SEL_CODE32, 0xee, 0);
        let g8 = if matches!(v, 8 | 10 | 13 | 14) || (0x20..0x30).contains(&v) || g.rng.chance(75) {
            sane
        } else {
            match g.rng.below(7) {
                0 => gate(DISPATCH, SEL_CODE32, 0xef, 0),
                1 => gate(DISPATCH16, SEL_CODE16, 0xe6, 0),
                2 => gate(DISPATCH16, SEL_CODE16, 0xe7, 0),
                3 => gate(0, SEL_TSS_B, 0xe5, 0),
                4 => gate(DISPATCH, SEL_CODE32, 0x8e, 0),
                5 => gate(DISPATCH, SEL_CODE32, 0x6e, 0),
                _ => gate(DISPATCH, g.sel(), 0xee, 0),
            }
        };
        idt.extend_from_slice(&g8.to_le_bytes());
    }
    writes.push((IDT, idt));

    // ---- TSSes ----
    let mut tss_a = vec![0u8; 0x68 + 0x82];
    put32(&mut tss_a, 4, TSS_STACK_TOP);
    put32(&mut tss_a, 8, SEL_DATA32 as u32);
    put32(&mut tss_a, 0x1c, PAGE_DIR);
    put16(&mut tss_a, 0x66, 0x68);
    for i in 0..0x80 {
        tss_a[0x68 + i] = if g.rng.chance(70) { 0 } else { g.rng.u32() as u8 };
    }
    tss_a[0x68 + 0x80] = 0xff;
    tss_a[0x68 + 0x81] = 0xff;
    writes.push((TSS_A, tss_a));
    let mut tss_b = vec![0u8; 0x68];
    put32(&mut tss_b, 4, TSS_STACK_TOP - 0x800);
    put32(&mut tss_b, 8, SEL_DATA32 as u32);
    put32(&mut tss_b, 0x1c, PAGE_DIR);
    put32(&mut tss_b, 0x20, DISPATCH);
    put32(&mut tss_b, 0x24, 0x2 | if g.rng.chance(20) { 0x4000 } else { 0 });
    for i in 0..8 {
        put32(&mut tss_b, 0x28 + 4 * i, g.value());
    }
    put32(&mut tss_b, 0x38, STACK0_TOP - 0x1000);
    for (i, sel) in
        [SEL_DATA32, SEL_CODE32, SEL_DATA32, SEL_DATA32, SEL_DATA32, SEL_DATA32].iter().enumerate()
    {
        put16(&mut tss_b, 0x48 + 4 * i, *sel);
    }
    put16(&mut tss_b, 0x60, if g.rng.chance(50) { SEL_LDT } else { 0 });
    put16(&mut tss_b, 0x64, g.rng.chance(10) as u16);
    writes.push((TSS_B, tss_b));
    let mut tss16 = vec![0u8; 0x2c];
    put16(&mut tss16, 2, 0xf000); // SS0:SP0 in the 16-bit stack segment
    put16(&mut tss16, 4, SEL_STACK16);
    put16(&mut tss16, 0x0e, DISPATCH16 as u16);
    put16(&mut tss16, 0x10, 0x2);
    for i in 0..8 {
        put16(&mut tss16, 0x12 + 2 * i, g.value() as u16);
    }
    put16(&mut tss16, 0x1a, 0x7000);
    for (i, sel) in [SEL_DATA32, SEL_CODE16, SEL_STACK16, SEL_DATA32].iter().enumerate() {
        put16(&mut tss16, 0x22 + 2 * i, *sel);
    }
    writes.push((TSS_16, tss16));

    // ---- page tables: identity, 16 MiB ----
    let mut dir = vec![0u8; 4096];
    let mut tables = vec![0u8; 4 * 4096];
    for t in 0..4u32 {
        let large = t > 0 && cr4 & 0x10 != 0 && g.rng.chance(40);
        let pde = if large {
            (t << 22) | 0x87 | random_bits(&mut g.rng, &[0x20, 0x40, 0x100])
        } else {
            (PAGE_TABLES + t * 4096) | 0x7 | random_bits(&mut g.rng, &[0x20])
        };
        put32(&mut dir, 4 * t as usize, pde);
    }
    for p in 0..4096u32 {
        let addr = p << 12;
        let core = addr < 0x10000 || (0x60000..0x90000).contains(&addr);
        let mut pte = addr | 0x1 | random_bits(&mut g.rng, &[0x20, 0x40, 0x100]);
        if core {
            pte |= 0x2 | if addr < 0x10000 { 0 } else { 0x4 };
        } else {
            pte |= random_bits(&mut g.rng, &[0x2, 0x2, 0x2, 0x4, 0x4, 0x4]);
            if !(CODE..CODE_END).contains(&addr) && g.rng.chance(5) {
                pte &= !1;
            }
        }
        put32(&mut tables, 4 * p as usize, pte);
    }
    writes.push((PAGE_DIR, dir));
    writes.push((PAGE_TABLES, tables));

    // ---- data: random bytes and a table of far pointers ----
    let mut data = vec![0u8; 0x10000];
    for b in data.iter_mut() {
        *b = g.rng.u32() as u8;
    }
    for i in 0..256 {
        let off = 0xf000 + 8 * i;
        let target = if g.rng.chance(50) { DISPATCH } else { g.value() };
        put32(&mut data, off, target);
        let sel = g.sel();
        put16(&mut data, off + 4, sel);
        put16(&mut data, off + 6, sel);
    }
    writes.push((DATA, data));

    // ---- the dispatcher, its 16-bit doorway and the init code ----
    writes.push((DISPATCH, dispatcher(cr0, cr4)));
    let mut d16 = Asm::new(16, DISPATCH16, DISPATCH16);
    d16.b(0x66).b(0xea).d(DISPATCH).w(SEL_CODE32);
    writes.push((DISPATCH16, d16.bytes));
    let mut gdtr = Vec::new();
    gdtr.extend_from_slice(&((GDT_ENTRIES * 8 - 1) as u16).to_le_bytes());
    gdtr.extend_from_slice(&GDT.to_le_bytes());
    writes.push((SAVED_GDTR, gdtr));
    let mut idtr = Vec::new();
    idtr.extend_from_slice(&0x7ffu16.to_le_bytes());
    idtr.extend_from_slice(&IDT.to_le_bytes());
    writes.push((SAVED_IDTR, idtr));
    writes.push((INIT, init_code(&mut g)));

    // ---- chunks ----
    let chunks = 16 + g.rng.below(48) as usize;
    let mut table = Vec::new();
    let mut at = CODE;
    for _ in 0..chunks {
        let (start, bytes) = chunk(&mut g, at);
        table.extend_from_slice(&start.to_le_bytes());
        let len = bytes.len() as u32;
        writes.push((at, bytes));
        at = (at + len + 0x1f) & !0xf;
        if at + 0x1000 > CODE_END {
            break;
        }
    }
    let chunks = table.len() / 4;
    writes.push((CHUNK_TABLE, table));
    let mut counters = 0u32.to_le_bytes().to_vec();
    counters.extend_from_slice(&(chunks as u32).to_le_bytes());
    writes.push((CHUNK_INDEX, counters));
    let mut gdt_bytes = Vec::new();
    for d in &g.gdt {
        gdt_bytes.extend_from_slice(&d.to_le_bytes());
    }
    writes.push((GDT, gdt_bytes));
    let mut ldt_bytes = Vec::new();
    for d in &g.ldt {
        ldt_bytes.extend_from_slice(&d.to_le_bytes());
    }
    writes.push((LDT, ldt_bytes));
    Case { writes, cr0, cr3: PAGE_DIR, cr4, chunks }
}

fn put16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Some of `bits`, each with even odds.
fn random_bits(rng: &mut Rng, bits: &[u32]) -> u32 {
    bits.iter().filter(|_| rng.chance(50)).fold(0, |a, b| a | b)
}

/// A random descriptor; under [`Flavour::Qemu`] its base keeps the offsets
/// chunks use (up to the data area's end, or just below 0) in RAM or the BIOS.
fn random_descriptor(rng: &mut Rng, flavour: Flavour) -> u64 {
    let qemu = flavour == Flavour::Qemu;
    let base = match rng.below(4) {
        0 => 0,
        1 => 0u32.wrapping_sub(rng.below(0x10000)),
        2 if qemu => rng.below(0x40) << 12 | rng.below(0x1000),
        2 => rng.below(0x100) << 12 | rng.below(0x1000),
        _ if qemu => 0x10_0000 + rng.below(0x0700_0000),
        _ => rng.u32(),
    };
    let limit = match rng.below(4) {
        0 => 0xfffff,
        1 => 0xffff,
        2 => rng.below(0x2000),
        _ => rng.u32() & 0xfffff,
    };
    let access = match rng.below(4) {
        // present code or data of any type and DPL
        0 | 1 => 0x90 | rng.below(16) as u8 | (rng.below(4) as u8) << 5,
        2 => rng.u32() as u8 | 0x80,
        _ => rng.u32() as u8,
    };
    descriptor(base, limit, access, rng.below(16) as u8 & 0xd)
}

/// The ring-0 code every exception, interrupt and gate ends in: it puts the
/// system structures back (so that one chunk's damage does not end the case),
/// acknowledges interrupts, and jumps to the next chunk, or ends the run
/// through isa-debug-exit after the last.
fn dispatcher(cr0: u32, cr4: u32) -> Vec<u8> {
    let mut a = Asm::new(32, DISPATCH, DISPATCH);
    a.b(0xfa); // cli
    a.bs(&[0x2e, 0x0f, 0x01]).modrm_abs(2, 32, SAVED_GDTR); // lgdt cs:[...]
    a.bs(&[0x2e, 0x0f, 0x01]).modrm_abs(3, 32, SAVED_IDTR); // lidt cs:[...]
    a.mov_imm(r::EAX, 4, cr4).bs(&[0x0f, 0x22]).modrm_reg(4, r::EAX);
    a.mov_imm(r::EAX, 4, PAGE_DIR).bs(&[0x0f, 0x22]).modrm_reg(3, r::EAX);
    a.mov_imm(r::EAX, 4, cr0).bs(&[0x0f, 0x22]).modrm_reg(0, r::EAX);
    a.bs(&[0x31, 0xc0]).bs(&[0x0f, 0x23]).modrm_reg(7, r::EAX); // xor eax, eax; mov dr7, eax
    a.mov_imm(r::EAX, 2, SEL_DATA32 as u32);
    for sreg in [2u8, 3, 0, 4, 5] {
        a.b(0x8e).modrm_reg(sreg, r::EAX);
    }
    a.mov_imm(r::ESP, 4, STACK0_TOP);
    a.bs(&[0x6a, 0x02, 0x9d]); // push 2; popfd
    a.bs(&[0xb0, 0x20, 0xe6, 0x20, 0xe6, 0xa0]); // EOI to both 8259s
    a.b(0xa1).d(CHUNK_INDEX); // mov eax, [CHUNK_INDEX]
    a.bs(&[0xff, 0x05]).d(CHUNK_INDEX); // inc dword [CHUNK_INDEX]
    a.bs(&[0x3b, 0x05]).d(CHUNK_INDEX + 4); // cmp eax, [chunk count]
    a.bs(&[0x0f, 0x83]); // jae finish
    let finish_patch = a.bytes.len();
    a.d(0);
    a.bs(&[0xff, 0x24, 0x85]).d(CHUNK_TABLE); // jmp [CHUNK_TABLE + eax*4]
    let finish = a.bytes.len();
    let rel = (finish - finish_patch - 4) as u32;
    a.bytes[finish_patch..finish_patch + 4].copy_from_slice(&rel.to_le_bytes());
    a.bs(&[0xb0, 0x00, 0xe6, 0xf4]); // mov al, 0; out 0xf4, al
    a.bs(&[0xf4, 0xeb, 0xfd]); // hlt; jmp $-1 (not reached)
    a.bytes
}

/// Runs once: programs the interrupt controllers and the timer, loads TR
/// and LDTR, writes the chunk count, and enters the dispatcher.
fn init_code(g: &mut Gen) -> Vec<u8> {
    let mut a = Asm::new(32, INIT, INIT);
    for (port, v) in [
        (0x20u8, 0x11u8),
        (0xa0, 0x11),
        (0x21, 0x20),
        (0xa1, 0x28),
        (0x21, 0x04),
        (0xa1, 0x02),
        (0x21, 0x01),
        (0xa1, 0x01),
        (0x21, if g.flavour == Flavour::Qemu { 0xff } else { 0xfe }),
        (0xa1, 0xff),
        (0x43, 0x34),
    ] {
        a.b(0xb0).b(v).b(0xe6).b(port);
    }
    // A tick every 40 us to 4 ms of virtual time (40,000 to 4,000,000
    // instructions): often enough to land anywhere, rare enough for loops.
    let divisor = 48 + g.rng.below(4800) as u16;
    a.b(0xb0).b(divisor as u8).bs(&[0xe6, 0x40]);
    a.b(0xb0).b((divisor >> 8) as u8).bs(&[0xe6, 0x40]);
    a.mov_imm(r::EAX, 2, SEL_TSS_A as u32).bs(&[0x0f, 0x00]).modrm_reg(3, r::EAX); // ltr ax
    a.mov_imm(r::EAX, 2, SEL_LDT as u32).bs(&[0x0f, 0x00]).modrm_reg(2, r::EAX); // lldt ax
    a.b(0xe9);
    let next = a.here().wrapping_add(4);
    a.d(DISPATCH.wrapping_sub(next));
    a.bytes
}

/// One chunk at `at`: its prologue (ring 0, flat 32-bit) and body. Returns
/// the prologue's address and the bytes.
fn chunk(g: &mut Gen, at: u32) -> (u32, Vec<u8>) {
    let mode = match g.rng.below(20) {
        0..=7 => ChunkMode::Ring0Bits32,
        8..=12 => ChunkMode::Ring3Bits32,
        13..=15 => ChunkMode::V86,
        16 | 17 => ChunkMode::Ring0Bits16,
        _ => ChunkMode::Ring3Bits16,
    };
    let mode = match mode {
        ChunkMode::Ring0Bits16 | ChunkMode::Ring3Bits16 if g.next_code16_slot > LAST_CODE16_SLOT => {
            ChunkMode::Ring0Bits32
        }
        m => m,
    };
    // The body goes first (at a 16-byte boundary, for V86's CS), the
    // prologue after it.
    let body_at = at;
    let bits = match mode {
        ChunkMode::Ring0Bits32 | ChunkMode::Ring3Bits32 => 32,
        _ => 16,
    };
    let (cs, cs_offset) = match mode {
        ChunkMode::Ring0Bits32 => (SEL_CODE32, body_at),
        ChunkMode::Ring3Bits32 => (SEL_CODE32_R3, body_at),
        ChunkMode::V86 => ((body_at >> 4) as u16, 0),
        ChunkMode::Ring0Bits16 | ChunkMode::Ring3Bits16 => {
            let slot = g.next_code16_slot;
            g.next_code16_slot += 1;
            let dpl3 = mode == ChunkMode::Ring3Bits16;
            g.gdt[slot as usize] = descriptor(body_at, 0xffff, if dpl3 { 0xfb } else { 0x9b }, 0);
            ((slot * 8) as u16 | if dpl3 { 3 } else { 0 }, 0)
        }
    };
    let mut body = Asm::new(bits, body_at, cs_offset);
    let top = body.here();
    // Wild chunks: any instruction, a few rounds (most end in a fault).
    // Quiet ones: instructions that seldom fault, many rounds, so that
    // compiled code runs its loops.
    let quiet = g.rng.chance(50);
    let insns = 8 + g.rng.below(40);
    for _ in 0..insns {
        if quiet {
            quiet_instruction(g, &mut body, mode);
        } else {
            instruction(g, &mut body, mode);
        }
    }
    // Loop: EBP counts the rounds (dec ebp; jnz top), then UD2 to leave.
    body.osize(4).b(0x4d);
    body.jcc_to(5, top);
    body.bs(&[0x0f, 0x0b]);
    let prologue_at = (body_at + body.bytes.len() as u32 + 0xf) & !0xf;
    let mut bytes = body.bytes;
    bytes.resize((prologue_at - body_at) as usize, 0xcc);
    let mut p = Asm::new(32, prologue_at, prologue_at);
    let rounds = if quiet { 50 + g.rng.below(500) } else { 1 + g.rng.below(6) };
    prologue(g, &mut p, mode, cs, cs_offset, rounds, quiet);
    bytes.extend_from_slice(&p.bytes);
    (prologue_at, bytes)
}

/// Random registers, segments and stack, then into the body in its mode.
fn prologue(g: &mut Gen, p: &mut Asm, mode: ChunkMode, cs: u16, body_ip: u32, rounds: u32, quiet: bool) {
    for reg in [r::EAX, r::EBX, r::ECX, r::EDX, r::ESI, r::EDI] {
        let v = if quiet && reg >= r::EBX { g.rng.below(0x1000) } else { g.value() };
        p.mov_imm(reg, 4, v);
    }
    p.mov_imm(r::EBP, 4, rounds);
    let iopl = g.rng.below(4) << 12;
    let flags = 0x2 | iopl | if g.rng.chance(50) { 0x200 } else { 0 } | random_bits(&mut g.rng, &[0x1, 0x4, 0x40, 0x80, 0x800, 0x400])
        | if g.rng.chance(5) { 0x100 } else { 0 } // TF
        | if g.rng.chance(10) { 0x4_0000 } else { 0 } // AC
        | if g.rng.chance(3) { 0x4000 } else { 0 }; // NT
    match mode {
        ChunkMode::Ring0Bits32 | ChunkMode::Ring0Bits16 => {
            for sreg in [0u8, 3, 4, 5] {
                if !quiet && g.rng.chance(40) {
                    let s = g.sel();
                    p.bs(&[0x66, 0xb8]).w(s).b(0x8e).modrm_reg(sreg, r::EAX);
                    p.mov_imm(r::EAX, 4, g.value());
                }
            }
            let (ss, esp) = match g.rng.below(4) {
                0 => (SEL_STACK16, 0x1234_0000 | (0x2000 + g.rng.below(0xd000))),
                1 => (SEL_WRAP, (0x7e000u32).wrapping_sub(g.wrap_base())),
                _ => (SEL_DATA32, 0x7e000 - g.rng.below(0x100) * 4),
            };
            // SS, then ESP (interrupts stay off until the POPFD).
            p.bs(&[0x66, 0xb8]).w(ss).b(0x8e).modrm_reg(2, r::EAX);
            p.mov_imm(r::ESP, 4, esp);
            p.mov_imm(r::EAX, 4, g.value());
            p.b(0x68).d(flags & !0x4000).b(0x9d); // push imm32; popfd
            if mode == ChunkMode::Ring0Bits16 {
                p.b(0xea).d(body_ip).w(cs);
            } else {
                p.b(0xe9);
                let next = p.here().wrapping_add(4);
                p.d(p_target(body_ip, next));
            }
        }
        ChunkMode::Ring3Bits32 | ChunkMode::Ring3Bits16 => {
            let (ss, esp) = if g.rng.chance(50) {
                (SEL_DATA32_R3, 0x88000 + g.rng.below(0x7000))
            } else {
                (SEL_STACK16_R3, 0xabcd_0000 | (0x1000 + g.rng.below(0xe000)))
            };
            for sreg in [0u8, 3, 4, 5] {
                if g.rng.chance(50) {
                    p.bs(&[0x66, 0xb8]).w(SEL_DATA32_R3).b(0x8e).modrm_reg(sreg, r::EAX);
                }
            }
            p.b(0x68).d(ss as u32);
            p.b(0x68).d(esp);
            p.b(0x68).d(flags);
            p.b(0x68).d(cs as u32);
            p.b(0x68).d(body_ip);
            p.mov_imm(r::EAX, 4, g.value());
            p.b(0xcf); // iretd
        }
        ChunkMode::V86 => {
            for s in [0x5000u32, 0x5000, 0x5000, 0x5000] {
                // GS FS DS ES
                let v = if g.rng.chance(80) {
                    s
                } else {
                    let v = g.rng.below(0x10000) as u16;
                    g.segment_value(v) as u32
                };
                p.b(0x68).d(v);
            }
            p.b(0x68).d(STACK16_BASE >> 4);
            p.b(0x68).d(0x1000 + g.rng.below(0xe000));
            p.b(0x68).d(flags | 0x2_0000);
            p.b(0x68).d(cs as u32);
            p.b(0x68).d(body_ip);
            p.mov_imm(r::EAX, 4, g.value());
            p.b(0xcf); // iretd
        }
    }
}

/// A JMP rel32 displacement from `next` to `target` (both CS offsets).
fn p_target(target: u32, next: u32) -> u32 {
    target.wrapping_sub(next)
}

/// One instruction of a quiet chunk: moves and ALU operations on registers
/// and on the data area (in reach of every data segment a chunk starts
/// with), pushes and pops, flag instructions, short string instructions,
/// reads of system registers.
fn quiet_instruction(g: &mut Gen, a: &mut Asm, mode: ChunkMode) {
    let osz = if g.rng.chance(15) {
        if a.bits == 16 {
            4
        } else {
            2
        }
    } else {
        a.bits / 8
    };
    let reg = g.rng.pick(&[r::EAX, r::EBX, r::ECX, r::EDX, r::ESI, r::EDI]);
    // The data area: through a flat segment at DATA, in V86 mode at 0x5000:0.
    let off = if mode == ChunkMode::V86 || a.bits == 16 { 0x100 } else { DATA + 0x100 } + g.rng.below(0x800);
    let ad = a.bits;
    match g.rng.below(12) {
        0..=3 => {
            let op = g.rng.below(8) as u8 * 8 + g.rng.below(4) as u8;
            a.osize(osz).b(op).modrm_abs(reg, ad, off);
        }
        4 | 5 => {
            let op = g.rng.below(8) as u8 * 8 + 1;
            let rm = g.rng.pick(&[r::EAX, r::EBX, r::ECX, r::EDX, r::ESI, r::EDI]);
            a.osize(osz).b(op).modrm_reg(reg, rm);
        }
        6 => {
            a.osize(osz).b(if g.rng.chance(50) { 0x89 } else { 0x8b }).modrm_abs(reg, ad, off);
        }
        7 => {
            a.osize(osz).b(0x50 + reg).osize(osz).b(0x58 + g.rng.pick(&[r::EAX, r::EBX, r::ECX, r::EDX]));
        }
        8 => {
            a.osize(osz).b(0x9c).osize(osz).b(0x9d);
        }
        9 => {
            a.b(0xc1).modrm_reg(g.rng.pick(&[0u8, 1, 4, 5, 7]), reg).b(g.rng.below(32) as u8);
        }
        10 => {
            // a short REP MOVS/STOS within the data area
            a.mov_imm(r::ECX, 4, g.rng.below(16));
            a.mov_imm(r::ESI, 4, off);
            a.mov_imm(r::EDI, 4, off + 0x800);
            a.b(0xf3).osize(osz).b(g.rng.pick(&[0xa4u8, 0xa5, 0xaa, 0xab]));
        }
        _ => {
            // reads of system state (allowed everywhere or trapping in V86/ring 3)
            match g.rng.below(4) {
                0 => a.bs(&[0x0f, 0x01]).modrm_reg(4, reg), // smsw
                1 => a.b(0x8c).modrm_reg(g.rng.below(6) as u8, reg),
                2 if g.flavour == Flavour::Lockstep => a.bs(&[0x0f, 0x31]), // rdtsc
                2 => a.bs(&[0x0f, 0x01]).modrm_reg(4, reg),                 // smsw
                _ => a.bs(&[0x0f, 0x00]).modrm_reg(g.rng.below(2) as u8, reg), // sldt/str
            };
        }
    }
}

/// One random instruction (or a short group that sets one up).
fn instruction(g: &mut Gen, a: &mut Asm, mode: ChunkMode) {
    let osz = if g.rng.chance(20) {
        if a.bits == 16 {
            4
        } else {
            2
        }
    } else {
        a.bits / 8
    };
    let addr = if g.rng.chance(10) { 48 - a.bits } else { a.bits };
    let seg_prefix = [0x26u8, 0x2e, 0x36, 0x3e, 0x64, 0x65];
    let reg = g.rng.pick(&[r::EAX, r::EBX, r::ECX, r::EDX, r::ESI, r::EDI]);
    match g.rng.below(40) {
        // ---- ordinary: ALU and moves through memory, with segment overrides ----
        0..=5 => {
            if g.rng.chance(40) {
                a.b(g.rng.pick(&seg_prefix));
            }
            let op = g.rng.below(8) as u8 * 8 + g.rng.below(4) as u8;
            a.osize(osz);
            let ad = a.asize(addr);
            let off = g.offset(ad);
            a.b(op).modrm_abs(reg, ad, off);
        }
        6..=8 => {
            if g.rng.chance(30) {
                a.b(g.rng.pick(&seg_prefix));
            }
            let store = g.rng.chance(50);
            a.osize(osz);
            let ad = a.asize(addr);
            let off = g.offset(ad);
            a.b(if store { 0x89 } else { 0x8b }).modrm_abs(reg, ad, off);
        }
        9 => {
            let op = g.rng.below(8) as u8;
            a.osize(osz).b(0x81).modrm_reg(op, reg).imm(osz, g.rng.interesting());
        }
        10 => {
            let v = g.value();
            a.mov_imm(reg, osz, v);
        }
        11 => {
            // push/pop of a register or memory
            match g.rng.below(4) {
                0 => {
                    a.osize(osz).b(0x50 + reg);
                }
                1 => {
                    a.osize(osz).b(0x58 + reg);
                }
                2 => {
                    a.osize(osz).b(0x68).imm(osz, g.rng.interesting());
                }
                _ => {
                    a.osize(osz);
                    let ad = a.asize(addr);
                    let off = g.offset(ad);
                    a.b(0xff).modrm_abs(6, ad, off);
                }
            }
        }
        // ---- segment registers ----
        12..=14 => {
            let s = g.sel();
            let sreg = g.rng.pick(&[0u8, 2, 3, 4, 5]);
            a.mov_imm(r::EAX, 2, s as u32).b(0x8e).modrm_reg(sreg, r::EAX);
        }
        15 => {
            let s = g.sel();
            a.osize(osz).b(0x68).imm(osz, s as u32);
            a.osize(osz);
            match g.rng.below(5) {
                0 => a.b(0x07),
                1 => a.b(0x17),
                2 => a.b(0x1f),
                3 => a.bs(&[0x0f, 0xa1]),
                _ => a.bs(&[0x0f, 0xa9]),
            };
        }
        16 => {
            // LDS/LES/LSS/LFS/LGS from the far-pointer table (flat or V86 DS)
            let op: &[u8] =
                g.rng.pick(&[&[0xc5u8][..], &[0xc4], &[0x0f, 0xb2], &[0x0f, 0xb4], &[0x0f, 0xb5]]);
            a.osize(osz);
            let ad = a.asize(addr);
            let base = if mode == ChunkMode::V86 { FAR_POINTERS - DATA } else { FAR_POINTERS };
            let off = base + 8 * g.rng.below(256) + if osz == 2 { 2 } else { 0 };
            a.bs(op).modrm_abs(reg, ad, if ad == 16 { off & 0xffff } else { off });
        }
        17 => {
            // mov r/m, sreg; push sreg
            if g.rng.chance(50) {
                a.b(0x8c).modrm_reg(g.rng.below(6) as u8, reg);
            } else {
                a.osize(osz).b(g.rng.pick(&[0x06u8, 0x0e, 0x16, 0x1e]));
            }
        }
        // ---- far transfers ----
        18 | 19 => {
            let call = g.rng.chance(50);
            let sel = match g.rng.below(6) {
                0 => SEL_CGATE32 | 3,
                1 => SEL_CGATE16 | 3,
                2 => SEL_TASK_GATE | 3,
                3 => g.rng.pick(&[SEL_TSS_B, SEL_TSS_16, SEL_TSS_A]),
                4 => g.rng.pick(&[SEL_CODE32, SEL_CONFORMING, SEL_CODE32_R3]),
                _ => g.sel(),
            };
            a.osize(osz).b(if call { 0x9a } else { 0xea });
            let ptr_len = osz + 2;
            let next = a.here().wrapping_add(ptr_len);
            let target = if sel & !3 == SEL_CODE32 || sel & !3 == SEL_CONFORMING || sel & !3 == 0x28 {
                a.here_linear().wrapping_add(ptr_len)
            } else {
                next
            };
            a.imm(osz, target).w(sel);
        }
        20 => {
            // a far return (or IRET) frame that leads on to the next instruction
            let iret = g.rng.chance(40);
            let outer = g.rng.chance(40);
            let size = osz;
            let push = |a: &mut Asm, v: u32| {
                a.osize(size).b(0x68).imm(size, v);
            };
            let frame_len = if outer { 2 } else { 0 } + if iret { 1 } else { 0 } + 2;
            // Each push is (prefix) 68 imm; the return follows them.
            let push_len = size + 1 + if (size == 2) != (a.bits == 16) { 1 } else { 0 };
            let ret_len = if size == a.bits / 8 { 1 } else { 2 };
            let next = a.here().wrapping_add(frame_len * push_len + ret_len);
            let next_linear = a.origin.wrapping_add(next.wrapping_sub(a.cs_offset));
            if outer {
                push(a, if g.rng.chance(50) { SEL_DATA32_R3 as u32 } else { g.sel() as u32 });
                push(a, 0x88000 + g.rng.below(0x7000));
            }
            if iret {
                push(a, 0x2 | random_bits(&mut g.rng, &[0x200, 0x3000, 0x4000, 0x2_0000, 0x100]));
            }
            let cs = if outer { SEL_CODE32_R3 } else { g.rng.pick(&[SEL_CODE32, SEL_CONFORMING]) };
            let cs = if g.rng.chance(20) { g.sel() } else { cs };
            push(a, cs as u32);
            push(a, next_linear);
            a.osize(size).b(if iret { 0xcf } else { 0xcb });
        }
        21 | 22 => {
            // INT n (exceptions, gates of every kind), INT3, INTO, INT1, BOUND
            match g.rng.below(6) {
                0 => {
                    a.b(0xcc);
                }
                1 => {
                    a.b(0xce);
                }
                2 => {
                    a.b(0xf1);
                }
                3 => {
                    a.osize(osz);
                    let ad = a.asize(addr);
                    let off = g.offset(ad);
                    a.b(0x62).modrm_abs(reg, ad, off);
                }
                _ => {
                    a.b(0xcd).b(g.rng.u32() as u8);
                }
            }
        }
        23 => {
            // SYSENTER / SYSEXIT with the MSRs set first
            let msr = 0x174 + g.rng.below(3);
            let v = match msr {
                0x174 => {
                    let any = g.sel() as u32;
                    g.rng.pick(&[SEL_CODE32 as u32, 0, 0xfffc, 0xfff8, 0x28, any])
                }
                _ => g.value(),
            };
            a.mov_imm(r::ECX, 4, msr).mov_imm(r::EAX, 4, v).bs(&[0x31, 0xd2, 0x0f, 0x30]);
            if g.rng.chance(50) {
                a.mov_imm(r::ECX, 4, 0x88000 + g.rng.below(0x7000));
                let mov_len = if a.bits == 16 { 6 } else { 5 };
                let next = a.here_linear().wrapping_add(mov_len + 2);
                a.mov_imm(r::EDX, 4, next);
                a.bs(&[0x0f, 0x35]);
            } else {
                a.bs(&[0x0f, 0x34]);
            }
        }
        // ---- descriptor tables, control and debug registers ----
        24 => match g.rng.below(12) {
            0 => {
                // lgdt/lidt [mem]: rarely, from the random data
                a.osize(osz);
                let ad = a.asize(addr);
                let off = g.offset(ad);
                a.bs(&[0x0f, 0x01]).modrm_abs(if g.rng.chance(50) { 2 } else { 3 }, ad, off);
            }
            1 | 2 => {
                let ad = a.asize(addr);
                let off = g.offset(ad);
                a.bs(&[0x0f, 0x01]).modrm_abs(g.rng.below(2) as u8, ad, off); // sgdt/sidt
            }
            3 => {
                let s = g.sel();
                a.mov_imm(r::EAX, 2, s as u32).bs(&[0x0f, 0x00]).modrm_reg(g.rng.pick(&[2u8, 3]), r::EAX);
            }
            4 => {
                a.bs(&[0x0f, 0x00]).modrm_reg(g.rng.below(2) as u8, reg); // sldt/str
            }
            5 => {
                let s = g.sel();
                a.mov_imm(r::EAX, 2, s as u32);
                let op = g.rng.below(4);
                match op {
                    0 => a.bs(&[0x0f, 0x02]).modrm_reg(reg, r::EAX), // lar
                    1 => a.bs(&[0x0f, 0x03]).modrm_reg(reg, r::EAX), // lsl
                    2 => a.bs(&[0x0f, 0x00]).modrm_reg(4 + g.rng.below(2) as u8, r::EAX), // verr/verw
                    _ => a.b(0x63).modrm_reg(r::EAX, reg),           // arpl
                };
            }
            6 => {
                a.bs(&[0x0f, 0x01]).modrm_reg(g.rng.pick(&[4u8, 6]), reg); // smsw / lmsw
            }
            7 => {
                a.bs(&[0x0f, 0x06]); // clts
            }
            8 | 9 => {
                // mov eax, crN; xor eax, bit; mov crN, eax
                let n = g.rng.pick(&[0u8, 2, 3, 4]);
                let bit = match n {
                    0 => g.rng.pick(&[0x1_0000u32, 0x4_0000, 0x8, 0x2, 0x20, 0x8000_0000, 0x1]),
                    4 => g.rng.pick(&[0x10u32, 0x80, 0x8, 0x4, 0x1]),
                    _ => 1 << g.rng.below(32),
                };
                a.bs(&[0x0f, 0x20]).modrm_reg(n, r::EAX);
                a.b(0x35).d(bit);
                a.bs(&[0x0f, 0x22]).modrm_reg(n, r::EAX);
            }
            10 => {
                // debug registers: a breakpoint near the code or the data
                let n = g.rng.below(4) as u8;
                let target = if g.rng.chance(50) { a.here_linear().wrapping_add(16) } else { g.value() };
                a.mov_imm(r::EAX, 4, target).bs(&[0x0f, 0x23]).modrm_reg(n, r::EAX);
                let dr7 = (2u32 << (2 * n)) | (g.rng.below(16)) << (16 + 4 * n);
                a.mov_imm(r::EAX, 4, dr7).bs(&[0x0f, 0x23]).modrm_reg(7, r::EAX);
            }
            _ => {
                let ad = a.asize(addr);
                let off = g.offset(ad);
                a.bs(&[0x0f, 0x01]).modrm_abs(7, ad, off); // invlpg
            }
        },
        // ---- flags ----
        25 | 26 => match g.rng.below(6) {
            0 => {
                a.osize(osz).b(0x9c);
            }
            1 => {
                let f = random_bits(
                    &mut g.rng,
                    &[0x1, 0x100, 0x200, 0x400, 0x1000, 0x2000, 0x4000, 0x4_0000, 0x2_0000, 0x20_0000],
                );
                a.osize(osz).b(0x68).imm(osz, f | 2).osize(osz).b(0x9d);
            }
            2 => {
                a.b(g.rng.pick(&[0xfau8, 0xfb]));
            }
            3 => {
                a.b(g.rng.pick(&[0xfcu8, 0xfd, 0xf5, 0xf8, 0xf9]));
            }
            4 => {
                a.osize(osz).b(0x9d);
            }
            _ => {
                a.b(0x9f).b(0x9e);
            }
        },
        // ---- the stack ----
        27 => match g.rng.below(4) {
            0 => {
                a.osize(osz).b(0xc8).w(g.rng.below(0x40) as u16).b(g.rng.pick(&[0u8, 1, 2, 3, 33]));
            }
            1 => {
                a.osize(osz).b(0xc9);
            }
            2 => {
                a.osize(osz).b(0x60);
            }
            _ => {
                a.osize(osz).bs(&[0x8d, 0x64, 0x24]).b(g.rng.u32() as u8); // lea esp, [esp+d8]
            }
        },
        // ---- I/O and strings ----
        28 => {
            let port = match g.flavour {
                Flavour::Lockstep => {
                    g.rng.pick(&[0x80u16, 0x61, 0xe9, 0x70, 0x71, 0x21, 0x3f8, 0x3fd, 0x1234])
                }
                Flavour::Qemu => g.rng.pick(&[0x80u16, 0xe9, 0x1234]),
            };
            a.mov_imm(r::EDX, 2, port as u32);
            a.b(g.rng.pick(&[0xecu8, 0xed, 0xee, 0xef]));
        }
        29 | 30 => {
            a.mov_imm(r::ECX, 4, g.rng.pick(&[0u32, 1, 3, 17, 0x101, 0x1_0003]));
            if g.rng.chance(40) {
                a.b(g.rng.pick(&seg_prefix));
            }
            if g.rng.chance(80) {
                a.b(g.rng.pick(&[0xf3u8, 0xf2]));
            }
            a.osize(osz);
            a.asize(addr);
            a.b(g.rng.pick(&[0xa4u8, 0xa5, 0xaa, 0xab, 0xac, 0xad, 0xa6, 0xa7, 0xae, 0xaf, 0x6c, 0x6e]));
        }
        // ---- the rest ----
        31 => {
            // cpuid, rdtsc, rdmsr (ECX as it is), invd, wbinvd, ud2
            // (QEMU counts time differently, so no RDTSC beside it.)
            let second = match g.flavour {
                Flavour::Lockstep => g.rng.pick(&[0xa2u8, 0x31, 0x32, 0x08, 0x09, 0x0b]),
                Flavour::Qemu => g.rng.pick(&[0xa2u8, 0x32, 0x08, 0x09, 0x0b]),
            };
            a.b(0x0f).b(second);
        }
        32 => {
            // mul / div (with #DE), xchg and xadd on memory, bit tests
            match g.rng.below(4) {
                0 => {
                    a.osize(osz).b(0xf7).modrm_reg(g.rng.below(4) as u8 + 4, reg);
                }
                1 => {
                    a.osize(osz);
                    let ad = a.asize(addr);
                    let off = g.offset(ad);
                    a.b(0x87).modrm_abs(reg, ad, off);
                }
                2 => {
                    a.osize(osz);
                    let ad = a.asize(addr);
                    let off = g.offset(ad);
                    a.bs(&[0x0f, 0xc1]).modrm_abs(reg, ad, off);
                }
                _ => {
                    a.osize(osz);
                    let ad = a.asize(addr);
                    let off = g.offset(ad);
                    a.bs(&[0x0f, 0xab]).modrm_abs(reg, ad, off);
                }
            }
        }
        33 => {
            // base-register addressing with a random register
            a.osize(osz);
            let ad = a.asize(addr);
            let base = g.rng.pick(&[r::EBX, r::ESI, r::EDI, r::EAX]);
            a.b(g.rng.pick(&[0x8bu8, 0x89, 0x01, 0x31])).modrm_base(reg, ad, base, g.rng.u32() as u8);
        }
        34 => {
            // HLT (rarely: with IF clear only a timer that never comes wakes it)
            if g.rng.chance(20) {
                a.b(0xf4);
            }
        }
        35 => {
            // odd prefixes: LOCK on a register op (#UD), REP on a non-string
            a.b(g.rng.pick(&[0xf0u8, 0xf3, 0xf2])).b(0x01).modrm_reg(reg, r::EAX);
        }
        _ => {
            // a short forward jump over random bytes
            let skip = 1 + g.rng.below(6) as u8;
            a.b(0xeb).b(skip);
            for _ in 0..skip {
                a.b(g.rng.u32() as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_deterministic_and_fit() {
        let a = generate(7);
        let b = generate(7);
        assert_eq!(a.writes, b.writes);
        assert!(a.chunks >= 8);
        for (at, bytes) in &a.writes {
            assert!((*at as usize + bytes.len()) <= (RAM_MB << 20) as usize);
        }
        assert_ne!(generate(8).writes, a.writes);
    }
}
